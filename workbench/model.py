"""The values of the apply side, with no I/O: a :class:`Plan` of :class:`Operation` values with
their :class:`FieldChange` s, and what applying it left (:class:`ApplyResult`, :class:`OpOutcome`).

A plan is frozen dataclasses and tuples with a JSON round-trip (``format_version``); it is built
by :mod:`workbench.planning` and executed by :mod:`workbench.apply`. Jupyter renders a plan and a
result through :data:`HTML_RENDERERS`, which :mod:`workbench.display` fills in (display depends
on this module, never the other way round).
"""

from __future__ import annotations

import html
import json
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable, Mapping

import pandas as pd

from .audit import mask_json
from .concurrency import summary_text
from .errors import PlanError
from .fields import FIELD, mask
from .store.values import to_json

__all__ = ["STATUSES", "FINAL", "OP_KINDS", "FORMAT_VERSION", "FieldChange", "Operation", "Plan",
           "OpOutcome", "ApplyResult", "new_plan_id", "HTML_RENDERERS"]

#: The journal states of an operation: pending, then one of the others.
STATUSES = ("pending", "done", "failed", "conflict", "skipped")
#: The states an apply never runs again.
FINAL = ("done", "conflict", "skipped")
OP_KINDS = ("link", "unlink", "hr_create", "hr_update", "hr_delete", "kleer_create", "kleer_update",
            "kleer_link")
FORMAT_VERSION = 1

#: Jupyter renderers by class (filled in by :mod:`workbench.display`).
HTML_RENDERERS: dict[type, Callable[[Any], str]] = {}


def _html(obj: Any) -> str:
    render = HTML_RENDERERS.get(type(obj))
    return render(obj) if render else f"<pre>{html.escape(repr(obj))}</pre>"


@dataclass(frozen=True)
class FieldChange:
    key: str
    label: str
    before: Any
    after: Any

    def __repr__(self) -> str:  # masked: a repr lands in logs and notebook outputs
        return (f"FieldChange({self.key!r}, {mask(self.key, self.before)!r} → "
                f"{mask(self.key, self.after)!r})")


@dataclass(frozen=True)
class Operation:
    """One unit of work. ``targets`` are the systems written (``kleer``, ``hr``, ``links``);
    ``link`` says whether the operation also creates or ends the link ``hr_id`` ↔ ``kleer_id``;
    ``kleer_fingerprint`` is the snapshot fingerprint of the Kleer record an update expects."""

    op_id: str
    seq: int
    kind: str
    action: str
    hr_id: str | None
    kleer_id: int | None
    targets: tuple[str, ...]
    changes: tuple[FieldChange, ...] = ()
    link: str | None = None
    kleer_fingerprint: str | None = None
    method: str | None = None
    score: float | None = None
    proposed: bool = False
    blockers: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def blocked(self) -> bool:
        return bool(self.blockers)

    @property
    def remote(self) -> bool:
        return "kleer" in self.targets

    @property
    def before(self) -> dict[str, Any]:
        return {c.key: c.before for c in self.changes}

    @property
    def after(self) -> dict[str, Any]:
        return {c.key: c.after for c in self.changes}

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.changes)

    def __repr__(self) -> str:
        state = f", blocked: {'; '.join(self.blockers)}" if self.blockers else ""
        return (f"Operation({self.op_id!r}, {self.kind}, hr_id={self.hr_id!r}, "
                f"kleer_id={self.kleer_id!r}, fields={list(self.fields)}{state})")

    def with_changes(self, before: Mapping[str, Any] | None, after: Mapping[str, Any] | None
                     ) -> "Operation":
        """This operation with its field changes rebuilt from a journal row's before/after."""
        before, after = dict(before or {}), dict(after or {})
        keys = list(dict.fromkeys([*after, *before]))
        return replace(self, changes=tuple(
            FieldChange(k, FIELD[k].label if k in FIELD else k, before.get(k), after.get(k))
            for k in keys))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Operation":
        return cls(**{**d, "targets": tuple(d["targets"]),
                      "changes": tuple(FieldChange(**c) for c in d.get("changes", ())),
                      "blockers": tuple(d.get("blockers", ())),
                      "warnings": tuple(d.get("warnings", ()))})


def new_plan_id() -> str:
    return "plan-" + uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class Plan:
    """An immutable, serialisable plan: exactly what ``workbench.apply.apply`` will do."""

    id: str
    created_at: str
    side: str
    analyst: str | None
    email_preference: str
    snapshot_id: str | None
    snapshot_fingerprint: str | None
    operations: tuple[Operation, ...]
    counts: tuple[tuple[str, int], ...]
    warnings: tuple[str, ...] = ()
    scope_ids: tuple[str, ...] | None = None
    reverts: str | None = None
    format_version: int = FORMAT_VERSION
    #: what Kleer's monthly-salary counts ("kronor" | "öre"), and the day a salary written by
    #: this plan takes effect (monthly-salary-start-date; None: Kleer's default)
    salary_unit: str = "kronor"
    salary_start: str | None = None

    # ---------------------------------------------------------------- views

    @property
    def counts_dict(self) -> dict[str, int]:
        return dict(self.counts)

    @property
    def blockers(self) -> tuple[tuple[str, str], ...]:
        return tuple((op.op_id, b) for op in self.operations for b in op.blockers)

    @property
    def runnable(self) -> tuple[Operation, ...]:
        return tuple(op for op in self.operations if not op.blocked)

    def without_changes(self) -> "Plan":
        """The plan with every operation's field changes left out: what a batch keeps, since
        the journal holds each operation's before/after (see :meth:`Operation.with_changes`)."""
        return replace(self, operations=tuple(replace(op, changes=()) for op in self.operations))

    def operation(self, op_id: str) -> Operation:
        for op in self.operations:
            if op.op_id == op_id:
                return op
        raise KeyError(op_id)

    def operations_frame(self, *, reveal: bool = False) -> pd.DataFrame:
        """One row per operation (for the CSV and the UI); personal numbers masked unless ``reveal``."""
        def show(key: str, value: Any) -> Any:
            return value if reveal else mask(key, value)

        rows = [{
            "seq": op.seq, "op_id": op.op_id, "kind": op.kind, "action": op.action,
            "hr_id": op.hr_id, "kleer_id": op.kleer_id, "targets": ", ".join(op.targets),
            "link": op.link or "", "fields": ", ".join(c.label for c in op.changes),
            "changes": "; ".join(f"{c.label}: {_fmt(show(c.key, c.before))} → {_fmt(show(c.key, c.after))}"
                                 for c in op.changes),
            "proposed": op.proposed, "blocked": op.blocked, "blockers": "; ".join(op.blockers),
            "warnings": "; ".join(op.warnings)} for op in self.operations]
        cols = ["seq", "op_id", "kind", "action", "hr_id", "kleer_id", "targets", "link", "fields",
                "changes", "proposed", "blocked", "blockers", "warnings"]
        frame = pd.DataFrame(rows, columns=cols)
        frame["kleer_id"] = frame["kleer_id"].astype("Int64")
        return frame

    def __repr__(self) -> str:
        what = f"revert of {self.reverts}" if self.reverts else self.side
        return (f"<Plan {self.id} ({what}): {len(self.runnable)} operation(s) to run, "
                f"{len(self.operations) - len(self.runnable)} blocked>")

    def _repr_html_(self) -> str:
        return _html(self)

    def summary(self) -> str:
        kinds = Counter(op.kind for op in self.runnable)
        title = "Revert plan" if self.reverts else "Plan"
        lines = [f"{title} {self.id} ({self.side}, built {self.created_at}"
                 + (f" on snapshot {self.snapshot_id}" if self.snapshot_id else "") + ")"]
        lines.append(f"  {len(self.runnable)} operation(s) to run"
                     + (": " + ", ".join(f"{v} {k}" for k, v in sorted(kinds.items())) if kinds else ""))
        by_action = {k.removeprefix("action:"): v for k, v in self.counts if k.startswith("action:")}
        if by_action:
            lines.append("  decisions: " + ", ".join(f"{v} {k}" for k, v in sorted(by_action.items())))
        blocked = [op for op in self.operations if op.blocked]
        if blocked:
            lines.append(f"  {len(blocked)} blocked (listed, never executed):")
            lines += [f"    {op.op_id}: {'; '.join(op.blockers)}" for op in blocked[:20]]
            if len(blocked) > 20:
                lines.append(f"    … and {len(blocked) - 20} more")
        warnings = list(self.warnings) + [f"{op.op_id}: {w}" for op in self.operations for w in op.warnings]
        if warnings:
            lines.append(f"  {len(warnings)} warning(s):")
            lines += [f"    {w}" for w in warnings[:20]]
            if len(warnings) > 20:
                lines.append(f"    … and {len(warnings) - 20} more")
        return "\n".join(lines)

    # ---------------------------------------------------------------- serialisation

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent, default=_json_default)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Plan":
        version = d.get("format_version")
        if version != FORMAT_VERSION:
            raise PlanError(f"plan format version {version!r} is not supported (this workbench "
                            f"reads version {FORMAT_VERSION}); build the plan again")
        try:
            return cls(**{**d, "operations": tuple(Operation.from_dict(o) for o in d["operations"]),
                          "counts": tuple((str(k), int(v)) for k, v in d["counts"]),
                          "warnings": tuple(d.get("warnings", ())),
                          "scope_ids": None if d.get("scope_ids") is None else tuple(d["scope_ids"])})
        except (KeyError, TypeError) as e:
            raise PlanError(f"not a workbench plan (missing or unexpected {e}); build the plan again") from None

    @classmethod
    def from_json(cls, text: str | bytes) -> "Plan":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise PlanError(f"the plan file is not valid JSON ({e}); build the plan again") from None
        if not isinstance(data, dict):
            raise PlanError("not a workbench plan (expected a JSON object)")
        return cls.from_dict(data)


def _json_default(o: Any) -> Any:
    return json.loads(to_json(o))


def _fmt(value: Any) -> str:
    return "∅" if value is None else str(value)


# --------------------------------------------------------------------------- building


@dataclass(frozen=True)
class OpOutcome:
    """How one operation ended (for the failed and conflicting ones of an :class:`ApplyResult`)."""

    op_id: str
    kind: str
    hr_id: str | None
    kleer_id: int | None
    status: str
    reason: str | None
    answer: Any = field(default=None, repr=False)  # Kleer's answer may hold a personnummer
    attempts: int = 0


@dataclass(frozen=True)
class ApplyResult:
    """What an apply (or revert) left: counts per status over the whole plan, and the failed and
    conflicting operations with their reasons. ``ran_here`` counts the operations this call
    executed itself (a concurrent apply may have done the others). ``unrefreshed``: Kleer
    records written but not read back into the snapshot (Kleer could not be reached at the
    end); a plan blocks their operations until the next apply or fetch reads them.
    ``elsewhere``: operations another apply settled, not this one: another plan's ("already
    done by batch …", skipped here) or a second apply of this plan running at the same time. ``duplicates``: what the sweep after the apply found (one text per HR employee
    that more than one Kleer user holds; also listed in ``problems`` with status
    ``duplicate``). ``sweep_error``: why the sweep could not run.
    ``concurrency``: the limiter's summary (:meth:`workbench.concurrency.AdaptiveLimiter.summary`:
    mode, level, peak, changes with their reasons, counts of 429/503), None without Kleer calls."""

    batch_id: str
    plan_id: str
    counts: tuple[tuple[str, int], ...]
    problems: tuple[OpOutcome, ...]
    ran_here: int
    seconds: float
    reverts: str | None = None
    unrefreshed: tuple[int, ...] = ()
    elsewhere: tuple[OpOutcome, ...] = ()
    duplicates: tuple[str, ...] = ()
    sweep_error: str | None = None
    concurrency: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)

    @property
    def counts_dict(self) -> dict[str, int]:
        return dict(self.counts)

    @property
    def ok(self) -> bool:
        c = self.counts_dict
        return not (c.get("failed") or c.get("conflict") or c.get("pending") or self.duplicates)

    def problems_frame(self, *, reveal: bool = False) -> pd.DataFrame:
        rows = [{"op_id": p.op_id, "kind": p.kind, "hr_id": p.hr_id, "kleer_id": p.kleer_id,
                 "status": p.status, "reason": p.reason,
                 "answer": None if p.answer is None else to_json(p.answer if reveal else mask_json(p.answer)),
                 "attempts": p.attempts} for p in self.problems]
        frame = pd.DataFrame(rows, columns=["op_id", "kind", "hr_id", "kleer_id", "status",
                                            "reason", "answer", "attempts"])
        frame["kleer_id"] = frame["kleer_id"].astype("Int64")
        return frame

    def __repr__(self) -> str:
        parts = ", ".join(f"{n} {s}" for s, n in self.counts)
        return f"<ApplyResult {self.batch_id}: {parts or 'nothing to do'}>"

    def _repr_html_(self) -> str:
        return _html(self)

    def __str__(self) -> str:
        c = self.counts_dict
        parts = ", ".join(f"{c[s]} {s}" for s in STATUSES if c.get(s))
        what = "revert" if self.reverts else "apply"
        unread = f"; {len(self.unrefreshed)} Kleer record(s) written but not read back: " \
                 "fetch Kleer (or run the apply again) before planning again" if self.unrefreshed else ""
        others = f"; {len(self.elsewhere)} settled by another apply " \
                 f"({self.elsewhere[0].reason}{', …' if len(self.elsewhere) > 1 else ''})" \
            if self.elsewhere else ""
        dupes = f"; {len(self.duplicates)} DUPLICATE(S) in Kleer: see the problems" \
            if self.duplicates else ""
        unswept = f"; {self.sweep_error}" if self.sweep_error else ""
        level = f"; {summary_text(dict(self.concurrency))}" if self.concurrency else ""
        return f"batch {self.batch_id} ({what} of {self.plan_id}): {parts or 'nothing to do'} " \
               f"({self.ran_here} run by this {what}) in {self.seconds:.1f} s{level}{unread}" \
               f"{others}{dupes}{unswept}"


