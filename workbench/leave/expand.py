"""A leave → the days Kleer receives, with their hours from the employee's schedule.

Kleer's schedule: ``GET /company/{cid}/payroll/user/{uid}/schedule/{start}/to/{end}`` →
``{"payroll-user-schedule-metadatas": [{"date", "level-of-employment", "gross-hours",
"net-hours", "actual-hours"}]}`` (DeviesDevelopment/Kleer ``Kleer/doc.xsd``,
``payroll-user-schedule-metadata``: every element required, decimals). ``actual-hours``
accounts for the employment rate and bank holidays (ponbac/toki2 ``.docs/kleer.md``: "Use
``actual-hours`` from ``payroll-user-schedule-metadatas``; it accounts for employment rate and
bank holidays"), so it is the one figure used here:

* a whole-day leave (100 %) is ``actual-hours`` per day;
* a partial leave is ``percent / 100 × actual-hours``, or ``min(hours per day, actual-hours)``;
* a day with 0 actual hours (weekend, holiday, a day a part-timer does not work) is skipped;
* hours are rounded to 2 decimals (half up), as the XSD's ``hours`` is a decimal.

One event is one day (``payroll-event`` has one ``date``; toki2 writes one ``event`` per day).
A schedule that does not cover a day of the leave is an error (:class:`ScheduleGap`), never a
silent 0: fetch the schedule for the whole leave (or the planning window).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Iterable, Mapping

from ..errors import PlanError
from .keys import day_key
from .model import APPROVED, Leave

__all__ = ["LeaveDay", "ScheduleGap", "expand", "schedule_from_kleer", "hours", "CENT"]

CENT = Decimal("0.01")


class ScheduleGap(PlanError):
    """The schedule has no entry for a day of the leave."""

    def __init__(self, leave: Leave, missing: list[date]):
        self.missing = missing
        shown = ", ".join(d.isoformat() for d in missing[:5]) + (" …" if len(missing) > 5 else "")
        super().__init__(f"leave {leave.leave_id} ({leave.hr_id}): Kleer's schedule has no entry "
                         f"for {shown}; fetch the schedule for the whole leave and plan again")


def hours(value: Any) -> Decimal:
    """A Kleer decimal (int, float, text) as a Decimal with 2 places."""
    try:
        return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)
    except (InvalidOperation, ValueError):
        raise PlanError(f"Kleer sent {value!r} where hours belong") from None


@dataclass(frozen=True, slots=True)
class LeaveDay:
    """One day of a leave, as Kleer will receive it. ``key`` is its foreign-id."""

    key: str
    hr_id: str
    leave_id: str
    day: date
    hours: Decimal
    kleer_type: str
    activity: str
    child: str | None = None
    comment: str = ""

    def event(self, user_id: int, activity_id: int) -> dict[str, Any]:
        """The ``PUT /event`` body (XSD ``event-writable``: foreign-id, user, activity, child?,
        date, hours, comment; ponbac/toki2 ``KleerEventWritable``)."""
        body: dict[str, Any] = {"foreign-id": self.key, "user": {"id": int(user_id)},
                                "activity": {"id": int(activity_id)},
                                "date": self.day.isoformat(), "hours": float(self.hours),
                                "comment": self.comment}
        if self.child:
            body["child"] = self.child
        return body

    def payroll_event(self) -> dict[str, Any]:
        """The same day as an XSD ``payroll-event`` (date, hours, type, child?, comment) — the
        other write path, unverified (no public client writes payroll events)."""
        body: dict[str, Any] = {"date": self.day.isoformat(), "hours": float(self.hours),
                                "type": self.kleer_type, "comment": self.comment}
        if self.child:
            body["child"] = self.child
        return body


def schedule_from_kleer(answer: Mapping[str, Any] | Iterable[Mapping[str, Any]]) -> dict[date, Decimal]:
    """``{"payroll-user-schedule-metadatas": [...]}`` (or the list) → date → actual hours."""
    items = answer.get("payroll-user-schedule-metadatas", []) if isinstance(answer, Mapping) else answer
    out: dict[date, Decimal] = {}
    for item in items:
        try:
            day = date.fromisoformat(str(item["date"]))
        except (KeyError, ValueError):
            raise PlanError(f"Kleer's schedule has an entry without a valid date: {item!r}") from None
        out[day] = hours(item.get("actual-hours", 0))
    return out


def _day_hours(leave: Leave, actual: Decimal) -> Decimal:
    if leave.hours_per_day is not None:
        return min(leave.hours_per_day, actual).quantize(CENT, ROUND_HALF_UP)
    return (actual * leave.percent / 100).quantize(CENT, ROUND_HALF_UP)


def expand(leave: Leave, schedule: Mapping[date, Decimal], *, hr_system: str,
           window: tuple[date, date] | None = None) -> list[LeaveDay]:
    """The days of an approved leave with their hours, within ``window`` (inclusive) when given.
    A cancelled or pending leave, or one whose type is not mapped, gives no days."""
    if leave.status != APPROVED or not leave.kleer_type or not leave.activity:
        return []
    first, last = leave.start, leave.end
    if window is not None:
        first, last = max(first, window[0]), min(last, window[1])
    days = [d for d in leave.days if first <= d <= last]
    missing = [d for d in days if d not in schedule]
    if missing:
        raise ScheduleGap(leave, missing)
    comment = leave.comment or leave.hr_type
    out = []
    for day in days:
        amount = _day_hours(leave, schedule[day])
        if amount <= 0:
            continue
        out.append(LeaveDay(day_key(hr_system, leave.leave_id, day), leave.hr_id, leave.leave_id,
                            day, amount, leave.kleer_type, leave.activity, leave.child, comment))
    return out
