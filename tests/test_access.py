"""Access: with [auth] configured nothing renders before login, roles gate what one may do;
without it the analyst's name is asked once and recorded."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from workbench.api import Workbench
from workbench.ui.nav import PAGES, ROOT

AUTH = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32,
        "client_id": "workbench", "client_secret": "s", "server_metadata_url":
        "https://login.example.se/.well-known/openid-configuration"}
ROLES = {"admin": ["it@example.se"], "analyst": ["hr@example.se"], "viewer": ["boss@example.se"]}


@pytest.fixture(autouse=True)
def workspace_env(workspace_path, monkeypatch):
    monkeypatch.setenv("WORKBENCH_WORKSPACE", str(workspace_path))


def app(user: dict | None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.secrets["auth"] = AUTH
    at.secrets["roles"] = ROLES
    at.user = user if user is not None else {"is_logged_in": False}
    return at


@pytest.mark.parametrize("page", [p[0] for p in PAGES])
def test_logged_out_users_see_only_the_login(page):
    at = app(None).run()
    at.switch_page(page).run()
    assert not at.exception
    assert [b.label for b in at.button] == ["Log in"]
    assert not at.metric and not at.sidebar.markdown


def test_a_logged_in_user_without_a_role_has_no_access():
    at = app({"is_logged_in": True, "email": "stranger@example.se"}).run()
    assert any("has no access" in e.value for e in at.error)
    assert not at.metric


def test_the_audit_records_the_logged_in_user(workspace_path):
    at = app({"is_logged_in": True, "email": "hr@example.se"}).run()
    assert not at.exception and at.metric
    assert at.session_state["analyst"] == "hr@example.se" and at.session_state["role"] == "analyst"
    with Workbench(workspace_path) as wb:
        row = wb.workspace.audit.frame().iloc[0]
    assert (row["event"], row["analyst"]) == ("sign_in", "hr@example.se")


def test_settings_are_read_only_below_admin():
    at = app({"is_logged_in": True, "email": "hr@example.se"}).run()
    at.switch_page("pages/settings.py").run()
    assert any("read-only" in i.value for i in at.info)
    assert all(b.disabled for b in at.button if b.label in ("Save", "Save connection"))
    admin = app({"is_logged_in": True, "email": "it@example.se"}).run()
    admin.switch_page("pages/settings.py").run()
    assert not any(b.disabled for b in admin.button if b.label in ("Save", "Save connection"))


def test_without_auth_the_name_is_asked_once_and_recorded(workspace_path):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30).run()
    at.text_input(key="analyst_input").input("Ada")
    at.button[0].click().run()
    assert at.metric and at.session_state["role"] == "admin"
    at.run()  # a second run does not ask again
    assert not any(t.key == "analyst_input" for t in at.text_input)
    with Workbench(workspace_path) as wb:
        audit = wb.workspace.audit.frame()
    assert list(audit["event"]) == ["sign_in"] and audit.iloc[0]["analyst"] == "Ada"
