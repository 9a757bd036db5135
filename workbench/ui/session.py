"""Session keys and their defaults, in one place; defaults are built per session, never at import."""

from __future__ import annotations

import os
from typing import Any

import streamlit as st

from ..api import Workbench, default_workspace_path

__all__ = ["KEYS", "init_session", "workbench", "analyst", "kleer_token", "flash"]

#: Every session key the app uses, with a factory for its default.
KEYS: dict[str, Any] = {
    "analyst": lambda: None,            # who decisions are recorded for
    "role": lambda: None,               # viewer | analyst | admin (workbench.ui.access)
    "connection": lambda: None,         # last "Test connection" result: {"ok": bool, "message": str, "at": str}
    "flash": list,                      # messages to show once after a rerun: [(kind, text)]
    "apply_watch": lambda: None,        # the batch this session started last (its banner), or None
    "apply_seen": lambda: None,         # the finished batch whose end this session has handled
}


def init_session() -> None:
    for key, default in KEYS.items():
        if key not in st.session_state:
            st.session_state[key] = default()


def workbench() -> Workbench:
    """This session's Workbench over the workspace named by WORKBENCH_WORKSPACE."""
    path = default_workspace_path()
    wb = st.session_state.get("_workbench")
    if wb is None or wb.workspace.path != path:
        wb = Workbench(path)
        st.session_state["_workbench"] = wb
    wb.analyst = st.session_state.get("analyst")
    wb.role = st.session_state.get("role") or "viewer"  # what the facade lets this user have
    return wb


def analyst() -> str | None:
    return st.session_state.get("analyst")


def kleer_token() -> str | None:
    """The Kleer token from the environment (KLEER_TOKEN) or Streamlit secrets; never stored."""
    token = os.environ.get("KLEER_TOKEN")
    if token:
        return token
    try:
        return st.secrets.get("KLEER_TOKEN") or (st.secrets.get("kleer") or {}).get("token")
    except (FileNotFoundError, KeyError, AttributeError):
        return None
    except Exception:  # a malformed secrets.toml: treat as not set, the page says so
        return None


def flash(kind: str, text: str) -> None:
    """Show ``text`` (st.success / st.warning / st.error / st.info) once, after the next rerun.
    It is shown as plain text (escaped): it may carry names from the data."""
    st.session_state.setdefault("flash", []).append((kind, text))
