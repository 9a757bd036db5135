"""The shared frame every page draws first: page config, session defaults, the gate, the sidebar.

Streamlit runs a file in ``pages/`` on its own for a deep link on a fresh server (and AppTest's
``switch_page`` always does), so a guard that lived only in ``app.py`` would be no guard. Every
page therefore begins with ``wb = frame("Title")`` and renders nothing before it.
"""

from __future__ import annotations

from datetime import datetime, timezone

import streamlit as st

from ..api import Workbench
from . import access, session, widgets
from .nav import PAGES
from .text import md

__all__ = ["frame", "snapshot_age"]


def frame(title: str) -> Workbench:
    """Draw the frame for the page ``title`` and return this session's Workbench.

    Stops the script (``st.stop``) until the analyst is identified.
    """
    st.set_page_config(page_title=f"{title} · Kleer Workbench", page_icon="🧾", layout="wide")
    session.init_session()
    _gate(session.workbench)
    wb = session.workbench()
    _sidebar(wb)
    for kind, text in st.session_state.get("flash") or []:
        getattr(st, kind, st.info)(md(text))
    st.session_state["flash"] = []
    widgets.apply_monitor(wb)
    return wb


def _gate(wb_factory) -> None:
    """Nothing renders until we know who is working: an OIDC login when ``[auth]`` is configured,
    otherwise the analyst's name, asked once per session. Both are recorded in the audit."""
    if access.auth_configured():
        _login_gate(wb_factory)
        return
    if not st.session_state.get("analyst"):
        _resume(wb_factory)
    if not st.session_state.get("analyst"):
        _name_gate(wb_factory)
    elif not st.session_state.get("role"):
        st.session_state["role"] = "admin"  # a single-user local workbench
    if st.query_params.get(ANALYST_PARAM) != st.session_state["analyst"]:
        st.query_params[ANALYST_PARAM] = st.session_state["analyst"]  # survives a reload (F5)


#: The query parameter that carries the analyst's name across a reload (no login configured:
#: the name is what the analyst typed, recorded, not a credential).
ANALYST_PARAM = "analyst"


def _resume(wb_factory) -> None:
    """A reload starts a new session: take the name back from the address bar (recorded)."""
    name = str(st.query_params.get(ANALYST_PARAM) or "").strip()
    if name:
        st.session_state["analyst"], st.session_state["role"] = name, "admin"
        wb_factory().record("sign_in", analyst=name, action="resume", detail={"role": "admin"})


def _login_gate(wb_factory) -> None:
    if not st.user.is_logged_in:
        st.title("Kleer Workbench")
        st.write("Log in to continue.")
        if st.button("Log in", type="primary", key="login"):
            st.login()
        st.stop()
    email = st.user.get("email") or st.user.get("name")
    role = access.role_for(email)
    if role is None:
        st.title("Kleer Workbench")
        st.error(f"{md(email)} has no access to this workbench. Ask an admin to give you a role.")
        if st.button("Log out", key="logout_no_access"):
            st.logout()
        st.stop()
    if st.session_state.get("analyst") != email or st.session_state.get("role") != role:
        st.session_state["analyst"], st.session_state["role"] = email, role
        wb_factory().record("sign_in", analyst=email, action="login", detail={"role": role})


def _name_gate(wb_factory) -> None:
    st.title("Kleer Workbench")
    st.write("Decisions and writes are recorded in the audit log with your name.")
    with st.form("who"):
        name = st.text_input("Your name", key="analyst_input", placeholder="e.g. Anna Lindqvist")
        if st.form_submit_button("Start", type="primary"):
            if name.strip():
                st.session_state["analyst"] = name.strip()
                st.session_state["role"] = "admin"
                wb_factory().record("sign_in", analyst=name.strip(), action="name",
                                    detail={"role": "admin"})
                st.rerun()
            st.error("Enter your name to continue.")
    st.stop()


def snapshot_age(fetched_at: str | None) -> str:
    if not fetched_at:
        return "never fetched"
    then = datetime.fromisoformat(fetched_at)
    seconds = (datetime.now(timezone.utc) - then).total_seconds()
    if seconds < 90:
        return "just now"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min ago"
    if seconds < 172800:
        return f"{seconds / 3600:.0f} h ago"
    return f"{seconds / 86400:.0f} days ago"


def _reveal_toggle(wb: Workbench) -> None:
    """Personal numbers are masked by default (Settings); revealing them is per session and
    audited, turning it on and off alike."""
    if "reveal_personal_data" not in st.session_state:
        st.session_state["reveal_personal_data"] = not wb.settings.mask_personal_data

    def audited() -> None:
        wb.record("reveal", analyst=st.session_state.get("analyst"),
                  action="reveal" if st.session_state["reveal_personal_data"] else "mask",
                  detail={"scope": "session"})

    reason = access.why_not("analyst", "show personnummer and bank numbers")
    if reason:
        st.session_state["reveal_personal_data"] = False
    st.toggle("Show personnummer and bank numbers", key="reveal_personal_data", on_change=audited,
              disabled=reason is not None,
              help=reason or "Masked by default. Turning this on is recorded in the audit log.")


def _menu() -> None:
    """The page menu, drawn by the frame so it is the same whether app.py's router ran or a page
    file was opened alone (legacy multipage mode hides nothing but shows file names)."""
    st.markdown("**Kleer Workbench**")
    for path, title, icon, _url in PAGES:
        st.page_link(path, label=title, icon=icon)


def _sidebar(wb: Workbench) -> None:
    counts = wb.counts()
    snap = wb.last_snapshot()
    settings = wb.settings
    with st.sidebar:
        _menu()
        st.divider()
        st.caption("Workspace")
        st.markdown(
            f"**{md(settings.hr_label)}**: {counts['hr']} employees  \n"
            f"**Kleer**: {counts['kleer']} employees · {snapshot_age(snap['fetched_at'] if snap else None)}  \n"
            f"**Linked**: {counts['linked']}")
        conn = st.session_state.get("connection")
        if conn is None and snap:  # not tested in this session, but the last fetch got through
            st.caption(f"Kleer connection: reached at the last fetch, "
                       f"{snapshot_age(snap['fetched_at'])}")
        elif conn is None:
            st.caption("Kleer connection: not tested")
        elif conn.get("ok"):
            st.caption(f"Kleer connection: ✅ {md(conn.get('message', 'ok'))}")
        else:
            st.caption(f"Kleer connection: ❌ {md(conn.get('message', 'failed'))}")
        _reveal_toggle(wb)
        st.caption(f"Analyst: **{md(st.session_state.get('analyst'))}** · {access.current_role()}")
        if access.auth_configured() and st.button("Log out", key="logout"):
            st.logout()
