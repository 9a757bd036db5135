"""Exactly once under the interleavings of issue 13, scripted against the Kleer simulator over
real HTTP (tests/once_support.py holds the scenarios; bench/bench_once.py runs them in rounds).

Every scenario asserts: active Kleer users per foreign-id ≤ 1 and per personnummer ≤ 1, every
operation done exactly once or ended with a reason (none lost), and nothing of a later change
overwritten; plus its own checks (named in the scenario)."""

from __future__ import annotations

import pytest

from . import once_support as once


def _holds(outcome: once.Outcome, *, conflicts: int = 0) -> None:
    assert outcome.failed_checks() == [], outcome.figures
    assert outcome.duplicates == 0, outcome.figures
    assert outcome.lost == 0, outcome.figures
    assert outcome.conflicts == conflicts, outcome.figures


@pytest.mark.parametrize("round_", [1, 2])
def test_overlapping_plans_in_two_processes_create_each_employee_once(kleer_sim, tmp_path, round_):
    _holds(once.overlapping_plans(kleer_sim, tmp_path, n=16 + 4 * round_))


def test_a_latency_spike_past_the_client_timeout_is_reconciled_not_created_again(kleer_sim, tmp_path):
    outcome = once.latency_spike(kleer_sim, tmp_path)
    _holds(outcome)
    assert outcome.figures["recovered"] >= 1  # some answers were lost, and found landed


def test_a_slow_write_killed_and_rerun_at_once_is_waited_for_not_sent_again(kleer_sim, tmp_path):
    outcome = once.slow_write_kill_rerun(kleer_sim, tmp_path)
    _holds(outcome)
    assert outcome.figures["recovered"] >= 1


def test_a_personnummer_already_in_kleer_blocks_the_plan_and_is_rechecked_at_apply(kleer_sim, tmp_path):
    _holds(once.ssn_already_in_kleer(kleer_sim, tmp_path), conflicts=1)


def test_a_revert_never_overwrites_a_later_batch(kleer_sim, tmp_path):
    outcome = once.revert_after_later_change(kleer_sim, tmp_path)
    _holds(outcome, conflicts=1)
    assert outcome.figures["overwritten"] == 0


def test_hr_reloaded_between_plan_and_apply_is_a_conflict_not_a_stale_write(kleer_sim, tmp_path):
    outcome = once.hr_reloaded(kleer_sim, tmp_path)
    _holds(outcome, conflicts=4)


def test_a_deleted_workspace_gets_its_links_back_from_kleer(kleer_sim, tmp_path):
    _holds(once.workspace_deleted_relink(kleer_sim, tmp_path))


def test_an_outside_duplicate_is_swept_reported_and_deactivated_through_a_plan(kleer_sim, tmp_path):
    outcome = once.duplicate_swept(kleer_sim, tmp_path)
    _holds(outcome)  # none left active once the extra user is deactivated
    assert "deactivate" in outcome.figures["message"] and "deletes nothing" in outcome.figures["message"]
