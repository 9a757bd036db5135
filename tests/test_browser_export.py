"""The export workflow in a real browser (Playwright driving Debian's Chromium) against the app
and the Kleer simulator over HTTP: export two HR-only employees, update one linked employee,
unlink one; then the simulator's state, the Linked tab, the Audit page and its CSV download
(masked personnummer). Screenshots of Overview, Export and Audit go to test-artifacts/."""

from __future__ import annotations

import csv
import io
import re

import pandas as pd
import pytest
from playwright.sync_api import Page, expect

from workbench.normalize import personnummer
from workbench.readmodels import export_rows

ROW = 35  # px: the editor's header and row height


def wait_idle(page: Page) -> None:
    expect(page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]')).to_be_attached(timeout=20000)


def check(page: Page, tab_rows: list[str], hr_id: str, n: int) -> None:
    """Check ``hr_id``'s box in the editor, whose rows are ``tab_rows``, as the ``n``-th checked row:
    wait for the grid to hold the tab's rows, click the first row's checkbox cell beside its box
    (which selects the cell without toggling it), move down with the keyboard, press space; then
    wait for the page to count ``n`` checked rows."""
    grid = page.get_by_test_id("stDataFrame").first
    expect(grid.get_by_test_id("glide-cell-1-0")).to_have_text(tab_rows[0], timeout=20000)
    wait_idle(page)
    grid.click(position={"x": 10, "y": ROW + ROW // 2})
    expect(grid.get_by_test_id("glide-cell-0-0")).to_have_attribute("aria-selected", "true")
    row = tab_rows.index(hr_id)
    for _ in range(row):
        page.keyboard.press("ArrowDown")
    expect(grid.get_by_test_id(f"glide-cell-0-{row}")).to_have_attribute("aria-selected", "true")
    page.keyboard.press(" ")
    expect(page.get_by_text(f"{n} checked in this tab")).to_be_visible(timeout=20000)
    wait_idle(page)
    if n == 1:  # the details (first row: the HR id) follow the first checked row
        details = page.get_by_test_id("stDataFrame").nth(1)
        expect(details.get_by_test_id("glide-cell-1-0")).to_have_text(hr_id, timeout=20000)


def in_tab(rows: pd.DataFrame, state: str) -> list[str]:
    return rows[rows["state"] == state]["hr_id"].tolist()


def confirm(page: Page, button: str, banner: str) -> None:
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible(timeout=20000)
    dialog.get_by_role("button", name=button).click()
    expect(page.get_by_test_id("stAlertContentSuccess").filter(has_text=banner)).to_be_visible(timeout=30000)
    wait_idle(page)


@pytest.fixture
def linked_demo(demo_workbench, workspace_path):
    """The demo with its confident suggestions linked (Prefer HR: Kleer untouched)."""
    demo_workbench.apply(demo_workbench.plan("import"))
    return demo_workbench


@pytest.mark.browser
def test_export_update_unlink_then_audit_in_the_browser(linked_demo, workspace_path, kleer_sim, start_app,
                                                        page: Page, artifacts):
    wb = linked_demo
    rows = export_rows(wb.workspace)
    unlinked = rows[rows["state"] == "unlinked"]
    valid = unlinked["ssn"].map(lambda s: bool(personnummer(s).value)) & (unlinked["problems"] == "")
    new = unlinked[valid]["hr_id"].head(2).tolist()
    linked = rows[rows["state"] == "linked"]
    update = linked[linked["changed_fields"].map(lambda f: "phone" in f)].iloc[0]
    unlink = linked[linked["changes"] == ""].iloc[0]
    users_before = kleer_sim.state()["users"]
    app = start_app(workspace_path)
    page.set_viewport_size({"width": 1500, "height": 1800})  # tall: whole pages in the screenshots

    page.goto(app.url)
    page.get_by_label("Your name").fill("Ada")
    page.get_by_role("button", name="Start").click()
    page.get_by_test_id("stSidebar").get_by_role("link", name="Export to Kleer").click()
    expect(page.get_by_role("tab", name=f"HR ({len(unlinked)})")).to_be_visible(timeout=20000)
    expect(page.get_by_role("tab", name=re.compile(r"^Linked \("))).to_have_attribute(
        "aria-selected", "true")  # lands on Linked, as the vendor's
    page.get_by_role("tab", name=f"HR ({len(unlinked)})").click()
    wait_idle(page)
    wait_idle(page)

    # export two HR-only employees: created in Kleer and linked
    for i, hr_id in enumerate(new, start=1):
        check(page, in_tab(rows, "unlinked"), hr_id, i)
    page.get_by_role("button", name="Export (2)").click()
    expect(page.get_by_role("dialog").get_by_text("Operations to run")).to_be_visible(timeout=20000)
    page.get_by_role("dialog").screenshot(path=str(artifacts / "export-dry-run.png"))
    confirm(page, "Confirm and export", "Export finished: 2 done")
    expect(page.get_by_role("tab", name=f"HR ({len(unlinked) - 2})")).to_be_visible()

    # update one linked employee: Kleer gets the HR values
    page.get_by_role("tab", name=re.compile(r"^Linked \(")).click()
    linked_now = in_tab(export_rows(wb.workspace), "linked")
    check(page, linked_now, update["hr_id"], 1)
    page.get_by_role("button", name="Export (1)").click()
    confirm(page, "Confirm and export", "Export finished: 1 done")

    # unlink one: Kleer untouched, the employee back in the HR tab
    writes = kleer_sim.state()["writes"]
    check(page, linked_now, unlink["hr_id"], 1)
    page.get_by_role("button", name="Unlink (1)").click()
    expect(page.get_by_role("dialog").get_by_test_id("stAlertContentInfo")).to_contain_text(
        "Kleer is not touched", timeout=20000)
    confirm(page, "Confirm unlink", "Unlink finished: 1 done")
    assert kleer_sim.state()["writes"] == writes

    # the simulator's state
    dump = kleer_sim.dump()
    by_foreign = {u["foreign-id"]: u for u in dump["users"] if u.get("foreign-id")}
    assert kleer_sim.state()["users"] == users_before + 2
    for hr_id in new:
        assert wb.workspace.links.of(hr_id=hr_id)["kleer_id"] == by_foreign[hr_id]["id"]
    contract = next(c for c in dump["payroll-user-readables"] if c["user"]["id"] == int(update["kleer_id"]))
    assert contract["phone"] == wb.workspace.hr.get(update["hr_id"])["phone"]
    assert wb.workspace.links.of(hr_id=unlink["hr_id"]) is None
    assert wb.workspace.kleer.get(int(unlink["kleer_id"])) is not None

    # the Linked tab holds the exported employees (the filter narrows the grid to one row)
    page.get_by_label("Filter by name or id").fill(new[0])
    page.keyboard.press("Enter")
    wait_idle(page)
    grid = page.get_by_test_id("stDataFrame").first  # the editor (the details table is a grid too)
    expect(grid.get_by_test_id("glide-cell-1-0")).to_have_text(new[0], timeout=20000)
    expect(grid.get_by_test_id("glide-cell-6-0")).to_have_text(str(by_foreign[new[0]]["id"]))
    page.get_by_label("Filter by name or id").fill("")
    page.keyboard.press("Enter")
    expect(grid.get_by_test_id("glide-cell-1-0")).to_have_text(
        in_tab(export_rows(wb.workspace), "linked")[0], timeout=20000)
    wait_idle(page)
    page.screenshot(path=str(artifacts / "export.png"), full_page=True)

    # Audit: the writes are there; the CSV download masks the personnummer
    page.get_by_test_id("stSidebar").get_by_role("link", name="Audit").click()
    expect(page.get_by_role("heading", name="Audit")).to_be_visible(timeout=20000)
    wait_idle(page)
    page.get_by_label("Employee", exact=True).fill(update["hr_id"])  # its newest entry: the Kleer update
    page.keyboard.press("Enter")
    expect(page.get_by_text(re.compile(r"Updated the employee in Kleer by Ada"))).to_be_visible(timeout=20000)
    expect(page.get_by_text("Match evidence at decision time")).to_be_visible()
    page.screenshot(path=str(artifacts / "audit.png"), full_page=True)
    page.get_by_label("Employee", exact=True).fill("")
    page.keyboard.press("Enter")
    expect(page.get_by_text(re.compile(r"^(\d+) of \1 entries"))).to_be_visible(timeout=20000)
    wait_idle(page)
    with page.expect_download() as info:
        page.get_by_role("button", name="Download CSV").click()
    text = open(info.value.path(), encoding="utf-8-sig").read()
    entries = list(csv.DictReader(io.StringIO(text)))
    created = [e for e in entries if e["action"] == "kleer_create" and e["result"] == "done"]
    assert sorted(e["hr_id"] for e in created) == sorted(new)
    assert any(e["action"] == "kleer_update" and e["hr_id"] == update["hr_id"] for e in entries)
    assert any(e["action"] == "unlink" and e["hr_id"] == unlink["hr_id"] for e in entries)
    for hr_id in new:
        ssn = personnummer(wb.workspace.hr.get(hr_id)["ssn"]).value
        assert ssn not in text and ssn[:9] + "****" in text
    assert kleer_sim.token not in text

    # Overview: the new state
    page.get_by_test_id("stSidebar").get_by_role("link", name="Overview").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible(timeout=20000)
    wait_idle(page)
    linked_metric = page.get_by_test_id("stMetric").filter(has_text=re.compile(r"^Linked"))
    expect(linked_metric).to_contain_text(str(len(linked) + 2 - 1))
    expect(page.get_by_test_id("stVegaLiteChart")).to_be_visible()
    page.screenshot(path=str(artifacts / "overview.png"), full_page=True)
