"""The analyst's decisions: validated, saved with an audit row, and proposed by default.

Saved in the workspace as they are made (who, when, and the match score and evidence at that
moment); every change appends an audit row. Two sides:

* import, one decision per Kleer user (``subject_id`` = kleer_id): ``create_in_hr``,
  ``prefer_hr`` (link; HR unchanged), ``prefer_kleer`` (link; HR takes Kleer's values),
  ``match_manually`` (link to the chosen ``hr_id``, then prefer HR or Kleer), ``do_nothing``;
* export, one decision per HR employee (``subject_id`` = hr_id): ``export`` (create the user in
  Kleer and link it when unlinked; update Kleer when linked), ``unlink`` (only the link),
  ``do_nothing``.

A pair decision may carry per-field ``overrides`` ``{field: "hr" | "kleer"}``: that field ends
with HR's or Kleer's value whatever the action prefers. Import decisions write the HR side and
links only; export decisions write Kleer (and HR for a field overridden to Kleer's value).

:func:`effective_decisions` adds a proposed default for every undecided subject
(:func:`proposed_decision`, the one place the default is defined). :func:`from_editor` turns the
Import page's edited table into the decisions to save (pure).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields as dc_fields
from typing import Any, Iterable, Mapping

import pandas as pd

from . import normalize as n
from .errors import InputError
from .fields import kleer_fields
from .state import WorkspaceState
from .store import Workspace, utcnow

__all__ = ["IMPORT_ACTIONS", "EXPORT_ACTIONS", "ACTIONS", "PREFERENCES", "CONFIDENT_BANDS",
           "PAIR_ACTIONS", "Decision", "decide", "proposed_decision", "effective",
           "effective_decisions", "from_editor", "pair_decision", "editor_hr_label",
           "hr_id_of_label", "text_or_none"]

IMPORT_ACTIONS = ("create_in_hr", "prefer_hr", "prefer_kleer", "match_manually", "do_nothing")
EXPORT_ACTIONS = ("export", "unlink", "do_nothing")
ACTIONS = {"import": IMPORT_ACTIONS, "export": EXPORT_ACTIONS}
PREFERENCES = ("hr", "kleer")
CONFIDENT_BANDS = ("certain", "likely")
PAIR_ACTIONS = ("prefer_hr", "prefer_kleer", "match_manually", "export")
_OVERRIDABLE = frozenset(f.key for pref in ("private", "work") for f in kleer_fields(pref))


# =========================================================================== decisions

@dataclass(frozen=True)
class Decision:
    """One subject's decision, saved (``proposed=False``) or proposed by default."""

    side: str
    subject_id: str
    action: str
    hr_id: str | None = None
    kleer_id: int | None = None
    prefer: str | None = None
    overrides: tuple[tuple[str, str], ...] = ()
    score: float | None = None
    evidence: Any = None
    analyst: str | None = None
    decided_at: str | None = None
    proposed: bool = False

    @property
    def overrides_dict(self) -> dict[str, str]:
        return dict(self.overrides)

    def as_row(self) -> dict[str, Any]:
        """The decision as a flat dict (shallow: the evidence is shared, not copied)."""
        row = {f.name: getattr(self, f.name) for f in dc_fields(self)}
        row["overrides"] = self.overrides_dict
        return row


def _missing(value: Any) -> bool:
    return not isinstance(value, (dict, list, tuple)) and n.is_missing(value)


def text_or_none(value: Any) -> str | None:
    """A cell as stripped text (whole floats without ``.0``), or None when empty."""
    if value is None or _missing(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _int_or_none(value: Any) -> int | None:
    if value is None or _missing(value):
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"kleer_id must be a whole number, not {value!r}") from None
    if not f.is_integer():
        raise ValueError(f"kleer_id must be a whole number, not {value!r}")
    return int(f)


def _parse_overrides(value: Any) -> dict[str, str]:
    if value is None or _missing(value):
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except json.JSONDecodeError:
            raise ValueError(f"overrides must be a mapping like {{\"phone\": \"kleer\"}}, not {value!r}") from None
    if not isinstance(value, Mapping):
        raise ValueError(f"overrides must be a mapping like {{\"phone\": \"kleer\"}}, not {value!r}")
    out = {}
    for key, side in value.items():
        if key not in _OVERRIDABLE:
            raise ValueError(f"override for unknown field {key!r}; fields Kleer holds: "
                             f"{', '.join(sorted(_OVERRIDABLE))}")
        if side not in PREFERENCES:
            raise ValueError(f"override for {key} must be 'hr' or 'kleer', not {side!r}")
        out[str(key)] = str(side)
    return out


def _side_of(action: str, kleer_id: Any, explicit: str | None) -> str:
    if explicit:
        if explicit not in ACTIONS:
            raise ValueError(f"side must be 'import' or 'export', not {explicit!r}")
        return explicit
    in_import, in_export = action in IMPORT_ACTIONS, action in EXPORT_ACTIONS
    if in_import and in_export:
        return "import" if kleer_id is not None else "export"
    if in_import:
        return "import"
    if in_export:
        return "export"
    raise ValueError(f"unknown action {action!r}; import actions: {', '.join(IMPORT_ACTIONS)}; "
                     f"export actions: {', '.join(EXPORT_ACTIONS)}")


def _check_one(raw: Mapping[str, Any], world: WorkspaceState, analyst: str | None) -> Decision:
    """Validate one requested decision against the workspace; ValueError says what is wrong."""
    action = text_or_none(raw.get("action"))
    if not action:
        raise ValueError("no action given")
    kleer_id = _int_or_none(raw.get("kleer_id"))
    hr_id = text_or_none(raw.get("hr_id"))
    prefer = text_or_none(raw.get("prefer"))
    overrides = _parse_overrides(raw.get("overrides"))
    side = _side_of(action, kleer_id, text_or_none(raw.get("side")))
    if action not in ACTIONS[side]:
        raise ValueError(f"{action!r} is not an {side} action; choose one of {', '.join(ACTIONS[side])}")
    if prefer is not None and prefer not in PREFERENCES:
        raise ValueError(f"prefer must be 'hr' or 'kleer', not {prefer!r}")
    if overrides and action not in PAIR_ACTIONS:
        raise ValueError(f"per-field overrides only apply to a linked pair, not to {action}")

    if side == "import":
        if kleer_id is None:
            raise ValueError("an import decision needs the kleer_id of the Kleer user")
        if kleer_id not in world.kleer:
            raise ValueError(f"Kleer user {kleer_id} is not in the snapshot; fetch Kleer first")
        subject = str(kleer_id)
        linked_hr = world.link_of_kleer.get(kleer_id)
        if action == "create_in_hr":
            if linked_hr is not None:
                raise ValueError(f"Kleer user {kleer_id} is already linked to HR employee "
                                 f"{linked_hr}: Create new user is only for Kleer users without "
                                 "an HR employee (unlink it on Export first)")
            if hr_id is not None and hr_id in world.hr:
                raise ValueError(f"HR employee {hr_id} already exists; choose another id or match it")
        elif action == "match_manually":
            if hr_id is None:
                raise ValueError("match_manually needs the hr_id of the chosen HR employee")
            prefer = prefer or "hr"
        elif action in ("prefer_hr", "prefer_kleer"):
            wanted = action.removeprefix("prefer_")
            if prefer is not None and prefer != wanted:
                raise ValueError(f"{action} contradicts prefer={prefer!r}")
            prefer = wanted
            if hr_id is None:
                hr_id = linked_hr or (world.assigned.get(kleer_id) or {}).get("hr_id")
            if hr_id is None:
                raise ValueError(f"no HR employee to link Kleer user {kleer_id} to: give hr_id "
                                 "(or use match_manually)")
        elif prefer is not None:
            raise ValueError(f"prefer does not apply to {action}")
        if action in ("prefer_hr", "prefer_kleer", "match_manually") and hr_id not in world.hr:
            raise ValueError(f"HR employee {hr_id} is not in the HR register")
        if action == "do_nothing":
            hr_id = hr_id or linked_hr
    else:
        if hr_id is None:
            raise ValueError("an export decision needs the hr_id of the HR employee")
        if hr_id not in world.hr:
            raise ValueError(f"HR employee {hr_id} is not in the HR register")
        if prefer is not None:
            raise ValueError(f"prefer does not apply to {action}")
        subject = hr_id
        kleer_id = world.link_of_hr.get(hr_id)
        if action == "export":
            prefer = "hr"

    sugg = world.suggestion(kleer_id, hr_id)
    return Decision(side=side, subject_id=subject, action=action, hr_id=hr_id, kleer_id=kleer_id,
                    prefer=prefer, overrides=tuple(sorted(overrides.items())),
                    score=None if sugg is None else sugg["score"],
                    evidence=None if sugg is None else world.evidence_of(kleer_id, hr_id),
                    analyst=analyst, decided_at=utcnow())


def _rows_of(decisions: pd.DataFrame | Iterable[Mapping[str, Any]] | Mapping[str, Any]
             ) -> list[tuple[str, Mapping[str, Any]]]:
    """(label, row) pairs; the label names the row in error messages."""
    if isinstance(decisions, Mapping):
        return [("decision", decisions)]
    if isinstance(decisions, pd.DataFrame):
        return [(f"row {i}", rec) for i, rec in zip(decisions.index, decisions.to_dict("records"))]
    return [(f"row {i}", rec) for i, rec in enumerate(decisions)]


def decide(workspace: Workspace,
           decisions: pd.DataFrame | Iterable[Mapping[str, Any]] | Mapping[str, Any], *,
           analyst: str | None, world: WorkspaceState | None = None) -> list[Decision]:
    """Validate and save decisions, all or none, each with an audit row (checked against
    ``world`` when the caller has a current one, else the workspace read now).

    ``decisions`` is one mapping or many (a DataFrame or an iterable of mappings) with the keys
    ``action`` and ``kleer_id`` (import) or ``hr_id`` (export), and optionally ``hr_id`` (the HR
    employee an import decision links to, or the new id for ``create_in_hr``), ``prefer``
    (``hr``/``kleer``, for ``match_manually``), ``overrides`` and ``side``.
    Raises :class:`InputError` naming every bad row; nothing is saved then.
    """
    world = world or WorkspaceState.load(workspace)
    checked: list[Decision] = []
    errors: list[str] = []
    seen: dict[tuple[str, str], str] = {}
    for label, raw in _rows_of(decisions):
        try:
            d = _check_one(raw, world, analyst)
        except ValueError as e:
            who = text_or_none(raw.get("kleer_id")) or text_or_none(raw.get("hr_id"))
            errors.append(f"{label}" + (f" ({who})" if who else "") + f": {e}")
            continue
        key = (d.side, d.subject_id)
        if key in seen:
            errors.append(f"{label} ({d.subject_id}): a second decision for the same "
                          f"{'Kleer user' if d.side == 'import' else 'HR employee'} (also {seen[key]})")
            continue
        seen[key] = label
        checked.append(d)
    if errors:
        shown = errors[:20] + ([f"… and {len(errors) - 20} more"] if len(errors) > 20 else [])
        raise InputError(f"{len(errors)} decision(s) refused, nothing was saved:\n  " + "\n  ".join(shown))
    with workspace.atomic():
        previous = workspace.decisions.current()
        for d in checked:
            workspace.decisions.set(side=d.side, subject_id=d.subject_id, action=d.action,
                                   analyst=analyst, hr_id=d.hr_id, kleer_id=d.kleer_id,
                                   overrides=d.overrides_dict, score=d.score, evidence=d.evidence,
                                   prefer=d.prefer)
            before = previous.get((d.side, d.subject_id))
            workspace.audit.append(
                event="decision", analyst=analyst, action=d.action, hr_id=d.hr_id,
                kleer_id=d.kleer_id, score=d.score, evidence=d.evidence, before=before,
                after={"side": d.side, "subject_id": d.subject_id, "action": d.action,
                       "hr_id": d.hr_id, "kleer_id": d.kleer_id, "prefer": d.prefer,
                       "overrides": d.overrides_dict})
    return checked


def proposed_decision(side: str, subject_id: str, *, linked_to: str | int | None,
                      suggestion: Mapping[str, Any] | None, hr_linked: bool = False,
                      unlinked_before: bool = False) -> Decision:
    """THE default for an undecided subject (or one whose decision has been applied).

    Import: an unlinked Kleer user whose assigned suggestion is in a confident band
    (:data:`CONFIDENT_BANDS`), whose HR employee is not linked elsewhere, and which is not a pair
    the analyst unlinked before (``unlinked_before``) → ``prefer_hr`` with that HR employee;
    everything else → ``do_nothing``. Export: ``do_nothing``.
    """
    if side == "import":
        kleer_id = int(subject_id)
        if linked_to is None and suggestion is not None and suggestion.get("assigned") \
                and suggestion.get("band") in CONFIDENT_BANDS and not hr_linked \
                and not unlinked_before:
            return Decision(side, subject_id, "prefer_hr", hr_id=suggestion["hr_id"],
                            kleer_id=kleer_id, prefer="hr", score=suggestion.get("score"),
                            evidence=suggestion.get("evidence"), proposed=True)
        return Decision(side, subject_id, "do_nothing",
                        hr_id=None if linked_to is None else str(linked_to), kleer_id=kleer_id,
                        proposed=True)
    return Decision(side, subject_id, "do_nothing", hr_id=subject_id,
                    kleer_id=None if linked_to is None else int(linked_to), proposed=True)


def _effective(world: WorkspaceState, saved: Mapping[str, dict], side: str,
               settled: Mapping[str, int] | None = None, marks: Mapping[str, int] | None = None,
               ended: set[tuple[str, int]] | None = None,
               subjects: set[str] | None = None) -> list[Decision]:
    """``subjects``: only these (all when None). ``settled``: the audit id at which each subject's operations last ended done; ``marks``:
    the audit id of each subject's last decision. A saved decision older than its settlement
    has been applied: it is no longer pending and the default takes its place. ``ended``: the
    (hr_id, kleer_id) pairs that were linked once and are not now."""
    every = [str(k) for k in sorted(world.kleer)] if side == "import" else sorted(world.hr)
    subjects = every if subjects is None else [x for x in every if x in subjects]
    settled, marks, ended = settled or {}, marks or {}, ended or set()
    out = []
    for subject in subjects:
        row = saved.get(subject)
        if row is not None and subject in settled and marks.get(subject, 0) < settled[subject]:
            row = None  # applied: nothing of it is pending any more
        if row is not None:
            out.append(Decision(
                side=side, subject_id=subject, action=row["action"], hr_id=row["hr_id"],
                kleer_id=None if row["kleer_id"] is None else int(row["kleer_id"]),
                prefer=row["prefer"],
                overrides=tuple(sorted((row["overrides"] or {}).items())),
                score=row["score"], evidence=row["evidence"],
                analyst=row["analyst"], decided_at=row["decided_at"]))
        elif side == "import":
            kid = int(subject)
            sugg = world.assigned.get(kid)
            out.append(proposed_decision(
                side, subject, linked_to=world.link_of_kleer.get(kid), suggestion=sugg,
                hr_linked=sugg is not None and sugg["hr_id"] in world.link_of_hr,
                unlinked_before=sugg is not None and (sugg["hr_id"], kid) in ended))
        else:
            out.append(proposed_decision(side, subject, linked_to=world.link_of_hr.get(subject),
                                         suggestion=None))
    return out


def effective(workspace: Workspace, side: str, *, world: WorkspaceState | None = None,
              subjects: set[str] | None = None) -> list[Decision]:
    """Every subject of ``side`` (only ``subjects`` when given) with its saved decision or the
    proposed default, as :class:`Decision` values (``world`` saves a second read when the caller
    has one)."""
    if side not in ACTIONS:
        raise InputError(f"side must be 'import' or 'export', not {side!r}")
    return _effective(world or WorkspaceState.load(workspace), workspace.decisions.saved(side), side,
                      settled=workspace.journal.settled_subjects(side),
                      marks=workspace.audit.decision_marks(side),
                      ended=workspace.links.ended_pairs() if side == "import" else None,
                      subjects=subjects)


def effective_decisions(workspace: Workspace, side: str) -> pd.DataFrame:
    """Every subject of ``side`` (Kleer users for import, HR employees for export) with its saved
    decision, or the proposed default (``proposed=True``) when there is none."""
    rows = [d.as_row() for d in effective(workspace, side)]
    frame = pd.DataFrame(rows, columns=[f.name for f in Decision.__dataclass_fields__.values()])
    frame["kleer_id"] = frame["kleer_id"].astype("Int64")
    return frame



# =========================================================================== from the Import table

#: Between an HR employee's name and id in the Import table's HR column.
LABEL_SEPARATOR = " · "


def editor_hr_label(name: str | None, hr_id: Any) -> str:
    """How the Import table names an HR employee: ``"Anna Svensson · E1"`` (``""`` for none)."""
    if hr_id is None or _missing(hr_id):
        return ""
    return f"{name or '?'}{LABEL_SEPARATOR}{hr_id}"


def hr_id_of_label(label: Any, *, create_label: str) -> str | None:
    """The HR id inside an :func:`editor_hr_label` (None for blank or the Create choice)."""
    if not label or _missing(label) or label == create_label or LABEL_SEPARATOR not in str(label):
        return None
    return str(label).rsplit(LABEL_SEPARATOR, 1)[1]


def pair_decision(kleer_id: int, action: str, hr_id: str | None) -> dict[str, Any]:
    """One import decision as :func:`decide` takes it: only pair actions carry an HR id and a
    preference (Kleer's for prefer_kleer, else HR's)."""
    pair = action in ("prefer_hr", "prefer_kleer", "match_manually")
    return {"kleer_id": int(kleer_id), "action": action, "hr_id": hr_id if pair else None,
            "prefer": ("kleer" if action == "prefer_kleer" else "hr") if pair else None}


def from_editor(before: pd.DataFrame, after: pd.DataFrame, *, action_of: Mapping[str, str],
                create_label: str) -> list[dict[str, Any]]:
    """The rows of the Import table whose HR employee or action the analyst changed, as
    decisions for :func:`decide`. ``before`` and ``after`` have ``kleer_id``, ``hr`` (an
    :func:`editor_hr_label` or ``create_label``) and ``action`` (a label; ``action_of`` maps
    labels to actions) in the same row order. Choosing Create makes it ``create_in_hr``;
    choosing another HR employee under a non-pair action makes it ``match_manually``."""
    out = []
    for b, a in zip(before.to_dict("records"), after.to_dict("records")):
        if a["hr"] == b["hr"] and a["action"] == b["action"]:
            continue
        action = action_of.get(a["action"], "do_nothing")
        hr_id = hr_id_of_label(a["hr"], create_label=create_label)
        if a["hr"] != b["hr"]:
            if a["hr"] == create_label:
                action = "create_in_hr"
            elif hr_id and action not in ("prefer_hr", "prefer_kleer", "match_manually"):
                action = "match_manually"
        out.append(pair_decision(b["kleer_id"], action, hr_id))
    return out
