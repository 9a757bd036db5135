"""The leave parts of the pages: the Settings section (leave write path, key prefix, the
leave-type mapping) and the Leave page's dry-run review. Self-contained; every change goes
through the Workbench (``update_settings``, ``update_leave_types``), which audits it."""

from __future__ import annotations

import streamlit as st

from ..api import Workbench
from ..errors import WorkbenchError
from ..model import Plan
from . import access
from .text import blank

__all__ = ["settings_section", "leave_review"]

_PATHS = {"time_report": "Time-report events on absence activities (verified; default)",
          "payroll_events": "Payroll events (unverified: planned, never sent)"}


def settings_section(wb: Workbench) -> None:
    """Settings → Leave export: how leave reaches Kleer and the HR type → Kleer type mapping."""
    admin = access.can("admin")
    current = wb.settings
    st.subheader("Leave export")
    with st.form("leave_settings"):
        path = st.radio("Write path", list(_PATHS), index=list(_PATHS).index(current.leave_write_path),
                        format_func=_PATHS.get, key="leave_write_path",
                        help="Absences are written as time-report events on the activity of "
                             "their type, as the live API accepts; payroll events have no "
                             "confirmed write endpoint")
        prefix = st.text_input("Key prefix of leave days", value=current.leave_key_prefix,
                               key="leave_key_prefix",
                               help="Each day's foreign-id in Kleer is <prefix>:<leave id>:<date>; "
                                    "change it only before the first export")
        if st.form_submit_button("Save leave settings", disabled=not admin):
            try:
                wb.update_settings(leave_write_path=path, leave_key_prefix=prefix.strip())
                st.success("Leave settings saved.")
            except WorkbenchError as e:
                st.error(str(e))
    st.caption("Leave types: how each leave type of the HR file becomes a Kleer type and the "
               "activity its days are reported on. Prefilled; changes are audited.")
    st.dataframe(wb.leave_types_frame(), hide_index=True, width="stretch", height=240,
                 column_config={"hr_type": "HR leave type", "kleer_type": "Kleer type",
                                "activity": "Kleer activity", "needs_child": "Needs a child"})
    with st.form("leave_type_rule"):
        c1, c2, c3 = st.columns(3)
        hr_type = c1.text_input("HR leave type", key="leave_rule_hr", placeholder="e.g. Friskvårdstimme")
        kleer_type = c2.selectbox("Kleer type", Workbench.leave_kleer_types, key="leave_rule_kleer")
        activity = c3.text_input("Activity (empty: the usual one)", key="leave_rule_activity")
        add, remove = st.columns(2)
        added = add.form_submit_button("Map this type", disabled=not admin)
        removed = remove.form_submit_button("Remove this type", disabled=not admin)
    if added or removed:
        try:
            if added:
                wb.update_leave_types([(hr_type.strip(), kleer_type, activity.strip() or None)])
            else:
                wb.update_leave_types(remove=[hr_type.strip()])
            st.success(f"Leave type {hr_type.strip()!r} {'mapped' if added else 'removed'}.")
        except WorkbenchError as e:
            st.error(str(e))


def leave_review(wb: Workbench, plan: Plan) -> None:
    """The leave dry run: counts, then per employee and leave every day Kleer will receive
    (and what is blocked, with the reason), as text."""
    counts = plan.counts_dict
    cols = st.columns(5)
    cols[0].metric("Days to send", len(plan.runnable))
    cols[1].metric("New days", counts.get("kind:leave_create", 0))
    cols[2].metric("Changed days", counts.get("kind:leave_update", 0))
    cols[3].metric("Removed days", counts.get("kind:leave_delete", 0))
    cols[4].metric("Blocked", counts.get("blocked", 0))
    if plan.warnings:
        st.caption("Warnings")
        st.dataframe({"warning": list(plan.warnings)}, hide_index=True, width="stretch")
    dry = wb.leave_dry_run(plan)
    st.dataframe(blank(dry.drop(columns=["kleer_id"])), hide_index=True, width="stretch", height=360,
                 column_config={"hr_id": "HR id", "name": "Employee", "leave_id": "Leave",
                                "what": "What", "date": "Date", "hours": "Hours",
                                "hours_before": "Hours before", "activity": "Activity",
                                "type": "Kleer type", "child": "Child", "comment": "Comment",
                                "blocked": st.column_config.TextColumn("Not sent because", width="large")})
