"""Read models: the rows the Import, Export and Overview screens (and notebooks) show, one
function per view, each reading the workspace through its repositories (``Workbench`` offers
them as methods: ``import_rows``, ``export_rows``, ``pair_details``, ``outstanding``,
``state_counts``, ``link_scores``).

Each view joins the workspace's snapshot, HR register, links, suggestions and effective decisions
into one frame with a stable id column and a fixed order, so an editable table can key edits by
position. "Affected fields" come from :func:`workbench.fields.diff` (THE diff), nothing else.

The Overview reads the same way: :func:`state_counts` (with :func:`outstanding` for conflicts
and blocked employees), :func:`link_scores`, :func:`next_step`. The Audit page's reads are in
:mod:`workbench.audit`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from .decisions import effective
from .fields import FIELD, diff, join_name, kleer_fields, kleer_name_parts
from .normalize import is_missing
from .state import WorkspaceState
from .store import Workspace
from .store.hr import HrRegister

__all__ = ["import_rows", "export_rows", "pair_details", "affected_summary", "reasons",
           "filter_rows", "batch_choices", "outstanding", "StateCounts", "state_counts", "link_scores", "weakest_links", "NextStep",
           "next_step"]


def affected_summary(keys: list[str]) -> str:
    """``"3: email, phone, start date"`` (labels from the field table), or ``""`` when none."""
    if not keys:
        return ""
    labels = []
    for key in keys:
        label = FIELD[key].label
        if key in ("first_name", "last_name"):
            label = "name"
        if label.lower() not in labels:
            labels.append(label.lower())
    return f"{len(keys)}: {', '.join(labels)}"


def reasons(evidence: Any, *, top: int = 3) -> str:
    """The top reasons of a suggestion, in a few words: the sentences of the signals that counted
    most (agreements and conflicts alike)."""
    if not isinstance(evidence, list) or not evidence:
        return ""
    ranked = sorted((e for e in evidence if e.get("sentence") and e.get("agreement") != "missing"),
                    key=lambda e: -abs(float(e.get("contribution") or 0)))
    return "; ".join(e["sentence"] for e in ranked[:top])


def _hr_name(row: dict | None) -> str | None:
    if not row:
        return None
    return join_name(row.get("first_name"), row.get("last_name"))


def import_rows(ws: Workspace, *, email_preference: str = "private",
                world: WorkspaceState | None = None, only: Any = None,
                details: Any = None) -> pd.DataFrame:
    """One row per Kleer employee (``state`` ``new`` = not linked, ``imported`` = linked), in
    ``kleer_id`` order: the HR employee (linked, decided, or the suggested candidate), its score,
    band, flags and top reasons, the affected fields, the candidate list, the effective action,
    whether it would run now (``pending``) and whether it is the token's own user
    (``integration``).

    For big workspaces a screen asks for less: ``only`` (Kleer ids) the rows of those employees;
    ``details`` (Kleer ids) the affected fields and reasons only of those (the others get blank
    ones and ``detailed`` False; ``pending`` is exact either way)."""
    w = world or WorkspaceState.load(ws)
    only = None if only is None else {int(k) for k in only}
    details = None if details is None else {int(k) for k in details}
    candidates: dict[int, list[str]] = {}
    for kid, hid in w.suggestions:  # ordered by kleer_id, rank
        candidates.setdefault(kid, []).append(hid)
    me = ws.settings.get("kleer_me")
    rows = []
    for d in effective(ws, "import", world=w, subjects=None if only is None else {str(k) for k in only}):
        kid = int(d.subject_id)
        k = w.kleer[kid]
        linked = w.link_of_kleer.get(kid)
        hr_id = linked or d.hr_id
        if hr_id is None and d.action != "create_in_hr" and kid in w.assigned:
            hr_id = w.assigned[kid]["hr_id"]  # the suggested candidate, shown for the analyst to accept
        h = w.hr.get(hr_id) if hr_id else None
        s = w.suggestion(kid, hr_id)
        detailed = details is None or kid in details
        needs_diff = detailed or (linked is not None and d.action in ("prefer_hr", "prefer_kleer",
                                                                      "match_manually"))
        changed = [x.key for x in diff(h, k, email_preference=email_preference)] if h and needs_diff else []
        rows.append({
            "kleer_id": kid,
            "kleer_name": k.get("name"),
            "kleer_email": k.get("email"),
            "kleer_active": None if k.get("active") is None else bool(k.get("active")),
            "state": "imported" if linked else "new",
            "hr_id": hr_id,
            "hr_name": _hr_name(h),
            "score": None if s is None else float(s["score"]),
            "band": None if s is None else s["band"],
            "flags": ", ".join(f for f in ("tie", "contested", "namesake") if s and s.get(f)),
            "reasons": reasons(w.evidence_of(kid, hr_id)) if s and detailed else "",
            "affected": affected_summary(changed) if detailed else "",
            "affected_fields": changed,
            "candidates": candidates.get(kid, []),
            "action": d.action,
            "prefer": d.prefer,
            "proposed": d.proposed,
            "pending": _import_pending(d, linked, hr_id if h else None, changed),
            "integration": me is not None and kid == me,
            "detailed": detailed,
        })
    return pd.DataFrame(rows, columns=_IMPORT_COLUMNS)


_IMPORT_COLUMNS = ["kleer_id", "kleer_name", "kleer_email", "kleer_active", "state", "hr_id",
                   "hr_name", "score", "band", "flags", "reasons", "affected", "affected_fields",
                   "candidates", "action", "prefer", "proposed", "pending", "integration", "detailed"]


def _import_pending(d: Any, linked: str | None, hr_id: str | None, changed: list[str]) -> bool:
    """Whether the row's decision would run now (what Import (n) counts): a create for an
    unlinked Kleer user; a link not made yet; on a linked pair, a field that would take Kleer's
    value. Applied decisions are not pending (see :func:`workbench.decisions.effective`)."""
    if d.action == "do_nothing":
        return False
    if d.action == "create_in_hr":
        return linked is None
    if hr_id is None or (linked is not None and linked != hr_id):
        return False  # nothing to link to, or linked elsewhere: it would be blocked
    if linked is None:
        return True
    overrides = d.overrides_dict
    return any(overrides.get(key, d.prefer or "hr") == "kleer" for key in changed)


def _export_pending(d: Any, linked: int | None, changed: list[str]) -> bool:
    """Whether the row's export decision would run now: an unlink of a linked employee, an
    export of an unlinked one, or of a linked one whose HR value differs from Kleer's."""
    if d.action == "unlink":
        return linked is not None
    if d.action != "export":
        return False
    overrides = d.overrides_dict
    return linked is None or any(overrides.get(key, "hr") == "hr" for key in changed)


def filter_rows(frame: pd.DataFrame, text: str, *, ids: list[str], names: list[str]) -> pd.DataFrame:
    """The rows ``text`` finds: those whose id (any of ``ids``) is exactly ``text`` first (case
    does not matter), then those whose name (any of ``names``) contains it. An id is never
    matched by a part of it: typing 1049 finds Kleer user 1049, not E10492."""
    t = str(text or "").strip().casefold()
    if not t or frame.empty:
        return frame
    exact = pd.Series(False, index=frame.index)
    for col in ids:
        values = frame[col].map(lambda v: "" if v is None or (isinstance(v, float) and v != v)
                                else str(int(v)) if isinstance(v, float) and v.is_integer()
                                else str(v)).str.casefold()
        exact |= values == t
    named = pd.Series(False, index=frame.index)
    for col in names:
        named |= frame[col].fillna("").astype(str).str.casefold().str.contains(t, regex=False)
    return pd.concat([frame[exact], frame[named & ~exact]])


def export_rows(ws: Workspace, *, email_preference: str = "private",
                world: WorkspaceState | None = None) -> pd.DataFrame:
    """One row per HR employee (``state`` ``unlinked`` or ``linked``), in ``hr_id`` order: the
    linked Kleer user, the fields an export would change in Kleer, the row's data problems and the
    effective action."""
    w = world or WorkspaceState.load(ws)
    rows = []
    for d in effective(ws, "export", world=w):
        hid = d.subject_id
        h = w.hr[hid]
        kid = w.link_of_hr.get(hid)
        k = w.kleer.get(kid) if kid is not None else None
        changed = [x.key for x in diff(h, k, email_preference=email_preference)] if k else []
        rows.append({
            "hr_id": hid,
            "name": _hr_name(h),
            "ssn": h.get("ssn"),
            "email": h.get(f"{email_preference}_email"),
            "employment_start_date": h.get("employment_start_date"),
            "state": "linked" if kid is not None else "unlinked",
            "kleer_id": kid,
            "kleer_name": k.get("name") if k else None,
            "changes": affected_summary(changed),
            "changed_fields": changed,
            "problems": _problem_text(h),
            "action": d.action,
            "proposed": d.proposed,
            "pending": _export_pending(d, kid, changed),
        })
    frame = pd.DataFrame(rows, columns=_EXPORT_COLUMNS)
    frame["kleer_id"] = frame["kleer_id"].astype("Int64")
    return frame


_EXPORT_COLUMNS = ["hr_id", "name", "ssn", "email", "employment_start_date", "state", "kleer_id",
                   "kleer_name", "changes", "changed_fields", "problems", "action", "proposed",
                   "pending"]


def _problem_text(row: dict) -> str:
    problems = HrRegister.problems(row)
    return "; ".join(f"{FIELD[k].label if k in FIELD else k}: {v}" for k, v in problems.items())


def pair_details(ws: Workspace, *, hr_id: str | None, kleer_id: int | None,
                 email_preference: str = "private") -> pd.DataFrame:
    """Every Kleer field of a pair, HR value beside Kleer value, with ``differs`` per field (the
    detail view of both screens). Either side may be missing."""
    h = ws.hr.get(hr_id) if hr_id else None
    k = ws.kleer.get(int(kleer_id)) if kleer_id is not None else None
    differing = {x.key for x in diff(h, k, email_preference=email_preference)} if h and k else set()
    first, last = kleer_name_parts(k.get("name"), (h or {}).get("first_name"),
                                   (h or {}).get("last_name")) if k else (None, None)
    rows = []
    for f in kleer_fields(email_preference, include_id=True):
        kleer_value = None
        if k:
            kleer_value = {"first_name": first, "last_name": last,
                           "hr_id": k.get("foreign_id")}.get(f.key, k.get(f.kleer_side_key))
        rows.append({"field": f.key, "label": f.label, "group": f.group,
                     "hr": None if h is None else h.get(f.key), "kleer": kleer_value,
                     "differs": f.key in differing})
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- overview

def outstanding(ws: Workspace) -> pd.DataFrame:
    """The employees the latest apply left unresolved: one row per operation of an employee's
    most recent batch that ended in ``conflict`` (Kleer or the HR register changed since the plan;
    nothing was overwritten) or was ``skipped`` as ``blocked`` (e.g. no valid personnummer; never
    sent). An employee is the HR id of the journal row, else its Kleer id; a later batch that
    touches the employee (a successful export, a revert) settles it. Columns: ``subject``,
    ``hr_id``, ``kleer_id``, ``kind``, ``status`` (``conflict`` | ``blocked``), ``reason``,
    ``batch_id``, ``finished_at``; ordered by ``subject``."""
    columns = ["subject", "hr_id", "kleer_id", "kind", "status", "reason", "batch_id", "finished_at"]
    journal = ws.journal.settled_frame()
    journal = journal[~journal["kind"].fillna("").str.startswith("leave_")]  # the Leave page's own
    if journal.empty:
        return pd.DataFrame(columns=columns)
    journal["subject"] = [h if isinstance(h, str) else f"kleer:{int(k)}" if pd.notna(k) else ""
                          for h, k in zip(journal["hr_id"], journal["kleer_id"])]
    latest = journal.groupby("subject")["batch_id"].last()
    journal = journal[journal["batch_id"].values == latest.loc[journal["subject"]].values]
    blocked = (journal["status"] == "skipped") & journal["error"].fillna("").str.startswith("blocked")
    journal = journal[(journal["status"] == "conflict") | blocked].copy()
    journal["status"] = journal["status"].where(journal["status"] == "conflict", "blocked")
    journal["reason"] = journal["error"].fillna("").str.removeprefix("blocked: ")
    journal["kleer_id"] = journal["kleer_id"].astype("Int64")
    return journal.sort_values(["subject", "id"])[columns].reset_index(drop=True)


@dataclass(frozen=True)
class StateCounts:
    """How many employees are in each state (the Overview's figures).

    ``linked``: active links. ``only_hr``: HR employees without a link. ``only_kleer``: Kleer
    users without a link. ``suggested``: unlinked Kleer users with an assigned suggestion (a part
    of ``only_kleer``). ``conflicts`` and ``blocked``: employees :func:`outstanding` lists with
    that status."""

    hr: int
    kleer: int
    linked: int
    only_hr: int
    only_kleer: int
    suggested: int
    conflicts: int
    blocked: int


def state_counts(ws: Workspace) -> StateCounts:
    counts = ws.counts()
    left = outstanding(ws)
    per_status = left.drop_duplicates(["subject", "status"])["status"].value_counts()
    return StateCounts(
        hr=counts["hr"], kleer=counts["kleer"], linked=counts["linked"],
        only_hr=ws.hr.count_unlinked(), only_kleer=ws.kleer.count_unlinked(),
        suggested=ws.suggestions.count_suggested_unlinked(),
        conflicts=int(per_status.get("conflict", 0)), blocked=int(per_status.get("blocked", 0)))


def link_scores(ws: Workspace) -> pd.DataFrame:
    """One row per active link, in ``hr_id`` order: both names, the match ``score`` the link was
    made with (None for links made without one, e.g. by an export that created the Kleer user),
    ``method``, who made it and when, and the evidence ``reasons`` in words (from the stored
    suggestion of the pair, else the evidence recorded with the decision)."""
    links = ws.links.active()
    w = WorkspaceState.load(ws)
    hr, kleer = w.hr, w.kleer
    evidence = {(h, k): s["evidence"] for (k, h), s in w.suggestions.items()}
    decided = ws.audit.decision_evidence()
    rows = []
    for link in links.to_dict("records") if len(links) else []:
        pair = (link["hr_id"], int(link["kleer_id"]))
        rows.append({
            "hr_id": link["hr_id"], "hr_name": _hr_name(hr.get(link["hr_id"])),
            "kleer_id": int(link["kleer_id"]),
            "kleer_name": (kleer.get(int(link["kleer_id"])) or {}).get("name"),
            "score": None if is_missing(link["score"]) else float(link["score"]),
            "method": link["method"], "created_at": link["created_at"],
            "created_by": link["created_by"], "batch_id": link["batch_id"],
            "reasons": reasons(evidence.get(pair) or decided.get(pair)),
        })
    columns = ["hr_id", "hr_name", "kleer_id", "kleer_name", "score", "method", "created_at",
               "created_by", "batch_id", "reasons"]
    return pd.DataFrame(rows, columns=columns).sort_values("hr_id", kind="stable").reset_index(drop=True)


def weakest_links(links: pd.DataFrame, n: int = 20) -> pd.DataFrame:
    """The ``n`` links with the lowest score (ties by ``hr_id``): what an auditor checks first.
    Links without a score are left out (they were not made by matching)."""
    scored = links[links["score"].notna()]
    return scored.sort_values(["score", "hr_id"], kind="stable").head(n).reset_index(drop=True)


@dataclass(frozen=True)
class NextStep:
    """What to do next, in words, and the page (its url path, see ``workbench.ui.nav``) to do it on."""

    message: str
    page: str


def _n(count: int, one: str, many: str) -> str:
    return f"{count} {one if count == 1 else many}"


def next_step(counts: StateCounts, *, hr_label: str = "HR") -> NextStep:
    """The first thing left to do, in workflow order: load HR, fetch Kleer, review suggestions,
    export the employees only in HR, deal with the Kleer users only in Kleer; otherwise review
    the audit trail."""
    if not counts.hr:
        return NextStep(f"No {hr_label} employees yet: load the {hr_label} export.", "sources")
    if not counts.kleer:
        return NextStep("No Kleer employees yet: fetch them from Kleer.", "sources")
    if counts.suggested:
        return NextStep(_n(counts.suggested, "Kleer employee has a suggestion", "Kleer employees have "
                           "suggestions") + " to review.", "import_kleer")
    if counts.only_hr:
        return NextStep(_n(counts.only_hr, f"{hr_label} employee is", f"{hr_label} employees are")
                        + " not linked to Kleer: export them (or link them from Import).", "export_kleer")
    if counts.only_kleer:
        return NextStep(_n(counts.only_kleer, "Kleer employee has", "Kleer employees have")
                        + f" no {hr_label} employee: create them in {hr_label} or leave them.", "import_kleer")
    return NextStep(f"Every employee is reconciled ({counts.linked} linked): review the audit "
                    "trail.", "audit")


# --------------------------------------------------------------------------- batches

def batch_choices(ws: Workspace, *, names: int = 3) -> pd.DataFrame:
    """Every batch, newest first, described for a person choosing one (the revert picker):
    ``id``, ``kind`` (apply | revert), ``side`` (import | export), ``started_at``,
    ``finished_at``, ``analyst``, ``status``, ``counts``, ``reverts``, ``employees`` (how many it
    touched) and ``first_names`` (the first ``names`` of them, HR name else Kleer name)."""
    batches = ws.batches.frame()
    columns = ["id", "kind", "side", "started_at", "finished_at", "analyst", "status", "counts",
               "reverts", "employees", "first_names"]
    if batches.empty:
        return pd.DataFrame(columns=columns)
    sides = ws.batches.sides()
    touched = ws.journal.subjects_by_batch()
    hr = {h: _hr_name(r) for h, r in ws.hr.by_id().items()}
    kleer = ws.kleer.names()
    who: dict[str, list[str]] = {}
    for batch_id, hr_id, kleer_id in touched.itertuples(index=False):
        name = hr.get(hr_id) if isinstance(hr_id, str) else None
        if not name and kleer_id is not None and not pd.isna(kleer_id):
            name = kleer.get(int(kleer_id))
        name = name or (hr_id if isinstance(hr_id, str) else f"Kleer user {int(kleer_id)}"
                        if kleer_id is not None and not pd.isna(kleer_id) else None)
        if name and name not in who.setdefault(batch_id, []):
            who[batch_id].append(name)
    batches["side"] = batches["id"].map(sides)
    batches["employees"] = batches["id"].map(lambda b: len(who.get(b, [])))
    batches["first_names"] = batches["id"].map(lambda b: who.get(b, [])[:names])
    return batches[columns]