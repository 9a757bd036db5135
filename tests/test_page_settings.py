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


# --------------------------------------------------------------------------- real Kleer

@pytest.fixture
def wb_sim(wb, kleer_sim, monkeypatch):
    wb.update_settings(kleer_base_url=kleer_sim.base_url, kleer_company_id=kleer_sim.company_id)
    monkeypatch.setenv("KLEER_TOKEN", kleer_sim.token)
    return wb


def test_the_settings_page_probes_for_an_analyst_after_confirmation(wb_sim, kleer_sim,
                                                                    monkeypatch):
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(wb_sim.workspace.path))
    at = open_page("pages/settings.py")
    probe_button = next(b for b in at.button if b.label == "Probe Kleer")
    assert probe_button.disabled  # not before the confirmation
    next(c for c in at.checkbox if c.key == "probe_understood").check().run()
    next(b for b in at.button if b.label == "Probe Kleer").click().run()
    assert not at.exception
    [done] = [s.value for s in at.success if s.value.startswith("Probe done")]
    assert "Throwaway user" in done and "inactive." in done
    table = next(d.value for d in at.dataframe if "consequence" in d.value.columns)
    assert list(table.columns) == ["point", "result", "assumed", "observed", "consequence"]
    assert len(table) == 11 and table["result"].iloc[0] == "as assumed"
    with Workbench(wb_sim.workspace.path) as again:
        assert again.settings.kleer_dialect["created"] == "created"


def test_the_settings_page_keeps_the_probe_from_a_viewer(wb_sim, kleer_sim, monkeypatch):
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(wb_sim.workspace.path))
    from streamlit.testing.v1 import AppTest

    from .conftest import ROOT

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.session_state["analyst"], at.session_state["role"] = "Vera", "viewer"
    at.run()
    at.switch_page("pages/settings.py")
    at.run()
    assert next(b for b in at.button if b.label == "Probe Kleer").disabled
    assert next(c for c in at.checkbox if c.key == "probe_understood").disabled
    assert any("cannot probe Kleer" in w.value for w in at.warning)


def test_the_settings_page_saves_the_salary_unit_and_internal_id_writes(wb_sim, monkeypatch):
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(wb_sim.workspace.path))
    at = open_page("pages/settings.py")
    next(r for r in at.radio if r.label == "Kleer's monthly salary counts").set_value("öre")
    next(c for c in at.checkbox if c.label == "I have checked the salary unit in Kleer").check()
    next(c for c in at.checkbox
         if c.label == "Write the employee number to Kleer's internal-id").check()
    next(b for b in at.button if b.label == "Save Kleer settings").click().run()
    assert [s.value for s in at.success] == ["Kleer settings saved."]
    with Workbench(wb_sim.workspace.path) as again:
        s = again.settings
        assert (s.salary_unit, s.salary_unit_confirmed, s.internal_id_writes) == ("öre", True, True)


def test_the_concurrency_ceiling_and_pin_are_saved(settings_page, workspace_path):
    at = settings_page
    {n.label: n for n in at.number_input}["Ceiling"].set_value(6)
    next(c for c in at.checkbox if c.label.startswith("Pin every apply")).check()
    next(b for b in at.button if b.label == "Save ceiling").click().run()
    assert not at.exception and any("next apply" in s.value for s in at.success)
    with Workbench(workspace_path) as wb:
        assert (wb.settings.concurrency_ceiling, wb.settings.concurrency_pinned) == (6, True)
        assert wb.limiter().summary()["mode"] == "pinned" and wb.limiter().level == 6
