"""Export to Kleer: tabs <HR label> / Linked / All, a checkbox per row (and for the whole tab),
Export (n) → dry run → confirm → the apply runs in the background (progress and banner by the
frame), Unlink (local only, Kleer untouched) and Cancel. Lands on Linked, as the vendor's.
Blocked rows stay in their tab with the reason; they are never sent. A stale selection (rows
another tab exported meanwhile) is said, not silently ignored."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.errors import WorkbenchError
from workbench.ui import access, columns, session
from workbench.ui.frame import frame
from workbench.ui.text import blank, md, plain
from workbench.ui.widgets import (action_labels, bump_editor, busy, editor_version, lazy_tabs,
                                  plan_review, require_data, start_apply)

wb = frame("Export to Kleer")
st.title("Export to Kleer")
require_data(wb, kleer=False)
settings = wb.settings
HR = settings.hr_label          # plain text: table headers
HRM = md(HR)                    # markdown contexts
LABELS = action_labels(HR, side="export")
EDITOR = "export_editor"
may_decide = access.can("analyst")
cannot = access.why_not("analyst", "export or unlink")
running = busy(wb)
if wb.last_snapshot() is None:
    st.warning("Kleer has not been fetched yet: exports are blocked until it is (Sources → Fetch from Kleer).")
    st.page_link("pages/sources.py", label="Go to Sources", icon=":material/upload_file:")

rows = wb.export_rows()
n_unlinked = int((rows["state"] == "unlinked").sum())
tab = lazy_tabs("export_tab", [("unlinked", f"{HRM} ({n_unlinked})"),
                               ("linked", f"Linked ({len(rows) - n_unlinked})"),
                               ("all", f"All ({len(rows)})")], default="linked")
view = rows if tab == "all" else rows[rows["state"] == tab]
if tab == "linked" and view.empty and len(rows):  # the landing tab of a new workspace
    st.info(f"Nothing is linked yet. Link Kleer employees to {HRM} employees on Import from Kleer "
            f"(Prefer {HRM} or Prefer Kleer), or export {HRM} employees to Kleer from the "
            f"{HRM} tab.")

f1, f2 = st.columns([3, 1])
text = f1.text_input("Filter by name or id", key="export_filter",
                     placeholder="e.g. Svensson, or exactly E10042")
if text.strip():
    view = wb.filter_rows(view, text, ids=["hr_id", "kleer_id"], names=["name", "kleer_name"])
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
base = f"{EDITOR}:{tab}:{text.strip()}:{select_all}:{version}"
rows_signature = hash(tuple(view["hr_id"]))  # edits are kept by position: new rows, new editor
key = f"{base}:{rows_signature}"
last = st.session_state.get(f"{EDITOR}:last")
if last and last[0] == base and last[1] != rows_signature and \
        any(r.get("select") for r in (st.session_state.get(last[2]) or {}).get("edited_rows", {}).values()):
    st.warning("The rows of this tab changed since you checked some (another tab, another analyst "
               "or an apply moved employees): the selection was cleared so that no other "
               "employee is acted on. Check the rows again.")
st.session_state[f"{EDITOR}:last"] = (base, rows_signature, key)
table = blank(columns.masked(pd.DataFrame({
    "select": bool(select_all),
    "hr_id": view["hr_id"],
    "name": view["name"].map(plain),
    "ssn": view["ssn"],
    "email": view["email"],
    "employment_start_date": view["employment_start_date"],
    "kleer_id": view["kleer_id"],
    "changes": view["changes"],
    "problems": view["problems"],
    "not_sent": [not_sent.get(h, "") for h in view["hr_id"]],
})))
if tab == "unlinked":  # nothing is linked here: no Kleer id, no changes to show
    table = table.drop(columns=["kleer_id", "changes"])
edited = st.data_editor(
    table, key=key, hide_index=True, num_rows="fixed", width="stretch", height=420, placeholder="",
    disabled=[c for c in table.columns if c != "select"],
    column_config={
        **columns.field_columns(["hr_id", "ssn", "employment_start_date"], hr_label=HR),
        "select": st.column_config.CheckboxColumn("✓", help="Check rows for the buttons below", width="small"),
        "name": st.column_config.TextColumn("Name"),
        "email": st.column_config.TextColumn(f"Email ({settings.email_preference})",
                                             help="The email exported to Kleer (Settings)"),
        "kleer_id": st.column_config.NumberColumn("Kleer id", format="%d", width="small"),
        "changes": st.column_config.TextColumn("Would change in Kleer",
                                               help=f"The fields whose {HRM} value differs from Kleer's"),
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
    """Start ``plan`` in the background; the frame shows its progress and banner."""
    if start_apply(wb, plan, what=what):
        st.session_state.pop("export_blockers", None)  # the journal holds them now
        bump_editor(EDITOR)


def name_of(hr_id, kleer_id) -> str:
    by = rows.set_index("hr_id")
    if isinstance(hr_id, str) and hr_id in by.index:
        return plain(by.at[hr_id, "name"])
    return ""


@st.dialog("Export — review before anything is sent to Kleer", width="large", on_dismiss=close_review)
def review(plan) -> None:
    st.caption(f"Plan {md(plan.id)}, built on the Kleer snapshot of "
               f"{md((wb.last_snapshot() or {}).get('fetched_at', 'never fetched'))}. Unlinked "
               f"{HRM} employees are created in Kleer and linked; linked ones are updated with their "
               f"{HRM} values.")
    plan_review(plan, labels=LABELS, hr_label=HR, names=name_of)
    st.download_button("Download the plan (JSON)", plan.to_json(), file_name=f"{plan.id}.json",
                       mime="application/json")
    go, cancel = st.columns(2)
    if go.button("Confirm and export", type="primary", disabled=not plan.runnable or bool(busy(wb)),
                 key="export_confirm", help=busy(wb)):
        close_review()
        run(plan, "Export")
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
            f"stay exactly as they are. The employees move back to the {HRM} tab, from where they "
            "can be exported or matched again.")
    st.markdown("\n".join(f"- {md(r.name)} ({md(r.Index)}) ↔ Kleer user {r.kleer_id}"
                          for r in who.head(20).itertuples()))
    go, cancel = st.columns(2)
    if go.button("Confirm unlink", type="primary", key="unlink_confirm", disabled=bool(busy(wb)),
                 help=busy(wb)):
        close_unlink()
        try:
            run(wb.plan_unlink(ids), "Unlink")
        except WorkbenchError as e:
            session.flash("error", str(e))
        st.rerun()
    if cancel.button("Cancel", key="unlink_review_cancel"):
        close_unlink()
        st.rerun()


b = st.columns([1, 1, 1, 3])
if b[0].button(f"Export ({len(checked)})", type="primary", key="export",
               disabled=not checked or bool(cannot or running),
               help=cannot or running or f"Create and link the checked {HRM} employees that are not "
                                         "in Kleer; update the checked linked ones with their values"):
    try:
        fresh = wb.export_rows().set_index("hr_id")
        pending = [h for h in checked if h in fresh.index and (
            fresh.at[h, "state"] == "unlinked" or fresh.at[h, "changed_fields"])]
        stale = [h for h in checked if h not in pending]
        plan = wb.plan_export(pending) if pending else None
        if plan is None or not plan.operations:
            session.flash("warning", f"Nothing to export for the {len(checked)} checked employee(s) "
                                     "now: Kleer already has their values (exported meanwhile, e.g. "
                                     "from another tab). The selection is cleared.")
            bump_editor(EDITOR)
        else:
            if stale:
                session.flash("info", f"{len(stale)} checked employee(s) left out: Kleer already has "
                                      f"their values ({', '.join(name_of(h, None) or h for h in stale[:5])}).")
            st.session_state["export_plan"] = plan
            st.session_state["export_blockers"] = {op.hr_id: "blocked: " + "; ".join(op.blockers)
                                                   for op in plan.operations if op.blocked}
        st.rerun()  # the table above shows the blockers beside their rows while the dialog is open
    except WorkbenchError as e:
        st.error(md(e))
if b[1].button(f"Unlink ({len(checked_linked)})", key="unlink",
               disabled=not checked_linked or bool(cannot or running),
               help=cannot or running or "Forget the link between the checked employees and their "
                                         "Kleer users (Kleer is not touched)"):
    st.session_state["unlink_ids"] = checked_linked
if b[2].button("Cancel", key="export_cancel", help="Clear the selection"):
    bump_editor(EDITOR)
    st.rerun()
if cannot:
    st.caption(md(cannot))

if st.session_state.get("export_plan") is not None:
    review(st.session_state["export_plan"])
elif st.session_state.get("unlink_ids"):
    confirm_unlink(st.session_state["unlink_ids"])

# ------------------------------------------------------------------ details
st.subheader("Details")
if len(view):
    names = view.set_index("hr_id")
    ids = view["hr_id"].tolist()
    first = checked[0] if checked else None
    if first is not None and st.session_state.get("export_detail:follows") != first:
        st.session_state["export_detail"] = first
    st.session_state["export_detail:follows"] = first
    if st.session_state.get("export_detail") not in ids:
        st.session_state["export_detail"] = ids[0]
    hr_id = st.selectbox("Employee", ids, key="export_detail",
                         format_func=lambda i: f"{plain(names.at[i, 'name'])} · {i}")
    kleer_id = names.at[hr_id, "kleer_id"]
    kleer_id = None if pd.isna(kleer_id) else int(kleer_id)
    details = wb.pair_details(hr_id=hr_id, kleer_id=kleer_id)
    if kleer_id is None:
        st.caption(f"Not in Kleer yet: an export creates the Kleer user with these {HRM} values "
                   f"(foreign-id = {md(hr_id)}) and links it.")
    else:
        st.caption(f"Linked to Kleer user {kleer_id}. Highlighted fields differ; an export writes "
                   f"the {HRM} value to Kleer.")
    shown = blank(columns.masked_pairs(details))
    st.dataframe(shown[["label", "hr", "kleer", "differs"]].style.apply(
        lambda r: ["background-color: #fff3cd" if r["differs"] else "" for _ in r], axis=1),
        hide_index=True, width="stretch", placeholder="",
        column_config={"label": "Field", "hr": f"{HR} value", "kleer": "Kleer value", "differs": "Differs"})
else:
    st.info("No employees in this tab" + (" match the filter." if text.strip() else "."))
