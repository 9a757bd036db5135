"""Sources: upload an HR file (preview, detection, mapping editor, validation report, load) and
fetch Kleer from the simulator with a progress bar."""

from __future__ import annotations

import html

import re

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


def test_upload_with_unknown_headers_is_mapped_in_the_editor_then_loaded(env):
    at = open_page(PAGE)
    data = ("Nummer;Namn;Familjenamn;Personnummer\nE1;Anna;Svensson;850312-1231\n"
            "E2;Bo;Ek;19900101-1234\n").encode("cp1252")
    at.file_uploader(key="hr_upload").set_value(("export.csv", data, "text/csv")).run()
    assert not at.exception, at.exception
    errors = [html.unescape(re.sub(r"\\(.)", r"\1", e.value)).replace("\u2060", "") for e in at.error]  # as the reader sees it
    assert any("required columns are missing" in e and "HR id (hr_id)" in e for e in errors)
    key = at.session_state["mapping_editor:key"]
    mapping = at.data_editor(key=key).value
    assert list(mapping["column"]) == ["Nummer", "Namn", "Familjenamn", "Personnummer"]
    assert mapping.set_index("column").at["Personnummer", "field"] == "Personnummer (ssn)"
    at.session_state[key] = {"edited_rows": {0: {"field": "HR id (hr_id)"}, 1: {"field": "First name (first_name)"},
                                             2: {"field": "Last name (last_name)"}},
                             "added_rows": [], "deleted_rows": []}
    at.run()
    assert not at.error, [e.value for e in at.error]
    assert any("semicolon" in c.value and "2 employees" in c.value for c in at.caption)
    problems = at.dataframe[-1].value
    assert list(problems["Row"]) == [3] and "bad checksum" in problems["Problem"].iloc[0]
    at.button(key="load_hr").click().run()
    with Workbench(env) as wb:
        rows = wb.hr_employees().set_index("hr_id")
    assert rows.at["E1", "ssn"] == "19850312-1231" and rows.at["E2", "last_name"] == "Ek"
    assert "bad checksum" in rows.at["E2", "problems"]
