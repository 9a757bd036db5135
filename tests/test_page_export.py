"""Export to Kleer: tabs with counts, what a linked export would change, Export (n) → dry run →
confirm → Kleer written (the simulator over HTTP) → banner; blocked rows stay with their reason and
are never sent; Unlink leaves Kleer untouched; Cancel clears the selection."""

from __future__ import annotations

import html

import pandas as pd
import pytest

from tests.conftest import open_page
from workbench.fields import join_name
from workbench.normalize import personnummer
from workbench.readmodels import export_rows

PAGE = "pages/export_kleer.py"


def table(at) -> pd.DataFrame:
    return at.data_editor(key=at.session_state["export_editor:key"]).value


def edit(at, rows: dict[int, dict]) -> None:
    """Edit the live table as the browser would (edits are keyed by row position)."""
    at.session_state[at.session_state["export_editor:key"]] = {
        "edited_rows": rows, "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.exception, at.exception


def check(at, hr_ids: list[str]) -> None:
    ids = table(at)["hr_id"].tolist()
    edit(at, {ids.index(h): {"select": True} for h in hr_ids})


def open_tab(at, label_start: str) -> None:
    label = next(t.label for t in at.tabs if t.label.startswith(label_start))
    at.session_state["export_tab"] = label
    at.run()
    assert not at.exception, at.exception


def frame_with(at, column: str) -> pd.DataFrame:
    """The first read-only table on the page that has ``column`` (the editor is a table too)."""
    return next(d.value for d in at.dataframe if column in d.value.columns and "select" not in d.value.columns)


def checked_caption(at) -> str:
    return next(c.value for c in at.caption if "checked in this tab" in c.value)


def finish_apply(at, wb) -> None:
    """Wait for the background apply this session started, then draw the page again."""
    batch = at.session_state["apply_watch"]
    assert batch, "no apply was started"
    assert wb.wait_apply(batch, timeout=60).state in ("done", "incomplete")
    at.run()
    assert not at.exception, at.exception


def by_foreign_id(kleer_sim) -> dict[str, dict]:
    return {u["foreign-id"]: u for u in kleer_sim.dump()["users"] if u.get("foreign-id")}


@pytest.fixture
def wb(demo_workbench):
    """The demo with its confident suggestions applied (Prefer HR: links only, Kleer untouched),
    so the Linked tab has employees whose HR values differ from Kleer's."""
    demo_workbench.apply(demo_workbench.plan("import"))
    return demo_workbench


@pytest.fixture
def rows(wb) -> pd.DataFrame:
    return export_rows(wb.workspace)


@pytest.fixture
def page(wb):
    at = open_page(PAGE)
    assert not at.exception, at.exception
    return at


def exportable(rows: pd.DataFrame, n: int) -> list[str]:
    """``n`` unlinked HR employees an export can create (valid personnummer, start date)."""
    ok = rows[(rows["state"] == "unlinked") & rows["ssn"].map(lambda s: bool(personnummer(s).value))
              & rows["employment_start_date"].notna() & (rows["problems"] == "")]
    return ok["hr_id"].head(n).tolist()


def test_tabs_show_counts_and_open_on_linked(page, wb, rows):
    unlinked = int((rows["state"] == "unlinked").sum())
    assert 0 < unlinked < len(rows)
    assert [t.label for t in page.tabs] == [f"HR ({unlinked})", f"Linked ({len(rows) - unlinked})",
                                            f"All ({len(rows)})"]
    assert table(page)["hr_id"].tolist() == rows[rows["state"] == "linked"]["hr_id"].tolist()
    open_tab(page, "HR")
    assert table(page)["hr_id"].tolist() == rows[rows["state"] == "unlinked"]["hr_id"].tolist()
    assert table(page)["ssn"].dropna().str.endswith("****").all()  # masked by default
    wb.update_settings(hr_label="Sympa")
    page.run()
    assert page.tabs[0].label == f"Sympa ({unlinked})"


def test_linked_rows_show_the_fields_that_would_change_with_details(page, rows):
    open_tab(page, "Linked")
    t = table(page).set_index("hr_id")
    changed = rows[(rows["state"] == "linked") & (rows["changes"] != "")].iloc[0]
    assert t.at[changed["hr_id"], "changes"] == changed["changes"]
    assert changed["changes"].startswith(f"{len(changed['changed_fields'])}: ")
    page.selectbox(key="export_detail").set_value(changed["hr_id"]).run()
    details = frame_with(page, "label").set_index("label")
    assert details["differs"].sum() == len(changed["changed_fields"])
    assert (details.loc[details["differs"], "hr"] != details.loc[details["differs"], "kleer"]).all()
    assert details.at["Personnummer", "hr"].endswith("****")


def test_export_creates_the_checked_after_a_dry_run(page, wb, rows, kleer_sim):
    two = exportable(rows, 2)
    open_tab(page, "HR")
    check(page, two)
    assert "2 checked" in checked_caption(page)
    writes = kleer_sim.state()["writes"]
    page.button(key="export").click().run()
    assert page.button(key="export").label == "Export (2)"
    assert any(m.label == "Operations to run" and m.value == "2" for m in page.metric)  # the dry run
    plan_table = frame_with(page, "kind")
    assert set(plan_table["kind"]) == {"create in Kleer"} and set(plan_table["hr_id"]) == set(two)
    assert plan_table["changes"].str.contains("Personnummer: ∅ → ").all()  # what Kleer receives
    assert kleer_sim.state()["writes"] == writes  # nothing sent before the confirmation
    page.button(key="export_confirm").click().run()
    assert not page.exception, page.exception
    finish_apply(page, wb)
    assert any("Export finished: 2 done" in s.value for s in page.success)
    users = by_foreign_id(kleer_sim)
    for hr_id in two:
        hr = wb.workspace.hr.get(hr_id)
        assert users[hr_id]["name"] == join_name(hr["first_name"], hr["last_name"])
        assert wb.workspace.links.of(hr_id=hr_id)["kleer_id"] == users[hr_id]["id"]
    contracts = {c["user"]["id"]: c for c in kleer_sim.dump()["payroll-user-readables"]}
    assert contracts[users[two[0]]["id"]]["ssn"] == personnummer(wb.workspace.hr.get(two[0])["ssn"]).value
    unlinked = int((rows["state"] == "unlinked").sum())
    assert [t.label for t in page.tabs][:2] == [f"HR ({unlinked - 2})", f"Linked ({len(rows) - unlinked + 2})"]
    assert "0 checked" in checked_caption(page)  # the selection is cleared after the export


def test_export_of_a_linked_employee_updates_kleer_with_the_hr_values(page, wb, rows, kleer_sim):
    # a row whose changes Kleer all takes (the employee number is only written when Settings
    # allow it, so a row that also differs in it keeps that change)
    sent = rows["changed_fields"].map(lambda f: "phone" in f and "employee_number" not in f)
    row = rows[(rows["state"] == "linked") & sent].iloc[0]
    open_tab(page, "Linked")
    check(page, [row["hr_id"]])
    page.button(key="export").click().run()
    page.button(key="export_confirm").click().run()
    finish_apply(page, wb)
    assert any("Export finished: 1 done" in s.value for s in page.success)
    user = next(u for u in kleer_sim.dump()["users"] if u["id"] == int(row["kleer_id"]))
    contract = next(c for c in kleer_sim.dump()["payroll-user-readables"] if c["user"]["id"] == user["id"])
    assert contract["phone"] == wb.workspace.hr.get(row["hr_id"])["phone"]
    fresh = export_rows(wb.workspace).set_index("hr_id")
    assert fresh.at[row["hr_id"], "changes"] == ""  # nothing left to change


def test_a_blocked_row_stays_visible_with_its_reason_and_is_not_sent(page, wb, rows, kleer_sim):
    bad = rows[(rows["state"] == "unlinked") & ~rows["ssn"].map(lambda s: bool(personnummer(s).value))]
    blocked = bad["hr_id"].iloc[0]
    good = exportable(rows, 1)[0]
    open_tab(page, "HR")
    check(page, [blocked, good])
    page.button(key="export").click().run()
    assert any("1 blocked" in e.value and blocked in e.value for e in page.error)  # in the dry run
    reason = table(page).set_index("hr_id").at[blocked, "not_sent"]
    assert "no valid personnummer" in reason  # beside the row, behind the dialog
    page.button(key="export_confirm").click().run()
    assert not page.exception, page.exception
    finish_apply(page, wb)
    assert kleer_sim.state()["writes"]["create_user"] == 1
    users = by_foreign_id(kleer_sim)
    assert good in users and blocked not in users
    t = table(page).set_index("hr_id")
    assert blocked in t.index and "no valid personnummer" in t.at[blocked, "not_sent"]  # from the journal now
    assert good not in t.index  # it moved to Linked
    assert any("1 skipped" in s.value for s in page.success)


def test_unlink_only_forgets_the_link_and_kleer_is_untouched(page, wb, rows, kleer_sim):
    open_tab(page, "Linked")
    hr_id = table(page)["hr_id"].iloc[3]
    kleer_id = int(wb.workspace.links.of(hr_id=hr_id)["kleer_id"])
    check(page, [hr_id])
    before = kleer_sim.state()["writes"], kleer_sim.dump()
    page.button(key="unlink").click().run()
    assert page.button(key="unlink").label == "Unlink (1)"
    assert any("Kleer is not touched" in i.value for i in page.info)
    assert wb.workspace.links.of(hr_id=hr_id) is not None  # nothing before the confirmation
    page.button(key="unlink_confirm").click().run()
    assert not page.exception, page.exception
    finish_apply(page, wb)
    assert any("Unlink finished: 1 done" in s.value for s in page.success)
    assert wb.workspace.links.of(hr_id=hr_id) is None and wb.workspace.links.of(kleer_id=kleer_id) is None
    assert (kleer_sim.state()["writes"], kleer_sim.dump()) == before
    open_tab(page, "HR")
    assert hr_id in table(page)["hr_id"].tolist()  # back in the first tab


def test_select_all_checks_this_tab_and_cancel_clears_the_selection(page, rows):
    n = int((rows["state"] == "unlinked").sum())
    open_tab(page, "HR")
    page.checkbox(key="export_all:unlinked:0").check().run()
    assert f"{n} checked" in checked_caption(page) and page.button(key="export").label == f"Export ({n})"
    assert page.button(key="unlink").disabled  # nothing linked is checked
    page.button(key="export_cancel").click().run()
    assert "0 checked" in checked_caption(page) and page.button(key="export").disabled
    check(page, table(page)["hr_id"].head(2).tolist())
    assert "2 checked" in checked_caption(page)
    page.button(key="export_cancel").click().run()
    assert "0 checked" in checked_caption(page)


def test_viewers_see_the_tabs_but_cannot_export_or_unlink(wb, rows):
    at = open_page(PAGE)
    at.session_state["role"] = "viewer"
    at.run()
    check(at, table(at)["hr_id"].head(1).tolist())
    assert "1 checked" in checked_caption(at)
    assert at.button(key="export").disabled and at.button(key="unlink").disabled
    assert "cannot export or unlink" in at.button(key="export").help
    assert any("cannot export or unlink" in c.value for c in at.caption)


def test_a_stale_selection_says_so(page, wb, rows):
    # rows another tab moved: the selection is cleared (never shifted onto another employee)
    one = exportable(rows, 1)
    open_tab(page, "HR")
    check(page, one)
    wb.apply(wb.plan_export(one))  # a second tab exports it meanwhile
    page.run()
    assert any("the selection was cleared" in w.value for w in page.warning)
    assert "0 checked" in checked_caption(page)
    # the same rows, but the work was done meanwhile: Export says so instead of doing nothing
    row = rows[(rows["state"] == "linked") & rows["changed_fields"].map(bool)].iloc[0]
    open_tab(page, "Linked")
    check(page, [row["hr_id"]])
    wb.apply(wb.plan_export([row["hr_id"]]))
    page.button(key="export").click().run()
    assert not page.exception, page.exception
    assert any("Nothing to export for the 1 checked employee" in html.unescape(w.value.replace("\\", "")).replace("\u2060", "")
               for w in page.warning)
    assert not any(m.label == "Operations to run" for m in page.metric)


def test_an_empty_linked_tab_says_how_employees_get_linked(demo_workbench):
    """A new workspace lands on Linked with nothing in it: the page says where links come from
    instead of showing an empty grid alone; once something is linked the note is gone."""
    from tests.conftest import as_read
    at = open_page(PAGE)
    assert not at.exception, at.exception
    notes = [as_read(i.value) for i in at.info]
    assert any(n.startswith("Nothing is linked yet. Link Kleer employees to HR employees on "
                            "Import from Kleer") for n in notes), notes
    demo_workbench.apply(demo_workbench.plan("import"))
    at.run()
    assert not any(as_read(i.value).startswith("Nothing is linked yet") for i in at.info)
