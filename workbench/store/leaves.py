"""``leaves``: the HR system's absences as the last leave file had them, one row per leave id;
and the journal's leave rows as the Leave page and the apply read them.

A row keeps the leave as read (type as the HR system names it, dates, extent, status, child,
comment, version), where it came from (file, row) and the row's problems from the loader (JSON:
``[{"column", "field", "message", "blocking"}]``). The Kleer type is not stored: it is resolved
from the leave-type mapping when a plan is built, so a mapping changed after the load counts.
A load upserts by leave id; a leave absent from a later file is kept (another month's export
need not list it).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import pandas as pd

from .base import Repository
from .values import from_json, plain, to_json, utcnow

COLUMNS = ("leave_id", "hr_id", "hr_type", "start_date", "end_date", "percent", "hours_per_day",
           "status", "child", "comment", "version", "source", "source_row", "problems",
           "loaded_at", "updated_at")
_COMPARED = ("hr_id", "hr_type", "start_date", "end_date", "percent", "hours_per_day", "status",
             "child", "comment", "version", "problems")


def create_table(db: Any) -> None:
    """Migration 8's table (called from :mod:`.workspace`)."""
    db["leaves"].create({"leave_id": str, "hr_id": str, "hr_type": str, "start_date": str,
                         "end_date": str, "percent": str, "hours_per_day": str, "status": str,
                         "child": str, "comment": str, "version": str, "source": str,
                         "source_row": int, "problems": str, "loaded_at": str,
                         "updated_at": str}, pk="leave_id")
    db["leaves"].create_index(["hr_id"], index_name="leaves_hr")
    db["leaves"].create_index(["start_date", "end_date"], index_name="leaves_dates")


def _decoded(row: dict) -> dict:
    row["problems"] = from_json(row.get("problems"), [])
    return row


class Leaves(Repository):
    table = "leaves"

    def upsert(self, rows: Iterable[Mapping[str, Any]], *, source: str) -> dict[str, int]:
        """Insert or update leaves (one atomic write): ``added``, ``changed``, ``unchanged``."""
        now = utcnow()
        incoming = []
        for r in rows:
            row = {k: plain(r.get(k)) for k in COLUMNS if k not in ("loaded_at", "updated_at", "source")}
            row["problems"] = to_json(list(r.get("problems") or []))
            row["source"] = source
            incoming.append(row)
        counts = {"added": 0, "changed": 0, "unchanged": 0}
        with self.ws.atomic():
            existing = {r["leave_id"]: r for r in self.ws.query("SELECT * FROM leaves")}
            for row in incoming:
                old = existing.get(row["leave_id"])
                if old is None:
                    counts["added"] += 1
                    self.ws.db["leaves"].insert({**row, "loaded_at": now, "updated_at": now})
                    continue
                same = all(old.get(k) == row.get(k) for k in _COMPARED)
                counts["unchanged" if same else "changed"] += 1
                self.ws.db["leaves"].update(row["leave_id"], {
                    **row, "loaded_at": now, **({} if same else {"updated_at": now})})
        return counts

    def all(self) -> list[dict]:
        return [_decoded(r) for r in self.ws.query("SELECT * FROM leaves ORDER BY start_date, leave_id")]

    def overlapping(self, first: str, last: str) -> list[dict]:
        """The leaves with a day in ``first``..``last`` (ISO dates, inclusive)."""
        return [_decoded(r) for r in self.ws.query(
            "SELECT * FROM leaves WHERE start_date <= ? AND end_date >= ? "
            "ORDER BY hr_id, start_date, leave_id", [last, first])]

    def frame(self) -> pd.DataFrame:
        frame = self.ws.frame("SELECT * FROM leaves ORDER BY start_date, leave_id")
        frame["problems"] = [from_json(p, []) for p in frame["problems"]] if len(frame) else []
        return frame

    def journal_rows(self) -> list[dict]:
        """Every journal row of a leave operation (kind ``leave_*``), oldest first, with the
        day's key (its foreign-id) taken from before/after: the Leave page's per-leave state."""
        rows = self.ws.query("SELECT id, plan_id, op_id, batch_id, kind, hr_id, kleer_id, status, "
                             "error, before, after, answer, finished_at FROM journal "
                             "WHERE kind LIKE 'leave_%' ORDER BY id")
        for r in rows:
            for column in ("before", "after", "answer"):
                r[column] = from_json(r[column])
        return rows

    def create_tried(self, op_id: str, *, other_than_plan: str) -> bool:
        """Whether another plan's apply has journaled this leave day's create (the same op id:
        the day's key), so Kleer may hold the day already."""
        return bool(self.ws.query("SELECT 1 FROM journal WHERE op_id = ? AND plan_id != ? "
                                  "AND status != 'skipped' LIMIT 1", [op_id, other_than_plan]))
