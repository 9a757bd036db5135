"""Claims on journal rows and on employees: exactly once, also across plans and processes.

A journal row is *claimed* in a ``BEGIN IMMEDIATE`` transaction: its ``owner`` (host:pid:random),
``owner_pid``, ``owner_host`` and a lease (``lease_until``, renewed by :class:`_Heartbeat` while
the apply runs). A second apply leaves a row alone while its owner lives (same host: the pid
exists; any host: the lease has not expired) and waits for it to settle; the row of an owner that
died (SIGKILL, power cut) is taken over. ``done``, ``conflict`` and ``skipped`` rows are final;
``failed`` and abandoned ``pending`` rows are run again by a re-run.

In the same transaction the operation's *subjects* (:func:`subjects`: its HR employee, its Kleer
user, the personnummer a create gives) are claimed in ``subject_claims``: while a live apply of
any plan holds one of them, the operation is ``busy`` and waits (the apply bounds the wait); a
dead owner's subject claims are taken over like its rows. A create that another plan already
did (and whose link still stands) is not run: ``elsewhere``, "already done by batch …". A
create whose earlier attempt may still land (its apply died with it in flight, or its answer
was lost) carries ``uncertain_since`` so the create waits out a slow write before it looks.
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any, Mapping

from ..model import FINAL, Operation, Plan
from ..duplicates import ssn_key
from ..planning_leave import LEAVE_KINDS
from ..store import Workspace, utcnow

LEASE_SECONDS = 30.0
_HOST = socket.gethostname()


@dataclass(frozen=True)
class _Owner:
    id: str
    host: str
    pid: int

    @classmethod
    def new(cls) -> "_Owner":
        return cls(f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex[:8]}", _HOST, os.getpid())


def _pid_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _owner_alive(row: Mapping[str, Any], now: float) -> bool:
    """A claim holds while its lease runs and (on this host) its process exists."""
    if not row.get("owner") or (row.get("lease_until") or 0) < now:
        return False
    if row.get("owner_host") == _HOST:
        return _pid_alive(row.get("owner_pid"))
    return True


@dataclass(frozen=True)
class _Claim:
    state: str               # run | final | busy | elsewhere (claimed, but done by another plan)
    attempts: int = 0        # tries before this one (0: the first)
    tried_elsewhere: bool = False  # a create of this employee was journaled by another row
    holder: Mapping[str, Any] | None = None   # busy: the claim (or journal row) in the way
    reason: str | None = None                 # elsewhere: "already done by batch …"
    kleer_id: int | None = None               # elsewhere: the Kleer user it was done on
    claimed_at: float = 0.0                   # when the claim was taken (epoch seconds)
    uncertain_since: float | None = None      # a create that may still land was sent then
    ssn: str | None = None                    # the personnummer a create makes (12 digits)
    row_id: int | None = None                 # the journal row claimed

    @property
    def recheck(self) -> bool:
        """Whether the Kleer user may have been created since the foreign-id list was read."""
        return self.attempts > 0 or self.tried_elsewhere or self.uncertain_since is not None


def subjects(op: Operation) -> tuple[str, ...]:
    """The employees an operation works on: its HR employee, its Kleer user and, for a create,
    the personnummer it gives a Kleer user. One live claim per subject across all plans.
    Leave days claim none: each is one Kleer event kept exactly once by its own key, and an
    employee's days run side by side."""
    if op.kind in LEAVE_KINDS:
        return ()
    out = []
    if op.hr_id is not None:
        out.append(f"hr:{op.hr_id}")
    if op.kleer_id is not None:
        out.append(f"kleer:{int(op.kleer_id)}")
    key = ssn_key(op.after.get("ssn")) if op.kind == "kleer_create" else None
    if key:
        out.append(f"ssn:{key}")
    return tuple(out)


def _untakeable(row: Mapping[str, Any] | None, me: _Owner) -> _Claim | None:
    """'final' for a settled row, 'busy' for one a live apply holds, None when it can be taken."""
    if row is None:
        return None
    if row["status"] in FINAL:
        return _Claim("final", row["attempts"] or 0)
    if row["status"] == "pending" and row["owner"] != me.id \
            and _owner_alive(row, time.time()):
        return _Claim("busy", row["attempts"] or 0, holder=row)
    return None


def _in_the_way(ws: Workspace, plan: Plan, op: Operation, me: _Owner) -> Mapping[str, Any] | None:
    """A live claim of another journal row on one of the operation's subjects, else None."""
    now = time.time()
    for claim in ws.subjects.of(subjects(op)).values():
        mine = claim["plan_id"] == plan.id and claim["op_id"] == op.op_id
        if not mine and _owner_alive(claim, now):
            return claim
    return None


def _done_elsewhere(ws: Workspace, plan: Plan, op: Operation) -> tuple[str, int] | None:
    """(reason, Kleer id) when another plan's apply already did what ``op`` would do and its
    effect still stands: the same HR employee created (or its foreign-id written) and linked to
    that user now."""
    if op.kind not in ("kleer_create", "kleer_link") or op.hr_id is None:
        return None
    link = ws.links.of(hr_id=op.hr_id)
    for row in ws.journal.done_elsewhere([op.kind], op.hr_id, other_than_plan=plan.id):
        kid = row["kleer_id"]
        if kid is None or not link or int(link["kleer_id"]) != int(kid):
            continue
        if op.kind == "kleer_link" and int(kid) != int(op.kleer_id):
            continue
        return f"already done by batch {row['batch_id']} (Kleer user {kid})", int(kid)
    return None


def _uncertain_since(attempts: list[Mapping[str, Any]], plan: Plan, op: Operation) -> float | None:
    """When the newest create of this employee that may still land was sent: one whose apply
    died while it was in flight (pending), or whose answer was lost (failed, may have landed)."""
    times = []
    for a in attempts:
        answer = a.get("answer") or {}
        if a["status"] == "pending" or (a["status"] == "failed" and answer.get("write_may_have_landed")):
            times.append(float(a["write_started"]))
    return max(times) if times else None


def _claim(ws: Workspace, plan: Plan, op: Operation, batch_id: str, me: _Owner,
           lease: float) -> _Claim:
    """Take the operation's journal row and its subjects for ``me`` (committed before anything
    remote), or say why not: 'final' (settled), 'busy' (a live apply holds the row or one of
    its employees: wait), 'elsewhere' (claimed, but another plan already did it)."""
    seen = _untakeable(ws.journal.row(plan.id, op.op_id), me)
    if seen is not None:  # decided without taking the write lock (a waiting apply polls this)
        return seen
    holder = _in_the_way(ws, plan, op, me)
    if holder is not None:  # likewise
        return _Claim("busy", holder=holder)
    with ws.atomic():
        row = ws.journal.row(plan.id, op.op_id)
        untakeable = _untakeable(row, me)
        if untakeable is not None:
            return untakeable
        holder = _in_the_way(ws, plan, op, me)
        if holder is not None:
            return _Claim("busy", (row or {}).get("attempts") or 0, holder=holder)
        now = time.time()
        claim = {"status": "pending", "owner": me.id, "owner_host": me.host, "owner_pid": me.pid,
                 "lease_until": now + lease, "started_at": utcnow(), "error": None,
                 "finished_at": None}
        ws.subjects.take(subjects(op), {"plan_id": plan.id, "op_id": op.op_id,
                                        "batch_id": batch_id, "owner": me.id,
                                        "owner_host": me.host, "owner_pid": me.pid,
                                        "lease_until": now + lease, "claimed_at": utcnow()})
        key = ssn_key(op.after.get("ssn")) if op.kind == "kleer_create" else None
        # Whether another journal row has tried to create this employee (inside the claim's
        # write transaction, so a later claim sees an earlier one), and whether one of those
        # creates may still land (sent, then its apply died or its answer was lost).
        attempts = ws.journal.create_attempts(op.hr_id, key) if op.kind == "kleer_create" else []
        elsewhere = op.kind == "kleer_create" and (
            ws.journal.create_tried(op.hr_id, other_than_plan=plan.id) or bool(attempts))
        uncertain = _uncertain_since(attempts, plan, op)
        tries = (row["attempts"] or 0) if row is not None else 0
        if row is None:
            row_id = ws.journal.insert({
                "plan_id": plan.id, "op_id": op.op_id, "batch_id": batch_id, "seq": op.seq,
                "kind": op.kind, "action": op.action, "hr_id": op.hr_id, "kleer_id": op.kleer_id,
                "target": ",".join(op.targets), "before": op.before, "ssn_key": key,
                "after": op.after, "attempts": 1, **claim})
        else:
            row_id = row["id"]
            ws.journal.update(row_id, {**claim, "attempts": tries + 1})
        done = _done_elsewhere(ws, plan, op)
        if done is not None:
            return _Claim("elsewhere", tries, reason=done[0], kleer_id=done[1], row_id=row_id)
        return _Claim("run", tries, elsewhere, claimed_at=now, uncertain_since=uncertain,
                      ssn=key, row_id=row_id)


def holder_text(holder: Mapping[str, Any] | None) -> str:
    """Who holds an employee, in words (for the reason of an operation that gave up waiting)."""
    if not holder:
        return "another apply"
    batch = holder.get("batch_id")
    return f"another apply (batch {batch}, operation {holder.get('op_id')})" if batch else "another apply"


class _Renewer:
    """A daemon thread that calls :meth:`renew` every ``lease / 3`` seconds until stopped."""

    name = "renewer"

    def __init__(self, lease: float):
        self.lease = lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)

    def __enter__(self) -> "_Renewer":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.lease / 3):
            self.renew()

    def renew(self) -> None:
        raise NotImplementedError


class _Heartbeat(_Renewer):
    """Renews the lease of every pending row this apply owns until stopped."""

    name = "apply-heartbeat"

    def __init__(self, ws: Workspace, me: _Owner, lease: float):
        super().__init__(lease)
        self.ws, self.me = ws, me

    def renew(self) -> None:
        self.ws.journal.renew_leases(self.me.id, time.time() + self.lease)


class _BatchHeartbeat(_Renewer):
    """Renews a running batch's heartbeat (``batches.heartbeat_until``) every ``lease / 3``
    seconds until stopped: what tells every reader, in any process, that the batch's apply is
    alive, from the batch's opening to its closing (the journal leases cover only the rows
    still pending, not the read-back after the last one settled)."""

    name = "batch-heartbeat"

    def __init__(self, ws: Workspace, batch_id: str, lease: float):
        super().__init__(lease)
        self.ws, self.batch_id = ws, batch_id

    def renew(self) -> None:
        try:
            self.ws.batches.beat(self.batch_id, time.time() + self.lease)
        except Exception:  # noqa: BLE001 - a busy file skips one beat; the next one renews
            pass
