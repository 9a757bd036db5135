"""Audit: every decision and every write, newest first; filters; one entry's before/after and the
match evidence at decision time; downloads (masked unless revealed, a revealed one audited);
Revert this batch (a readable picker: side, when, who, counts, first names) → preview → confirm →
the revert runs in the background (progress and banner by the frame). Times are local."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.errors import WorkbenchError
from workbench.ui import access, columns
from workbench.ui.frame import frame
from workbench.ui.text import blank, local_time, md, plain, time_zone
from workbench.ui.widgets import audited_download, busy, plan_review, start_apply

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
action_words = {a: wb.what_happened(e, a) for e, a in zip(log["event"], log["action"])
                if isinstance(a, str)}
actions = c2.multiselect("What", options("action"), key="audit_actions",
                         format_func=lambda a: action_words.get(a, a))
analysts = c3.multiselect("Analyst", options("analyst"), key="audit_analysts")
c4, c5 = st.columns([2, 4])
results = c4.multiselect("Result", options("result"), key="audit_results")
days = c5.date_input(f"Date range (days in {time_zone().key})", value=(), key="audit_dates",
                     format="YYYY-MM-DD")
start = days[0] if len(days) else None
end = days[1] if len(days) > 1 else start
shown = wb.filter_audit(log, text=text, actions=actions, analysts=analysts, start=start, end=end,
                        results=results, tz=time_zone())

st.caption(f"{len(shown)} of {len(log)} entries, newest first. "
           + ("Personal numbers are shown (sidebar)." if reveal else "Personal numbers are masked."))
table = blank(shown[["id", "at", "analyst", "what", "employee", "hr_id", "kleer_id", "score",
                     "result", "batch_id"]].assign(at=shown["at"].map(local_time)))
st.dataframe(table, hide_index=True, width="stretch", placeholder="",
             column_config={"id": st.column_config.NumberColumn("#", format="%d", width="small"),
                            "at": f"When ({time_zone().key})", "analyst": "Analyst",
                            "what": st.column_config.TextColumn("What", width="medium"),
                            "result": "Result", "employee": "Employee", "hr_id": "HR id",
                            "kleer_id": st.column_config.NumberColumn("Kleer id", format="%d"),
                            "score": st.column_config.NumberColumn("Score", format="%.1f"),
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
        format_func=lambda i: " · ".join(plain(v) for v in (
            f"#{i}", local_time(by_id.at[i, "at"]), by_id.at[i, "what"],
            by_id.at[i, "employee"] or by_id.at[i, "hr_id"]) if plain(v)))
    e = by_id.loc[entry_id]
    who = " · ".join(str(v) for v in (e["hr_id"], e["kleer_id"]) if pd.notna(v))
    st.markdown(f"**{md(e['what'])}** by {md(e['analyst'] or 'unknown')} at "
                f"{md(local_time(e['at'], seconds=True))}"
                + (f" · {md(e['employee'])} ({md(who)})" if who else "")
                + (f" · result **{md(e['result'])}**" if pd.notna(e["result"]) else "")
                + (f" · batch {md(e['batch_id'])}" if pd.notna(e["batch_id"]) else ""))
    changes = wb.audit_changes(e["before"], e["after"])
    if len(changes):
        st.dataframe(blank(changes[["label", "before", "after", "changed"]]).style.apply(
            lambda r: ["background-color: #fff3cd" if r["changed"] else "" for _ in r], axis=1),
            hide_index=True, width="stretch", placeholder="",
            column_config={"label": "Field", "before": "Before", "after": "After", "changed": "Changed"})
    evidence = wb.evidence_at(int(entry_id))
    if evidence.items:
        source = {"entry": "recorded with this entry", "suggestion": "the stored suggestion"}.get(
            evidence.source, f"recorded with {evidence.source}")
        st.markdown(f"**Match evidence at decision time** ({md(source)}"
                    + (f", score {e['score']:.0f}" if pd.notna(e["score"]) else "") + ")")
        entries = pd.DataFrame([item for item in evidence.items if isinstance(item, dict)])
        # the learned model's weight in bits (the prior's too, which is where the sum starts);
        # evidence recorded by the first matcher has only its points ("contribution")
        amount = "weight" if "weight" in entries.columns else "contribution"
        keep = [c for c in ("label", "sentence", "agreement", amount) if c in entries.columns]
        if keep:  # a list of entries, drawn as text
            st.dataframe(blank(entries[keep]), hide_index=True, width="stretch", placeholder="",
                         column_config={"label": "Signal", "sentence": st.column_config.TextColumn(
                             "In words", width="large"), "agreement": "Agreement",
                             "weight": st.column_config.NumberColumn("Weight (bits)", format="%+.1f"),
                             "contribution": st.column_config.NumberColumn("Contribution", format="%+.1f")})
    else:
        st.caption("No match evidence belongs to this entry.")
    if isinstance(e["detail"], (dict, list)) and e["detail"]:
        with st.expander("Details as recorded"):
            st.json(e["detail"])
else:
    st.info("No entries match the filters.")

# ------------------------------------------------------------------ revert
st.subheader("Revert a batch")
batches = wb.batch_choices()
if batches.empty:
    st.caption("No batch has been applied yet.")
else:
    info = batches.set_index("id")
    SIDES = {"import": "Import from Kleer", "export": "Export to Kleer"}

    def describe(b) -> str:
        r = info.loc[b]
        what = "Revert" if r["kind"] == "revert" else SIDES.get(r["side"], "Apply")
        counts = ", ".join(f"{v} {k}" for k, v in (r["counts"] or {}).items()) or plain(r["status"])
        names = ", ".join(plain(n) for n in r["first_names"])
        more = r["employees"] - len(r["first_names"])
        return " · ".join(x for x in (
            what, local_time(r["started_at"]), f"by {plain(r['analyst']) or 'unknown'}", counts,
            names + (f" and {more} more" if more > 0 else ""),
            f"reverts {r['reverts']}" if plain(r["reverts"]) else "") if x)

    batch_id = st.selectbox("Batch", batches["id"].tolist(), key="revert_batch", format_func=describe)
    cannot = access.why_not("analyst", "revert a batch")
    running = busy(wb)

    def close_revert() -> None:
        st.session_state.pop("revert_plan", None)

    @st.dialog("Revert — review before anything is written", width="large", on_dismiss=close_revert)
    def review(plan) -> None:
        st.caption(f"Undo batch {md(plan.reverts)} from its before-images: updates written back, Kleer "
                   "users it created deactivated (Kleer has no delete), links it made ended and "
                   "links it ended restored. The revert is a batch of its own.")
        plan_review(plan)
        go, cancel = st.columns(2)
        if go.button("Confirm and revert", type="primary", disabled=not plan.runnable or bool(busy(wb)),
                     key="revert_confirm", help=busy(wb)):
            close_revert()
            start_apply(wb, plan, what="Revert")
            st.rerun()
        if cancel.button("Cancel", key="revert_review_cancel"):
            close_revert()
            st.rerun()

    if st.button("Revert this batch…", key="revert", disabled=bool(cannot or running),
                 help=cannot or running or "Shows what the revert would do; nothing is written "
                                           "before you confirm"):
        try:
            st.session_state["revert_plan"] = wb.revert_plan(batch_id)
        except WorkbenchError as err:
            st.error(md(err))
    if cannot:
        st.caption(md(cannot))
    if st.session_state.get("revert_plan") is not None:
        review(st.session_state["revert_plan"])
