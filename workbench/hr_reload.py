"""What loading a new HR file into a workspace that has employees would change.

:func:`reload_diff` compares the workspace's HR register (``current``) with the records of a
newly read file (``incoming``), both frames with an ``hr_id`` column and field-key columns:

* **new**: HR ids only in the file;
* **changed**: per employee, the fields whose values differ (each field's own comparer, so
  ``" Anna "`` and ``"Anna"`` are not a change);
* **missing**: employees of the workspace the file does not have; the **linked** ones among them
  are kept whatever the load does (a link is a decision), the others are what a load that
  removes missing employees would remove.

Only the fields the file holds are compared (``fields``; by default the field columns both
frames have): a file without a phone column does not "blank" every phone number. The diff is a
value: the page shows it and asks, the CLI prints :meth:`ReloadDiff.summary` and asks (``--yes``
skips the question).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import pandas as pd

from .fields import FIELD, blank

__all__ = ["FieldChange", "ReloadDiff", "reload_diff"]


@dataclass(frozen=True, slots=True)
class FieldChange:
    key: str
    label: str
    before: Any
    after: Any

    def __str__(self) -> str:
        return f"{self.label}: {_shown(self.before)} → {_shown(self.after)}"


def _shown(value: Any) -> str:
    return "(empty)" if value is None else repr(value) if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class ReloadDiff:
    new: tuple[str, ...] = ()
    changed: dict[str, tuple[FieldChange, ...]] = field(default_factory=dict)
    missing: tuple[str, ...] = ()   # not in the file and not linked
    kept: tuple[str, ...] = ()      # not in the file but linked: kept
    unchanged: int = 0

    @property
    def empty(self) -> bool:
        """True when the load would change nothing."""
        return not (self.new or self.changed or self.missing or self.kept)

    def changed_fields(self) -> dict[str, list[str]]:
        """HR id → the field keys that change (e.g. for a write-back or an audit entry)."""
        return {hr_id: [c.key for c in changes] for hr_id, changes in self.changed.items()}

    def summary(self, *, limit: int = 10) -> str:
        """The difference in lines of text, for the CLI and the page (rendered as text)."""
        if self.empty:
            return f"The file changes nothing: its {self.unchanged} employees are as in the workspace."
        lines = [f"{len(self.new)} new, {len(self.changed)} changed, {self.unchanged} unchanged, "
                 f"{len(self.missing) + len(self.kept)} missing from the file "
                 f"({len(self.kept)} linked to Kleer, kept)."]
        if self.new:
            lines.append("New: " + _listed(self.new, limit))
        for hr_id in list(self.changed)[:limit]:
            lines.append(f"Changed {hr_id}: " + "; ".join(map(str, self.changed[hr_id])))
        if len(self.changed) > limit:
            lines.append(f"… and {len(self.changed) - limit} more changed employees")
        if self.kept:
            lines.append("Missing but linked (kept): " + _listed(self.kept, limit))
        if self.missing:
            lines.append("Missing: " + _listed(self.missing, limit))
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        return {"new": list(self.new), "missing": list(self.missing), "kept": list(self.kept),
                "unchanged": self.unchanged,
                "changed": {h: [{"key": c.key, "label": c.label, "before": c.before,
                                 "after": c.after} for c in cs] for h, cs in self.changed.items()}}


def _listed(ids: Sequence[str], limit: int) -> str:
    more = f" (and {len(ids) - limit} more)" if len(ids) > limit else ""
    return ", ".join(ids[:limit]) + more


def _by_id(frame: pd.DataFrame) -> dict[str, dict[str, Any]]:
    if frame is None or frame.empty:
        return {}
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    return {str(r["hr_id"]): r for r in records if blank(r.get("hr_id")) is not None}


def reload_diff(current: pd.DataFrame, incoming: pd.DataFrame, linked_ids: Iterable[str] = (), *,
                fields: Iterable[str] | None = None) -> ReloadDiff:
    """What loading ``incoming`` over ``current`` changes (see the module docstring). Employees
    keep the order of the file (new, changed) and of the workspace (missing)."""
    before, after = _by_id(current), _by_id(incoming)
    linked = {str(i) for i in linked_ids}
    if fields is None:
        held = set(current.columns) & set(incoming.columns)
        keys = [k for k in FIELD if k in held and k != "hr_id"]
    else:
        wanted = set(fields)
        keys = [k for k in FIELD if k in wanted and k != "hr_id"]
    new: list[str] = []
    changed: dict[str, tuple[FieldChange, ...]] = {}
    unchanged = 0
    for hr_id, record in after.items():
        old = before.get(hr_id)
        if old is None:
            new.append(hr_id)
            continue
        diffs = tuple(FieldChange(k, FIELD[k].label, blank(old.get(k)), blank(record.get(k)))
                      for k in keys if not FIELD[k].compare(old.get(k), record.get(k)))
        if diffs:
            changed[hr_id] = diffs
        else:
            unchanged += 1
    gone = [h for h in before if h not in after]
    return ReloadDiff(new=tuple(new), changed=changed,
                      missing=tuple(h for h in gone if h not in linked),
                      kept=tuple(h for h in gone if h in linked), unchanged=unchanged)
