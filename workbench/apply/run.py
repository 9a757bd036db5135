"""The apply: a batch per plan, operations in plan order per employee, Kleer operations on a
bounded pool, and the checks at the end.

:func:`apply` executes a :class:`~workbench.model.Plan`:

* a ``batches`` row per plan (``batch-<plan hex>``; a re-run of the same plan continues it);
* per operation a ``journal`` row, ``pending`` and committed before any remote call, together
  with a claim on each of its employees (:mod:`.claims`); then settled ``done | failed |
  conflict | skipped`` with Kleer's answer and the time taken, in one local transaction together
  with the operation's local effects, its audit row and the release of its claims
  (:mod:`.settle`);
* an operation whose employee another apply holds (any plan, any process) waits for it, up to
  ``wait_seconds``, then is settled ``failed`` ("another apply holds this employee"; a re-run
  does it); a create another plan already did is ``skipped`` ("already done by batch …") and
  listed in :attr:`~workbench.model.ApplyResult.elsewhere`;
* operations of the plan on one employee run in plan order (a link before its foreign-id write);
  local ones in the calling thread, Kleer operations (:mod:`.kleer_ops`) on a thread pool;
  how many of their requests are in flight is the limiter's to say (:func:`limiter_for`): by
  default an :class:`~workbench.concurrency.AdaptiveLimiter` (AIMD from 8 up to its ceiling,
  32), pinned by ``concurrency=N``; the pool has a thread per place the limiter may open and
  every HTTP attempt waits in its gate; workspace writes are serialised by the workspace's lock;
* before a Kleer write: an export re-reads the HR register (a value changed since the plan is a
  conflict), a revert re-reads Kleer and restores only the fields still as the batch wrote them;
* blocked operations are journaled ``skipped`` with their blockers, never executed;
* at the end, one list of users and one of contracts read back what was written and sweep what
  this batch created for duplicates by foreign-id and personnummer (reported, never deleted).

``on_progress(done, total, op_id)`` (:mod:`workbench.progress`) is called in the calling thread
once per operation, with the live concurrency and its last change as ``Progress.detail`` for a
Kleer operation; the batch record and the result keep the limiter's summary (its level, peak,
changes and counts). :func:`revert` runs :func:`workbench.planning.revert_plan` through
:func:`apply`.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import Any

from dataclasses import dataclass

from ..concurrency import DEFAULT_CEILING, DEFAULT_START, AdaptiveLimiter, FixedLimiter, Limiter
from ..errors import PlanError, WorkbenchError
from ..kleer.client import DEFAULT_TIMEOUT, KleerClient
from ..model import FINAL, STATUSES, ApplyResult, OpOutcome, Operation, Plan
from ..planning import revert_plan
from ..progress import OnProgress
from ..progress import Progress
from ..store import Workspace, utcnow
from .claims import (LEASE_SECONDS, _BatchHeartbeat, _claim, _Claim, _Heartbeat, _in_the_way,
                     _Owner, _owner_alive, holder_text, subjects)
from .kleer_ops import _Create, _Directory, _hr_moved, _remote, _revert_fields
from .leave_ops import LEAVE_KINDS, run_leave
from .local import _run_local
from .settle import _End, _end_of_apply, _Outcome, _settle

#: Seconds a create trusts the foreign-id list (one ``GET /user``) before it is read again.
FOREIGN_ID_MAX_AGE = 10.0
#: Seconds an operation waits, at most, for another apply that holds one of its employees;
#: then it is settled ``failed`` ("another apply holds this employee"), to be run again.
WAIT_SECONDS = 120.0
#: Seconds added to the client's read timeout to bound how long a create whose answer never
#: came may still take to commit in Kleer (the reconciliation window; see :func:`settle_window`).
SETTLE_MARGIN = 5.0
_POLL_SECONDS = 0.1


def settle_window(client: Any, settle_seconds: float | None = None) -> float:
    """How long after a create was sent it may still land: ``settle_seconds`` when given, else
    the client's read timeout plus :data:`SETTLE_MARGIN` (a request still in Kleer when the
    client stopped waiting is given that long to commit before anyone looks for it)."""
    if settle_seconds is not None:
        if settle_seconds < 0:
            raise PlanError(f"settle_seconds cannot be negative, not {settle_seconds}")
        return float(settle_seconds)
    timeout = getattr(getattr(client, "_http", None), "timeout", None)
    read = getattr(timeout, "read", None) or DEFAULT_TIMEOUT.read or 10.0
    return float(read) + SETTLE_MARGIN


def batch_id_for(plan_id: str) -> str:
    """The batch of a plan: one per plan, shared by its re-runs and concurrent applies."""
    return "batch-" + plan_id.removeprefix("plan-")


def _open_batch(ws: Workspace, plan: Plan, batch_id: str, analyst: str | None,
                heartbeat_until: float | None = None) -> None:
    with ws.atomic():
        ws.batches.open(batch_id, plan_id=plan.id, kind="revert" if plan.reverts else "apply",
                        analyst=analyst, reverts=plan.reverts,
                        plan_json=plan.without_changes().to_json(indent=None),
                        heartbeat_until=heartbeat_until)
        ws.audit.append(event="apply", analyst=analyst, action="start", batch_id=batch_id,
                        plan_id=plan.id, detail={"operations": len(plan.operations),
                                                 "reverts": plan.reverts})


def _result(ws: Workspace, plan: Plan, batch_id: str, ran: int, started: float,
            end: "_End | tuple[int, ...]" = (), elsewhere: tuple[OpOutcome, ...] = (),
            concurrency: dict | None = None) -> ApplyResult:
    """The result from the journal; ``end`` is what the end of the apply found (or only the
    records not read back, for a result rebuilt without it)."""
    if not isinstance(end, _End):
        end = _End(unrefreshed=tuple(end))
    rows = ws.journal.of_plan(plan.id)
    counts = Counter(rows[op.op_id]["status"] if op.op_id in rows else "pending"
                     for op in plan.operations)
    problems = tuple(
        OpOutcome(op.op_id, op.kind, op.hr_id, r["kleer_id"], r["status"], r["error"],
                  r["answer"] or None, r["attempts"] or 0)
        for op in plan.operations if (r := rows.get(op.op_id)) and r["status"] in ("failed", "conflict"))
    duplicates = tuple(OpOutcome(d["op_id"], "kleer_create", d["hr_id"], d["extra"][0],
                                 "duplicate", d["message"], d) for d in end.duplicates)
    return ApplyResult(batch_id=batch_id, plan_id=plan.id,
                       counts=tuple((s, counts[s]) for s in STATUSES if counts[s]),
                       problems=problems + duplicates, ran_here=ran,
                       seconds=time.monotonic() - started, reverts=plan.reverts,
                       unrefreshed=end.unrefreshed, elsewhere=elsewhere,
                       duplicates=tuple(d["message"] for d in end.duplicates),
                       sweep_error=end.sweep_error, concurrency=concurrency)


def _close_batch(ws: Workspace, result: ApplyResult, analyst: str | None) -> None:
    with ws.atomic():
        ws.batches.close(result.batch_id, status="done" if result.ok else "incomplete",
                         counts=result.counts_dict, concurrency=result.concurrency)
        ws.audit.append(event="apply", analyst=analyst, action="finish", batch_id=result.batch_id,
                        plan_id=result.plan_id, result="done" if result.ok else "incomplete",
                        detail={**result.counts_dict, **({"duplicates": len(result.duplicates)}
                                                         if result.duplicates else {})})


@dataclass
class _Run:
    """What every operation of one apply shares."""

    ws: Workspace
    plan: Plan
    batch_id: str
    me: _Owner
    client: Any
    analyst: str | None
    tries: int
    lease: float
    directory: _Directory
    settle_seconds: float


def _checked(r: _Run, op: Operation, claim: _Claim) -> tuple[Operation, _Outcome | None, dict]:
    """The checks before an operation writes to Kleer: an export's HR values re-read (stale HR
    is a conflict), a revert's every field against Kleer now. Returns the operation to run
    (a revert narrowed to the fields it may restore), an outcome when nothing is to be written,
    and the revert's conflicting fields."""
    if op.kind == "kleer_link":
        link = r.ws.links.of(hr_id=op.hr_id)
        if not link or int(link["kleer_id"]) != int(op.kleer_id):
            return op, _Outcome("skipped", f"HR employee {op.hr_id} is not linked to Kleer user "
                                f"{op.kleer_id} (the link was not made): foreign-id not written"), {}
    if op.action == "export" and op.kind in ("kleer_create", "kleer_update"):
        moved = _hr_moved(r.ws.hr.get(op.hr_id), op)
        if moved is not None:
            return op, moved, {}
    if op.action == "revert" and op.kind == "kleer_update" and op.changes:
        narrowed, conflicts, read = _revert_fields(r.client, op, r.plan.email_preference,
                                                   r.plan.salary_unit)
        if narrowed is None:
            if conflicts:
                return op, _revert_conflict(conflicts, None, int(op.kleer_id)), conflicts
            return op, _Outcome("done", answer={"already_reverted": list(op.fields)},
                                kleer_id=int(op.kleer_id), refresh=read), {}
        return narrowed, None, conflicts
    return op, None, {}


def _revert_conflict(conflicts: dict, done: _Outcome | None, kleer_id: int) -> _Outcome:
    what = ", ".join(c["label"] for c in conflicts.values())
    answer = {"fields": conflicts, **((done.answer or {}) if done is not None else {})}
    restored = ""
    if done is not None and done.status == "done":
        restored = " (the other fields were restored)"
    return _Outcome("conflict", f"changed in Kleer after the batch ({what}): not reverted, "
                    f"nothing of the later change overwritten{restored}", answer, kleer_id,
                    wrote=bool(done and done.wrote))


def _work(r: _Run, op: Operation) -> tuple[str, Any]:
    """Claim and run one remote operation: ('ran', None), ('final', None) (settled by another
    apply), ('busy', holder) or ('elsewhere', reason) (done by another plan: settled here)."""
    claim = _claim(r.ws, r.plan, op, r.batch_id, r.me, r.lease)
    if claim.state in ("final", "busy"):
        return claim.state, claim.holder
    if op.kind in LEAVE_KINDS:  # leave days: their own Kleer calls, the same claim and settle
        return run_leave(r.ws, r.plan, op, r.batch_id, r.me, r.client, r.analyst, r.tries,
                         claim), None
    started = time.monotonic()
    if claim.state == "elsewhere":
        recorded = _settle(r.ws, r.plan, op, r.batch_id, r.me,
                           _Outcome("skipped", claim.reason, {"elsewhere": True}, claim.kleer_id),
                           started, r.analyst)
        return ("final", None) if recorded.status == "lost" \
            else ("elsewhere", (claim.reason, claim.kleer_id))
    retried = claim.attempts > 0
    snapshot = r.ws.kleer.get(op.kleer_id) if op.kleer_id is not None else None
    try:
        run_op, outcome, conflicts = _checked(r, op, claim)
    except WorkbenchError as e:
        run_op, outcome, conflicts = op, _Outcome("failed", str(e), {"status": getattr(e, "status", None)}), {}
    uncertain: _Outcome | None = None  # the first failure whose write may have landed
    for attempt in range(max(1, r.tries) if outcome is None else 0):
        create = None
        if op.kind == "kleer_create":
            fresh = claim.claimed_at if claim.recheck else None
            fresh = time.time() if attempt > 0 else fresh
            create = _Create(
                find=lambda hr_id, ssn, fresh_after=None, _f=fresh: r.directory.find(
                    hr_id, ssn, fresh_after=fresh_after if fresh_after is not None else _f),
                ssn=claim.ssn, uncertain_since=claim.uncertain_since if attempt == 0 else None,
                settle_seconds=r.settle_seconds,
                mark_sent=lambda at: r.ws.journal.mark_write_started(claim.row_id, at, claim.ssn))
        outcome = _remote(r.client, run_op, r.plan.email_preference, retried or attempt > 0,
                          snapshot, create, salary_unit=r.plan.salary_unit,
                          salary_start=r.plan.salary_start)
        may_have_landed = outcome.status == "failed" and outcome.answer.get("write_may_have_landed")
        uncertain = uncertain or (outcome if may_have_landed else None)
        if not may_have_landed or attempt == r.tries - 1:
            break
    if outcome.status == "failed" and uncertain is not None and outcome is not uncertain:
        outcome = _Outcome("failed", f"{uncertain.reason}; checking again failed: {outcome.reason}",
                           uncertain.answer)
    if conflicts and outcome.status == "done":  # a revert restored only some fields
        outcome = _revert_conflict(conflicts, outcome, int(op.kleer_id))
    recorded = _settle(r.ws, r.plan, op, r.batch_id, r.me, outcome, started, r.analyst)
    return ("final", None) if recorded.status == "lost" else ("ran", None)


def _local_step(r: _Run, op: Operation) -> tuple[str, Any]:
    """Run a local operation unless another apply holds one of its employees ('busy', holder):
    the check and the operation in one transaction."""
    with r.ws.atomic():
        holder = _in_the_way(r.ws, r.plan, op, r.me)
        if holder is not None:
            return "busy", holder
        outcome = _run_local(r.ws, r.plan, op, r.batch_id, r.analyst)
    return ("final" if outcome is None else "ran"), None


def _give_up(r: _Run, op: Operation, holder: Any) -> bool:
    """Settle an operation that waited too long for another apply holding one of its employees:
    ``failed`` with who holds it (a re-run does it). Not when this plan's own row is held (a
    second apply of the same plan is running it: it is that apply's to settle)."""
    with r.ws.atomic():
        row = r.ws.journal.row(r.plan.id, op.op_id)
        if row is not None and (row["status"] in FINAL or (
                row["status"] == "pending" and _owner_alive(row, time.time()))):
            return False
        _settle(r.ws, r.plan, op, r.batch_id, None, _Outcome(
            "failed", f"another apply holds this employee: {holder_text(holder)}; nothing was "
            "done beside it: run the plan again once it has finished", {"waited_for": dict(holder or {})}),
            time.monotonic(), r.analyst)
    return True


def _settled_beside(ws: Workspace, plan: Plan, op: Operation) -> OpOutcome:
    """An operation another apply of this same plan settled while this one ran (a second
    browser tab, a second process): how it ended, said as such."""
    row = ws.journal.row(plan.id, op.op_id) or {}
    return OpOutcome(op.op_id, op.kind, op.hr_id, row.get("kleer_id"), row.get("status", "done"),
                     f"{row.get('status', 'done')} by another apply of this plan (batch "
                     f"{row.get('batch_id')}), not by this one")


def _order(ops: list[Operation]) -> dict[str, list[str]]:
    """For each operation, the earlier operations of the plan on one of its employees (they
    run first: a link before the foreign-id write, an update before its HR side)."""
    seen: dict[str, list[str]] = {}
    before: dict[str, list[str]] = {}
    for op in ops:
        earlier: list[str] = []
        for s in subjects(op):
            earlier.extend(seen.get(s, ()))
            seen.setdefault(s, []).append(op.op_id)
        before[op.op_id] = list(dict.fromkeys(earlier))
    return before


def limiter_for(concurrency: int | None = None, *, ceiling: int | None = None,
                pinned: bool = False) -> Limiter:
    """The limiter of an apply: ``concurrency`` pins the level (``--concurrency N``); else
    ``pinned`` pins it at ``ceiling``; else it adapts (AIMD from 8, never above ``ceiling``,
    default 32). A ceiling below 8 is also where it starts."""
    if concurrency is not None:
        if concurrency < 1:
            raise PlanError(f"concurrency must be at least 1, not {concurrency}")
        return FixedLimiter(concurrency)
    top = DEFAULT_CEILING if ceiling is None else int(ceiling)
    if top < 1:
        raise PlanError(f"the concurrency ceiling must be at least 1, not {ceiling}")
    return FixedLimiter(top) if pinned else AdaptiveLimiter(min(DEFAULT_START, top), ceiling=top)


def apply(plan: Plan, workspace: Workspace, client: Any, analyst: str | None,
          on_progress: OnProgress | None = None, concurrency: int | None = None, *,
          limiter: Limiter | None = None, tries: int = 3,
          lease_seconds: float = LEASE_SECONDS, wait_seconds: float = WAIT_SECONDS,
          settle_seconds: float | None = None) -> ApplyResult:
    """Execute ``plan`` (see the module docstring). Safe to re-run and to run at once with any
    other apply, of this plan or another.

    ``client`` is a :class:`~workbench.kleer.client.KleerClient` (needed only when the plan
    writes to Kleer). ``concurrency`` pins how many of its requests are in flight (None:
    adaptive; ``limiter`` gives the limiter itself, see :func:`limiter_for`). ``tries`` bounds
    how often an operation whose write may have landed is tried again (from its check) within
    this call. ``wait_seconds`` bounds how long an operation waits for another apply holding
    one of its employees. ``settle_seconds`` is how long a create whose answer never came may
    still land (default :func:`settle_window`).
    With a client, the records written are read back into the snapshot once every operation
    has settled, and what this batch created is swept for duplicates (see the module docstring).
    """
    if not isinstance(plan, Plan):
        raise PlanError("apply takes a Plan (build one with Workbench.plan, planning.build or Plan.from_json)")
    if client is None and any(op.remote and not op.blocked for op in plan.operations):
        raise PlanError("this plan writes to Kleer but no Kleer connection was given: "
                        "set the connection in Settings and KLEER_TOKEN")
    limiter = limiter or limiter_for(concurrency)
    # the client, gated by the limiter; a stand-in that is not a KleerClient (a test's) is not
    # gated, and gets as many threads as the limiter's level at the start
    gated = client.with_limiter(limiter) if isinstance(client, KleerClient) else client
    started, since = time.monotonic(), utcnow()
    batch_id = batch_id_for(plan.id)
    _open_batch(workspace, plan, batch_id, analyst, heartbeat_until=time.time() + lease_seconds)
    with _BatchHeartbeat(workspace, batch_id, lease_seconds):  # alive until the batch closes
        return _apply_opened(plan, workspace, client, gated, limiter, analyst, on_progress,
                             batch_id, started, since, tries, lease_seconds, wait_seconds,
                             settle_seconds)


def _apply_opened(plan: Plan, workspace: Workspace, client: Any, gated: Any, limiter: Limiter,
                  analyst: str | None, on_progress: OnProgress | None, batch_id: str,
                  started: float, since: str, tries: int, lease_seconds: float,
                  wait_seconds: float, settle_seconds: float | None) -> ApplyResult:
    """:func:`apply` once its batch is open (and its heartbeat beats), up to its closing."""
    me = _Owner.new()
    total, done, ran = len(plan.operations), 0, 0
    elsewhere: list[OpOutcome] = []

    def progress(op: Operation) -> None:
        nonlocal done
        done += 1
        detail = limiter.describe() if op.remote and not op.blocked else ""
        Progress(done, total, op.op_id, detail=detail).send(on_progress)

    final_before = {k for k, row in workspace.journal.of_plan(plan.id).items() if row["status"] in FINAL}
    todo: list[Operation] = []
    for op in plan.operations:
        if op.blocked:
            with workspace.atomic():
                if workspace.journal.row(plan.id, op.op_id) is None:
                    _settle(workspace, plan, op, batch_id, None,
                            _Outcome("skipped", "blocked: " + "; ".join(op.blockers)),
                            time.monotonic(), analyst)
            progress(op)
        else:
            todo.append(op)

    r = _Run(workspace, plan, batch_id, me, gated, analyst, tries, lease_seconds,
             _Directory(gated, FOREIGN_ID_MAX_AGE), settle_window(client, settle_seconds))
    remote = sum(op.remote for op in todo)
    most = getattr(limiter, "ceiling", limiter.level) if gated is not client else limiter.level
    before = _order(todo)
    settled: set[str] = set()
    holders: dict[str, Any] = {}
    busy_since: dict[str, float] = {}
    try:
        with _Heartbeat(workspace, me, lease_seconds), \
                ThreadPoolExecutor(max_workers=max(1, min(remote, most)),
                                   thread_name_prefix="apply") as pool:
            while todo:
                ready = [op for op in todo if all(b in settled for b in before[op.op_id])]
                waiting: list[Operation] = [op for op in todo if op not in ready]
                busy: list[tuple[Operation, Any]] = []
                for op in [op for op in ready if not op.remote]:
                    state, holder = _local_step(r, op)
                    if state == "busy":
                        busy.append((op, holder))
                        continue
                    if state == "final" and op.op_id not in final_before:
                        elsewhere.append(_settled_beside(workspace, plan, op))
                    ran += state == "ran"
                    settled.add(op.op_id)
                    progress(op)
                futures: dict[Future, Operation] = {
                    pool.submit(_work, r, op): op for op in ready if op.remote}
                for fut in as_completed(futures):
                    op = futures[fut]
                    state, info = fut.result()
                    if state == "busy":
                        busy.append((op, info))
                        continue
                    if state == "elsewhere":
                        elsewhere.append(OpOutcome(op.op_id, op.kind, op.hr_id, info[1],
                                                   "skipped", info[0]))
                    elif state == "final" and op.op_id not in final_before:
                        elsewhere.append(_settled_beside(workspace, plan, op))
                    ran += state in ("ran", "elsewhere")
                    settled.add(op.op_id)
                    progress(op)
                now = time.monotonic()
                for op, holder in busy:  # wait for the other apply, up to wait_seconds each
                    holders[op.op_id] = holder
                    if now - busy_since.setdefault(op.op_id, now) <= wait_seconds:
                        waiting.append(op)
                        continue
                    ran += _give_up(r, op, holder)
                    settled.add(op.op_id)
                    progress(op)
                progressed = len(waiting) < len(todo)
                todo = sorted(waiting, key=lambda o: o.seq)
                if todo and not progressed:
                    time.sleep(_POLL_SECONDS)
    finally:
        workspace.subjects.release_owner(me.id)

    end = _end_of_apply(workspace, gated, batch_id, analyst, since) \
        if client is not None else _End()
    result = _result(workspace, plan, batch_id, ran, started, end, tuple(elsewhere),
                     limiter.summary() if remote else None)
    _close_batch(workspace, result, analyst)
    return result



def revert(workspace: Workspace, batch_id: str, client: Any, analyst: str | None,
           on_progress: OnProgress | None = None, concurrency: int | None = None,
           **options: Any) -> ApplyResult:
    """Undo ``batch_id`` through :func:`apply` (the revert is a batch of its own)."""
    return apply(revert_plan(workspace, batch_id, analyst=analyst), workspace, client, analyst,
                 on_progress=on_progress, concurrency=concurrency, **options)
