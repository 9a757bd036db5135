"""The leave part of the :class:`~workbench.api.Workbench` facade: load the absence file, the
leave-type mapping, plan (``wb.plan("leave", month="2026-11")``) and the Leave page's rows.
Applying and reverting a leave plan is the ordinary ``wb.apply`` / ``wb.revert``.

A mixin so the facade stays one class; it expects ``self.workspace``, ``self.settings``,
``self.analyst`` and ``self._kleer_session``.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Iterable, Mapping

import pandas as pd

from . import planning_leave
from .errors import InputError
from .fields import join_name
from .leave import CANCELLED, LeaveFile, LeaveTypeMapping, default_mapping, read_leave
from .leave.types import KLEER_TYPES
from .model import Plan
from .sources import DEFAULT_MAX_BYTES

if TYPE_CHECKING:
    from .store import Workspace

__all__ = ["LeaveApi", "LeaveLoadResult", "parse_leave_type_rule", "LEAVE_TYPES_KEY"]

#: The settings key of the leave-type mapping (JSON of :meth:`LeaveTypeMapping.to_dict`).
LEAVE_TYPES_KEY = "leave_types"


def parse_leave_type_rule(text: str) -> tuple[str, str, str | None]:
    """``"Friskvård=OtherLeave:Övrig frånvaro"`` → (HR type, Kleer type, activity or None)."""
    hr_type, sep, rest = str(text).partition("=")
    kleer_type, _, activity = rest.partition(":")
    if not sep or not hr_type.strip() or not kleer_type.strip():
        raise InputError(f"{text!r} is not HR_TYPE=KLEER_TYPE[:ACTIVITY] (e.g. "
                         f"'Friskvård=OtherLeave' or 'Sjuk=Sick:Sjukfrånvaro'); Kleer types: "
                         f"{', '.join(t for t in KLEER_TYPES if t != 'WorkHour')}")
    return hr_type.strip(), kleer_type.strip(), activity.strip() or None


@dataclass(frozen=True)
class LeaveLoadResult:
    """What a load of a leave file did."""

    source: str
    leaves: int
    added: int
    changed: int
    unchanged: int
    not_loaded: int
    problems: pd.DataFrame = field(repr=False)
    file: LeaveFile = field(repr=False)

    def __str__(self) -> str:
        text = (f"{self.source}: {self.leaves} leaves loaded ({self.added} new, {self.changed} "
                f"changed, {self.unchanged} unchanged)")
        if len(self.problems):
            text += f"; {len(self.problems)} problems in {self.problems['row'].nunique()} rows"
        if self.not_loaded:
            text += f"; {self.not_loaded} rows NOT loaded"
        if self.file.unknown_types:
            text += f"; unknown leave types: {', '.join(self.file.unknown_types)}"
        return text


class LeaveApi:
    """Leave export over the workspace (see the module docstring)."""

    workspace: "Workspace"

    # ---------------------------------------------------------------- the mapping

    def leave_types(self) -> LeaveTypeMapping:
        """The workspace's leave-type mapping (HR type → Kleer type and activity), else the
        prefilled one."""
        stored = self.workspace.settings.get(LEAVE_TYPES_KEY)
        return LeaveTypeMapping.from_dict(stored) if stored else default_mapping()

    def update_leave_types(self, set_rules: Iterable[str | tuple[str, str, str | None]] = (),
                           remove: Iterable[str] = ()) -> LeaveTypeMapping:
        """Map (``"HR_TYPE=KLEER_TYPE[:ACTIVITY]"`` or a tuple) and unmap HR leave types, all or
        none; stored in the workspace and audited (before/after of each rule changed)."""
        mapping = self.leave_types()
        for hr_type in remove:
            mapping = mapping.without(hr_type)
        for rule in set_rules:
            hr_type, kleer_type, activity = parse_leave_type_rule(rule) if isinstance(rule, str) else rule
            mapping = mapping.with_rule(hr_type, kleer_type, activity)
        return self.save_leave_types(mapping)

    def save_leave_types(self, mapping: LeaveTypeMapping) -> LeaveTypeMapping:
        """Store ``mapping`` as the workspace's leave-type mapping (audited)."""
        old = {k: r.as_dict() for k, r in self.leave_types().rules.items()}
        new = {k: r.as_dict() for k, r in mapping.rules.items()}
        changed = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
        with self.workspace.atomic():
            self.workspace.settings.set(LEAVE_TYPES_KEY, mapping.to_dict(), analyst=self.analyst)
            self.workspace.audit.append(event="settings", analyst=self.analyst, action="leave_types",
                                        before={k: old.get(k) for k in changed},
                                        after={k: new.get(k) for k in changed},
                                        detail={"rules": len(mapping), "changed": len(changed)})
        return mapping

    def leave_types_frame(self) -> pd.DataFrame:
        """The mapping as a table: hr_type, kleer_type, activity, needs_child."""
        return pd.DataFrame(self.leave_types().to_dict()["rules"], columns=["hr_type", "kleer_type", "activity", "needs_child"])

    leave_kleer_types = tuple(t for t in KLEER_TYPES if t != "WorkHour")

    # ---------------------------------------------------------------- load

    def _register(self) -> tuple[set[str], dict[str, str]]:
        hr = self.workspace.hr.frame()
        numbers = {str(n): h for n, h in zip(hr.get("employee_number", []), hr["hr_id"])
                   if n is not None and not pd.isna(n)} if len(hr) else {}
        return set(hr["hr_id"]) if len(hr) else set(), numbers

    def read_leave(self, source: Any, *, name: str | None = None,
                   mapping: Mapping[str, str | None] | None = None, sheet: str | int | None = None,
                   max_bytes: int = DEFAULT_MAX_BYTES) -> LeaveFile:
        """Read and check an absence file against the HR register and the leave-type mapping,
        without touching the workspace (a preview)."""
        hr_ids, numbers = self._register()
        if not hr_ids:
            raise InputError("no HR employees in the workspace: load the HR file first, so each "
                             "leave can be checked against the HR register")
        return read_leave(source, hr_ids=hr_ids, employee_numbers=numbers, types=self.leave_types(),
                          name=name, mapping=mapping, sheet=sheet, max_bytes=max_bytes)

    def load_leave(self, source: Any, *, name: str | None = None,
                   mapping: Mapping[str, str | None] | None = None, sheet: str | int | None = None,
                   max_bytes: int = DEFAULT_MAX_BYTES) -> LeaveLoadResult:
        """Load an absence export (CSV or XLSX) into the workspace in one transaction; row
        problems are reported and kept with the leaves (a blocking one keeps its leave out of
        any plan). Raises :class:`~workbench.errors.SourceError` when the file cannot be used."""
        file = source if isinstance(source, LeaveFile) else self.read_leave(
            source, name=name, mapping=mapping, sheet=sheet, max_bytes=max_bytes)
        by_row: dict[int, list[dict]] = defaultdict(list)
        for p in file.problems:
            by_row[p.row].append({"column": p.column, "field": p.field, "message": p.message,
                                  "blocking": p.blocking})
        rows = [{"leave_id": l.leave_id, "hr_id": l.hr_id, "hr_type": l.hr_type,
                 "start_date": l.start.isoformat(), "end_date": l.end.isoformat(),
                 "percent": None if l.percent is None else f"{l.percent.normalize():f}",
                 "hours_per_day": None if l.hours_per_day is None else f"{l.hours_per_day.normalize():f}",
                 "status": l.status, "child": l.child, "comment": l.comment, "version": l.version,
                 "source_row": l.row, "problems": by_row.get(l.row, [])} for l in file.leaves]
        with self.workspace.atomic():
            counts = self.workspace.leaves.upsert(rows, source=file.name)
            self.workspace.audit.append(
                event="load", analyst=self.analyst, action="load_leave",
                detail={"source": file.name, "leaves": len(rows), **counts,
                        "problems": len(file.problems), "not_loaded": len(file.skipped),
                        "unknown_types": file.unknown_types})
        return LeaveLoadResult(source=file.name, leaves=len(rows), not_loaded=len(file.skipped),
                               problems=file.problems_frame(), file=file, **counts)

    # ---------------------------------------------------------------- plan

    def plan_leave(self, month: str | None = None, leave_ids: Iterable[str] | None = None, *,
                   concurrency: int = 8, token: str | None = None, client: Any = None) -> Plan:
        """The leave plan (a dry run; reads Kleer, writes nothing): every day of the approved
        leaves of linked employees in ``month`` (``YYYY-MM``; None: all stored leaves) as
        Kleer will receive it, changed and cancelled days, and what is blocked and why.
        Apply it with :meth:`apply` like any plan."""
        s = self.settings
        with self._kleer_session(token, client) as kc:
            return planning_leave.build(
                self.workspace, kc, mapping=self.leave_types(), hr_system=s.leave_key_prefix,
                write_path=s.leave_write_path, email_preference=s.email_preference, month=month,
                leave_ids=None if leave_ids is None else list(leave_ids), analyst=self.analyst,
                concurrency=concurrency)

    def _names(self) -> dict[str, str]:
        hr = self.workspace.hr.frame()
        return {h: join_name(f, l) for h, f, l in zip(hr["hr_id"], hr["first_name"], hr["last_name"])} \
            if len(hr) else {}

    def leave_dry_run(self, plan: Plan) -> pd.DataFrame:
        """Per employee and leave, what Kleer will receive (one row per day; blocked leaves and
        locked days with the reason)."""
        return planning_leave.dry_run_frame(plan, self._names())

    # ---------------------------------------------------------------- the Leave page

    def leave_rows(self, month: str | None = None) -> pd.DataFrame:
        """One row per stored leave (in ``month`` when given) for the Leave page: the leave,
        the employee (name, linked Kleer user), the mapped Kleer type, its file problems, and
        what the journal says: ``days_in_kleer`` (days whose last settled write left an event),
        ``state`` (``new``: not exported since it last changed; ``exported``) and ``last`` (the
        last failure, conflict or block, with the reason)."""
        ws = self.workspace
        leaves = ws.leaves.all()
        if month is not None:
            first, last = (d.isoformat() for d in planning_leave.month_window(month))
            leaves = [r for r in leaves if r["start_date"] <= last and r["end_date"] >= first]
        mapping, names, links = self.leave_types(), self._names(), dict(ws.links.pairs())
        present: dict[str, dict[str, bool]] = defaultdict(dict)
        done_at: dict[str, str] = {}
        latest: dict[str, str] = {}                      # leave → its latest batch
        problems: dict[str, list[str]] = defaultdict(list)  # leave → that batch's problems
        for r in ws.leaves.journal_rows():
            flat = (r["after"] or {}) if (r["after"] or {}).get("leave_id") else (r["before"] or {})
            leave_id = flat.get("leave_id")
            if not leave_id:
                continue
            if latest.get(leave_id) != r["batch_id"]:
                latest[leave_id] = r["batch_id"]
                problems[leave_id] = []
            if r["status"] == "done":
                present[leave_id][flat.get("foreign_id") or r["op_id"]] = r["kind"] != "leave_delete"
                done_at[leave_id] = max(done_at.get(leave_id, ""), r["finished_at"] or "")
            elif r["status"] in ("failed", "conflict") or (r["status"] == "skipped"
                                                          and (r["error"] or "").startswith("blocked")):
                reason = (r["error"] or "").removeprefix("blocked: ")
                status = r["status"] if r["status"] != "skipped" else \
                    "" if reason.startswith("conflict: ") else "blocked"  # a day locked at plan time
                problems[leave_id].append(f"{status}: {reason}" if status else reason)
        last_problem = {k: v[0] + (f" (and {len(v) - 1} more)" if len(v) > 1 else "")
                        for k, v in problems.items() if v}
        out = []
        for r in leaves:
            rule = mapping.lookup(r["hr_type"])
            days = sum(present[r["leave_id"]].values())
            exported = r["leave_id"] in done_at and done_at[r["leave_id"]] >= (r["updated_at"] or "")
            if r["status"] == CANCELLED and not present[r["leave_id"]]:
                exported = True  # never in Kleer, nothing to send
            out.append({
                "leave_id": r["leave_id"], "hr_id": r["hr_id"], "name": names.get(r["hr_id"], ""),
                "hr_type": r["hr_type"], "kleer_type": rule.kleer_type if rule else "",
                "start": r["start_date"], "end": r["end_date"],
                "extent": f"{r['hours_per_day']} h/day" if r["hours_per_day"] else f"{r['percent']} %",
                "status": r["status"], "child": r["child"] or "", "comment": r["comment"] or "",
                "kleer_id": links.get(r["hr_id"]), "linked": r["hr_id"] in links,
                "problems": "; ".join(p["message"] for p in r["problems"]
                                      if p.get("field") != "leave_type" or rule is None),
                "days_in_kleer": days, "state": "exported" if exported else "new",
                "last": last_problem.get(r["leave_id"], ""),
                "cancelled": r["status"] == CANCELLED})
        frame = pd.DataFrame(out, columns=[
            "leave_id", "hr_id", "name", "hr_type", "kleer_type", "start", "end", "extent",
            "status", "child", "comment", "kleer_id", "linked", "problems", "days_in_kleer",
            "state", "last", "cancelled"])
        frame["kleer_id"] = frame["kleer_id"].astype("Int64")
        return frame
