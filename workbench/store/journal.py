"""``journal``: one row per operation of an applied plan, ``pending`` → done|failed|conflict|skipped.

It holds each write's before/after (the one place they are stored: audit rows point here by
``journal_id``), Kleer's answer, and the claim (owner, lease) a running apply holds on a row;
for a create also when it was sent (``write_started``, epoch seconds) and the personnummer it
creates (``ssn_key``, 12 digits), so a later apply can tell whether a create may still land.

``subject_claims`` (:class:`SubjectClaims`): one row per employee an apply is working on
(``hr:<hr_id>``, ``kleer:<user id>``, ``ssn:<12 digits>``), naming the journal row and its
owner: one live claim per employee across every plan and process.
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
        """Extend the lease of every pending row ``owner`` holds, and of its subject claims."""
        with self.ws.atomic():
            self.ws.conn.execute("UPDATE journal SET lease_until = ? WHERE owner = ? AND status = 'pending'",
                                 [until, owner])
            self.ws.conn.execute("UPDATE subject_claims SET lease_until = ? WHERE owner = ?",
                                 [until, owner])

    def mark_write_started(self, row_id: int, at: float, ssn_key: str | None) -> None:
        """Record that the create of row ``row_id`` is being sent now (before it is sent)."""
        with self.ws.atomic():
            self.ws.conn.execute("UPDATE journal SET write_started = ?, ssn_key = ? WHERE id = ?",
                                 [at, ssn_key, int(row_id)])

    def create_attempts(self, hr_id: str | None, ssn_key: str | None) -> list[dict]:
        """Every journaled create (any plan) of this HR employee or of this personnummer that
        was sent (``write_started``), newest first, with its plan, batch, status and answer."""
        rows = self.ws.query(
            "SELECT id, plan_id, op_id, batch_id, hr_id, kleer_id, status, answer, error, "
            "write_started, ssn_key FROM journal WHERE kind = 'kleer_create' "
            "AND write_started IS NOT NULL AND (hr_id = ? OR (ssn_key IS NOT NULL AND ssn_key = ?)) "
            "ORDER BY write_started DESC", [hr_id, ssn_key])
        return [_decoded(r) for r in rows]

    def done_elsewhere(self, kinds: Iterable[str], hr_id: str | None, *, other_than_plan: str
                       ) -> list[dict]:
        """Done rows of ``kinds`` for ``hr_id`` in other plans, newest first."""
        kinds = list(kinds)
        rows = self.ws.query(
            f"SELECT id, plan_id, op_id, batch_id, hr_id, kleer_id, kind, status, answer, finished_at "
            f"FROM journal WHERE kind IN ({','.join('?' * len(kinds))}) AND hr_id = ? "
            "AND plan_id != ? AND status = 'done' ORDER BY id DESC",
            [*kinds, hr_id, other_than_plan])
        return [_decoded(r) for r in rows]

    def created_by_batch(self, batch_id: str, *, since: str = "") -> list[dict]:
        """The done creates of ``batch_id`` settled at ``since`` or later (hr_id, kleer_id,
        after, answer, ssn_key)."""
        return [_decoded(r) for r in self.ws.query(
            "SELECT id, op_id, hr_id, kleer_id, after, answer, ssn_key, finished_at FROM journal "
            "WHERE batch_id = ? AND kind = 'kleer_create' AND status = 'done' "
            "AND finished_at >= ? ORDER BY id", [batch_id, since])]

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

    def status_counts(self, plan_id: str) -> tuple[dict[str, int], float]:
        """How many rows of a plan are in each status, and the latest lease a pending row holds
        (0 when none): what a running apply's progress is read from."""
        rows = self.ws.query("SELECT status, count(*) AS n, max(CASE WHEN status = 'pending' "
                             "THEN lease_until END) AS lease FROM journal WHERE plan_id = ? "
                             "GROUP BY status", [plan_id])
        lease = max((r["lease"] or 0 for r in rows), default=0)
        return {r["status"]: int(r["n"]) for r in rows}, float(lease)

    def settled_subjects(self, side: str) -> dict[str, int]:
        """The subjects of ``side`` whose operations last ended done, each with the audit id of
        that settlement (audit ids order events exactly; timestamps have only seconds). An
        operation id is ``<side>:<subject>:<kind>``; reverts are ``revert:…`` and not counted.
        A subject with a failed or conflicting operation settled after its last done one is
        left out: it still has work."""
        rows = self.ws.query(
            "SELECT j.op_id, j.status, max(a.id) AS mark FROM journal j JOIN audit a ON "
            "a.journal_id = j.id WHERE j.op_id LIKE ? AND j.status IN ('done', 'failed', 'conflict') "
            "GROUP BY j.op_id, j.status", [f"{side}:%"])
        done: dict[str, int] = {}
        bad: dict[str, int] = {}
        for r in rows:
            subject = r["op_id"][len(side) + 1:r["op_id"].rfind(":")]
            into = done if r["status"] == "done" else bad
            into[subject] = max(into.get(subject, 0), int(r["mark"]))
        return {s: mark for s, mark in done.items() if bad.get(s, 0) < mark}

    def subjects_by_batch(self) -> pd.DataFrame:
        """Every row's batch and employee ids, in journal order (who a batch touched)."""
        return self.ws.frame("SELECT batch_id, hr_id, kleer_id FROM journal ORDER BY id")


class SubjectClaims(Repository):
    """``subject_claims``: the employee an apply is working on, one live claim per subject.

    Read and written inside the claiming apply's ``BEGIN IMMEDIATE`` transaction (see
    :mod:`workbench.apply.claims`), so two applies never both hold one subject."""

    table = "subject_claims"

    def of(self, subjects: Iterable[str]) -> dict[str, dict]:
        subjects = list(subjects)
        if not subjects:
            return {}
        return {r["subject"]: r for r in self.ws.query(
            f"SELECT * FROM subject_claims WHERE subject IN ({','.join('?' * len(subjects))})",
            subjects)}

    def take(self, subjects: Iterable[str], values: Mapping[str, Any]) -> None:
        """Claim ``subjects`` for the journal row and owner in ``values`` (replacing any claim
        the caller has decided may be taken: its own, or a dead owner's)."""
        self.ws.db["subject_claims"].upsert_all(
            [{"subject": s, **{k: plain(v) for k, v in values.items()}} for s in subjects],
            pk="subject")

    def release(self, owner: str, plan_id: str, op_id: str) -> None:
        """Drop the claims ``owner`` holds for one journal row."""
        self.ws.conn.execute("DELETE FROM subject_claims WHERE owner = ? AND plan_id = ? AND op_id = ?",
                             [owner, plan_id, op_id])

    def release_owner(self, owner: str) -> None:
        """Drop every claim ``owner`` still holds (an apply that ends)."""
        with self.ws.atomic():
            self.ws.conn.execute("DELETE FROM subject_claims WHERE owner = ?", [owner])

    def held(self) -> list[dict]:
        return self.ws.query("SELECT * FROM subject_claims ORDER BY subject")
