"""``decisions``: the analyst's current decision per subject (side + id), with who and when."""

from __future__ import annotations

from typing import Any, Mapping

import pandas as pd

from .base import Repository
from .values import from_json, plain, to_json, utcnow


def _decoded(row: dict) -> dict:
    if "overrides" in row:
        row["overrides"] = from_json(row["overrides"], {})
    if "evidence" in row:
        row["evidence"] = from_json(row["evidence"])
    return row


class Decisions(Repository):
    table = "decisions"

    def set(self, *, side: str, subject_id: str | int, action: str, analyst: str | None,
            hr_id: str | None = None, kleer_id: int | None = None,
            overrides: Mapping[str, str] | None = None, score: float | None = None,
            evidence: Any = None, prefer: str | None = None) -> dict[str, Any]:
        row = {"side": side, "subject_id": str(subject_id), "action": action,
               "hr_id": None if hr_id is None else str(hr_id),
               "kleer_id": None if kleer_id is None else int(kleer_id), "prefer": prefer,
               "overrides": to_json(dict(overrides or {})), "score": plain(score),
               "evidence": None if evidence is None else to_json(evidence),
               "analyst": analyst, "decided_at": utcnow()}
        with self.ws.atomic():
            self.ws.db["decisions"].upsert(row, pk=("side", "subject_id"))
        return row

    def clear(self, *, side: str, subject_id: str | int) -> None:
        with self.ws.atomic():
            self.ws.conn.execute("DELETE FROM decisions WHERE side = ? AND subject_id = ?",
                                 [side, str(subject_id)])

    def frame(self, side: str | None = None) -> pd.DataFrame:
        if side:
            df = self.ws.frame("SELECT * FROM decisions WHERE side = ? ORDER BY subject_id", [side])
        else:
            df = self.ws.frame("SELECT * FROM decisions ORDER BY side, subject_id")
        if len(df):
            df["overrides"] = df["overrides"].map(lambda s: from_json(s, {}))
        return df

    def saved(self, side: str) -> dict[str, dict]:
        """The saved decisions of ``side`` by subject id (overrides and evidence decoded)."""
        return {r["subject_id"]: _decoded(r)
                for r in self.ws.query("SELECT * FROM decisions WHERE side = ?", [side])}

    def current(self) -> dict[tuple[str, str], dict]:
        """Every saved decision's choice by (side, subject id): what an audit row calls before."""
        return {(r["side"], r["subject_id"]): _decoded(r) for r in self.ws.query(
            "SELECT side, subject_id, action, hr_id, kleer_id, prefer, overrides FROM decisions")}

    def matched_hr(self, kleer_id: int) -> str | None:
        """The HR employee a saved import decision links ``kleer_id`` to, or None."""
        rows = self.ws.query("SELECT hr_id FROM decisions WHERE side = 'import' AND subject_id = ? "
                             "AND action IN ('prefer_hr', 'prefer_kleer', 'match_manually')",
                             [str(kleer_id)])
        return rows[0]["hr_id"] if rows else None
