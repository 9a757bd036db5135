"""Sources: load the HR export (CSV/XLSX, column mapping, validation report) and fetch Kleer."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from workbench.errors import SourceError, WorkbenchError
from workbench.ui import access, columns, hr_panels, session
from workbench.ui.frame import frame, snapshot_age

DEMO_HR = Path(__file__).resolve().parent.parent / "data" / "demo" / "hr_employees.csv"
IGNORE = "— ignore —"

wb = frame("Sources")
st.title("Sources")
settings = wb.settings
HR = settings.hr_label
may_load = access.can("analyst")


def fetch_and_suggest() -> None:
    """Fetch Kleer with a progress bar, then suggest matches when both sides have employees."""
    bar = st.progress(0.0, text="Connecting to Kleer…")
    result, _ = wb.refresh_kleer(token=session.kleer_token(),
                                 on_progress=lambda done, total, msg: bar.progress(done / max(total, 1), text=msg))
    bar.progress(1.0, text=str(result))
    session.flash("success", f"{result}. Suggestions are ready on Import from Kleer.")


# ------------------------------------------------------------------ HR
st.subheader(f"{HR} employees")
left, right = st.columns([3, 1])
upload = left.file_uploader(f"{HR} export (CSV or XLSX)", type=["csv", "txt", "tsv", "xlsx", "xlsm"],
                            key="hr_upload", disabled=not may_load,
                            help="Swedish or English headers; UTF-8, UTF-8 with BOM or Windows-1252; "
                                 "comma, semicolon or tab.")
with right:
    st.write("")
    if st.button("Load demo data", key="load_demo", disabled=not may_load,
                 help=f"The demo {HR} file, then Kleer from the configured connection"):
        try:
            loaded = wb.load_hr(DEMO_HR)
            session.flash("success", str(loaded))
            if session.kleer_token():
                fetch_and_suggest()
            st.rerun()
        except WorkbenchError as e:
            st.error(str(e))

if upload is not None:
    data, name = upload.getvalue(), upload.name
    mapping_key = f"hr_mapping:{name}:{len(data)}"
    mapping = st.session_state.get(mapping_key)
    hr_file, error = None, None
    try:
        hr_file = wb.read_hr(data, name=name, mapping=mapping)
    except SourceError as e:
        error = e
    if error is not None:
        st.error(str(error))
    headers = list(hr_file.mapping) if hr_file else error.headers
    if hr_file is not None:
        st.caption(f"Detected: {hr_file.detected} · {len(hr_file.records)} employees")
        with st.expander("Preview (first 20 rows)"):
            preview = hr_file.raw.head(20) if hr_file.raw is not None else pd.DataFrame()
            st.dataframe(columns.masked(preview.rename(columns=hr_file.mapping)), width="stretch")
    if headers:
        current = hr_file.mapping if hr_file else (mapping or wb.suggest_mapping(headers))
        labels = {f.key: f"{f.label} ({f.key})" for f in wb.fields()}
        key_of = {v: k for k, v in labels.items()}
        table = pd.DataFrame({"column": headers,
                              "field": [labels.get(current.get(h) or "", IGNORE) for h in headers]})
        st.write("**Column mapping** — which field each column of the file holds")
        st.session_state["mapping_editor:key"] = f"mapping_editor:{mapping_key}"
        edited = st.data_editor(
            table, key=f"mapping_editor:{mapping_key}", hide_index=True, num_rows="fixed", width="stretch",
            disabled=["column"],
            column_config={"column": st.column_config.TextColumn("File column"),
                           "field": st.column_config.SelectboxColumn(
                               "Field", options=[IGNORE, *labels.values()], required=True)})
        chosen = {c: key_of.get(f) for c, f in zip(edited["column"], edited["field"])}
        if chosen != {h: (current.get(h) or None) for h in headers}:
            st.session_state[mapping_key] = chosen
            st.rerun()
    if hr_file is not None:
        problems = hr_file.problems_frame()
        if len(problems):
            st.warning(f"{len(problems)} problem(s) in {problems['row'].nunique()} row(s). Rows with problems "
                       "are loaded with the value kept as written, except rows without an HR id.")
            st.dataframe(problems.rename(columns={"row": "Row", "hr_id": "HR id", "column": "Column",
                                                  "field": "Field", "message": "Problem"}),
                         hide_index=True, width="stretch")
        else:
            st.success("No problems found.")
        hr_panels.reload_panel(wb, hr_file, may_load=may_load)

counts = wb.counts()
st.caption(f"In the workspace: {counts['hr']} {HR} employees.")
hr_panels.hr_changes_section(wb)

# ------------------------------------------------------------------ Kleer
st.subheader("Kleer employees")
snap = wb.last_snapshot()
cols = st.columns(3)
cols[0].metric("Kleer employees", counts["kleer"])
cols[1].metric("Snapshot", snapshot_age(snap["fetched_at"] if snap else None))
cols[2].metric("Linked", counts["linked"])
st.caption(f"Connection: {settings.kleer_base_url} · company {settings.kleer_company_id} · token "
           f"{'set' if session.kleer_token() else 'not set'}")
label = "Refresh Kleer data" if snap else "Fetch from Kleer"
if st.button(label, type="primary" if not snap else "secondary", key="fetch_kleer",
             disabled=not may_load or not session.kleer_token()):
    try:
        fetch_and_suggest()
        st.rerun()
    except WorkbenchError as e:
        st.error(f"Fetching from Kleer failed: {e}")
if not session.kleer_token():
    st.info("Set KLEER_TOKEN (environment or .streamlit/secrets.toml) to fetch from Kleer; see Settings.")
