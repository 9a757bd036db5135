"""Apply a Plan, exactly and only once per operation; revert a batch. The one place that writes.

:func:`apply` executes a :class:`~workbench.plan.Plan`:

* a ``batches`` row per plan (``batch-<plan hex>``; a re-run of the same plan continues it);
* per operation a ``journal`` row, ``pending`` and committed before any remote call, then
  settled ``done | failed | conflict | skipped`` with Kleer's answer and the time taken, in one
  local transaction together with the operation's local effects (links, HR register, the
  snapshot record set aside for a re-read) and its audit row;
* an update first re-reads the Kleer user + contract: a fingerprint that differs from the plan's
  is a ``conflict`` (nothing written; the snapshot and the current values are reported);
* a create first looks up ``foreign-id``: an existing user is linked, not created again (and
  given its payroll contract when it has none), so a create whose answer was lost, or a crash
  after it, never makes a duplicate. The lookup is one ``GET /user`` (not paged) for all the
  plan's creates, read when the first create needs it and again once it is older than
  ``FOREIGN_ID_MAX_AGE`` seconds; ``GET /user/foreign-id/{hr_id}`` asks again, right before
  the create, for every operation that may have been written by someone else since that list
  was read: one tried before (its journal row existed when it was claimed: a re-run, a row
  taken over from a dead apply, a retry after a lost answer) and one another plan's apply has
  tried (a journal row of a create for the same HR employee; claims are taken in write
  transactions, so of two applies the later one always sees the earlier one's row);
* blocked operations are journaled ``skipped`` with their blockers, never executed.

The snapshot follows the writes without a re-read per operation. Settling a remote operation
replaces its record's ``kleer_users`` row by the read it holds when it wrote nothing after that
read (an update found already applied), or else deletes the row in the same transaction; once
every operation has settled, one ``GET /user`` + ``GET /payroll/user`` puts back every record
whose row the journal says is missing (done or conflicting Kleer operations since the last
fetch), also those of an earlier apply that was interrupted before its re-read. Until then a
written record is absent, never stale: a plan built meanwhile blocks its operations with
"not in the snapshot; fetch Kleer again" instead of reporting a false conflict, and the next
apply or ``fetch_kleer`` settles it. A record written again by another apply after the list was
read (its audit row is newer than the read) is left for that apply's own re-read.
:attr:`ApplyResult.unrefreshed` names the records still waiting (Kleer unreachable at the end).

Exactly once, also across processes. A journal row is *claimed* in a ``BEGIN IMMEDIATE``
transaction: its ``owner`` (host:pid:random), ``owner_pid``, ``owner_host`` and a lease
(``lease_until``, renewed by a heartbeat while the apply runs). A second apply leaves a row alone
while its owner lives (same host: the pid exists; any host: the lease has not expired) and waits
for it to settle; the row of an owner that died (SIGKILL, power cut) is taken over. A taken-over
or retried operation starts again from its check (foreign-id lookup; re-read), and an update
whose every field is either still as planned *before* or already as planned *after* finishes
what is left: nothing is done twice. ``done``, ``conflict`` and ``skipped`` rows are final;
``failed`` and abandoned ``pending`` rows are run again by a re-run.

Remote calls run on a bounded thread pool (``concurrency``, default 4); workspace writes are
serialised by the workspace's lock. ``on_progress(done, total, op)`` is called in the calling
thread once per operation.

:func:`revert_plan` builds the plan that undoes a batch from the journal's before-images (a
preview); :func:`revert` runs it through :func:`apply`: updates written back, Kleer users the
batch created deactivated (``active: false``; Kleer has no delete), HR employees it created
removed, links it made ended and links it ended restored.
"""

from __future__ import annotations

import json
import math
import os
import socket
import threading
import time
import uuid
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd

from .errors import InputError, KleerUnavailable, PlanError, WorkbenchError
from .export import to_csv_bytes, to_json_bytes
from .fields import FIELD, diff, email_field, mask
from .kleer.mapping import fingerprint as kleer_fingerprint
from .kleer.mapping import from_kleer, records_from_kleer, to_kleer
from .plan import FieldChange, Operation, Plan
from .store import Workspace, to_json, utcnow

__all__ = [
    "apply",
    "revert",
    "revert_plan",
    "batch_id_for",
    "ApplyResult",
    "OpOutcome",
    "mask_json",
    "audit_frame",
    "export_audit",
    "batches_frame",
    "AUDIT_FORMATS",
    "STATUSES",
    "LEASE_SECONDS",
    "FOREIGN_ID_MAX_AGE",
]

STATUSES = ("pending", "done", "failed", "conflict", "skipped")
FINAL = ("done", "conflict", "skipped")
LEASE_SECONDS = 30.0
#: Seconds a create trusts the foreign-id list (one ``GET /user``) before it is read again.
FOREIGN_ID_MAX_AGE = 10.0
_KLEER_KINDS = ("kleer_create", "kleer_update")
_POLL_SECONDS = 0.1
_HOST = socket.gethostname()

Progress = Callable[[int, int, Operation], None]
Lookup = Callable[[str], "dict | None"]  # foreign-id -> the Kleer user carrying it, or None


# =========================================================================== results

@dataclass(frozen=True)
class OpOutcome:
    """How one operation ended (for the failed and conflicting ones of an :class:`ApplyResult`)."""

    op_id: str
    kind: str
    hr_id: str | None
    kleer_id: int | None
    status: str
    reason: str | None
    answer: Any = field(default=None, repr=False)  # Kleer's answer may hold a personnummer
    attempts: int = 0


@dataclass(frozen=True)
class ApplyResult:
    """What an apply (or revert) left: counts per status over the whole plan, and the failed and
    conflicting operations with their reasons. ``ran_here`` counts the operations this call
    executed itself (a concurrent apply may have done the others). ``unrefreshed``: Kleer
    records written but not read back into the snapshot (Kleer could not be reached at the
    end); a plan blocks their operations until the next apply or fetch reads them."""

    batch_id: str
    plan_id: str
    counts: tuple[tuple[str, int], ...]
    problems: tuple[OpOutcome, ...]
    ran_here: int
    seconds: float
    reverts: str | None = None
    unrefreshed: tuple[int, ...] = ()

    @property
    def counts_dict(self) -> dict[str, int]:
        return dict(self.counts)

    @property
    def ok(self) -> bool:
        c = self.counts_dict
        return not (c.get("failed") or c.get("conflict") or c.get("pending"))

    def problems_frame(self, *, reveal: bool = False) -> pd.DataFrame:
        rows = [{"op_id": p.op_id, "kind": p.kind, "hr_id": p.hr_id, "kleer_id": p.kleer_id,
                 "status": p.status, "reason": p.reason,
                 "answer": None if p.answer is None else to_json(p.answer if reveal else mask_json(p.answer)),
                 "attempts": p.attempts} for p in self.problems]
        frame = pd.DataFrame(rows, columns=["op_id", "kind", "hr_id", "kleer_id", "status",
                                            "reason", "answer", "attempts"])
        frame["kleer_id"] = frame["kleer_id"].astype("Int64")
        return frame

    def __repr__(self) -> str:
        parts = ", ".join(f"{n} {s}" for s, n in self.counts)
        return f"<ApplyResult {self.batch_id}: {parts or 'nothing to do'}>"

    def _repr_html_(self) -> str:
        from .display import result_html  # display imports this module

        return result_html(self)

    def __str__(self) -> str:
        c = self.counts_dict
        parts = ", ".join(f"{c[s]} {s}" for s in STATUSES if c.get(s))
        what = "revert" if self.reverts else "apply"
        unread = f"; {len(self.unrefreshed)} Kleer record(s) written but not read back: " \
                 "fetch Kleer (or run the apply again) before planning again" if self.unrefreshed else ""
        return f"batch {self.batch_id} ({what} of {self.plan_id}): {parts or 'nothing to do'} " \
               f"({self.ran_here} run by this {what}) in {self.seconds:.1f} s{unread}"


_NAMING_KEYS = ("field", "signal")
#: Keys whose values describe a field or a comparison and never hold the field's value itself
#: (the matcher writes its sentences without personal numbers), so masking leaves them readable.
_DESCRIPTIVE_KEYS = frozenset({"label", "sentence", "agreement", "contribution", "weight", "points"})


def mask_json(value: Any, *, key: str | None = None) -> Any:
    """Mask personnummer and bank numbers anywhere in a JSON-like value: a value under a field
    key (``{"ssn": ...}``), or the values of a dict that names its field (``{"field": "ssn",
    "now": ...}``, the matcher's evidence ``{"signal": "ssn", "hr": ...}``)."""
    if isinstance(value, dict):
        named = next((value[k] for k in _NAMING_KEYS if value.get(k) in FIELD), None)
        out = {}
        for k, v in value.items():
            if k in _NAMING_KEYS or k in _DESCRIPTIVE_KEYS:
                out[k] = v
            else:
                out[k] = mask_json(v, key=k if k in FIELD else named or key)
        return out
    if isinstance(value, list):
        return [mask_json(v, key=key) for v in value]
    return mask(key, value) if key else value


# =========================================================================== claims

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


def _journal_row(ws: Workspace, plan_id: str, op_id: str) -> dict | None:
    rows = ws.query("SELECT * FROM journal WHERE plan_id = ? AND op_id = ?", [plan_id, op_id])
    return rows[0] if rows else None


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


def _tried_elsewhere(ws: Workspace, plan: Plan, op: Operation) -> bool:
    """Whether another plan's apply has journaled a create of this HR employee's Kleer user
    (run inside the claim's write transaction, so a later claim sees an earlier one)."""
    if op.kind != "kleer_create":
        return False
    return bool(ws.query("SELECT 1 FROM journal WHERE kind = 'kleer_create' AND hr_id = ? "
                         "AND plan_id != ? AND status != 'skipped' LIMIT 1", [op.hr_id, plan.id]))


def _claim(ws: Workspace, plan: Plan, op: Operation, batch_id: str, me: _Owner,
           lease: float) -> _Claim:
    """Take the operation's journal row for ``me`` (committed before anything remote)."""
    seen = _untakeable(_journal_row(ws, plan.id, op.op_id), me)
    if seen is not None:  # decided without taking the write lock (a waiting apply polls this)
        return seen
    with ws.atomic():
        row = _journal_row(ws, plan.id, op.op_id)
        untakeable = _untakeable(row, me)
        if untakeable is not None:
            return untakeable
        now = time.time()
        claim = {"status": "pending", "owner": me.id, "owner_host": me.host, "owner_pid": me.pid,
                 "lease_until": now + lease, "started_at": utcnow(), "error": None,
                 "finished_at": None}
        elsewhere = _tried_elsewhere(ws, plan, op)
        if row is None:
            ws.db["journal"].insert({
                "plan_id": plan.id, "op_id": op.op_id, "batch_id": batch_id, "seq": op.seq,
                "kind": op.kind, "action": op.action, "hr_id": op.hr_id, "kleer_id": op.kleer_id,
                "target": ",".join(op.targets), "before": to_json(op.before),
                "after": to_json(op.after), "attempts": 1, **claim})
            return _Claim("run", 0, elsewhere)
        ws.db["journal"].update(row["id"], {**claim, "attempts": (row["attempts"] or 0) + 1})
        return _Claim("run", row["attempts"] or 0, elsewhere)


# =========================================================================== settling

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
        row = _journal_row(ws, plan.id, op.op_id)
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
        if op.remote and kleer_id is not None:
            _follow_snapshot(ws, int(kleer_id), outcome)
        values = {"status": outcome.status, "answer": to_json(outcome.answer),
                  "error": outcome.reason, "finished_at": utcnow(), "kleer_id": kleer_id,
                  "duration_ms": round((time.monotonic() - started) * 1000, 1),
                  "owner": None, "lease_until": None}
        if row is None:
            ws.db["journal"].insert({
                "plan_id": plan.id, "op_id": op.op_id, "batch_id": batch_id, "seq": op.seq,
                "kind": op.kind, "action": op.action, "hr_id": op.hr_id,
                "target": ",".join(op.targets), "before": to_json(op.before),
                "after": to_json(op.after), "attempts": 1, "started_at": values["finished_at"],
                **values})
        else:
            ws.db["journal"].update(row["id"], values)
        ws.audit.append(event="operation", analyst=analyst, action=op.kind, hr_id=op.hr_id,
                        kleer_id=kleer_id, batch_id=batch_id, plan_id=plan.id, score=op.score,
                        before=op.before, after=op.after, result=outcome.status,
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


def _refresh_snapshot(ws: Workspace, records: list[dict[str, Any]]) -> None:
    """Put canonical Kleer records read just now into the snapshot, in one transaction."""
    snap, now = ws.kleer.last_snapshot() or {}, utcnow()
    rows = [{**record, "fetched_at": now, "snapshot_id": snap.get("id")} for record in records]
    with ws.atomic():
        ws.db["kleer_users"].upsert_all(rows, pk="kleer_id", alter=False)


def _follow_snapshot(ws: Workspace, kleer_id: int, outcome: _Outcome) -> None:
    """The snapshot row of a settled remote operation's record: the read the operation holds
    (nothing written after it), else deleted when Kleer was or may be changed, until the
    re-read at the end of the apply (:func:`_refresh_written`) puts it back."""
    if outcome.refresh is not None:
        _refresh_snapshot(ws, [from_kleer(*outcome.refresh)])
    elif outcome.wrote or outcome.status == "done":
        ws.conn.execute("DELETE FROM kleer_users WHERE kleer_id = ?", [kleer_id])


def _unrefreshed(ws: Workspace) -> list[int]:
    """Kleer records that Kleer operations settled (done, or written then in conflict) since
    the last fetch and whose snapshot row is still set aside for a re-read."""
    since = (ws.kleer.last_snapshot() or {}).get("fetched_at") or ""
    rows = ws.query(
        "SELECT DISTINCT kleer_id FROM journal WHERE kind IN (?, ?) AND status IN ('done', "
        "'conflict') AND kleer_id IS NOT NULL AND finished_at >= ? AND kleer_id NOT IN "
        "(SELECT kleer_id FROM kleer_users) ORDER BY kleer_id", [*_KLEER_KINDS, since])
    return [int(r["kleer_id"]) for r in rows]


def _refresh_written(ws: Workspace, client: Any) -> tuple[int, ...]:
    """Read back every record :func:`_unrefreshed` names with one list of users and one of
    contracts; returns those still not read back (Kleer unreachable, or no such user).

    A record that a Kleer operation settled after the lists were requested (an audit row newer
    than the mark) may have been written after they were read: it is left for the re-read of
    the apply that wrote it."""
    wanted = _unrefreshed(ws)
    if not wanted or client is None:
        return tuple(wanted)
    mark = ws.query("SELECT coalesce(max(id), 0) AS n FROM audit")[0]["n"]
    try:
        users, contracts = client.list_users(), client.list_contracts()
    except WorkbenchError:
        return tuple(wanted)
    with ws.atomic():
        moved = {int(r["kleer_id"]) for r in ws.query(
            "SELECT DISTINCT kleer_id FROM audit WHERE id > ? AND event = 'operation' "
            "AND action IN (?, ?) AND kleer_id IS NOT NULL", [mark, *_KLEER_KINDS])}
        ids = set(wanted) & set(_unrefreshed(ws)) - moved
        records = records_from_kleer([u for u in users if int(u["id"]) in ids], contracts)
        _refresh_snapshot(ws, records)
    return tuple(sorted(ids - {r["kleer_id"] for r in records}))


# =========================================================================== local operations

def _hr_conflicts(current: Mapping[str, Any], op: Operation) -> dict[str, dict[str, Any]]:
    """Fields whose HR value is neither the planned before nor the planned after."""
    out = {}
    for c in op.changes:
        f = FIELD[c.key]
        now = current.get(c.key)
        if not f.compare(now, c.before) and not f.compare(now, c.after):
            out[c.key] = {"field": c.key, "label": c.label, "planned": c.before, "now": now}
    return out


def _local(ws: Workspace, op: Operation, batch_id: str) -> _Outcome:
    """The HR-side and link effects of a local operation (inside the settle transaction the
    checks and the writes happen together)."""
    problem = _link_problem(ws, op, op.kleer_id)
    if problem:
        return _Outcome("conflict", problem, {"link": problem})
    if op.kind in ("link", "unlink"):
        current = ws.links.of(hr_id=op.hr_id)
        if op.kind == "link" and current and current["kleer_id"] == op.kleer_id:
            return _Outcome("skipped", "already linked")
        if op.kind == "unlink" and not (current and current["kleer_id"] == op.kleer_id):
            return _Outcome("skipped", "not linked any more")
        return _Outcome("done", answer={"link": op.link})
    hr = ws.hr.get(op.hr_id)
    if op.kind == "hr_create":
        if hr is not None:
            return _Outcome("conflict", f"HR employee {op.hr_id} exists already", {"hr_id": op.hr_id})
        record = {k: v for k, v in op.after.items() if k != "hr_id"}
        ws.hr.upsert([{"hr_id": op.hr_id, **record, "created_by_batch": batch_id,
                                  "problems": {}}], source=f"Kleer user {op.kleer_id}")
        return _Outcome("done", answer={"created": op.hr_id})
    if hr is None:
        if op.kind == "hr_delete":
            return _Outcome("skipped", f"HR employee {op.hr_id} is already gone")
        return _Outcome("failed", f"HR employee {op.hr_id} is not in the HR register any more; "
                                  "load the HR file and plan again")
    if op.kind == "hr_delete":
        changed = {k: {"field": k, "label": FIELD[k].label, "planned": v, "now": hr.get(k)}
                   for k, v in op.before.items() if k != "hr_id" and not FIELD[k].compare(hr.get(k), v)}
        if changed:
            return _Outcome("conflict", "the HR employee changed since the batch created it: "
                            + ", ".join(c["label"] for c in changed.values()), {"fields": changed})
        ws.hr.delete(op.hr_id)
        return _Outcome("done", answer={"deleted": op.hr_id})
    conflicts = _hr_conflicts(hr, op)
    if conflicts:
        return _Outcome("conflict", "changed in the HR register since the plan: "
                        + ", ".join(c["label"] for c in conflicts.values()), {"fields": conflicts})
    ws.hr.update(op.hr_id, op.after)
    return _Outcome("done", answer={"updated": list(op.fields)})


def _run_local(ws: Workspace, plan: Plan, op: Operation, batch_id: str, analyst: str | None
               ) -> _Outcome | None:
    """Check, write and settle a local operation in one transaction; None when already final."""
    started = time.monotonic()
    with ws.atomic():
        row = _journal_row(ws, plan.id, op.op_id)
        if row is not None and row["status"] in FINAL:
            return None
        return _settle(ws, plan, op, batch_id, None, _local(ws, op, batch_id), started, analyst)


# =========================================================================== remote operations

def _kleer_conflicts(op: Operation, current: Mapping[str, Any], email_preference: str
                     ) -> tuple[dict[str, dict], list[str]]:
    """(fields neither before nor after, fields still before) — compared as the diff does."""
    before = {c.key: c.before for c in op.changes}
    after = {c.key: c.after for c in op.changes}
    at_after = {d.key for d in diff(after, current, email_preference=email_preference)}
    at_before = {d.key for d in diff(before, current, email_preference=email_preference)}
    neither, remaining = {}, []
    for c in op.changes:
        if c.key not in at_after:
            continue  # already as planned after
        if c.key in at_before:
            neither[c.key] = {"field": c.key, "label": c.label, "snapshot": c.before,
                              "now": _shown(current, c.key), "planned": c.after}
        else:
            remaining.append(c.key)
    return neither, remaining


def _merged(current: Mapping[str, Any], op: Operation, email_preference: str) -> dict[str, Any]:
    """The record Kleer should hold: its current values with the operation's after-values."""
    record = {f.key: current.get(f.kleer_side_key) for f in FIELD.values() if f.kleer}
    record[email_field(email_preference)] = current.get("email")
    record.update(op.after)
    return record


def _verified(write: Callable[[], Any], landed: Callable[[], bool]) -> Any:
    """Run a write; when its answer was lost, ``landed()`` decides whether it took effect."""
    try:
        return write()
    except KleerUnavailable as e:
        if not e.write_may_have_landed:
            raise
        try:
            if landed():
                return None
        except WorkbenchError:
            pass  # cannot tell: report the write's own error (it may have landed)
        raise


def _read(client: Any, kleer_id: int) -> tuple[dict, dict | None]:
    return client.get_user(kleer_id), client.get_contract(kleer_id)


class _ForeignIds:
    """Kleer's users by foreign-id from one ``GET /user`` (lists are not paged), read when
    first asked and again once older than ``max_age`` seconds; thread-safe. When the list
    cannot be read, each question goes to ``GET /user/foreign-id/{id}`` until the next try."""

    def __init__(self, client: Any, max_age: float):
        self._client, self._max_age = client, max_age
        self._lock = threading.Lock()
        self._users: dict[str, dict] | None = None
        self._read_at = -math.inf

    def find(self, foreign_id: str) -> dict | None:
        with self._lock:
            if time.monotonic() - self._read_at > self._max_age:
                self._read_at = time.monotonic()
                self._users = _by_foreign_id(self._client)
            users = self._users
        if users is None:
            return self._client.find_user_by_foreign_id(foreign_id)
        return users.get(str(foreign_id))


def _by_foreign_id(client: Any) -> dict[str, dict] | None:
    """Every user by foreign-id (the lowest id when several carry one, as the lookup answers),
    or None when Kleer cannot give the list now."""
    try:
        users = client.list_users()
    except WorkbenchError:
        return None
    out: dict[str, dict] = {}
    for user in sorted(users, key=lambda u: int(u["id"])):
        if user.get("foreign-id") not in (None, ""):
            out.setdefault(str(user["foreign-id"]), user)
    return out


def _kleer_create(client: Any, op: Operation, pref: str, lookup: Lookup) -> _Outcome:
    """Create (or find by foreign-id, through ``lookup``), give a payroll contract, report."""
    user_fields, contract_fields = to_kleer(op.after, email_preference=pref)
    existing = lookup(op.hr_id)
    answer: dict[str, Any] = {}
    if existing is None:
        new_id = _verified(lambda: client.create_user(user_fields),
                           lambda: client.find_user_by_foreign_id(op.hr_id) is not None)
        if new_id is None:  # the create landed although its answer was lost
            new_id = int(client.find_user_by_foreign_id(op.hr_id)["id"])
            answer["recovered"] = True
        kleer_id, answer["created"] = int(new_id), True
        has_contract = False
    else:
        kleer_id, answer["created"] = int(existing["id"]), False
        has_contract = client.get_contract(kleer_id) is not None
    if contract_fields and not has_contract:
        _verified(lambda: client.upsert_contract(kleer_id, contract_fields),
                  lambda: client.get_contract(kleer_id) is not None)
        answer["contract_created"] = True
    answer["kleer_id"] = kleer_id
    return _Outcome("done", answer=answer, kleer_id=kleer_id,
                    wrote=answer["created"] or "contract_created" in answer)


#: (column, label, field) of every Kleer-held value in a canonical Kleer record, once each.
_KLEER_COLUMNS = (("name", "Name", FIELD["first_name"]),) + tuple({
    f.kleer_side_key: (f.kleer_side_key, "Email" if f.kleer_side_key == "email" else f.label, f)
    for f in FIELD.values() if f.kleer is not None and f.key not in ("first_name", "last_name")
}.values())


def _changed_in_kleer(snapshot: Mapping[str, Any] | None, current: Mapping[str, Any]
                      ) -> dict[str, dict]:
    """The values that differ between the snapshot row and Kleer now, with both values."""
    return {column: {"field": column, "label": label, "snapshot": snapshot.get(column),
                     "now": current.get(column)}
            for column, label, f in _KLEER_COLUMNS
            if not f.compare(snapshot.get(column), current.get(column))} if snapshot else {}


def _kleer_update(client: Any, op: Operation, pref: str, retried: bool,
                  snapshot: Mapping[str, Any] | None) -> _Outcome:
    kleer_id = int(op.kleer_id)
    user, contract = _read(client, kleer_id)
    current = from_kleer(user, contract)
    keys = list(op.fields)
    if kleer_fingerprint(user, contract) != op.kleer_fingerprint:
        neither, remaining = _kleer_conflicts(op, current, pref)
        if neither or not retried:
            changed = neither or _changed_in_kleer(snapshot, current) or {
                c.key: {"field": c.key, "label": c.label, "snapshot": c.before,
                        "now": _shown(current, c.key)} for c in op.changes}
            what = ", ".join(v["label"] for v in changed.values())
            return _Outcome("conflict", f"changed in Kleer since the snapshot ({what}); not "
                            "written: fetch Kleer and plan again", {"fields": changed}, kleer_id)
        keys = remaining
    if not keys:
        return _Outcome("done", answer={"already_applied": list(op.fields)}, kleer_id=kleer_id,
                        refresh=(user, contract))
    user_keys = [k for k in keys if FIELD[k].kleer.obj == "user"]
    contract_keys = [k for k in keys if FIELD[k].kleer.obj == "contract"]
    merged = _merged(current, op, pref)

    def landed(written: list[str]) -> bool:
        neither, remaining = _kleer_conflicts(op, from_kleer(*_read(client, kleer_id)), pref)
        return not (set(neither) | set(remaining)) & set(written)

    user_fields = to_kleer(merged, email_preference=pref, only=user_keys)[0] if user_keys else {}
    contract_fields = to_kleer(merged, email_preference=pref, only=contract_keys)[1] \
        if contract_keys else {}
    if user_fields:
        _verified(lambda: client.update_user(kleer_id, user_fields), lambda: landed(user_keys))
    if contract_fields:
        _verified(lambda: client.upsert_contract(kleer_id, contract_fields),
                  lambda: landed(contract_keys))
    return _Outcome("done", answer={"written": {"user": sorted(user_fields),
                                                "contract": sorted(contract_fields)}},
                    kleer_id=kleer_id, wrote=bool(user_fields or contract_fields))


def _shown(current: Mapping[str, Any], key: str) -> Any:
    if key in ("first_name", "last_name"):
        return current.get("name")
    return current.get(FIELD[key].kleer_side_key)


def _remote(client: Any, op: Operation, pref: str, retried: bool,
            snapshot: Mapping[str, Any] | None, lookup: Lookup) -> _Outcome:
    try:
        if op.kind == "kleer_create":
            return _kleer_create(client, op, pref, lookup)
        return _kleer_update(client, op, pref, retried, snapshot)
    except KleerUnavailable as e:
        return _Outcome("failed", str(e) + ("; re-run the apply: it looks before it writes, so "
                                            "nothing is done twice" if e.write_may_have_landed else ""),
                        {"status": e.status, "write_may_have_landed": e.write_may_have_landed})
    except WorkbenchError as e:
        return _Outcome("failed", str(e), {"status": getattr(e, "status", None)})


# =========================================================================== apply

def batch_id_for(plan_id: str) -> str:
    """The batch of a plan: one per plan, shared by its re-runs and concurrent applies."""
    return "batch-" + plan_id.removeprefix("plan-")


def _open_batch(ws: Workspace, plan: Plan, batch_id: str, analyst: str | None) -> None:
    with ws.atomic():
        ws.conn.execute(
            "INSERT OR IGNORE INTO batches (id, plan_id, kind, analyst, started_at, status, reverts, plan) "
            "VALUES (?, ?, ?, ?, ?, 'running', ?, ?)",
            [batch_id, plan.id, "revert" if plan.reverts else "apply", analyst, utcnow(),
             plan.reverts, plan.to_json(indent=None)])
        ws.conn.execute("UPDATE batches SET status = 'running', finished_at = NULL WHERE id = ?",
                        [batch_id])
        ws.audit.append(event="apply", analyst=analyst, action="start", batch_id=batch_id,
                        plan_id=plan.id, detail={"operations": len(plan.operations),
                                                 "reverts": plan.reverts})


def _result(ws: Workspace, plan: Plan, batch_id: str, ran: int, started: float,
            unrefreshed: tuple[int, ...]) -> ApplyResult:
    rows = {r["op_id"]: r for r in ws.query("SELECT * FROM journal WHERE plan_id = ?", [plan.id])}
    counts = Counter(rows[op.op_id]["status"] if op.op_id in rows else "pending"
                     for op in plan.operations)
    problems = tuple(
        OpOutcome(op.op_id, op.kind, op.hr_id, r["kleer_id"], r["status"], r["error"],
                  json.loads(r["answer"]) if r["answer"] else None, r["attempts"] or 0)
        for op in plan.operations if (r := rows.get(op.op_id)) and r["status"] in ("failed", "conflict"))
    return ApplyResult(batch_id=batch_id, plan_id=plan.id,
                       counts=tuple((s, counts[s]) for s in STATUSES if counts[s]),
                       problems=problems, ran_here=ran, seconds=time.monotonic() - started,
                       reverts=plan.reverts, unrefreshed=unrefreshed)


def _close_batch(ws: Workspace, result: ApplyResult, analyst: str | None) -> None:
    with ws.atomic():
        ws.conn.execute("UPDATE batches SET status = ?, finished_at = ?, counts = ? WHERE id = ?",
                        ["done" if result.ok else "incomplete", utcnow(),
                         to_json(result.counts_dict), result.batch_id])
        ws.audit.append(event="apply", analyst=analyst, action="finish", batch_id=result.batch_id,
                        plan_id=result.plan_id, result="done" if result.ok else "incomplete",
                        detail=result.counts_dict)


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
            with self.ws.atomic():
                self.ws.conn.execute(
                    "UPDATE journal SET lease_until = ? WHERE owner = ? AND status = 'pending'",
                    [time.time() + self.lease, self.me.id])


def _work(ws: Workspace, plan: Plan, op: Operation, batch_id: str, me: _Owner, client: Any,
          analyst: str | None, tries: int, lease: float, foreign_ids: _ForeignIds) -> str:
    """Claim and run one remote operation: 'ran', 'final' (settled by another apply) or 'busy'.
    A create asks Kleer about its foreign-id itself when the list may be out of date for it
    (the claim says so, or this is a retry after a lost answer)."""
    claim = _claim(ws, plan, op, batch_id, me, lease)
    if claim.state != "run":
        return claim.state
    started = time.monotonic()
    retried = claim.attempts > 0
    snapshot = ws.kleer.get(op.kleer_id) if op.kleer_id is not None else None
    uncertain: _Outcome | None = None  # the first failure whose write may have landed
    for attempt in range(max(1, tries)):
        lookup = client.find_user_by_foreign_id if claim.recheck or attempt > 0 \
            else foreign_ids.find
        outcome = _remote(client, op, plan.email_preference, retried or attempt > 0, snapshot,
                          lookup)
        may_have_landed = outcome.status == "failed" and outcome.answer.get("write_may_have_landed")
        uncertain = uncertain or (outcome if may_have_landed else None)
        if not may_have_landed or attempt == tries - 1:
            break
    if outcome.status == "failed" and uncertain is not None and outcome is not uncertain:
        outcome = _Outcome("failed", f"{uncertain.reason}; checking again failed: {outcome.reason}",
                           uncertain.answer)
    recorded = _settle(ws, plan, op, batch_id, me, outcome, started, analyst)
    return "final" if recorded.status == "lost" else "ran"


def apply(plan: Plan, workspace: Workspace, client: Any, analyst: str | None,
          on_progress: Progress | None = None, concurrency: int = 4, *, tries: int = 3,
          lease_seconds: float = LEASE_SECONDS) -> ApplyResult:
    """Execute ``plan`` (see the module docstring). Safe to re-run and to run twice at once.

    ``client`` is a :class:`~workbench.kleer.client.KleerClient` (needed only when the plan
    writes to Kleer). ``tries`` bounds how often an operation whose write may have landed is
    tried again (from its check) within this call. With a client, the records written are read
    back into the snapshot once every operation has settled (see the module docstring).
    """
    if not isinstance(plan, Plan):
        raise PlanError("apply takes a Plan (build one with plan.build or Plan.from_json)")
    if client is None and any(op.remote and not op.blocked for op in plan.operations):
        raise PlanError("this plan writes to Kleer but no Kleer connection was given: "
                        "set the connection in Settings and KLEER_TOKEN")
    if concurrency < 1:
        raise PlanError(f"concurrency must be at least 1, not {concurrency}")
    started = time.monotonic()
    batch_id = batch_id_for(plan.id)
    me = _Owner.new()
    total, done, ran = len(plan.operations), 0, 0

    def progress(op: Operation) -> None:
        nonlocal done
        done += 1
        if on_progress is not None:
            on_progress(done, total, op)

    _open_batch(workspace, plan, batch_id, analyst)
    remote: list[Operation] = []
    for op in plan.operations:
        if op.blocked:
            with workspace.atomic():
                if _journal_row(workspace, plan.id, op.op_id) is None:
                    _settle(workspace, plan, op, batch_id, None,
                            _Outcome("skipped", "blocked: " + "; ".join(op.blockers)),
                            time.monotonic(), analyst)
            progress(op)
        elif op.remote:
            remote.append(op)
        else:
            ran += _run_local(workspace, plan, op, batch_id, analyst) is not None
            progress(op)

    foreign_ids = _ForeignIds(client, FOREIGN_ID_MAX_AGE)
    with _Heartbeat(workspace, me, lease_seconds), \
            ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="apply") as pool:
        waiting = remote
        while waiting:
            futures: dict[Future, Operation] = {
                pool.submit(_work, workspace, plan, op, batch_id, me, client, analyst, tries,
                            lease_seconds, foreign_ids): op for op in waiting}
            waiting = []
            for fut in as_completed(futures):
                op, state = futures[fut], fut.result()
                if state == "busy":
                    waiting.append(op)
                    continue
                ran += state == "ran"
                progress(op)
            if waiting:
                time.sleep(_POLL_SECONDS)

    unrefreshed = _refresh_written(workspace, client) if client is not None else ()
    result = _result(workspace, plan, batch_id, ran, started, unrefreshed)
    _close_batch(workspace, result, analyst)
    return result


# =========================================================================== revert

def _batch(ws: Workspace, batch_id: str) -> dict:
    rows = ws.query("SELECT * FROM batches WHERE id = ?", [batch_id])
    if not rows:
        known = [r["id"] for r in ws.query("SELECT id FROM batches ORDER BY started_at DESC LIMIT 5")]
        raise PlanError(f"no batch {batch_id!r} in this workspace"
                        + (f"; recent batches: {', '.join(known)}" if known else ""))
    return rows[0]


def _swap(changes: tuple[FieldChange, ...]) -> tuple[FieldChange, ...]:
    return tuple(FieldChange(c.key, c.label, c.after, c.before) for c in changes)


def _undo(ws: Workspace, row: Mapping[str, Any], op: Operation) -> list[Operation]:
    """The operations that undo one done journal row."""
    answer = json.loads(row["answer"]) if row["answer"] else {}
    kleer_id = row["kleer_id"]
    base = dict(action="revert", hr_id=op.hr_id, kleer_id=kleer_id, method="revert", score=None)
    oid = f"revert:{op.op_id}"
    undo_link = "end" if op.link == "create" else "create" if op.link == "end" else None
    snapshot_fp = lambda: (ws.kleer.get(kleer_id) or {}).get("fingerprint")  # noqa: E731
    missing = () if kleer_id is None or ws.kleer.get(kleer_id) else (
        f"Kleer user {kleer_id} is not in the snapshot; fetch Kleer and build the revert again",)
    if op.kind == "kleer_create":
        out = []
        if answer.get("created"):
            out.append(Operation(f"{oid}:deactivate", 0, "kleer_update", targets=("kleer",),
                                 changes=(FieldChange("active", FIELD["active"].label, True, False),),
                                 kleer_fingerprint=snapshot_fp(), blockers=missing, **base))
        out.append(Operation(f"{oid}:unlink", 0, "unlink", targets=("links",), link="end", **base))
        return out
    if op.kind == "kleer_update":
        return [Operation(oid, 0, "kleer_update", targets=("kleer",), changes=_swap(op.changes),
                          kleer_fingerprint=snapshot_fp(), blockers=missing, **base)]
    if op.kind == "hr_create":
        return [Operation(oid, 0, "hr_delete", targets=("hr", "links"), link="end",
                          changes=_swap(op.changes), **base)]
    if op.kind == "hr_delete":
        return [Operation(oid, 0, "hr_create", targets=("hr", "links"), link=undo_link,
                          changes=_swap(op.changes), **base)]
    if op.kind == "hr_update":
        targets = ("hr", "links") if undo_link else ("hr",)
        return [Operation(oid, 0, "hr_update", targets=targets, link=undo_link,
                          changes=_swap(op.changes), **base)]
    kind = "unlink" if op.kind == "link" else "link"
    return [Operation(oid, 0, kind, targets=("links",), link=undo_link, **base)]


def revert_plan(workspace: Workspace, batch_id: str, *, analyst: str | None = None) -> Plan:
    """The plan that undoes ``batch_id`` (a preview: nothing is written)."""
    batch = _batch(workspace, batch_id)
    original = Plan.from_json(batch["plan"])
    rows = workspace.query("SELECT * FROM journal WHERE batch_id = ? ORDER BY seq DESC, id DESC",
                           [batch_id])
    ops: list[Operation] = []
    for row in rows:
        if row["status"] != "done":
            continue
        for undo in _undo(workspace, row, original.operation(row["op_id"])):
            ops.append(replace(undo, seq=len(ops) + 1))
    unsettled = [r["op_id"] for r in rows if r["status"] in ("pending", "failed")]
    warnings = []
    if unsettled:
        warnings.append(f"{len(unsettled)} operation(s) of the batch did not finish "
                        f"({', '.join(unsettled[:5])}{'…' if len(unsettled) > 5 else ''}); "
                        "re-run that plan first or they are not reverted")
    counts = Counter(f"kind:{op.kind}" for op in ops)
    counts["operations"] = len(ops)
    counts["blocked"] = sum(op.blocked for op in ops)
    snap = workspace.kleer.last_snapshot() or {}
    return Plan(id="plan-revert-" + batch_id.removeprefix("batch-"), created_at=utcnow(),
                side="revert", analyst=analyst, email_preference=original.email_preference,
                snapshot_id=snap.get("id"), snapshot_fingerprint=snap.get("fingerprint"),
                operations=tuple(ops), counts=tuple(sorted(counts.items())),
                warnings=tuple(warnings), reverts=batch_id)


def revert(workspace: Workspace, batch_id: str, client: Any, analyst: str | None,
           on_progress: Progress | None = None, concurrency: int = 4) -> ApplyResult:
    """Undo ``batch_id`` through :func:`apply` (the revert is a batch of its own)."""
    return apply(revert_plan(workspace, batch_id, analyst=analyst), workspace, client, analyst,
                 on_progress=on_progress, concurrency=concurrency)


# =========================================================================== audit

_AUDIT_JSON = ("evidence", "before", "after", "detail")
AUDIT_FORMATS = (".csv", ".json")


def _loads(text: Any) -> Any:
    if not isinstance(text, str):
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def audit_frame(workspace: Workspace, *, reveal: bool = False) -> pd.DataFrame:
    """The audit log, newest first, its JSON columns parsed; personnummer and bank numbers are
    masked (also inside before/after, evidence and details) unless ``reveal``."""
    frame = workspace.audit.frame()
    for column in _AUDIT_JSON:
        values = frame[column].map(_loads)
        frame[column] = values if reveal else values.map(mask_json)
    frame["kleer_id"] = frame["kleer_id"].astype("Int64")
    return frame


def export_audit(workspace: Workspace, path: str | Path, *, reveal: bool = False,
                 analyst: str | None = None) -> int:
    """Write the audit log to ``path`` (``.csv``, formula-safe, or ``.json``); returns the rows.
    A ``reveal`` export is itself recorded in the audit log."""
    path = Path(path)
    if path.suffix.lower() not in AUDIT_FORMATS:
        raise InputError(f"cannot write the audit log as {path.name!r}: use a .csv or .json file name")
    frame = audit_frame(workspace, reveal=reveal)
    if path.suffix.lower() == ".csv":
        data = to_csv_bytes(frame)
    else:
        data = to_json_bytes(frame)
    try:
        path.write_bytes(data)
    except OSError as e:
        raise InputError(f"cannot write the audit log to {path}: {e.strerror or e}") from None
    if reveal:
        workspace.audit.append(event="audit_export", analyst=analyst, action="reveal",
                               detail={"file": path.name, "rows": len(frame)})
    return len(frame)


def batches_frame(workspace: Workspace) -> pd.DataFrame:
    """Every apply and revert, newest first, with its counts (for the audit page and CLI)."""
    frame = workspace.frame("SELECT id, plan_id, kind, analyst, started_at, finished_at, status, "
                            "counts, reverts FROM batches ORDER BY started_at DESC, rowid DESC")
    frame["counts"] = frame["counts"].map(lambda s: json.loads(s) if s else {})
    return frame
