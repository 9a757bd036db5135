"""The idempotency key of one leave day in Kleer: ``<hr-system>:<leave id>:<date>``.

It is the event's ``foreign-id``. Kleer requires a foreign-id on ``PUT /event`` in practice
(without one it has answered 500 "Tekniskt fel": ponbac/toki2 ``.docs/kleer.md``, "Events,
Statuses, And Stats", live validation 2026-04-21), and the XSD's ``event-writable`` has a
``foreign-id`` string (DeviesDevelopment/Kleer ``Kleer/doc.xsd``). The key is deterministic, so a
rerun or a crash finds the day it already wrote instead of writing it twice.

The HR system's name may not contain ``:``; a leave id may (the date is split off the right).
"""

from __future__ import annotations

import re
from datetime import date
from typing import NamedTuple

from ..errors import InputError

__all__ = ["DayKey", "day_key", "parse_day_key", "is_day_key"]

_SYSTEM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
_KEY = re.compile(r"(?P<system>[^:]+):(?P<leave>.+):(?P<date>\d{4}-\d{2}-\d{2})")


class DayKey(NamedTuple):
    hr_system: str
    leave_id: str
    day: date

    def __str__(self) -> str:
        return f"{self.hr_system}:{self.leave_id}:{self.day.isoformat()}"


def day_key(hr_system: str, leave_id: str, day: date) -> str:
    """``day_key("hr", "L-17", date(2026, 11, 3))`` → ``"hr:L-17:2026-11-03"``."""
    if not _SYSTEM.fullmatch(hr_system or ""):
        raise InputError(f"the HR system's short name {hr_system!r} must be letters, digits, "
                         "'.', '_' or '-' (no ':'), at most 40 characters")
    leave = str(leave_id or "").strip()
    if not leave or any(ch.isspace() for ch in leave):
        raise InputError(f"the leave id {leave_id!r} is empty or has spaces; it cannot key a day")
    return str(DayKey(hr_system, leave, day))


def parse_day_key(text: str) -> DayKey | None:
    """The parts of a key, or None when ``text`` is not one (someone else's foreign-id)."""
    m = _KEY.fullmatch(str(text or ""))
    if not m:
        return None
    try:
        return DayKey(m["system"], m["leave"], date.fromisoformat(m["date"]))
    except ValueError:
        return None


def is_day_key(text: str, hr_system: str) -> bool:
    key = parse_day_key(text)
    return key is not None and key.hr_system == hr_system
