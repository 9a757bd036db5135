"""The frame every page draws: the analyst gate, the sidebar status, deep links."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect
from streamlit.testing.v1 import AppTest

from workbench.api import Workbench
from workbench.ui.nav import PAGES, ROOT

HR_CSV = "hr_id,Förnamn,Efternamn\nE1,Anna,Svensson\nE2,Bo,Ek\n"


@pytest.fixture
def loaded_workspace(workspace_path, tmp_path, monkeypatch):
    src = tmp_path / "hr.csv"
    src.write_text(HR_CSV, encoding="utf-8")
    with Workbench(workspace_path, analyst="setup") as wb:
        wb.load_hr(src)
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(workspace_path))
    return workspace_path


def test_gate_asks_for_the_analyst_before_any_page(loaded_workspace):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Kleer Workbench"]
    assert not at.metric  # nothing of the page is drawn behind the gate
    at.text_input(key="analyst_input").input("Ada Lovelace")
    at.button[0].click().run()
    assert at.session_state["analyst"] == "Ada Lovelace"
    assert [m.value for m in at.metric][:3] == ["2", "0", "0"]
    sidebar = " ".join(m.value for m in at.sidebar.markdown) + " ".join(c.value for c in at.sidebar.caption)
    assert "2 employees" in sidebar and "Ada Lovelace" in sidebar and "never fetched" in sidebar


@pytest.mark.parametrize("page", [p[0] for p in PAGES])
def test_every_page_run_alone_draws_the_gate(loaded_workspace, page):
    at = AppTest.from_file(str(ROOT / page), default_timeout=30).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Kleer Workbench"]
    assert at.text_input(key="analyst_input") is not None


def test_url_paths_are_the_file_names():
    assert all(url == path.removeprefix("pages/").removesuffix(".py") for path, _, _, url in PAGES)


@pytest.mark.browser
@pytest.mark.parametrize("path,title,url", [(p, t, u) for p, t, _, u in PAGES])
def test_deep_link_on_a_fresh_server_shows_the_frame(loaded_workspace, start_app, page: Page, artifacts,
                                                     path, title, url):
    app = start_app(loaded_workspace)
    page.goto(f"{app.url}/{url}")
    expect(page.get_by_label("Your name")).to_be_visible(timeout=20000)
    page.get_by_label("Your name").fill("Ada")
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("heading", name=title, level=1)).to_be_visible(timeout=20000)
    expect(page.get_by_test_id("stSidebar")).to_contain_text("Analyst: Ada")
    expect(page.get_by_test_id("stSidebar")).to_contain_text("2 employees")
    expect(page.get_by_text("Page not found")).to_have_count(0)
    page.screenshot(path=str(artifacts / f"deep-link-{url}.png"), full_page=True)
