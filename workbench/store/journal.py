"""``journal``: one row per operation of an applied plan, ``pending`` → done|failed|conflict|skipped.

It holds each write's before/after (the one place they are stored: audit rows point here by
``journal_id``), Kleer's answer, and the claim (owner, lease) a running apply holds on a row.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import pandas as pd

from .base import Repository
from .values import from_json, plain, to_json

_JSON = ("before", "after", "answer")


def _decoded(row: dict) -> dict:
    for column in _JSON:
        if column in row:
            row[column] = from_json(row[column])
    return row


def _encoded(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: (to_json(v) if k in _JSON and v is not None else plain(v)) for k, v in values.items()}


class Journal(Repository):
    table = "journal"

    def row(self, plan_id: str, op_id: str) -> dict | None:
        rows = self.ws.query("SELECT * FROM journal WHERE plan_id = ? AND op_id = ?", [plan_id, op_id])
        return _decoded(rows[0]) if rows else None

    def insert(self, values: Mapping[str, Any]) -> int:
        """A new row (before/after/answer given as values, stored as JSON); returns its id."""
        return self.ws.db["journal"].insert(_encoded(values)).last_pk

    def update(self, row_id: int, values: Mapping[str, Any]) -> None:
        self.ws.db["journal"].update(row_id, _encoded(values))

    def create_tried(self, hr_id: str | None, *, other_than_plan: str) -> bool:
        """Whether another plan's apply has journaled a create of this HR employee's Kleer user."""
        return bool(self.ws.query("SELECT 1 FROM journal WHERE kind = 'kleer_create' AND hr_id = ? "
                                  "AND plan_id != ? AND status != 'skipped' LIMIT 1",
                                  [hr_id, other_than_plan]))

    def renew_leases(self, owner: str, until: float) -> None:
        """Extend the lease of every pending row ``owner`` holds."""
        with self.ws.atomic():
            self.ws.conn.execute("UPDATE journal SET lease_until = ? WHERE owner = ? AND status = 'pending'",
                                 [until, owner])

    def of_plan(self, plan_id: str) -> dict[str, dict]:
        """The rows of a plan by op id."""
        return {r["op_id"]: _decoded(r)
                for r in self.ws.query("SELECT * FROM journal WHERE plan_id = ?", [plan_id])}

    def of_batch(self, batch_id: str) -> list[dict]:
        """The rows of a batch, last first (the order a revert undoes them in)."""
        return [_decoded(r) for r in self.ws.query(
            "SELECT * FROM journal WHERE batch_id = ? ORDER BY seq DESC, id DESC", [batch_id])]

    def written_not_reread(self, kinds: Iterable[str], since: str) -> list[int]:
        """Kleer records that operations of ``kinds`` settled (done, or written then in conflict)
        since ``since`` and whose snapshot row is still set aside for a re-read."""
        kinds = list(kinds)
        rows = self.ws.query(
            f"SELECT DISTINCT kleer_id FROM journal WHERE kind IN ({','.join('?' * len(kinds))}) "
            "AND status IN ('done', 'conflict') AND kleer_id IS NOT NULL AND finished_at >= ? "
            "AND kleer_id NOT IN (SELECT kleer_id FROM kleer_users) ORDER BY kleer_id",
            [*kinds, since])
        return [int(r["kleer_id"]) for r in rows]

    def settled_frame(self) -> pd.DataFrame:
        """Every row's subject, batch, status and error, in journal order (the Overview's input)."""
        return self.ws.frame("SELECT id, batch_id, hr_id, kleer_id, kind, status, error, finished_at "
                             "FROM journal ORDER BY id")

    def changes(self, ids: Iterable[int]) -> dict[int, tuple[Any, Any]]:
        """(before, after) of the rows ``ids`` (what an audit row of an operation refers to)."""
        ids = [int(i) for i in ids]
        out: dict[int, tuple[Any, Any]] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start:start + 500]
            for r in self.ws.query(f"SELECT id, before, after FROM journal WHERE id IN "
                                   f"({','.join('?' * len(chunk))})", chunk):
                out[int(r["id"])] = (from_json(r["before"]), from_json(r["after"]))
        return out

    def hr_writes(self, *, batch_id: str | None = None, since: str | None = None) -> list[dict]:
        """The done operations that wrote the HR register (``hr_create``, ``hr_update``,
        ``hr_delete``), of one batch or finished at or after ``since`` (ISO UTC text), in
        journal order; before/after decoded."""
        sql = ("SELECT id, batch_id, kind, action, hr_id, kleer_id, before, after, finished_at "
               "FROM journal WHERE status = 'done' AND kind IN ('hr_create', 'hr_update', 'hr_delete')")
        params: list[Any] = []
        if batch_id is not None:
            sql += " AND batch_id = ?"
            params.append(batch_id)
        if since is not None:
            sql += " AND finished_at >= ?"
            params.append(since)
        return [_decoded(r) for r in self.ws.query(sql + " ORDER BY id", params)]
