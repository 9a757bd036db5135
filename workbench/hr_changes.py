"""The HR changes the workbench made, collected from the journal to be handed back to the HR system.

Import's *Create new user* creates employees in the HR register (``hr_create``); *Prefer Kleer*
(and a per-field Kleer choice on Export) overwrites HR fields with Kleer's values
(``hr_update``); a revert undoes them (``hr_update`` back, ``hr_delete`` of a created employee).
:func:`collect` reads the done operations of one batch, or of every batch since a moment, and
returns an :class:`HrChangeSet`: per employee the fields that changed (a created employee: every
field) and the employee's **current** record in the HR register, which is what the HR system
should now hold. :func:`workbench.hr_writeback.write_hr_changes` turns it into a file in the HR
export's own shape (the shape of the last HR file loaded).

An employee the register no longer has (created, then removed by a revert) cannot be written in
an import file: it is listed in :attr:`HrChangeSet.gone` so the analyst can remove it by hand.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from .fields import FIELD
from .hr_writeback import FileShape, columns_missing
from .store import Workspace

__all__ = ["HrChangeSet", "collect", "canonical_record"]


@dataclass(frozen=True)
class HrChangeSet:
    """What to hand back: ``records`` (current canonical HR records, one per changed employee,
    in the order they were first changed), ``changed`` (HR id → field keys), ``created`` and
    ``updated`` HR ids, ``gone`` (changed but no longer in the register), the HR file's
    ``shape`` (None before a file was loaded) and ``missing_columns`` (changed fields the file
    has no column for). Holds real values: show its :meth:`summary`, not its records."""

    scope: str
    records: tuple[dict[str, Any], ...] = ()
    changed: dict[str, tuple[str, ...]] = field(default_factory=dict)
    created: tuple[str, ...] = ()
    updated: tuple[str, ...] = ()
    gone: tuple[str, ...] = ()
    shape: FileShape | None = None
    missing_columns: tuple[str, ...] = ()
    batches: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.records

    def summary(self) -> str:
        """In words, without values (safe for any role and for logs)."""
        if self.empty and not self.gone:
            return f"No HR changes {self.scope}: nothing to hand back to the HR system."
        lines = [f"{len(self.records)} employees changed {self.scope} ({len(self.created)} created, "
                 f"{len(self.updated)} with fields overwritten by Kleer values), from "
                 f"{len(self.batches)} batch(es)."]
        if self.shape is not None:
            lines.append("In the HR file's shape: " + describe_shape(self.shape) + ".")
        if self.missing_columns:
            lines.append("Changed fields the HR file has no column for (left out): "
                         + ", ".join(FIELD[k].label for k in self.missing_columns) + ".")
        if self.gone:
            lines.append("No longer in the HR register (remove them in the HR system by hand): "
                         + ", ".join(self.gone[:20]) + (" …" if len(self.gone) > 20 else ""))
        return "\n".join(lines)


def describe_shape(shape: FileShape) -> str:
    """``CSV, cp1252, ';'-separated, 11 columns`` or ``XLSX, sheet 'Personal', 11 columns``."""
    if shape.format == "xlsx":
        return f"XLSX, sheet {shape.sheet!r}, {len(shape.headers)} columns"
    return (f"CSV, {shape.encoding or 'utf-8'}, {shape.delimiter or ','!r}-separated, "
            f"{len(shape.headers)} columns")


def canonical_record(row: Mapping[str, Any]) -> dict[str, Any]:
    """A stored HR register row as the loader's canonical record: field keys only, booleans as
    booleans (SQLite keeps them as 0/1)."""
    out: dict[str, Any] = {}
    for key, f in FIELD.items():
        value = row.get(key)
        if f.kind == "bool" and value in (0, 1):
            value = bool(value)
        out[key] = value
    return out


def collect(ws: Workspace, *, batch_id: str | None = None, since: str | None = None,
            scope: str = "", shape: FileShape | None = None) -> HrChangeSet:
    """The HR changes of batch ``batch_id`` or since ``since`` (ISO UTC), see the module
    docstring. ``shape`` is the HR file's (the last load's when None)."""
    if batch_id is not None:
        ws.batches.get(batch_id)  # an unknown batch is refused, naming recent ones
    if shape is None:
        last = ws.hr_loads.last()
        shape = FileShape.from_dict(last["shape"]) if last else None
    order: list[str] = []
    created: set[str] = set()
    keys: dict[str, set[str]] = {}
    batches: list[str] = []
    for row in ws.journal.hr_writes(batch_id=batch_id, since=since):
        hr_id = str(row["hr_id"])
        if hr_id not in keys:
            order.append(hr_id)
            keys[hr_id] = set()
        if row["batch_id"] not in batches:
            batches.append(row["batch_id"])
        if row["kind"] == "hr_create":
            created.add(hr_id)
            keys[hr_id] |= {k for k in FIELD if k != "hr_id"}
        elif row["kind"] == "hr_update":
            keys[hr_id] |= {k for k in (row["after"] or {}) if k in FIELD and k != "hr_id"}
        else:  # hr_delete
            created.discard(hr_id)
    records, gone = [], []
    for hr_id in order:
        current = ws.hr.get(hr_id)
        if current is None:
            gone.append(hr_id)
            continue
        record = canonical_record(current)
        if hr_id in created:  # every field it has
            keys[hr_id] = {k for k in keys[hr_id] if record.get(k) is not None}
        if keys[hr_id]:
            records.append(record)
    changed = {r["hr_id"]: tuple(k for k in FIELD if k in keys[r["hr_id"]]) for r in records}
    missing: tuple[str, ...] = ()
    if shape is not None:  # a birth date follows from the personnummer column
        derived = {"birth_date"} if shape.column_of("ssn") is not None else set()
        missing = tuple(k for k in columns_missing(shape, changed) if k not in derived)
    return HrChangeSet(scope=scope or ("in batch " + batch_id if batch_id else "since " + since
                                       if since else "in this workspace"),
                       records=tuple(records), changed=changed,
                       created=tuple(h for h in changed if h in created),
                       updated=tuple(h for h in changed if h not in created),
                       gone=tuple(gone), shape=shape, missing_columns=missing,
                       batches=tuple(batches))
