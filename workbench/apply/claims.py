"""Claims on journal rows: exactly once, also across processes.

A journal row is *claimed* in a ``BEGIN IMMEDIATE`` transaction: its ``owner`` (host:pid:random),
``owner_pid``, ``owner_host`` and a lease (``lease_until``, renewed by :class:`_Heartbeat` while
the apply runs). A second apply leaves a row alone while its owner lives (same host: the pid
exists; any host: the lease has not expired) and waits for it to settle; the row of an owner that
died (SIGKILL, power cut) is taken over. ``done``, ``conflict`` and ``skipped`` rows are final;
``failed`` and abandoned ``pending`` rows are run again by a re-run.
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
    state: str               # run | final | busy
    attempts: int = 0        # tries before this one (0: the first)
    tried_elsewhere: bool = False  # another plan's apply tried this create (see _tried_elsewhere)

    @property
    def recheck(self) -> bool:
        """Whether the Kleer user may have been created since the foreign-id list was read."""
        return self.attempts > 0 or self.tried_elsewhere


def _untakeable(row: Mapping[str, Any] | None, me: _Owner) -> _Claim | None:
    """'final' for a settled row, 'busy' for one a live apply holds, None when it can be taken."""
    if row is None:
        return None
    if row["status"] in FINAL:
        return _Claim("final", row["attempts"] or 0)
    if row["status"] == "pending" and row["owner"] != me.id \
            and _owner_alive(row, time.time()):
        return _Claim("busy", row["attempts"] or 0)
    return None


def _claim(ws: Workspace, plan: Plan, op: Operation, batch_id: str, me: _Owner,
           lease: float) -> _Claim:
    """Take the operation's journal row for ``me`` (committed before anything remote)."""
    seen = _untakeable(ws.journal.row(plan.id, op.op_id), me)
    if seen is not None:  # decided without taking the write lock (a waiting apply polls this)
        return seen
    with ws.atomic():
        row = ws.journal.row(plan.id, op.op_id)
        untakeable = _untakeable(row, me)
        if untakeable is not None:
            return untakeable
        now = time.time()
        claim = {"status": "pending", "owner": me.id, "owner_host": me.host, "owner_pid": me.pid,
                 "lease_until": now + lease, "started_at": utcnow(), "error": None,
                 "finished_at": None}
        # Whether another plan's apply has journaled a create of this HR employee's Kleer user
        # (inside the claim's write transaction, so a later claim sees an earlier one).
        elsewhere = op.kind == "kleer_create" and ws.journal.create_tried(op.hr_id, other_than_plan=plan.id)
        if row is None:
            ws.journal.insert({
                "plan_id": plan.id, "op_id": op.op_id, "batch_id": batch_id, "seq": op.seq,
                "kind": op.kind, "action": op.action, "hr_id": op.hr_id, "kleer_id": op.kleer_id,
                "target": ",".join(op.targets), "before": op.before,
                "after": op.after, "attempts": 1, **claim})
            return _Claim("run", 0, elsewhere)
        ws.journal.update(row["id"], {**claim, "attempts": (row["attempts"] or 0) + 1})
        return _Claim("run", row["attempts"] or 0, elsewhere)


class _Heartbeat:
    """Renews the lease of every pending row this apply owns until stopped."""

    def __init__(self, ws: Workspace, me: _Owner, lease: float):
        self.ws, self.me, self.lease = ws, me, lease
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="apply-heartbeat", daemon=True)

    def __enter__(self) -> "_Heartbeat":
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self.lease / 3):
            self.ws.journal.renew_leases(self.me.id, time.time() + self.lease)

