"""Leave planning: the workspace's leaves + Kleer's schedules, events and day statuses → a
:class:`~workbench.model.Plan` of ``leave_create`` / ``leave_update`` / ``leave_delete``
operations, executed by the one apply (:mod:`workbench.apply`, :mod:`workbench.apply.leave_ops`).

:func:`build` reads, for every linked employee with a leave in the window: the schedule
(``actual-hours``), the time-report events and the day statuses (one request each, on a small
pool), and the company's activities once; then expands each approved leave to its days
(:func:`workbench.leave.expand`) and diffs them against Kleer (:func:`workbench.leave.diff_leave`).
Nothing is written.

An operation carries the day as Kleer receives it in its field changes (flat keys:
:data:`EVENT_KEYS`; before = the event as Kleer held it, after = what is sent), so the journal
keeps the before/after once, as for employee writes, and a revert (:func:`undo`, through
:func:`workbench.leave.revert_op`) is rebuilt from it. The op id is deterministic:
``leave:<create|update|delete>:<hr-system>:<leave id>:<date>[#<event id>]`` (the day's key is
its ``foreign-id`` in Kleer).

Listed but never executed (``blockers``): a leave of an unlinked employee ("link the employee
first"), a leave with a blocking problem from its file, a type the mapping does not know, a
user Kleer has no schedule for, a missing activity; a day Kleer has locked (Approved/Certified)
is listed as ``conflict: <Kleer's reason>``. The payroll-event write path blocks every write
(no public source confirms how payroll events are written).
"""

from __future__ import annotations

import calendar
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Any, Iterable, Mapping

import pandas as pd

from .errors import InputError, KleerRejected, WorkbenchError
from .kleer import leave_client as lc
from .leave import (APPROVED, CANCELLED, OP_CREATE, OP_DELETE, OP_UPDATE, PENDING, Leave, LeaveOp,
                    LeaveTypeMapping, ScheduleGap, diff_leave, expand, parse_day_key, revert_op)
from .leave.diff import DayStatus, KleerEvent
from .leave.expand import hours
from .model import FieldChange, Operation, Plan, new_plan_id
from .store import Workspace, utcnow

__all__ = ["LEAVE_KINDS", "ACTION", "EVENT_KEYS", "month_window", "build", "undo", "event_body",
           "dry_run_frame", "stored_leave", "UNVERIFIED_PATH"]

LEAVE_KINDS = (OP_CREATE, OP_UPDATE, OP_DELETE)
ACTION = "leave_export"
#: The flat keys an operation's field changes carry, with their labels (display order).
EVENT_KEYS: dict[str, str] = {
    "leave_id": "Leave", "date": "Date", "hours": "Hours", "activity": "Activity",
    "type": "Kleer type", "child": "Child", "comment": "Comment", "foreign_id": "Foreign-id",
    "user_id": "Kleer user", "activity_id": "Activity id", "event_id": "Event id"}
UNVERIFIED_PATH = ("the leave write path is payroll events, which no public source shows how to "
                   "write: nothing is sent. Set the leave write path to time_report (Settings, or "
                   "`workbench settings --leave-write-path time_report`)")
_SHORT = {OP_CREATE: "create", OP_UPDATE: "update", OP_DELETE: "delete"}


def month_window(month: str) -> tuple[date, date]:
    """``"2026-11"`` → (2026-11-01, 2026-11-30)."""
    try:
        year, mon = (int(p) for p in str(month).split("-"))
        return date(year, mon, 1), date(year, mon, calendar.monthrange(year, mon)[1])
    except (ValueError, TypeError):
        raise InputError(f"the month {month!r} is not YYYY-MM (e.g. 2026-11)") from None


def _decimal(text: Any) -> Decimal | None:
    return None if text in (None, "") else Decimal(str(text))


def stored_leave(row: Mapping[str, Any], mapping: LeaveTypeMapping) -> Leave:
    """A ``leaves`` row as a :class:`Leave`, its Kleer type from the current mapping."""
    rule = mapping.lookup(row["hr_type"]) if row.get("hr_type") else None
    return Leave(leave_id=row["leave_id"], hr_id=row["hr_id"] or "", hr_type=row["hr_type"] or "",
                 start=date.fromisoformat(row["start_date"]), end=date.fromisoformat(row["end_date"]),
                 percent=_decimal(row.get("percent")), hours_per_day=_decimal(row.get("hours_per_day")),
                 status=row["status"], child=row.get("child"), comment=row.get("comment"),
                 version=row.get("version"), kleer_type=rule.kleer_type if rule else None,
                 activity=rule.activity if rule else None, row=row.get("source_row"))


# --------------------------------------------------------------------------- the event, flat

def _ref(value: Any) -> int | None:
    if isinstance(value, Mapping):
        value = value.get("id")
    return None if value is None or isinstance(value, bool) else int(value)


def _flat(body: Mapping[str, Any] | None, *, event_id: int | None = None,
          names: Mapping[int, str] | None = None, kleer_type: str | None = None) -> dict[str, Any]:
    """An event body (writable) or readable → the flat values of :data:`EVENT_KEYS`."""
    if body is None:
        return {}
    key = parse_day_key(str(body.get("foreign-id") or ""))
    activity_id = _ref(body.get("activity"))
    return {"leave_id": key.leave_id if key else None, "date": str(body.get("date")),
            "hours": float(hours(body.get("hours", 0))),
            "activity": (names or {}).get(activity_id), "type": kleer_type,
            "child": body.get("child") or None, "comment": str(body.get("comment") or ""),
            "foreign_id": str(body.get("foreign-id") or ""), "user_id": _ref(body.get("user")),
            "activity_id": activity_id, "event_id": event_id if event_id is not None else _ref(body.get("id"))}


def event_body(flat: Mapping[str, Any]) -> dict[str, Any]:
    """The flat values → the ``PUT /event`` / ``POST /event/{id}`` body (``event-writable``)."""
    body: dict[str, Any] = {"foreign-id": flat["foreign_id"], "user": {"id": int(flat["user_id"])},
                            "activity": {"id": int(flat["activity_id"])}, "date": flat["date"],
                            "hours": float(flat["hours"]), "comment": flat.get("comment") or ""}
    if flat.get("child"):
        body["child"] = flat["child"]
    return body


def _readable(flat: Mapping[str, Any]) -> dict[str, Any]:
    """The flat before-image → the shape :func:`revert_op` reads (an event-readable)."""
    return {**event_body(flat), "id": {"id": flat.get("event_id")}}


def _changes(before: Mapping[str, Any], after: Mapping[str, Any]) -> tuple[FieldChange, ...]:
    return tuple(FieldChange(k, label, before.get(k), after.get(k)) for k, label in EVENT_KEYS.items()
                 if before.get(k) is not None or after.get(k) is not None)


def _operation(op: LeaveOp, seq: int, *, action: str, before: Mapping[str, Any],
               after: Mapping[str, Any], prefix: str = "", blockers: tuple[str, ...] = ()) -> Operation:
    suffix = f"#{op.event_id}" if op.kind != OP_CREATE and op.event_id is not None else ""
    return Operation(op_id=f"{prefix}leave:{_SHORT[op.kind]}:{op.key}{suffix}", seq=seq, kind=op.kind,
                     action=action, hr_id=op.hr_id or None, kleer_id=op.user_id, targets=("kleer",),
                     changes=_changes(before, after), method=op.why or None, blockers=blockers)


# --------------------------------------------------------------------------- Kleer's side

@dataclass
class _UserReads:
    schedule: dict[date, Decimal] = field(default_factory=dict)
    events: list[KleerEvent] = field(default_factory=list)
    statuses: dict[date, DayStatus] = field(default_factory=dict)
    error: str | None = None


def _read_user(client: Any, user_id: int, window: tuple[date, date], schedule: bool) -> _UserReads:
    first, last = window
    try:
        return _UserReads(lc.schedule(client, user_id, first, last) if schedule else {},
                          lc.list_events(client, user_id, first, last),
                          lc.event_statuses(client, user_id, first, last))
    except KleerRejected as e:
        return _UserReads(error=e.message if e.status == 404 else str(e))
    except WorkbenchError as e:
        return _UserReads(error=str(e))


# --------------------------------------------------------------------------- build

def build(ws: Workspace, client: Any, *, mapping: LeaveTypeMapping, hr_system: str,
          write_path: str, email_preference: str, month: str | None = None,
          leave_ids: Iterable[str] | None = None, analyst: str | None = None,
          concurrency: int = 8) -> Plan:
    """The leave plan (a dry run) for ``month`` (``YYYY-MM``; None: every stored leave's days),
    only ``leave_ids`` when given. See the module docstring."""
    rows = ws.leaves.all()
    if month is not None:
        window = month_window(month)
    elif rows:
        window = (min(date.fromisoformat(r["start_date"]) for r in rows),
                  max(date.fromisoformat(r["end_date"]) for r in rows))
    else:
        raise InputError("no leaves in the workspace: load the leave file first "
                         "(Leave page, or `workbench load-leave FILE`)")
    first, last = window
    rows = [r for r in rows if r["start_date"] <= last.isoformat() and r["end_date"] >= first.isoformat()]
    if leave_ids is not None:
        wanted = [str(i) for i in leave_ids]
        known = {r["leave_id"] for r in rows}
        unknown = [i for i in wanted if i not in known]
        if unknown:
            raise InputError(f"not in the workspace for {first}…{last}, cannot plan these leaves: "
                             f"{', '.join(unknown[:20])}")
        rows = [r for r in rows if r["leave_id"] in set(wanted)]
    links = dict(ws.links.pairs())
    operations: list[Operation] = []
    warnings: list[str] = []
    counts: Counter = Counter()

    def block(leave: Leave, reason: str, kind: str = OP_CREATE) -> None:
        operations.append(Operation(
            op_id=f"leave:blocked:{leave.leave_id}", seq=len(operations) + 1, kind=kind,
            action=ACTION, hr_id=leave.hr_id or None, kleer_id=links.get(leave.hr_id),
            targets=("kleer",), blockers=(reason,), changes=_changes({}, {
                "leave_id": leave.leave_id, "date": f"{leave.start}…{leave.end}",
                "type": leave.kleer_type or leave.hr_type, "activity": leave.activity,
                "child": leave.child, "comment": leave.comment})))

    planned: list[Leave] = []
    for row in rows:
        leave = stored_leave(row, mapping)
        counts["leaves"] += 1
        problems = [p for p in row["problems"] if p.get("field") != "leave_type"]
        for p in problems:
            if not p.get("blocking"):
                warnings.append(f"leave {leave.leave_id} (row {row.get('source_row')}): {p['message']}")
        hard = [p["message"] for p in problems if p.get("blocking")]
        if leave.status == PENDING:
            counts["pending"] += 1
            warnings.append(f"leave {leave.leave_id} is not approved yet (pending): not planned")
            continue
        if hard:
            block(leave, "; ".join(hard))
        elif leave.status != CANCELLED and leave.kleer_type is None:
            block(leave, f"the leave type {leave.hr_type!r} is not in the leave-type mapping: "
                         "map it to a Kleer type on Settings (Leave types) or with `workbench "
                         f"leave-types --set '{leave.hr_type}=OtherLeave'`, then plan again")
        elif leave.hr_id not in links:
            if leave.status == APPROVED:
                block(leave, f"{leave.hr_id} is not linked to a Kleer user: link the employee "
                             "first; its leave cannot be exported until then")
        else:
            planned.append(leave)

    users = sorted({links[l.hr_id] for l in planned})
    needs_schedule = {links[l.hr_id] for l in planned if l.status == APPROVED}
    activity_ids: dict[str, int] = lc.activity_ids(client) if planned else {}
    with ThreadPoolExecutor(max_workers=max(1, concurrency), thread_name_prefix="leave-plan") as pool:
        reads = dict(zip(users, pool.map(
            lambda u: _read_user(client, u, window, u in needs_schedule), users)))
    names = {i: n for n, i in activity_ids.items()}
    types = {l.leave_id: l.kleer_type for l in planned}
    desired, existing, statuses, user_of, managed = [], [], {}, {}, set()
    for leave in planned:
        user_id = links[leave.hr_id]
        got = reads[user_id]
        if got.error:
            block(leave, f"Kleer user {user_id}: {got.error}")
            continue
        try:
            desired += expand(leave, got.schedule, hr_system=hr_system, window=window)
        except ScheduleGap as e:
            block(leave, str(e))
            continue
        user_of[leave.hr_id] = user_id
        managed.add(leave.leave_id)
    for user_id in set(user_of.values()):
        existing += reads[user_id].events
        statuses.update({(user_id, d): s for d, s in reads[user_id].statuses.items()})
    diff = diff_leave(desired, existing, hr_system=hr_system, user_of=user_of,
                      activity_ids=activity_ids, managed_leaves=managed, day_status=statuses,
                      window=window)
    blocked_all = (UNVERIFIED_PATH,) if write_path != "time_report" else ()
    for op in diff.ops:
        before = _flat(op.before, names=names, kleer_type=types.get(op.leave_id))
        after = _flat(op.payload, event_id=op.event_id, names=names, kleer_type=types.get(op.leave_id))
        operations.append(_operation(op, len(operations) + 1, action=ACTION, before=before,
                                     after=after, blockers=blocked_all))
    for c in diff.conflicts:
        operations.append(Operation(
            op_id=f"leave:conflict:{_SHORT[c.wanted]}:{c.key}", seq=len(operations) + 1, kind=c.wanted,
            action=ACTION, hr_id=c.hr_id or None, kleer_id=c.user_id, targets=("kleer",),
            blockers=(f"conflict: {c.reason}",), changes=_changes({}, {
                "leave_id": c.leave_id, "date": c.day.isoformat(), "foreign_id": c.key,
                "type": types.get(c.leave_id), "user_id": c.user_id})))
    for b in diff.blocked:
        block(next(l for l in planned if l.leave_id == b.leave_id), b.reason)
    operations = _unique(operations)
    counts.update(f"kind:{op.kind}" for op in operations if not op.blocked)
    counts["operations"] = len(operations)
    counts["blocked"] = sum(op.blocked for op in operations)
    counts["days_unchanged"] = len(diff.unchanged)
    counts["conflicts"] = len(diff.conflicts)
    counts["employees"] = len(set(user_of))
    if blocked_all:
        warnings.insert(0, UNVERIFIED_PATH)
    snap = ws.kleer.last_snapshot() or {}
    return Plan(id=new_plan_id(), created_at=utcnow(), side="leave", analyst=analyst,
                email_preference=email_preference, snapshot_id=snap.get("id"),
                snapshot_fingerprint=snap.get("fingerprint"), operations=tuple(operations),
                counts=tuple(sorted(counts.items())), warnings=tuple(warnings),
                scope_ids=None if leave_ids is None else tuple(str(i) for i in leave_ids))



def _unique(operations: list[Operation]) -> list[Operation]:
    """Number the operations in order; an op id seen before gets ``~2``, ``~3`` (two blocks of
    one leave, a conflict on a duplicated key)."""
    seen: Counter = Counter()
    out = []
    for i, op in enumerate(operations, start=1):
        seen[op.op_id] += 1
        out.append(replace(op, seq=i, op_id=op.op_id if seen[op.op_id] == 1 else f"{op.op_id}~{seen[op.op_id]}"))
    return out


# --------------------------------------------------------------------------- revert

def _leave_op(row: Mapping[str, Any], op: Operation) -> LeaveOp:
    before, after = op.before, op.after
    flat = after if after.get("foreign_id") else before
    key = parse_day_key(flat["foreign_id"])
    return LeaveOp(op.kind, flat["foreign_id"], op.hr_id or "", key.leave_id if key else "",
                   int(row["kleer_id"] if row.get("kleer_id") is not None else flat["user_id"]),
                   date.fromisoformat(flat["date"]), flat.get("event_id"),
                   event_body(after) if after.get("foreign_id") else None,
                   _readable(before) if before.get("foreign_id") else None, op.method or "")


def undo(row: Mapping[str, Any], op: Operation) -> list[Operation]:
    """The operation that undoes one done leave journal row (:func:`revert_op`): a created day
    is deleted (by the event id its create got), an updated one written back, a deleted one
    created again from its before-image under the same key."""
    done = _leave_op(row, op)
    answer = row.get("answer") or {}
    try:
        back = revert_op(done, new_event_id=answer.get("event_id"))
    except WorkbenchError as e:
        return [Operation(f"revert:{op.op_id}", 0, OP_DELETE, "revert", op.hr_id, op.kleer_id,
                          ("kleer",), blockers=(str(e),))]
    shown = {k: v for k, v in {**op.before, **op.after}.items() if k in ("activity", "type") and v}
    before = {**_flat(back.before, event_id=back.event_id), **shown} if back.before else {}
    after = {**_flat(back.payload, event_id=back.event_id), **shown} if back.payload else {}
    return [_operation(back, 0, action="revert", before=before, after=after, prefix="revert:")]


# --------------------------------------------------------------------------- the dry run

DRY_RUN_COLUMNS = ["hr_id", "name", "leave_id", "what", "date", "hours", "hours_before", "activity",
                   "type", "child", "comment", "kleer_id", "blocked"]


def dry_run_frame(plan: Plan, names: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Per employee and leave, what Kleer will receive: one row per day (create, update,
    delete; the hours before and after) and one per blocked leave or locked day with the
    reason. ``names``: HR id → name."""
    names = names or {}
    rows = []
    for op in plan.operations:
        before, after = op.before, op.after
        shown = after if after.get("leave_id") or after.get("date") else before
        rows.append({
            "hr_id": op.hr_id, "name": names.get(op.hr_id or "", ""),
            "leave_id": shown.get("leave_id") or (after.get("leave_id") or before.get("leave_id")),
            "what": {OP_CREATE: "create", OP_UPDATE: "update", OP_DELETE: "delete"}.get(op.kind, op.kind),
            "date": shown.get("date") or before.get("date"),
            "hours": after.get("hours") if op.kind != OP_DELETE else None,
            "hours_before": before.get("hours"), "activity": shown.get("activity") or before.get("activity"),
            "type": shown.get("type") or before.get("type"), "child": shown.get("child"),
            "comment": shown.get("comment"), "kleer_id": op.kleer_id,
            "blocked": "; ".join(op.blockers)})
    frame = pd.DataFrame(rows, columns=DRY_RUN_COLUMNS)
    frame["kleer_id"] = frame["kleer_id"].astype("Int64")
    return frame.sort_values(["hr_id", "leave_id", "date"], na_position="last", kind="stable"
                             ).reset_index(drop=True)
