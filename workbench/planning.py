"""Planning: effective decisions + the workspace's state → a :class:`~workbench.model.Plan`.

:func:`build` turns the effective decisions of a :class:`Scope` into a Plan: every
:class:`~workbench.model.Operation` with its field changes (before → after, from
:func:`workbench.fields.diff`), counts, blockers and warnings. A blocked operation is listed but
never executed. :func:`revert_plan` builds the plan that undoes a batch from the journal's
before-images. Nothing here writes; :func:`workbench.apply.apply` executes a plan.

Writes the schema accepts (:func:`_fidelity`, README "Real Kleer"): a field HR has emptied
that Kleer cannot clear blocks its operation, saying so; salary changes against a Kleer that is
not local are blocked until the salary unit is confirmed in Settings; a salary written takes
effect on the plan's ``salary_start`` (default: the first day of next month), shown in its
label; the employee number goes to Kleer's ``internal-id`` only when Settings allow it; a
create carries ``active``.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Callable, Mapping
from urllib.parse import urlsplit

from . import normalize as n
from .duplicates import ssn_index, ssn_key
from .decisions import ACTIONS, Decision, effective, text_or_none
from .errors import InputError
from .fields import FIELD, diff, email_field, join_name, normalize_record
from .kleer.config import is_loopback
from .kleer.mapping import SALARY_START_KEY, cannot_clear
from .model import FieldChange, Operation, Plan, new_plan_id
from .planning_leave import LEAVE_KINDS
from .planning_leave import undo as undo_leave
from .state import WorkspaceState
from .store import Workspace, utcnow
from .store.hr import HrRegister

__all__ = ["Scope", "build", "revert_plan", "default_salary_start"]



@dataclass(frozen=True)
class Scope:
    """Which decisions a plan covers: one side, all its subjects or only ``ids``."""

    side: str
    ids: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.side not in ACTIONS:
            raise InputError(f"scope side must be 'import' or 'export', not {self.side!r}")
        if self.ids is not None:
            object.__setattr__(self, "ids", tuple(str(text_or_none(i)) for i in self.ids))

    def covers(self, subject_id: str) -> bool:
        return self.ids is None or subject_id in self.ids



def _kleer_create_blockers(hr_row: Mapping[str, Any], pref: str) -> list[str]:
    out = []
    if not n.personnummer(hr_row.get("ssn")).value:
        out.append("no valid personnummer (Kleer needs one for the payroll contract)")
    if not n.parse_date(hr_row.get("employment_start_date")).value:
        out.append("no employment start date (Kleer needs one for the payroll contract)")
    key = email_field(pref)
    if not n.email(hr_row.get(key)).value:
        out.append(f"no valid {FIELD[key].label.lower()} (the email preference is {pref})")
    if not join_name(hr_row.get("first_name"), hr_row.get("last_name")):
        out.append("no name")
    return out


def _without_invalid_hr_values(changes: list[FieldChange], problems: Mapping[str, str], source: str
            ) -> tuple[list[FieldChange], list[str]]:
    """Drop changes whose new value is an HR value the HR file marked invalid (kept raw)."""
    if source != "hr":
        return changes, []
    kept, warnings = [], []
    for c in changes:
        if c.key in problems:
            warnings.append(f"{c.label} is left out: the HR value is invalid ({problems[c.key]})")
        else:
            kept.append(c)
    return kept, warnings


def _op(seq: int, decision: Decision, kind: str, **kw: Any) -> Operation:
    targets = {"link": ("links",), "unlink": ("links",), "hr_create": ("hr", "links"),
               "hr_update": ("hr",), "hr_delete": ("hr",), "kleer_create": ("kleer", "links"),
               "kleer_update": ("kleer",), "kleer_link": ("kleer",)}[kind]
    if kw.get("link") and "links" not in targets:
        targets = (*targets, "links")
    return Operation(op_id=f"{decision.side}:{decision.subject_id}:{kind}", seq=seq, kind=kind,
                     action=decision.action, targets=targets, proposed=decision.proposed,
                     score=decision.score, **kw)


def _new_hr_id(d: Decision, kleer_row: Mapping[str, Any]) -> str:
    """The id an HR employee created from a Kleer user gets: the decision's, else the Kleer
    user's foreign-id, else ``K<kleer id>``."""
    return d.hr_id or text_or_none(kleer_row.get("foreign_id")) or f"K{kleer_row['kleer_id']}"


def _import_ops(d: Decision, w: WorkspaceState, pref: str, claimed: Counter, seq: int) -> list[Operation]:
    kid = int(d.subject_id)
    k = w.kleer[kid]
    linked_hr = w.link_of_kleer.get(kid)
    if d.action == "do_nothing":
        return []
    if d.action == "create_in_hr":
        new_id = _new_hr_id(d, k)
        blockers = []
        if linked_hr is not None:
            blockers.append(f"Kleer user {kid} is already linked to HR employee {linked_hr}")
        if new_id in w.hr:
            blockers.append(f"HR employee {new_id} already exists; match the Kleer user to it instead")
        if claimed[new_id] > 1:
            blockers.append(f"HR employee {new_id} is claimed by more than one decision")
        record, _ = normalize_record(
            {"hr_id": new_id, **{c.key: c.kleer for c in diff({}, k, email_preference=pref)}})
        changes = [FieldChange(key, FIELD[key].label, None, value)
                   for key, value in record.items() if value is not None]
        return [_op(seq, d, "hr_create", hr_id=new_id, kleer_id=kid, changes=tuple(changes),
                    link="create", method="create_in_hr", blockers=tuple(blockers))]
    # prefer_hr, prefer_kleer, match_manually
    hr_id = d.hr_id
    blockers = []
    hr_row = w.hr.get(hr_id)
    if hr_row is None:
        blockers.append(f"HR employee {hr_id} is not in the HR register")
    if linked_hr is not None and linked_hr != hr_id:
        blockers.append(f"Kleer user {kid} is linked to HR employee {linked_hr}; unlink it first")
    other = w.link_of_hr.get(hr_id)
    if other is not None and other != kid:
        blockers.append(f"HR employee {hr_id} is already linked to Kleer user {other}")
    if claimed[hr_id] > 1:
        blockers.append(f"HR employee {hr_id} is claimed by more than one decision")
    overrides = d.overrides_dict
    changes = []
    if hr_row is not None:
        for fd in diff(hr_row, k, email_preference=pref):
            if overrides.get(fd.key, d.prefer) == "kleer":
                changes.append(FieldChange(fd.key, fd.label, fd.hr, fd.kleer))
    method = "manual" if d.action == "match_manually" else "suggested"
    if linked_hr == hr_id:
        if not changes:
            return []
        return [_op(seq, d, "hr_update", hr_id=hr_id, kleer_id=kid, changes=tuple(changes),
                    blockers=tuple(blockers))]
    if changes:
        first = _op(seq, d, "hr_update", hr_id=hr_id, kleer_id=kid, changes=tuple(changes),
                    link="create", method=method, blockers=tuple(blockers))
    else:
        first = _op(seq, d, "link", hr_id=hr_id, kleer_id=kid, link="create", method=method,
                    blockers=tuple(blockers))
    return [first, *_foreign_id_op(seq + 1, d, hr_id, k, tuple(blockers))]


def _foreign_id_op(seq: int, d: Decision, hr_id: str, k: Mapping[str, Any],
                   blockers: tuple[str, ...] = ()) -> list[Operation]:
    """The write that keeps a link in Kleer: the HR id into the Kleer user's ``foreign-id``
    (none when it already carries it). A user carrying another foreign-id is warned of here
    and is a conflict at apply (never overwritten)."""
    now = text_or_none(k.get("foreign_id"))
    if now == hr_id:
        return []
    kid = int(k["kleer_id"])
    warnings = () if now is None else (
        f"Kleer user {kid} carries foreign-id {now}, not {hr_id}: apply reports a conflict "
        "and does not overwrite it",)
    return [_op(seq, d, "kleer_link", hr_id=hr_id, kleer_id=kid,
                changes=(FieldChange("hr_id", FIELD["hr_id"].label, now, hr_id),),
                kleer_fingerprint=k.get("fingerprint"), blockers=blockers, warnings=warnings)]



def _export_ops(d: Decision, w: WorkspaceState, pref: str, seq: int,
                by_ssn: Mapping[str, list[dict]] | None = None) -> list[Operation]:
    hr_id = d.subject_id
    hr_row = w.hr[hr_id]
    kid = w.link_of_hr.get(hr_id)
    problems = HrRegister.problems(hr_row)
    if d.action == "do_nothing":
        return []
    if d.action == "unlink":
        if kid is None:
            return []
        return [_op(seq, d, "unlink", hr_id=hr_id, kleer_id=kid, link="end")]
    if kid is None:  # export → create in Kleer
        changes = [FieldChange("hr_id", FIELD["hr_id"].label, None, hr_id)] + [
            FieldChange(c.key, c.label, None, c.hr) for c in diff(hr_row, {}, email_preference=pref)]
        changes, warnings = _without_invalid_hr_values(changes, problems, "hr")
        blockers = _kleer_create_blockers(hr_row, pref)
        same = [k for k in w.kleer.values() if text_or_none(k.get("foreign_id")) == hr_id]
        for k in same:
            owner = w.link_of_kleer.get(int(k["kleer_id"]))
            if owner is not None:
                blockers.append(f"Kleer user {k['kleer_id']} already carries foreign-id {hr_id} "
                                f"and is linked to HR employee {owner}")
            else:
                warnings.append(f"Kleer user {k['kleer_id']} already carries foreign-id {hr_id}: "
                                "apply links it instead of creating a new user")
        for k in (by_ssn or {}).get(ssn_key(hr_row.get("ssn")) or "", ()):
            if text_or_none(k.get("foreign_id")) == hr_id:
                continue  # the user carrying this HR id: apply links it (above)
            name = f" ({k['name']})" if k.get("name") else ""
            blockers.append(f"already in Kleer as user {k['kleer_id']}{name}: match them on "
                            "Import instead")
        if w.snapshot is None:
            blockers.append("no Kleer snapshot: fetch Kleer before exporting")
        return [_op(seq, d, "kleer_create", hr_id=hr_id, kleer_id=None, changes=tuple(changes),
                    link="create", method="export", blockers=tuple(blockers),
                    warnings=tuple(warnings))]
    k = w.kleer.get(kid)
    if k is None:
        return [_op(seq, d, "kleer_update", hr_id=hr_id, kleer_id=kid,
                    blockers=(f"linked Kleer user {kid} is not in the snapshot; fetch Kleer again",))]
    overrides = d.overrides_dict
    to_kleer, to_hr = [], []
    for fd in diff(hr_row, k, email_preference=pref):
        if overrides.get(fd.key, "hr") == "hr":
            to_kleer.append(FieldChange(fd.key, fd.label, fd.kleer, fd.hr))
        else:
            to_hr.append(FieldChange(fd.key, fd.label, fd.hr, fd.kleer))
    to_kleer, warnings = _without_invalid_hr_values(to_kleer, problems, "hr")
    ops = []
    if to_kleer:
        blockers = []
        needs_contract = not k.get("has_contract") and any(
            FIELD[c.key].kleer.obj == "contract" for c in to_kleer)
        if needs_contract:
            after = {c.key: c.after for c in to_kleer}
            if not (after.get("ssn") and after.get("employment_start_date")):
                blockers.append(f"Kleer user {kid} has no payroll contract and HR lacks a valid "
                                "personnummer or start date to create one")
        ops.append(_op(seq, d, "kleer_update", hr_id=hr_id, kleer_id=kid, changes=tuple(to_kleer),
                       kleer_fingerprint=k.get("fingerprint"), blockers=tuple(blockers),
                       warnings=tuple(warnings)))
    if to_hr:
        ops.append(_op(seq + len(ops), d, "hr_update", hr_id=hr_id, kleer_id=kid,
                       changes=tuple(to_hr)))
    ops.extend(_foreign_id_op(seq + len(ops), d, hr_id, k))
    return ops


# =========================================================================== writes Kleer accepts

SALARY = "monthly_salary"
#: the settings key fetch_kleer records the salary unit of the snapshot under
SNAPSHOT_SALARY_UNIT = "kleer_snapshot_salary_unit"


def default_salary_start(today: date) -> str:
    """The day a salary change takes effect unless the analyst says otherwise: the first day
    of next month. Kleer's own default (the start of the current month) would back-date a
    change into a month whose pay may already be calculated."""
    first = today.replace(day=1)
    return (first.replace(year=first.year + 1, month=1) if first.month == 12
            else first.replace(month=first.month + 1)).isoformat()


@dataclass(frozen=True)
class _Rules:
    """What the workspace's settings say about writing to this Kleer."""

    base_url: str
    salary_unit: str
    unit_confirmed: bool
    snapshot_unit: str | None
    internal_id_writes: bool
    salary_start: str | None

    @classmethod
    def of(cls, workspace: Workspace, snapshot: Mapping[str, Any] | None,
           salary_start: str | None) -> "_Rules":
        from . import defaults

        get = workspace.settings.get
        return cls(base_url=(snapshot or {}).get("base_url") or get("kleer_base_url",
                                                                     defaults.KLEER_BASE_URL),
                   salary_unit=get("salary_unit", "kronor"),
                   unit_confirmed=bool(get("salary_unit_confirmed", False)),
                   snapshot_unit=get(SNAPSHOT_SALARY_UNIT),
                   internal_id_writes=bool(get("internal_id_writes", False)),
                   salary_start=salary_start)

    @property
    def local(self) -> bool:
        return is_loopback(urlsplit(self.base_url).hostname or "")

    def salary_blocker(self) -> str | None:
        if self.snapshot_unit is not None and self.snapshot_unit != self.salary_unit:
            return (f"the salary unit changed to {self.salary_unit} after Kleer was fetched in "
                    f"{self.snapshot_unit}: fetch Kleer again before planning salaries")
        if self.local or self.unit_confirmed:
            return None
        host = urlsplit(self.base_url).hostname
        return (f"the unit of Kleer's monthly-salary at {host} is not confirmed: the API does "
                f"not say whether it counts kronor or öre, so a salary could be written 100 times "
                f"too high or low. Run the probe (Settings, or `workbench probe`), look at the "
                f"probe user's salary in Kleer, then confirm the unit in Settings "
                f"(`workbench settings --salary-unit kronor --salary-unit-confirmed yes`)")


def _fidelity(ops: list[Operation], rules: _Rules, *, revert: bool = False
              ) -> tuple[list[Operation], list[str]]:
    """The operations as Kleer's schema accepts them (see the module docstring), with the
    plan-level notes they need."""
    out, notes = [], []
    internal_ids = cleared = 0
    example: str | None = None
    salary_labelled = False
    for op in ops:
        changes, blockers = list(op.changes), list(op.blockers)
        if op.kind in ("kleer_create", "kleer_update"):
            # an HR file without an active value does not say the user is inactive: Kleer's
            # required active is left as it is
            changes = [c for c in changes if not (c.key == "active" and c.after is None)]
            if not rules.internal_id_writes and not revert:
                kept = [c for c in changes if c.key != "employee_number"]
                internal_ids += len(kept) != len(changes)
                changes = kept
            if op.kind == "kleer_update" and op.changes and not changes:
                continue  # the employee number or an unknown active was its only change
            if op.kind == "kleer_create" and "active" not in {c.key for c in changes}:
                changes.append(FieldChange("active", FIELD["active"].label, None, True))
            if op.kind == "kleer_update":
                blockers += [reason for c in changes if c.after is None
                             and (reason := cannot_clear(c.key))]
                emptied = [c for c in changes if c.after is None and not cannot_clear(c.key)]
                cleared += len(emptied)
                example = example or (f"{emptied[0].label} of {op.hr_id}" if emptied else None)
            if rules.salary_start:
                salary = [c for c in changes if c.key == SALARY]
                changes = [replace(c, label=f"{c.label} (from {rules.salary_start})")
                           if c.key == SALARY else c for c in changes]
                salary_labelled = salary_labelled or bool(salary)
        if any(c.key == SALARY for c in changes):
            reason = rules.salary_blocker()
            if reason and reason not in blockers:
                blockers.append(reason)
        out.append(replace(op, changes=tuple(changes), blockers=tuple(blockers)))
    if internal_ids:
        notes.append(f"{internal_ids} employee number(s) are not written to Kleer's internal-id: "
                     "its meaning is uncertain and another integration may own it; turn on "
                     "'Write the employee number to internal-id' in Settings to write it")
    if cleared:
        notes.append(f"{cleared} field(s) will be emptied in Kleer because HR has no value "
                     f"(e.g. {example}): check that the HR file has those columns")
    if salary_labelled:
        notes.append(f"salary changes take effect on {rules.salary_start} (sent to Kleer as "
                     f"{SALARY_START_KEY})")
    return out, notes


def build(workspace: Workspace, scope: Scope, *, email_preference: str | None = None,
          analyst: str | None = None, salary_start: str | date | None = None,
          today: Callable[[], date] = date.today) -> Plan:
    """Build the plan for ``scope`` from the effective decisions (saved, else proposed).
    ``salary_start`` is the day the salaries it writes take effect (default
    :func:`default_salary_start`)."""
    pref = email_preference or workspace.settings.get("email_preference", "private")
    email_field(pref)  # validates
    world = WorkspaceState.load(workspace)
    decisions = [d for d in effective(workspace, scope.side, world=world)
                 if scope.covers(d.subject_id)]
    unknown = sorted(set(scope.ids or ()) - {d.subject_id for d in decisions})
    if unknown:
        what = "Kleer users" if scope.side == "import" else "HR employees"
        raise InputError(f"not in the workspace, cannot plan for these {what}: {', '.join(unknown[:20])}")
    claimed: Counter = Counter()
    if scope.side == "import":
        for d in decisions:
            if d.action in ("prefer_hr", "prefer_kleer", "match_manually") and d.hr_id:
                claimed[d.hr_id] += 1
            elif d.action == "create_in_hr":
                claimed[_new_hr_id(d, world.kleer[int(d.subject_id)])] += 1
    operations: list[Operation] = []
    by_ssn = ssn_index(world) if scope.side == "export" else None
    for d in decisions:
        seq = len(operations) + 1
        ops = _import_ops(d, world, pref, claimed, seq) if scope.side == "import" \
            else _export_ops(d, world, pref, seq, by_ssn)
        operations.extend(ops)
    start = _salary_start(salary_start, today)
    rules = _Rules.of(workspace, world.snapshot, start)
    operations, notes = _fidelity(operations, rules)
    operations = [replace(op, seq=i) for i, op in enumerate(operations, 1)]
    counts = Counter(f"action:{d.action}" for d in decisions)
    counts.update(f"kind:{op.kind}" for op in operations)
    counts["operations"] = len(operations)
    counts["blocked"] = sum(op.blocked for op in operations)
    counts["proposed"] = sum(d.proposed and d.action != "do_nothing" for d in decisions)
    warnings = []
    if world.snapshot is None:
        warnings.append("no Kleer snapshot in the workspace: fetch Kleer first")
    if counts["proposed"]:
        warnings.append(f"{counts['proposed']} decision(s) are proposed defaults the analyst has "
                        "not confirmed")
    warnings += notes
    snap = world.snapshot or {}
    return Plan(id=new_plan_id(), created_at=utcnow(), side=scope.side, analyst=analyst,
                email_preference=pref, snapshot_id=snap.get("id"),
                snapshot_fingerprint=snap.get("fingerprint"), operations=tuple(operations),
                counts=tuple(sorted(counts.items())), warnings=tuple(warnings),
                scope_ids=scope.ids, salary_unit=rules.salary_unit, salary_start=start)


def _salary_start(value: str | date | None, today: Callable[[], date]) -> str:
    if value is None:
        return default_salary_start(today())
    parsed = n.parse_date(value.isoformat() if isinstance(value, date) else value)
    if parsed.error:
        raise InputError(f"salary start date {value!r}: {parsed.error}")
    return parsed.value

# =========================================================================== revert

def _swap(changes: tuple[FieldChange, ...]) -> tuple[FieldChange, ...]:
    return tuple(FieldChange(c.key, c.label, c.after, c.before) for c in changes)


def _undo(ws: Workspace, row: Mapping[str, Any], op: Operation) -> list[Operation]:
    """The operations that undo one done journal row."""
    if op.kind in LEAVE_KINDS:
        return undo_leave(row, op)
    answer = row["answer"] or {}
    kleer_id = row["kleer_id"]
    base = dict(action="revert", hr_id=op.hr_id, kleer_id=kleer_id, method="revert", score=None)
    oid = f"revert:{op.op_id}"
    undo_link = "end" if op.link == "create" else "create" if op.link == "end" else None
    snapshot_fp = lambda: (ws.kleer.get(kleer_id) or {}).get("fingerprint")  # noqa: E731
    missing = () if kleer_id is None or ws.kleer.get(kleer_id) else (
        f"Kleer user {kleer_id} is not in the snapshot; fetch Kleer and build the revert again",)
    if op.kind == "kleer_create":
        out = []
        if answer.get("created"):
            out.append(Operation(f"{oid}:deactivate", 0, "kleer_update", targets=("kleer",),
                                 changes=(FieldChange("active", FIELD["active"].label, True, False),),
                                 kleer_fingerprint=snapshot_fp(), blockers=missing, **base))
        out.append(Operation(f"{oid}:unlink", 0, "unlink", targets=("links",), link="end", **base))
        return out
    if op.kind == "kleer_link":
        return []  # the foreign-id stays in Kleer, as after an unlink (the link's undo)
    if op.kind == "kleer_update":
        return [Operation(oid, 0, "kleer_update", targets=("kleer",), changes=_swap(op.changes),
                          kleer_fingerprint=snapshot_fp(), blockers=missing, **base)]
    if op.kind == "hr_create":
        return [Operation(oid, 0, "hr_delete", targets=("hr", "links"), link="end",
                          changes=_swap(op.changes), **base)]
    if op.kind == "hr_delete":
        return [Operation(oid, 0, "hr_create", targets=("hr", "links"), link=undo_link,
                          changes=_swap(op.changes), **base)]
    if op.kind == "hr_update":
        targets = ("hr", "links") if undo_link else ("hr",)
        return [Operation(oid, 0, "hr_update", targets=targets, link=undo_link,
                          changes=_swap(op.changes), **base)]
    kind = "unlink" if op.kind == "link" else "link"
    return [Operation(oid, 0, kind, targets=("links",), link=undo_link, **base)]


def revert_plan(workspace: Workspace, batch_id: str, *, analyst: str | None = None) -> Plan:
    """The plan that undoes ``batch_id`` (a preview: nothing is written)."""
    batch = workspace.batches.get(batch_id)
    original = Plan.from_json(batch["plan"])
    rows = workspace.journal.of_batch(batch_id)
    ops: list[Operation] = []
    for row in rows:
        if row["status"] != "done":
            continue
        done = original.operation(row["op_id"]).with_changes(row["before"], row["after"])
        for undo in _undo(workspace, row, done):
            ops.append(replace(undo, seq=len(ops) + 1))
    unsettled = [r["op_id"] for r in rows if r["status"] in ("pending", "failed")]
    warnings = []
    if unsettled:
        warnings.append(f"{len(unsettled)} operation(s) of the batch did not finish "
                        f"({', '.join(unsettled[:5])}{'…' if len(unsettled) > 5 else ''}); "
                        "re-run that plan first or they are not reverted")
    snap = workspace.kleer.last_snapshot() or {}
    # undone salaries take effect on the day the batch's took effect, in the batch's unit
    rules = replace(_Rules.of(workspace, snap, original.salary_start),
                    salary_unit=original.salary_unit)
    ops, notes = _fidelity(ops, rules, revert=True)
    warnings += notes
    counts = Counter(f"kind:{op.kind}" for op in ops)
    counts["operations"] = len(ops)
    counts["blocked"] = sum(op.blocked for op in ops)
    return Plan(id="plan-revert-" + batch_id.removeprefix("batch-"), created_at=utcnow(),
                side="revert", analyst=analyst, email_preference=original.email_preference,
                snapshot_id=snap.get("id"), snapshot_fingerprint=snap.get("fingerprint"),
                operations=tuple(ops), counts=tuple(sorted(counts.items())),
                warnings=tuple(warnings), reverts=batch_id, salary_unit=original.salary_unit,
                salary_start=original.salary_start)


