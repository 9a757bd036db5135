"""Settling an operation: its journal row, local effects (links, the snapshot row set aside for
a re-read) and audit row, in one transaction; and the re-read of written Kleer records at the end.

The snapshot follows the writes without a re-read per operation. Settling a remote operation
replaces its record's ``kleer_users`` row by the read it holds when it wrote nothing after that
read (an update found already applied), or else deletes the row in the same transaction; once
every operation has settled, one ``GET /user`` + ``GET /payroll/user`` puts back every record
whose row the journal says is missing (done or conflicting Kleer operations since the last
fetch), also those of an earlier apply that was interrupted before its re-read. Until then a
written record is absent, never stale: a plan built meanwhile blocks its operations with
"not in the snapshot; fetch Kleer again" instead of reporting a false conflict. A record written
again by another apply after the list was read (its audit row is newer than the read) is left for
that apply's own re-read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any

from ..errors import WorkbenchError
from ..kleer.mapping import from_kleer, records_from_kleer
from ..model import Operation, Plan
from ..store import Workspace, utcnow
from .claims import _Owner

KLEER_KINDS = ("kleer_create", "kleer_update")


@dataclass
class _Outcome:
    status: str
    reason: str | None = None
    answer: dict[str, Any] = field(default_factory=dict)
    kleer_id: int | None = None
    refresh: tuple[dict, dict | None] | None = None  # (user, contract) read after the last write
    wrote: bool = False  # Kleer was changed (the snapshot row no longer holds what Kleer has)


def _settle(ws: Workspace, plan: Plan, op: Operation, batch_id: str, me: _Owner | None,
            outcome: _Outcome, started: float, analyst: str | None) -> _Outcome:
    """Record how ``op`` ended, with its local effects and audit row, in one transaction.
    Returns the outcome as recorded (a link that cannot be made turns ``done`` into ``conflict``)."""
    with ws.atomic():
        row = ws.journal.row(plan.id, op.op_id)
        if me is not None and (row is None or row["owner"] != me.id or row["status"] != "pending"):
            return _Outcome("lost", "another apply took this operation over")
        kleer_id = outcome.kleer_id if outcome.kleer_id is not None else op.kleer_id
        if outcome.status == "done":
            problem = _link_problem(ws, op, kleer_id)
            if problem:
                outcome = replace(outcome, status="conflict", reason=problem,
                                  answer={**outcome.answer, "link": problem})
            else:
                _link_effect(ws, op, kleer_id, batch_id, analyst)
        if op.remote and kleer_id is not None and op.kind in KLEER_KINDS:  # not leave days
            _follow_snapshot(ws, int(kleer_id), outcome)
        values = {"status": outcome.status, "answer": outcome.answer,
                  "error": outcome.reason, "finished_at": utcnow(), "kleer_id": kleer_id,
                  "duration_ms": round((time.monotonic() - started) * 1000, 1),
                  "owner": None, "lease_until": None}
        if row is None:
            journal_id = ws.journal.insert({
                "plan_id": plan.id, "op_id": op.op_id, "batch_id": batch_id, "seq": op.seq,
                "kind": op.kind, "action": op.action, "hr_id": op.hr_id,
                "target": ",".join(op.targets), "before": op.before,
                "after": op.after, "attempts": 1, "started_at": values["finished_at"],
                **values})
        else:
            journal_id = row["id"]
            ws.journal.update(journal_id, values)
        # before/after are the journal row's (stored once, there): the audit row points at it
        ws.audit.append(event="operation", analyst=analyst, action=op.kind, hr_id=op.hr_id,
                        kleer_id=kleer_id, batch_id=batch_id, plan_id=plan.id, score=op.score,
                        journal_id=journal_id, result=outcome.status,
                        detail={"op_id": op.op_id, "decision": op.action, "reason": outcome.reason,
                                "answer": outcome.answer})
    return outcome


def _link_problem(ws: Workspace, op: Operation, kleer_id: int | None) -> str | None:
    """Why the operation's link cannot be created or ended as planned (None: it can)."""
    by_hr = ws.links.of(hr_id=op.hr_id) if op.hr_id is not None else None
    if op.link == "create":
        if by_hr and by_hr["kleer_id"] == kleer_id:
            return None
        if by_hr:
            return f"HR employee {op.hr_id} is now linked to Kleer user {by_hr['kleer_id']}"
        by_kleer = ws.links.of(kleer_id=kleer_id)
        if by_kleer:
            return f"Kleer user {kleer_id} is now linked to HR employee {by_kleer['hr_id']}"
    elif op.link == "end" and by_hr and by_hr["kleer_id"] != kleer_id:
        return f"HR employee {op.hr_id} is now linked to Kleer user {by_hr['kleer_id']}"
    return None


def _link_effect(ws: Workspace, op: Operation, kleer_id: int | None, batch_id: str,
                 analyst: str | None) -> None:
    """Create or end the operation's link (checked by :func:`_link_problem` first)."""
    current = ws.links.of(hr_id=op.hr_id) if op.hr_id is not None else None
    if op.link == "create" and current is None:
        ws.links.add(op.hr_id, kleer_id, analyst=analyst, method=op.method or op.action,
                    score=op.score, batch_id=batch_id)
    elif op.link == "end" and current is not None:
        ws.links.end(hr_id=op.hr_id, analyst=analyst, batch_id=batch_id)


def _follow_snapshot(ws: Workspace, kleer_id: int, outcome: _Outcome) -> None:
    """The snapshot row of a settled remote operation's record: the read the operation holds
    (nothing written after it), else deleted when Kleer was or may be changed, until the
    re-read at the end of the apply (:func:`_refresh_written`) puts it back."""
    if outcome.refresh is not None:
        ws.kleer.refresh([from_kleer(*outcome.refresh)])
    elif outcome.wrote or outcome.status == "done":
        ws.kleer.set_aside(kleer_id)


def _unrefreshed(ws: Workspace) -> list[int]:
    """Kleer records that Kleer operations settled (done, or written then in conflict) since
    the last fetch and whose snapshot row is still set aside for a re-read."""
    since = (ws.kleer.last_snapshot() or {}).get("fetched_at") or ""
    return ws.journal.written_not_reread(KLEER_KINDS, since)


def _refresh_written(ws: Workspace, client: Any) -> tuple[int, ...]:
    """Read back every record :func:`_unrefreshed` names with one list of users and one of
    contracts; returns those still not read back (Kleer unreachable, or no such user).

    A record that a Kleer operation settled after the lists were requested (an audit row newer
    than the mark) may have been written after they were read: it is left for the re-read of
    the apply that wrote it."""
    wanted = _unrefreshed(ws)
    if not wanted or client is None:
        return tuple(wanted)
    mark = ws.audit.last_id()
    try:
        users, contracts = client.list_users(), client.list_contracts()
    except WorkbenchError:
        return tuple(wanted)
    with ws.atomic():
        moved = ws.audit.kleer_written_since(mark, KLEER_KINDS)
        ids = set(wanted) & set(_unrefreshed(ws)) - moved
        records = records_from_kleer([u for u in users if int(u["id"]) in ids], contracts)
        ws.kleer.refresh(records)
    return tuple(sorted(ids - {r["kleer_id"] for r in records}))

