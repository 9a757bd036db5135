"""The HR file's two panels in the app (AppTest): what a reload changes and its confirmation on
Sources, and "HR changes for your HR system" on Sources and on Import after a batch."""

from __future__ import annotations

import json

import pytest

from tests.conftest import as_read, ROOT, open_page
from tests.test_hr_wire import FIRST, ODD, ODD_MAP, SECOND, by_id, imported  # noqa: F401 (fixture)
from workbench.api import Workbench
from workbench.ui.hr_panels import hr_changes_file

SOURCES = "pages/sources.py"


@pytest.fixture
def env(workspace_path, monkeypatch):
    monkeypatch.delenv("KLEER_TOKEN", raising=False)
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(workspace_path))
    with Workbench(workspace_path, analyst="setup") as wb:
        wb.load_hr(FIRST.encode(), name="first.csv")
    return workspace_path


def upload(at, data: bytes, name: str = "second.csv"):
    return at.file_uploader(key="hr_upload").set_value((name, data, "text/csv")).run()


def texts(at) -> str:
    return "\n".join([t.value for t in at.text] + [c.value for c in at.code])


def test_a_reload_shows_what_it_changes_and_loads_on_confirmation(env):
    at = upload(open_page(SOURCES), SECOND.encode())
    assert not at.exception, at.exception
    shown = texts(at)
    assert "1 new, 1 changed, 1 unchanged, 1 missing from the file (0 linked to Kleer, kept)." in shown
    assert "Employees missing from the file are kept" in shown
    changes = at.dataframe[-1].value
    assert changes.to_dict("records") == [{"hr_id": "E1", "field": "Phone", "before": "+46701111111",
                                           "after": "+46709999999"}]
    assert at.button(key="load_hr").label == "Confirm and load (3 employees)"
    with Workbench(env) as wb:
        assert wb.workspace.hr.get("E4") is None  # shown, not loaded
    at.button(key="load_hr").click().run()
    assert not at.exception, at.exception
    assert any("3 employees loaded (1 new, 2 updated)" in as_read(s.value) for s in at.success)
    with Workbench(env) as wb:
        assert wb.workspace.hr.get("E4")["first_name"] == "Dan" and wb.workspace.hr.get("E2")
        detail = json.loads(wb.workspace.query(
            "SELECT detail FROM audit WHERE action = 'load_hr' ORDER BY id DESC LIMIT 1")[0]["detail"])
    assert detail["reload"]["confirmation"] == "preview confirmed"


def test_a_confirmation_of_a_difference_that_moved_loads_nothing(env):
    at = upload(open_page(SOURCES), SECOND.encode())
    with Workbench(env) as wb:  # someone else changes the workspace meanwhile
        wb.workspace.hr.update("E3", {"last_name": "Moved"})
    at.button(key="load_hr").click().run()
    assert not at.exception, at.exception
    assert any(e.value == "Nothing was loaded." for e in at.error)
    assert "changed since the preview you confirmed" in texts(at)
    with Workbench(env) as wb:
        assert wb.workspace.hr.get("E4") is None


def test_the_checkbox_removes_the_unlinked_missing_ones(env):
    at = upload(open_page(SOURCES), SECOND.encode())
    at.checkbox(key="load_hr:remove").check().run()
    assert "will be REMOVED" in texts(at)
    at.button(key="load_hr").click().run()
    with Workbench(env) as wb:
        assert wb.workspace.hr.get("E2") is None and wb.workspace.hr.get("E4") is not None


def test_the_loaders_notes_are_shown_as_text_with_the_remembered_mapping(env):
    with Workbench(env) as wb:
        wb.load_hr(ODD.encode(), name="odd.csv", confirm=True,
                   mapping=wb.parse_mapping(ODD_MAP, wb.peek_headers(ODD.encode(), name="odd.csv")))
    at = upload(open_page(SOURCES), "Mejl;Namn;Familjenamn;Nummer\n*x@y.se;**Bo**;Ek;A9\n".encode(),
                "next.csv")
    assert not at.exception, at.exception
    notes = [t.value for t in at.text if t.value.startswith("Used the mapping remembered for this header")]
    assert len(notes) == 1 and "Nummer → HR id" in notes[0]
    assert at.button(key="load_hr").label == "Confirm and load (1 employees)"
    assert not any("**Bo**" in m.value or "<strong>Bo" in m.value for m in at.markdown)


# --------------------------------------------------------------------------- HR changes

def _page(path: str, page: str, *, role: str | None = None, state: dict | None = None):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.session_state["analyst"] = "Ada"
    if role:
        at.session_state["role"] = role
    for key, value in (state or {}).items():
        at.session_state[key] = value
    at.run()
    at.switch_page(page)
    return at.run()


def test_sources_offers_the_hr_changes_to_analysts_and_not_to_viewers(imported, monkeypatch):
    wb = imported[0]
    monkeypatch.setenv("WORKBENCH_WORKSPACE", wb.workspace.path)
    at = _page(wb.workspace.path, SOURCES)
    assert not at.exception, at.exception
    assert "3 employees changed in this workspace (1 created, 2 with fields overwritten by Kleer " \
           "values), from 2 batch(es)." in texts(at)
    button = at.download_button(key="hr_changes:download")
    assert button.label == "Download the HR changes (3 employees, CSV)"
    viewer = _page(wb.workspace.path, SOURCES, role="viewer")
    assert not viewer.exception, viewer.exception
    assert any("Only the analyst role can download the HR changes" in i.value for i in viewer.info)
    assert not [b for b in viewer.download_button if b.key == "hr_changes:download"]
    assert "employees changed" not in texts(viewer)


def test_import_shows_the_batchs_hr_changes_after_it(imported, monkeypatch):
    wb, _, first, second, _ = imported
    monkeypatch.setenv("WORKBENCH_WORKSPACE", wb.workspace.path)
    # the batch this session's import started (the apply runs in the background and has finished)
    at = _page(wb.workspace.path, "pages/import_kleer.py", state={"apply_watch": first.batch_id})
    assert not at.exception, at.exception
    assert any(m.value.startswith("**HR changes for your HR system**") for m in at.markdown)
    assert f"2 employees changed in batch {first.batch_id} (0 created, 2 with fields" in texts(at)
    assert at.download_button(key="import_hr_changes:download").label == \
        "Download the HR changes (2 employees, CSV)"


def test_the_download_is_made_and_audited_only_when_clicked(imported):
    wb, _, first, _, _ = imported
    before = wb.counts()["audit"]
    make = hr_changes_file(wb, batch=first.batch_id, format="xlsx")
    assert wb.counts()["audit"] == before  # rendering the button made nothing
    assert list(by_id(make(), "hr-changes.xlsx")) == ["E00001", "E00002"]
    assert wb.counts()["audit"] == before + 1
