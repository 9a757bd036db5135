"""The claim per employee across plans, the foreign-id kept in Kleer, relink's report and the
conflict values, against the simulator over real HTTP (the interleavings themselves are in
tests/test_once_scenarios.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from workbench.apply import claims
from workbench.cli import main as cli_main
from workbench.duplicates import ssn_key

from .sync_support import close_workbench, kleer_json, kleer_record, open_workbench, person


@pytest.fixture
def wb(workspace_path, kleer_sim):
    """HR E0000..E0004; Kleer 1 = E0000's person without foreign-id, 2 = E0001's person
    carrying foreign-id E0099 (another HR id). Nothing linked."""
    hr = [person(i) for i in range(5)]
    pairs = [kleer_json(hr[0], 1, foreign_id=False), kleer_json(hr[1], 2, **{"foreign-id": "E0099"})]
    w = open_workbench(workspace_path, kleer_sim, hr, pairs)
    yield w
    close_workbench(w)


def _hold(ws, subject: str, *, pid: int, lease: float, batch: str = "batch-other") -> None:
    """A claim on ``subject`` by another apply (process ``pid``), as its claim would leave it."""
    with ws.atomic():
        ws.subjects.take([subject], {"plan_id": "plan-other", "op_id": "export:x:kleer_create",
                                     "batch_id": batch, "owner": f"{claims._HOST}:{pid}:other",
                                     "owner_host": claims._HOST, "owner_pid": pid,
                                     "lease_until": time.time() + lease, "claimed_at": "now"})


def test_personnummer_keys_read_10_and_12_digits_and_samordningsnummer_alike():
    assert ssn_key("19730808-9478") == ssn_key("730808-9478") == ssn_key("197308089478") \
        == "197308089478"
    assert ssn_key("19730868-9475") == "197308689475"  # day + 60: a samordningsnummer
    assert ssn_key("19730808-9479") is None and ssn_key(None) is None


def test_an_employee_another_live_apply_holds_is_waited_for_then_failed_with_a_reason(wb, kleer_sim):
    _hold(wb.workspace, "hr:E0003", pid=os.getpid(), lease=60)
    wb.decide(hr_id="E0003", action="export")
    plan = wb.plan("export", ["E0003"])
    started = time.monotonic()
    result = wb.apply(plan, wait_seconds=0.5)
    assert 0.5 <= time.monotonic() - started < 10
    assert result.counts_dict == {"failed": 1}
    [problem] = result.problems
    assert problem.reason.startswith("another apply holds this employee: another apply "
                                     "(batch batch-other, operation export:x:kleer_create)")
    assert kleer_sim.state()["writes"] == {}  # never run beside it
    wb.workspace.subjects.release_owner(f"{claims._HOST}:{os.getpid()}:other")
    assert wb.apply(plan).counts_dict == {"done": 1}  # a re-run does it once it is free


def test_a_dead_applys_claim_on_an_employee_is_taken_over_at_once(wb, kleer_sim):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    _hold(wb.workspace, "hr:E0003", pid=dead.pid, lease=60)
    wb.decide(hr_id="E0003", action="export")
    result = wb.apply(wb.plan("export", ["E0003"]), wait_seconds=30)
    assert result.counts_dict == {"done": 1} and result.seconds < 10
    assert wb.workspace.subjects.held() == []  # released when settled


def test_a_local_operation_waits_for_the_apply_holding_its_employee(wb, kleer_sim):
    wb.workspace.links.add("E0004", 1, analyst="Ada", method="manual")
    _hold(wb.workspace, "kleer:1", pid=os.getpid(), lease=60)
    wb.decide(hr_id="E0004", action="unlink")
    result = wb.apply(wb.plan("export", ["E0004"]), wait_seconds=0.3)
    assert result.counts_dict == {"failed": 1} and "another apply holds" in result.problems[0].reason
    assert wb.workspace.links.of(hr_id="E0004") is not None  # not unlinked beside the other


def test_prefer_hr_keeps_the_link_in_kleer_through_the_journal(wb, kleer_sim):
    wb.decide(kleer_id=1, action="prefer_hr", hr_id="E0000")
    plan = wb.plan("import", [1])
    assert [(op.kind, op.before, op.after) for op in plan.operations] == \
        [("link", {}, {}), ("kleer_link", {"hr_id": None}, {"hr_id": "E0000"})]
    assert "kleer_link" in plan.summary()
    result = wb.apply(plan)
    assert result.counts_dict == {"done": 2}
    assert kleer_record(kleer_sim, 1)["hr_id"] == "E0000"
    audit = wb.audit()
    assert list(audit[audit["event"] == "operation"]["action"]) == ["kleer_link", "link"]


def test_a_strict_kleer_gets_the_whole_user_with_the_foreign_id(workspace_path, kleer_sim):
    hr = [person(0)]
    seed = [kleer_json(hr[0], 1, foreign_id=False)]
    w = open_workbench(workspace_path, kleer_sim, hr, seed)
    kleer_sim.reset({"company": {"id": 1, "name": "Test AB"}, "users": [seed[0][0]],
                     "payroll-user-readables": [seed[0][1]]}, dialect="strict")
    try:
        w.decide(kleer_id=1, action="match_manually", hr_id="E0000", prefer="hr")
        assert w.apply(w.plan("import", [1])).counts_dict == {"done": 2}
        user = next(u for u in kleer_sim.dump()["users"] if u["id"] == 1)
        assert user["foreign-id"] == "E0000" and user["name"] == seed[0][0]["name"]
        assert user["email"] == seed[0][0]["email"] and user["active"] is True
    finally:
        close_workbench(w)


def test_a_kleer_user_with_another_foreign_id_is_a_conflict_not_an_overwrite(wb, kleer_sim):
    wb.decide(kleer_id=2, action="prefer_hr", hr_id="E0001")
    plan = wb.plan("import", [2])
    [write] = [op for op in plan.operations if op.kind == "kleer_link"]
    assert "carries foreign-id E0099" in write.warnings[0]
    result = wb.apply(plan)
    assert result.counts_dict == {"done": 1, "conflict": 1}
    [problem] = result.problems
    assert problem.reason.startswith("Kleer user 2 carries foreign-id E0099, not E0001")
    assert "HR id: snapshot E0099, plan E0001, now E0099" in problem.reason
    assert kleer_record(kleer_sim, 2)["hr_id"] == "E0099" and kleer_sim.state()["writes"] == {}


def test_the_next_export_after_an_unlink_links_instead_of_creating(wb, kleer_sim):
    wb.decide(hr_id="E0003", action="export")
    assert wb.apply(wb.plan("export", ["E0003"])).ok
    kid = wb.workspace.links.of(hr_id="E0003")["kleer_id"]
    assert wb.unlink(["E0003"]).ok
    assert next(u for u in kleer_sim.dump()["users"] if u["id"] == kid)["foreign-id"] == "E0003"
    wb.decide(hr_id="E0003", action="export")
    again = wb.plan("export", ["E0003"])
    [op] = again.operations
    assert not op.blocked and "apply links it instead" in op.warnings[0]
    assert wb.apply(again).counts_dict == {"done": 1}
    assert wb.workspace.links.of(hr_id="E0003")["kleer_id"] == kid
    assert kleer_sim.state()["writes"]["create_user"] == 1  # linked, not created again


def test_relink_reports_what_disagrees_and_changes_nothing_in_kleer(wb, kleer_sim):
    with kleer_sim.client() as c:
        c.update_user_full(c.get_user(1), {"foreign-id": "E0000"})
    wb.workspace.links.add("E0000", 2, analyst="Ada", method="manual")  # disagrees with Kleer
    writes = kleer_sim.state()["writes"]
    result = wb.relink()
    assert result.found == () and result.unmatched == ((2, "E0099"),)
    assert result.disagreeing == ("HR employee E0000 is linked to Kleer user 2, but Kleer user 1 "
                                  "carries its HR id",)
    assert kleer_sim.state()["writes"] == writes
    assert "1 disagreeing" in str(result)


def test_the_cli_prints_a_conflicts_values_and_relinks(wb, kleer_sim, workspace_path, monkeypatch,
                                                       capsys, tmp_path):
    wb.workspace.links.add("E0000", 1, analyst="Ada", method="manual")
    wb.workspace.hr.update("E0000", {"phone": "+46701234567"})
    wb.decide(hr_id="E0000", action="export")
    plan = wb.plan("export", ["E0000"])
    wb.workspace.hr.update("E0000", {"phone": "+46707654321"})  # HR loaded again
    path = tmp_path / "plan.json"
    path.write_text(plan.to_json(), encoding="utf-8")
    monkeypatch.setenv("KLEER_TOKEN", kleer_sim.token)
    code = cli_main(["apply", str(path), "--workspace", str(workspace_path), "--analyst", "Ada"])
    out = capsys.readouterr().out
    assert code == 3
    [row] = [line for line in out.splitlines() if line.startswith("export:E0000:kleer_update")]
    assert "conflict" in row.split()
    assert "Phone: plan +46701234567, now +46707654321" in out
    assert kleer_record(kleer_sim, 1)["phone"] != "+46701234567"  # the stale value not written
    audit = wb.audit()
    row = audit[(audit["event"] == "operation") & (audit["result"] == "conflict")].iloc[0]
    assert "Phone: plan +46701234567, now +46707654321" in row["detail"]["reason"]
    code = cli_main(["relink", "--workspace", str(workspace_path), "--analyst", "Ada"])
    assert code == 0 and "relink: 0 linked" in capsys.readouterr().out


def test_one_plan_applied_twice_at_once_says_which_rows_the_other_apply_did(wb, kleer_sim,
                                                                             workspace_path):
    import threading

    from workbench import apply as applying
    from workbench.store import Workspace

    wb.decide([{"hr_id": h, "action": "export"} for h in ("E0002", "E0003", "E0004")])
    plan = wb.plan("export", ["E0002", "E0003", "E0004"])
    kleer_sim.set_faults(latency_ms=30)
    results = []

    def run() -> None:
        with Workspace(workspace_path) as ws, kleer_sim.client() as client:
            results.append(applying.apply(plan, ws, client, "tab", concurrency=1))

    tabs = [threading.Thread(target=run) for _ in range(2)]
    for t in tabs:
        t.start()
    for t in tabs:
        t.join(timeout=60)
    assert [r.counts_dict for r in results] == [{"done": 3}] * 2
    assert sum(r.ran_here for r in results) == 3  # each operation once, by one of them
    for r in results:  # and each result says which ones the other did
        assert r.ran_here + len(r.elsewhere) == 3
        assert all(o.reason.startswith("done by another apply of this plan") for o in r.elsewhere)
    assert kleer_sim.state()["writes"]["create_user"] == 3


def test_the_sources_relink_button_rebuilds_links_and_says_what_it_found(demo_workbench):
    from tests.conftest import open_page

    wb = demo_workbench
    carried = {r["foreign_id"]: int(r["kleer_id"]) for r in wb.workspace.kleer.frame().to_dict("records")
               if r["foreign_id"] and wb.workspace.hr.get(r["foreign_id"]) is not None}
    assert carried and wb.counts()["linked"] == 0  # the demo's Kleer carries some HR ids
    at = open_page("pages/sources.py")
    at.button(key="relink").click().run()
    assert not at.exception, at.exception
    shown = [m.value.replace("\\", "").replace("\u2060", "")  # shown as text: escaped
             for m in (*at.success, *at.warning)]
    assert any(f"relink: {len(carried)} linked from Kleer's foreign-ids" in t for t in shown), shown
    assert {h: wb.workspace.links.of(hr_id=h)["kleer_id"] for h in carried} == carried
