"""What Kleer must be told: desired leave days vs the events Kleer already holds.

Pure. Given the days the HR file wants (:class:`~workbench.leave.expand.LeaveDay`, keyed by
``<hr-system>:<leave id>:<date>``), the time-report events Kleer holds for those employees
(``GET /event?userId&startDate&endDate`` → ``{"event-readables": [...]}``), the per-day
statuses (``GET /event/statuses?userId&fromDate&toDate`` →
``{"event-restriction-readables": [{"status": {"type", "registration-user", "event-date"}}]}``),
the links (HR id → Kleer user id) and the company's activities (name → id),
:func:`diff_leave` returns the creates, updates and deletes, and what cannot be done:

* **blocked** (per leave): the employee is not linked ("link the employee first", as the vendor's
  integration does), or Kleer has no activity of the mapped name;
* **conflicts** (per day): the day is in a period Kleer has locked. Kleer's event status is Open,
  Approved or Certified (XSD ``event-status-type``; ponbac/toki2 ``.docs/kleer.md``: "Only
  ``open`` entries are editable. ``approved`` and ``certified`` entries are locked", and
  ``GET /event/statuses`` "exposes date-level statuses even when no event … is present. Use it to
  gate create/edit attempts"). A locked day is a conflict with Kleer's reason, never a retry.

Deletes touch only events whose key is ours (``hr_system``) and whose leave is in
``managed_leaves`` (the leaves of the file: a cancelled or shortened leave), inside ``window``
when one is given; an event someone keyed by hand, or a leave the file no longer lists, is left
alone. Two events with the same key (a create whose answer was lost, then repeated by a naive
client) keep the lowest id; the others are deleted.

Event JSON (XSD ``event-readable``; toki2 ``KleerEventReadable``): ``id`` is a reference
``{"id": n}``, status types come in upper case (``"OPEN"``); both spellings are read.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Iterable, Mapping

from ..errors import PlanError
from .expand import LeaveDay, hours
from .keys import parse_day_key

__all__ = ["KleerEvent", "DayStatus", "LeaveOp", "LeaveConflict", "LeaveBlocked", "LeaveDiff",
           "diff_leave", "parse_event", "parse_events", "parse_statuses", "OPEN", "LOCKED",
           "OP_CREATE", "OP_UPDATE", "OP_DELETE", "revert_op"]

OPEN = "Open"
LOCKED = ("Approved", "Certified")
_STATUS = {s.casefold(): s for s in (OPEN, *LOCKED)}
OP_CREATE, OP_UPDATE, OP_DELETE = "leave_create", "leave_update", "leave_delete"


def _ref(value: Any) -> int | None:
    if isinstance(value, Mapping):
        value = value.get("id")
    try:
        return None if value is None or isinstance(value, bool) else int(value)
    except (TypeError, ValueError):
        return None


def _status(value: Any) -> str:
    text = value.get("type") if isinstance(value, Mapping) else value
    return _STATUS.get(str(text or OPEN).casefold(), str(text))


@dataclass(frozen=True, slots=True)
class DayStatus:
    day: date
    status: str
    registered_by: int | None = None
    registered_on: str | None = None

    @property
    def open(self) -> bool:
        return self.status == OPEN

    def reason(self) -> str:
        who = f" by user {self.registered_by}" if self.registered_by is not None else ""
        when = f" on {self.registered_on}" if self.registered_on else ""
        return (f"Kleer has {self.day} as {self.status} (registered{who}{when}): only Open days "
                "can be changed; reopen the period in Kleer, or leave this day as it is")


@dataclass(frozen=True, slots=True)
class KleerEvent:
    id: int
    foreign_id: str
    user_id: int
    activity_id: int
    day: date
    hours: Decimal
    comment: str = ""
    child: str | None = None
    status: DayStatus | None = None
    doc: Mapping[str, Any] = field(default_factory=dict, compare=False)


def parse_event(doc: Mapping[str, Any]) -> KleerEvent:
    """One ``event-readable``."""
    try:
        day = date.fromisoformat(str(doc["date"]))
        event_id, user_id, activity_id = _ref(doc.get("id")), _ref(doc.get("user")), _ref(doc.get("activity"))
        if event_id is None or user_id is None or activity_id is None:
            raise KeyError("id/user/activity")
    except (KeyError, ValueError):
        raise PlanError(f"Kleer sent an event without id, user, activity or date: {dict(doc)!r}") from None
    raw_status = doc.get("status")
    status = None
    if raw_status is not None:
        status = DayStatus(day, _status(raw_status),
                           _ref(raw_status.get("registration-user")) if isinstance(raw_status, Mapping) else None,
                           raw_status.get("registration-date") if isinstance(raw_status, Mapping) else None)
    return KleerEvent(event_id, str(doc.get("foreign-id") or ""), user_id, activity_id, day,
                      hours(doc.get("hours", 0)), str(doc.get("comment") or ""),
                      doc.get("child") or None, status, dict(doc))


def parse_events(answer: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> list[KleerEvent]:
    items = answer.get("event-readables", []) if isinstance(answer, Mapping) else answer
    return [parse_event(item) for item in items]


def parse_statuses(answer: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> dict[date, DayStatus]:
    """``{"event-restriction-readables": [{"status": {...}}]}`` → date → status (days Kleer
    does not list are Open)."""
    items = answer.get("event-restriction-readables", []) if isinstance(answer, Mapping) else answer
    out: dict[date, DayStatus] = {}
    for item in items:
        status = item.get("status") if isinstance(item, Mapping) else None
        if not isinstance(status, Mapping) or not status.get("event-date"):
            continue
        day = date.fromisoformat(str(status["event-date"]))
        out[day] = DayStatus(day, _status(status), _ref(status.get("registration-user")),
                             status.get("registration-date"))
    return out


@dataclass(frozen=True, slots=True)
class LeaveOp:
    """One write. ``payload`` is the event body for create/update; ``before`` the event as
    Kleer held it (update/delete), for the journal and revert."""

    kind: str
    key: str
    hr_id: str
    leave_id: str
    user_id: int
    day: date
    event_id: int | None = None
    payload: Mapping[str, Any] | None = None
    before: Mapping[str, Any] | None = None
    why: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "key": self.key, "hr_id": self.hr_id, "leave_id": self.leave_id,
                "user_id": self.user_id, "date": self.day.isoformat(), "event_id": self.event_id,
                "payload": dict(self.payload) if self.payload is not None else None,
                "before": dict(self.before) if self.before is not None else None, "why": self.why}


@dataclass(frozen=True, slots=True)
class LeaveConflict:
    key: str
    hr_id: str
    leave_id: str
    user_id: int
    day: date
    wanted: str        # the op kind that cannot be done
    status: str
    reason: str


@dataclass(frozen=True, slots=True)
class LeaveBlocked:
    hr_id: str
    leave_id: str
    days: int
    reason: str


@dataclass
class LeaveDiff:
    creates: list[LeaveOp] = field(default_factory=list)
    updates: list[LeaveOp] = field(default_factory=list)
    deletes: list[LeaveOp] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    conflicts: list[LeaveConflict] = field(default_factory=list)
    blocked: list[LeaveBlocked] = field(default_factory=list)

    @property
    def ops(self) -> list[LeaveOp]:
        """Every write, per employee and day (a deleted day before a created one)."""
        order = {OP_DELETE: 0, OP_UPDATE: 1, OP_CREATE: 2}
        return sorted(self.creates + self.updates + self.deletes,
                      key=lambda o: (o.user_id, o.day, order[o.kind], o.key))

    def counts(self) -> dict[str, int]:
        return {"create": len(self.creates), "update": len(self.updates),
                "delete": len(self.deletes), "unchanged": len(self.unchanged),
                "conflict": len(self.conflicts), "blocked": len(self.blocked)}

    @property
    def empty(self) -> bool:
        return not (self.creates or self.updates or self.deletes)


def _same(event: KleerEvent, payload: Mapping[str, Any]) -> bool:
    return (event.user_id == payload["user"]["id"] and event.activity_id == payload["activity"]["id"]
            and event.hours == hours(payload["hours"]) and event.comment == payload["comment"]
            and (event.child or None) == (payload.get("child") or None))


def diff_leave(desired: Iterable[LeaveDay], existing: Iterable[KleerEvent], *, hr_system: str,
               user_of: Mapping[str, int], activity_ids: Mapping[str, int],
               managed_leaves: Iterable[str], day_status: Mapping[tuple[int, date], DayStatus] | None = None,
               window: tuple[date, date] | None = None) -> LeaveDiff:
    """See the module docstring. ``day_status`` is (user id, date) → status (from
    :func:`parse_statuses`); a day absent from it is Open unless its event says otherwise."""
    statuses = dict(day_status or {})
    managed = set(managed_leaves)
    out = LeaveDiff()

    hr_of = {user_id: hr_id for hr_id, user_id in user_of.items()}
    ours: dict[str, list[KleerEvent]] = defaultdict(list)
    for event in existing:
        key = parse_day_key(event.foreign_id)
        if key is not None and key.hr_system == hr_system:
            ours[event.foreign_id].append(event)

    def status_of(user_id: int, day: date, event: KleerEvent | None) -> DayStatus:
        if event is not None and event.status is not None and not event.status.open:
            return event.status
        return statuses.get((user_id, day)) or DayStatus(day, OPEN)

    def write(op: LeaveOp, event: KleerEvent | None, bucket: list[LeaveOp]) -> None:
        status = status_of(op.user_id, op.day, event)
        if status.open:
            bucket.append(op)
        else:
            out.conflicts.append(LeaveConflict(op.key, op.hr_id, op.leave_id, op.user_id, op.day,
                                               op.kind, status.status, status.reason()))

    # extra copies of one key: keep the lowest id
    for key, events in ours.items():
        events.sort(key=lambda e: e.id)
        parsed = parse_day_key(key)
        for extra in events[1:]:
            write(LeaveOp(OP_DELETE, key, hr_of.get(extra.user_id, ""), parsed.leave_id, extra.user_id, extra.day, extra.id,
                          None, extra.doc, "a second event with the same key"), extra, out.deletes)

    wanted: set[str] = set()
    blocked: dict[tuple[str, str], list[str]] = {}
    blocked_days: dict[tuple[str, str], int] = defaultdict(int)
    for day in desired:
        wanted.add(day.key)
        user_id = user_of.get(day.hr_id)
        if user_id is None:
            blocked.setdefault((day.hr_id, day.leave_id), [
                f"{day.hr_id} is not linked to a Kleer user: link the employee first; its leave "
                "cannot be exported until then"])
            blocked_days[(day.hr_id, day.leave_id)] += 1
            continue
        activity_id = activity_ids.get(day.activity)
        if activity_id is None:
            blocked.setdefault((day.hr_id, day.leave_id), [
                f"Kleer has no activity named {day.activity!r} (for {day.kleer_type}): create it in "
                "Kleer, or point the leave type at an existing activity in the leave-type mapping"])
            blocked_days[(day.hr_id, day.leave_id)] += 1
            continue
        payload = day.event(user_id, activity_id)
        present = ours.get(day.key, [])
        if not present:
            write(LeaveOp(OP_CREATE, day.key, day.hr_id, day.leave_id, user_id, day.day, None,
                          payload, None, "new day"), None, out.creates)
        elif _same(present[0], payload):
            out.unchanged.append(day.key)
        else:
            event = present[0]
            write(LeaveOp(OP_UPDATE, day.key, day.hr_id, day.leave_id, user_id, day.day, event.id,
                          payload, event.doc, "the leave changed"), event, out.updates)
    for (hr_id, leave_id), reasons in blocked.items():
        out.blocked.append(LeaveBlocked(hr_id, leave_id, blocked_days[(hr_id, leave_id)], reasons[0]))

    for key, events in ours.items():
        if key in wanted:
            continue
        parsed = parse_day_key(key)
        event = events[0]
        if parsed.leave_id not in managed:
            continue
        if window is not None and not window[0] <= event.day <= window[1]:
            continue
        write(LeaveOp(OP_DELETE, key, hr_of.get(event.user_id, ""), parsed.leave_id, event.user_id, event.day, event.id,
                      None, event.doc, "the leave was cancelled or shortened"), event, out.deletes)
    return out


def revert_op(op: LeaveOp, *, new_event_id: int | None = None) -> LeaveOp:
    """The write that undoes ``op`` (after it was applied; ``new_event_id`` is the id a create
    got). A deleted day is created again from its before-image, under the same key."""
    if op.kind == OP_CREATE:
        if new_event_id is None:
            raise PlanError(f"cannot revert the create of {op.key}: the new event's id is unknown")
        return LeaveOp(OP_DELETE, op.key, op.hr_id, op.leave_id, op.user_id, op.day, new_event_id,
                       None, op.payload, "revert a create")
    if op.before is None:
        raise PlanError(f"cannot revert {op.kind} of {op.key}: no before-image")
    body = _writable(op.before)
    if op.kind == OP_UPDATE:
        return LeaveOp(OP_UPDATE, op.key, op.hr_id, op.leave_id, op.user_id, op.day, op.event_id,
                       body, op.payload, "revert an update")
    return LeaveOp(OP_CREATE, op.key, op.hr_id, op.leave_id, op.user_id, op.day, None, body,
                   None, "revert a delete")


def _writable(doc: Mapping[str, Any]) -> dict[str, Any]:
    """An ``event-readable`` → the ``event-writable`` that recreates it."""
    body = {"foreign-id": doc.get("foreign-id") or "", "user": {"id": _ref(doc.get("user"))},
            "activity": {"id": _ref(doc.get("activity"))}, "date": doc.get("date"),
            "hours": float(hours(doc.get("hours", 0))), "comment": doc.get("comment") or ""}
    for key in ("child", "client-project", "internal-comment"):
        if doc.get(key):
            body[key] = doc[key]
    return body
