"""Decisions: saved as they are made (who, when, score and evidence), validated with the bad rows
named, accepted one at a time and in bulk from a DataFrame, audited, and completed with proposed
defaults from the suggestions."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from workbench import decisions
from workbench.errors import InputError
from workbench.store import Workspace

from .sync_support import kleer_json, person, seed_hr, seed_snapshot


@pytest.fixture
def ws(workspace_path):
    """Five HR employees, five Kleer users (ids 101..105, the same people), two suggestions."""
    w = Workspace(workspace_path)
    people = [person(i) for i in range(5)]
    seed_hr(w, people)
    seed_snapshot(w, [kleer_json(p, 101 + i, foreign_id=False) for i, p in enumerate(people)])
    evidence = [{"signal": "personnummer", "label": "Personnummer agrees", "score": 1.0}]
    w.suggestions.replace(pd.DataFrame([
        {"kleer_id": 101, "hr_id": "E0000", "rank": 1, "score": 0.98, "band": "certain",
         "assigned": 1, "tie": 0, "contested": 0, "namesake": 0, "evidence": evidence},
        {"kleer_id": 102, "hr_id": "E0001", "rank": 1, "score": 0.55, "band": "possible",
         "assigned": 1, "tie": 0, "contested": 0, "namesake": 0, "evidence": []},
        {"kleer_id": 103, "hr_id": "E0002", "rank": 1, "score": 0.81, "band": "likely",
         "assigned": 0, "tie": 1, "contested": 0, "namesake": 0, "evidence": []},
    ]), run_id="r1")
    yield w
    w.close()


def saved(ws: Workspace) -> dict:
    return {(r["side"], r["subject_id"]): r for r in ws.query("SELECT * FROM decisions")}


def test_one_decision_is_saved_with_who_when_and_the_evidence_at_decision_time(ws):
    [d] = decisions.decide(ws, {"kleer_id": 101, "action": "prefer_kleer", "hr_id": "E0000"},
                      analyst="Ada")
    row = saved(ws)[("import", "101")]
    assert (row["action"], row["hr_id"], row["kleer_id"], row["prefer"]) == \
        ("prefer_kleer", "E0000", 101, "kleer")
    assert row["analyst"] == "Ada" and row["decided_at"]
    assert row["score"] == pytest.approx(0.98)
    assert json.loads(row["evidence"])[0]["signal"] == "personnummer"
    [audit] = ws.query("SELECT * FROM audit WHERE event = 'decision'")
    assert audit["analyst"] == "Ada" and audit["action"] == "prefer_kleer"
    assert audit["kleer_id"] == 101 and audit["hr_id"] == "E0000"
    assert audit["score"] == pytest.approx(0.98)
    assert json.loads(audit["evidence"])[0]["label"] == "Personnummer agrees"
    assert audit["before"] is None and json.loads(audit["after"])["action"] == "prefer_kleer"


def test_changing_a_decision_audits_before_and_after(ws):
    decisions.decide(ws, {"kleer_id": 101, "action": "prefer_hr"}, analyst="Ada")
    decisions.decide(ws, {"kleer_id": 101, "action": "match_manually", "hr_id": "E0003",
                     "prefer": "kleer", "overrides": {"phone": "hr"}}, analyst="Bo")
    row = saved(ws)[("import", "101")]
    assert (row["action"], row["hr_id"], row["prefer"], row["analyst"]) == \
        ("match_manually", "E0003", "kleer", "Bo")
    assert json.loads(row["overrides"]) == {"phone": "hr"}
    audits = ws.query("SELECT * FROM audit WHERE event = 'decision' ORDER BY id")
    assert len(audits) == 2
    before, after = json.loads(audits[1]["before"]), json.loads(audits[1]["after"])
    assert (before["action"], before["hr_id"]) == ("prefer_hr", "E0000")  # from the suggestion
    assert (after["action"], after["hr_id"], after["overrides"]) == \
        ("match_manually", "E0003", {"phone": "hr"})
    assert audits[1]["analyst"] == "Bo" and audits[1]["score"] is None  # no suggestion for that pair


def test_bulk_decisions_from_a_dataframe_are_saved_together(ws):
    frame = pd.DataFrame([
        {"kleer_id": 101, "action": "prefer_hr", "hr_id": "E0000"},
        {"kleer_id": 102, "action": "create_in_hr", "hr_id": None},
        {"kleer_id": 103, "action": "do_nothing", "hr_id": None},
        {"kleer_id": None, "action": "export", "hr_id": "E0004"},
        {"kleer_id": None, "action": "unlink", "hr_id": "E0003"},
    ])
    out = decisions.decide(ws, frame, analyst="Ada")
    assert [d.action for d in out] == ["prefer_hr", "create_in_hr", "do_nothing", "export", "unlink"]
    rows = saved(ws)
    assert set(rows) == {("import", "101"), ("import", "102"), ("import", "103"),
                         ("export", "E0004"), ("export", "E0003")}
    assert rows[("export", "E0004")]["action"] == "export"
    assert ws.query("SELECT count(*) AS n FROM audit WHERE event = 'decision'")[0]["n"] == 5


def test_a_bad_bulk_row_names_every_bad_row_and_saves_nothing(ws):
    frame = pd.DataFrame([
        {"kleer_id": 101, "action": "prefer_hr", "hr_id": "E0000"},
        {"kleer_id": 999, "action": "prefer_hr", "hr_id": "E0000"},
        {"kleer_id": 102, "action": "fly_away", "hr_id": None},
        {"kleer_id": 103, "action": "match_manually", "hr_id": None},
        {"kleer_id": 104, "action": "prefer_hr", "hr_id": "E0004", "overrides": {"shoe_size": "hr"}},
    ], index=[10, 11, 12, 13, 14])
    with pytest.raises(InputError) as e:
        decisions.decide(ws, frame, analyst="Ada")
    text = str(e.value)
    assert "4 decision(s) refused" in text
    assert "row 11 (999)" in text and "not in the snapshot" in text
    assert "row 12 (102)" in text and "fly_away" in text
    assert "row 13 (103)" in text and "needs the hr_id" in text
    assert "row 14 (104)" in text and "shoe_size" in text
    assert "row 10" not in text
    assert saved(ws) == {}
    assert ws.query("SELECT count(*) AS n FROM audit")[0]["n"] == 0


@pytest.mark.parametrize("request_, message", [
    ({"kleer_id": 104, "action": "prefer_hr"}, "no HR employee to link Kleer user 104"),
    ({"kleer_id": 101, "action": "create_in_hr", "hr_id": "E0001"}, "already exists"),
    ({"kleer_id": 101, "action": "create_in_hr", "overrides": {"phone": "hr"}}, "only apply to a linked pair"),
    ({"kleer_id": 101, "action": "prefer_hr", "hr_id": "E0000", "overrides": {"phone": "both"}},
     "must be 'hr' or 'kleer'"),
    ({"kleer_id": 101, "action": "prefer_hr", "prefer": "kleer"}, "contradicts"),
    ({"hr_id": "NOPE", "action": "export"}, "not in the HR register"),
    ({"kleer_id": 101, "action": "export"}, "needs the hr_id"),
    ({"kleer_id": 101, "action": "match_manually", "hr_id": "E0001", "prefer": "both"}, "prefer must be"),
])
def test_invalid_decisions_say_what_is_wrong(ws, request_, message):
    with pytest.raises(InputError, match=message):
        decisions.decide(ws, request_, analyst="Ada")
    assert saved(ws) == {}


def test_two_decisions_for_one_subject_in_one_batch_are_refused(ws):
    with pytest.raises(InputError, match="second decision"):
        decisions.decide(ws, [{"kleer_id": 101, "action": "prefer_hr"},
                         {"kleer_id": 101, "action": "do_nothing"}], analyst="Ada")


def test_effective_decisions_propose_confident_assigned_suggestions_only(ws):
    decisions.decide(ws, {"kleer_id": 105, "action": "create_in_hr", "hr_id": "NEW1"}, analyst="Ada")
    eff = decisions.effective_decisions(ws, "import").set_index("subject_id")
    assert list(eff.index) == ["101", "102", "103", "104", "105"]
    # certain + assigned → prefer_hr with that employee, proposed, with its evidence
    assert (eff.loc["101", "action"], eff.loc["101", "hr_id"], bool(eff.loc["101", "proposed"])) == \
        ("prefer_hr", "E0000", True)
    assert eff.loc["101", "score"] == pytest.approx(0.98)
    # assigned but only 'possible', a tie (not assigned), and no suggestion → do nothing
    assert eff.loc[["102", "103", "104"], "action"].tolist() == ["do_nothing"] * 3
    assert eff.loc[["102", "103", "104"], "proposed"].tolist() == [True] * 3
    # a saved decision wins and is not marked proposed
    assert (eff.loc["105", "action"], eff.loc["105", "hr_id"], bool(eff.loc["105", "proposed"])) == \
        ("create_in_hr", "NEW1", False)
    assert eff.loc["105", "analyst"] == "Ada"


def test_a_suggestion_whose_hr_employee_is_linked_elsewhere_is_not_proposed(ws):
    ws.links.add("E0000", 104, analyst="Ada", method="manual")
    eff = decisions.effective_decisions(ws, "import").set_index("subject_id")
    assert eff.loc["101", "action"] == "do_nothing"
    assert eff.loc["104", "hr_id"] == "E0000"  # the linked pair shows its HR employee


def test_export_side_defaults_to_do_nothing_and_knows_the_link(ws):
    ws.links.add("E0002", 103, analyst="Ada", method="manual")
    eff = decisions.effective_decisions(ws, "export").set_index("subject_id")
    assert list(eff.index) == ["E0000", "E0001", "E0002", "E0003", "E0004"]
    assert set(eff["action"]) == {"do_nothing"} and eff["proposed"].all()
    assert eff.loc["E0002", "kleer_id"] == 103
    assert pd.isna(eff.loc["E0001", "kleer_id"])


def test_proposed_decision_is_the_one_default(ws):
    sugg = {"hr_id": "E0001", "band": "likely", "assigned": 1, "score": 0.8, "evidence": []}
    d = decisions.proposed_decision("import", "102", linked_to=None, suggestion=sugg)
    assert (d.action, d.hr_id, d.kleer_id, d.prefer, d.proposed) == ("prefer_hr", "E0001", 102, "hr", True)
    assert decisions.proposed_decision("import", "102", linked_to="E0009", suggestion=sugg).action == "do_nothing"
    assert decisions.proposed_decision("import", "102", linked_to=None,
                                  suggestion={**sugg, "band": "unlikely"}).action == "do_nothing"
    assert decisions.proposed_decision("export", "E0001", linked_to=None, suggestion=None).action == "do_nothing"


# --------------------------------------------------------------------------- from the Import table

LABELS = {"create_in_hr": "Create new user", "prefer_hr": "Prefer HR", "prefer_kleer": "Prefer Kleer",
          "match_manually": "Match manually", "do_nothing": "Do nothing"}
ACTION_OF = {v: k for k, v in LABELS.items()}
CREATE = LABELS["create_in_hr"]


def table(*rows: tuple[int, str, str]) -> pd.DataFrame:
    return pd.DataFrame([{"kleer_id": k, "hr": hr, "action": LABELS[a]} for k, hr, a in rows])


def test_an_unchanged_table_gives_no_decisions():
    before = table((101, "Anna Svensson · E0000", "prefer_hr"), (102, "", "do_nothing"))
    assert decisions.from_editor(before, before.copy(), action_of=ACTION_OF, create_label=CREATE) == []


def test_a_changed_action_keeps_the_row_s_hr_employee():
    before = table((101, "Anna Svensson · E0000", "prefer_hr"))
    after = table((101, "Anna Svensson · E0000", "prefer_kleer"))
    assert decisions.from_editor(before, after, action_of=ACTION_OF, create_label=CREATE) == [
        {"kleer_id": 101, "action": "prefer_kleer", "hr_id": "E0000", "prefer": "kleer"}]


def test_choosing_another_hr_employee_under_do_nothing_becomes_a_manual_match():
    before = table((102, "", "do_nothing"))
    after = table((102, "Bo Ek · E0007", "do_nothing"))
    assert decisions.from_editor(before, after, action_of=ACTION_OF, create_label=CREATE) == [
        {"kleer_id": 102, "action": "match_manually", "hr_id": "E0007", "prefer": "hr"}]


def test_choosing_create_becomes_create_in_hr_without_an_hr_id():
    before = table((103, "Anna Svensson · E0000", "prefer_hr"))
    after = table((103, CREATE, "prefer_hr"))
    assert decisions.from_editor(before, after, action_of=ACTION_OF, create_label=CREATE) == [
        {"kleer_id": 103, "action": "create_in_hr", "hr_id": None, "prefer": None}]


def test_only_the_changed_rows_become_decisions_and_they_are_accepted(ws):
    before = table((101, "Anna · E0000", "prefer_hr"), (102, "", "do_nothing"),
                   (103, "", "do_nothing"))
    after = table((101, "Anna · E0000", "prefer_hr"), (102, "Bo · E0001", "prefer_kleer"),
                  (103, "", "do_nothing"))
    changes = decisions.from_editor(before, after, action_of=ACTION_OF, create_label=CREATE)
    assert [c["kleer_id"] for c in changes] == [102]
    [d] = decisions.decide(ws, pd.DataFrame(changes), analyst="Ada")
    assert (d.action, d.hr_id, d.prefer) == ("prefer_kleer", "E0001", "kleer")


@pytest.mark.parametrize("label, hr_id", [
    ("Anna Svensson · E0000", "E0000"), ("A · B · E12", "E12"), ("", None), (None, None),
    ("Create new user", None), ("no separator", None)])
def test_the_hr_label_round_trips_its_id(label, hr_id):
    assert decisions.hr_id_of_label(label, create_label=CREATE) == hr_id


def test_an_hr_label_names_the_employee_and_its_id():
    assert decisions.editor_hr_label("Anna Svensson", "E0000") == "Anna Svensson · E0000"
    assert decisions.editor_hr_label(None, "E0000") == "? · E0000"
    assert decisions.editor_hr_label("x", None) == ""


def test_a_decision_checked_against_the_screens_state_keeps_the_evidence(ws):
    """The screens read the state with each pair's evidence left undecoded until asked for; a
    decision checked against that state still stores the suggestion's evidence."""
    from workbench.state import WorkspaceState
    world = WorkspaceState.load(ws, evidence=False)
    assert world.suggestion(101, "E0000")["evidence"] is None  # not decoded on the read
    assert world.evidence_of(101, "E0000")[0]["signal"] == "personnummer"
    assert world.evidence_of(101, "E0001") is None  # no suggestion for that pair
    decisions.decide(ws, {"kleer_id": 101, "action": "prefer_hr", "hr_id": "E0000"},
                     analyst="Ada", world=world)
    row = saved(ws)[("import", "101")]
    assert json.loads(row["evidence"])[0]["label"] == "Personnummer agrees"
    full = WorkspaceState.load(ws)
    assert full.evidence_of(101, "E0000") == world.evidence_of(101, "E0000")
