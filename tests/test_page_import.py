"""Import from Kleer: tabs with counts, the editable table, bulk buttons on the checked rows of the
tab only, the details view, and Import → dry run → confirm → workspace written → banner."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.conftest import open_page
from workbench.fields import join_name

PAGE = "pages/import_kleer.py"


def table(at) -> pd.DataFrame:
    return at.data_editor(key=at.session_state["import_editor:key"]).value


def edit(at, rows: dict[int, dict]) -> None:
    """Edit the live table as the browser would (edits are keyed by row position)."""
    key = at.session_state["import_editor:key"]
    at.session_state[key] = {"edited_rows": rows, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception, at.exception


def position(at, kleer_id: int) -> int:
    return int(table(at).index[table(at)["kleer_id"] == kleer_id][0])


def saved(wb, kleer_id: int) -> dict | None:
    rows = wb.workspace.query("SELECT * FROM decisions WHERE side = 'import' AND subject_id = ?",
                              [str(kleer_id)])
    return rows[0] if rows else None


@pytest.fixture
def page(demo_workbench):
    at = open_page(PAGE)
    assert not at.exception, at.exception
    return at


@pytest.fixture
def truth(demo_workbench):
    from tests.conftest import DEMO
    return pd.read_csv(DEMO / "ground_truth.csv", dtype={"hr_id": str})


def test_tabs_show_counts_and_open_on_new(page, demo_workbench):
    counts = demo_workbench.counts()
    assert [t.label for t in page.tabs] == [f"New ({counts['kleer'] - counts['linked']})",
                                            f"Imported ({counts['linked']})", f"All ({counts['kleer']})"]
    assert len(table(page)) == counts["kleer"] - counts["linked"]


def test_suggested_rows_are_prefilled_from_their_band(page, demo_workbench):
    t = table(page)
    sugg = demo_workbench.suggestions()
    certain = sugg[(sugg["assigned"] == 1) & (sugg["band"] == "certain")]["kleer_id"].head(5)
    for kid in certain:
        assert t.set_index("kleer_id").at[kid, "action"] == "Prefer HR"
    lonely = set(t["kleer_id"]) - set(sugg["kleer_id"])
    assert lonely, "the demo has Kleer-only employees"
    for kid in list(lonely)[:5]:
        assert t.set_index("kleer_id").at[kid, "action"] == "Do nothing"


def test_an_edited_action_is_saved_as_a_decision(page, demo_workbench):
    kid = int(table(page)[table(page)["action"] == "Prefer HR"]["kleer_id"].iloc[0])
    edit(page, {position(page, kid): {"action": "Prefer Kleer"}})
    d = saved(demo_workbench, kid)
    assert d["action"] == "prefer_kleer" and d["prefer"] == "kleer" and d["analyst"] == "Ada"
    assert table(page).set_index("kleer_id").at[kid, "action"] == "Prefer Kleer"
    audit = demo_workbench.workspace.audit.frame()
    assert audit.iloc[0]["event"] == "decision" and audit.iloc[0]["action"] == "prefer_kleer"


def test_choosing_create_new_user_in_the_hr_column(page, demo_workbench):
    kid = int(table(page)[table(page)["hr"] == ""]["kleer_id"].iloc[-1])
    edit(page, {position(page, kid): {"hr": "Create new user"}})
    d = saved(demo_workbench, kid)
    assert d["action"] == "create_in_hr" and d["hr_id"] is None


def test_bulk_buttons_act_on_checked_rows_of_this_tab_only(page, demo_workbench):
    t = table(page)
    prefilled = t[t["action"] == "Prefer HR"]["kleer_id"].tolist()
    checked = prefilled[:3]
    edit(page, {position(page, k): {"select": True} for k in checked})
    assert "3 checked" in page.caption[0].value
    page.button(key="bulk:do_nothing").click().run()
    assert {saved(demo_workbench, k)["action"] for k in checked} == {"do_nothing"}
    assert all(saved(demo_workbench, k) is None for k in prefilled[3:])  # untouched
    assert "0 checked" in page.caption[0].value  # the selection is cleared after the action


def test_filter_narrows_the_table(page):
    name = table(page)["kleer_name"].dropna().iloc[5]
    page.text_input(key="import_filter").input(name.split()[-1]).run()
    t = table(page)
    assert 1 <= len(t) < 20
    assert t["kleer_name"].str.contains(name.split()[-1]).any()


def test_import_shows_the_plan_then_writes_on_confirm(page, demo_workbench, truth):
    t = table(page)
    kid_kleer = int(t[t["action"] == "Prefer HR"]["kleer_id"].iloc[0])
    hr_of = t.set_index("kleer_id").at[kid_kleer, "hr"].rsplit(" · ", 1)[1]
    lonely = int(t[t["hr"] == ""]["kleer_id"].iloc[-1])
    edit(page, {position(page, kid_kleer): {"action": "Prefer Kleer", "select": True},
                position(page, lonely): {"hr": "Create new user", "select": True}})
    # the selection survives the save-and-rerun of the edit; import acts on the checked rows
    edit(page, {position(page, kid_kleer): {"select": True}, position(page, lonely): {"select": True}})
    assert page.button(key="import").label == "Import (2)"
    page.button(key="import").click().run()
    assert any(m.label == "Operations to run" for m in page.metric)  # the dry run
    assert demo_workbench.counts()["linked"] == 0  # nothing written yet
    page.button(key="import_confirm").click().run()
    assert not page.exception, page.exception
    assert any("Import finished" in s.value for s in page.success)
    ws = demo_workbench.workspace
    assert ws.links.of(kleer_id=kid_kleer)["hr_id"] == hr_of
    kleer = ws.kleer.get(kid_kleer)
    hr = ws.hr.get(hr_of)
    assert join_name(hr["first_name"], hr["last_name"]) == kleer["name"]  # HR took Kleer's values
    assert hr["phone"] == kleer["phone"] and hr["street"] == kleer["street"]
    created = ws.links.of(kleer_id=lonely)
    assert created is not None and ws.hr.get(created["hr_id"])["ssn"] == ws.kleer.get(lonely)["ssn"]
    assert [t.label for t in page.tabs][1] == "Imported (2)"


def test_details_show_both_values_and_the_evidence(page, demo_workbench):
    t = table(page)
    kid = int(t[t["action"] == "Prefer HR"]["kleer_id"].iloc[0])
    page.selectbox(key="import_detail").set_value(kid).run()
    details = page.dataframe[1].value
    assert list(details.columns[:3]) == ["label", "hr", "kleer"]
    ssn = details.set_index("label").loc["Personnummer"]
    assert ssn["hr"].endswith("-****") and ssn["kleer"].endswith("-****")  # masked by default
    evidence = page.dataframe[2].value
    assert "sentence" in evidence.columns and evidence["sentence"].str.len().gt(0).all()


def test_revealing_personal_data_is_per_session_and_audited(page, demo_workbench):
    t = table(page)
    kid = int(t[t["action"] == "Prefer HR"]["kleer_id"].iloc[0])
    page.selectbox(key="import_detail").set_value(kid).run()
    assert page.dataframe[1].value.set_index("label").at["Personnummer", "hr"].endswith("****")
    page.sidebar.toggle(key="reveal_personal_data").set_value(True).run()
    ssn = page.dataframe[1].value.set_index("label").at["Personnummer", "hr"]
    assert not ssn.endswith("****") and ssn == demo_workbench.workspace.hr.get(
        t.set_index("kleer_id").at[kid, "hr"].rsplit(" · ", 1)[1])["ssn"]
    row = demo_workbench.workspace.audit.frame().iloc[0]
    assert (row["event"], row["action"], row["analyst"]) == ("reveal", "reveal", "Ada")
    fresh = open_page(PAGE)  # another session starts masked again
    fresh.selectbox(key="import_detail").set_value(kid).run()
    assert fresh.dataframe[1].value.set_index("label").at["Personnummer", "hr"].endswith("****")


def test_details_follow_the_first_checked_row(page):
    t = table(page)
    kid = int(t["kleer_id"].iloc[7])
    edit(page, {position(page, kid): {"select": True}})
    assert page.selectbox(key="import_detail").value == kid
