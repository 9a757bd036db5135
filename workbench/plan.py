"""Decisions and the Plan: what the analyst decided, turned into a reviewable, immutable value.

Decisions
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
  (:func:`proposed_decision`, the one place the default is defined).

Plan
  :func:`build` turns the effective decisions of a :class:`Scope` into a :class:`Plan`: frozen
  dataclasses and tuples, a JSON round-trip with ``format_version``, the snapshot it was built on,
  every :class:`Operation` with its field changes (before → after, from :func:`workbench.fields.diff`),
  counts, blockers and warnings. A blocked operation is listed but never executed.
  ``workbench.sync.apply`` executes a plan; nothing else writes.
"""

from __future__ import annotations

import json
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, fields as dc_fields
from typing import Any, Iterable, Mapping

import pandas as pd

from . import normalize as n
from .errors import InputError, PlanError
from .fields import FIELD, diff, email_field, join_name, kleer_fields, mask, normalize_record
from .store import Workspace, to_json, utcnow

__all__ = [
    "IMPORT_ACTIONS",
    "EXPORT_ACTIONS",
    "ACTIONS",
    "PREFERENCES",
    "CONFIDENT_BANDS",
    "OP_KINDS",
    "FORMAT_VERSION",
    "Decision",
    "Scope",
    "FieldChange",
    "Operation",
    "Plan",
    "decide",
    "proposed_decision",
    "effective",
    "effective_decisions",
    "World",
    "build",
    "new_plan_id",
]

IMPORT_ACTIONS = ("create_in_hr", "prefer_hr", "prefer_kleer", "match_manually", "do_nothing")
EXPORT_ACTIONS = ("export", "unlink", "do_nothing")
ACTIONS = {"import": IMPORT_ACTIONS, "export": EXPORT_ACTIONS}
PREFERENCES = ("hr", "kleer")
CONFIDENT_BANDS = ("certain", "likely")
PAIR_ACTIONS = ("prefer_hr", "prefer_kleer", "match_manually", "export")
OP_KINDS = ("link", "unlink", "hr_create", "hr_update", "hr_delete", "kleer_create", "kleer_update")
FORMAT_VERSION = 1

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


@dataclass(frozen=True)
class World:
    """What decisions and plans are checked against: the workspace as it is now."""

    hr: dict[str, dict]
    kleer: dict[int, dict]
    link_of_hr: dict[str, int]
    link_of_kleer: dict[int, str]
    suggestions: dict[tuple[int, str], dict]
    assigned: dict[int, dict]
    snapshot: dict | None

    @classmethod
    def load(cls, ws: Workspace) -> "World":
        hr = {r["hr_id"]: r for r in ws.query("SELECT * FROM hr_employees")}
        kleer = {int(r["kleer_id"]): r for r in ws.query("SELECT * FROM kleer_users")}
        links = ws.query("SELECT hr_id, kleer_id FROM links WHERE active = 1")
        sugg = ws.query("SELECT * FROM suggestions ORDER BY kleer_id, rank")
        for s in sugg:
            s["evidence"] = json.loads(s["evidence"]) if s["evidence"] else []
        return cls(hr=hr, kleer=kleer,
                   link_of_hr={r["hr_id"]: int(r["kleer_id"]) for r in links},
                   link_of_kleer={int(r["kleer_id"]): r["hr_id"] for r in links},
                   suggestions={(int(s["kleer_id"]), s["hr_id"]): s for s in sugg},
                   assigned={int(s["kleer_id"]): s for s in sugg if s["assigned"]},
                   snapshot=ws.kleer.last_snapshot())

    def suggestion(self, kleer_id: int | None, hr_id: str | None) -> dict | None:
        if kleer_id is None or hr_id is None:
            return None
        return self.suggestions.get((int(kleer_id), str(hr_id)))


def _missing(value: Any) -> bool:
    return not isinstance(value, (dict, list, tuple)) and n.is_missing(value)


def _text_or_none(value: Any) -> str | None:
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


def _check_one(raw: Mapping[str, Any], world: World, analyst: str | None) -> Decision:
    """Validate one requested decision against the workspace; ValueError says what is wrong."""
    action = _text_or_none(raw.get("action"))
    if not action:
        raise ValueError("no action given")
    kleer_id = _int_or_none(raw.get("kleer_id"))
    hr_id = _text_or_none(raw.get("hr_id"))
    prefer = _text_or_none(raw.get("prefer"))
    overrides = _parse_overrides(raw.get("overrides"))
    side = _side_of(action, kleer_id, _text_or_none(raw.get("side")))
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
                    evidence=None if sugg is None else sugg["evidence"],
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
           analyst: str | None) -> list[Decision]:
    """Validate and save decisions, all or none, each with an audit row.

    ``decisions`` is one mapping or many (a DataFrame or an iterable of mappings) with the keys
    ``action`` and ``kleer_id`` (import) or ``hr_id`` (export), and optionally ``hr_id`` (the HR
    employee an import decision links to, or the new id for ``create_in_hr``), ``prefer``
    (``hr``/``kleer``, for ``match_manually``), ``overrides`` and ``side``.
    Raises :class:`InputError` naming every bad row; nothing is saved then.
    """
    world = World.load(workspace)
    checked: list[Decision] = []
    errors: list[str] = []
    seen: dict[tuple[str, str], str] = {}
    for label, raw in _rows_of(decisions):
        try:
            d = _check_one(raw, world, analyst)
        except ValueError as e:
            who = _text_or_none(raw.get("kleer_id")) or _text_or_none(raw.get("hr_id"))
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
        previous = {(r["side"], r["subject_id"]): r for r in workspace.query(
            "SELECT side, subject_id, action, hr_id, kleer_id, prefer, overrides FROM decisions")}
        for d in checked:
            workspace.decisions.set(side=d.side, subject_id=d.subject_id, action=d.action,
                                   analyst=analyst, hr_id=d.hr_id, kleer_id=d.kleer_id,
                                   overrides=d.overrides_dict, score=d.score, evidence=d.evidence,
                                   prefer=d.prefer)
            before = previous.get((d.side, d.subject_id))
            if before:
                before = {**before, "overrides": json.loads(before["overrides"] or "{}")}
            workspace.audit.append(
                event="decision", analyst=analyst, action=d.action, hr_id=d.hr_id,
                kleer_id=d.kleer_id, score=d.score, evidence=d.evidence, before=before,
                after={"side": d.side, "subject_id": d.subject_id, "action": d.action,
                       "hr_id": d.hr_id, "kleer_id": d.kleer_id, "prefer": d.prefer,
                       "overrides": d.overrides_dict})
    return checked


def proposed_decision(side: str, subject_id: str, *, linked_to: str | int | None,
                      suggestion: Mapping[str, Any] | None, hr_linked: bool = False) -> Decision:
    """THE default for an undecided subject.

    Import: an unlinked Kleer user whose assigned suggestion is in a confident band
    (:data:`CONFIDENT_BANDS`) and whose HR employee is not linked elsewhere → ``prefer_hr`` with
    that HR employee; everything else → ``do_nothing``. Export: ``do_nothing``.
    """
    if side == "import":
        kleer_id = int(subject_id)
        if linked_to is None and suggestion is not None and suggestion.get("assigned") \
                and suggestion.get("band") in CONFIDENT_BANDS and not hr_linked:
            return Decision(side, subject_id, "prefer_hr", hr_id=suggestion["hr_id"],
                            kleer_id=kleer_id, prefer="hr", score=suggestion.get("score"),
                            evidence=suggestion.get("evidence"), proposed=True)
        return Decision(side, subject_id, "do_nothing",
                        hr_id=None if linked_to is None else str(linked_to), kleer_id=kleer_id,
                        proposed=True)
    return Decision(side, subject_id, "do_nothing", hr_id=subject_id,
                    kleer_id=None if linked_to is None else int(linked_to), proposed=True)


def _effective(world: World, saved: Mapping[str, dict], side: str) -> list[Decision]:
    subjects = [str(k) for k in sorted(world.kleer)] if side == "import" else sorted(world.hr)
    out = []
    for subject in subjects:
        row = saved.get(subject)
        if row is not None:
            out.append(Decision(
                side=side, subject_id=subject, action=row["action"], hr_id=row["hr_id"],
                kleer_id=None if row["kleer_id"] is None else int(row["kleer_id"]),
                prefer=row["prefer"],
                overrides=tuple(sorted(json.loads(row["overrides"] or "{}").items())),
                score=row["score"], evidence=json.loads(row["evidence"]) if row["evidence"] else None,
                analyst=row["analyst"], decided_at=row["decided_at"]))
        elif side == "import":
            kid = int(subject)
            sugg = world.assigned.get(kid)
            out.append(proposed_decision(
                side, subject, linked_to=world.link_of_kleer.get(kid), suggestion=sugg,
                hr_linked=sugg is not None and sugg["hr_id"] in world.link_of_hr))
        else:
            out.append(proposed_decision(side, subject, linked_to=world.link_of_hr.get(subject),
                                         suggestion=None))
    return out


def _saved(ws: Workspace, side: str) -> dict[str, dict]:
    return {r["subject_id"]: r for r in ws.query("SELECT * FROM decisions WHERE side = ?", [side])}


def effective(workspace: Workspace, side: str, *, world: World | None = None) -> list[Decision]:
    """Every subject of ``side`` with its saved decision or the proposed default, as
    :class:`Decision` values (``world`` saves a second read when the caller has one)."""
    if side not in ACTIONS:
        raise InputError(f"side must be 'import' or 'export', not {side!r}")
    return _effective(world or World.load(workspace), _saved(workspace, side), side)


def effective_decisions(workspace: Workspace, side: str) -> pd.DataFrame:
    """Every subject of ``side`` (Kleer users for import, HR employees for export) with its saved
    decision, or the proposed default (``proposed=True``) when there is none."""
    rows = [d.as_row() for d in effective(workspace, side)]
    frame = pd.DataFrame(rows, columns=[f.name for f in Decision.__dataclass_fields__.values()])
    frame["kleer_id"] = frame["kleer_id"].astype("Int64")
    return frame


# =========================================================================== the plan

@dataclass(frozen=True)
class Scope:
    """Which decisions a plan covers: one side, all its subjects or only ``ids``."""

    side: str
    ids: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.side not in ACTIONS:
            raise InputError(f"scope side must be 'import' or 'export', not {self.side!r}")
        if self.ids is not None:
            object.__setattr__(self, "ids", tuple(str(_text_or_none(i)) for i in self.ids))

    def covers(self, subject_id: str) -> bool:
        return self.ids is None or subject_id in self.ids


@dataclass(frozen=True)
class FieldChange:
    key: str
    label: str
    before: Any
    after: Any

    def __repr__(self) -> str:  # masked: a repr lands in logs and notebook outputs
        return (f"FieldChange({self.key!r}, {mask(self.key, self.before)!r} → "
                f"{mask(self.key, self.after)!r})")


@dataclass(frozen=True)
class Operation:
    """One unit of work. ``targets`` are the systems written (``kleer``, ``hr``, ``links``);
    ``link`` says whether the operation also creates or ends the link ``hr_id`` ↔ ``kleer_id``;
    ``kleer_fingerprint`` is the snapshot fingerprint of the Kleer record an update expects."""

    op_id: str
    seq: int
    kind: str
    action: str
    hr_id: str | None
    kleer_id: int | None
    targets: tuple[str, ...]
    changes: tuple[FieldChange, ...] = ()
    link: str | None = None
    kleer_fingerprint: str | None = None
    method: str | None = None
    score: float | None = None
    proposed: bool = False
    blockers: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def blocked(self) -> bool:
        return bool(self.blockers)

    @property
    def remote(self) -> bool:
        return "kleer" in self.targets

    @property
    def before(self) -> dict[str, Any]:
        return {c.key: c.before for c in self.changes}

    @property
    def after(self) -> dict[str, Any]:
        return {c.key: c.after for c in self.changes}

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(c.key for c in self.changes)

    def __repr__(self) -> str:
        state = f", blocked: {'; '.join(self.blockers)}" if self.blockers else ""
        return (f"Operation({self.op_id!r}, {self.kind}, hr_id={self.hr_id!r}, "
                f"kleer_id={self.kleer_id!r}, fields={list(self.fields)}{state})")

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Operation":
        return cls(**{**d, "targets": tuple(d["targets"]),
                      "changes": tuple(FieldChange(**c) for c in d.get("changes", ())),
                      "blockers": tuple(d.get("blockers", ())),
                      "warnings": tuple(d.get("warnings", ()))})


def new_plan_id() -> str:
    return "plan-" + uuid.uuid4().hex[:12]


@dataclass(frozen=True)
class Plan:
    """An immutable, serialisable plan: exactly what ``sync.apply`` will do."""

    id: str
    created_at: str
    side: str
    analyst: str | None
    email_preference: str
    snapshot_id: str | None
    snapshot_fingerprint: str | None
    operations: tuple[Operation, ...]
    counts: tuple[tuple[str, int], ...]
    warnings: tuple[str, ...] = ()
    scope_ids: tuple[str, ...] | None = None
    reverts: str | None = None
    format_version: int = FORMAT_VERSION

    # ---------------------------------------------------------------- views

    @property
    def counts_dict(self) -> dict[str, int]:
        return dict(self.counts)

    @property
    def blockers(self) -> tuple[tuple[str, str], ...]:
        return tuple((op.op_id, b) for op in self.operations for b in op.blockers)

    @property
    def runnable(self) -> tuple[Operation, ...]:
        return tuple(op for op in self.operations if not op.blocked)

    def operation(self, op_id: str) -> Operation:
        for op in self.operations:
            if op.op_id == op_id:
                return op
        raise KeyError(op_id)

    def operations_frame(self, *, reveal: bool = False) -> pd.DataFrame:
        """One row per operation (for the CSV and the UI); personal numbers masked unless ``reveal``."""
        def show(key: str, value: Any) -> Any:
            return value if reveal else mask(key, value)

        rows = [{
            "seq": op.seq, "op_id": op.op_id, "kind": op.kind, "action": op.action,
            "hr_id": op.hr_id, "kleer_id": op.kleer_id, "targets": ", ".join(op.targets),
            "link": op.link or "", "fields": ", ".join(c.label for c in op.changes),
            "changes": "; ".join(f"{c.label}: {_fmt(show(c.key, c.before))} → {_fmt(show(c.key, c.after))}"
                                 for c in op.changes),
            "proposed": op.proposed, "blocked": op.blocked, "blockers": "; ".join(op.blockers),
            "warnings": "; ".join(op.warnings)} for op in self.operations]
        cols = ["seq", "op_id", "kind", "action", "hr_id", "kleer_id", "targets", "link", "fields",
                "changes", "proposed", "blocked", "blockers", "warnings"]
        frame = pd.DataFrame(rows, columns=cols)
        frame["kleer_id"] = frame["kleer_id"].astype("Int64")
        return frame

    def __repr__(self) -> str:
        what = f"revert of {self.reverts}" if self.reverts else self.side
        return (f"<Plan {self.id} ({what}): {len(self.runnable)} operation(s) to run, "
                f"{len(self.operations) - len(self.runnable)} blocked>")

    def _repr_html_(self) -> str:
        from .display import plan_html  # display imports sync, which imports this module

        return plan_html(self)

    def summary(self) -> str:
        kinds = Counter(op.kind for op in self.runnable)
        title = "Revert plan" if self.reverts else "Plan"
        lines = [f"{title} {self.id} ({self.side}, built {self.created_at}"
                 + (f" on snapshot {self.snapshot_id}" if self.snapshot_id else "") + ")"]
        lines.append(f"  {len(self.runnable)} operation(s) to run"
                     + (": " + ", ".join(f"{v} {k}" for k, v in sorted(kinds.items())) if kinds else ""))
        by_action = {k.removeprefix("action:"): v for k, v in self.counts if k.startswith("action:")}
        if by_action:
            lines.append("  decisions: " + ", ".join(f"{v} {k}" for k, v in sorted(by_action.items())))
        blocked = [op for op in self.operations if op.blocked]
        if blocked:
            lines.append(f"  {len(blocked)} blocked (listed, never executed):")
            lines += [f"    {op.op_id}: {'; '.join(op.blockers)}" for op in blocked[:20]]
            if len(blocked) > 20:
                lines.append(f"    … and {len(blocked) - 20} more")
        warnings = list(self.warnings) + [f"{op.op_id}: {w}" for op in self.operations for w in op.warnings]
        if warnings:
            lines.append(f"  {len(warnings)} warning(s):")
            lines += [f"    {w}" for w in warnings[:20]]
            if len(warnings) > 20:
                lines.append(f"    … and {len(warnings) - 20} more")
        return "\n".join(lines)

    # ---------------------------------------------------------------- serialisation

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=indent, default=_json_default)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Plan":
        version = d.get("format_version")
        if version != FORMAT_VERSION:
            raise PlanError(f"plan format version {version!r} is not supported (this workbench "
                            f"reads version {FORMAT_VERSION}); build the plan again")
        try:
            return cls(**{**d, "operations": tuple(Operation.from_dict(o) for o in d["operations"]),
                          "counts": tuple((str(k), int(v)) for k, v in d["counts"]),
                          "warnings": tuple(d.get("warnings", ())),
                          "scope_ids": None if d.get("scope_ids") is None else tuple(d["scope_ids"])})
        except (KeyError, TypeError) as e:
            raise PlanError(f"not a workbench plan (missing or unexpected {e}); build the plan again") from None

    @classmethod
    def from_json(cls, text: str | bytes) -> "Plan":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as e:
            raise PlanError(f"the plan file is not valid JSON ({e}); build the plan again") from None
        if not isinstance(data, dict):
            raise PlanError("not a workbench plan (expected a JSON object)")
        return cls.from_dict(data)


def _json_default(o: Any) -> Any:
    return json.loads(to_json(o))


def _fmt(value: Any) -> str:
    return "∅" if value is None else str(value)


# --------------------------------------------------------------------------- building

def _hr_problems(hr_row: Mapping[str, Any]) -> dict[str, str]:
    raw = hr_row.get("problems")
    if not raw:
        return {}
    try:
        return dict(json.loads(raw))
    except (TypeError, ValueError):
        return {}


def _kleer_create_blockers(hr_row: Mapping[str, Any], pref: str) -> list[str]:
    out = []
    if not n.personnummer(hr_row.get("ssn")).value:
        out.append("no valid personnummer (Kleer needs one for the payroll contract)")
    if not n.parse_date(hr_row.get("employment_start_date")).value:
        out.append("no employment start date (Kleer needs one for the payroll contract)")
    key = email_field(pref)
    if not n.email(hr_row.get(key)).value:
        out.append(f"no valid {FIELD[key].label.lower()} (the email preference is {pref})")
    if not join_name(hr_row.get("first_name"), hr_row.get("last_name")):
        out.append("no name")
    return out


def _usable(changes: list[FieldChange], problems: Mapping[str, str], source: str
            ) -> tuple[list[FieldChange], list[str]]:
    """Drop changes whose new value is an HR value the HR file marked invalid (kept raw)."""
    if source != "hr":
        return changes, []
    kept, warnings = [], []
    for c in changes:
        if c.key in problems:
            warnings.append(f"{c.label} is left out: the HR value is invalid ({problems[c.key]})")
        else:
            kept.append(c)
    return kept, warnings


def _op(seq: int, decision: Decision, kind: str, **kw: Any) -> Operation:
    targets = {"link": ("links",), "unlink": ("links",), "hr_create": ("hr", "links"),
               "hr_update": ("hr",), "hr_delete": ("hr",), "kleer_create": ("kleer", "links"),
               "kleer_update": ("kleer",)}[kind]
    if kw.get("link") and "links" not in targets:
        targets = (*targets, "links")
    return Operation(op_id=f"{decision.side}:{decision.subject_id}:{kind}", seq=seq, kind=kind,
                     action=decision.action, targets=targets, proposed=decision.proposed,
                     score=decision.score, **kw)


def _new_hr_id(d: Decision, kleer_row: Mapping[str, Any]) -> str:
    """The id an HR employee created from a Kleer user gets: the decision's, else the Kleer
    user's foreign-id, else ``K<kleer id>``."""
    return d.hr_id or _text_or_none(kleer_row.get("hr_id")) or f"K{kleer_row['kleer_id']}"


def _import_ops(d: Decision, w: World, pref: str, claimed: Counter, seq: int) -> list[Operation]:
    kid = int(d.subject_id)
    k = w.kleer[kid]
    linked_hr = w.link_of_kleer.get(kid)
    if d.action == "do_nothing":
        return []
    if d.action == "create_in_hr":
        new_id = _new_hr_id(d, k)
        blockers = []
        if linked_hr is not None:
            blockers.append(f"Kleer user {kid} is already linked to HR employee {linked_hr}")
        if new_id in w.hr:
            blockers.append(f"HR employee {new_id} already exists; match the Kleer user to it instead")
        if claimed[new_id] > 1:
            blockers.append(f"HR employee {new_id} is claimed by more than one decision")
        record, _ = normalize_record(
            {"hr_id": new_id, **{c.key: c.kleer for c in diff({}, k, email_preference=pref)}})
        changes = [FieldChange(key, FIELD[key].label, None, value)
                   for key, value in record.items() if value is not None]
        return [_op(seq, d, "hr_create", hr_id=new_id, kleer_id=kid, changes=tuple(changes),
                    link="create", method="create_in_hr", blockers=tuple(blockers))]
    # prefer_hr, prefer_kleer, match_manually
    hr_id = d.hr_id
    blockers = []
    hr_row = w.hr.get(hr_id)
    if hr_row is None:
        blockers.append(f"HR employee {hr_id} is not in the HR register")
    if linked_hr is not None and linked_hr != hr_id:
        blockers.append(f"Kleer user {kid} is linked to HR employee {linked_hr}; unlink it first")
    other = w.link_of_hr.get(hr_id)
    if other is not None and other != kid:
        blockers.append(f"HR employee {hr_id} is already linked to Kleer user {other}")
    if claimed[hr_id] > 1:
        blockers.append(f"HR employee {hr_id} is claimed by more than one decision")
    overrides = d.overrides_dict
    changes = []
    if hr_row is not None:
        for fd in diff(hr_row, k, email_preference=pref):
            if overrides.get(fd.key, d.prefer) == "kleer":
                changes.append(FieldChange(fd.key, fd.label, fd.hr, fd.kleer))
    method = "manual" if d.action == "match_manually" else "suggested"
    if linked_hr == hr_id:
        if not changes:
            return []
        return [_op(seq, d, "hr_update", hr_id=hr_id, kleer_id=kid, changes=tuple(changes),
                    blockers=tuple(blockers))]
    if changes:
        return [_op(seq, d, "hr_update", hr_id=hr_id, kleer_id=kid, changes=tuple(changes),
                    link="create", method=method, blockers=tuple(blockers))]
    return [_op(seq, d, "link", hr_id=hr_id, kleer_id=kid, link="create", method=method,
                blockers=tuple(blockers))]


def _export_ops(d: Decision, w: World, pref: str, seq: int) -> list[Operation]:
    hr_id = d.subject_id
    hr_row = w.hr[hr_id]
    kid = w.link_of_hr.get(hr_id)
    problems = _hr_problems(hr_row)
    if d.action == "do_nothing":
        return []
    if d.action == "unlink":
        if kid is None:
            return []
        return [_op(seq, d, "unlink", hr_id=hr_id, kleer_id=kid, link="end")]
    if kid is None:  # export → create in Kleer
        changes = [FieldChange("hr_id", FIELD["hr_id"].label, None, hr_id)] + [
            FieldChange(c.key, c.label, None, c.hr) for c in diff(hr_row, {}, email_preference=pref)]
        changes, warnings = _usable(changes, problems, "hr")
        blockers = _kleer_create_blockers(hr_row, pref)
        same = [k for k in w.kleer.values() if _text_or_none(k.get("hr_id")) == hr_id]
        for k in same:
            owner = w.link_of_kleer.get(int(k["kleer_id"]))
            if owner is not None:
                blockers.append(f"Kleer user {k['kleer_id']} already carries foreign-id {hr_id} "
                                f"and is linked to HR employee {owner}")
            else:
                warnings.append(f"Kleer user {k['kleer_id']} already carries foreign-id {hr_id}: "
                                "apply links it instead of creating a new user")
        if w.snapshot is None:
            blockers.append("no Kleer snapshot: fetch Kleer before exporting")
        return [_op(seq, d, "kleer_create", hr_id=hr_id, kleer_id=None, changes=tuple(changes),
                    link="create", method="export", blockers=tuple(blockers),
                    warnings=tuple(warnings))]
    k = w.kleer.get(kid)
    if k is None:
        return [_op(seq, d, "kleer_update", hr_id=hr_id, kleer_id=kid,
                    blockers=(f"linked Kleer user {kid} is not in the snapshot; fetch Kleer again",))]
    overrides = d.overrides_dict
    to_kleer, to_hr = [], []
    for fd in diff(hr_row, k, email_preference=pref):
        if overrides.get(fd.key, "hr") == "hr":
            to_kleer.append(FieldChange(fd.key, fd.label, fd.kleer, fd.hr))
        else:
            to_hr.append(FieldChange(fd.key, fd.label, fd.hr, fd.kleer))
    to_kleer, warnings = _usable(to_kleer, problems, "hr")
    ops = []
    if to_kleer:
        blockers = []
        needs_contract = not k.get("has_contract") and any(
            FIELD[c.key].kleer.obj == "contract" for c in to_kleer)
        if needs_contract:
            after = {c.key: c.after for c in to_kleer}
            if not (after.get("ssn") and after.get("employment_start_date")):
                blockers.append(f"Kleer user {kid} has no payroll contract and HR lacks a valid "
                                "personnummer or start date to create one")
        ops.append(_op(seq, d, "kleer_update", hr_id=hr_id, kleer_id=kid, changes=tuple(to_kleer),
                       kleer_fingerprint=k.get("fingerprint"), blockers=tuple(blockers),
                       warnings=tuple(warnings)))
    if to_hr:
        ops.append(_op(seq + len(ops), d, "hr_update", hr_id=hr_id, kleer_id=kid,
                       changes=tuple(to_hr)))
    return ops


def build(workspace: Workspace, scope: Scope, *, email_preference: str | None = None,
          analyst: str | None = None) -> Plan:
    """Build the plan for ``scope`` from the effective decisions (saved, else proposed)."""
    pref = email_preference or workspace.settings.get("email_preference", "private")
    email_field(pref)  # validates
    world = World.load(workspace)
    decisions = [d for d in _effective(world, _saved(workspace, scope.side), scope.side)
                 if scope.covers(d.subject_id)]
    unknown = sorted(set(scope.ids or ()) - {d.subject_id for d in decisions})
    if unknown:
        what = "Kleer users" if scope.side == "import" else "HR employees"
        raise InputError(f"not in the workspace, cannot plan for these {what}: {', '.join(unknown[:20])}")
    claimed: Counter = Counter()
    if scope.side == "import":
        for d in decisions:
            if d.action in ("prefer_hr", "prefer_kleer", "match_manually") and d.hr_id:
                claimed[d.hr_id] += 1
            elif d.action == "create_in_hr":
                claimed[_new_hr_id(d, world.kleer[int(d.subject_id)])] += 1
    operations: list[Operation] = []
    for d in decisions:
        seq = len(operations) + 1
        ops = _import_ops(d, world, pref, claimed, seq) if scope.side == "import" \
            else _export_ops(d, world, pref, seq)
        operations.extend(ops)
    counts = Counter(f"action:{d.action}" for d in decisions)
    counts.update(f"kind:{op.kind}" for op in operations)
    counts["operations"] = len(operations)
    counts["blocked"] = sum(op.blocked for op in operations)
    counts["proposed"] = sum(d.proposed and d.action != "do_nothing" for d in decisions)
    warnings = []
    if world.snapshot is None:
        warnings.append("no Kleer snapshot in the workspace: fetch Kleer first")
    if counts["proposed"]:
        warnings.append(f"{counts['proposed']} decision(s) are proposed defaults the analyst has "
                        "not confirmed")
    snap = world.snapshot or {}
    return Plan(id=new_plan_id(), created_at=utcnow(), side=scope.side, analyst=analyst,
                email_preference=pref, snapshot_id=snap.get("id"),
                snapshot_fingerprint=snap.get("fingerprint"), operations=tuple(operations),
                counts=tuple(sorted(counts.items())), warnings=tuple(warnings),
                scope_ids=scope.ids)
