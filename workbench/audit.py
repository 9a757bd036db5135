"""The audit log in one place: reading it (masked unless revealed), the Audit page's view of it
(employee names, filters, one entry's changes and evidence), exporting and downloading it, and
the masking of personal numbers inside its JSON values (:func:`mask_json`).

The rows themselves are written by the workflows through ``ws.audit.append`` (store/audit.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime, timezone, tzinfo
from pathlib import Path
from typing import Any, Iterable, Mapping

import pandas as pd

from .concurrency import summary_text
from .downloads import to_csv_bytes, to_json_bytes
from .errors import InputError
from .fields import FIELD, join_name, mask
from .store import Workspace
from .store.values import from_json

__all__ = ["mask_json", "audit_frame", "export_audit", "batches_frame", "AUDIT_FORMATS",
           "audit_view", "filter_audit", "audit_changes", "Evidence", "evidence_at",
           "audit_download", "what_happened"]

_NAMING_KEYS = ("field", "signal")
#: Keys whose values describe a field or a comparison and never hold the field's value itself
#: (the matcher writes its sentences without personal numbers), so masking leaves them readable.
_DESCRIPTIVE_KEYS = frozenset({"label", "sentence", "agreement", "contribution", "weight", "points"})


def mask_json(value: Any, *, key: str | None = None) -> Any:
    """Mask personnummer and bank numbers anywhere in a JSON-like value: a value under a field
    key (``{"ssn": ...}``), or the values of a dict that names its field (``{"field": "ssn",
    "now": ...}``, the matcher's evidence ``{"signal": "ssn", "hr": ...}``)."""
    if isinstance(value, dict):
        named = next((value[k] for k in _NAMING_KEYS if value.get(k) in FIELD), None)
        out = {}
        for k, v in value.items():
            if k in _NAMING_KEYS or k in _DESCRIPTIVE_KEYS:
                out[k] = v
            else:
                out[k] = mask_json(v, key=k if k in FIELD else named or key)
        return out
    if isinstance(value, list):
        return [mask_json(v, key=key) for v in value]
    return mask(key, value) if key else value




_AUDIT_JSON = ("evidence", "before", "after", "detail")
AUDIT_FORMATS = (".csv", ".json")


def audit_frame(workspace: Workspace, *, reveal: bool = False) -> pd.DataFrame:
    """The audit log, newest first, its JSON columns parsed; personnummer and bank numbers are
    masked (also inside before/after, evidence and details) unless ``reveal``."""
    frame = workspace.audit.frame().drop(columns=["journal_id"])
    for column in _AUDIT_JSON:
        values = frame[column].map(from_json)
        frame[column] = values if reveal else values.map(mask_json)
    frame["kleer_id"] = frame["kleer_id"].astype("Int64")
    return frame


def export_audit(workspace: Workspace, path: str | Path, *, reveal: bool = False,
                 analyst: str | None = None) -> int:
    """Write the audit log to ``path`` (``.csv``, formula-safe, or ``.json``); returns the rows.
    A ``reveal`` export is itself recorded in the audit log."""
    path = Path(path)
    if path.suffix.lower() not in AUDIT_FORMATS:
        raise InputError(f"cannot write the audit log as {path.name!r}: use a .csv or .json file name")
    frame = audit_frame(workspace, reveal=reveal)
    if path.suffix.lower() == ".csv":
        data = to_csv_bytes(frame)
    else:
        data = to_json_bytes(frame)
    try:
        path.write_bytes(data)
    except OSError as e:
        raise InputError(f"cannot write the audit log to {path}: {e.strerror or e}") from None
    if reveal:
        workspace.audit.append(event="audit_export", analyst=analyst, action="reveal",
                               detail={"file": path.name, "rows": len(frame)})
    return len(frame)


def batches_frame(workspace: Workspace) -> pd.DataFrame:
    """Every apply and revert, newest first, with its counts (for the audit page and CLI) and
    its concurrency in one line (how many requests were in flight, and why it changed)."""
    frame = workspace.batches.frame()
    frame["concurrency"] = frame["concurrency"].map(summary_text)
    return frame


def audit_view(audit: pd.DataFrame, ws: Workspace) -> pd.DataFrame:
    """The audit log (``Workbench.audit``) with ``what`` (:func:`what_happened`) and an
    ``employee`` column: the HR employee's name, else the Kleer user's, else empty."""
    hr = {hr_id: join_name(first, last) for hr_id, (first, last) in ws.hr.names().items()}
    kleer = ws.kleer.names()
    out = audit.copy()
    out["what"] = [what_happened(e, a) for e, a in zip(out["event"], out["action"])]
    out["employee"] = [hr.get(h) or (None if pd.isna(k) else kleer.get(int(k))) or ""
                       for h, k in zip(out["hr_id"], out["kleer_id"])]
    return out


def filter_audit(audit: pd.DataFrame, *, text: str = "", actions: Iterable[str] = (),
                 analysts: Iterable[str] = (), start: date | None = None, end: date | None = None,
                 results: Iterable[str] = (), tz: tzinfo | None = None) -> pd.DataFrame:
    """The entries of ``audit`` (an :func:`audit_view`) that match every filter given: ``text``
    in the HR id, the Kleer id or the employee's name (case-insensitive); ``action``,
    ``analyst`` and ``result`` among those listed; ``at`` on a day from ``start`` to ``end``
    inclusive, days as the clock of ``tz`` reads them (the analyst's zone on the page, where
    times are shown in it; UTC when not given). Empty filters keep everything; the order is
    kept (newest first)."""
    keep = pd.Series(True, index=audit.index)
    needle = text.strip().casefold()
    if needle:
        keep &= (audit["hr_id"].fillna("").astype(str).str.casefold().str.contains(needle, regex=False)
                 | audit["kleer_id"].astype("string").fillna("").str.contains(needle, regex=False)
                 | audit["employee"].fillna("").str.casefold().str.contains(needle, regex=False))
    for column, wanted in (("action", actions), ("analyst", analysts), ("result", results)):
        wanted = list(wanted)
        if wanted:
            keep &= audit[column].isin(wanted)
    day = _days(audit["at"], tz or timezone.utc)
    if start is not None:
        keep &= day >= start.isoformat()
    if end is not None:
        keep &= day <= end.isoformat()
    return audit[keep]


def _days(at: pd.Series, tz: tzinfo) -> pd.Series:
    """The ISO day of every stored time (UTC ISO text) on the clock of ``tz``; "" where none."""
    def day(text: Any) -> str:
        if not isinstance(text, str) or not text:
            return ""
        try:
            then = datetime.fromisoformat(text)
        except ValueError:
            return text[:10]
        if then.tzinfo is None:
            then = then.replace(tzinfo=timezone.utc)
        return then.astimezone(tz).date().isoformat()
    return pd.Series([day(v) for v in at.tolist()], index=at.index, dtype=object)


#: What an entry records, in words, by (event, action); :func:`what_happened` words the rest.
_WHAT: Mapping[tuple[str, str], str] = {
    ("sign_in", "login"): "Signed in",
    ("sign_in", "name"): "Started working (name given)",
    ("sign_in", "resume"): "Came back (page reloaded)",
    ("load", "load_hr"): "Loaded an HR file",
    ("load", "fetch_kleer"): "Fetched Kleer",
    ("load", "load_leave"): "Loaded a leave file",
    ("match", "suggest"): "Suggested matches",
    ("apply", "start"): "Apply started",
    ("apply", "finish"): "Apply finished",
    ("operation", "kleer_create"): "Created the employee in Kleer",
    ("operation", "kleer_update"): "Updated the employee in Kleer",
    ("operation", "kleer_link"): "Wrote the HR id to Kleer (foreign-id)",
    ("operation", "hr_create"): "Added the employee to the HR changes",
    ("operation", "hr_update"): "Changed the employee in the HR changes",
    ("operation", "hr_delete"): "Removed the employee from the HR changes",
    ("operation", "link"): "Linked HR and Kleer",
    ("operation", "unlink"): "Unlinked HR and Kleer",
    ("operation", "leave_create"): "Created a leave in Kleer",
    ("operation", "leave_update"): "Updated a leave in Kleer",
    ("operation", "leave_delete"): "Deleted a leave in Kleer",
    ("operation", "leave_export"): "Sent a leave to Kleer",
    ("decision", "create_in_hr"): "Decided: create new user",
    ("decision", "prefer_hr"): "Decided: prefer HR",
    ("decision", "prefer_kleer"): "Decided: prefer Kleer",
    ("decision", "match_manually"): "Decided: match manually",
    ("decision", "do_nothing"): "Decided: do nothing",
    ("decision", "export"): "Decided: export",
    ("decision", "unlink"): "Decided: unlink",
    ("settings", "update"): "Changed the settings",
    ("settings", "probe"): "Tested the Kleer connection",
    ("settings", "match_settings"): "Changed the match settings",
    ("settings", "leave_types"): "Changed the leave types",
    ("download", "hr_changes"): "Downloaded the HR changes",
    ("audit_export", "reveal"): "Exported the audit with personal numbers",
    ("reveal", "reveal"): "Showed personal numbers",
    ("link", "relink"): "Linked again from Kleer's foreign-id",
    ("relink", "relink"): "Linked again from Kleer's foreign-ids",
    ("duplicate", "sweep"): "Looked for duplicates a lost answer could have made",
}


def what_happened(event: Any, action: Any) -> str:
    """An entry's event and action in words ("Created the employee in Kleer"); a pair this
    version does not know reads "Event: action" with the codes' underscores as spaces."""
    e, a = ("" if v is None or (not isinstance(v, str) and pd.isna(v)) else str(v)
            for v in (event, action))
    known = _WHAT.get((e, a))
    if known:
        return known
    words = [w.replace("_", " ") for w in (e, a) if w]
    return ": ".join(words).capitalize()


def _as_text(value: Any) -> str:
    if value is None or (not isinstance(value, (dict, list)) and pd.isna(value)):
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def audit_changes(before: Any, after: Any) -> pd.DataFrame:
    """One audit entry's before and after side by side: one row per key of either (field labels
    from the field table), values as text, ``changed`` where they differ."""
    b = before if isinstance(before, Mapping) else {}
    a = after if isinstance(after, Mapping) else {}
    keys = list(dict.fromkeys([*b, *a]))
    rows = [{"field": k, "label": FIELD[k].label if k in FIELD else k.replace("_", " "),
             "before": _as_text(b.get(k)), "after": _as_text(a.get(k))} for k in keys]
    frame = pd.DataFrame(rows, columns=["field", "label", "before", "after"])
    frame["changed"] = frame["before"] != frame["after"]
    return frame


#: The words of a piece of match evidence; its values (``hr``, ``kleer``) are left out.
_EVIDENCE_WORDS = ("label", "agreement", "contribution", "sentence", "weight")


@dataclass(frozen=True)
class Evidence:
    """The match evidence behind an audit entry, in words (label, agreement, contribution,
    sentence per signal; the matcher never puts a personal number in a sentence), and where it
    was found: ``entry`` (recorded with it), ``decision #<id>`` (the latest decision on the same
    pair before it), ``suggestion`` (the pair's stored suggestion: a proposed decision applied
    without being saved) or ``""`` (none)."""

    items: tuple[dict, ...]
    source: str

    @property
    def sentences(self) -> list[str]:
        return [e["sentence"] for e in self.items if e.get("sentence")]


def _words(evidence: Any) -> tuple[dict, ...]:
    if not isinstance(evidence, list):
        return ()
    # "weight" (bits, the learned model's) only where recorded: the first matcher's had points
    return tuple({k: e.get(k) for k in _EVIDENCE_WORDS if k != "weight" or "weight" in e}
                 for e in evidence if isinstance(e, dict))


def evidence_at(ws: Workspace, entry_id: int) -> Evidence:
    """The match evidence at decision time for the audit entry ``entry_id``: its own, else that
    of the latest decision on the same HR employee and Kleer user at or before it, else the
    pair's stored suggestion."""
    entry = ws.audit.entry(entry_id)
    if entry is None:
        raise InputError(f"no audit entry {entry_id}")
    if _words(entry["evidence"]):
        return Evidence(_words(entry["evidence"]), "entry")
    if entry["hr_id"] is None or entry["kleer_id"] is None:
        return Evidence((), "")
    for row in ws.audit.decisions_on_pair(entry["hr_id"], int(entry["kleer_id"]), up_to=entry_id):
        if _words(row["evidence"]):
            return Evidence(_words(row["evidence"]), f"decision #{row['id']}")
    stored = ws.suggestions.pair(int(entry["kleer_id"]), entry["hr_id"])
    if stored and _words(stored["evidence"]):
        return Evidence(_words(stored["evidence"]), "suggestion")
    return Evidence((), "")


def audit_download(audit: pd.DataFrame, fmt: str) -> bytes:
    """Audit entries as a download: ``csv`` (formula-safe, :func:`workbench.downloads.to_csv_bytes`)
    or ``json`` (records). Mask before calling (``Workbench.audit(reveal=False)``)."""
    if fmt == "csv":
        return to_csv_bytes(audit)
    if fmt == "json":
        return to_json_bytes(audit)
    raise InputError(f"cannot download the audit log as {fmt!r}: choose csv or json")
