"""The background apply: started through the Workbench, run by a worker of its own, followed
through the journal by anyone (a second Workbench on the same file is a second browser tab);
the batch always closes."""

from __future__ import annotations

import time

import pytest

from workbench.api import Workbench
from workbench.apply import background
from workbench.normalize import personnummer


def _unlinked(wb: Workbench, n: int) -> list[str]:
    """Unlinked HR employees Kleer does not hold: an export of one it holds by personnummer is
    blocked (the personnummer guard), one whose HR id it carries is linked, not created."""
    rows = wb.export_rows()
    in_kleer = {personnummer(s).value for s in wb.workspace.kleer.frame()["ssn"]} - {None}
    ssn = rows["hr_id"].map(lambda h: personnummer(wb.workspace.hr.get(h)["ssn"]).value)
    carried = set(wb.workspace.kleer.frame()["foreign_id"].dropna())  # linked, not created
    ok = rows[(rows["state"] == "unlinked") & (rows["problems"] == "") & ssn.notna()
              & ~ssn.isin(in_kleer) & ~rows["hr_id"].isin(carried)]
    return ok["hr_id"].head(n).tolist()


@pytest.fixture
def slow_export(demo_workbench, kleer_sim):
    """An export plan of 6 creates against a simulator that answers every call after 250 ms."""
    plan = demo_workbench.plan_export(_unlinked(demo_workbench, 6))
    assert len(plan.runnable) == 6
    kleer_sim.set_faults(latency_ms=250)
    return plan


def test_start_returns_at_once_and_the_journal_shows_the_progress(demo_workbench, slow_export,
                                                                 kleer_sim, workspace_path):
    started = time.monotonic()
    first = demo_workbench.start_apply(slow_export, concurrency=2)
    assert time.monotonic() - started < 2.0  # 6 creates of ≥ 2 calls at 250 ms take longer
    assert first.running and first.total == 6 and first.what == "Export"
    # a second tab: another Workbench on the same file, no handle on the worker's thread
    with Workbench(workspace_path, analyst="Other") as other:
        seen = other.running_applies()
        assert [s.batch_id for s in seen] == [first.batch_id]
        assert seen[0].done < 6
    final = demo_workbench.wait_apply(first.batch_id, timeout=60)
    assert final.state == "done" and final.done == final.total == 6
    assert final.result is not None and final.result.ok
    batch = demo_workbench.workspace.batches.get(first.batch_id)
    assert batch["status"] == "done" and batch["counts"] == {"done": 6}
    assert kleer_sim.state()["writes"]["create_user"] == 6
    assert demo_workbench.running_applies() == []


def test_starting_a_running_plan_again_joins_it(demo_workbench, slow_export, kleer_sim):
    a = demo_workbench.start_apply(slow_export)
    b = demo_workbench.start_apply(slow_export)
    assert a.batch_id == b.batch_id and b.running
    demo_workbench.wait_apply(a.batch_id, timeout=60)
    assert kleer_sim.state()["writes"]["create_user"] == 6  # never twice


def test_the_batch_closes_when_the_apply_itself_raises(demo_workbench, monkeypatch):
    plan = demo_workbench.plan_unlink([])  # nothing to do, no Kleer needed
    real = background.apply

    def broken(plan, ws, *a, **kw):
        real(plan, ws, *a, **kw)  # opens and closes the batch properly...
        ws.batches.open(background.batch_id_for(plan.id), plan_id=plan.id, kind="apply",
                        analyst=None, reverts=None, plan_json=plan.to_json())
        raise RuntimeError("the disk went away")  # ...then reopens it and dies

    monkeypatch.setattr(background, "apply", broken)
    st = demo_workbench.wait_apply(demo_workbench.start_apply(plan).batch_id, timeout=30)
    assert st.state == "incomplete" and "RuntimeError: the disk went away" in st.error
    assert demo_workbench.workspace.batches.get(st.batch_id)["status"] == "incomplete"
    finish = demo_workbench.workspace.audit.frame()
    finish = finish[(finish["event"] == "apply") & (finish["action"] == "finish")].iloc[0]
    assert finish["result"] == "incomplete" and "the disk went away" in finish["detail"]


def test_a_batch_nobody_works_on_reads_as_interrupted(demo_workbench):
    plan = demo_workbench.plan_unlink([])
    ws = demo_workbench.workspace
    ws.batches.open("batch-orphan", plan_id=plan.id, kind="apply", analyst="x", reverts=None,
                    plan_json=plan.to_json())
    st = demo_workbench.apply_status("batch-orphan")
    assert st.state == "interrupted" and not st.running
    assert demo_workbench.running_applies() == []


def test_a_plan_that_needs_kleer_and_has_no_token_does_not_start(demo_workbench, monkeypatch):
    plan = demo_workbench.plan_export(_unlinked(demo_workbench, 1))
    monkeypatch.delenv("KLEER_TOKEN")
    with pytest.raises(Exception, match="no Kleer token"):
        demo_workbench.start_apply(plan)
    assert demo_workbench.batches().empty


def test_another_process_sees_the_apply_running_through_its_read_back(demo_workbench, kleer_sim,
                                                                     workspace_path):
    """After the last operation settled, the apply reads back what it wrote (two slow list
    calls here) holding no pending journal row. Another process (a second Workbench on the same
    file, the apply run without a worker of this process: as `workbench apply` would) still
    sees the batch running, because the batch's heartbeat is renewed until it closes; the lease
    here is shorter than the read-back, so only renewals keep it alive."""
    import threading

    plan = demo_workbench.plan_export(_unlinked(demo_workbench, 1))
    assert len(plan.runnable) == 1
    kleer_sim.set_faults(latency_ms=700)
    batch_id = background.batch_id_for(plan.id)
    results = []
    runner = threading.Thread(target=lambda: results.append(
        demo_workbench.apply(plan, lease_seconds=0.6)))
    with Workbench(workspace_path, analyst="Other") as other:
        runner.start()
        settled_but_open = []
        while runner.is_alive():
            try:
                st = other.apply_status(batch_id)
            except Exception:  # noqa: BLE001 - the batch row is not written yet
                time.sleep(0.02)
                continue
            if st.done == st.total and st.state in ("running", "interrupted"):
                settled_but_open.append(st.state)  # the read-back: every op settled, not closed
            time.sleep(0.05)
        runner.join()
        assert results and results[0].ok
        assert len(settled_but_open) >= 5  # ≥ 1.4 s of read-back, sampled every 50 ms
        assert set(settled_but_open) == {"running"}
        assert other.apply_status(batch_id).state == "done"


def test_a_running_batch_is_interrupted_once_its_heartbeat_ran_out(demo_workbench):
    plan = demo_workbench.plan_unlink([])
    ws = demo_workbench.workspace
    ws.batches.open("batch-beating", plan_id=plan.id, kind="apply", analyst="x", reverts=None,
                    plan_json=plan.to_json(), heartbeat_until=time.time() + 30)
    assert demo_workbench.apply_status("batch-beating").state == "running"  # no pending row needed
    assert [s.batch_id for s in demo_workbench.running_applies()] == ["batch-beating"]
    ws.batches.beat("batch-beating", time.time() - 1)
    assert demo_workbench.apply_status("batch-beating").state == "interrupted"
    assert demo_workbench.running_applies() == []
