"""``batches``: one row per apply or revert (its plan, who, when, status, counts).

The limiter's summary of a batch (its concurrency: mode, level, peak, changes, 429/503 counts)
is kept in the ``counts`` JSON under ``"concurrency"`` (no column of its own) and read back
as a ``concurrency`` value of its own: ``counts`` reads as the counts per status only."""

from __future__ import annotations

from typing import Any, Mapping

import pandas as pd

from ..errors import PlanError
from .base import Repository
from .values import from_json, to_json, utcnow


class Batches(Repository):
    table = "batches"

    def open(self, batch_id: str, *, plan_id: str, kind: str, analyst: str | None,
             reverts: str | None, plan_json: str, heartbeat_until: float | None = None) -> None:
        """Create the batch (a re-run of the same plan finds it) and mark it running, alive
        until ``heartbeat_until`` (epoch seconds; None: no heartbeat, it reads as interrupted
        unless a journal lease says otherwise) unless :meth:`beat` renews it."""
        with self.ws.atomic():
            self.ws.conn.execute(
                "INSERT OR IGNORE INTO batches (id, plan_id, kind, analyst, started_at, status, reverts, plan) "
                "VALUES (?, ?, ?, ?, ?, 'running', ?, ?)",
                [batch_id, plan_id, kind, analyst, utcnow(), reverts, plan_json])
            self.ws.conn.execute("UPDATE batches SET status = 'running', finished_at = NULL, "
                                 "heartbeat_until = ? WHERE id = ?", [heartbeat_until, batch_id])

    def beat(self, batch_id: str, until: float) -> None:
        """The running batch's apply is alive until ``until`` (epoch seconds)."""
        with self.ws.atomic():
            self.ws.conn.execute("UPDATE batches SET heartbeat_until = ? WHERE id = ? AND "
                                 "status = 'running'", [float(until), batch_id])

    def close(self, batch_id: str, *, status: str, counts: Mapping[str, int],
              concurrency: Mapping[str, Any] | None = None) -> None:
        kept = {**counts, _CONCURRENCY: dict(concurrency)} if concurrency else dict(counts)
        with self.ws.atomic():
            self.ws.conn.execute("UPDATE batches SET status = ?, finished_at = ?, counts = ? WHERE id = ?",
                                 [status, utcnow(), to_json(kept), batch_id])

    def get(self, batch_id: str) -> dict[str, Any]:
        """The batch, its counts decoded; :class:`PlanError` naming recent batches when unknown."""
        rows = self.ws.query("SELECT * FROM batches WHERE id = ?", [batch_id])
        if not rows:
            known = [r["id"] for r in self.ws.query("SELECT id FROM batches ORDER BY started_at DESC LIMIT 5")]
            raise PlanError(f"no batch {batch_id!r} in this workspace"
                            + (f"; recent batches: {', '.join(known)}" if known else ""))
        row = rows[0]
        row["counts"], row["concurrency"] = _split(row["counts"])
        return row

    def frame(self) -> pd.DataFrame:
        """Every apply and revert, newest first, with its counts decoded."""
        frame = self.ws.frame("SELECT id, plan_id, kind, analyst, started_at, finished_at, status, "
                              "counts, reverts FROM batches ORDER BY started_at DESC, rowid DESC")
        split = [_split(text) for text in frame["counts"]]
        frame["counts"] = pd.Series([counts for counts, _ in split], index=frame.index, dtype=object)
        frame["concurrency"] = pd.Series([level for _, level in split], index=frame.index,
                                         dtype=object)
        return frame

    def running(self) -> list[dict[str, Any]]:
        """The batches marked running (an apply under way, or one whose process died), oldest
        first, without their plan."""
        return self.ws.query("SELECT id, plan_id, kind, analyst, started_at, status, reverts "
                             "FROM batches WHERE status = 'running' ORDER BY started_at, rowid")

    def plan_json(self, batch_id: str) -> str | None:
        """The plan a batch runs (stored without field changes), as JSON."""
        rows = self.ws.query("SELECT plan FROM batches WHERE id = ?", [batch_id])
        return rows[0]["plan"] if rows else None

    def sides(self) -> dict[str, str | None]:
        """Each batch's side (``import`` | ``export``) from its plan."""
        return {r["id"]: r["side"] for r in self.ws.query(
            "SELECT id, json_extract(plan, '$.side') AS side FROM batches")}


_CONCURRENCY = "concurrency"


def _split(text: Any) -> tuple[dict[str, int], dict[str, Any] | None]:
    """The counts JSON as (counts per status, the concurrency summary or None)."""
    counts = from_json(text, {})
    if not isinstance(counts, dict):
        return {}, None
    level = counts.pop(_CONCURRENCY, None)
    return counts, level if isinstance(level, dict) else None
