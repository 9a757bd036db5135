"""Leave: the HR system's absences for linked employees, sent to Kleer day by day. Tabs New (not
exported since they last changed) / Exported / All, filters by employee, type and month, a
checkbox per leave, Export (n) → dry run per employee and leave → confirm → progress → banner.
Each leave shows its days in Kleer and its last failure, conflict or block with the reason.
Every text from the file is shown in tables (as text), never as markdown."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.errors import WorkbenchError
from workbench.ui import access, leave_panels, session
from workbench.ui.frame import frame
from workbench.ui.widgets import (bump_editor, busy, editor_version, lazy_tabs, require_data,
                                  start_apply)

wb = frame("Leave")
st.title("Leave")
require_data(wb, kleer=False)
EDITOR = "leave_editor"
may_decide = access.can("analyst")

# ------------------------------------------------------------------ load a leave file
with st.expander("Load a leave file", expanded=wb.leave_rows().empty):
    upload = st.file_uploader("Absence export (CSV or XLSX)", type=["csv", "xlsx", "txt"], key="leave_upload")
    if st.button("Load into workspace", key="leave_load", disabled=upload is None or not may_decide):
        try:
            result = wb.load_leave(upload.getvalue(), name=upload.name)
            st.session_state["leave_loaded"] = (str(result), result.problems)
            bump_editor(EDITOR)
        except WorkbenchError as e:
            st.session_state["leave_loaded"] = (f"Not loaded: {e}", None)
    loaded = st.session_state.get("leave_loaded")
    if loaded:
        st.text(loaded[0])
        if loaded[1] is not None and len(loaded[1]):
            st.dataframe(loaded[1], hide_index=True, width="stretch",
                         column_config={"row": "Row", "leave_id": "Leave", "hr_id": "HR id",
                                        "column": "Column", "field": None, "message": "Problem",
                                        "blocking": "Blocks the leave"})

rows = wb.leave_rows()
if rows.empty:
    st.info("No leaves in the workspace yet: load the HR system's absence export above.")
    st.stop()

# ------------------------------------------------------------------ tabs and filters
n_new = int((rows["state"] == "new").sum())
tab = lazy_tabs("leave_tab", [("new", f"New ({n_new})"), ("exported", f"Exported ({len(rows) - n_new})"),
                              ("all", f"All ({len(rows)})")])
view = rows if tab == "all" else rows[rows["state"] == tab]
months = sorted({m for s, e in zip(rows["start"], rows["end"])
                 for m in pd.period_range(s[:7], e[:7], freq="M").astype(str)})
f1, f2, f3 = st.columns([2, 2, 1])
who = f1.text_input("Employee", key="leave_filter_employee", placeholder="name or HR id")
kinds = f2.multiselect("Type", sorted(set(rows["hr_type"])), key="leave_filter_type")
month = f3.selectbox("Month", ["All months", *months], key="leave_filter_month")
if who.strip():
    t = who.strip().casefold()
    view = view[view["name"].str.casefold().str.contains(t, regex=False)
                | view["hr_id"].str.casefold().str.contains(t, regex=False)]
if kinds:
    view = view[view["hr_type"].isin(kinds)]
if month != "All months":
    view = view[(view["start"].str[:7] <= month) & (view["end"].str[:7] >= month)]
view = view.reset_index(drop=True)
version = editor_version(EDITOR)
select_all = st.checkbox("Select all in this tab", key=f"leave_all:{tab}:{version}", disabled=view.empty)

# ------------------------------------------------------------------ the table
key = f"{EDITOR}:{tab}:{who.strip()}:{','.join(kinds)}:{month}:{select_all}:{version}"
table = pd.DataFrame({
    "select": bool(select_all), "leave_id": view["leave_id"], "hr_id": view["hr_id"],
    "name": view["name"], "hr_type": view["hr_type"], "kleer_type": view["kleer_type"],
    "start": view["start"], "end": view["end"], "extent": view["extent"], "status": view["status"],
    "child": view["child"], "linked": view["linked"], "days_in_kleer": view["days_in_kleer"],
    "last": view["last"], "problems": view["problems"], "comment": view["comment"]})
edited = st.data_editor(
    table, key=key, hide_index=True, num_rows="fixed", width="stretch", height=420,
    disabled=[c for c in table.columns if c != "select"],
    column_config={
        "select": st.column_config.CheckboxColumn("✓", help="Check leaves for Export", width="small"),
        "leave_id": "Leave", "hr_id": f"{wb.settings.hr_label} id", "name": "Employee",
        "hr_type": "Leave type", "kleer_type": "Kleer type", "start": "From", "end": "To",
        "extent": "Extent", "status": "Status", "child": "Child",
        "linked": st.column_config.CheckboxColumn("Linked", help="Only linked employees' leave is exported"),
        "days_in_kleer": st.column_config.NumberColumn("Days in Kleer", format="%d"),
        "last": st.column_config.TextColumn("Last result", width="large",
                                            help="The last export's failure, conflict or block, with the reason"),
        "problems": st.column_config.TextColumn("File problems", width="large"),
        "comment": "Comment"})
st.session_state[f"{EDITOR}:key"] = key  # tests find the live editor here
checked = [i for i, s in zip(edited["leave_id"], edited["select"]) if s]
st.caption(f"{len(checked)} checked in this tab · Export acts on the checked leaves only")

# ------------------------------------------------------------------ Export (n)


def close_review() -> None:
    st.session_state.pop("leave_plan", None)


@st.dialog("Export leave — review before anything is sent to Kleer", width="large", on_dismiss=close_review)
def review(plan) -> None:
    st.caption(f"Plan {plan.id}: every day of the checked approved leaves of linked employees, with "
               "the hours from Kleer's schedule; changed and cancelled leaves update and remove "
               "their days.")
    leave_panels.leave_review(wb, plan)
    st.download_button("Download the plan (JSON)", plan.to_json(), file_name=f"{plan.id}.json",
                       mime="application/json")
    go, cancel = st.columns(2)
    if go.button("Confirm and export", type="primary", disabled=not plan.runnable or bool(busy(wb)),
                 key="leave_confirm", help=busy(wb)):
        # in the background, like every apply: the frame shows its progress and banner
        if start_apply(wb, plan, what="Leave export"):
            bump_editor(EDITOR)
        close_review()
        st.rerun()
    if cancel.button("Cancel", key="leave_review_cancel"):
        close_review()
        st.rerun()


b = st.columns([1, 1, 4])
if b[0].button(f"Export ({len(checked)})", type="primary", key="leave_export",
               disabled=not checked or not may_decide,
               help="Send the checked leaves to Kleer (a dry run first)"):
    try:
        st.session_state["leave_plan"] = wb.plan_leave(
            None if month == "All months" else month, checked, token=session.kleer_token())
    except WorkbenchError as e:
        st.error(str(e))
if b[1].button("Cancel", key="leave_cancel", help="Clear the selection"):
    bump_editor(EDITOR)
    st.rerun()
if not may_decide:
    access.require("analyst", "export leave")

if st.session_state.get("leave_plan") is not None:
    review(st.session_state["leave_plan"])

