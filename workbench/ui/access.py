"""Who is working and what they may do.

Without ``[auth]`` in ``.streamlit/secrets.toml`` the workbench is a single-user local tool: the
analyst's name is asked once per session and recorded, and that person may do everything.

With ``[auth]`` configured (OIDC through ``st.login``, extra ``streamlit[auth]``), every page requires
a login before anything renders, the audit records the logged-in user's email, and roles come from
``[roles]`` in secrets::

    [roles]
    admin = ["it@example.se"]            # settings, and everything below
    analyst = ["hr.lead@example.se"]     # decide and apply
    viewer = ["*"]                       # read only ("*" = anyone who can log in)

Someone who logs in but has no role sees a clear "no access" message and nothing else.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

__all__ = ["ROLES", "auth_configured", "role_for", "current_role", "can", "require", "why_not"]

ROLES = ("viewer", "analyst", "admin")


def _secrets_section(name: str) -> dict[str, Any] | None:
    try:
        section = st.secrets.get(name)
    except Exception:  # no or unreadable secrets.toml: nothing configured
        return None
    return dict(section) if section else None


def auth_configured() -> bool:
    return _secrets_section("auth") is not None


def role_for(email: str | None) -> str | None:
    """The highest role ``[roles]`` in secrets gives this email (``"*"`` matches anyone)."""
    roles = _secrets_section("roles") or {}
    who = (email or "").strip().casefold()
    for role in reversed(ROLES):
        members = [str(m).strip().casefold() for m in roles.get(role, [])]
        if who and (who in members or "*" in members):
            return role
    return None


def current_role() -> str:
    return st.session_state.get("role") or "viewer"


def can(role: str) -> bool:
    return ROLES.index(current_role()) >= ROLES.index(role)


def why_not(role: str, what: str) -> str | None:
    """None when the current user may do ``what``; otherwise the reason, for a disabled
    button's help text."""
    if can(role):
        return None
    return f"Your role ({current_role()}) cannot {what}. Ask an admin for the {role} role."


def require(role: str, what: str) -> bool:
    """True when the current user may do ``what``; otherwise says so on the page and returns False."""
    reason = why_not(role, what)
    if reason is None:
        return True
    st.warning(reason)
    return False
