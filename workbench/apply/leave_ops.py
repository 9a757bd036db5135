"""Leave days in Kleer: create, update and delete one time-report event, exactly once.

Called from the apply's worker (:func:`workbench.apply.run._work`) once a leave operation's
journal row is claimed; settled through the same :func:`~workbench.apply.settle._settle`
(journal, audit, one transaction) as every other operation.

* **create** — ``PUT /event`` with the day's ``foreign-id`` (its key). When the day may already
  be in Kleer (the row was claimed before and its owner died, another plan's apply journaled
  the same day, a revert, or the answer to this create was lost), the events of that user and
  day are asked for that key first (:func:`~workbench.kleer.leave_client.find_events_by_key`):
  found, it is done without a second write. So a rerun or a crash never doubles a day.
* **update / delete** — the event is read again by its key (by its id, else the one event of
  that key when it holds what the plan expects: a day deleted and written again): gone, changed
  since the plan (it is
  neither as planned before nor as planned after), or on a day Kleer has locked → a
  ``conflict``, nothing written; already as planned after → done without a write.
* a write Kleer refuses on a locked day (Approved/Certified: "only Open days can be changed")
  is a ``conflict`` with Kleer's reason, never retried; any other refusal is ``failed``.
"""

from __future__ import annotations

import time
from datetime import date
from typing import Any, Mapping

from ..errors import KleerRejected, KleerUnavailable, WorkbenchError
from ..kleer import leave_client as lc
from ..leave import OP_CREATE, OP_UPDATE
from ..leave.diff import KleerEvent
from ..leave.expand import hours
from ..model import Operation, Plan
from ..planning_leave import LEAVE_KINDS, event_body
from ..store import Workspace
from .claims import _Claim, _Owner
from .settle import _Outcome, _settle

__all__ = ["LEAVE_KINDS", "run_leave"]


def run_leave(ws: Workspace, plan: Plan, op: Operation, batch_id: str, me: _Owner, client: Any,
              analyst: str | None, tries: int, claim: _Claim) -> str:
    """Run one claimed leave operation and settle it: 'ran', or 'final' when another apply
    took it over meanwhile."""
    started = time.monotonic()
    look_first = (claim.attempts > 0 or op.action == "revert"
                  or (op.kind == OP_CREATE and ws.leaves.create_tried(op.op_id, other_than_plan=plan.id)))
    uncertain: _Outcome | None = None
    for attempt in range(max(1, tries)):
        outcome = _remote(client, op, look_first or attempt > 0)
        may_have_landed = outcome.status == "failed" and outcome.answer.get("write_may_have_landed")
        uncertain = uncertain or (outcome if may_have_landed else None)
        if not may_have_landed:
            break
    if outcome.status == "failed" and uncertain is not None and outcome is not uncertain:
        outcome = _Outcome("failed", f"{uncertain.reason}; checking again failed: {outcome.reason}",
                           uncertain.answer)
    recorded = _settle(ws, plan, op, batch_id, me, outcome, started, analyst)
    return "final" if recorded.status == "lost" else "ran"


def _day(op: Operation) -> tuple[Mapping[str, Any], int, date, str]:
    flat = op.after if op.after.get("foreign_id") else op.before
    return flat, int(flat["user_id"]), date.fromisoformat(flat["date"]), flat["foreign_id"]


def _remote(client: Any, op: Operation, look_first: bool) -> _Outcome:
    flat, user_id, day, key = _day(op)
    try:
        if op.kind == OP_CREATE:
            return _create(client, op, user_id, day, key, look_first)
        return _change(client, op, user_id, day, key, look_first)
    except KleerUnavailable as e:
        return _Outcome("failed", str(e) + ("; re-run the apply: it looks for the day's key before "
                                            "it writes, so no day is written twice"
                                            if e.write_may_have_landed else ""),
                        {"status": e.status, "write_may_have_landed": e.write_may_have_landed})
    except KleerRejected as e:
        return _refused(client, user_id, day, e)
    except WorkbenchError as e:
        return _Outcome("failed", str(e), {"status": getattr(e, "status", None)})


def _refused(client: Any, user_id: int, day: date, e: KleerRejected) -> _Outcome:
    """A refused write: a conflict with Kleer's reason when the day is locked, else failed."""
    try:
        status = lc.event_statuses(client, user_id, day, day).get(day)
    except WorkbenchError:
        status = None
    if status is not None and not status.open:
        return _Outcome("conflict", f"{status.reason()}. Kleer answered: {e.message}",
                        {"status": e.status, "day_status": status.status})
    return _Outcome("failed", str(e), {"status": e.status})


def _create(client: Any, op: Operation, user_id: int, day: date, key: str,
            look_first: bool) -> _Outcome:
    if look_first:
        found = lc.find_events_by_key(client, user_id, day, key)
        if found:
            return _Outcome("done", answer={"event_id": found[0].id, "found": True})
    event_id = lc.create_event(client, event_body(op.after))
    return _Outcome("done", answer={"event_id": event_id, "created": True}, wrote=True)


def _same(event: KleerEvent, flat: Mapping[str, Any]) -> bool:
    return (event.user_id == int(flat["user_id"]) and event.activity_id == int(flat["activity_id"])
            and event.day.isoformat() == flat["date"] and event.hours == hours(flat["hours"])
            and event.comment == (flat.get("comment") or "")
            and (event.child or None) == (flat.get("child") or None))


def _change(client: Any, op: Operation, user_id: int, day: date, key: str,
            retried: bool) -> _Outcome:
    event_id = int(op.before["event_id"])
    held = lc.find_events_by_key(client, user_id, day, key)
    current = next((e for e in held if e.id == event_id), None)
    if current is None and len(held) == 1 and _same(held[0], op.before):
        current = held[0]  # the day (its key) written again as planned, under another event id
        event_id = current.id
    if current is None:
        if op.kind == OP_UPDATE:
            return _Outcome("conflict", f"event {event_id} ({key}) is no longer in Kleer: plan again",
                            {"event_id": event_id, "gone": True})
        if retried:  # this delete may have landed before its answer was lost (or its owner died)
            return _Outcome("done", answer={"event_id": event_id, "deleted": True, "found": True})
        return _Outcome("skipped", f"event {event_id} ({key}) is already gone from Kleer",
                        {"event_id": event_id, "gone": True})
    if op.kind == OP_UPDATE and _same(current, op.after):
        return _Outcome("done", answer={"event_id": event_id, "already_applied": True})
    if not _same(current, op.before):
        return _Outcome("conflict", f"event {event_id} ({key}) changed in Kleer since the plan "
                        f"(now {current.hours} h): not written; plan again",
                        {"event_id": event_id, "now": dict(current.doc)})
    if current.status is not None and not current.status.open:
        return _Outcome("conflict", current.status.reason(),
                        {"event_id": event_id, "day_status": current.status.status})
    if op.kind == OP_UPDATE:
        lc.update_event(client, event_id, event_body(op.after))
        return _Outcome("done", answer={"event_id": event_id, "updated": True}, wrote=True)
    lc.delete_event(client, event_id)
    return _Outcome("done", answer={"event_id": event_id, "deleted": True}, wrote=True)

