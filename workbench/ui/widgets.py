"""Widgets several pages share: lazy tabs, action labels, the plan review, apply with progress,
the result banner. Pages stay thin: read session, call the Workbench, render with these."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import pandas as pd
import streamlit as st

from ..api import Workbench
from ..errors import WorkbenchError
from ..model import ApplyResult, Plan
from . import columns, session

__all__ = ["lazy_tabs", "action_labels", "detail_picker", "plan_review", "apply_with_progress", "show_result",
           "require_data", "editor_version", "bump_editor", "audited_download"]


def lazy_tabs(key: str, items: Sequence[tuple[str, str]]) -> str:
    """Tabs whose labels may change (they carry counts) without losing the selected tab; only the
    open tab's name is returned, so the page renders just that one."""
    names = [n for n, _ in items]
    labels = [label for _, label in items]
    remembered = st.session_state.get(f"{key}:open", names[0])
    default = labels[names.index(remembered)] if remembered in names else labels[0]
    tabs = st.tabs(labels, key=key, on_change="rerun", default=default)
    for name, tab in zip(names, tabs):
        if tab.open:
            st.session_state[f"{key}:open"] = name
            return name
    return names[0]


def action_labels(hr_label: str, side: str = "import") -> dict[str, str]:
    """Action → the words the seed workflow's users know."""
    if side == "import":
        return {"create_in_hr": "Create new user", "prefer_hr": f"Prefer {hr_label}",
                "prefer_kleer": "Prefer Kleer", "match_manually": "Match manually",
                "do_nothing": "Do nothing"}
    return {"export": "Export", "unlink": "Unlink", "do_nothing": "Do nothing"}


def editor_version(key: str) -> int:
    return int(st.session_state.get(f"{key}:version", 0))


def bump_editor(key: str) -> None:
    """Start the editor ``key`` afresh (edits already saved; selection cleared)."""
    st.session_state[f"{key}:version"] = editor_version(key) + 1


def detail_picker(key: str, ids: list, labels: dict, checked: list) -> Any:
    """The employee whose details are shown: the first checked row when the selection changes,
    otherwise the analyst's own pick (kept while it is still in the table)."""
    first = checked[0] if checked else None
    if first is not None and st.session_state.get(f"{key}:follows") != first:
        st.session_state[key] = first
    st.session_state[f"{key}:follows"] = first
    if st.session_state.get(key) not in ids:
        st.session_state[key] = ids[0]
    return st.selectbox("Employee", ids, format_func=lambda i: f"{labels.get(i)} · {i}", key=key)


def require_data(wb: Workbench, *, hr: bool = True, kleer: bool = True) -> None:
    """Stop the page with a pointer to Sources when a side it needs is empty."""
    counts = wb.counts()
    missing = [what for what, need, n in (("HR employees", hr, counts["hr"]),
                                          ("Kleer employees", kleer, counts["kleer"])) if need and not n]
    if missing:
        st.info(f"No {' and no '.join(missing)} in the workspace yet: load them first.")
        st.page_link("pages/sources.py", label="Go to Sources", icon=":material/upload_file:")
        st.stop()


_KINDS = {"link": "link", "unlink": "unlink (Kleer untouched)", "hr_create": "create in {hr}",
          "hr_update": "update {hr}", "hr_delete": "remove from {hr}",
          "kleer_create": "create in Kleer", "kleer_update": "update Kleer"}


def plan_review(plan: Plan, *, labels: dict[str, str] | None = None, hr_label: str = "HR") -> None:
    """What a plan will do: counts per action, blockers, warnings and every operation with the
    fields it writes (personal numbers masked unless revealed), in the analyst's words."""
    labels = labels or {}
    ops = plan.operations_frame(reveal=columns.reveal())
    runnable = int((~ops["blocked"]).sum()) if len(ops) else 0
    by_action = {k.removeprefix("action:"): v for k, v in plan.counts if k.startswith("action:")}
    cols = st.columns(max(1, len(by_action)) + 1)
    cols[0].metric("Operations to run", runnable)
    for col, (action, n) in zip(cols[1:], sorted(by_action.items())):
        col.metric(labels.get(action, action.replace("_", " ")), n)
    blocked = ops[ops["blocked"]] if len(ops) else ops
    if len(blocked):
        st.error(f"{len(blocked)} blocked — listed here, never sent:\n\n" + "\n".join(
            f"- {r.hr_id or ''} {'' if pd.isna(r.kleer_id) else r.kleer_id}: {r.blockers}"
            for r in blocked.head(20).itertuples()))
    warnings = list(plan.warnings) + ([w for w in ops["warnings"] if w] if len(ops) else [])
    if warnings:
        st.warning("\n".join(f"- {w}" for w in warnings[:20]))
    if len(ops):
        shown = ops.assign(
            kind=ops["kind"].map(lambda k: _KINDS.get(k, k).format(hr=hr_label)),
            action=ops["action"].map(lambda a: labels.get(a, a)))
        st.dataframe(shown[["kind", "action", "hr_id", "kleer_id", "changes", "blockers"]],
                     hide_index=True, width="stretch",
                     column_config={"kind": "What", "action": "Decision", "hr_id": f"{hr_label} id",
                                    "kleer_id": st.column_config.NumberColumn("Kleer id", format="%d"),
                                    "changes": st.column_config.TextColumn("What each system receives",
                                                                           width="large"),
                                    "blockers": "Blocked because"})


def apply_with_progress(wb: Workbench, plan: Plan) -> ApplyResult | None:
    """Run ``plan`` with a progress bar per operation; a failure is shown, not raised."""
    bar = st.progress(0.0, text="Starting…")

    def on_progress(done: int, total: int, op_id: str, detail: str = "") -> None:
        # detail: the live concurrency and the reason of its last change
        bar.progress(done / max(total, 1),
                     text=f"{done} of {total}: {op_id}" + (f" · {detail}" if detail else ""))

    try:
        return wb.apply(plan, token=session.kleer_token(), on_progress=on_progress)
    except WorkbenchError as e:
        st.error(f"Nothing more was applied: {e}")
        return None


def show_result(result: ApplyResult, *, retry: Callable[[], None] | None = None,
                what: str = "Import") -> None:
    """The green banner with counts; failed and conflicting rows listed with their reasons."""
    c = result.counts_dict
    parts = ", ".join(f"{c[k]} {k}" for k in ("done", "skipped", "conflict", "failed") if c.get(k))
    if result.unrefreshed:
        st.warning(f"{len(result.unrefreshed)} Kleer record(s) were written but could not be read back "
                   "(Kleer stopped answering): refresh Kleer data on Sources before planning again.")
    if result.ok:
        st.success(f"{what} finished: {parts or 'nothing to do'}. Batch {result.batch_id}.")
        return
    st.warning(f"{what} finished with problems: {parts}. Batch {result.batch_id}. "
               "Conflicts were not overwritten: refresh Kleer data and decide again.")
    st.dataframe(result.problems_frame(reveal=columns.reveal())[
                     ["status", "kind", "hr_id", "kleer_id", "reason"]],
                 hide_index=True, width="stretch")
    if retry is not None and c.get("failed"):
        st.button("Retry failed", key=f"retry:{result.batch_id}", on_click=retry)


def audited_download(wb: Workbench, label: str, data: bytes, *, file_name: str, mime: str, key: str,
                     rows: int, event: str = "download") -> None:
    """A download button. Personal data is masked in downloads unless this session reveals it;
    a download made while revealed is recorded in the audit log (``event``, action ``reveal``,
    the file name and row count) when the analyst clicks."""
    def record() -> None:
        wb.record(event, action="reveal", detail={"file": file_name, "rows": int(rows)})

    st.download_button(label, data, file_name=file_name, mime=mime, key=key,
                       on_click=record if columns.reveal() else "ignore",
                       help="Personal numbers are masked unless shown (sidebar); a download "
                            "with them shown is recorded in the audit log.")
