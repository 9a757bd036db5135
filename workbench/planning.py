"""Planning: effective decisions + the workspace's state → a :class:`~workbench.model.Plan`.

:func:`build` turns the effective decisions of a :class:`Scope` into a Plan: every
:class:`~workbench.model.Operation` with its field changes (before → after, from
:func:`workbench.fields.diff`), counts, blockers and warnings. A blocked operation is listed but
never executed. :func:`revert_plan` builds the plan that undoes a batch from the journal's
before-images. Nothing here writes; :func:`workbench.apply.apply` executes a plan.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, Mapping

from . import normalize as n
from .decisions import ACTIONS, Decision, effective, text_or_none
from .errors import InputError
from .fields import FIELD, diff, email_field, join_name, normalize_record
from .model import FieldChange, Operation, Plan, new_plan_id
from .planning_leave import LEAVE_KINDS
from .planning_leave import undo as undo_leave
from .state import WorkspaceState
from .store import Workspace, utcnow
from .store.hr import HrRegister

__all__ = ["Scope", "build", "revert_plan"]


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
               "kleer_update": ("kleer",)}[kind]
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
        return [_op(seq, d, "hr_update", hr_id=hr_id, kleer_id=kid, changes=tuple(changes),
                    link="create", method=method, blockers=tuple(blockers))]
    return [_op(seq, d, "link", hr_id=hr_id, kleer_id=kid, link="create", method=method,
                blockers=tuple(blockers))]


def _export_ops(d: Decision, w: WorkspaceState, pref: str, seq: int) -> list[Operation]:
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
    return ops


def build(workspace: Workspace, scope: Scope, *, email_preference: str | None = None,
          analyst: str | None = None) -> Plan:
    """Build the plan for ``scope`` from the effective decisions (saved, else proposed)."""
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
    for d in decisions:
        seq = len(operations) + 1
        ops = _import_ops(d, world, pref, claimed, seq) if scope.side == "import" \
            else _export_ops(d, world, pref, seq)
        operations.extend(ops)
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
    snap = world.snapshot or {}
    return Plan(id=new_plan_id(), created_at=utcnow(), side=scope.side, analyst=analyst,
                email_preference=pref, snapshot_id=snap.get("id"),
                snapshot_fingerprint=snap.get("fingerprint"), operations=tuple(operations),
                counts=tuple(sorted(counts.items())), warnings=tuple(warnings),
                scope_ids=scope.ids)

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
    counts = Counter(f"kind:{op.kind}" for op in ops)
    counts["operations"] = len(ops)
    counts["blocked"] = sum(op.blocked for op in ops)
    snap = workspace.kleer.last_snapshot() or {}
    return Plan(id="plan-revert-" + batch_id.removeprefix("batch-"), created_at=utcnow(),
                side="revert", analyst=analyst, email_preference=original.email_preference,
                snapshot_id=snap.get("id"), snapshot_fingerprint=snap.get("fingerprint"),
                operations=tuple(ops), counts=tuple(sorted(counts.items())),
                warnings=tuple(warnings), reverts=batch_id)

