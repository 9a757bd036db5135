"""The Leave page in a real browser (Playwright driving Debian's Chromium) against the app and
the Kleer simulator over HTTP: find a vacation by employee, check it, Export (1) → the dry run
per day → confirm → the days in Kleer, the banner and the Exported tab. Screenshots of the dry
run and the page go to test-artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.conftest import DEMO

ROW = 35  # px: the editor's header and row height


def wait_idle(page: Page) -> None:
    expect(page.locator('[data-testid="stApp"][data-test-script-state="notRunning"]')).to_be_attached(timeout=20000)


@pytest.fixture
def leave_demo(demo_workbench):
    demo_workbench.apply(demo_workbench.plan("import"))
    demo_workbench.load_leave(DEMO / "leave.csv")
    return demo_workbench


@pytest.mark.browser
def test_export_one_leave_from_the_leave_page(leave_demo, workspace_path, kleer_sim, start_app,
                                              page: Page, artifacts):
    rows = leave_demo.leave_rows()
    vacation = rows[rows["linked"] & (rows["hr_type"] == "Semester") & (rows["status"] == "approved")].iloc[0]
    n_new = int((rows["state"] == "new").sum())
    app = start_app(workspace_path)
    page.set_viewport_size({"width": 1500, "height": 1600})
    page.goto(app.url)
    page.get_by_label("Your name").fill("Ada")
    page.get_by_role("button", name="Start").click()
    page.get_by_test_id("stSidebar").get_by_role("link", name="Leave").click()
    expect(page.get_by_role("tab", name=f"New ({n_new})")).to_be_visible(timeout=20000)
    wait_idle(page)

    page.get_by_label("Employee").fill(vacation["hr_id"])
    page.keyboard.press("Enter")
    wait_idle(page)
    grid = page.get_by_test_id("stDataFrame").first
    expect(grid.get_by_test_id("glide-cell-1-0")).to_have_text(vacation["leave_id"], timeout=20000)
    grid.click(position={"x": 10, "y": ROW + ROW // 2})
    expect(grid.get_by_test_id("glide-cell-0-0")).to_have_attribute("aria-selected", "true")
    page.keyboard.press(" ")
    expect(page.get_by_text("1 checked in this tab")).to_be_visible(timeout=20000)
    wait_idle(page)

    page.get_by_role("button", name="Export (1)").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_text("Days to send")).to_be_visible(timeout=20000)
    dialog.screenshot(path=str(artifacts / "leave-dry-run.png"))
    assert kleer_sim.leave()["writes"] == {}
    dialog.get_by_role("button", name="Confirm and export").click()
    expect(page.get_by_test_id("stAlertContentSuccess").filter(
        has_text=re.compile(r"Leave export finished: 5 done"))).to_be_visible(timeout=30000)
    wait_idle(page)
    held = kleer_sim.leave()["events"]
    assert len(held) == 5 and {e["foreign-id"].split(":")[1] for e in held} == {vacation["leave_id"]}
    expect(page.get_by_role("tab", name=f"New ({n_new - 1})")).to_be_visible(timeout=20000)
    page.get_by_role("tab", name=re.compile(r"^Exported \(")).click()
    wait_idle(page)
    grid = page.get_by_test_id("stDataFrame").first
    expect(grid.get_by_test_id("glide-cell-1-0")).to_have_text(vacation["leave_id"], timeout=20000)
    page.screenshot(path=str(artifacts / "leave.png"), full_page=True)
