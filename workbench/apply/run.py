"""The apply: a batch per plan, local operations in order, Kleer operations on a bounded pool.

:func:`apply` executes a :class:`~workbench.model.Plan`:

* a ``batches`` row per plan (``batch-<plan hex>``; a re-run of the same plan continues it);
* per operation a ``journal`` row, ``pending`` and committed before any remote call
  (:mod:`.claims`), then settled ``done | failed | conflict | skipped`` with Kleer's answer and
  the time taken, in one local transaction together with the operation's local effects and its
  audit row (:mod:`.settle`);
* Kleer operations (:mod:`.kleer_ops`) run on a thread pool; how many of their requests are
  in flight is the limiter's to say (:func:`limiter_for`): by default an
  :class:`~workbench.concurrency.AdaptiveLimiter` (AIMD from 8 up to its ceiling, 32), pinned
  by ``concurrency=N``; the pool has a thread per place the limiter may open, and every HTTP
  attempt waits in its gate. Workspace writes are serialised by the workspace's lock. ``GET /user/foreign-id/{hr_id}``
  asks again, right before a create, for every operation that may have been written by someone
  else since the foreign-id list was read (tried before, or tried by another plan's apply);
* blocked operations are journaled ``skipped`` with their blockers, never executed.

``on_progress(done, total, op_id)`` (:mod:`workbench.progress`) is called in the calling thread once per
operation, the live concurrency and its last change after the op id (``Progress.detail``); the
batch record and the result keep the limiter's summary (its level, peak, changes and counts). :func:`revert` runs :func:`workbench.planning.revert_plan` through :func:`apply`.
"""

from __future__ import annotations

import time
from collections import Counter
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from typing import Any

from ..concurrency import DEFAULT_CEILING, DEFAULT_START, AdaptiveLimiter, FixedLimiter, Limiter
from ..errors import PlanError
from ..kleer.client import KleerClient
from ..model import STATUSES, ApplyResult, OpOutcome, Operation, Plan
from ..planning import revert_plan
from ..progress import OnProgress
from ..progress import Progress
from ..store import Workspace
from .claims import LEASE_SECONDS, _claim, _Heartbeat, _Owner
from .kleer_ops import _ForeignIds, _remote
from .leave_ops import LEAVE_KINDS, run_leave
from .local import _run_local
from .settle import _Outcome, _refresh_written, _settle

#: Seconds a create trusts the foreign-id list (one ``GET /user``) before it is read again.
FOREIGN_ID_MAX_AGE = 10.0
_POLL_SECONDS = 0.1


def batch_id_for(plan_id: str) -> str:
    """The batch of a plan: one per plan, shared by its re-runs and concurrent applies."""
    return "batch-" + plan_id.removeprefix("plan-")


def _open_batch(ws: Workspace, plan: Plan, batch_id: str, analyst: str | None) -> None:
    with ws.atomic():
        ws.batches.open(batch_id, plan_id=plan.id, kind="revert" if plan.reverts else "apply",
                        analyst=analyst, reverts=plan.reverts,
                        plan_json=plan.without_changes().to_json(indent=None))
        ws.audit.append(event="apply", analyst=analyst, action="start", batch_id=batch_id,
                        plan_id=plan.id, detail={"operations": len(plan.operations),
                                                 "reverts": plan.reverts})


def _result(ws: Workspace, plan: Plan, batch_id: str, ran: int, started: float,
            unrefreshed: tuple[int, ...], concurrency: dict | None = None) -> ApplyResult:
    rows = ws.journal.of_plan(plan.id)
    counts = Counter(rows[op.op_id]["status"] if op.op_id in rows else "pending"
                     for op in plan.operations)
    problems = tuple(
        OpOutcome(op.op_id, op.kind, op.hr_id, r["kleer_id"], r["status"], r["error"],
                  r["answer"] or None, r["attempts"] or 0)
        for op in plan.operations if (r := rows.get(op.op_id)) and r["status"] in ("failed", "conflict"))
    return ApplyResult(batch_id=batch_id, plan_id=plan.id,
                       counts=tuple((s, counts[s]) for s in STATUSES if counts[s]),
                       problems=problems, ran_here=ran, seconds=time.monotonic() - started,
                       reverts=plan.reverts, unrefreshed=unrefreshed, concurrency=concurrency)


def _close_batch(ws: Workspace, result: ApplyResult, analyst: str | None) -> None:
    with ws.atomic():
        ws.batches.close(result.batch_id, status="done" if result.ok else "incomplete",
                         counts=result.counts_dict, concurrency=result.concurrency)
        ws.audit.append(event="apply", analyst=analyst, action="finish", batch_id=result.batch_id,
                        plan_id=result.plan_id, result="done" if result.ok else "incomplete",
                        detail=result.counts_dict)


def _work(ws: Workspace, plan: Plan, op: Operation, batch_id: str, me: _Owner, client: Any,
          analyst: str | None, tries: int, lease: float, foreign_ids: _ForeignIds) -> str:
    """Claim and run one remote operation: 'ran', 'final' (settled by another apply) or 'busy'.
    A create asks Kleer about its foreign-id itself when the list may be out of date for it
    (the claim says so, or this is a retry after a lost answer)."""
    claim = _claim(ws, plan, op, batch_id, me, lease)
    if claim.state != "run":
        return claim.state
    if op.kind in LEAVE_KINDS:  # leave days: their own Kleer calls, the same claim and settle
        return run_leave(ws, plan, op, batch_id, me, client, analyst, tries, claim)
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
          lease_seconds: float = LEASE_SECONDS) -> ApplyResult:
    """Execute ``plan`` (see the module docstring). Safe to re-run and to run twice at once.

    ``client`` is a :class:`~workbench.kleer.client.KleerClient` (needed only when the plan
    writes to Kleer). ``concurrency`` pins how many requests are in flight (None: adaptive;
    ``limiter`` gives the limiter itself, see :func:`limiter_for`). ``tries`` bounds how often an operation whose write may have landed is
    tried again (from its check) within this call. With a client, the records written are read
    back into the snapshot once every operation has settled (see the module docstring).
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
    started = time.monotonic()
    batch_id = batch_id_for(plan.id)
    me = _Owner.new()
    total, done, ran = len(plan.operations), 0, 0

    def progress(op: Operation) -> None:
        nonlocal done
        done += 1
        detail = limiter.describe() if op.remote and not op.blocked else ""
        Progress(done, total, op.op_id, detail=detail).send(on_progress)

    _open_batch(workspace, plan, batch_id, analyst)
    remote: list[Operation] = []
    for op in plan.operations:
        if op.blocked:
            with workspace.atomic():
                if workspace.journal.row(plan.id, op.op_id) is None:
                    _settle(workspace, plan, op, batch_id, None,
                            _Outcome("skipped", "blocked: " + "; ".join(op.blockers)),
                            time.monotonic(), analyst)
            progress(op)
        elif op.remote:
            remote.append(op)
        else:
            ran += _run_local(workspace, plan, op, batch_id, analyst) is not None
            progress(op)

    foreign_ids = _ForeignIds(gated, FOREIGN_ID_MAX_AGE)
    most = getattr(limiter, "ceiling", limiter.level) if gated is not client else limiter.level
    threads = max(1, min(len(remote), most))
    with _Heartbeat(workspace, me, lease_seconds), \
            ThreadPoolExecutor(max_workers=threads, thread_name_prefix="apply") as pool:
        waiting = remote
        while waiting:
            futures: dict[Future, Operation] = {
                pool.submit(_work, workspace, plan, op, batch_id, me, gated, analyst, tries,
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

    unrefreshed = _refresh_written(workspace, gated) if client is not None else ()
    result = _result(workspace, plan, batch_id, ran, started, unrefreshed,
                     limiter.summary() if remote else None)
    _close_batch(workspace, result, analyst)
    return result



def revert(workspace: Workspace, batch_id: str, client: Any, analyst: str | None,
           on_progress: OnProgress | None = None, concurrency: int | None = None, *,
           limiter: Limiter | None = None) -> ApplyResult:
    """Undo ``batch_id`` through :func:`apply` (the revert is a batch of its own)."""
    return apply(revert_plan(workspace, batch_id, analyst=analyst), workspace, client, analyst,
                 on_progress=on_progress, concurrency=concurrency, limiter=limiter)

