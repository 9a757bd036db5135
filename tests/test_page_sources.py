"""Sources: upload an HR file (preview, detection, mapping editor, validation report, load) and
fetch Kleer from the simulator with a progress bar."""

from __future__ import annotations

import pytest

from tests.conftest import DEMO, open_page
from workbench.api import Workbench

PAGE = "pages/sources.py"


@pytest.fixture
def env(kleer_sim, workspace_path, monkeypatch):
    kleer_sim.reset(DEMO / "kleer_seed.json")
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(workspace_path))
    monkeypatch.setenv("KLEER_TOKEN", kleer_sim.token)
    with Workbench(workspace_path, analyst="setup") as wb:
        wb.update_settings(kleer_base_url=kleer_sim.base_url, kleer_company_id=kleer_sim.company_id)
    return workspace_path


def test_load_demo_data_loads_hr_fetches_kleer_and_suggests(env):
    at = open_page(PAGE)
    at.button(key="load_demo").click().run()
    assert not at.exception, at.exception
    with Workbench(env) as wb:
        counts = wb.counts()
    assert counts["hr"] == 300 and counts["kleer"] == 321 and counts["suggestions"] > 250
    assert any("300 employees loaded" in s.value for s in at.success)


def test_fetch_from_kleer_replaces_the_snapshot(env, kleer_sim):
    at = open_page(PAGE)
    assert at.button(key="fetch_kleer").label == "Fetch from Kleer"
    at.button(key="fetch_kleer").click().run()
    assert not at.exception, at.exception
    assert at.button(key="fetch_kleer").label == "Refresh Kleer data"
    assert [m.value for m in at.metric][0] == "321"
    assert any("321 users" in s.value for s in at.success)


def test_fetch_failure_names_what_failed(env, monkeypatch):
    monkeypatch.setenv("KLEER_TOKEN", "wrong-token")
    at = open_page(PAGE)
    at.button(key="fetch_kleer").click().run()
    assert not at.exception
    text = " ".join(e.value for e in at.error)
    assert "Fetching from Kleer failed" in text and "token" in text.lower()
    assert "wrong-token" not in text
