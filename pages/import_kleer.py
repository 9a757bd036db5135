"""Import from Kleer: tabs New / Imported / All (lands on All, as the vendor's), an editable table
per tab in a fragment (a click reruns only the table), actions that fit the row, bulk actions on
the checked rows that say what they changed and why they left the others, Affected fields that
opens the pair's detail (HR value beside Kleer value, per-field choice, the match explanation),
and Import (n) → dry run → confirm → the apply runs in the background (progress and banner by the
frame, on whatever page the analyst is)."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from workbench.errors import WorkbenchError
from workbench.ui import access, columns, hr_panels, session
from workbench.ui.frame import frame
from workbench.ui.text import blank, md, plain
from workbench.ui.widgets import (action_labels, bump_editor, busy, editor_version, lazy_tabs,
                                  plan_review, require_data, rerun_fragment, start_apply)

wb = frame("Import from Kleer")
st.title("Import from Kleer")
require_data(wb)
settings = wb.settings
HR = settings.hr_label          # plain text: table headers and options are drawn as text
HRM = md(HR)                    # the same in markdown (labels, captions, alerts)
LABELS = action_labels(HR)
ACTION_OF = {v: k for k, v in LABELS.items()}
CREATE = LABELS["create_in_hr"]
EDITOR = "import_editor"
PAGE_SIZE = 500
may_decide = access.can("analyst")
cannot = access.why_not("analyst", "change decisions, re-run matching or import")
# What each tab's cells offer. Streamlit's option lists are per column, not per row, so the All
# tab (linked and unlinked rows together) offers Create new user in neither the action nor the HR
# column: a linked row is never offered it. Unlinked rows are created from the New tab or with the
# Create new user button (which leaves the linked rows it is given, and says so).
FIT = {"new": list(LABELS), "imported": ["prefer_hr", "prefer_kleer", "do_nothing"],
       "all": [a for a in LABELS if a != "create_in_hr"]}

if may_decide and wb.counts()["suggestions"] == 0:
    with st.status("Suggesting matches…", expanded=False) as status:
        try:
            if wb.suggest_if_missing():
                status.update(label="Suggestions ready", state="complete")
        except WorkbenchError as e:
            status.update(label=f"Suggesting failed: {md(e)}", state="error")


# ------------------------------------------------------------------ the rows, cached per session
def rows_now() -> pd.DataFrame:
    """Every Kleer employee's row, recomputed only when the workspace changed (another tab, an
    apply); this page's own decisions patch the rows they touched (:func:`patch`)."""
    version = wb.version()
    cache = st.session_state.get("import_rows_cache")
    if cache is None or cache[0] != version:
        cache = (version, wb.import_rows(details=(), reuse=True).set_index("kleer_id", drop=False))
        st.session_state["import_rows_cache"] = cache
        st.session_state["import_details_cache"] = {}
    return cache[1]


def patch(kleer_ids) -> None:
    """Read again just the rows of ``kleer_ids`` after this page decided for them."""
    rows = rows_now_unchecked()
    fresh = wb.import_rows(only=kleer_ids, details=(), reuse=True).set_index("kleer_id", drop=False)
    rows = pd.concat([rows.drop(index=fresh.index, errors="ignore"), fresh]).sort_index()
    st.session_state["import_rows_cache"] = (wb.version(), rows)


def rows_now_unchecked() -> pd.DataFrame:
    return st.session_state["import_rows_cache"][1]


def details_for(view: pd.DataFrame) -> pd.DataFrame:
    """Affected fields and reasons for the rows on screen (computed for those only, cached by
    pair)."""
    cache = st.session_state.setdefault("import_details_cache", {})
    keys = list(zip(view["kleer_id"].astype(int), view["hr_id"]))
    missing = sorted({k for k, h in keys if (k, h) not in cache})
    if missing:
        for r in wb.import_rows(only=missing, reuse=True).itertuples():
            cache[(int(r.kleer_id), r.hr_id)] = (r.affected, r.affected_fields, r.reasons)
    got = [cache.get(k, ("", [], "")) for k in keys]
    return view.assign(affected=[g[0] for g in got], affected_fields=[g[1] for g in got],
                       reasons=[g[2] for g in got])


@st.cache_data(max_entries=4, show_spinner=False)
def hr_labels(path: str, version: int, _wb) -> tuple[dict, list[str]]:
    """Every HR employee's label for the HR column, sorted by name (one read per change)."""
    labels = _wb.hr_editor_labels()
    return labels, sorted(labels.values(), key=str.casefold)


rows = rows_now()
hr_label_of, every_hr = hr_labels(wb.workspace.path, wb.state_version(), wb)
n_new = int((rows["state"] == "new").sum())
tab = lazy_tabs("import_tab", [("new", f"New ({n_new})"), ("imported", f"Imported ({len(rows) - n_new})"),
                               ("all", f"All ({len(rows)})")], default="all")

f1, f2, f3 = st.columns([3, 2, 1])
f1.text_input("Filter by name or id", key="import_filter", placeholder="e.g. Svensson, or exactly 1042")
f2.multiselect("Band", ["certain", "likely", "possible", "none"], key="import_bands")
running = busy(wb)
if f3.button("Re-run matching", key="rerun_matching", disabled=bool(cannot or running),
             help=cannot or running or "Suggest again from the current data (decisions are kept)"):
    with st.status("Suggesting matches…") as status:
        try:
            wb.suggest()
            status.update(label="Suggestions ready", state="complete")
        except WorkbenchError as e:
            status.update(label=f"Suggesting failed: {md(e)}", state="error")
    st.rerun()


def current_view() -> pd.DataFrame:
    rows = rows_now()
    view = rows if tab == "all" else rows[rows["state"] == tab]
    text = st.session_state.get("import_filter") or ""
    if text.strip():
        view = wb.filter_rows(view, text, ids=["kleer_id", "hr_id"], names=["kleer_name", "hr_name"])
    bands = st.session_state.get("import_bands") or []
    if bands:
        view = view[view["band"].fillna("none").isin(bands)]
    return view.reset_index(drop=True)


def name_of(hr_id, kleer_id) -> str:
    rows = rows_now_unchecked()
    if hr_id and hr_id in hr_label_of:
        return hr_label_of[hr_id].rsplit(" · ", 1)[0]
    if kleer_id is not None and kleer_id in rows.index:
        return plain(rows.at[kleer_id, "kleer_name"])
    return ""


# ------------------------------------------------------------------ bulk actions
def bulk(action: str, checked: list[int]) -> str:
    """Decide ``action`` for the checked rows it fits; say how many changed and why the others
    were left."""
    rows = rows_now_unchecked()
    fit, left = [], {}
    for k in checked:
        r = rows.loc[k]
        linked = r["state"] == "imported"
        if r["integration"]:
            left.setdefault("the integration user (the token's own Kleer user)", []).append(k)
        elif action == "create_in_hr" and linked:
            left.setdefault(f"already linked to an {HR} employee", []).append(k)
        elif action in ("prefer_hr", "prefer_kleer") and not isinstance(r["hr_id"], str):
            left.setdefault(f"no {HR} employee to link", []).append(k)
        elif r["action"] == action and not (action in ("prefer_hr", "prefer_kleer") and r["proposed"]):
            left.setdefault("already set so", []).append(k)
        else:
            fit.append(k)
    if fit:
        hr_ids = [rows.at[k, "hr_id"] if isinstance(rows.at[k, "hr_id"], str) else None for k in fit]
        try:
            wb.decide_pairs(fit, action, hr_ids)
        except WorkbenchError as e:
            return f"Nothing was changed: {e}"
        patch(fit)
    text = f"{LABELS[action]}: {len(fit)} of {len(checked)} checked row(s) changed."
    for why, ids in left.items():
        names = ", ".join(name_of(None, k) or str(k) for k in ids[:5]) + (" …" if len(ids) > 5 else "")
        text += f" {len(ids)} left as they were ({why}): {names}."
    return text


# ------------------------------------------------------------------ the pair's detail
def close_detail() -> None:
    st.session_state.pop("import_detail", None)


@st.dialog("Affected fields", width="large", on_dismiss=close_detail)
def detail(kleer_id: int) -> None:
    rows = rows_now_unchecked()
    if kleer_id not in rows.index:
        st.warning("This Kleer employee is no longer in the workspace (Kleer was fetched again).")
        return
    row = rows.loc[kleer_id]
    hr_id = row["hr_id"] if isinstance(row["hr_id"], str) else None
    st.markdown(f"**{md(row['kleer_name'])}** · Kleer user {kleer_id}"
                + (f" ↔ **{md(name_of(hr_id, None))}** · {HRM} {md(hr_id)}" if hr_id else
                   f" · no {HRM} employee"))
    if row["integration"]:
        st.info("This is the integration user: the Kleer user the token itself belongs to. It is "
                "left out of the bulk actions.")
    details = wb.pair_details(hr_id=hr_id, kleer_id=int(kleer_id))
    shown = blank(columns.masked_pairs(details))
    st.dataframe(shown[["label", "hr", "kleer", "differs"]].style.apply(
        lambda r: ["background-color: #fff3cd" if r["differs"] else "" for _ in r], axis=1),
        hide_index=True, width="stretch", placeholder="",
        column_config={"label": "Field", "hr": f"{HR} value", "kleer": "Kleer value",
                       "differs": "Differs"})
    differing = details[details["differs"]]
    pair = row["action"] in ("prefer_hr", "prefer_kleer", "match_manually")
    if hr_id and len(differing) and pair:
        st.write("**Per field: whose value should both systems keep?**")
        base = "kleer" if (row["prefer"] or ("kleer" if row["action"] == "prefer_kleer" else "hr")) == "kleer" else "hr"
        with st.form(f"fields:{kleer_id}", border=False):
            choice = {}
            for r in differing.itertuples():
                choice[r.field] = st.radio(md(r.label), ["hr", "kleer"], index=["hr", "kleer"].index(base),
                                           horizontal=True, key=f"ov:{kleer_id}:{r.field}",
                                           format_func=lambda v: HRM if v == "hr" else "Kleer")
            if st.form_submit_button("Save field choices", disabled=bool(cannot), help=cannot):
                overrides = {k: v for k, v in choice.items() if v != base}
                try:
                    wb.decide(kleer_id=int(kleer_id), action=row["action"], hr_id=hr_id,
                              prefer=base, overrides=overrides)
                    patch([int(kleer_id)])
                    st.toast("Field choices saved.")
                except WorkbenchError as e:
                    st.error(md(e))
    elif hr_id and len(differing):
        st.caption(f"Choose Prefer {HRM}, Prefer Kleer or Match manually to pick per field.")
    explanation(kleer_id, hr_id)


def explanation(kleer_id: int, hr_id: str | None) -> None:
    """Why this match: the evidence entries (label, sentence, contribution), as text. Generic on
    purpose: a matcher that adds weights only adds columns."""
    sugg = wb.suggestions(kleer_id=int(kleer_id))
    ev = sugg[sugg["hr_id"] == hr_id] if len(sugg) and hr_id else sugg.iloc[0:0]
    if not len(ev):
        st.caption("No match suggestion explains this pair.")
        return
    top = ev.iloc[0]
    st.write(f"**Why this match** (score {float(top['score']):.0f}, {md(top['band'])})")
    entries = pd.DataFrame(top["evidence"] or [])
    if entries.empty:
        return
    keep = [c for c in ("label", "sentence", "hr", "kleer", "agreement", "contribution", "weight")
            if c in entries.columns]
    st.dataframe(blank(entries[keep]), hide_index=True, width="stretch", placeholder="",
                 column_config={"label": "Signal", "sentence": st.column_config.TextColumn("In words", width="large"),
                                "hr": f"{HR} value", "kleer": "Kleer value", "agreement": "Agreement",
                                "contribution": st.column_config.NumberColumn("Contribution", format="%+.1f")})
    from workbench.ui.waterfall import chart  # the same weights as a waterfall (labels are data)
    st.altair_chart(chart(top["evidence"]), width="stretch")


def open_detail() -> None:
    click = st.session_state.get("import_affected_click")
    ids = st.session_state.get("import_page_ids") or []
    if click is not None and 0 <= int(click["row"]) < len(ids):
        st.session_state["import_detail"] = ids[int(click["row"])]


AFFECTED_WIDTH = 30  # what the centred button cell shows whole; longer ones were cut at the start


def short(summary: str) -> str:
    """An Affected fields summary that fits its cell: the count and the first fields, then "…"
    (the detail it opens lists them all)."""
    return summary if len(summary) <= AFFECTED_WIDTH else summary[:AFFECTED_WIDTH - 1].rstrip(", ") + "…"


# ------------------------------------------------------------------ the grid (a fragment)
@st.fragment
def grid() -> None:
    view = current_view()
    text = (st.session_state.get("import_filter") or "").strip()
    pages = max(1, -(-len(view) // PAGE_SIZE))
    page = 1
    if pages > 1:
        page = int(st.number_input(f"Page (of {pages}, {PAGE_SIZE} rows each)", 1, pages, 1,
                                   key=f"import_page:{tab}:{text}"))
    view = details_for(view.iloc[(page - 1) * PAGE_SIZE:page * PAGE_SIZE].reset_index(drop=True))
    st.session_state["import_page_ids"] = [int(k) for k in view["kleer_id"]]
    base = f"{EDITOR}:{tab}:{text}:{','.join(st.session_state.get('import_bands') or [])}:{page}:" \
           f"{editor_version(EDITOR)}"
    signature = hash(tuple(st.session_state["import_page_ids"]))  # edits are kept by position
    key = f"{base}:{signature}"
    last = st.session_state.get(f"{EDITOR}:last")
    if last and last[0] == base and last[1] != signature and any(
            r.get("select") for r in (st.session_state.get(last[2]) or {}).get("edited_rows", {}).values()):
        st.warning("The rows of this tab changed since you checked some (another tab, another "
                   "analyst or an apply): the selection was cleared so that no other employee is "
                   "acted on. Check the rows again.")
    st.session_state[f"{EDITOR}:last"] = (base, signature, key)

    def hr_cell(action, hr_id, state) -> str:
        if action == "create_in_hr" and state == "new":
            return CREATE
        return hr_label_of.get(hr_id, "") if isinstance(hr_id, str) else ""

    suggested = [hr_label_of[h] for cands in view["candidates"] for h in cands if h in hr_label_of]
    creatable = [CREATE] if tab == "new" else []
    options = list(dict.fromkeys([*creatable, *suggested, *every_hr]))  # suggestions first, then everyone
    flags = [", ".join(x for x in (f, "integration user" if i else "") if x)
             for f, i in zip(view["flags"], view["integration"])]
    table = pd.DataFrame({  # the pair and how sure the match is first (they fit on a 1440 px
        # screen beside the action); the long "why" last
        "select": False,
        "kleer_id": view["kleer_id"].astype(int),
        "kleer_name": view["kleer_name"].map(plain),
        "hr": [hr_cell(a, h, s) for a, h, s in zip(view["action"], view["hr_id"], view["state"])],
        "score": view["score"],
        "band": view["band"].map(plain),
        "flags": flags,
        "action": view["action"].map(LABELS),
        "affected": [short(a) or "No differences" for a in view["affected"]],
        "reasons": view["reasons"].map(plain),
    })
    fits = FIT[tab]
    edited = st.data_editor(
        table, key=key, hide_index=True, num_rows="fixed", width="stretch", height=420, placeholder="",
        disabled=True if not may_decide else (
            ["kleer_id", "kleer_name", "score", "band", "reasons", "flags"]
            + (["hr"] if tab == "imported" else [])),
        column_config={
            "select": st.column_config.CheckboxColumn("✓", help="Check rows for the buttons below",
                                                      width="small"),
            "kleer_id": st.column_config.NumberColumn("Kleer id", format="%d", width="small"),
            "kleer_name": st.column_config.TextColumn("Kleer name"),
            "hr": st.column_config.SelectboxColumn(
                f"{HR} employee", options=options,
                help=f"Linked, decided or suggested {HRM} employee. Pick any {HRM} employee (type to "
                     "search; suggestions first)" + (" or Create new user" if creatable else
                                                     ". Create new user: on the New tab, or check "
                                                     "the rows and press Create new user")),
            "action": st.column_config.SelectboxColumn(
                "Action to be performed", options=[LABELS[a] for a in fits], required=True),
            "affected": st.column_config.ButtonColumn(
                "Affected fields", type="tertiary", on_click=open_detail, key="import_affected_click",
                help="What differs between the two systems; click for the detail"),
            "score": st.column_config.ProgressColumn("Score", min_value=0, max_value=100, format="%.1f",
                                                     width="small"),
            "band": st.column_config.TextColumn("Band", width="small"),
            "flags": st.column_config.TextColumn(
                "Flags", width="small", help="tie: two candidates almost equal; contested: another Kleer employee's "
                              f"best candidate too; namesake: several {HRM} employees share the name; "
                              "integration user: the token's own Kleer user"),
            "reasons": st.column_config.TextColumn("Why", width="large"),
        })
    st.session_state[f"{EDITOR}:key"] = key  # tests find the live editor here
    checked = [int(k) for k, s in zip(edited["kleer_id"], edited["select"]) if s]

    changes = wb.editor_decisions(table, edited, action_of=ACTION_OF, create_label=CREATE)
    if changes and may_decide:  # saved as they are made; only the rows touched are read again
        try:
            wb.decide(pd.DataFrame(changes))
            patch([c["kleer_id"] for c in changes])
            st.toast(f"Saved: {md(name_of(None, changes[0]['kleer_id']))}"
                     + (f" and {len(changes) - 1} more" if len(changes) > 1 else ""))
        except WorkbenchError as e:
            st.session_state["import_message"] = ("error", str(e))
            bump_editor(EDITOR)
        rerun_fragment()

    message = st.session_state.pop("import_message", None)
    if message:
        getattr(st, message[0])(md(message[1]))
    st.caption(f"{len(checked)} checked in this tab · the buttons below act on the checked rows only"
               + (f" · rows {(page - 1) * PAGE_SIZE + 1}–{(page - 1) * PAGE_SIZE + len(view)} of "
                  f"{len(current_view())}" if pages > 1 else ""))
    b = st.columns(6)
    for col, action in zip(b, ("create_in_hr", "prefer_hr", "prefer_kleer", "do_nothing")):
        if col.button(md(LABELS[action]), key=f"bulk:{action}", disabled=not checked or bool(cannot),
                      help=cannot or f"Set {md(LABELS[action])} for the checked rows it fits"):
            text = bulk(action, checked)
            kind = "info" if " left as they were " in text else "success"
            st.session_state["import_message"] = (kind, text)
            bump_editor(EDITOR)
            rerun_fragment()
    if b[4].button("Cancel", key="import_cancel", help="Clear the selection"):
        bump_editor(EDITOR)
        rerun_fragment()

    scope = checked or list(current_view()["kleer_id"])  # current_view may read the rows again
    pending = rows_now_unchecked()["pending"].to_dict()  # one pass; .at per row: ~1 s at 10,000
    to_import = [int(k) for k in scope if pending.get(k)]
    if b[5].button(f"Import ({len(to_import)})", type="primary", key="import",
                   disabled=not (to_import or checked) or bool(cannot or busy(wb)),
                   help=cannot or busy(wb) or "Review the plan for the checked rows (all rows of this "
                                              "tab when none is checked); nothing is written before "
                                              "you confirm"):
        if not to_import:  # checked rows that have nothing to run now: say so, do not stay silent
            st.session_state["import_message"] = (
                "warning", f"Nothing to import for the {len(checked)} checked row(s) now: they were "
                           "imported or changed since you checked them (another tab, another analyst "
                           "or an apply), or their action is Do nothing. The selection is cleared.")
            bump_editor(EDITOR)
            rerun_fragment()
        try:
            plan = wb.plan("import", [str(k) for k in to_import])
        except WorkbenchError as e:
            st.session_state["import_message"] = ("error", str(e))
            rerun_fragment()
        if not plan.operations:
            st.session_state["import_message"] = (
                "warning", "Nothing to import for the checked row(s) now: they changed since the "
                           "table was drawn (another tab, another analyst or an apply). The table is "
                           "refreshed; check the rows again.")
            st.session_state.pop("import_rows_cache", None)
            bump_editor(EDITOR)
            st.rerun()
        st.session_state["import_plan"] = plan
        st.rerun()
    if st.session_state.get("import_detail") is not None:
        detail(int(st.session_state["import_detail"]))


if cannot:
    st.caption(md(cannot))
grid()


# ------------------------------------------------------------------ Import (n): the dry run
def close_review() -> None:
    st.session_state.pop("import_plan", None)


@st.dialog("Import — review before anything is written", width="large", on_dismiss=close_review)
def review(plan) -> None:
    snap = wb.last_snapshot() or {}
    st.caption(f"Plan {md(plan.id)}, built on the Kleer snapshot of {md(snap.get('fetched_at', '?'))}")
    plan_review(plan, labels=LABELS, hr_label=HR, names=name_of)
    st.download_button("Download the plan (JSON)", plan.to_json(), file_name=f"{plan.id}.json",
                       mime="application/json")
    go, cancel = st.columns(2)
    if go.button("Confirm and import", type="primary", disabled=not plan.runnable or bool(busy(wb)),
                 key="import_confirm", help=busy(wb)):
        close_review()
        start_apply(wb, plan, what="Import")
        st.rerun()
    if cancel.button("Cancel", key="import_review_cancel"):
        close_review()
        st.rerun()


if st.session_state.get("import_plan") is not None:
    review(st.session_state["import_plan"])

# After this session's import has finished: the HR changes it made, for the HR system
watched = st.session_state.get("apply_watch")
if watched and not busy(wb):
    hr_panels.hr_changes_section(wb, batch=watched, key="import_hr_changes")
