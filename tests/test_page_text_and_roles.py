"""Text is text on every page (hostile names from the file, Kleer and the analyst reach no
markdown or HTML), and the role gates, per role: a viewer cannot reveal, download unmasked,
re-run matching or write anything (the buttons are disabled and say why)."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from tests.conftest import open_page
from workbench.ui.nav import PAGES, ROOT

IMAGE = "![b](http://127.0.0.1:9/beacon.png)"
HOSTILE = {"first_name": IMAGE, "last_name": "**md** <img src=http://127.0.0.1:9/i.png>"}
RAW = ("![b](", "**md**", "<img", "](http")
#: element kinds whose text is drawn as text (never markdown): their raw values may hold anything
AS_TEXT = {"dataframe", "arrow_data_frame", "data_editor", "json", "code", "text", "selectbox",
           "multiselect"}


def _walk(node):
    yield node
    children = getattr(node, "children", None) or {}
    for child in (children.values() if isinstance(children, dict) else children):
        yield from _walk(child)


def _markdown_texts(at) -> list[tuple[str, str]]:
    """Every string a markdown-rendering element carries (labels, bodies, help, options)."""
    out = []
    for node in _walk(at._tree):
        kind = getattr(node, "type", type(node).__name__).lower()
        if kind in AS_TEXT:
            continue
        for attr in ("value", "label", "body", "help", "placeholder", "options", "icon"):
            if attr == "value" and kind in ("text_input", "text_area", "number_input", "date_input",
                                            "toggle", "checkbox", "radio", "button"):
                continue  # an input's value is what the field holds, not markdown
            try:
                v = getattr(node, attr, None)
            except Exception:  # noqa: BLE001 - some elements compute these lazily
                continue
            for text in (v if isinstance(v, (list, tuple)) else [v]):
                if isinstance(text, str):
                    out.append((f"{kind}.{attr}", text))
    return out


@pytest.fixture
def hostile(demo_workbench):
    wb = demo_workbench
    rows = wb.import_rows()
    pair = rows[rows["action"] == "prefer_hr"].iloc[0]
    wb.workspace.hr.update(pair["hr_id"], HOSTILE)
    wb.update_settings(hr_label="**HR** " + IMAGE)
    wb.decide(kleer_id=int(pair["kleer_id"]), action="prefer_kleer", hr_id=pair["hr_id"])
    wb.apply(wb.plan("import", [str(pair["kleer_id"])]))  # an audit entry, a batch with the name
    return wb, pair


@pytest.mark.parametrize("page", [p[0] for p in PAGES])
def test_no_value_reaches_markdown_unescaped_on_any_page(hostile, page):
    wb, pair = hostile
    at = open_page(page, analyst="**Ada** " + IMAGE)
    assert not at.exception, at.exception
    if page.endswith("import_kleer.py"):  # the pair's detail too
        at.session_state["import_detail"] = int(pair["kleer_id"])
        at.run()
    if page.endswith("audit.py"):  # the entry of the hostile employee's operation
        audit = wb.audit()
        op = audit[(audit["event"] == "operation") & (audit["hr_id"] == pair["hr_id"])].iloc[0]
        at.selectbox(key="audit_entry").set_value(int(op["id"])).run()
    assert not at.exception, at.exception
    texts = _markdown_texts(at)
    assert texts, "nothing was read from the page"
    leaks = [(where, t) for where, t in texts if any(r in t for r in RAW)]
    assert leaks == []
    escaped = " ".join(t for _, t in texts)
    assert "\\*\\*Ada\\*\\*" in escaped  # the analyst's name is there, as text


# --------------------------------------------------------------------------- roles

AUTH = {"redirect_uri": "http://127.0.0.1:8501/oauth2callback", "cookie_secret": "x" * 32,
        "client_id": "workbench", "client_secret": "s", "server_metadata_url":
        "https://login.example.se/.well-known/openid-configuration"}
ROLES = {"admin": ["it@example.se"], "analyst": ["hr@example.se"], "viewer": ["boss@example.se"]}
EMAIL = {"viewer": "boss@example.se", "analyst": "hr@example.se", "admin": "it@example.se"}


def as_role(role: str, page: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=30)
    at.secrets["auth"], at.secrets["roles"] = AUTH, ROLES
    at.user = {"is_logged_in": True, "email": EMAIL[role]}
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def _button(at, key):
    return next(b for b in at.button if b.key == key)


@pytest.mark.parametrize("role", ["viewer", "analyst", "admin"])
def test_role_gates_on_import(demo_workbench, role):
    at = as_role(role, "pages/import_kleer.py")
    viewer = role == "viewer"
    toggle = at.sidebar.toggle(key="reveal_personal_data")
    assert toggle.disabled is viewer
    rerun = _button(at, "rerun_matching")
    assert rerun.disabled is viewer
    if viewer:
        assert "cannot change decisions, re-run matching or import" in rerun.help
        assert _button(at, "import").disabled
        editor = at.data_editor(key=at.session_state["import_editor:key"])
        assert editor.proto.disabled is True  # the whole table is read-only
        # a reveal forced into the session is not honoured
        at.session_state["reveal_personal_data"] = True
        at.run()
        assert at.session_state["reveal_personal_data"] is False
    else:
        assert not _button(at, "import").disabled


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_role_gates_on_export_sources_and_audit(demo_workbench, role):
    viewer = role == "viewer"
    demo_workbench.apply(demo_workbench.plan("import"))  # the Linked tab (where Export lands) has rows
    export = as_role(role, "pages/export_kleer.py")
    export.session_state[export.session_state["export_editor:key"]] = {
        "edited_rows": {0: {"select": True}}, "added_rows": [], "deleted_rows": []}
    export.run()
    assert _button(export, "export").disabled is viewer
    sources = as_role(role, "pages/sources.py")
    assert _button(sources, "load_demo").disabled is viewer
    assert _button(sources, "fetch_kleer").disabled is viewer
    audit = as_role(role, "pages/audit.py")
    assert _button(audit, "revert").disabled is viewer
    if viewer:  # downloads are masked: a viewer's are never revealed
        audit.session_state["reveal_personal_data"] = True
        audit.run()
        assert not any("Personal numbers are shown" in c.value for c in audit.caption)
