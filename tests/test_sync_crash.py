"""Exactly once under crashes and concurrency: a separate `workbench apply` process killed with
SIGKILL midway and finished by a re-run, two processes applying one plan at once, and the claim
rules (a live owner's row is left alone until its lease ends, a dead owner's is taken over)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from workbench import apply as applying
from workbench.apply import claims
from workbench.store import Workspace, to_json

from .sync_support import close_workbench, open_workbench, person, report, tally


def apply_process(plan_path, workspace_path, sim, *, analyst: str) -> subprocess.Popen:
    env = {**os.environ, "KLEER_TOKEN": sim.token, "WORKBENCH_ANALYST": analyst}
    return subprocess.Popen([sys.executable, "-m", "workbench.cli", "apply", str(plan_path),
                             "--workspace", str(workspace_path)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def done_count(workspace_path) -> int:
    with Workspace(workspace_path) as ws:
        return ws.query("SELECT count(*) AS n FROM journal WHERE status = 'done'")[0]["n"]


def assert_each_created_once(sim, wb, hr_ids: list[str]) -> None:
    dump = sim.dump()
    by_foreign_id = Counter(u.get("foreign-id") for u in dump["users"])
    assert {h: by_foreign_id[h] for h in hr_ids} == {h: 1 for h in hr_ids}
    assert len(dump["users"]) == len(hr_ids)
    assert sim.state()["writes"]["create_user"] == len(hr_ids)
    assert len(dump["payroll-user-readables"]) == len(hr_ids)
    ids = {u["foreign-id"]: u["id"] for u in dump["users"]}
    links = {r["hr_id"]: r["kleer_id"] for r in wb.links().to_dict("records")}
    assert links == ids


@pytest.fixture
def exported(workspace_path, kleer_sim, tmp_path):
    """A factory: ``exported(n)`` → (workbench, plan, plan path) for n export-creates into an
    empty Kleer company."""
    opened = []

    def make(n: int):
        hr = [person(i) for i in range(n)]
        wb = open_workbench(workspace_path, kleer_sim, hr, [])
        opened.append(wb)
        wb.decide([{"hr_id": r["hr_id"], "action": "export"} for r in hr])
        plan = wb.plan("export")
        assert len(plan.runnable) == n
        path = tmp_path / "plan.json"
        path.write_text(plan.to_json(), encoding="utf-8")
        return wb, plan, path

    yield make
    for wb in opened:
        close_workbench(wb)


def test_an_apply_killed_midway_is_finished_by_a_rerun_with_every_operation_once(
        exported, workspace_path, kleer_sim, request):
    wb, plan, path = exported(200)
    kleer_sim.set_faults(latency_ms=10)
    proc = apply_process(path, workspace_path, kleer_sim, analyst="first")
    deadline = time.monotonic() + 90
    while done_count(workspace_path) < 40:
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, "the apply process made no progress"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    interrupted = done_count(workspace_path)
    with Workspace(workspace_path) as ws:  # operations in flight when it died: claimed, unsettled
        in_flight = ws.query("SELECT count(*) AS n FROM journal WHERE status = 'pending'")[0]["n"]
    assert in_flight >= 1
    assert 40 <= interrupted < 200
    result = wb.apply(plan)
    assert result.counts_dict == {"done": 200} and result.ok
    assert result.ran_here == 200 - interrupted
    assert_each_created_once(kleer_sim, wb, [f"E{i:04d}" for i in range(200)])
    rows = wb.workspace.query("SELECT status, attempts, owner FROM journal")
    assert len(rows) == 200 and {r["status"] for r in rows} == {"done"}
    assert {r["owner"] for r in rows} == {None}
    assert sum(r["attempts"] == 2 for r in rows) == in_flight  # taken over, finished once
    assert result.unrefreshed == ()  # what the killed apply wrote is read back too
    counts = tally(wb, plan, kleer_sim.dump(), kleer_sim.state(), seeded=0)
    report(request.node.name, {**counts, "done_before_kill": interrupted,
                               "in_flight_at_kill": in_flight, "rerun_ran": result.ran_here})


def test_two_processes_applying_one_plan_do_each_operation_once(exported, workspace_path, kleer_sim,
                                                                 request):
    wb, plan, path = exported(60)
    kleer_sim.set_faults(latency_ms=15)
    procs = [apply_process(path, workspace_path, kleer_sim, analyst=name) for name in ("one", "two")]
    outputs = [p.communicate(timeout=120)[0] for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    assert all("60 done" in out for out in outputs), outputs
    ran = [int(re.search(r"\((\d+) run by this apply\)", out).group(1)) for out in outputs]
    assert sum(ran) == 60
    assert_each_created_once(kleer_sim, wb, [f"E{i:04d}" for i in range(60)])
    assert wb.workspace.query("SELECT count(*) AS n FROM journal")[0]["n"] == 60
    counts = tally(wb, plan, kleer_sim.dump(), kleer_sim.state(), seeded=0)  # both read back
    report(request.node.name, {**counts, "ran_by_each": ran})


def _claimed_row(ws: Workspace, plan, op, *, pid: int, lease: float, host: str | None = None):
    ws.db["journal"].insert({
        "plan_id": plan.id, "op_id": op.op_id, "batch_id": applying.batch_id_for(plan.id),
        "seq": op.seq, "kind": op.kind, "hr_id": op.hr_id, "status": "pending",
        "before": to_json(op.before), "after": to_json(op.after), "attempts": 1,
        "owner": f"{host or 'here'}:{pid}:other", "owner_host": host or claims._HOST, "owner_pid": pid,
        "lease_until": time.time() + lease})


def test_a_row_held_by_a_live_apply_is_left_alone_until_its_lease_ends(exported, kleer_sim):
    wb, plan, _ = exported(2)
    _claimed_row(wb.workspace, plan, plan.operations[0], pid=os.getpid(), lease=1.5)
    started = time.monotonic()
    result = wb.apply(plan)
    assert time.monotonic() - started >= 1.4  # waited for the live owner's lease to run out
    assert result.counts_dict == {"done": 2}
    row = wb.workspace.query("SELECT * FROM journal WHERE op_id = ?", [plan.operations[0].op_id])[0]
    assert row["attempts"] == 2  # taken over once the lease had expired
    assert_each_created_once(kleer_sim, wb, ["E0000", "E0001"])


def test_a_row_held_by_a_dead_process_is_taken_over_at_once(exported, kleer_sim):
    wb, plan, _ = exported(2)
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _claimed_row(wb.workspace, plan, plan.operations[0], pid=dead.pid, lease=60)
    started = time.monotonic()
    result = wb.apply(plan)
    assert time.monotonic() - started < 30
    assert result.counts_dict == {"done": 2} and result.ran_here == 2
    assert_each_created_once(kleer_sim, wb, ["E0000", "E0001"])


def test_a_claim_from_another_host_counts_until_its_lease_ends(exported):
    wb, plan, _ = exported(1)
    _claimed_row(wb.workspace, plan, plan.operations[0], pid=1, lease=0.5, host="elsewhere")
    row = wb.workspace.query("SELECT * FROM journal")[0]
    assert claims._owner_alive(row, time.time())
    assert not claims._owner_alive(row, time.time() + 1)
