"""The CLI over decisions → plan → apply → revert → audit: `workbench plan`, `apply`, `batches`,
`revert`, `audit`, with exit codes that say whether everything was applied."""

from __future__ import annotations

import csv
import io
import json

import pytest

from workbench.cli import EXIT_INCOMPLETE, main
from workbench.model import Plan

from .sync_support import close_workbench, kleer_json, kleer_record, open_workbench, person


@pytest.fixture
def ws(workspace_path, kleer_sim, monkeypatch):
    """A workspace file: HR E0000..E0002 (E0000 linked to Kleer 1, which has another salary);
    export decided for all three. The CLI finds Kleer through the settings and KLEER_TOKEN."""
    hr = [person(i) for i in range(3)]
    wb = open_workbench(workspace_path, kleer_sim, hr, [kleer_json(hr[0], 1, **{"monthly-salary": 1})])
    wb.workspace.links.add("E0000", 1, analyst="Ada", method="manual")
    wb.decide([{"hr_id": h["hr_id"], "action": "export"} for h in hr])
    close_workbench(wb)
    monkeypatch.setenv("KLEER_TOKEN", kleer_sim.token)
    monkeypatch.setenv("WORKBENCH_ANALYST", "Cli Analyst")
    return workspace_path


def test_plan_apply_batches_revert_and_audit_from_the_terminal(ws, tmp_path, kleer_sim, capsys):
    plan_path, ops_csv = tmp_path / "plan.json", tmp_path / "ops.csv"
    assert main(["plan", "--side", "export", "--out", str(plan_path), "--csv", str(ops_csv),
                 "--workspace", str(ws)]) == 0
    out = capsys.readouterr().out
    assert "3 operation(s) to run: 2 kleer_create, 1 kleer_update" in out
    plan = Plan.from_json(plan_path.read_text(encoding="utf-8"))
    rows = list(csv.DictReader(io.StringIO(ops_csv.read_text(encoding="utf-8-sig"))))
    assert [r["op_id"] for r in rows] == [op.op_id for op in plan.operations]
    ssn = person(1)["ssn"]
    assert ssn not in ops_csv.read_text(encoding="utf-8-sig") and ssn in plan_path.read_text()

    assert main(["apply", str(plan_path), "--workspace", str(ws)]) == 0
    out = capsys.readouterr().out
    assert "[3/3]" in out and "3 done" in out
    assert kleer_record(kleer_sim, 1)["monthly_salary"] == person(0)["monthly_salary"]
    assert kleer_sim.state()["writes"]["create_user"] == 2

    assert main(["apply", str(plan_path), "--workspace", str(ws)]) == 0  # again: nothing twice
    assert "(0 run by this apply)" in capsys.readouterr().out
    assert kleer_sim.state()["writes"]["create_user"] == 2

    assert main(["batches", "--workspace", str(ws)]) == 0
    batch = "batch-" + plan.id.removeprefix("plan-")
    assert batch in capsys.readouterr().out

    assert main(["revert", batch, "--preview", "--workspace", str(ws)]) == 0
    assert "5 operation(s) to run: 3 kleer_update, 2 unlink" in capsys.readouterr().out
    assert kleer_record(kleer_sim, 1)["monthly_salary"] == person(0)["monthly_salary"]
    assert main(["revert", batch, "--workspace", str(ws)]) == 0
    assert "5 done" in capsys.readouterr().out
    assert kleer_record(kleer_sim, 1)["monthly_salary"] == 1

    audit = tmp_path / "audit.json"
    assert main(["audit", "--out", str(audit), "--workspace", str(ws)]) == 0
    assert "masked" in capsys.readouterr().out
    entries = json.loads(audit.read_text(encoding="utf-8"))
    assert {e["analyst"] for e in entries if e["event"] == "operation"} == {"Cli Analyst"}
    assert ssn not in audit.read_text(encoding="utf-8")
    assert main(["audit", "--out", str(audit), "--reveal", "--workspace", str(ws)]) == 0
    assert "REVEALED" in capsys.readouterr().out and ssn in audit.read_text(encoding="utf-8")


def test_apply_exits_non_zero_and_lists_conflicts(ws, tmp_path, kleer_sim, capsys):
    plan_path = tmp_path / "plan.json"
    assert main(["plan", "--side", "export", "--ids", "E0000", "--out", str(plan_path),
                 "--workspace", str(ws)]) == 0
    with kleer_sim.client() as colleague:
        colleague.upsert_contract(1, {"phone": "+46708887766"})
    capsys.readouterr()
    assert main(["apply", str(plan_path), "--workspace", str(ws)]) == EXIT_INCOMPLETE
    out = capsys.readouterr().out
    assert "1 conflict" in out and "changed in Kleer since the snapshot (Phone)" in out
    assert "plan again" in out


def test_a_missing_or_broken_plan_file_is_one_readable_error(ws, tmp_path, capsys):
    assert main(["apply", str(tmp_path / "nope.json"), "--workspace", str(ws)]) == 1
    assert "cannot read the plan" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    assert main(["apply", str(broken), "--workspace", str(ws)]) == 1
    assert "not valid JSON" in capsys.readouterr().err
