"""The demo leave file: a month of realistic absences for the demo workforce.

    python -m workbench.leave.demo            # rewrites data/demo/leave.csv

Deterministic (seeded). It reads the committed demo files (``hr_employees.csv`` for who works
in the month, ``ground_truth.csv`` for who has a Kleer counterpart, ``situations.csv`` for who
has none) and writes Swedish headers, semicolon-separated, UTF-8 with a BOM (what Swedish Excel's
"CSV UTF-8" saves). The month holds: sick days, a vacation week, part-time (50 %) parental
leave with the child, VAB with the child, leave in hours per day, one cancelled vacation, one
leave of an employee with no Kleer counterpart (blocked: "link the employee first"), and one of a
type the default mapping does not know (``Friskvårdstimme``). No two leaves of one employee
overlap. tests/test_leave_demo.py checks the committed file equals a fresh generation.
"""

from __future__ import annotations

import csv
import io
import random
from datetime import date, timedelta
from pathlib import Path
from typing import Iterable, Mapping

__all__ = ["HEADERS", "MONTH", "generate_leave", "render", "main", "DEMO_DIR"]

DEMO_DIR = Path(__file__).resolve().parents[2] / "data" / "demo"
MONTH = date(2026, 11, 1)  # the demo's "today" is 2026-11-01 (workbench.demo.generate)
HEADERS = ("Frånvaro-ID", "Anställd-ID", "Frånvarotyp", "Från och med", "Till och med",
           "Omfattning", "Status", "Barn", "Kommentar", "Senast ändrad")
_CHILDREN = ("Alva", "Elsa", "Noah", "Liam", "Maja", "Hugo", "Astrid", "Olle")


def _weekdays(start: date, end: date) -> list[date]:
    out, day = [], start
    while day <= end:
        if day.weekday() < 5:
            out.append(day)
        day += timedelta(days=1)
    return out


def _monday(day: date, weeks: int) -> date:
    return day - timedelta(days=day.weekday()) + timedelta(weeks=weeks)


def generate_leave(hr_rows: Iterable[Mapping[str, str]], linked: Iterable[str],
                   unlinked: Iterable[str], *, month: date = MONTH, seed: int = 7) -> list[dict[str, str]]:
    """The rows of the leave file (keys: :data:`HEADERS`)."""
    rng = random.Random(seed)
    first = month.replace(day=1)
    last = (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    linked_set, unlinked_set = set(linked), set(unlinked)

    def working(row: Mapping[str, str]) -> bool:
        start, end = row.get("Anställningsdatum") or "", row.get("Slutdatum") or ""
        return bool(start) and start <= first.isoformat() and (not end or end >= last.isoformat())

    people = [r["Anställd-ID"] for r in hr_rows if working(r)]
    pool = [p for p in people if p in linked_set]
    rng.shuffle(pool)
    outsiders = sorted(p for p in people if p in unlinked_set)
    days = _weekdays(first, last)
    rows: list[dict[str, str]] = []
    n = 0

    def add(hr_id: str, kind: str, start: date, end: date, extent: str = "100",
            status: str = "Godkänd", child: str = "", comment: str = "") -> None:
        nonlocal n
        n += 1
        changed = start - timedelta(days=rng.randint(1, 20), minutes=rng.randint(0, 600))
        stamp = f"{min(changed, first - timedelta(days=1)).isoformat()}T{rng.randint(7, 17):02d}:{rng.randint(0, 59):02d}"
        rows.append(dict(zip(HEADERS, (f"F{first:%Y%m}-{n:03d}", hr_id, kind, start.isoformat(),
                                        end.isoformat(), extent, status, child, comment, stamp))))

    take = iter(pool)
    for _ in range(12):  # sick days: 1–3 working days
        start = rng.choice(days[:-3])
        length = rng.choice((1, 1, 2, 3))
        end = _weekdays(start, last)[min(length, len(_weekdays(start, last))) - 1]
        add(next(take), rng.choice(("Sjuk", "Sjuk", "Sjukfrånvaro")), start, end,
            comment=rng.choice(("", "", "Karensdag första dagen", "Förkyld")))
    week = _monday(first, 2)  # a vacation week
    add(next(take), "Semester", week, week + timedelta(days=4), comment="Höstlov")
    add(next(take), "Föräldraledighet", first, last, extent="50",
        child=rng.choice(_CHILDREN), comment="Halvtid hela månaden")
    vab = rng.choice(days[3:-3])
    add(next(take), "VAB", vab, vab + timedelta(days=1 if vab.weekday() < 4 else 0),
        child=rng.choice(_CHILDREN))
    add(next(take), "Tjänstledig", _monday(first, 1) + timedelta(days=2),
        _monday(first, 1) + timedelta(days=2), extent="4 h", comment="Flytt")
    cancelled = _monday(first, 3)
    add(next(take), "Semester", cancelled, cancelled + timedelta(days=4), status="Makulerad",
        comment="Flyttad till december")
    if outsiders:
        start = rng.choice(days[:-2])
        add(outsiders[0], "Sjuk", start, _weekdays(start, last)[1], comment="Ej kopplad i Kleer")
    add(next(take), "Friskvårdstimme", rng.choice(days), rng.choice(days[-1:]), extent="1 h")
    rows[-1]["Till och med"] = rows[-1]["Från och med"]
    return rows


def render(rows: list[dict[str, str]]) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, fieldnames=HEADERS, delimiter=";", lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def demo_rows(folder: Path = DEMO_DIR) -> list[dict[str, str]]:
    """The demo leave rows from the committed demo files in ``folder``."""
    hr = _read(folder / "hr_employees.csv")
    linked = {r["hr_id"] for r in _read(folder / "ground_truth.csv")}
    unlinked = {r["hr_id"] for r in _read(folder / "situations.csv") if r["situation"] == "only_in_hr"}
    return generate_leave(hr, linked, unlinked)


def main(folder: Path = DEMO_DIR) -> Path:
    path = folder / "leave.csv"
    path.write_bytes(render(demo_rows(folder)))
    return path


if __name__ == "__main__":
    print(main())
