"""Audit: every decision and every write, newest first; filters; one entry's before/after and the
match evidence at decision time; downloads (masked unless revealed, a revealed one audited);
Revert this batch → preview → confirm → progress → banner."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.errors import WorkbenchError
from workbench.ui import access, columns
from workbench.ui.frame import frame
from workbench.ui.widgets import apply_with_progress, audited_download, plan_review, show_result

wb = frame("Audit")
st.title("Audit")
reveal = columns.reveal()
log = wb.audit_view(reveal=reveal)
if log.empty:
    st.info("Nothing has been recorded yet: decisions, loads and writes appear here as they happen.")
    st.stop()


def options(column: str) -> list[str]:
    return sorted(str(v) for v in log[column].dropna().unique())


# ------------------------------------------------------------------ filters
c1, c2, c3 = st.columns([2, 2, 2])
text = c1.text_input("Employee", key="audit_text", placeholder="HR id, Kleer id or name")
actions = c2.multiselect("Action", options("action"), key="audit_actions")
analysts = c3.multiselect("Analyst", options("analyst"), key="audit_analysts")
c4, c5 = st.columns([2, 4])
results = c4.multiselect("Result", options("result"), key="audit_results")
days = c5.date_input("Date range (UTC)", value=(), key="audit_dates", format="YYYY-MM-DD")
start = days[0] if len(days) else None
end = days[1] if len(days) > 1 else start
shown = wb.filter_audit(log, text=text, actions=actions, analysts=analysts, start=start, end=end,
                     results=results)

st.caption(f"{len(shown)} of {len(log)} entries, newest first. "
           + ("Personal numbers are shown (sidebar)." if reveal else "Personal numbers are masked."))
table = shown[["id", "at", "analyst", "event", "action", "employee", "hr_id", "kleer_id", "score",
               "result", "batch_id"]].assign(at=shown["at"].str[:19].str.replace("T", " "))
st.dataframe(table, hide_index=True, width="stretch",
             column_config={"id": st.column_config.NumberColumn("#", format="%d", width="small"),
                            "at": "When (UTC)", "analyst": "Analyst", "event": "Event",
                            "action": "Action", "result": "Result", "employee": "Employee", "hr_id": "HR id",
                            "kleer_id": st.column_config.NumberColumn("Kleer id", format="%d"),
                            "score": st.column_config.NumberColumn("Score", format="%.0f"),
                            "batch_id": "Batch"})
d1, d2, _ = st.columns([1, 1, 3])
with d1:
    audited_download(wb, "Download CSV", wb.audit_download(shown, "csv"), file_name="audit.csv",
                     mime="text/csv", key="audit_csv", rows=len(shown), event="audit_export")
with d2:
    audited_download(wb, "Download JSON", wb.audit_download(shown, "json"), file_name="audit.json",
                     mime="application/json", key="audit_json", rows=len(shown), event="audit_export")

# ------------------------------------------------------------------ one entry
st.subheader("Entry")
if len(shown):
    by_id = shown.set_index("id")
    entry_id = st.selectbox(
        "Entry", shown["id"].tolist(), key="audit_entry",
        format_func=lambda i: " · ".join(str(v) for v in (
            f"#{i}", by_id.at[i, "at"][:19].replace("T", " "), by_id.at[i, "event"], by_id.at[i, "action"],
            by_id.at[i, "employee"] or by_id.at[i, "hr_id"]) if pd.notna(v) and v != ""))
    e = by_id.loc[entry_id]
    who = " · ".join(str(v) for v in (e["hr_id"], e["kleer_id"]) if pd.notna(v))
    st.markdown(f"**{e['event']} · {e['action'] or ''}** by {e['analyst'] or 'unknown'} at {e['at']}"
                + (f" · {e['employee']} ({who})" if who else "")
                + (f" · result **{e['result']}**" if pd.notna(e["result"]) else "")
                + (f" · batch {e['batch_id']}" if pd.notna(e["batch_id"]) else ""))
    changes = wb.audit_changes(e["before"], e["after"])
    if len(changes):
        st.dataframe(changes[["label", "before", "after", "changed"]].style.apply(
            lambda r: ["background-color: #fff3cd" if r["changed"] else "" for _ in r], axis=1),
            hide_index=True, width="stretch",
            column_config={"label": "Field", "before": "Before", "after": "After", "changed": "Changed"})
    evidence = wb.evidence_at(int(entry_id))
    if evidence.items:
        source = {"entry": "recorded with this entry", "suggestion": "the stored suggestion"}.get(
            evidence.source, f"recorded with {evidence.source}")
        st.markdown(f"**Match evidence at decision time** ({source}"
                    + (f", score {e['score']:.0f}" if pd.notna(e["score"]) else "")
                    + "):\n\n" + "\n".join(
                        f"- {item.get('sentence') or item.get('label')} "
                        f"({item.get('agreement', '')}, {float(item.get('contribution') or 0):+.0f})"
                        for item in evidence.items))
    else:
        st.caption("No match evidence belongs to this entry.")
    if isinstance(e["detail"], (dict, list)) and e["detail"]:
        with st.expander("Details as recorded"):
            st.json(e["detail"])
else:
    st.info("No entries match the filters.")

# ------------------------------------------------------------------ revert
st.subheader("Revert a batch")
batches = wb.batches()
if batches.empty:
    st.caption("No batch has been applied yet.")
else:
    info = batches.set_index("id")
    batch_id = st.selectbox(
        "Batch", batches["id"].tolist(), key="revert_batch",
        format_func=lambda b: f"{info.at[b, 'started_at'][:19]} · {info.at[b, 'kind']} · {b} · "
                              + ", ".join(f"{v} {k}" for k, v in (info.at[b, 'counts'] or {}).items())
                              + (f" · reverts {info.at[b, 'reverts']}" if pd.notna(info.at[b, 'reverts']) else ""))
    may_revert = access.can("analyst")

    def close_revert() -> None:
        st.session_state.pop("revert_plan", None)

    @st.dialog("Revert — review before anything is written", width="large", on_dismiss=close_revert)
    def review(plan) -> None:
        st.caption(f"Undo batch {plan.reverts} from its before-images: updates written back, Kleer "
                   "users it created deactivated (Kleer has no delete), links it made ended and "
                   "links it ended restored. The revert is a batch of its own.")
        plan_review(plan)
        go, cancel = st.columns(2)
        if go.button("Confirm and revert", type="primary", disabled=not plan.runnable, key="revert_confirm"):
            result = apply_with_progress(wb, plan)
            close_revert()
            if result is not None:
                st.session_state["revert_result"] = result
            st.rerun()
        if cancel.button("Cancel", key="revert_review_cancel"):
            close_revert()
            st.rerun()

    if st.button("Revert this batch…", key="revert", disabled=not may_revert,
                 help="Shows what the revert would do; nothing is written before you confirm"):
        try:
            st.session_state["revert_plan"] = wb.revert_plan(batch_id)
            st.session_state.pop("revert_result", None)
        except WorkbenchError as err:
            st.error(str(err))
    if not may_revert:
        access.require("analyst", "revert a batch")
    if st.session_state.get("revert_plan") is not None:
        review(st.session_state["revert_plan"])
    if st.session_state.get("revert_result") is not None:
        show_result(st.session_state["revert_result"], what="Revert")
