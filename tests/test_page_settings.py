"""Settings page: saved to the workspace, audited; the token shown only as set / not set."""

from __future__ import annotations

import pytest

from workbench.api import Workbench
from tests.conftest import open_page



@pytest.fixture
def settings_page(workspace_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(workspace_path))
    monkeypatch.delenv("KLEER_TOKEN", raising=False)
    return open_page("pages/settings.py")


def test_preferences_are_saved_and_audited(settings_page, workspace_path):
    at = settings_page
    at.radio[0].set_value("work")
    hr_label = next(t for t in at.text_input if t.label == "Name of the HR system")
    hr_label.input("Sympa")
    next(b for b in at.button if b.label == "Save").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["Saved."]
    with Workbench(workspace_path) as wb:
        assert wb.settings.email_preference == "work" and wb.settings.hr_label == "Sympa"
        last = wb.workspace.audit.frame().iloc[0]
        assert last["event"] == "settings" and last["analyst"] == "Ada"
    # the sidebar now uses the new label
    at.run()
    assert any("**Sympa**" in m.value for m in at.sidebar.markdown)


def test_token_is_never_shown(settings_page, monkeypatch):
    at = settings_page
    token_box = next(t for t in at.text_input if t.label == "Token")
    assert token_box.value == "not set"
    assert next(b for b in at.button if b.label == "Test connection").disabled
    monkeypatch.setenv("KLEER_TOKEN", "s3cret-token-value")
    at.run()
    token_box = next(t for t in at.text_input if t.label == "Token")
    assert token_box.value == "set"
    shown = " ".join(str(e.value) for e in at.main if hasattr(e, "value"))
    assert "s3cret-token-value" not in shown


def test_an_invalid_connection_setting_is_refused_with_a_message(settings_page, workspace_path):
    at = settings_page
    url = next(t for t in at.text_input if t.label == "Kleer API base URL")
    url.input("https://api.kleer.se/v1")
    next(b for b in at.button if b.label == "Save connection").click().run()
    assert [s.value for s in at.success] == ["Connection settings saved."]
    with Workbench(workspace_path) as wb:
        assert wb.settings.kleer_base_url == "https://api.kleer.se/v1"


def test_match_thresholds_are_validated_and_saved(settings_page, workspace_path):
    at = settings_page
    boxes = {n.label: n for n in at.number_input}
    boxes["Certain from"].set_value(90.0)  # below "likely" (95): refused with the rule in words
    next(b for b in at.button if b.label == "Save thresholds").click().run()
    assert any("possible ≤ likely ≤ certain" in e.value for e in at.error)
    boxes = {n.label: n for n in at.number_input}
    boxes["Likely from"].set_value(75.0)
    boxes["Certain from"].set_value(92.0)
    next(b for b in at.button if b.label == "Save thresholds").click().run()
    assert any("Thresholds saved" in s.value for s in at.success)
    with Workbench(workspace_path) as wb:
        assert (wb.match_settings().likely, wb.match_settings().certain) == (75.0, 92.0)


def test_the_concurrency_ceiling_and_pin_are_saved(settings_page, workspace_path):
    at = settings_page
    {n.label: n for n in at.number_input}["Ceiling"].set_value(6)
    next(c for c in at.checkbox if c.label.startswith("Pin every apply")).check()
    next(b for b in at.button if b.label == "Save ceiling").click().run()
    assert not at.exception and any("next apply" in s.value for s in at.success)
    with Workbench(workspace_path) as wb:
        assert (wb.settings.concurrency_ceiling, wb.settings.concurrency_pinned) == (6, True)
        assert wb.limiter().summary()["mode"] == "pinned" and wb.limiter().level == 6
