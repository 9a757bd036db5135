"""Revert: a batch undone from the journal's before-images through the same apply, compared field
by field with the state before the batch, in the simulator and in the workspace. Every test
runs once per simulator dialect (``every_dialect``)."""

from __future__ import annotations

import pytest

from workbench import Plan
from workbench.errors import PlanError

from .sync_support import (close_workbench, hr_fields, kleer_json, open_workbench, person)

pytestmark = pytest.mark.every_dialect


@pytest.fixture
def wb(workspace_path, kleer_sim):
    """HR E0000..E0005. Kleer: 1 = E0000 (linked, another street and salary), 2 = E0001's
    person (unlinked, another phone), 3 = a Kleer-only person (foreign-id E0050), 4 = E0003
    (linked)."""
    hr = [person(i) for i in range(6)]
    pairs = [kleer_json(hr[0], 1, address2="Kungsgatan 1", **{"monthly-salary": 41000}),
             kleer_json(hr[1], 2, foreign_id=False, phone="+46701112233"),
             kleer_json(person(50), 3),
             kleer_json(hr[3], 4)]
    w = open_workbench(workspace_path, kleer_sim, hr, pairs)
    w.workspace.links.add("E0000", 1, analyst="Ada", method="manual")
    w.workspace.links.add("E0003", 4, analyst="Ada", method="manual")
    yield w
    close_workbench(w)


def docs(sim) -> tuple[dict, dict]:
    dump = sim.dump()
    return ({u["id"]: u for u in dump["users"]},
            {c["user"]["id"]: c for c in dump["payroll-user-readables"]})


def links(wb) -> set[tuple[str, int]]:
    return {(r["hr_id"], r["kleer_id"]) for r in wb.links().to_dict("records")}


def test_reverting_an_export_restores_kleer_deactivates_created_users_and_ends_links(wb, kleer_sim):
    users_before, contracts_before = docs(kleer_sim)
    links_before = links(wb)
    wb.decide([{"hr_id": "E0000", "action": "export"},   # update 1
               {"hr_id": "E0004", "action": "export"},   # create
               {"hr_id": "E0003", "action": "unlink"}])
    plan = wb.plan("export")
    applied = wb.apply(plan)
    assert applied.counts_dict == {"done": 3}
    created = wb.workspace.links.of(hr_id="E0004")["kleer_id"]
    assert docs(kleer_sim)[1][1]["address2"] == "Storgatan 1"

    preview = wb.revert_plan(applied.batch_id)
    assert sorted(op.kind for op in preview.operations) == ["kleer_update", "kleer_update", "link", "unlink"]
    assert docs(kleer_sim) != (users_before, contracts_before)  # the preview wrote nothing

    result = wb.revert(applied.batch_id)
    assert result.ok and result.counts_dict == {"done": 4} and result.reverts == applied.batch_id
    users_after, contracts_after = docs(kleer_sim)
    # the salary put back takes effect on the day the batch's salary did (a start date is
    # history: there is nothing to clear it to)
    assert contracts_after[1].pop("monthly-salary-start-date") == preview.salary_start \
        == plan.salary_start
    assert users_after[1] == users_before[1] and contracts_after[1] == contracts_before[1]
    assert {k: users_after[k] for k in users_before} == users_before
    assert {k: contracts_after[k] for k in contracts_before} == contracts_before
    assert users_after[created]["active"] is False  # Kleer has no delete: deactivated
    assert users_after[created]["foreign-id"] == "E0004"
    assert links(wb) == links_before
    assert wb.workspace.kleer.get(created)["active"] == 0  # the snapshot follows
    batch = wb.batches().set_index("id").loc[result.batch_id]
    assert (batch["kind"], batch["reverts"], batch["status"]) == ("revert", applied.batch_id, "done")


def test_reverting_an_import_removes_created_employees_and_restores_hr(wb, kleer_sim):
    hr_before = {h: hr_fields(wb.workspace, h) for h in ("E0001", "E0002")}
    links_before = links(wb)
    wb.decide([{"kleer_id": 2, "action": "prefer_kleer", "hr_id": "E0001"},
               {"kleer_id": 3, "action": "create_in_hr"}])
    applied = wb.apply(wb.plan("import", [2, 3]))
    assert applied.counts_dict == {"done": 3}  # + user 2's foreign-id (the link kept in Kleer)
    assert wb.workspace.hr.get("E0050") is not None
    assert hr_fields(wb.workspace, "E0001")["phone"] == "+46701112233"

    result = wb.revert(applied.batch_id)
    assert result.counts_dict == {"done": 2}
    assert wb.workspace.hr.get("E0050") is None
    assert {h: hr_fields(wb.workspace, h) for h in ("E0001", "E0002")} == hr_before
    assert links(wb) == links_before
    # the foreign-id stays in Kleer (as after an unlink): the one write is the import's
    assert kleer_sim.state()["writes"] == {"update_user": 1}


def test_a_revert_runs_once_and_a_later_change_in_kleer_is_not_overwritten(wb, kleer_sim):
    wb.decide([{"hr_id": "E0000", "action": "export"}, {"hr_id": "E0004", "action": "export"}])
    applied = wb.apply(wb.plan("export"))
    created = wb.workspace.links.of(hr_id="E0004")["kleer_id"]
    with kleer_sim.client() as colleague:  # user 1 is edited in Kleer after the batch
        colleague.upsert_contract(1, {"phone": "+46708887766", "monthly-salary": 55000})
    result = wb.revert(applied.batch_id)
    # every field is checked: the street is still what the batch wrote (restored), the salary
    # was changed later (a conflict, kept), the phone the batch never wrote (untouched)
    assert result.counts_dict == {"conflict": 1, "done": 2}
    [problem] = result.problems
    assert problem.kleer_id == 1 and "Monthly salary" in problem.reason
    assert "before 41000, the batch wrote 30000, now 55000" in problem.reason
    assert "Street" not in problem.reason.split("; values: ")[1]
    users, contracts = docs(kleer_sim)
    assert contracts[1]["address2"] == "Kungsgatan 1" and contracts[1]["phone"] == "+46708887766"
    assert contracts[1]["monthly-salary"] == 55000
    assert users[created]["active"] is False
    writes = kleer_sim.state()["writes"]
    again = wb.revert(applied.batch_id)
    assert again.ran_here == 0 and kleer_sim.state()["writes"] == writes


def test_an_unknown_batch_is_named(wb):
    with pytest.raises(PlanError, match="no batch 'batch-nope'"):
        wb.revert_plan("batch-nope")


def test_a_batch_keeps_its_plan_without_the_before_and_after_the_journal_holds(wb, kleer_sim):
    wb.decide(hr_id="E0000", action="export")
    applied = wb.apply(wb.plan("export", ["E0000"]))
    [stored] = wb.workspace.query("SELECT plan FROM batches WHERE id = ?", [applied.batch_id])
    kept = Plan.from_json(stored["plan"])
    assert [op.changes for op in kept.operations] == [()]  # stored once, in the journal
    [row] = wb.workspace.journal.of_batch(applied.batch_id)
    assert row["after"]["street"] == "Storgatan 1"
    [undo] = wb.revert_plan(applied.batch_id).operations  # rebuilt from the journal
    assert {c.key: (c.before, c.after) for c in undo.changes}["street"] == \
        ("Storgatan 1", row["before"]["street"])
