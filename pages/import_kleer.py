"""Import from Kleer: tabs New / Imported / All, an editable table per tab, bulk actions on the
checked rows of the tab, a details view, and Import (n) → dry run → confirm → progress → banner."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.errors import WorkbenchError
from workbench.ui import access, columns, hr_panels, session
from workbench.ui.frame import frame
from workbench.ui.widgets import (action_labels, apply_with_progress, bump_editor, detail_picker,
                                  editor_version, lazy_tabs, plan_review, require_data, show_result)

wb = frame("Import from Kleer")
st.title("Import from Kleer")
require_data(wb)
settings = wb.settings
HR = settings.hr_label
LABELS = action_labels(HR)
ACTION_OF = {v: k for k, v in LABELS.items()}
CREATE = LABELS["create_in_hr"]
EDITOR = "import_editor"
may_decide = access.can("analyst")

with st.spinner("Suggesting matches…"):
    try:
        wb.suggest_if_missing()
    except WorkbenchError as e:
        st.error(str(e))

rows = wb.import_rows()
people = wb.hr_employees()
hr_names = dict(zip(people["hr_id"], (people["first_name"].fillna("") + " "
                                      + people["last_name"].fillna("")).str.strip()))

n_new = int((rows["state"] == "new").sum())
tab = lazy_tabs("import_tab", [("new", f"New ({n_new})"), ("imported", f"Imported ({len(rows) - n_new})"),
                               ("all", f"All ({len(rows)})")])
view = rows if tab == "all" else rows[rows["state"] == tab]

f1, f2, f3 = st.columns([3, 2, 1])
text = f1.text_input("Filter by name or id", key="import_filter", placeholder="e.g. Svensson or 1042")
bands = f2.multiselect("Band", ["certain", "likely", "possible", "none"], key="import_bands")
if f3.button("Re-run matching", help="Suggest again from the current data (decisions are kept)"):
    with st.spinner("Suggesting matches…"):
        wb.suggest()
    st.rerun()
if text.strip():
    t = text.strip().casefold()
    hit = (view["kleer_name"].fillna("").str.casefold().str.contains(t, regex=False)
           | view["kleer_id"].astype(str).str.contains(t, regex=False)
           | view["hr_name"].fillna("").str.casefold().str.contains(t, regex=False)
           | view["hr_id"].fillna("").astype(str).str.casefold().str.contains(t, regex=False))
    view = view[hit]
if bands:
    view = view[view["band"].fillna("none").isin(bands)]
view = view.reset_index(drop=True)

# ------------------------------------------------------------------ the editable table
key = f"{EDITOR}:{tab}:{text.strip()}:{','.join(bands)}:{editor_version(EDITOR)}"


def hr_label(hr_id) -> str:
    return wb.editor_hr_label(hr_names.get(hr_id), hr_id)


options = sorted({hr_label(h) for cands in view["candidates"] for h in cands}
                 | {hr_label(h) for h in view["hr_id"] if h is not None and not pd.isna(h)})
table = pd.DataFrame({  # what the analyst acts on first; the long "why" last
    "select": False,
    "kleer_id": view["kleer_id"],
    "kleer_name": view["kleer_name"],
    "hr": [CREATE if a == "create_in_hr" else hr_label(h) for a, h in zip(view["action"], view["hr_id"])],
    "action": view["action"].map(LABELS),
    "score": view["score"],
    "band": view["band"],
    "affected": view["affected"],
    "flags": view["flags"],
    "reasons": view["reasons"],
})


edited = st.data_editor(
    table, key=key, hide_index=True, num_rows="fixed", width="stretch", height=420,
    disabled=True if not may_decide else ["kleer_id", "kleer_name", "score", "band", "reasons",
                                          "affected", "flags"],
    column_config={
        "select": st.column_config.CheckboxColumn("✓", help="Check rows for the buttons above", width="small"),
        "kleer_id": st.column_config.NumberColumn("Kleer id", format="%d", width="small"),
        "kleer_name": st.column_config.TextColumn("Kleer name"),
        "hr": st.column_config.SelectboxColumn(f"{HR} employee", options=[CREATE, *options],
                                               help=f"The suggested {HR} employee; pick another "
                                                    "candidate or Create new user"),
        "score": st.column_config.ProgressColumn("Score", min_value=0, max_value=100, format="%.0f"),
        "band": st.column_config.TextColumn("Band", width="small"),
        "reasons": st.column_config.TextColumn("Why", width="large"),
        "affected": st.column_config.TextColumn("Affected fields"),
        "action": st.column_config.SelectboxColumn("Action to be performed", options=list(LABELS.values()),
                                                   required=True),
        "flags": st.column_config.TextColumn("Flags", help="tie: two candidates almost equal; contested: "
                                             "another Kleer employee's best candidate too; namesake: "
                                             f"several {HR} employees share the name"),
    })
st.session_state[f"{EDITOR}:key"] = key  # tests and the details view find the live editor here
checked = [int(k) for k, s in zip(edited["kleer_id"], edited["select"]) if s]

changes = wb.editor_decisions(table, edited, action_of=ACTION_OF, create_label=CREATE)
if changes and may_decide:  # saved as they are made; the rerun refreshes score, reasons, affected
    try:
        wb.decide(pd.DataFrame(changes))
    except WorkbenchError as e:
        session.flash("error", str(e))
        bump_editor(EDITOR)
    st.rerun()

# ------------------------------------------------------------------ bulk buttons (checked rows of this tab)
st.caption(f"{len(checked)} checked in this tab · actions below apply to the checked rows only")
b = st.columns(6)
for col, action in zip(b, ("create_in_hr", "prefer_hr", "prefer_kleer", "do_nothing")):
    if col.button(LABELS[action], key=f"bulk:{action}", disabled=not checked or not may_decide):
        chosen = view.set_index("kleer_id").loc[checked]
        pairs = [(k, h if isinstance(h, str) else None) for k, h in zip(checked, chosen["hr_id"])]
        if action in ("prefer_hr", "prefer_kleer"):
            missing = [k for k, h in pairs if h is None]
            pairs = [(k, h) for k, h in pairs if h is not None]
            if missing:
                session.flash("warning", f"{len(missing)} checked row(s) have no {HR} "
                              f"employee to link and were left as they were: {missing[:10]}")
        try:
            wb.decide_pairs([k for k, _ in pairs], action, [h for _, h in pairs])
        except WorkbenchError as e:
            session.flash("error", str(e))
        bump_editor(EDITOR)
        st.rerun()
if b[4].button("Cancel", key="import_cancel", help="Clear the selection"):
    bump_editor(EDITOR)
    st.rerun()

# ------------------------------------------------------------------ Import (n)
to_import = view[view["kleer_id"].isin(checked)] if checked else view
to_import = to_import[to_import["action"] != "do_nothing"]
n = len(to_import)


def close_review() -> None:
    st.session_state.pop("import_plan", None)


@st.dialog("Import — review before anything is written", width="large", on_dismiss=close_review)
def review(plan) -> None:
    st.caption(f"Plan {plan.id}, built on the Kleer snapshot of {wb.last_snapshot()['fetched_at']}")
    plan_review(plan, labels=LABELS, hr_label=HR)
    st.download_button("Download the plan (JSON)", plan.to_json(), file_name=f"{plan.id}.json",
                       mime="application/json")
    go, cancel = st.columns(2)
    if go.button("Confirm and import", type="primary", disabled=not plan.runnable, key="import_confirm"):
        result = apply_with_progress(wb, plan)
        close_review()
        if result is not None:
            st.session_state["import_result"] = (plan, result)
            bump_editor(EDITOR)
        st.rerun()
    if cancel.button("Cancel", key="import_review_cancel"):
        close_review()
        st.rerun()


if b[5].button(f"Import ({n})", type="primary", key="import", disabled=n == 0 or not may_decide):
    try:
        st.session_state["import_plan"] = wb.plan("import", [str(k) for k in to_import["kleer_id"]])
        st.session_state.pop("import_result", None)
    except WorkbenchError as e:
        st.error(str(e))
if st.session_state.get("import_plan") is not None:
    review(st.session_state["import_plan"])

last = st.session_state.get("import_result")
if last:
    plan, result = last

    def retry() -> None:  # a re-run of the same plan runs again only what failed
        st.session_state["import_result"] = (plan, wb.apply(plan, token=session.kleer_token()))

    show_result(result, retry=retry)
    hr_panels.hr_changes_section(wb, batch=result.batch_id, key="import_hr_changes")

# ------------------------------------------------------------------ details
st.subheader("Details")
if len(view):
    kleer_id = detail_picker("import_detail", view["kleer_id"].tolist(),
                             dict(zip(view["kleer_id"], view["kleer_name"])), checked)
    row = view.set_index("kleer_id").loc[kleer_id]
    hr_id = row["hr_id"] if isinstance(row["hr_id"], str) else None
    details = wb.pair_details(hr_id=hr_id, kleer_id=int(kleer_id))
    shown = columns.masked_pairs(details)
    st.dataframe(shown[["label", "hr", "kleer", "differs"]].style.apply(
        lambda r: ["background-color: #fff3cd" if r["differs"] else "" for _ in r], axis=1),
        hide_index=True, width="stretch",
        column_config={"label": "Field", "hr": f"{HR} value", "kleer": "Kleer value", "differs": "Differs"})
    differing = details[details["differs"]]
    if hr_id and len(differing) and row["action"] in ("prefer_hr", "prefer_kleer", "match_manually") and may_decide:
        with st.form(f"fields:{kleer_id}"):
            st.write("Per field: whose value should both systems keep?")
            base = "kleer" if row["action"] == "prefer_kleer" else "hr"
            choice = {}
            for r in differing.itertuples():
                choice[r.field] = st.radio(r.label, ["hr", "kleer"], index=["hr", "kleer"].index(base),
                                           horizontal=True, key=f"ov:{kleer_id}:{r.field}",
                                           format_func=lambda v: HR if v == "hr" else "Kleer")
            if st.form_submit_button("Save field choices"):
                overrides = {k: v for k, v in choice.items() if v != base}
                try:
                    wb.decide(kleer_id=int(kleer_id), action=row["action"], hr_id=hr_id,
                              prefer=base, overrides=overrides)
                    session.flash("success", "Field choices saved.")
                    bump_editor(EDITOR)
                    st.rerun()
                except WorkbenchError as e:
                    st.error(str(e))
    sugg = wb.suggestions(kleer_id=int(kleer_id))
    ev = sugg[sugg["hr_id"] == hr_id] if len(sugg) and hr_id else sugg.iloc[0:0]
    if len(ev):
        st.write(f"**Why this match** (score {ev.iloc[0]['score']:.0f}, {ev.iloc[0]['band']})")
        st.dataframe(pd.DataFrame(ev.iloc[0]["evidence"])[["label", "hr", "kleer", "agreement", "contribution",
                                                          "sentence"]],
                     hide_index=True, width="stretch")
    if row["state"] == "new" and may_decide:
        with st.expander(f"Match manually with any {HR} employee"):
            linked = set(wb.links()["hr_id"])
            choices = sorted(h for h in hr_names if h not in linked)
            pick = st.selectbox(f"{HR} employee", choices, format_func=hr_label, key=f"manual:{kleer_id}",
                                index=None, placeholder="Type a name or id")
            prefer = st.radio("Then", ["hr", "kleer"], horizontal=True, key=f"manual_prefer:{kleer_id}",
                              format_func=lambda v: f"Prefer {HR}" if v == "hr" else "Prefer Kleer")
            if st.button("Match", key=f"manual_go:{kleer_id}", disabled=pick is None):
                try:
                    wb.decide(kleer_id=int(kleer_id), action="match_manually", hr_id=pick, prefer=prefer)
                    bump_editor(EDITOR)
                    st.rerun()
                except WorkbenchError as e:
                    st.error(str(e))
