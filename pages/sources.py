"""Sources: load the HR export (CSV/XLSX, column mapping, validation report) and fetch Kleer."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from workbench.errors import SourceError, WorkbenchError
from workbench.ui import access, columns, hr_panels, session
from workbench.ui.frame import frame, snapshot_age
from workbench.ui.text import blank, md

DEMO_HR = Path(__file__).resolve().parent.parent / "data" / "demo" / "hr_employees.csv"
IGNORE = "— ignore —"

wb = frame("Sources")
st.title("Sources")
settings = wb.settings
HR = settings.hr_label          # plain: table headers
HRM = md(HR)                    # markdown contexts
may_load = access.can("analyst")
cannot = access.why_not("analyst", "load or fetch data")


def fetch_and_suggest() -> None:
    """Fetch Kleer, then suggest matches when both sides have employees, in one status box."""
    with st.status("Fetching from Kleer…", expanded=True) as status:
        bar = st.progress(0.0, text="Connecting to Kleer…")
        result, suggested = wb.refresh_kleer(
            token=session.kleer_token(),
            on_progress=lambda done, total, msg: bar.progress(done / max(total, 1), text=md(msg)))
        bar.progress(1.0, text=md(result))
        status.update(label=f"Fetched; suggestions for {suggested} Kleer employees", state="complete")
    session.flash("success", f"{result}. Suggestions are ready on Import from Kleer.")


@st.cache_data(max_entries=8, show_spinner="Reading the file…")
def read_upload(data: bytes, name: str, mapping: tuple | None, _wb):
    """The uploaded file read and checked once per content (and mapping), not on every rerun."""
    return _wb.read_hr(data, name=name, mapping=dict(mapping) if mapping else None)


# ------------------------------------------------------------------ HR
st.subheader(f"{HRM} employees")
left, right = st.columns([3, 1])
upload = left.file_uploader(f"{HRM} export (CSV or XLSX)", type=["csv", "txt", "tsv", "xlsx", "xlsm"],
                            key="hr_upload", disabled=not may_load,
                            help="Swedish or English headers; UTF-8, UTF-8 with BOM or Windows-1252; "
                                 "comma, semicolon or tab.")
with right:
    st.write("")
    if st.button("Load demo data", key="load_demo", disabled=not may_load,
                 help=cannot or f"The demo {HRM} file, then Kleer from the configured connection"):
        try:
            loaded = wb.load_hr(DEMO_HR)
            session.flash("success", str(loaded))
            if session.kleer_token():
                fetch_and_suggest()
            st.rerun()
        except WorkbenchError as e:
            st.error(md(e))

if upload is not None:
    data, name = upload.getvalue(), upload.name
    mapping_key = f"hr_mapping:{name}:{len(data)}"
    mapping = st.session_state.get(mapping_key)
    hr_file, error = None, None
    try:
        hr_file = read_upload(data, name, tuple(sorted(mapping.items(), key=str)) if mapping else None, wb)
    except SourceError as e:
        error = e
    if error is not None:
        st.error(md(error))
    headers = list(hr_file.mapping) if hr_file else error.headers
    if hr_file is not None:
        st.caption(f"Detected: {md(hr_file.detected)} · {len(hr_file.records)} employees")
        with st.expander("Preview (first 20 rows)"):
            preview = hr_file.raw.head(20) if hr_file.raw is not None else pd.DataFrame()
            st.dataframe(blank(columns.masked(preview.rename(columns=hr_file.mapping))), width="stretch")
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
            st.dataframe(blank(problems).rename(columns={"row": "Row", "hr_id": "HR id", "column": "Column",
                                                  "field": "Field", "message": "Problem"}),
                         hide_index=True, width="stretch", placeholder="")
        else:
            st.success("No problems found.")
        hr_panels.reload_panel(wb, hr_file, may_load=may_load)

counts = wb.counts()
st.caption(f"In the workspace: {counts['hr']} {HRM} employees.")
hr_panels.hr_changes_section(wb)

# ------------------------------------------------------------------ Kleer
st.subheader("Kleer employees")
snap = wb.last_snapshot()
cols = st.columns(3)
cols[0].metric("Kleer employees", counts["kleer"])
cols[1].metric("Snapshot", snapshot_age(snap["fetched_at"] if snap else None))
cols[2].metric("Linked", counts["linked"])
st.caption(f"Connection: {md(settings.kleer_base_url)} · company {settings.kleer_company_id} · token "
           f"{'set' if session.kleer_token() else 'not set'}")
label = "Refresh Kleer data" if snap else "Fetch from Kleer"
if st.button(label, type="primary" if not snap else "secondary", key="fetch_kleer",
             disabled=not may_load or not session.kleer_token(), help=cannot):
    try:
        fetch_and_suggest()
        st.rerun()
    except WorkbenchError as e:
        st.error(f"Fetching from Kleer failed: {md(e)}")
if not session.kleer_token():
    st.info("Set KLEER_TOKEN (environment or .streamlit/secrets.toml) to fetch from Kleer; see Settings.")

# ------------------------------------------------------------------ relink
if st.button("Relink from Kleer", key="relink", disabled=not may_load or not session.kleer_token(),
             help="After a lost workspace: link every HR employee whose HR id a Kleer user carries "
                  "as foreign-id (load the HR file first). Nothing is written to Kleer."):
    try:
        relinked = wb.relink(token=session.kleer_token())
        session.flash("success" if not relinked.disagreeing else "warning", str(relinked))
        st.rerun()
    except WorkbenchError as e:
        st.error(f"Relinking failed: {md(e)}")
