"""The whole import in a real browser: open the app, load the demo data, fetch Kleer from the
simulator, set a suggested match to Prefer Kleer and a Kleer-only employee to Create new user,
import each through the dry-run dialog, see the banner, check the workspace."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import DEMO
from workbench.api import Workbench
from workbench.fields import join_name

pytestmark = pytest.mark.browser

MATCHED = ("E10034", 1038, "Therese Lundin")   # a true pair whose Kleer record differs (address, salary)
KLEER_ONLY = (1015, "Linnéa Sjögren")          # in Kleer, missing from the HR export
ACTION_COL, HR_COL, SELECT_COL = 7, 3, 0


def cell(page: Page, col: int, row: int):
    return page.get_by_test_id("stDataFrame").nth(0).get_by_test_id(f"glide-cell-{col}-{row}")


def select_cell(page: Page, col: int, row: int) -> None:
    """Select a cell with the keyboard and wait until the grid says it is selected (a key pressed
    while the grid re-renders is lost)."""
    page.get_by_test_id("stDataFrame").nth(0).click(position={"x": 10, "y": 35 + 17})
    expect(cell(page, 0, 0)).to_have_attribute("aria-selected", "true")
    for i in range(col):
        page.keyboard.press("ArrowRight")
        expect(cell(page, i + 1, 0)).to_have_attribute("aria-selected", "true")
    for i in range(row):
        page.keyboard.press("ArrowDown")
        expect(cell(page, col, i + 1)).to_have_attribute("aria-selected", "true")


def choose_in_cell(page: Page, col: int, row: int, value: str) -> None:
    select_cell(page, col, row)
    page.keyboard.press("Enter")
    overlay = page.get_by_test_id("portal").locator(".gdg-clip-region")
    expect(overlay).to_be_visible()
    page.keyboard.type(value)
    expect(page.get_by_role("option", name=value, exact=True)).to_be_visible()  # the list has caught up
    page.keyboard.press("Enter")


def settled(page: Page) -> None:
    expect(page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]')).to_be_attached(timeout=30000)


def filter_to(page: Page, text: str) -> None:
    box = page.get_by_label("Filter by name or id")
    box.fill(text)
    box.press("Enter")
    settled(page)
    expect(cell(page, 2, 0)).to_have_text(text, timeout=15000)


def import_checked(page: Page, artifacts, name: str) -> None:
    select_cell(page, SELECT_COL, 0)
    page.keyboard.press(" ")
    expect(page.get_by_text("1 checked in this tab")).to_be_visible(timeout=15000)
    settled(page)
    button = page.get_by_role("button", name="Import (1)")
    expect(button).to_be_enabled(timeout=15000)
    button.click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Operations to run")).to_be_visible(timeout=15000)
    page.screenshot(path=str(artifacts / f"import-dialog-{name}.png"), full_page=True)
    dialog.get_by_role("button", name="Confirm and import").click()
    expect(page.get_by_test_id("stAlertContentSuccess").filter(has_text="Import finished")).to_be_visible(timeout=30000)


def test_import_in_the_browser(kleer_sim, workspace_path, start_app, page: Page, artifacts):
    kleer_sim.reset(DEMO / "kleer_seed.json")
    with Workbench(workspace_path, analyst="setup") as wb:
        wb.update_settings(kleer_base_url=kleer_sim.base_url, kleer_company_id=kleer_sim.company_id)
    app = start_app(workspace_path, env={"KLEER_TOKEN": kleer_sim.token})
    page.set_viewport_size({"width": 1500, "height": 1000})
    page.goto(app.url)
    page.get_by_label("Your name").fill("Ada Analyst")
    page.get_by_role("button", name="Start").click()

    page.get_by_test_id("stSidebar").get_by_text("Sources").click()
    page.get_by_role("button", name="Load demo data").click()
    expect(page.get_by_text("300 employees loaded")).to_be_visible(timeout=30000)
    expect(page.get_by_test_id("stSidebar")).to_contain_text("321 employees")
    page.screenshot(path=str(artifacts / "sources.png"), full_page=True)

    page.get_by_test_id("stSidebar").get_by_text("Import from Kleer").click()
    expect(page.get_by_role("tab", name="New (321)")).to_be_visible(timeout=30000)
    page.screenshot(path=str(artifacts / "import.png"), full_page=True)

    hr_id, kleer_id, name = MATCHED
    filter_to(page, name)
    expect(cell(page, ACTION_COL, 0)).to_have_text("Prefer HR")
    choose_in_cell(page, ACTION_COL, 0, "Prefer Kleer")
    settled(page)
    expect(cell(page, ACTION_COL, 0)).to_have_text("Prefer Kleer", timeout=15000)
    import_checked(page, artifacts, "prefer-kleer")
    page.screenshot(path=str(artifacts / "import-done.png"), full_page=True)

    kleer_only, other = KLEER_ONLY
    page.get_by_role("tab", name="New (320)").click()  # All holds linked rows: no Create there
    settled(page)
    filter_to(page, other)
    choose_in_cell(page, HR_COL, 0, "Create new user")
    settled(page)
    expect(cell(page, ACTION_COL, 0)).to_have_text("Create new user", timeout=15000)
    import_checked(page, artifacts, "create")
    expect(page.get_by_role("tab", name="Imported (2)")).to_be_visible(timeout=15000)

    with Workbench(workspace_path) as wb:
        ws = wb.workspace
        assert ws.links.of(kleer_id=kleer_id)["hr_id"] == hr_id
        hr, kleer = ws.hr.get(hr_id), ws.kleer.get(kleer_id)
        assert (hr["street"], hr["monthly_salary"]) == (kleer["street"], kleer["monthly_salary"])
        created = ws.links.of(kleer_id=kleer_only)
        new = ws.hr.get(created["hr_id"])
        assert join_name(new["first_name"], new["last_name"]) == other
        assert new["ssn"] == ws.kleer.get(kleer_only)["ssn"]
        decisions = ws.query("SELECT analyst FROM decisions WHERE side = 'import'")
        assert {d["analyst"] for d in decisions} == {"Ada Analyst"}
