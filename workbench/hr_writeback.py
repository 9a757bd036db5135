"""Handing HR changes back to the HR system, as a file in the HR export's own shape.

When the workbench creates an employee in the HR register ("Create new user") or overwrites HR
fields with Kleer's values ("Prefer Kleer"), the HR system does not know until someone imports
those changes there. :func:`write_hr_changes` writes them as a file the HR system already reads:
the :class:`FileShape` remembered when the HR export was loaded (its header names as written,
column order, encoding, delimiter, line ends, CSV or XLSX, sheet name).

What is written:

* one row per changed employee (only those), in the order given;
* the file's columns that the workbench holds (mapped to a field), in the file's order, under the
  file's own header names; a column the workbench does not hold (unmapped) is left out rather
  than written blank, because an HR import would read a blank cell as "erase this value";
* with ``only_changed_columns=True``, only the id column and the columns of fields that changed
  for at least one of the written employees; an employee's unchanged fields in those columns
  carry the current value (writing it back changes nothing);
* real values, never masked: the HR system needs them (callers restrict this to the analyst role
  and audit it).

Values are written in the workbench's canonical form (personnummer ``YYYYMMDD-NNNN``, ISO dates,
E.164 phone numbers, whole numbers), which the workbench's own loader, and HR imports, read.
Formula-safe without altering data, by the rule of :mod:`workbench.cells`: XLSX text cells are
string cells, CSV cells get a ``'`` only when a spreadsheet would really evaluate them.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Iterable, Mapping, Sequence

from .cells import csv_safe, xlsx_cell
from .errors import InputError
from .fields import FIELD

__all__ = ["FileShape", "write_hr_changes", "columns_missing", "FORMATS"]

FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class FileShape:
    """The shape of a loaded HR export, JSON-able (:meth:`to_dict` / :meth:`from_dict`).

    ``headers`` are the header cells as written in the file, in order (``""`` for an unnamed
    column); ``fields`` the field key each column was read as (None: not read); ``id_header`` the
    column the HR id came from (the employee number column when the file had no id column).
    """

    format: str
    headers: tuple[str, ...]
    fields: tuple[str | None, ...]
    id_header: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    newline: str = "\r\n"
    sheet: str | None = None
    version: int = 1
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.format not in FORMATS:
            raise ValueError(f"format must be one of {FORMATS}, not {self.format!r}")
        if len(self.headers) != len(self.fields):
            raise ValueError("a file shape needs one field (or None) per header")

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["headers"], out["fields"] = list(self.headers), list(self.fields)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "FileShape":
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        known["headers"] = tuple(known.get("headers", ()))
        known["fields"] = tuple(known.get("fields", ()))
        return cls(**known)

    def column_of(self, key: str) -> int | None:
        """The position of the column holding field ``key`` (the HR id: :attr:`id_header`)."""
        if key == "hr_id" and self.id_header is not None:
            return self.headers.index(self.id_header)
        return self.fields.index(key) if key in self.fields else None

    @property
    def id_position(self) -> int | None:
        return self.column_of("hr_id")


def columns_missing(shape: FileShape, changed: Mapping[str, Iterable[str]]) -> list[str]:
    """The changed fields the HR file has no column for (they cannot be handed back in this
    shape), as field keys in table order."""
    wanted = {k for keys in changed.values() for k in keys}
    return [k for k in FIELD if k in wanted and shape.column_of(k) is None]


def _cell_value(key: str, value: Any, *, xlsx: bool) -> Any:
    if value is None or (isinstance(value, float) and value != value):
        return None
    f = FIELD.get(key)
    if f is not None and f.kind == "date" and isinstance(value, str) and xlsx:
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value  # an invalid value kept as its raw text
    if isinstance(value, bool):
        return value if xlsx else ("1" if value else "0")
    if xlsx or isinstance(value, str):
        return value
    return str(value)


def _positions(shape: FileShape, records: Sequence[Mapping[str, Any]], only_changed_columns: bool,
               changed: Mapping[str, Iterable[str]] | None) -> list[int]:
    idp = shape.id_position
    if idp is None:
        raise InputError("the HR file's shape has no id column, so its employees could not be "
                         "found in the HR system; load the HR file again")
    keep = [i for i, k in enumerate(shape.fields) if k is not None or i == idp]
    if not only_changed_columns:
        return keep
    if changed is None:
        raise InputError("only_changed_columns needs `changed`: the fields changed per employee")
    ids = {str(r.get("hr_id")) for r in records}
    wanted = {k for hr_id, keys in changed.items() if str(hr_id) in ids for k in keys}
    return [i for i in keep if i == idp or shape.fields[i] in wanted]


def _row(shape: FileShape, record: Mapping[str, Any], positions: list[int], *, xlsx: bool) -> list[Any]:
    idp = shape.id_position
    out = []
    for i in positions:
        key = "hr_id" if i == idp else shape.fields[i]
        out.append(_cell_value(key, record.get(key), xlsx=xlsx))
    return out


def write_hr_changes(records: Sequence[Mapping[str, Any]], shape: FileShape, *,
                     only_changed_columns: bool = False,
                     changed: Mapping[str, Iterable[str]] | None = None,
                     format: str | None = None, encoding: str | None = None) -> bytes:
    """The HR changes as the bytes of a file in ``shape`` (see the module docstring).

    ``records`` are the changed employees' current HR records (field key → canonical value,
    ``hr_id`` included), one row each; ``changed`` maps an HR id to the field keys that changed
    for it (a created employee: every field), needed with ``only_changed_columns``. ``format``
    (``csv``/``xlsx``) and ``encoding`` override the shape's. A value the file's encoding cannot
    hold (Windows-1252 has no "Ł") is refused with the employee, column and what to do, never
    replaced.
    """
    fmt = format or shape.format
    if fmt not in FORMATS:
        raise InputError(f"the HR changes can be written as {' or '.join(FORMATS)}, not {fmt!r}")
    positions = _positions(shape, records, only_changed_columns, changed)
    header = [shape.headers[i] for i in positions]
    if fmt == "xlsx":
        return _xlsx(shape, header, [_row(shape, r, positions, xlsx=True) for r in records])
    rows = [_row(shape, r, positions, xlsx=False) for r in records]
    return _csv(shape, header, rows, records, encoding or shape.encoding or "utf-8-sig")


def _csv(shape: FileShape, header: list[str], rows: list[list[Any]],
         records: Sequence[Mapping[str, Any]], encoding: str) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=shape.delimiter or ",", lineterminator=shape.newline)
    writer.writerow([csv_safe(h) for h in header])
    for row in rows:
        writer.writerow(["" if v is None else csv_safe(v) for v in row])
    text = buffer.getvalue()
    try:
        return text.encode(encoding)
    except UnicodeEncodeError as e:
        bad = text[e.start:e.end]
        line = text.count(shape.newline, 0, e.start)  # 0: the header line
        where = "the header" if line == 0 else f"the row of HR id {records[line - 1].get('hr_id')!r}"
        raise InputError(f"{bad!r} in {where} cannot be written in {encoding}, the HR file's "
                         "encoding; write the HR changes as XLSX, or as CSV in UTF-8, and import "
                         "that") from None


def _xlsx(shape: FileShape, header: list[str], rows: list[list[Any]]) -> bytes:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = (shape.sheet or "Sheet1")[:31]
    for j, value in enumerate(header, start=1):
        xlsx_cell(sheet.cell(row=1, column=j), value or None)
    for i, row in enumerate(rows, start=2):
        for j, value in enumerate(row, start=1):
            cell = xlsx_cell(sheet.cell(row=i, column=j), value)
            if isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
