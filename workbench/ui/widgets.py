"""Widgets several pages share: lazy tabs, action labels, the plan review, the background apply
(start, progress polled from the journal, the result banner), downloads. Pages stay thin: read
session, call the Workbench, render with these. Every value from the data is escaped (``md``)."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import pandas as pd
import streamlit as st

from ..api import Workbench
from ..errors import WorkbenchError
from ..model import ApplyResult, Plan
from . import access, columns, session
from .text import local_time, md

__all__ = ["lazy_tabs", "action_labels", "plan_review", "rerun_fragment", "start_apply", "apply_monitor", "busy",
           "show_result", "require_data", "editor_version", "bump_editor", "audited_download"]


def lazy_tabs(key: str, items: Sequence[tuple[str, str]], *, default: str | None = None) -> str:
    """Tabs whose labels may change (they carry counts) without losing the selected tab; only the
    open tab's name is returned, so the page renders just that one. ``default``: the tab a first
    visit lands on (the vendor's: Import on All, Export on Linked)."""
    names = [n for n, _ in items]
    labels = [label for _, label in items]
    remembered = st.session_state.get(f"{key}:open", default or names[0])
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


def rerun_fragment() -> None:
    """Rerun only the fragment this code runs in; the whole page when it runs as part of a full
    run (the first draw, or AppTest, which always runs the whole script)."""
    from streamlit.errors import StreamlitInvalidLayoutContextError
    try:
        st.rerun(scope="fragment")
    except StreamlitInvalidLayoutContextError:
        st.rerun()


def editor_version(key: str) -> int:
    return int(st.session_state.get(f"{key}:version", 0))


def bump_editor(key: str) -> None:
    """Start the editor ``key`` afresh (edits already saved; selection cleared)."""
    st.session_state[f"{key}:version"] = editor_version(key) + 1


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


def plan_review(plan: Plan, *, labels: dict[str, str] | None = None, hr_label: str = "HR",
                names: Callable[[Any, Any], str] | None = None) -> None:
    """What a plan will do: counts per action, blockers, warnings (each naming its employee:
    ``names(hr_id, kleer_id)``) and every operation with the fields it writes (personal numbers
    masked unless revealed), in the analyst's words."""
    labels = labels or {}
    ops = plan.operations_frame(reveal=columns.reveal())
    runnable = int((~ops["blocked"]).sum()) if len(ops) else 0
    by_action = {k.removeprefix("action:"): v for k, v in plan.counts if k.startswith("action:")}
    cols = st.columns(max(1, len(by_action)) + 1)
    cols[0].metric("Operations to run", runnable)
    for col, (action, n) in zip(cols[1:], sorted(by_action.items())):
        col.metric(md(labels.get(action, action.replace("_", " "))), n)

    def who(r) -> str:
        kleer_id = None if pd.isna(r.kleer_id) else int(r.kleer_id)
        name = names(r.hr_id, kleer_id) if names else ""
        ids = " ↔ ".join(str(v) for v in (r.hr_id, kleer_id) if v)
        return f"{name} ({ids})" if name else ids

    blocked = ops[ops["blocked"]] if len(ops) else ops
    if len(blocked):
        st.error(f"{len(blocked)} blocked — listed here, never sent:\n\n" + "\n".join(
            f"- {md(who(r))}: {md(r.blockers)}" for r in blocked.head(20).itertuples()))
    warnings = [md(w) for w in plan.warnings]
    if len(ops):
        warnings += [f"{md(who(r))}: {md(r.warnings)}" for r in ops.itertuples() if r.warnings]
    if warnings:
        more = f"\n- … and {len(warnings) - 20} more" if len(warnings) > 20 else ""
        st.warning("\n".join(f"- {w}" for w in warnings[:20]) + more)
    if len(ops):
        shown = ops.assign(
            kind=ops["kind"].map(lambda k: _KINDS.get(k, k).format(hr=hr_label)),
            action=ops["action"].map(lambda a: labels.get(a, a)),
            employee=[names(h, None if pd.isna(k) else int(k)) if names else ""
                      for h, k in zip(ops["hr_id"], ops["kleer_id"])],
            blockers=ops["blockers"].fillna(""))
        st.dataframe(shown[["kind", "action", "employee", "hr_id", "kleer_id", "changes", "blockers"]],
                     hide_index=True, width="stretch", placeholder="",
                     column_config={"kind": "What", "action": "Decision", "employee": "Employee",
                                    "hr_id": f"{hr_label} id",
                                    "kleer_id": st.column_config.NumberColumn("Kleer id", format="%d"),
                                    "changes": st.column_config.TextColumn("What each system receives",
                                                                           width="large"),
                                    "blockers": "Blocked because"})


# ---------------------------------------------------------------------------- the background apply

def busy(wb: Workbench) -> str | None:
    """Why nothing can be applied right now (an apply is running: n of m), else None. Read once
    per script run."""
    running = st.session_state.get("_running_now")
    if running is None:
        running = st.session_state["_running_now"] = wb.running_applies()
    if not running:
        return None
    s = running[0]
    return f"An apply is running ({s.done} of {s.total}): wait until it has finished."


def start_apply(wb: Workbench, plan: Plan, *, what: str) -> bool:
    """Start ``plan`` in the background; its progress and banner are drawn by the frame on
    whatever page the analyst is. True when it started."""
    reason = access.why_not("analyst", "write anything")
    if reason:
        st.error(reason)
        return False
    try:
        status = wb.start_apply(plan, token=session.kleer_token(), what=what)
    except WorkbenchError as e:
        session.flash("error", f"Nothing was applied: {e}")
        return False
    st.session_state["apply_watch"] = status.batch_id
    st.session_state["apply_seen"] = None
    st.session_state.pop("_running_now", None)
    return True


def apply_monitor(wb: Workbench) -> None:
    """Drawn by the frame on every page: while an apply runs in this workspace (this tab's, a
    second tab's or another analyst's), its progress from the journal, polled every 0.5 s in a
    fragment; once this session's apply has finished, the banner (until dismissed)."""
    st.session_state.pop("_running_now", None)
    running = wb.running_applies()
    st.session_state["_running_now"] = running
    watched = st.session_state.get("apply_watch")
    if running:
        _progress()
    elif watched:
        try:
            status = wb.apply_status(watched)
        except WorkbenchError:
            st.session_state["apply_watch"] = None
            return
        if not status.running:
            if st.session_state.get("apply_seen") != watched:  # just finished: clear selections
                st.session_state["apply_seen"] = watched
                for key in ("import_editor", "export_editor"):
                    bump_editor(key)
                st.session_state.pop("export_blockers", None)
            _banner(wb, status)


@st.fragment(run_every=0.5)
def _progress() -> None:
    wb = session.workbench()
    running = wb.running_applies()
    if not running:
        st.rerun()  # finished: the whole page reads the new state and shows the banner
    me = st.session_state.get("apply_watch")
    for s in running:
        by = "" if s.batch_id == me else f" (started by {md(s.analyst or 'someone')})"
        level = f" ({md(s.detail)})" if s.detail else ""  # the live concurrency, and why
        st.progress(s.fraction, text=f"{md(s.what)} is running{by}: {s.done} of {s.total} "
                                     f"operations{level}. You can go on working; it is not "
                                     "interrupted.")


def _banner(wb: Workbench, status) -> None:
    result = status.result
    if result is None:
        return
    box = st.container()
    with box:
        show_result(result, what=status.what, error=status.error,
                    retry=(lambda: _retry(wb, status)) if wb.plan_of_batch(status.batch_id) else None)
        if st.button("Dismiss", key=f"dismiss:{status.batch_id}", type="tertiary"):
            st.session_state["apply_watch"] = None
            st.rerun()


def _retry(wb: Workbench, status) -> None:
    plan = wb.plan_of_batch(status.batch_id)
    if plan is not None:
        start_apply(wb, plan, what=status.what)


def show_result(result: ApplyResult, *, retry: Callable[[], None] | None = None,
                what: str = "Import", error: str | None = None) -> None:
    """The green banner with counts; failed and conflicting rows listed with their reasons."""
    c = result.counts_dict
    parts = ", ".join(f"{c[k]} {k}" for k in ("done", "skipped", "conflict", "failed", "pending")
                      if c.get(k))
    if result.unrefreshed:
        st.warning(f"{len(result.unrefreshed)} Kleer record(s) were written but could not be read back "
                   "(Kleer stopped answering): refresh Kleer data on Sources before planning again.")
    if result.elsewhere:  # settled by another apply: say so, not "done" as if done here
        shown = "; ".join(f"{o.hr_id or o.kleer_id}: {o.reason}" for o in result.elsewhere[:5])
        st.info(f"{len(result.elsewhere)} settled by another apply, not this one ({md(shown)}"
                f"{', …' if len(result.elsewhere) > 5 else ''}).")
    if error:
        st.error(f"{md(what)} stopped: {md(error)}. The batch is closed; what was done stays done, "
                 "and running the same plan again continues it.")
    if result.ok and not error:
        st.success(f"{md(what)} finished: {parts or 'nothing to do'}. Batch {md(result.batch_id)}.")
        return
    st.warning(f"{md(what)} finished with problems: {parts}. Batch {md(result.batch_id)}. "
               "Conflicts were not overwritten: refresh Kleer data and decide again.")
    problems = result.problems_frame(reveal=columns.reveal())
    if len(problems):
        st.dataframe(problems[["status", "kind", "hr_id", "kleer_id", "reason"]],
                     hide_index=True, width="stretch", placeholder="")
    if retry is not None and (c.get("failed") or c.get("pending")):
        st.button("Retry failed", key=f"retry:{result.batch_id}", on_click=retry,
                  disabled=not access.can("analyst"))


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
