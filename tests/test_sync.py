"""apply against the Kleer simulator over real HTTP: every action's happy path checked field
by field in the simulator and the workspace, conflicts, blocked operations, re-runs, progress.
Every test runs once per simulator dialect (``every_dialect``)."""

from __future__ import annotations

import json

import pytest

from workbench import apply as applying
from workbench.errors import KleerUnavailable
from workbench.fields import diff
from workbench.kleer.mapping import fingerprint

from .sync_support import (close_workbench, hr_fields, kleer_json, kleer_record, open_workbench,
                           person)

pytestmark = pytest.mark.every_dialect


@pytest.fixture
def wb(workspace_path, kleer_sim):
    """HR E0000..E0006 (E0006 has no personnummer or start date). Kleer:
    1 = E0000's person with another phone, 2 = E0001's person as in HR, 3 = a Kleer-only person
    (foreign-id E0050), 4 = E0002's person with another street and salary (carrying foreign-id
    E0002, as a link kept in Kleer leaves it), 5 = E0003's person. None of them is linked."""
    hr = [person(i) for i in range(6)] + [person(6, ssn=None, employment_start_date=None)]
    pairs = [kleer_json(hr[0], 1, foreign_id=False, phone="+46701112233"),
             kleer_json(hr[1], 2, foreign_id=False),
             kleer_json(person(50), 3),
             kleer_json(hr[2], 4, address2="Kungsgatan 1", **{"monthly-salary": 41000}),
             kleer_json(hr[3], 5, foreign_id=False)]
    w = open_workbench(workspace_path, kleer_sim, hr, pairs)
    yield w
    close_workbench(w)


def journal(wb) -> dict[str, dict]:
    return {r["op_id"]: r for r in wb.workspace.query("SELECT * FROM journal")}


def writes(sim) -> dict[str, int]:
    return sim.state()["writes"]


# --------------------------------------------------------------------------- export

def test_export_creates_the_user_and_contract_in_kleer_and_links_them(wb, kleer_sim):
    wb.decide(hr_id="E0005", action="export")
    result = wb.apply(wb.plan("export", ["E0005"]))
    assert result.ok and result.counts_dict == {"done": 1} and result.ran_here == 1
    [user] = [u for u in kleer_sim.dump()["users"] if u.get("foreign-id") == "E0005"]
    record = kleer_record(kleer_sim, user["id"])
    hr = wb.workspace.hr.get("E0005")
    assert diff(hr, record) == []  # every field Kleer holds now equals HR's
    assert (user["name"], user["email"], user["internal-id"], user["active"]) == \
        (f"{hr['first_name']} {hr['last_name']}", hr["private_email"], hr["employee_number"], True)
    assert record["ssn"] == hr["ssn"] and record["account_nr"] == hr["account_nr"]
    assert writes(kleer_sim) == {"create_user": 1, "upsert_contract": 1, "create_contract": 1}
    link = wb.workspace.links.of(hr_id="E0005")
    assert link["kleer_id"] == user["id"] and link["method"] == "export"
    assert link["batch_id"] == result.batch_id
    snap = wb.workspace.kleer.get(user["id"])  # refreshed: the next plan sees no false conflict
    assert snap["fingerprint"] == record["fingerprint"]
    wb.decide(hr_id="E0005", action="export")
    assert wb.plan("export", ["E0005"]).operations == ()


def test_export_of_a_linked_pair_writes_only_the_differing_fields(wb, kleer_sim):
    wb.workspace.links.add("E0002", 4, analyst="Ada", method="manual")
    before = kleer_sim.dump()
    wb.decide(hr_id="E0002", action="export")
    plan = wb.plan("export", ["E0002"])
    [op] = plan.operations
    assert op.after == {"street": "Storgatan 3", "monthly_salary": 30200}
    result = wb.apply(plan)
    assert result.ok
    after = kleer_sim.dump()
    old = next(c for c in before["payroll-user-readables"] if c["user"]["id"] == 4)
    new = next(c for c in after["payroll-user-readables"] if c["user"]["id"] == 4)
    assert {k for k in new if new[k] != old.get(k)} == {"address2", "monthly-salary",
                                                         "monthly-salary-start-date"}
    assert (new["address2"], new["monthly-salary"]) == ("Storgatan 3", 30200)
    assert new["monthly-salary-start-date"] == plan.salary_start
    assert [u for u in after["users"] if u["id"] == 4] == [u for u in before["users"] if u["id"] == 4]
    assert writes(kleer_sim) == {"upsert_contract": 1}
    assert diff(wb.workspace.hr.get("E0002"), kleer_record(kleer_sim, 4)) == []
    assert wb.workspace.kleer.get(4)["fingerprint"] == kleer_record(kleer_sim, 4)["fingerprint"]


def test_an_override_keeps_kleers_value_and_writes_it_to_hr(wb, kleer_sim):
    wb.workspace.links.add("E0002", 4, analyst="Ada", method="manual")
    wb.decide(hr_id="E0002", action="export", overrides={"monthly_salary": "kleer"})
    result = wb.apply(wb.plan("export", ["E0002"]))
    assert result.counts_dict == {"done": 2}
    assert kleer_record(kleer_sim, 4)["street"] == "Storgatan 3"
    assert kleer_record(kleer_sim, 4)["monthly_salary"] == 41000
    assert wb.workspace.hr.get("E0002")["monthly_salary"] == 41000


def test_unlink_ends_the_link_and_leaves_kleer_untouched(wb, kleer_sim):
    wb.workspace.links.add("E0003", 5, analyst="Ada", method="manual")
    before = kleer_sim.dump()
    wb.decide(hr_id="E0003", action="unlink")
    result = wb.apply(wb.plan("export", ["E0003"]))
    assert result.counts_dict == {"done": 1}
    assert wb.workspace.links.of(hr_id="E0003") is None
    ended = wb.workspace.query("SELECT * FROM links WHERE hr_id = 'E0003'")[0]
    assert ended["active"] == 0 and ended["ended_batch_id"] == result.batch_id
    assert kleer_sim.dump() == before and writes(kleer_sim) == {}


# --------------------------------------------------------------------------- import

def test_prefer_hr_links_and_changes_neither_side(wb, kleer_sim):
    hr_before = hr_fields(wb.workspace, "E0000")
    wb.decide(kleer_id=1, action="prefer_hr", hr_id="E0000")
    result = wb.apply(wb.plan("import", [1]))
    assert result.counts_dict == {"done": 2}  # the link, and the link kept in Kleer
    assert wb.workspace.links.of(kleer_id=1)["hr_id"] == "E0000"
    assert hr_fields(wb.workspace, "E0000") == hr_before
    assert writes(kleer_sim) == {"update_user": 1}  # only the foreign-id
    assert kleer_record(kleer_sim, 1)["hr_id"] == "E0000"


def test_prefer_kleer_links_and_copies_kleers_values_into_hr(wb, kleer_sim):
    hr_before = hr_fields(wb.workspace, "E0000")
    wb.decide(kleer_id=1, action="prefer_kleer", hr_id="E0000")
    wb.apply(wb.plan("import", [1]))
    hr_after = hr_fields(wb.workspace, "E0000")
    assert {k for k in hr_after if hr_after[k] != hr_before[k]} == {"phone"}
    assert hr_after["phone"] == "+46701112233"
    assert diff(wb.workspace.hr.get("E0000"), kleer_record(kleer_sim, 1)) == []
    assert wb.workspace.links.of(kleer_id=1)["hr_id"] == "E0000"
    assert writes(kleer_sim) == {"update_user": 1}  # the foreign-id, nothing else
    assert kleer_record(kleer_sim, 1)["hr_id"] == "E0000"


def test_match_manually_with_a_per_field_override(wb, kleer_sim):
    wb.decide(kleer_id=4, action="match_manually", hr_id="E0002", prefer="kleer",
              overrides={"monthly_salary": "hr"})
    wb.apply(wb.plan("import", [4]))
    hr = wb.workspace.hr.get("E0002")
    assert hr["street"] == "Kungsgatan 1" and hr["monthly_salary"] == 30200
    link = wb.workspace.links.of(kleer_id=4)
    assert (link["hr_id"], link["method"]) == ("E0002", "manual")
    assert writes(kleer_sim) == {}


def test_create_in_hr_creates_the_employee_from_kleer_and_links_it(wb, kleer_sim):
    wb.decide(kleer_id=3, action="create_in_hr")
    result = wb.apply(wb.plan("import", [3]))
    assert result.counts_dict == {"done": 1}
    hr = wb.workspace.hr.get("E0050")  # the Kleer user's foreign-id
    assert diff(hr, kleer_record(kleer_sim, 3)) == []
    assert hr["birth_date"] == person(50)["birth_date"]
    assert hr["created_by_batch"] == result.batch_id
    assert wb.workspace.links.of(kleer_id=3)["hr_id"] == "E0050"
    assert writes(kleer_sim) == {}


# --------------------------------------------------------------------------- safety

def test_a_record_changed_in_kleer_after_the_snapshot_is_a_conflict_not_an_overwrite(wb, kleer_sim):
    wb.workspace.links.add("E0002", 4, analyst="Ada", method="manual")
    wb.decide(hr_id="E0002", action="export")
    plan = wb.plan("export", ["E0002"])
    with kleer_sim.client() as someone_else:  # a colleague edits Kleer after the snapshot
        someone_else.upsert_contract(4, {"phone": "+46708887766"})
    changed = kleer_sim.dump()
    result = wb.apply(plan)
    assert not result.ok and result.counts_dict == {"conflict": 1}
    [problem] = result.problems
    assert problem.status == "conflict" and "Phone" in problem.reason
    assert problem.answer["fields"]["phone"]["snapshot"] == "+46701000002"
    assert problem.answer["fields"]["phone"]["now"] == "+46708887766"
    assert kleer_sim.dump() == changed  # nothing written
    assert writes(kleer_sim) == {"upsert_contract": 1}  # only the colleague's
    assert wb.apply(plan).counts_dict == {"conflict": 1}  # a conflict is final for this plan


def test_a_hr_record_changed_after_the_plan_is_a_conflict(wb, kleer_sim):
    wb.decide(kleer_id=1, action="prefer_kleer", hr_id="E0000")
    plan = wb.plan("import", [1])
    wb.workspace.hr.update("E0000", {"phone": "+46700000000"})
    result = wb.apply(plan)
    # the foreign-id write is skipped: the link it would keep in Kleer was not made
    assert result.counts_dict == {"conflict": 1, "skipped": 1}
    assert wb.workspace.hr.get("E0000")["phone"] == "+46700000000"
    assert wb.workspace.links.of(hr_id="E0000") is None  # the link came with the update: not made
    assert writes(kleer_sim) == {}


def test_blocked_operations_are_journaled_as_skipped_and_never_executed(wb, kleer_sim):
    wb.decide([{"hr_id": "E0006", "action": "export"}, {"hr_id": "E0005", "action": "export"}])
    plan = wb.plan("export", ["E0005", "E0006"])
    result = wb.apply(plan)
    assert result.counts_dict == {"done": 1, "skipped": 1}
    row = journal(wb)["export:E0006:kleer_create"]
    assert row["status"] == "skipped" and "personnummer" in row["error"]
    assert [u for u in kleer_sim.dump()["users"] if u.get("foreign-id") == "E0006"] == []
    assert writes(kleer_sim)["create_user"] == 1


def test_a_rerun_does_nothing_twice_and_reports_the_same_counts(wb, kleer_sim):
    wb.decide([{"hr_id": h, "action": "export"} for h in ("E0004", "E0005")])
    wb.decide(kleer_id=1, action="prefer_kleer", hr_id="E0000")
    export, imp = wb.plan("export"), wb.plan("import", [1])
    first = wb.apply(export), wb.apply(imp)
    state, audit_rows = writes(kleer_sim), len(wb.audit())
    again = wb.apply(export), wb.apply(imp)
    assert [r.counts_dict for r in again] == [r.counts_dict for r in first] == [{"done": 2}, {"done": 2}]
    assert [r.ran_here for r in again] == [0, 0]
    assert [r.batch_id for r in again] == [r.batch_id for r in first]
    assert writes(kleer_sim) == state == {"create_user": 2, "upsert_contract": 2, "create_contract": 2,
                                          "update_user": 1}  # + the import's foreign-id
    operations = wb.audit().query("event == 'operation'")
    assert len(operations) == 4 and len(wb.audit()) == audit_rows + 4  # only start + finish again


def test_progress_is_reported_once_per_operation_in_order(wb):
    wb.decide([{"hr_id": h, "action": "export"} for h in ("E0004", "E0005", "E0006")])
    wb.decide(kleer_id=1, action="prefer_hr", hr_id="E0000")
    seen = []
    plan = wb.plan("export")
    wb.apply(plan, on_progress=lambda done, total, op_id: seen.append((done, total, op_id)))
    assert [d for d, _, _ in seen] == [1, 2, 3] and {t for _, t, _ in seen} == {3}
    assert sorted(o for _, _, o in seen) == sorted(op.op_id for op in plan.operations)


def test_each_operation_is_journaled_and_audited_with_before_after_and_result(wb, kleer_sim):
    wb.workspace.links.add("E0002", 4, analyst="Ada", method="manual")
    wb.decide(hr_id="E0002", action="export")
    plan = wb.plan("export", ["E0002"])
    result = wb.apply(plan)
    row = journal(wb)["export:E0002:kleer_update"]
    assert (row["status"], row["batch_id"], row["kleer_id"], row["attempts"]) == \
        ("done", result.batch_id, 4, 1)
    assert json.loads(row["before"]) == {"street": "Kungsgatan 1", "monthly_salary": 41000}
    assert json.loads(row["after"]) == {"street": "Storgatan 3", "monthly_salary": 30200}
    assert json.loads(row["answer"])["written"] == {
        "user": [], "contract": ["address2", "monthly-salary", "monthly-salary-start-date"]}
    assert row["duration_ms"] > 0 and row["owner"] is None
    log = wb.audit(reveal=True)  # the write's before/after are stored once (journal), shown here
    [audit] = log[log["event"] == "operation"].to_dict("records")
    assert (audit["action"], audit["result"], audit["analyst"], audit["batch_id"]) == \
        ("kleer_update", "done", "Ada", result.batch_id)
    assert audit["after"] == {"street": "Storgatan 3", "monthly_salary": 30200}
    batch = wb.batches().iloc[0]
    assert (batch["id"], batch["status"], batch["counts"]) == (result.batch_id, "done", {"done": 1})


def test_a_plan_with_kleer_writes_needs_a_connection(wb):
    from workbench.errors import PlanError

    wb.decide(hr_id="E0005", action="export")
    with pytest.raises(PlanError, match="no Kleer connection"):
        applying.apply(wb.plan("export", ["E0005"]), wb.workspace, None, "Ada")


# --------------------------------------------------------------------------- requests

class _Counting:
    """The real client, counting the calls made through it by method name; ``stale_users``
    (when given) is what the first ``list_users`` answers, as if read before someone's create."""

    def __init__(self, client, *, stale_users=None, contracts_fail=False, contracts_fail_from=1):
        self._client, self._stale, self._contracts_fail = client, stale_users, contracts_fail
        self._fail_from = contracts_fail_from  # the first list_contracts call that fails
        self.calls: dict[str, int] = {}

    def __getattr__(self, name):
        method = getattr(self._client, name)

        def counted(*args, **kwargs):
            self.calls[name] = self.calls.get(name, 0) + 1
            if name == "list_users" and self._stale is not None:
                stale, self._stale = self._stale, None
                return stale
            if name == "list_contracts" and self._contracts_fail and self.calls[name] >= self._fail_from:
                raise KleerUnavailable("cannot reach Kleer (ConnectError, 5 tries)")
            return method(*args, **kwargs)
        return counted


def test_a_create_costs_its_two_writes_and_the_snapshot_is_read_back_once(wb, kleer_sim):
    wb.workspace.links.add("E0002", 4, analyst="Ada", method="manual")
    creates = ["E0004", "E0005"]
    # E0003's person is Kleer user 5, without foreign-id: its create is blocked (personnummer)
    wb.decide([{"hr_id": h, "action": "export"} for h in ["E0002", "E0003", *creates]])
    plan = wb.plan("export", ["E0002", "E0003", *creates])
    assert sorted(op.kind for op in plan.operations) == ["kleer_create"] * 3 + ["kleer_update"]
    assert [op.hr_id for op in plan.operations if op.blocked] == ["E0003"]
    before = kleer_sim.state()["requests"]
    with kleer_sim.client() as real:
        counting = _Counting(real)
        result = applying.apply(plan, wb.workspace, counting, "Ada")
    assert result.ok and result.unrefreshed == ()
    # one list of users and one of contracts (foreign-ids, personnummer) for every create,
    # create + contract each, the update's re-read and its one write, then one list of users
    # and one of contracts to read everything back and sweep the creates for duplicates
    assert counting.calls == {"list_users": 2, "create_user": 2, "upsert_contract": 3,
                              "get_user": 1, "get_contract": 1, "list_contracts": 2}
    assert kleer_sim.state()["requests"] - before == sum(counting.calls.values())
    assert wb.workspace.links.of(hr_id="E0003") is None
    for hr_id in ["E0002", *creates]:
        kid = wb.workspace.links.of(hr_id=hr_id)["kleer_id"]
        assert wb.workspace.kleer.get(kid)["fingerprint"] == kleer_record(kleer_sim, kid)["fingerprint"]
    wb.decide([{"hr_id": h, "action": "export"} for h in ["E0002", *creates]])
    assert wb.plan("export", ["E0002", *creates]).operations == ()


def test_an_apply_cut_off_before_its_read_back_leaves_no_false_conflict(wb, kleer_sim):
    wb.workspace.links.add("E0002", 4, analyst="Ada", method="manual")
    wb.decide([{"hr_id": h, "action": "export"} for h in ("E0002", "E0005")])
    plan = wb.plan("export", ["E0002", "E0005"])
    with kleer_sim.client() as real:
        # the contracts can be listed for the creates' personnummer check, not for the read-back
        result = applying.apply(plan, wb.workspace,
                                _Counting(real, contracts_fail=True, contracts_fail_from=2), "Ada")
    created = wb.workspace.links.of(hr_id="E0005")["kleer_id"]
    assert result.ok and result.unrefreshed == (4, created)
    assert "2 Kleer record(s) written but not read back" in str(result)
    assert wb.workspace.kleer.get(4) is None  # set aside: absent, never stale
    wb.workspace.hr.update("E0002", {"phone": "+46705550000"})
    wb.decide(hr_id="E0002", action="export")
    [op] = wb.plan("export", ["E0002"]).operations
    assert op.blocked and "not in the snapshot" in op.blockers[0]  # not a conflict at apply time

    writes_before = writes(kleer_sim)
    rerun = wb.apply(plan)  # nothing to run again; it reads back what the first one wrote
    assert rerun.ran_here == 0 and rerun.unrefreshed == () and writes(kleer_sim) == writes_before
    assert wb.workspace.kleer.get(4)["fingerprint"] == kleer_record(kleer_sim, 4)["fingerprint"]
    assert wb.workspace.kleer.get(created)["fingerprint"] == \
        kleer_record(kleer_sim, created)["fingerprint"]
    [op] = wb.plan("export", ["E0002"]).operations
    assert not op.blocked and op.after == {"phone": "+46705550000"}
    assert wb.apply(wb.plan("export", ["E0002"])).counts_dict == {"done": 1}
    assert kleer_record(kleer_sim, 4)["phone"] == "+46705550000"


def test_a_create_another_plan_did_is_skipped_as_already_done_not_run_again(wb, kleer_sim):
    wb.decide(hr_id="E0005", action="export")
    first, second = wb.plan("export", ["E0005"]), wb.plan("export", ["E0005"])
    assert first.id != second.id
    with kleer_sim.client() as real:
        before_first = real.list_users()  # what the second apply's list would say if read now
        assert applying.apply(first, wb.workspace, real, "Ada").counts_dict == {"done": 1}
        counting = _Counting(real, stale_users=before_first)
        result = applying.apply(second, wb.workspace, counting, "Ada")
    # the first plan's create stands (linked): the second says so and asks Kleer nothing
    assert result.counts_dict == {"skipped": 1}
    [other] = result.elsewhere
    batch = applying.batch_id_for(first.id)
    assert other.reason == f"already done by batch {batch} (Kleer user {other.kleer_id})"
    assert "1 settled by another apply (already done by batch" in str(result)
    assert "create_user" not in counting.calls and "find_user_by_foreign_id" not in counting.calls
    assert writes(kleer_sim)["create_user"] == 1
    assert [u.get("foreign-id") for u in kleer_sim.dump()["users"]].count("E0005") == 1


def test_the_foreign_id_list_is_read_again_once_it_is_too_old(wb, kleer_sim, monkeypatch):
    wb.decide([{"hr_id": h, "action": "export"} for h in ("E0004", "E0005")])
    plan = wb.plan("export", ["E0004", "E0005"])
    monkeypatch.setattr(applying.run, "FOREIGN_ID_MAX_AGE", 0.0)
    with kleer_sim.client() as real:
        counting = _Counting(real)
        assert applying.apply(plan, wb.workspace, counting, "Ada", concurrency=1).ok
    assert counting.calls["list_users"] == 2 + 1  # once per create, once to read back
    assert "find_user_by_foreign_id" not in counting.calls
    assert writes(kleer_sim)["create_user"] == 2
