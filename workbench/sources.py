"""Reading HR files into canonical records, with a report of everything that was wrong.

:func:`read_hr` takes a path, bytes or a file object (CSV or XLSX), resolves the column headers
through the field table's aliases (or an explicit mapping), normalises every cell and returns a
:class:`HrFile`: the records, the mapping used, and per-row problems. It raises
:class:`~workbench.errors.SourceError` only when the file as a whole cannot be used (missing
required columns, duplicate ids, empty file); a bad cell is a row problem, never a lost row.
"""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Mapping

import pandas as pd

from .errors import SourceError
from .fields import FIELD, FIELDS, normalize_record, suggest_mapping

__all__ = ["HrFile", "RowProblem", "read_hr", "REQUIRED_FIELDS", "DEFAULT_MAX_BYTES"]

REQUIRED_FIELDS = tuple(f.key for f in FIELDS if f.required)
DEFAULT_MAX_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class RowProblem:
    row: int            # the row number as a spreadsheet shows it (header = 1)
    hr_id: str | None
    column: str | None  # the file's own header
    field: str | None   # the canonical field key
    message: str

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column!r}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass
class HrFile:
    name: str
    records: list[dict[str, Any]]
    mapping: dict[str, str | None]
    problems: list[RowProblem] = field(default_factory=list)
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    raw: pd.DataFrame | None = None

    @property
    def unmapped(self) -> list[str]:
        return [h for h, k in self.mapping.items() if k is None]

    def problems_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(p) for p in self.problems],
                            columns=["row", "hr_id", "column", "field", "message"])


def _read_bytes(source: Any, name: str | None) -> tuple[bytes, str]:
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            return path.read_bytes(), name or path.name
        except FileNotFoundError:
            raise SourceError(f"{path}: file not found") from None
        except OSError as e:
            raise SourceError(f"{path}: cannot read the file ({e.strerror or e})") from None
    if isinstance(source, (bytes, bytearray)):
        return bytes(source), name or "upload"
    data = source.read()
    return (data.encode("utf-8") if isinstance(data, str) else data), \
        name or getattr(source, "name", None) or "upload"


_ENCODINGS = ("utf-8-sig", "cp1252", "latin-1")


def _decode(data: bytes, name: str) -> tuple[str, str]:
    for enc in _ENCODINGS:
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if "\x00" in text:
            raise SourceError(f"{name}: this is not a text file (binary content); "
                              "export the HR data as CSV or XLSX")
        label = "utf-8-sig" if enc == "utf-8-sig" and data.startswith(b"\xef\xbb\xbf") else \
            ("utf-8" if enc == "utf-8-sig" else enc)
        return text, label
    raise SourceError(f"{name}: cannot decode the file as UTF-8 or Windows-1252")


def _sniff_delimiter(text: str) -> str:
    head = "\n".join(text.splitlines()[:20])
    try:
        return csv.Sniffer().sniff(head, delimiters=",;\t|").delimiter
    except csv.Error:
        first = text.splitlines()[0] if text else ""
        return max(",;\t|", key=first.count) if first else ","


def _frame_from_bytes(data: bytes, name: str, sheet: str | int | None
                      ) -> tuple[pd.DataFrame, str | None, str | None, str | None]:
    is_xlsx = data[:4] == b"PK\x03\x04" or name.lower().endswith((".xlsx", ".xlsm"))
    if is_xlsx:
        try:
            book = pd.read_excel(io.BytesIO(data), sheet_name=None, dtype=object, engine="openpyxl")
        except Exception as e:  # openpyxl raises many kinds
            raise SourceError(f"{name}: cannot read this Excel file ({e})") from None
        if not book:
            raise SourceError(f"{name}: the workbook has no sheets")
        names = list(book)
        chosen = names[0] if sheet is None else (names[sheet] if isinstance(sheet, int) else sheet)
        if chosen not in book:
            raise SourceError(f"{name}: no sheet named {chosen!r}; sheets: {', '.join(names)}")
        return book[chosen], None, None, str(chosen)
    if not data.strip():
        raise SourceError(f"{name}: the file is empty")
    text, encoding = _decode(data, name)
    delimiter = _sniff_delimiter(text)
    try:
        frame = pd.read_csv(io.StringIO(text), sep=delimiter, dtype=str, keep_default_na=False,
                            na_values=[], skipinitialspace=True)
    except (pd.errors.ParserError, csv.Error) as e:
        raise SourceError(f"{name}: cannot parse the CSV ({e})") from None
    except pd.errors.EmptyDataError:
        raise SourceError(f"{name}: the file is empty") from None
    return frame, encoding, delimiter, None


def read_hr(source: Any, *, name: str | None = None, mapping: Mapping[str, str | None] | None = None,
            sheet: str | int | None = None, max_bytes: int = DEFAULT_MAX_BYTES) -> HrFile:
    """Read an HR export (CSV or XLSX) into normalised records.

    ``mapping`` maps the file's headers to field keys (None ignores a column); without it the
    field table's aliases decide. Raises :class:`SourceError` naming the file (and rows/columns)
    when the file cannot be used as a whole.
    """
    data, name = _read_bytes(source, name)
    if len(data) > max_bytes:
        raise SourceError(f"{name}: the file is {len(data) / 1e6:.1f} MB, over the limit of "
                          f"{max_bytes / 1e6:.0f} MB; split it or raise the limit in Settings")
    frame, encoding, delimiter, sheet_name = _frame_from_bytes(data, name, sheet)
    frame.columns = [str(c).replace("\ufeff", "").strip() for c in frame.columns]
    if len(frame.columns) == 0:
        raise SourceError(f"{name}: the file has no header row")
    used = dict(mapping) if mapping is not None else suggest_mapping(frame.columns)
    unknown = [k for k in used.values() if k and k not in FIELD]
    if unknown:
        raise SourceError(f"{name}: the column mapping names unknown fields: {', '.join(unknown)}")
    mapped = {k for k in used.values() if k}
    missing = [k for k in REQUIRED_FIELDS if k not in mapped]
    if missing:
        labels = ", ".join(f"{FIELD[k].label} ({k})" for k in missing)
        raise SourceError(f"{name}: required columns are missing: {labels}. "
                          "Rename the columns or map them in the column mapping.",
                          problems=[(None, None, f"missing column {k}") for k in missing])
    if frame.empty:
        raise SourceError(f"{name}: the file has a header but no employees")

    records: list[dict[str, Any]] = []
    problems: list[RowProblem] = []
    header_of = {k: h for h, k in used.items() if k}
    seen: dict[str, int] = {}
    duplicates: list[tuple[str, int, int]] = []
    for i, raw_row in enumerate(frame.to_dict("records")):
        row_no = i + 2  # 1-based, after the header row
        raw = {key: raw_row.get(header) for header, key in used.items() if key}
        record, row_problems = normalize_record(raw)
        hr_id = record.get("hr_id")
        if not hr_id:
            problems.append(RowProblem(row_no, None, header_of.get("hr_id"), "hr_id",
                                       "no HR id: the row cannot be loaded without one"))
            continue
        if hr_id in seen:
            duplicates.append((hr_id, seen[hr_id], row_no))
            continue
        seen[hr_id] = row_no
        for key, message in row_problems.items():
            problems.append(RowProblem(row_no, hr_id, header_of.get(key), key, message))
        record["problems"] = row_problems
        record["source_row"] = row_no
        records.append(record)
    if duplicates:
        listed = "; ".join(f"{h!r} on rows {a} and {b}" for h, a, b in duplicates[:10])
        more = f" (and {len(duplicates) - 10} more)" if len(duplicates) > 10 else ""
        raise SourceError(f"{name}: duplicate HR ids: {listed}{more}. Each employee needs a unique id.",
                          problems=[(b, header_of.get("hr_id"), f"duplicate HR id {h!r} (also row {a})")
                                    for h, a, b in duplicates])
    return HrFile(name=name, records=records, mapping=used, problems=problems, encoding=encoding,
                  delimiter=delimiter, sheet=sheet_name, raw=frame)
