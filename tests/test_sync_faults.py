"""sync.apply when Kleer misbehaves (the simulator's faults over real HTTP): a write that lands
but answers 500 or drops the connection, 429 storms, 503 bursts. Every operation ends done or
failed with its reason, nothing is created twice, and a re-run finishes what failed."""

from __future__ import annotations

from collections import Counter

import pytest

from workbench import apply as applying
from workbench.errors import KleerUnavailable

from .sync_support import close_workbench, kleer_json, kleer_record, open_workbench, person


@pytest.fixture
def wb(workspace_path, kleer_sim):
    """HR E0000..E0009; Kleer holds E0000 and E0001 (ids 1, 2; linked) with another salary."""
    hr = [person(i) for i in range(10)]
    pairs = [kleer_json(hr[i], i + 1, **{"monthly-salary": 99000}) for i in range(2)]
    w = open_workbench(workspace_path, kleer_sim, hr, pairs)
    for i in range(2):
        w.workspace.links.add(hr[i]["hr_id"], i + 1, analyst="Ada", method="manual")
    yield w
    close_workbench(w)


def export(wb, ids):
    wb.decide([{"hr_id": h, "action": "export"} for h in ids])
    return wb.plan("export", ids)


def users_by_foreign_id(sim) -> Counter:
    return Counter(u.get("foreign-id") for u in sim.dump()["users"])


def assert_done_or_failed_with_a_reason(result, plan):
    statuses = result.counts_dict
    assert set(statuses) <= {"done", "failed"} and sum(statuses.values()) == len(plan.operations)
    for p in result.problems:
        assert p.status == "failed" and p.reason and len(p.reason) > 20


@pytest.mark.parametrize("mode", ["500", "drop"])
def test_a_create_that_landed_but_failed_to_answer_is_linked_not_repeated(wb, kleer_sim, mode):
    kleer_sim.set_faults(write_then_fail=1.0, write_fail_mode=mode)
    plan = export(wb, ["E0003", "E0004", "E0005"])
    result = wb.apply(plan)
    assert result.counts_dict == {"done": 3}
    assert kleer_sim.state()["fault_answers"] >= 6  # every create and contract answer was lost
    counts = users_by_foreign_id(kleer_sim)
    assert [counts[h] for h in ("E0003", "E0004", "E0005")] == [1, 1, 1]
    assert kleer_sim.state()["writes"]["create_user"] == 3
    answers = [r["answer"] for r in wb.workspace.query("SELECT answer FROM journal")]
    assert all('"recovered": true' in a for a in answers)
    for h in ("E0003", "E0004", "E0005"):
        kid = wb.workspace.links.of(hr_id=h)["kleer_id"]
        assert kleer_record(kleer_sim, kid)["ssn"] == wb.workspace.hr.get(h)["ssn"]


class _NetworkGoneAfterCreate:
    """The real client, except that once a create was sent the network is gone for lookups:
    the apply cannot learn whether the create landed."""

    def __init__(self, client):
        self._client, self._created = client, False

    def __getattr__(self, name):
        return getattr(self._client, name)

    def create_user(self, user):
        self._created = True
        return self._client.create_user(user)

    def find_user_by_foreign_id(self, foreign_id):
        if self._created:
            raise KleerUnavailable("cannot reach Kleer (ConnectError, 5 tries)")
        return self._client.find_user_by_foreign_id(foreign_id)


def test_when_the_answer_is_lost_and_kleer_cannot_be_asked_the_rerun_links(wb, kleer_sim):
    plan = export(wb, ["E0003"])
    kleer_sim.set_faults(write_then_fail=1.0)
    with kleer_sim.client() as real:
        first = applying.apply(plan, wb.workspace, _NetworkGoneAfterCreate(real), "Ada")
    assert first.counts_dict == {"failed": 1}
    [problem] = first.problems
    assert "may have been saved" in problem.reason and "re-run" in problem.reason
    assert users_by_foreign_id(kleer_sim)["E0003"] == 1  # it did land
    assert wb.workspace.links.of(hr_id="E0003") is None
    kleer_sim.clear_faults()
    second = wb.apply(plan)
    assert second.counts_dict == {"done": 1} and second.ran_here == 1
    assert users_by_foreign_id(kleer_sim)["E0003"] == 1
    assert kleer_sim.state()["writes"]["create_user"] == 1
    kid = wb.workspace.links.of(hr_id="E0003")["kleer_id"]
    row = wb.workspace.query("SELECT answer, attempts FROM journal")[0]
    assert row["attempts"] == 2 and '"created": false' in row["answer"]
    assert '"contract_created": true' in row["answer"]  # the first run never got that far
    assert kleer_record(kleer_sim, kid)["account_nr"] == wb.workspace.hr.get("E0003")["account_nr"]


def test_a_429_storm_ends_with_every_operation_done_or_failed_and_a_rerun_finishes(wb, kleer_sim):
    plan = export(wb, [f"E{i:04d}" for i in range(10)])  # 8 creates + 2 updates
    kleer_sim.set_faults(fail_next=30, fail_status=429)
    result = wb.apply(plan)
    assert_done_or_failed_with_a_reason(result, plan)
    assert all("429" in p.reason or "limiting" in p.reason for p in result.problems)
    assert kleer_sim.state()["fault_answers"] == 30
    kleer_sim.clear_faults()
    rerun = wb.apply(plan)
    assert rerun.counts_dict == {"done": 10}
    counts = users_by_foreign_id(kleer_sim)
    assert {h: counts[h] for h in (f"E{i:04d}" for i in range(10))} == {f"E{i:04d}": 1 for i in range(10)}
    assert [kleer_record(kleer_sim, k)["monthly_salary"] for k in (1, 2)] == [30000, 30100]


def test_a_rate_limit_with_retry_after_is_waited_out(wb, kleer_sim):
    plan = export(wb, ["E0003", "E0004", "E0005"])
    kleer_sim.set_faults(rate_limit=6)
    result = wb.apply(plan)
    assert result.counts_dict == {"done": 3}
    assert kleer_sim.state()["fault_answers"] > 0  # it was limited, and waited
    assert kleer_sim.state()["writes"]["create_user"] == 3


def test_503_bursts_end_with_every_operation_done_or_failed_and_nothing_twice(wb, kleer_sim):
    plan = export(wb, [f"E{i:04d}" for i in range(10)])
    kleer_sim.set_faults(error_rate=0.35, seed=11)
    result = wb.apply(plan)
    assert_done_or_failed_with_a_reason(result, plan)
    assert kleer_sim.state()["fault_answers"] > 10
    done_before = result.counts_dict.get("done", 0)
    kleer_sim.clear_faults()
    rerun = wb.apply(plan)
    assert rerun.counts_dict == {"done": 10} and rerun.ran_here == 10 - done_before
    counts = users_by_foreign_id(kleer_sim)
    assert max(counts.values()) == 1 and len(counts) == 10
    assert kleer_sim.state()["writes"]["create_user"] == 8
    for h in (f"E{i:04d}" for i in range(10)):
        kid = wb.workspace.links.of(hr_id=h)["kleer_id"]
        hr = wb.workspace.hr.get(h)
        assert kleer_record(kleer_sim, kid)["monthly_salary"] == hr["monthly_salary"]
