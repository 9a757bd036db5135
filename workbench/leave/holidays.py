"""Swedish public holidays (helgdagar, Lag (1989:253) om allmänna helgdagar) and the de-facto
days off that Swedish schedules treat as holidays (midsommarafton, julafton, nyårsafton).

Pure: used by the simulator's schedules (``actual-hours`` is 0 on them, as Kleer's schedule
accounts for bank holidays — ponbac/toki2 ``.docs/kleer.md``) and by tests.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

__all__ = ["easter", "swedish_holidays", "is_holiday"]


def easter(year: int) -> date:
    """Easter Sunday (Gregorian; the anonymous algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    l = (32 + 2 * e + 2 * i - h - k) % 7  # noqa: E741
    m = (a + 11 * h + 22 * l) // 451
    month, day = divmod(h + l - 7 * m + 114, 31)
    return date(year, month, day + 1)


def _saturday_between(start: date) -> date:
    return start + timedelta(days=(5 - start.weekday()) % 7)


@lru_cache(maxsize=64)
def swedish_holidays(year: int) -> dict[date, str]:
    """date → Swedish name, for ``year``."""
    e = easter(year)
    midsommardagen = _saturday_between(date(year, 6, 20))
    return {
        date(year, 1, 1): "Nyårsdagen",
        date(year, 1, 6): "Trettondedag jul",
        e - timedelta(days=2): "Långfredagen",
        e: "Påskdagen",
        e + timedelta(days=1): "Annandag påsk",
        date(year, 5, 1): "Första maj",
        e + timedelta(days=39): "Kristi himmelsfärdsdag",
        e + timedelta(days=49): "Pingstdagen",
        date(year, 6, 6): "Sveriges nationaldag",
        midsommardagen - timedelta(days=1): "Midsommarafton",
        midsommardagen: "Midsommardagen",
        _saturday_between(date(year, 10, 31)): "Alla helgons dag",
        date(year, 12, 24): "Julafton",
        date(year, 12, 25): "Juldagen",
        date(year, 12, 26): "Annandag jul",
        date(year, 12, 31): "Nyårsafton",
    }


def is_holiday(day: date) -> bool:
    return day in swedish_holidays(day.year)
