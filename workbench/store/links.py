"""``links``: (hr_id, kleer_id); each side unique among ACTIVE links (partial unique indexes)."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .base import Repository
from .values import plain, utcnow


class Links(Repository):
    table = "links"

    def add(self, hr_id: str, kleer_id: int, *, analyst: str | None, method: str,
            score: float | None = None, batch_id: str | None = None) -> int:
        """Link an HR employee to a Kleer user. Refused (sqlite3.IntegrityError) when either side
        is already in an active link."""
        with self.ws.atomic():
            return self.ws.db["links"].insert(
                {"hr_id": str(hr_id), "kleer_id": int(kleer_id), "active": 1, "method": method,
                 "score": plain(score), "created_at": utcnow(), "created_by": analyst,
                 "batch_id": batch_id}).last_pk

    def end(self, *, hr_id: str | None = None, kleer_id: int | None = None,
            analyst: str | None, batch_id: str | None = None) -> dict[str, Any] | None:
        """End the active link of ``hr_id`` or ``kleer_id``; returns it (or None if there was none)."""
        with self.ws.atomic():
            row = self.of(hr_id=hr_id, kleer_id=kleer_id)
            if row is None:
                return None
            self.ws.conn.execute(
                "UPDATE links SET active = 0, ended_at = ?, ended_by = ?, ended_batch_id = ? WHERE id = ?",
                [utcnow(), analyst, batch_id, row["id"]])
            return row

    def active(self) -> pd.DataFrame:
        return self.ws.frame("SELECT * FROM links WHERE active = 1 ORDER BY id")

    def pairs(self) -> list[tuple[str, int]]:
        """Every active link as (hr_id, kleer_id)."""
        return [(r["hr_id"], int(r["kleer_id"]))
                for r in self.ws.query("SELECT hr_id, kleer_id FROM links WHERE active = 1")]

    def ended_pairs(self) -> set[tuple[str, int]]:
        """Every pair that was linked once and is not now, as (hr_id, kleer_id): the analyst
        unlinked it (or a revert ended it), so it is not proposed again by default."""
        return {(r["hr_id"], int(r["kleer_id"])) for r in self.ws.query(
            "SELECT DISTINCT hr_id, kleer_id FROM links WHERE active = 0 AND NOT EXISTS (SELECT 1 "
            "FROM links a WHERE a.active = 1 AND a.hr_id = links.hr_id AND a.kleer_id = links.kleer_id)")}

    def linked_hr_ids(self) -> set[str]:
        return {h for h, _ in self.pairs()}

    def of(self, *, hr_id: str | None = None, kleer_id: int | None = None) -> dict | None:
        """The active link of ``hr_id`` (else of ``kleer_id``), or None."""
        col, val = ("hr_id", str(hr_id)) if hr_id is not None else ("kleer_id", int(kleer_id))
        rows = self.ws.query(f"SELECT * FROM links WHERE active = 1 AND {col} = ?", [val])
        return rows[0] if rows else None

    def count(self) -> int:
        return self.ws.count("links", "WHERE active = 1")
