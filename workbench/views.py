"""The rows the Import and Export screens (and notebooks) show: one pure function per view.

Each view joins the workspace's snapshot, HR register, links, suggestions and effective decisions
into one frame with a stable id column and a fixed order, so an editable table can key edits by
position. "Affected fields" come from :func:`workbench.fields.diff` (THE diff), nothing else.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .fields import FIELD, diff, join_name
from .normalize import is_missing
from .plan import effective_decisions
from .store import Workspace

__all__ = ["import_rows", "export_rows", "pair_details", "affected_summary", "reasons"]


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


def _name(row: dict | None) -> str | None:
    if not row:
        return None
    return join_name(row.get("first_name"), row.get("last_name"))


def _records(frame: pd.DataFrame, key: str) -> dict[Any, dict]:
    return {r[key]: r for r in frame.to_dict("records")} if len(frame) else {}


def import_rows(ws: Workspace, *, email_preference: str = "private") -> pd.DataFrame:
    """One row per Kleer employee (``state`` ``new`` = not linked, ``imported`` = linked), in
    ``kleer_id`` order: the HR employee (linked, decided, or the suggested candidate), its score,
    band, flags and top reasons, the affected fields, the candidate list and the effective action."""
    kleer = _records(ws.kleer_frame(), "kleer_id")
    hr = _records(ws.hr_frame(), "hr_id")
    links = {int(r["kleer_id"]): r["hr_id"] for r in ws.active_links().to_dict("records")}
    sugg = ws.suggestions_frame()
    by_pair: dict[tuple[int, str], dict] = {}
    candidates: dict[int, list[str]] = {}
    assigned: dict[int, str] = {}
    for s in sugg.to_dict("records") if len(sugg) else []:
        kid = int(s["kleer_id"])
        by_pair[(kid, s["hr_id"])] = s
        candidates.setdefault(kid, []).append(s["hr_id"])
        if s["assigned"]:
            assigned[kid] = s["hr_id"]
    decisions = effective_decisions(ws, "import")
    decided = {int(d["kleer_id"]): d for d in decisions.to_dict("records")}
    rows = []
    for kid in sorted(kleer):
        k = kleer[kid]
        d = decided.get(kid, {})
        linked = links.get(kid)
        hr_id = linked or (d.get("hr_id") if not is_missing(d.get("hr_id")) else None)
        if hr_id is None and d.get("action") != "create_in_hr":
            hr_id = assigned.get(kid)  # the suggested candidate, shown for the analyst to accept
        h = hr.get(hr_id) if hr_id else None
        s = by_pair.get((kid, hr_id)) if hr_id else None
        changed = [x.key for x in diff(h, k, email_preference=email_preference)] if h else []
        rows.append({
            "kleer_id": kid,
            "kleer_name": k.get("name"),
            "kleer_email": k.get("email"),
            "kleer_active": bool(k.get("active")) if k.get("active") is not None else None,
            "state": "imported" if linked else "new",
            "hr_id": hr_id,
            "hr_name": _name(h),
            "score": None if s is None else float(s["score"]),
            "band": None if s is None else s["band"],
            "flags": ", ".join(f for f in ("tie", "contested", "namesake") if s and s.get(f)),
            "reasons": reasons(s["evidence"]) if s else "",
            "affected": affected_summary(changed),
            "affected_fields": changed,
            "candidates": candidates.get(kid, []),
            "action": d.get("action", "do_nothing"),
            "prefer": d.get("prefer"),
            "proposed": bool(d.get("proposed", True)),
        })
    return pd.DataFrame(rows, columns=_IMPORT_COLUMNS)


_IMPORT_COLUMNS = ["kleer_id", "kleer_name", "kleer_email", "kleer_active", "state", "hr_id",
                   "hr_name", "score", "band", "flags", "reasons", "affected", "affected_fields",
                   "candidates", "action", "prefer", "proposed"]


def export_rows(ws: Workspace, *, email_preference: str = "private") -> pd.DataFrame:
    """One row per HR employee (``state`` ``unlinked`` or ``linked``), in ``hr_id`` order: the
    linked Kleer user, the fields an export would change in Kleer, the row's data problems and the
    effective action."""
    kleer = _records(ws.kleer_frame(), "kleer_id")
    hr_frame = ws.hr_frame()
    links = {r["hr_id"]: int(r["kleer_id"]) for r in ws.active_links().to_dict("records")}
    decisions = effective_decisions(ws, "export")
    decided = {d["subject_id"]: d for d in decisions.to_dict("records")}
    rows = []
    for h in hr_frame.to_dict("records") if len(hr_frame) else []:
        hid = h["hr_id"]
        kid = links.get(hid)
        k = kleer.get(kid) if kid is not None else None
        changed = [x.key for x in diff(h, k, email_preference=email_preference)] if k else []
        problems = h.get("problems")
        d = decided.get(hid, {})
        rows.append({
            "hr_id": hid,
            "name": _name(h),
            "ssn": h.get("ssn"),
            "email": h.get(f"{email_preference}_email"),
            "employment_start_date": h.get("employment_start_date"),
            "state": "linked" if kid is not None else "unlinked",
            "kleer_id": kid,
            "kleer_name": k.get("name") if k else None,
            "changes": affected_summary(changed),
            "changed_fields": changed,
            "problems": _problem_text(problems),
            "action": d.get("action", "do_nothing"),
            "proposed": bool(d.get("proposed", True)),
        })
    frame = pd.DataFrame(rows, columns=_EXPORT_COLUMNS)
    frame["kleer_id"] = frame["kleer_id"].astype("Int64")
    return frame


_EXPORT_COLUMNS = ["hr_id", "name", "ssn", "email", "employment_start_date", "state", "kleer_id",
                   "kleer_name", "changes", "changed_fields", "problems", "action", "proposed"]


def _problem_text(problems: Any) -> str:
    import json

    if not problems:
        return ""
    if isinstance(problems, str):
        try:
            problems = json.loads(problems)
        except ValueError:
            return problems
    if isinstance(problems, dict):
        return "; ".join(f"{FIELD[k].label if k in FIELD else k}: {v}" for k, v in problems.items())
    return str(problems)


def pair_details(ws: Workspace, *, hr_id: str | None, kleer_id: int | None,
                 email_preference: str = "private") -> pd.DataFrame:
    """Every Kleer field of a pair, HR value beside Kleer value, with ``differs`` per field (the
    detail view of both screens). Either side may be missing."""
    from .fields import kleer_fields, kleer_name_parts

    h = ws.hr_employee(hr_id) if hr_id else None
    k = ws.kleer_user(int(kleer_id)) if kleer_id is not None else None
    differing = {x.key for x in diff(h, k, email_preference=email_preference)} if h and k else set()
    first, last = kleer_name_parts(k.get("name"), (h or {}).get("first_name"),
                                   (h or {}).get("last_name")) if k else (None, None)
    rows = []
    for f in kleer_fields(email_preference, include_id=True):
        kleer_value = None
        if k:
            kleer_value = {"first_name": first, "last_name": last}.get(f.key, k.get(f.kleer_side_key))
        rows.append({"field": f.key, "label": f.label, "group": f.group,
                     "hr": None if h is None else h.get(f.key), "kleer": kleer_value,
                     "differs": f.key in differing})
    return pd.DataFrame(rows)
