"""``suggestions``: ranked match candidates with their evidence, as the matcher left them."""

from __future__ import annotations

from typing import Any

import pandas as pd

from .base import Repository
from .values import from_json, plain, utcnow

COLUMNS = frozenset({"kleer_id", "hr_id", "rank", "score", "band", "assigned", "tie",
                     "contested", "namesake", "evidence"})


def _decoded(row: dict) -> dict:
    row["evidence"] = from_json(row.get("evidence"), [])
    return row


class Suggestions(Repository):
    table = "suggestions"

    def replace(self, frame: pd.DataFrame, *, run_id: str) -> None:
        now = utcnow()
        rows = []
        for rec in frame.to_dict("records"):
            row = {k: plain(v) for k, v in rec.items() if k in COLUMNS}
            row["run_id"], row["created_at"] = run_id, now
            rows.append(row)
        with self.ws.atomic():
            self.ws.conn.execute("DELETE FROM suggestions")
            if rows:
                self.ws.db["suggestions"].insert_all(rows, pk=("kleer_id", "hr_id"), alter=False,
                                                     batch_size=1000)

    def frame(self, *, kleer_id: int | None = None) -> pd.DataFrame:
        if kleer_id is None:
            df = self.ws.frame("SELECT * FROM suggestions ORDER BY kleer_id, rank")
        else:
            df = self.ws.frame("SELECT * FROM suggestions WHERE kleer_id = ? ORDER BY rank",
                               [int(kleer_id)])
        if len(df):
            df["evidence"] = df["evidence"].map(lambda s: from_json(s, []))
        return df

    def all(self, *, decode: bool = True) -> list[dict]:
        """Every suggestion, ordered by kleer_id and rank, its evidence decoded (``decode``
        False: left as its JSON text, for readers that decode only the few they show)."""
        rows = self.ws.query("SELECT * FROM suggestions ORDER BY kleer_id, rank")
        return [_decoded(s) for s in rows] if decode else rows

    def pair(self, kleer_id: int | None, hr_id: str | None) -> dict[str, Any] | None:
        """The stored suggestion of one pair (score, band, evidence decoded), or None."""
        if kleer_id is None or hr_id is None:
            return None
        rows = self.ws.query("SELECT * FROM suggestions WHERE kleer_id = ? AND hr_id = ?",
                             [int(kleer_id), str(hr_id)])
        return _decoded(rows[0]) if rows else None

    def assigned_to(self, *, hr_id: str | None = None, kleer_id: int | None = None) -> dict | None:
        """The assigned suggestion of a Kleer user (else of an HR employee), or None."""
        column, value = ("kleer_id", int(kleer_id)) if kleer_id is not None else ("hr_id", str(hr_id))
        rows = self.ws.query(f"SELECT * FROM suggestions WHERE {column} = ? AND assigned = 1", [value])
        return _decoded(rows[0]) if rows else None

    def count_subjects(self) -> int:
        return int(self.ws.query("SELECT count(DISTINCT kleer_id) AS n FROM suggestions")[0]["n"])

    def count_suggested_unlinked(self) -> int:
        """Unlinked Kleer users in the snapshot with an assigned suggestion."""
        return int(self.ws.query(
            "SELECT count(DISTINCT kleer_id) AS n FROM suggestions WHERE assigned = 1 "
            "AND kleer_id IN (SELECT kleer_id FROM kleer_users) AND kleer_id NOT IN "
            "(SELECT kleer_id FROM links WHERE active = 1)")[0]["n"])
