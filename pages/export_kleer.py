"""Export to Kleer: tabs <HR label> / Linked / All, a checkbox per row (and for the whole tab),
Export (n) → dry run → confirm → progress → banner, Unlink (local only, Kleer untouched) and
Cancel. Blocked rows stay in their tab with the reason; they are never sent."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.errors import WorkbenchError
from workbench.ui import access, columns, session
from workbench.ui.frame import frame
from workbench.ui.widgets import (action_labels, apply_with_progress, bump_editor, detail_picker,
                                  editor_version, lazy_tabs, plan_review, require_data, show_result)

wb = frame("Export to Kleer")
st.title("Export to Kleer")
require_data(wb, kleer=False)
settings = wb.settings
HR = settings.hr_label
LABELS = action_labels(HR, side="export")
EDITOR = "export_editor"
may_decide = access.can("analyst")
if wb.last_snapshot() is None:
    st.warning("Kleer has not been fetched yet: exports are blocked until it is (Sources → Fetch from Kleer).")
    st.page_link("pages/sources.py", label="Go to Sources", icon=":material/upload_file:")

rows = wb.export_rows()
n_unlinked = int((rows["state"] == "unlinked").sum())
tab = lazy_tabs("export_tab", [("unlinked", f"{HR} ({n_unlinked})"),
                               ("linked", f"Linked ({len(rows) - n_unlinked})"),
                               ("all", f"All ({len(rows)})")])
view = rows if tab == "all" else rows[rows["state"] == tab]

f1, f2 = st.columns([3, 1])
text = f1.text_input("Filter by name or id", key="export_filter", placeholder="e.g. Svensson or E10042")
if text.strip():
    t = text.strip().casefold()
    view = view[view["name"].fillna("").str.casefold().str.contains(t, regex=False)
                | view["hr_id"].str.casefold().str.contains(t, regex=False)
                | view["kleer_id"].astype("string").fillna("").str.contains(t, regex=False)]
view = view.reset_index(drop=True)
version = editor_version(EDITOR)
with f2:
    st.write("")
    select_all = st.checkbox("Select all in this tab", key=f"export_all:{tab}:{version}",
                             disabled=view.empty)

# ------------------------------------------------------------------ why a row was not sent
# after a dry run: the plan's blockers; otherwise what the employee's last batch left (journal)
left = wb.outstanding()
not_sent = {s: f"{status}: {reason}" for s, status, reason in
            zip(left["subject"], left["status"], left["reason"])}
not_sent.update(st.session_state.get("export_blockers") or {})

# ------------------------------------------------------------------ the table
key = f"{EDITOR}:{tab}:{text.strip()}:{select_all}:{version}"
table = columns.masked(pd.DataFrame({
    "select": bool(select_all),
    "hr_id": view["hr_id"],
    "name": view["name"],
    "ssn": view["ssn"],
    "email": view["email"],
    "employment_start_date": view["employment_start_date"],
    "kleer_id": view["kleer_id"],
    "changes": view["changes"],
    "problems": view["problems"],
    "not_sent": [not_sent.get(h, "") for h in view["hr_id"]],
}))
if tab == "unlinked":  # nothing is linked here: no Kleer id, no changes to show
    table = table.drop(columns=["kleer_id", "changes"])
edited = st.data_editor(
    table, key=key, hide_index=True, num_rows="fixed", width="stretch", height=420,
    disabled=[c for c in table.columns if c != "select"],
    column_config={
        **columns.field_columns(["hr_id", "ssn", "employment_start_date"], hr_label=HR),
        "select": st.column_config.CheckboxColumn("✓", help="Check rows for the buttons below", width="small"),
        "name": st.column_config.TextColumn("Name"),
        "email": st.column_config.TextColumn(f"Email ({settings.email_preference})",
                                             help="The email exported to Kleer (Settings)"),
        "kleer_id": st.column_config.NumberColumn("Kleer id", format="%d", width="small"),
        "changes": st.column_config.TextColumn("Would change in Kleer",
                                               help=f"The fields whose {HR} value differs from Kleer's"),
        "not_sent": st.column_config.TextColumn("Not sent because", width="large",
                                                help="Blocked rows are listed, never sent; a conflict "
                                                     "means Kleer changed since the last fetch"),
        "problems": st.column_config.TextColumn("Data problems"),
    })
st.session_state[f"{EDITOR}:key"] = key  # tests find the live editor here
checked = [h for h, s in zip(edited["hr_id"], edited["select"]) if s]
linked_ids = set(rows.loc[rows["state"] == "linked", "hr_id"])
checked_linked = [h for h in checked if h in linked_ids]
st.caption(f"{len(checked)} checked in this tab · the buttons act on the checked rows only")

# ------------------------------------------------------------------ Export (n)


def close_review() -> None:
    st.session_state.pop("export_plan", None)


def run(plan, what: str) -> None:
    """Apply ``plan`` with progress; keep the result for the banner; clear the selection."""
    result = apply_with_progress(wb, plan)
    if result is not None:
        st.session_state["export_result"] = (what, plan, result)
        st.session_state.pop("export_blockers", None)  # the journal holds them now
        bump_editor(EDITOR)


@st.dialog("Export — review before anything is sent to Kleer", width="large", on_dismiss=close_review)
def review(plan) -> None:
    st.caption(f"Plan {plan.id}, built on the Kleer snapshot of "
               f"{(wb.last_snapshot() or {}).get('fetched_at', 'never fetched')}. Unlinked "
               f"{HR} employees are created in Kleer and linked; linked ones are updated with their "
               f"{HR} values.")
    plan_review(plan, labels=LABELS, hr_label=HR)
    st.download_button("Download the plan (JSON)", plan.to_json(), file_name=f"{plan.id}.json",
                       mime="application/json")
    go, cancel = st.columns(2)
    if go.button("Confirm and export", type="primary", disabled=not plan.runnable, key="export_confirm"):
        run(plan, "Export")
        close_review()
        st.rerun()
    if cancel.button("Cancel", key="export_review_cancel"):
        close_review()
        st.rerun()


def close_unlink() -> None:
    st.session_state.pop("unlink_ids", None)


@st.dialog("Unlink — Kleer is not touched", on_dismiss=close_unlink)
def confirm_unlink(ids: list[str]) -> None:
    who = rows.set_index("hr_id").loc[ids]
    st.write(f"Unlink {len(ids)} employee(s) from their Kleer users?")
    st.info(f"Only the link in this workspace is removed. **Kleer is not touched**: the Kleer users "
            f"stay exactly as they are. The employees move back to the {HR} tab, from where they "
            "can be exported or matched again.")
    st.markdown("\n".join(f"- {r.name} ({r.Index}) ↔ Kleer user {r.kleer_id}"
                          for r in who.head(20).itertuples()))
    go, cancel = st.columns(2)
    if go.button("Confirm unlink", type="primary", key="unlink_confirm"):
        try:
            run(wb.plan_unlink(ids), "Unlink")
        except WorkbenchError as e:
            session.flash("error", str(e))
        close_unlink()
        st.rerun()
    if cancel.button("Cancel", key="unlink_review_cancel"):
        close_unlink()
        st.rerun()


b = st.columns([1, 1, 1, 3])
if b[0].button(f"Export ({len(checked)})", type="primary", key="export",
               disabled=not checked or not may_decide,
               help=f"Create and link the checked {HR} employees that are not in Kleer; update the "
                    "checked linked ones with their values"):
    try:
        plan = wb.plan_export(checked)
        st.session_state["export_plan"] = plan
        st.session_state["export_blockers"] = {op.hr_id: "blocked: " + "; ".join(op.blockers)
                                               for op in plan.operations if op.blocked}
        st.session_state.pop("export_result", None)
        st.rerun()  # the table above shows the blockers beside their rows while the dialog is open
    except WorkbenchError as e:
        st.error(str(e))
if b[1].button(f"Unlink ({len(checked_linked)})", key="unlink", disabled=not checked_linked or not may_decide,
               help="Forget the link between the checked employees and their Kleer users (Kleer is "
                    "not touched)"):
    st.session_state["unlink_ids"] = checked_linked
    st.session_state.pop("export_result", None)
if b[2].button("Cancel", key="export_cancel", help="Clear the selection"):
    bump_editor(EDITOR)
    st.rerun()
if not may_decide:
    access.require("analyst", "export or unlink")

if st.session_state.get("export_plan") is not None:
    review(st.session_state["export_plan"])
elif st.session_state.get("unlink_ids"):
    confirm_unlink(st.session_state["unlink_ids"])

last = st.session_state.get("export_result")
if last:
    what, plan, result = last

    def retry() -> None:  # a re-run of the same plan runs again only what failed
        st.session_state["export_result"] = (what, plan, wb.apply(plan, token=session.kleer_token()))

    show_result(result, retry=retry, what=what)

# ------------------------------------------------------------------ details
st.subheader("Details")
if len(view):
    names = view.set_index("hr_id")
    hr_id = detail_picker("export_detail", view["hr_id"].tolist(), dict(zip(view["hr_id"], view["name"])),
                          checked)
    kleer_id = names.at[hr_id, "kleer_id"]
    kleer_id = None if pd.isna(kleer_id) else int(kleer_id)
    details = wb.pair_details(hr_id=hr_id, kleer_id=kleer_id)
    if kleer_id is None:
        st.caption(f"Not in Kleer yet: an export creates the Kleer user with these {HR} values "
                   f"(foreign-id = {hr_id}) and links it.")
    else:
        st.caption(f"Linked to Kleer user {kleer_id}. Highlighted fields differ; an export writes "
                   f"the {HR} value to Kleer.")
    shown = columns.masked_pairs(details)
    st.dataframe(shown[["label", "hr", "kleer", "differs"]].style.apply(
        lambda r: ["background-color: #fff3cd" if r["differs"] else "" for _ in r], axis=1),
        hide_index=True, width="stretch",
        column_config={"label": "Field", "hr": f"{HR} value", "kleer": "Kleer value", "differs": "Differs"})
else:
    st.info("No employees in this tab" + (" match the filter." if text.strip() else "."))
