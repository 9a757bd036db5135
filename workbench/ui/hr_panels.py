"""The HR file's two panels: what a load changes (and its confirmation), and the HR changes the
workbench made, as a file for the HR system.

Everything that comes from a file or the workspace (notes naming headers, HR ids, values) is
rendered as text (``st.text``, ``st.code``, dataframes), never as markdown.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any, Callable

import streamlit as st

from ..api import Workbench
from ..errors import WorkbenchError
from . import access, columns, session

if TYPE_CHECKING:
    from ..sources import HrFile

__all__ = ["reload_panel", "hr_changes_section", "hr_changes_file"]

MIME = {"csv": "text/csv",
        "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _problem(headline: str, error: Exception) -> None:
    st.error(headline)
    st.text(str(error))


def reload_panel(wb: Workbench, hr_file: "HrFile", *, may_load: bool, key: str = "load_hr") -> None:
    """What the loader assumed (its notes), what loading ``hr_file`` changes in the workspace
    (new, changed and missing employees; linked ones kept), and the load button. Into a
    workspace with employees the button confirms exactly the change shown: if the workspace
    moved since, the load is refused and the new difference shown."""
    if hr_file.notes:
        with st.container(border=True):
            st.caption("What the loader assumed")
            for note in hr_file.notes:
                st.text(note)
    remove = bool(st.session_state.get(f"{key}:remove", False))
    shown = st.session_state.get(f"{key}:token")  # the preview the analyst saw last run
    try:
        preview = wb.preview_hr(hr_file, remove_missing=remove)
    except WorkbenchError as e:
        _problem("The file cannot be compared with the workspace.", e)
        return
    st.session_state[f"{key}:token"] = preview.token
    n = len(hr_file.records)
    if preview.needs_confirmation:
        st.write("**What this load changes** — nothing is written until you confirm")
        st.code(preview.summary(reveal=columns.reveal()), language=None, wrap_lines=True)
        changes = preview.frame(reveal=columns.reveal())
        if len(changes):
            st.dataframe(changes, hide_index=True, width="stretch",
                         column_config={"hr_id": "HR id", "field": "Field",
                                        "before": "In the workspace", "after": "In the file"})
        if preview.diff.missing:
            st.checkbox("Also remove the employees missing from the file (linked ones are kept)",
                        key=f"{key}:remove")
        label = f"Confirm and load ({n} employees)"
    else:
        label = f"Load into workspace ({n} employees)"
    if st.button(label, type="primary", key=key, disabled=not may_load or not n):
        bar = st.progress(0.0, text="Loading…")
        try:
            result = wb.load_hr(hr_file, remove_missing=remove, expect=shown or preview.token,
                                progress=lambda f, m: bar.progress(min(f, 1.0), text=m))
        except WorkbenchError as e:
            _problem("Nothing was loaded.", e)
            return
        session.flash("success", str(result))
        st.rerun()


def hr_changes_file(wb: Workbench, *, batch: str | None = None, since: date | None = None,
                    only_changed_columns: bool = False, format: str | None = None
                    ) -> Callable[[], bytes]:
    """The download's data, made when the analyst clicks (and audited then, by
    :meth:`Workbench.hr_changes`), never while the page merely renders."""
    def make() -> bytes:
        return wb.hr_changes(batch=batch, since=since, only_changed_columns=only_changed_columns,
                             format=format)
    return make


def hr_changes_section(wb: Workbench, *, batch: str | None = None, key: str = "hr_changes") -> None:
    """"HR changes for your HR system": the employees created in HR and the fields overwritten
    by Kleer values (of ``batch``, else since a date the analyst picks), downloadable in the HR
    export's own shape. Real values: analysts only; each file made is audited. With ``batch``
    (after an import) nothing is shown when the batch changed nothing in HR."""
    since: Any = None
    if batch is None:
        st.subheader("HR changes for your HR system")
        since = st.date_input("Changes since (empty: every change)", value=None, key=f"{key}:since",
                              format="YYYY-MM-DD")
    if not access.can("analyst"):
        if batch is None:
            st.info("Only the analyst role can download the HR changes: the file carries real "
                    "personal data for the HR system.")
        return
    try:
        found = wb.hr_change_set(batch=batch, since=since)
    except WorkbenchError as e:
        _problem("The HR changes cannot be collected.", e)
        return
    if found.empty and not found.gone:
        if batch is None:
            st.caption("No HR changes to hand back: Import's Create new user and Prefer Kleer "
                       "make them.")
        return
    if batch is not None:
        st.write("**HR changes for your HR system** — import this file there so both systems agree")
    st.text(found.summary())
    if found.empty:
        return
    if found.shape is None:
        st.warning("The workspace does not know the HR file's shape yet: load the HR export on "
                   "Sources, then download the changes.")
        return
    left, right = st.columns(2)
    fmt = left.radio("Format", ["csv", "xlsx"], index=["csv", "xlsx"].index(found.shape.format),
                     horizontal=True, key=f"{key}:format", format_func=str.upper)
    only = right.checkbox("Only the changed columns (and the id)", key=f"{key}:only")
    name = f"hr-changes-{batch or (f'since-{since}' if since else 'all')}.{fmt}"
    st.download_button(f"Download the HR changes ({len(found.records)} employees, {fmt.upper()})",
                       hr_changes_file(wb, batch=batch, since=since, only_changed_columns=only,
                                       format=fmt),
                       file_name=name, mime=MIME[fmt], key=f"{key}:download", on_click="ignore",
                       type="primary",
                       help="Real values (personnummer, bank accounts), never masked: the HR "
                            "system needs them. Recorded in the audit log.")
