"""Import from Kleer: lands on All, tabs with counts, the editable table (actions that fit the
row, every HR employee in the HR column, suggestions first), bulk buttons that say what they
changed and why they left the rest, the exact-id filter, the pair's detail, and Import → dry run
→ confirm → the background apply → banner, after which nothing is pending."""

from __future__ import annotations

import html

import json
import re

import pandas as pd
import pytest

from tests.conftest import open_page
from workbench.fields import join_name

PAGE = "pages/import_kleer.py"


def shown(text: str) -> str:
    """Markdown as the reader sees it (the page escapes every value: ``\\(`` reads ``(``)."""
    return html.unescape(re.sub(r"\\(.)", r"\1", text)).replace("\u2060", "")


def table(at) -> pd.DataFrame:
    return at.data_editor(key=at.session_state["import_editor:key"]).value


def column_config(at) -> dict:
    return json.loads(at.data_editor(key=at.session_state["import_editor:key"]).proto.columns)


def edit(at, rows: dict[int, dict]) -> None:
    """Edit the live table as the browser would (edits are keyed by row position)."""
    key = at.session_state["import_editor:key"]
    at.session_state[key] = {"edited_rows": rows, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception, at.exception


def position(at, kleer_id: int) -> int:
    return int(table(at).index[table(at)["kleer_id"] == kleer_id][0])


def open_tab(at, start: str) -> None:
    at.session_state["import_tab"] = next(t.label for t in at.tabs if t.label.startswith(start))
    at.run()
    assert not at.exception, at.exception


def saved(wb, kleer_id: int) -> dict | None:
    rows = wb.workspace.query("SELECT * FROM decisions WHERE side = 'import' AND subject_id = ?",
                              [str(kleer_id)])
    return rows[0] if rows else None


def finish_apply(at, wb) -> None:
    """Wait for the background apply this session started, then draw the page again."""
    batch = at.session_state["apply_watch"]
    assert batch, "no apply was started"
    assert wb.wait_apply(batch, timeout=60).state in ("done", "incomplete")
    at.run()
    assert not at.exception, at.exception


@pytest.fixture
def page(demo_workbench):
    at = open_page(PAGE)
    assert not at.exception, at.exception
    return at


def test_lands_on_all_and_tabs_keep_their_counts(page, demo_workbench):
    counts = demo_workbench.counts()
    assert [t.label for t in page.tabs] == [f"New ({counts['kleer'] - counts['linked']})",
                                            f"Imported ({counts['linked']})", f"All ({counts['kleer']})"]
    assert len(table(page)) == counts["kleer"]  # All is open


def test_suggested_rows_are_prefilled_from_their_band(page, demo_workbench):
    t = table(page).set_index("kleer_id")
    sugg = demo_workbench.suggestions()
    certain = sugg[(sugg["assigned"] == 1) & (sugg["band"] == "certain")]["kleer_id"].head(5)
    assert all(t.at[k, "action"] == "Prefer HR" for k in certain)
    lonely = set(t.index) - set(sugg["kleer_id"])
    assert lonely and all(t.at[k, "action"] == "Do nothing" for k in list(lonely)[:5])
    assert (t["hr"] != "None").all() and not t["hr"].isna().any()  # blank cells are blank


def test_an_edited_action_is_saved_as_a_decision(page, demo_workbench):
    kid = int(table(page)[table(page)["action"] == "Prefer HR"]["kleer_id"].iloc[0])
    edit(page, {position(page, kid): {"action": "Prefer Kleer"}})
    d = saved(demo_workbench, kid)
    assert d["action"] == "prefer_kleer" and d["prefer"] == "kleer" and d["analyst"] == "Ada"
    assert table(page).set_index("kleer_id").at[kid, "action"] == "Prefer Kleer"


def test_choosing_create_new_user_in_the_hr_column(page, demo_workbench):
    open_tab(page, "New")
    kid = int(table(page)[table(page)["hr"] == ""]["kleer_id"].iloc[-1])
    edit(page, {position(page, kid): {"hr": "Create new user"}})
    d = saved(demo_workbench, kid)
    assert d["action"] == "create_in_hr" and d["hr_id"] is None


def test_the_hr_column_offers_every_hr_employee_suggestions_first(page, demo_workbench):
    open_tab(page, "New")
    options = column_config(page)["hr"]["type_config"]["options"]
    options = [o["value"] if isinstance(o, dict) else o for o in options]
    assert options[0] == "Create new user"
    assert len(options) == demo_workbench.counts()["hr"] + 1  # everyone, once
    # a namesake's other namesake (not a candidate of this row) can be chosen from the table
    t = table(page)
    kid = int(t[t["action"] == "Prefer HR"]["kleer_id"].iloc[0])
    current = t.set_index("kleer_id").at[kid, "hr"]
    other = next(o for o in options[1:] if o != current)
    edit(page, {position(page, kid): {"hr": other}})
    d = saved(demo_workbench, kid)
    assert d["action"] in ("prefer_hr", "match_manually") and d["hr_id"] == other.rsplit(" · ", 1)[1]


def test_linked_rows_are_not_offered_create_new_user(page, demo_workbench):
    demo_workbench.apply(demo_workbench.plan("import"))
    page.run()
    open_tab(page, "Imported")
    config = column_config(page)
    actions = [o["value"] if isinstance(o, dict) else o for o in config["action"]["type_config"]["options"]]
    assert "Create new user" not in actions and "Prefer Kleer" in actions
    assert config["hr"].get("disabled") is True  # a linked row keeps its HR employee here
    t = table(page)
    assert len(t) == demo_workbench.counts()["linked"] and (t["hr"] != "Create new user").all()


def options_of(at, column: str) -> list[str]:
    return [o["value"] if isinstance(o, dict) else o
            for o in column_config(at)[column]["type_config"]["options"]]


def test_the_all_tab_never_offers_create_new_user_to_a_linked_row(page, demo_workbench):
    """Option lists are per column: the All tab holds linked rows, so neither its action column
    nor its HR column offers Create new user; a row decided so still reads so, and the New tab
    (unlinked rows only) keeps offering it."""
    t = table(page)
    lonely = int(t[t["hr"] == ""]["kleer_id"].iloc[0])
    demo_workbench.decide(kleer_id=lonely, action="create_in_hr")
    demo_workbench.apply(demo_workbench.plan("import", [k for k in t["kleer_id"] if k != lonely]))
    page.run()
    t = table(page).set_index("kleer_id")
    assert (t["hr"] != "").sum() and demo_workbench.counts()["linked"] > 0  # linked rows are here
    assert "Create new user" not in options_of(page, "action")
    assert "Create new user" not in options_of(page, "hr")
    assert {"Prefer HR", "Prefer Kleer", "Match manually", "Do nothing"} <= set(options_of(page, "action"))
    assert t.at[lonely, "action"] == "Create new user" and t.at[lonely, "hr"] == "Create new user"
    open_tab(page, "New")
    assert options_of(page, "action")[0] == "Create new user" and options_of(page, "hr")[0] == "Create new user"


def test_bulk_buttons_say_what_they_changed_and_why_they_left_the_rest(page, demo_workbench):
    t = table(page)
    linked_kid = int(t[t["action"] == "Prefer HR"]["kleer_id"].iloc[0])
    demo_workbench.apply(demo_workbench.plan("import", [str(linked_kid)]))
    page.run()
    t = table(page)
    lonely = t[t["hr"] == ""]["kleer_id"].tolist()
    lonely = [k for k in lonely if k != 1][:2]  # not the integration user
    checked = [linked_kid, *lonely, 1]
    edit(page, {position(page, k): {"select": True} for k in checked})
    assert any("4 checked" in c.value for c in page.caption)
    page.button(key="bulk:create_in_hr").click().run()
    assert not page.exception, page.exception
    message = shown(" ".join(i.value for i in page.info))
    assert "Create new user: 2 of 4 checked row(s) changed." in message
    assert "1 left as they were (already linked to an HR employee)" in message
    assert "the integration user" in message
    assert [saved(demo_workbench, k)["action"] for k in lonely] == ["create_in_hr"] * 2
    assert saved(demo_workbench, 1) is None  # the integration user is left out
    assert any("0 checked" in c.value for c in page.caption)  # the selection is cleared


def test_the_integration_user_is_flagged(page):
    t = table(page).set_index("kleer_id")
    assert "integration user" in t.at[1, "flags"]
    assert "integration user" not in " ".join(t.drop(index=1)["flags"])


def test_filter_finds_an_id_exactly_and_names_by_part(page):
    t = table(page)
    kid = int(t["kleer_id"].iloc[5])
    page.text_input(key="import_filter").input(str(kid)).run()
    assert table(page)["kleer_id"].tolist()[0] == kid
    assert all(str(kid) not in str(k) or k == kid for k in table(page)["kleer_id"])
    name = t["kleer_name"].iloc[5]
    page.text_input(key="import_filter").input(name.split()[-1]).run()
    assert 1 <= len(table(page)) < 20 and table(page)["kleer_name"].str.contains(name.split()[-1]).any()


def test_import_runs_in_the_background_then_nothing_is_pending(page, demo_workbench):
    t = table(page)
    kid_kleer = int(t[t["action"] == "Prefer HR"]["kleer_id"].iloc[0])
    hr_of = t.set_index("kleer_id").at[kid_kleer, "hr"].rsplit(" · ", 1)[1]
    lonely = int(t[(t["hr"] == "") & (t["kleer_id"] != 1)]["kleer_id"].iloc[-1])
    edit(page, {position(page, kid_kleer): {"action": "Prefer Kleer", "select": True},
                position(page, lonely): {"hr": "Create new user", "select": True}})
    edit(page, {position(page, kid_kleer): {"select": True}, position(page, lonely): {"select": True}})
    assert page.button(key="import").label == "Import (2)"
    # Prefer Kleer also writes the HR id to the Kleer user's foreign-id (unless it carries it)
    done = 2 + (demo_workbench.workspace.kleer.get(kid_kleer)["foreign_id"] != hr_of)
    page.button(key="import").click().run()
    assert any(m.label == "Operations to run" for m in page.metric)  # the dry run
    assert demo_workbench.counts()["linked"] == 0  # nothing written yet
    page.button(key="import_confirm").click().run()
    assert not page.exception, page.exception
    finish_apply(page, demo_workbench)
    assert any(f"Import finished: {done} done" in s.value for s in page.success)
    ws = demo_workbench.workspace
    assert ws.links.of(kleer_id=kid_kleer)["hr_id"] == hr_of
    kleer, hr = ws.kleer.get(kid_kleer), ws.hr.get(hr_of)
    assert join_name(hr["first_name"], hr["last_name"]) == kleer["name"]  # HR took Kleer's values
    created = ws.links.of(kleer_id=lonely)
    assert created is not None and ws.hr.get(created["hr_id"])["ssn"] == ws.kleer.get(lonely)["ssn"]
    assert [t.label for t in page.tabs][1] == "Imported (2)"
    # settled: the two rows are not pending any more; the rest of the tab still is
    t = table(page).set_index("kleer_id")
    assert t.at[kid_kleer, "action"] == "Do nothing" and t.at[lonely, "action"] == "Do nothing"
    n = int(demo_workbench.import_rows()["pending"].sum())
    assert page.button(key="import").label == f"Import ({n})"
    # everything: afterwards Import (0)
    page.button(key="import").click().run()
    page.button(key="import_confirm").click().run()
    finish_apply(page, demo_workbench)
    assert page.button(key="import").label == "Import (0)" and page.button(key="import").disabled


def test_a_stale_selection_says_so(page, demo_workbench):
    t = table(page)
    kid = int(t[t["action"] == "Prefer HR"]["kleer_id"].iloc[0])
    edit(page, {position(page, kid): {"select": True}})
    assert page.button(key="import").label == "Import (1)"
    demo_workbench.apply(demo_workbench.plan("import", [str(kid)]))  # a second tab imports it
    page.button(key="import").click().run()
    assert not page.exception, page.exception
    warning = shown(" ".join(w.value for w in page.warning))
    assert "Nothing to import for the 1 checked row(s) now" in warning
    assert not any(m.label == "Operations to run" for m in page.metric)  # no empty dry run


def test_the_detail_shows_both_values_the_choice_and_the_explanation(page, demo_workbench):
    t = table(page)
    kid = int(t[t["action"] == "Prefer HR"]["kleer_id"].iloc[0])
    assert column_config(page)["affected"]["type_config"]["type"] == "button"
    page.session_state["import_detail"] = kid  # what a click on the Affected fields cell sets
    page.run()
    assert not page.exception, page.exception
    details = next(d.value for d in page.dataframe if "label" in d.value.columns and "hr" in d.value.columns)
    ssn = details.set_index("label").loc["Personnummer"]
    assert ssn["hr"].endswith("-****") and ssn["kleer"].endswith("-****")  # masked by default
    evidence = next(d.value for d in page.dataframe if "sentence" in d.value.columns)
    assert evidence["sentence"].str.len().gt(0).all() and "contribution" in evidence.columns
    if details["differs"].any():  # a per-field choice for every differing field
        radios = [r for r in page.radio if r.key and r.key.startswith(f"ov:{kid}:")]
        assert len(radios) == int(details["differs"].sum())


def test_revealing_personal_data_is_per_session_and_audited(page, demo_workbench):
    t = table(page)
    kid = int(t[t["action"] == "Prefer HR"]["kleer_id"].iloc[0])
    page.session_state["import_detail"] = kid
    page.run()

    def ssn(at):
        d = next(d.value for d in at.dataframe if "label" in d.value.columns and "hr" in d.value.columns)
        return d.set_index("label").at["Personnummer", "hr"]

    assert ssn(page).endswith("****")
    page.sidebar.toggle(key="reveal_personal_data").set_value(True).run()
    assert not ssn(page).endswith("****")
    row = demo_workbench.workspace.audit.frame().iloc[0]
    assert (row["event"], row["action"], row["analyst"]) == ("reveal", "reveal", "Ada")
    fresh = open_page(PAGE)  # another session starts masked again
    fresh.session_state["import_detail"] = kid
    fresh.run()
    assert ssn(fresh).endswith("****")


def test_a_long_affected_fields_summary_is_shortened_at_its_end(page, demo_workbench):
    """The centred button cell cut a long summary at its start (", clearing number, account"):
    the cell now shows the count and the first fields, then "…"; the detail lists them all."""
    t = table(page).set_index("kleer_id")
    full = demo_workbench.import_rows().set_index("kleer_id")["affected"]
    long = full[full.str.len() > 30]
    assert len(long), "the demo has pairs with many differing fields"
    for kid, summary in long.head(10).items():
        cell = t.at[kid, "affected"]
        assert cell.endswith("…") and len(cell) <= 30 and summary.startswith(cell[:-1])
        assert cell.split(":")[0] == summary.split(":")[0]  # the count is kept
    fits = full[(full.str.len() <= 30) & (full != "")].head(5)
    assert all(t.at[k, "affected"] == s for k, s in fits.items())
