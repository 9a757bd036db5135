"""Decisions settle when applied (Import (n) counts what would run now), a pair the analyst
unlinked is not proposed again, actions fit the row, the filter finds an id exactly, the
integration user is known."""

from __future__ import annotations

import pandas as pd
import pytest

from workbench.errors import InputError


def _confident(wb):
    rows = wb.import_rows()
    return rows[(rows["action"] == "prefer_hr") & rows["pending"]]


def test_an_applied_decision_is_no_longer_pending(demo_workbench):
    wb = demo_workbench
    pending = _confident(wb)
    assert len(pending) > 10
    kid = int(pending["kleer_id"].iloc[0])
    hr_id = pending["hr_id"].iloc[0]
    wb.decide(kleer_id=kid, action="prefer_kleer", hr_id=hr_id)
    assert wb.import_rows().set_index("kleer_id").at[kid, "pending"]
    result = wb.apply(wb.plan("import", [str(kid)]))
    assert result.ok and result.counts_dict.get("done")
    row = wb.import_rows().set_index("kleer_id").loc[kid]
    assert row["state"] == "imported" and not row["pending"] and row["action"] == "do_nothing"
    assert wb.plan("import", [str(kid)]).operations == ()  # pressing Import again re-pulls nothing
    # a new decision after the apply is pending again
    wb.workspace.hr.update(hr_id, {"phone": "+46701112233"})
    wb.decide(kleer_id=kid, action="prefer_kleer", hr_id=hr_id)
    assert wb.import_rows().set_index("kleer_id").at[kid, "pending"]


def test_after_importing_everything_nothing_is_pending(demo_workbench):
    wb = demo_workbench
    ids = [str(k) for k in wb.import_rows().query("pending")["kleer_id"]]
    result = wb.apply(wb.plan("import", ids))
    assert result.counts_dict.get("done", 0) >= len(ids) - result.counts_dict.get("skipped", 0)
    assert int(wb.import_rows()["pending"].sum()) == 0


def test_a_pair_the_analyst_unlinked_is_not_proposed_again(demo_workbench):
    wb = demo_workbench
    row = _confident(wb).iloc[0]
    kid, hr_id = int(row["kleer_id"]), row["hr_id"]
    assert wb.apply(wb.plan("import", [str(kid)])).ok
    assert wb.unlink([hr_id]).ok
    after = wb.import_rows().set_index("kleer_id").loc[kid]
    assert after["state"] == "new"
    assert after["action"] == "do_nothing" and not after["pending"]
    assert after["hr_id"] == hr_id  # the suggestion stays visible as a suggestion
    exported = wb.export_rows().set_index("hr_id").loc[hr_id]
    assert exported["state"] == "unlinked" and exported["action"] == "do_nothing"


def test_create_new_user_is_refused_for_a_linked_kleer_user(demo_workbench):
    wb = demo_workbench
    row = _confident(wb).iloc[0]
    kid = int(row["kleer_id"])
    wb.apply(wb.plan("import", [str(kid)]))
    with pytest.raises(InputError, match=f"Kleer user {kid} is already linked"):
        wb.decide(kleer_id=kid, action="create_in_hr")


def test_the_filter_finds_an_id_exactly_and_names_by_part():
    frame = pd.DataFrame({"kleer_id": [1049, 10492, 10498, 7], "kleer_name": ["A", "B", "C", "Ann 1049"],
                          "hr_id": ["E1", "E10492", None, "E7"], "hr_name": ["x", "y", "z", "w"]})
    from workbench.api import Workbench
    hit = Workbench.filter_rows(frame, "1049", ids=["kleer_id", "hr_id"], names=["kleer_name", "hr_name"])
    assert hit["kleer_id"].tolist() == [1049, 7]  # the exact id first, then the name; no E10492
    hit = Workbench.filter_rows(frame, "e10492", ids=["kleer_id", "hr_id"], names=["kleer_name"])
    assert hit["kleer_id"].tolist() == [10492]
    hit = Workbench.filter_rows(frame, "an", ids=["kleer_id"], names=["kleer_name"])
    assert hit["kleer_id"].tolist() == [7]


def test_the_integration_user_is_the_tokens_own(demo_workbench):
    assert demo_workbench.integration_user() == 1  # the demo seed's "me"
    rows = demo_workbench.import_rows().set_index("kleer_id")
    assert rows.at[1, "integration"] and int(rows["integration"].sum()) == 1


def test_batch_choices_say_side_who_counts_and_names(demo_workbench):
    wb = demo_workbench
    row = _confident(wb).iloc[0]
    plan = wb.plan("import", [str(row["kleer_id"])])
    # the link, and its foreign-id written to Kleer unless the user carries it already
    assert [op.kind for op in plan.operations] in (["link"], ["link", "kleer_link"])
    wb.apply(plan)
    choice = wb.batch_choices().iloc[0]
    assert choice["side"] == "import" and choice["analyst"] == "setup"
    assert choice["counts"] == {"done": len(plan.operations)} and choice["employees"] == 1
    assert choice["first_names"] == [row["hr_name"]]
