"""Applies that run in the background: a worker thread per batch, independent of whoever started
it (a Streamlit script run, a notebook cell), owned by the workspace's journal.

:func:`start` runs :func:`workbench.apply.apply` on a thread of its own, with a workspace
connection of its own, and returns at once. The progress is read back from the journal, not from
the thread (:func:`status`): the batch row says whether it runs, the journal rows of its plan how
far it got. So any reader sees the same thing: the tab that started it, a second tab, a page
opened after a reload, another process. A script run that is interrupted (a click, a page
switch, a closed tab) leaves the worker alone.

The batch always closes: when the apply itself raises, the worker closes the batch as
``incomplete`` with the counts the journal holds and records the error in the audit log.

A worker is registered per batch id in this process (:data:`_JOBS`); starting the same plan
again while its worker runs returns the running one instead of a second thread.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable

from ..concurrency import Limiter
from ..errors import PlanError
from ..model import STATUSES, ApplyResult, Plan
from ..store import Workspace
from .run import _result, apply, batch_id_for
from .settle import _End

__all__ = ["ApplyStatus", "start", "status", "running", "wait", "plan_of"]

#: Settled statuses: an operation in one of these is no longer waiting.
_SETTLED = ("done", "failed", "conflict", "skipped")


@dataclass
class _Job:
    batch_id: str
    plan: Plan
    what: str
    analyst: str | None
    thread: threading.Thread | None = None
    result: ApplyResult | None = None
    error: str | None = None
    finished: threading.Event = field(default_factory=threading.Event)
    detail: str = ""  # the live concurrency and its last change (from the apply's progress)

    @property
    def alive(self) -> bool:
        return not self.finished.is_set()


_JOBS: dict[str, _Job] = {}
_LOCK = threading.Lock()
_TOTALS: dict[str, int] = {}  # batch id -> operations of its plan (read from the batch once)


@dataclass(frozen=True)
class ApplyStatus:
    """Where a batch stands, read from the journal.

    ``state``: ``running`` (a worker here, or the batch's heartbeat, renewed by its apply in
    whichever process from its opening to its closing, has not run out), ``done``,
    ``incomplete`` (finished with failures or conflicts, or the apply raised: ``error``), or
    ``interrupted`` (marked running, but its heartbeat ran out: the process died; re-running
    the plan continues it). ``done`` of ``total`` operations are settled. ``result`` once it finished.
    ``detail``: the live concurrency and the reason of its last change (an apply of this
    process)."""

    batch_id: str
    plan_id: str
    kind: str
    what: str
    analyst: str | None
    started_at: str | None
    finished_at: str | None
    state: str
    done: int
    total: int
    counts: dict[str, int]
    error: str | None = None
    result: ApplyResult | None = None
    detail: str = ""

    @property
    def running(self) -> bool:
        return self.state == "running"

    @property
    def fraction(self) -> float:
        return min(self.done / self.total, 1.0) if self.total else 1.0

    def __str__(self) -> str:
        return f"{self.what} {self.state}: {self.done} of {self.total}"


def _what(plan: Plan) -> str:
    if plan.reverts:
        return "Revert"
    return {"import": "Import", "export": "Export"}.get(plan.side, "Apply")


def start(plan: Plan, workspace: Workspace, client: Any, analyst: str | None, *,
          concurrency: int | None = None, limiter: Limiter | None = None,
          close_client: bool = False, what: str | None = None,
          on_finish: Callable[[ApplyResult | None], None] | None = None) -> ApplyStatus:
    """Run ``plan`` on a worker thread and return its status at once.

    The worker opens its own connection to ``workspace``'s file (an in-memory workspace is
    shared). ``client`` is the Kleer client (None for a plan that does not write Kleer);
    ``close_client`` closes it when the worker ends. ``concurrency`` / ``limiter`` as for
    :func:`~workbench.apply.apply` (None: adaptive). Raises :class:`PlanError` before anything
    starts when the plan needs a client and has none."""
    if not isinstance(plan, Plan):
        raise PlanError("start takes a Plan (build one with Workbench.plan or Plan.from_json)")
    if client is None and any(op.remote and not op.blocked for op in plan.operations):
        raise PlanError("this plan writes to Kleer but no Kleer connection was given: "
                        "set the connection in Settings and KLEER_TOKEN")
    batch_id = batch_id_for(plan.id)
    with _LOCK:
        job = _JOBS.get(batch_id)
        if job is not None and job.alive:
            if close_client and client is not None:
                client.close()
            return status(workspace, batch_id)
        job = _JOBS[batch_id] = _Job(batch_id, plan, what or _what(plan), analyst)
        _TOTALS[batch_id] = len(plan.operations)
        opened = threading.Event()

        def heard(done: int, total: int, op_id: str, detail: str = "") -> None:
            job.detail = detail or job.detail
            opened.set()

        def work() -> None:
            own = workspace.path != ":memory:"
            ws = Workspace(workspace.path) if own else workspace
            try:
                job.result = apply(plan, ws, client, analyst, on_progress=heard,
                                   concurrency=concurrency, limiter=limiter)
            except BaseException as e:  # noqa: BLE001 - the batch closes whatever happened
                job.error = f"{type(e).__name__}: {e}"
                try:
                    _close_after_error(ws, plan, batch_id, analyst, job.error)
                    job.result = _result(ws, plan, batch_id, 0, time.monotonic(), _End(), ())
                except Exception as again:  # noqa: BLE001 - the workspace itself failed
                    job.error += f"; closing the batch failed too: {again}"
            finally:
                opened.set()
                if close_client and client is not None:
                    try:
                        client.close()
                    except Exception:  # noqa: BLE001
                        pass
                if own:
                    ws.close()
                job.finished.set()
                if on_finish is not None:
                    on_finish(job.result)

        job.thread = threading.Thread(target=work, name=f"apply {batch_id}", daemon=False)
        job.thread.start()
    # the batch row exists once the worker opened it (or the first operation reported)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and not opened.is_set():
        if workspace.batches.plan_json(batch_id) is not None:
            break
        time.sleep(0.02)
    return status(workspace, batch_id)


def _close_after_error(ws: Workspace, plan: Plan, batch_id: str, analyst: str | None,
                       error: str) -> None:
    rows = ws.journal.of_plan(plan.id)
    counts = Counter(rows[op.op_id]["status"] if op.op_id in rows else "pending"
                     for op in plan.operations)
    with ws.atomic():
        if ws.batches.plan_json(batch_id) is None:
            ws.batches.open(batch_id, plan_id=plan.id, kind="revert" if plan.reverts else "apply",
                            analyst=analyst, reverts=plan.reverts,
                            plan_json=plan.without_changes().to_json(indent=None))
        ws.batches.close(batch_id, status="incomplete", counts=dict(counts))
        ws.audit.append(event="apply", analyst=analyst, action="finish", batch_id=batch_id,
                        plan_id=plan.id, result="incomplete",
                        detail={**{s: counts[s] for s in STATUSES if counts[s]}, "error": error})


def _total(ws: Workspace, batch_id: str) -> int:
    if batch_id not in _TOTALS:
        text = ws.batches.plan_json(batch_id)
        _TOTALS[batch_id] = len(json.loads(text).get("operations", [])) if text else 0
    return _TOTALS[batch_id]


def status(workspace: Workspace, batch_id: str) -> ApplyStatus:
    """Where ``batch_id`` stands (see :class:`ApplyStatus`); :class:`PlanError` when unknown."""
    job = _JOBS.get(batch_id)
    try:
        batch = workspace.batches.get(batch_id)
    except PlanError:
        if job is None:
            raise
        batch = {"plan_id": job.plan.id, "kind": "revert" if job.plan.reverts else "apply",
                 "analyst": job.analyst, "started_at": None, "finished_at": None,
                 "status": "running", "counts": {}}
    counts, lease = workspace.journal.status_counts(batch["plan_id"])
    total = _total(workspace, batch_id) if job is None else len(job.plan.operations)
    done = sum(counts.get(s, 0) for s in _SETTLED)
    state = batch["status"]
    if state == "running":  # interrupted: no worker here, and its heartbeat ran out
        beat = max(float(batch.get("heartbeat_until") or 0), lease)  # (a lease: older applies)
        alive = (job is not None and job.alive) or beat > time.time()
        state = "running" if alive else "interrupted"
    result = None
    if state not in ("running", "interrupted"):
        result = job.result if job is not None and job.result is not None else _rebuilt(workspace, batch_id)
    what = job.what if job is not None else ("Revert" if batch["kind"] == "revert" else "Apply")
    if job is None and batch["kind"] != "revert":
        text = workspace.batches.plan_json(batch_id)
        side = json.loads(text).get("side") if text else None
        what = {"import": "Import", "export": "Export"}.get(side, what)
    return ApplyStatus(batch_id=batch_id, plan_id=batch["plan_id"], kind=batch["kind"], what=what,
                       analyst=batch["analyst"], started_at=batch["started_at"],
                       finished_at=batch["finished_at"], state=state, done=done, total=total,
                       counts={s: counts[s] for s in STATUSES if counts.get(s)},
                       error=job.error if job is not None else None, result=result,
                       detail=job.detail if job is not None else "")


def _rebuilt(ws: Workspace, batch_id: str) -> ApplyResult | None:
    text = ws.batches.plan_json(batch_id)
    if not text:
        return None
    plan = Plan.from_json(text)
    return _result(ws, plan, batch_id, 0, time.monotonic(), _End(), ())


def running(workspace: Workspace) -> list[ApplyStatus]:
    """Every batch of the workspace that is running now (here or in another process)."""
    found = [status(workspace, b["id"]) for b in workspace.batches.running()]
    known = {s.batch_id for s in found}
    with _LOCK:
        starting = [j.batch_id for j in _JOBS.values() if j.alive and j.batch_id not in known]
    for batch_id in starting:  # started a moment ago, the batch row not written yet
        try:
            found.append(status(workspace, batch_id))
        except PlanError:
            pass
    return [s for s in found if s.running]


def wait(workspace: Workspace, batch_id: str, timeout: float | None = None) -> ApplyStatus:
    """Block until the worker of ``batch_id`` (in this process) has finished, or ``timeout``."""
    job = _JOBS.get(batch_id)
    if job is not None:
        job.finished.wait(timeout)
    return status(workspace, batch_id)


def plan_of(batch_id: str) -> Plan | None:
    """The whole plan (field changes included) of a batch started in this process: what a
    "Retry failed" runs again."""
    job = _JOBS.get(batch_id)
    return job.plan if job is not None else None

