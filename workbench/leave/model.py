"""Leave values: one leave as the HR file has it (:class:`Leave`), no I/O."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Iterator

__all__ = ["Leave", "APPROVED", "CANCELLED", "PENDING", "STATUSES"]

APPROVED, CANCELLED, PENDING = "approved", "cancelled", "pending"
STATUSES = (APPROVED, CANCELLED, PENDING)


@dataclass(frozen=True, slots=True)
class Leave:
    """One leave. Exactly one of ``percent`` (1–100 of each scheduled day) and
    ``hours_per_day`` is set. ``kleer_type``/``activity`` come from the leave-type mapping (None
    while the type is unknown). ``row`` is the spreadsheet row it was read from."""

    leave_id: str
    hr_id: str
    hr_type: str
    start: date
    end: date
    percent: Decimal | None = Decimal(100)
    hours_per_day: Decimal | None = None
    status: str = APPROVED
    child: str | None = None
    comment: str | None = None
    version: str | None = None
    kleer_type: str | None = None
    activity: str | None = None
    row: int | None = None

    def __post_init__(self) -> None:
        if (self.percent is None) == (self.hours_per_day is None):
            raise ValueError("a leave has a percent or hours per day, exactly one of them")
        if self.status not in STATUSES:
            raise ValueError(f"status is one of {STATUSES}, not {self.status!r}")

    @property
    def days(self) -> Iterator[date]:
        day = self.start
        while day <= self.end:
            yield day
            day += timedelta(days=1)

    @property
    def partial(self) -> bool:
        return self.hours_per_day is not None or (self.percent is not None and self.percent < 100)

    @property
    def extent_text(self) -> str:
        if self.hours_per_day is not None:
            return f"{self.hours_per_day.normalize():f} h/day"
        return f"{self.percent.normalize():f} %"

    def overlaps(self, other: "Leave") -> bool:
        return self.start <= other.end and other.start <= self.end

    def with_(self, **changes) -> "Leave":
        return replace(self, **changes)
