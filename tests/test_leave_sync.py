"""Leave export end to end over HTTP against the Kleer simulator: load the file, plan (the
expansion with part-time and holidays, blocks), apply through the one sync module (journal,
audit, exactly once across reruns, lost answers and a SIGKILL), change and cancel, locked
periods, revert; and the CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from workbench.cli import main
from workbench.store import Workspace

from .sync_support import close_workbench, kleer_json, open_workbench, person

HEAD = "Frånvaro-ID;Anställd-ID;Frånvarotyp;Från och med;Till och med;Omfattning;Status;Barn;Kommentar\n"


def leave_file(tmp_path, text: str, name: str = "leave.csv"):
    path = tmp_path / name
    path.write_text(HEAD + text, encoding="utf-8")
    return path


@pytest.fixture
def company(workspace_path, kleer_sim):
    """HR E0000–E0003 in the workspace; Kleer users 1–3 for E0000–E0002 (E0003 is not in
    Kleer), all linked; user 2 works half time, user 3 four days a week (Mon–Thu)."""
    hr = [person(i) for i in range(4)]
    pairs = [kleer_json(hr[i], i + 1) for i in range(3)]
    wb = open_workbench(workspace_path, kleer_sim, hr, pairs)
    for i in range(3):
        wb.workspace.links.add(hr[i]["hr_id"], i + 1, analyst="Ada", method="test", score=None,
                               batch_id=None)
    kleer_sim.leave(schedules=[{"user": 2, "level": 0.5}, {"user": 3, "weekdays": "1234"}])
    yield wb
    close_workbench(wb)


def events(sim) -> dict[str, dict]:
    """Kleer's events by foreign-id (each asserted to be there once)."""
    listed = sim.leave()["events"]
    per_key = Counter(e["foreign-id"] for e in listed)
    assert all(n == 1 for n in per_key.values()), per_key
    return {e["foreign-id"]: e for e in listed}


def test_plan_expands_each_leave_with_part_time_and_holidays_and_blocks_the_unlinked(company, kleer_sim, tmp_path):
    wb = company
    # week 20 of 2026: Kristi himmelsfärdsdag is Thursday 14 May
    wb.load_leave(leave_file(tmp_path, "L1;E0000;Sjuk;2026-05-11;2026-05-15;;;;\n"
                                       "L2;E0001;Semester;2026-05-11;2026-05-15;50;;;\n"
                                       "L3;E0002;VAB;2026-05-11;2026-05-15;;;Alva;\n"
                                       "L4;E0003;Sjuk;2026-05-11;2026-05-12;;;;\n"))
    plan = wb.plan("leave", month="2026-05")
    dry = wb.leave_dry_run(plan)
    days = {(r.leave_id, r.date): r.hours for r in dry.itertuples() if not r.blocked}
    assert days == {
        **{("L1", f"2026-05-{d}"): 8.0 for d in (11, 12, 13, 15)},          # the holiday skipped
        **{("L2", f"2026-05-{d}"): 2.0 for d in (11, 12, 13, 15)},          # 50 % of a half-time 4 h
        **{("L3", f"2026-05-{d}"): 8.0 for d in (11, 12, 13)}}              # Mon–Thu, no Thursday 14
    assert set(dry[dry["leave_id"] == "L3"]["child"]) == {"Alva"}
    (blocked,) = [op for op in plan.operations if op.blocked]
    assert blocked.hr_id == "E0003" and "link the employee first" in blocked.blockers[0]
    create = plan.operation("leave:create:hr:L2:2026-05-11")
    assert (create.kind, create.kleer_id, create.after["foreign_id"], create.after["activity"]) == (
        "leave_create", 2, "hr:L2:2026-05-11", "Semester")
    assert kleer_sim.leave()["writes"] == {}  # a plan writes nothing


def test_each_bad_input_is_refused_per_row_and_kept_out_of_the_plan(company, kleer_sim, tmp_path):
    wb = company
    result = wb.load_leave(leave_file(tmp_path, "B1;E0000;Friskvård;2026-11-02;2026-11-02;;;;\n"
                                                "B2;E0000;Sjuk;2026-11-05;2026-11-04;;;;\n"
                                                "B3;E0001;Sjuk;2026-11-02;2026-11-06;;;;\n"
                                                "B4;E0001;Semester;2026-11-05;2026-11-09;;;;\n"
                                                "B5;E0002;Sjuk;2026-11-02;2026-11-02;120;;;\n"
                                                "B6;E0099;Sjuk;2026-11-02;2026-11-02;;;;\n"
                                                "B7;E0002;Sjuk;2026-11-10;2026-11-10;;;;\n"))
    problems = {(r.row, r.column): r.message for r in result.problems.itertuples()}
    assert "add 'Friskvård' to the leave-type mapping" in problems[(2, "Frånvarotyp")]
    assert "before the start date" in problems[(3, "Till och med")]
    assert "overlaps leave B4" in problems[(4, "Från och med")] and "overlaps leave B3" in problems[(5, "Från och med")]
    assert "outside 1–100 %" in problems[(6, "Omfattning")]
    assert "'E0099' is not in the HR register" in problems[(7, "Anställd-ID")]
    plan = wb.plan("leave", month="2026-11")
    reasons = {op.op_id.removeprefix("leave:blocked:"): op.blockers[0] for op in plan.operations if op.blocked}
    assert set(reasons) == {"B1", "B2", "B3", "B4", "B5", "B6"}
    assert "leave-types --set 'Friskvård=OtherLeave'" in reasons["B1"]
    assert [op.op_id for op in plan.runnable] == ["leave:create:hr:B7:2026-11-10"]
    # the mapping is data: mapped now, the next plan takes the leave without a reload (audited)
    wb.update_leave_types(["Friskvård=OtherLeave"])
    again = wb.plan("leave", month="2026-11", ids=["B1"])
    assert [op.after["activity"] for op in again.runnable] == ["Övrig frånvaro"]
    audit = wb.workspace.query("SELECT before, after FROM audit WHERE action = 'leave_types'")
    assert json.loads(audit[0]["after"]) == {"friskvård": {"hr_type": "Friskvård", "kleer_type": "OtherLeave",
                                                           "activity": "Övrig frånvaro", "needs_child": False}}


def test_apply_writes_each_day_once_journaled_and_audited_and_a_rerun_sends_nothing(company, kleer_sim, tmp_path):
    wb = company
    wb.load_leave(leave_file(tmp_path, "L1;E0000;Sjuk;2026-11-02;2026-11-04;;;;Förkyld\n"
                                       "L2;E0001;Föräldraledighet;2026-11-02;2026-11-06;50;;Alva;\n"))
    plan = wb.plan("leave", month="2026-11")
    result = wb.apply(plan)
    assert result.counts_dict == {"done": 8} and result.ok
    held = events(kleer_sim)
    assert sorted(held) == sorted(op.after["foreign_id"] for op in plan.operations)
    assert held["hr:L1:2026-11-02"]["comment"] == "Förkyld" and held["hr:L2:2026-11-03"]["hours"] == 2.0
    assert held["hr:L2:2026-11-03"]["child"] == "Alva"
    journal = wb.workspace.query("SELECT status, answer FROM journal WHERE plan_id = ?", [plan.id])
    assert {r["status"] for r in journal} == {"done"} and len(journal) == 8
    assert {json.loads(r["answer"])["event_id"] for r in journal} == {e["id"]["id"] for e in held.values()}
    audited = wb.workspace.query("SELECT count(*) AS n FROM audit WHERE event = 'operation' "
                                 "AND result = 'done' AND plan_id = ?", [plan.id])[0]["n"]
    assert audited == 8
    assert wb.kleer_employees().shape[0] == 3  # the employee snapshot is left alone
    writes = kleer_sim.leave()["writes"]
    assert writes == {"create_event": 8}
    rerun = wb.plan("leave", month="2026-11")
    assert rerun.operations == () and rerun.counts_dict["days_unchanged"] == 8
    assert wb.apply(plan).ran_here == 0  # the same plan again: nothing is run twice
    assert kleer_sim.leave()["writes"] == writes
    rows = wb.leave_rows().set_index("leave_id")
    assert rows.loc["L1", "state"] == "exported" and rows.loc["L1", "days_in_kleer"] == 3


def test_a_create_whose_answer_is_lost_is_found_by_its_key_not_written_again(company, kleer_sim, tmp_path):
    wb = company
    wb.load_leave(leave_file(tmp_path, "L1;E0000;Sjuk;2026-11-02;2026-11-06;;;;\n"))
    plan = wb.plan("leave", month="2026-11")
    kleer_sim.set_faults(write_then_fail=1.0, write_fail_mode="drop")  # stored, answer lost
    result = wb.apply(plan)
    kleer_sim.clear_faults()
    assert result.counts_dict == {"done": 5}
    assert len(events(kleer_sim)) == 5 and kleer_sim.leave()["writes"] == {"create_event": 5}
    answers = [json.loads(r["answer"]) for r in wb.workspace.query("SELECT answer FROM journal")]
    assert all(a["found"] for a in answers)


def test_change_and_cancel_update_and_delete_the_days_in_kleer(company, kleer_sim, tmp_path):
    wb = company
    wb.load_leave(leave_file(tmp_path, "L1;E0000;Sjuk;2026-11-02;2026-11-06;;;;\n"
                                       "L2;E0001;Semester;2026-11-09;2026-11-10;;;;\n"))
    wb.apply(wb.plan("leave", month="2026-11"))
    wb.load_leave(leave_file(tmp_path, "L1;E0000;Sjuk;2026-11-02;2026-11-03;50;;;\n"
                                       "L2;E0001;Semester;2026-11-09;2026-11-10;;Makulerad;;\n", "v2.csv"))
    plan = wb.plan("leave", month="2026-11")
    kinds = Counter(op.kind for op in plan.runnable)
    assert kinds == {"leave_update": 2, "leave_delete": 5}
    update = plan.operation(next(op.op_id for op in plan.runnable if op.kind == "leave_update"))
    assert (update.before["hours"], update.after["hours"]) == (8.0, 4.0)
    assert wb.apply(plan).counts_dict == {"done": 7}
    held = events(kleer_sim)
    assert {k: e["hours"] for k, e in held.items()} == {"hr:L1:2026-11-02": 4.0, "hr:L1:2026-11-03": 4.0}
    assert wb.plan("leave", month="2026-11").operations == ()


def test_a_locked_day_is_a_conflict_with_kleers_reason_never_retried(company, kleer_sim, tmp_path):
    wb = company
    wb.load_leave(leave_file(tmp_path, "L1;E0000;Sjuk;2026-11-02;2026-11-04;;;;\n"))
    kleer_sim.leave(statuses=[{"user": 1, "from": "2026-11-02", "type": "Approved"}])
    plan = wb.plan("leave", month="2026-11")
    (locked,) = [op for op in plan.operations if op.blocked]
    assert locked.blockers[0].startswith("conflict: Kleer has 2026-11-02 as Approved")
    kleer_sim.leave(statuses=[{"user": 1, "from": "2026-11-03", "type": "Certified"}])  # after the plan
    result = wb.apply(plan)
    assert result.counts_dict == {"done": 1, "conflict": 1, "skipped": 1}
    (problem,) = result.problems
    assert problem.status == "conflict" and "2026-11-03 as Certified" in problem.reason
    assert "Kleer answered: The event date 2026-11-03 is Certified" in problem.reason
    assert sorted(events(kleer_sim)) == ["hr:L1:2026-11-04"]
    writes = kleer_sim.leave()["writes"]
    assert wb.apply(plan).ran_here == 0 and kleer_sim.leave()["writes"] == writes  # final, not retried
    rows = wb.leave_rows().set_index("leave_id")
    assert rows.loc["L1", "last"].startswith("conflict: Kleer has 2026-11-02 as Approved")
    assert rows.loc["L1", "last"].endswith("(and 1 more)") and rows.loc["L1", "days_in_kleer"] == 1


def test_revert_deletes_created_days_and_writes_changed_ones_back(company, kleer_sim, tmp_path):
    wb = company
    wb.load_leave(leave_file(tmp_path, "L1;E0000;Sjuk;2026-11-02;2026-11-03;;;;\n"))
    first = wb.apply(wb.plan("leave", month="2026-11"))
    wb.load_leave(leave_file(tmp_path, "L1;E0000;Sjuk;2026-11-02;2026-11-02;25;;;\n", "v2.csv"))
    second = wb.apply(wb.plan("leave", month="2026-11"))
    assert second.counts_dict == {"done": 2}
    preview = wb.revert_plan(second.batch_id)
    assert Counter(op.kind for op in preview.operations) == {"leave_update": 1, "leave_create": 1}
    assert wb.revert(second.batch_id).counts_dict == {"done": 2}
    assert {k: e["hours"] for k, e in events(kleer_sim).items()} == {"hr:L1:2026-11-02": 8.0,
                                                                   "hr:L1:2026-11-03": 8.0}
    assert wb.revert(first.batch_id).ok
    assert events(kleer_sim) == {}


def _done(workspace_path) -> int:
    with Workspace(workspace_path) as ws:
        return ws.query("SELECT count(*) AS n FROM journal WHERE status = 'done'")[0]["n"]


def test_cli_load_plan_apply_killed_midway_then_rerun_each_day_exactly_once(workspace_path, kleer_sim,
                                                                             tmp_path, capsys):
    n = 40
    hr = [person(i) for i in range(n)]
    wb = open_workbench(workspace_path, kleer_sim, hr, [kleer_json(r, i + 1) for i, r in enumerate(hr)])
    for i, r in enumerate(hr):
        wb.workspace.links.add(r["hr_id"], i + 1, analyst="Ada", method="test", score=None, batch_id=None)
    close_workbench(wb)
    path = leave_file(tmp_path, "".join(f"L{i};E{i:04d};Semester;2026-11-09;2026-11-13;;;;\n" for i in range(n)))
    os.environ["KLEER_TOKEN"] = kleer_sim.token
    try:
        assert main(["load-leave", str(path), "--workspace", str(workspace_path)]) == 0
        assert f"{n} leaves loaded ({n} new" in capsys.readouterr().out
        plan_path = tmp_path / "plan.json"
        assert main(["plan", "--side", "leave", "--month", "2026-11", "--out", str(plan_path),
                     "--workspace", str(workspace_path)]) == 0
        out = capsys.readouterr().out
        assert f"{5 * n} operation(s) to run: {5 * n} leave_create" in out and "hr:L0" not in out
        assert "L0" in out and "Semester" in out  # the dry run per employee and leave
    finally:
        del os.environ["KLEER_TOKEN"]
    kleer_sim.set_faults(latency_ms=10)
    env = {**os.environ, "KLEER_TOKEN": kleer_sim.token, "WORKBENCH_ANALYST": "first"}
    proc = subprocess.Popen([sys.executable, "-m", "workbench.cli", "apply", str(plan_path),
                             "--workspace", str(workspace_path)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 90
    while _done(workspace_path) < 40:
        assert proc.poll() is None, proc.stdout.read()
        assert time.monotonic() < deadline, "the apply made no progress"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    interrupted = _done(workspace_path)
    assert 40 <= interrupted < 5 * n
    kleer_sim.clear_faults()
    rerun = subprocess.run([sys.executable, "-m", "workbench.cli", "apply", str(plan_path),
                            "--workspace", str(workspace_path)], env=env, capture_output=True,
                           text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stdout + rerun.stderr
    assert f"{5 * n} done" in rerun.stdout
    held = events(kleer_sim)  # each day exactly once
    assert len(held) == 5 * n and kleer_sim.leave()["writes"]["create_event"] == 5 * n
    with Workspace(workspace_path) as ws:
        rows = ws.query("SELECT status, owner FROM journal")
    assert len(rows) == 5 * n and {(r["status"], r["owner"]) for r in rows} == {("done", None)}


def test_the_demo_workspace_holds_the_demo_leave_file(tmp_path):
    from workbench.api import Workbench
    from workbench.launcher import ensure_demo_workspace

    path = tmp_path / "demo.db"
    lines: list[str] = []
    assert ensure_demo_workspace(str(path), log=lines.append)
    assert "19 leaves loaded (19 new" in lines[0] and "unknown leave types: Friskvårdstimme" in lines[0]
    with Workbench(path) as wb:
        rows = wb.leave_rows()
    assert len(rows) == 19 and set(rows["status"]) == {"approved", "cancelled"}
    assert rows.set_index("leave_id").loc["F202611-014", ["extent", "child"]].tolist() == ["50 %", "Alva"]
