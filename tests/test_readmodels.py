"""Read models: the rows of the Import, Export and Overview screens, read from a real workspace
file (Workbench's ``import_rows``, ``export_rows``, ``pair_details``, ``outstanding``,
``state_counts``, ``next_step``)."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench import Workbench
from workbench.readmodels import StateCounts, next_step

from .sync_support import kleer_json, person, seed_hr, seed_snapshot


@pytest.fixture
def wb(workspace_path):
    """HR E0000..E0003; Kleer 101 (E0000, linked, phone differs), 102 (E0001, suggested),
    103 (nobody in HR); E0003 has an invalid personnummer."""
    w = Workbench(workspace_path, analyst="Ada")
    people = [person(0), person(1), person(2), person(3, ssn="12345")]
    seed_hr(w.workspace, people)
    seed_snapshot(w.workspace, [kleer_json(people[0], 101, phone="070-9999999"),
                                kleer_json(people[1], 102, foreign_id=False),
                                kleer_json(person(9), 103, foreign_id=False)])
    w.workspace.links.add("E0000", 101, analyst="Ada", method="manual")
    w.workspace.suggestions.replace(pd.DataFrame([
        {"kleer_id": 102, "hr_id": "E0001", "rank": 1, "score": 96.0, "band": "certain",
         "assigned": 1, "tie": 0, "contested": 0, "namesake": 1,
         "evidence": [{"signal": "ssn", "label": "Personnummer", "agreement": "exact",
                       "contribution": 9.0, "sentence": "Same personnummer."}]},
        {"kleer_id": 102, "hr_id": "E0002", "rank": 2, "score": 40.0, "band": "possible",
         "assigned": 0, "tie": 0, "contested": 0, "namesake": 0, "evidence": []},
    ]), run_id="r1")
    yield w
    w.close()


def test_import_rows_one_per_kleer_user_with_link_suggestion_and_default(wb):
    rows = wb.import_rows().set_index("kleer_id")
    assert list(rows.index) == [101, 102, 103]
    assert list(rows["state"]) == ["imported", "new", "new"]
    assert rows.loc[101, "hr_id"] == "E0000" and rows.loc[101, "affected"] == "1: phone"
    assert rows.loc[102, "hr_id"] == "E0001" and rows.loc[102, "band"] == "certain"
    assert rows.loc[102, "candidates"] == ["E0001", "E0002"]
    assert rows.loc[102, "flags"] == "namesake" and rows.loc[102, "reasons"] == "Same personnummer."
    assert (rows.loc[102, "action"], rows.loc[102, "proposed"]) == ("prefer_hr", True)
    assert pd.isna(rows.loc[103, "hr_id"]) and rows.loc[103, "action"] == "do_nothing"


def test_a_saved_decision_shows_instead_of_the_default(wb):
    wb.decide(kleer_id=102, action="match_manually", hr_id="E0002", prefer="kleer")
    row = wb.import_rows().set_index("kleer_id").loc[102]
    assert (row["hr_id"], row["action"], row["prefer"], row["proposed"]) == \
        ("E0002", "match_manually", "kleer", False)
    assert row["score"] == 40.0  # the pair's own suggestion, not the assigned one


def test_export_rows_one_per_hr_employee_with_its_link_changes_and_problems(wb):
    rows = wb.export_rows().set_index("hr_id")
    assert list(rows.index) == ["E0000", "E0001", "E0002", "E0003"]
    assert rows.loc["E0000", "state"] == "linked" and rows.loc["E0000", "kleer_id"] == 101
    assert rows.loc["E0000", "changes"] == "1: phone"
    assert rows.loc["E0001", "state"] == "unlinked" and pd.isna(rows.loc["E0001", "kleer_id"])
    assert rows.loc["E0003", "problems"].startswith("Personnummer: ")
    assert rows.loc["E0001", "problems"] == ""


def test_pair_details_put_each_hr_value_beside_kleer_s(wb):
    details = wb.pair_details(hr_id="E0000", kleer_id=101).set_index("field")
    assert details.loc["phone", "differs"] and not details.loc["ssn", "differs"]
    assert details.loc["hr_id", "kleer"] == "E0000"  # the foreign-id Kleer carries
    assert details.loc["first_name", "kleer"] == details.loc["first_name", "hr"]
    lonely = wb.pair_details(hr_id=None, kleer_id=103)
    assert lonely["hr"].isna().all() and not lonely["differs"].any()


def journal(wb, batch: str, hr_id: str | None, kleer_id: int | None, status: str, error: str) -> None:
    wb.workspace.journal.insert({"plan_id": f"plan-{batch}", "op_id": f"op-{hr_id}-{kleer_id}",
                                 "batch_id": batch, "seq": 1, "kind": "kleer_update",
                                 "hr_id": hr_id, "kleer_id": kleer_id, "status": status,
                                 "error": error, "finished_at": "2026-01-01T00:00:00+00:00"})


def test_outstanding_is_what_each_employee_s_latest_batch_left(wb):
    journal(wb, "b1", "E0000", 101, "conflict", "changed in Kleer since the snapshot (Phone)")
    journal(wb, "b1", "E0003", None, "skipped", "blocked: no valid personnummer")
    journal(wb, "b1", None, 103, "conflict", "Kleer user 103 is now linked")
    journal(wb, "b2", "E0000", 101, "done", None)  # a later batch settled E0000
    left = wb.outstanding()
    assert list(left["subject"]) == ["E0003", "kleer:103"]
    assert list(left["status"]) == ["blocked", "conflict"]
    assert left.loc[0, "reason"] == "no valid personnummer"
    counts = wb.state_counts()
    assert (counts.conflicts, counts.blocked) == (1, 1)


def test_state_counts_count_each_side_and_the_suggested(wb):
    c = wb.state_counts()
    assert (c.hr, c.kleer, c.linked, c.only_hr, c.only_kleer, c.suggested) == (4, 3, 1, 3, 2, 1)


@pytest.mark.parametrize("counts, page", [
    (StateCounts(0, 0, 0, 0, 0, 0, 0, 0), "sources"),
    (StateCounts(4, 0, 0, 4, 0, 0, 0, 0), "sources"),
    (StateCounts(4, 3, 1, 3, 2, 1, 0, 0), "import_kleer"),
    (StateCounts(4, 3, 1, 3, 2, 0, 0, 0), "export_kleer"),
    (StateCounts(4, 3, 3, 0, 0, 0, 0, 0), "audit"),
])
def test_the_next_step_follows_the_workflow(counts, page):
    assert next_step(counts, hr_label="Sympa").page == page


def test_the_screens_fast_path_shows_the_same_rows_and_follows_every_state_change(wb, tmp_path):
    """``import_rows(reuse=True)`` (what the Import page reads, its state kept between reruns and
    the evidence decoded only for the rows it details) equals a fresh read; a decision does not
    make it read the state again, a load of the HR file does, and the decision checked against
    the kept state was saved with its evidence."""
    fresh = wb.import_rows()
    fast = wb.import_rows(reuse=True)
    pd.testing.assert_frame_equal(fast, fresh)
    assert fast.set_index("kleer_id").at[102, "reasons"] == "Same personnummer."
    kept = wb._screen_state()
    wb.decide(kleer_id=102, action="prefer_kleer", hr_id="E0001")
    assert wb._screen_state() is kept  # a decision changes no part of the state
    assert wb.import_rows(reuse=True).set_index("kleer_id").at[102, "action"] == "prefer_kleer"
    [evidence] = wb.workspace.query("SELECT evidence FROM decisions WHERE subject_id = '102'")
    assert "Same personnummer." in evidence["evidence"]
    hr = wb.hr_employees()
    hr.loc[len(hr)] = {**hr.iloc[0].to_dict(), "hr_id": "E0100", "first_name": "Nyanställd",
                       "ssn": None}
    hr.to_csv(tmp_path / "hr.csv", index=False)
    wb.load_hr(tmp_path / "hr.csv", expect=wb.preview_hr(tmp_path / "hr.csv").token)
    assert wb._screen_state() is not kept and "E0100" in wb._screen_state().hr
    wb.decide(kleer_id=103, action="match_manually", hr_id="E0100", prefer="hr")  # checked against the new state
    assert wb.import_rows(reuse=True).set_index("kleer_id").at[103, "hr_id"] == "E0100"
