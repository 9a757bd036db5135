"""Reading HR files into canonical records, with a report of everything that was wrong.

:func:`read_hr` takes a path, bytes or a file object holding what HR systems and Excel export:

* CSV in UTF-8 (with or without a BOM), UTF-16 with a BOM (Excel's "Unicode text") or
  Windows-1252/Latin-1 (Swedish Excel's "CSV"); the delimiter (``,`` ``;`` tab ``|``) is detected
  from how consistently it splits the first rows (quotes understood), or taken from an Excel
  ``sep=;`` line; quoted values may hold delimiters, quotes and line breaks.
* XLSX: the first worksheet or a chosen one (by name or position). Excel date cells become ISO
  dates; whole numbers formatted with leading zeros (``00000``) keep them.
* Title rows above the header are passed over: the header is the first of the first ten rows
  that names at least two fields.

Headers resolve through the field table's aliases (:func:`workbench.fields.suggest_mapping`) or
an explicit ``mapping`` (header → field key, or None to ignore the column) from the mapping
editor; an explicit mapping overrides the aliases for the headers it names.

:class:`~workbench.errors.SourceError` (naming the file, and row/column where it can) is raised
only when the file as a whole cannot be used: unreadable, empty, header only, over the size
limit, required columns missing, duplicate HR ids, no row with an HR id, a broken CSV
structure (an unclosed quote, a row with more values than the header). Anything wrong in a
cell is a :class:`RowProblem` and the row is loaded with the raw text kept, except a row without
an HR id: it cannot be stored, so it is *not loaded* and listed in :attr:`HrFile.skipped` (and
first in the problems), with its values in :meth:`HrFile.skipped_frame`. Fully blank rows are
passed over. Reading never touches the workspace: a file that fails leaves it as it was.
"""

from __future__ import annotations

import codecs
import csv
import gc
import io
import re
from collections import Counter
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import date
from functools import cached_property
from itertools import islice
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import pandas as pd

from .csv_plain import PlainRows, plain_rows
from .errors import SourceError
from .fields import (FIELD, FIELDS, _header_key, header_signature, is_generic_header,
                     resolve_header, suggest_mapping)
from .hr_records import (BLANK_NAME, MIN_WORKING_AGE, NO_ID, HrColumns, RowProblem,  # noqa: F401
                         _ExcelError, column_records)
from .hr_writeback import FileShape

__all__ = ["HrFile", "RowProblem", "Limits", "read_hr", "peek_headers", "parse_mapping",
           "REQUIRED_FIELDS", "DEFAULT_MAX_BYTES", "DEFAULT_LIMITS", "Progress", "FileShape",
           "header_signature"]

REQUIRED_FIELDS = tuple(f.key for f in FIELDS if f.required)
DEFAULT_MAX_BYTES = 50 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Limits:
    """How big an HR file may be. Each bound is checked before the cells are read (the file's
    size; a workbook's unpacked size and its sheet's stored dimension) and again while reading
    (rows, columns, rows × columns), so a file over a limit is refused in moments, in little
    memory, with one line saying what to do."""

    max_bytes: int = DEFAULT_MAX_BYTES          # the file as given
    max_uncompressed: int = 100 * 1024 * 1024   # an XLSX unpacked (all its parts)
    max_rows: int = 100_000                     # rows of the file or sheet, title rows included
    max_columns: int = 500
    max_cells: int = 5_000_000                  # rows × the widest row


DEFAULT_LIMITS = Limits()

#: ``progress(fraction, message)``: how far a read (or load) has come, 0.0 to 1.0.
from .progress import OnFraction as Progress  # noqa: E402 (workbench/progress.py: every progress shape)

_ENCODING_NAMES = {"utf-8": "UTF-8", "utf-8-sig": "UTF-8 with BOM", "utf-16": "UTF-16",
                   "cp1252": "Windows-1252", "latin-1": "Latin-1"}
_DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
_HEADER_SEARCH_ROWS = 10
_SNIFF_ROWS = 50
_SNIFF_CHARS = 1 << 16


@dataclass
class HrFile:
    """A read HR file: the records to load, the mapping used, what was detected and what was wrong.

    ``columns`` holds the records to load a column at a time (what matching takes, see
    :meth:`HrColumns.frame`); :attr:`records` makes the per-row dicts when something asks.
    ``raw`` holds the file's data rows as read (its index is the spreadsheet row number), made
    from ``cells`` (header → the file's values, ``cell_rows`` their row numbers) when asked.
    """

    name: str
    columns: HrColumns = field(repr=False)
    mapping: dict[str, str | None]
    problems: list[RowProblem] = field(default_factory=list)
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    cells: dict[str, list[Any]] | None = field(default=None, repr=False)
    cell_rows: list[int] = field(default_factory=list, repr=False)
    format: str = "csv"
    header_row: int = 1
    #: what the loader assumed, in sentences the page and the CLI show as they are
    notes: list[str] = field(default_factory=list)
    #: header → field the loader chose without the file saying so (a generic "E-post")
    assumed: dict[str, str] = field(default_factory=dict)
    #: the column the HR ids came from (the employee number when the file has no id column)
    id_column: str | None = None
    #: the file's shape, to hand HR changes back in it (:mod:`workbench.hr_writeback`)
    shape: FileShape | None = None

    @cached_property
    def records(self) -> list[dict[str, Any]]:
        """The canonical records, one dict per loaded row: every field, ``problems`` (field →
        message) and ``source_row``."""
        return self.columns.records()

    @cached_property
    def raw(self) -> pd.DataFrame | None:
        if self.cells is None:
            return None
        return pd.DataFrame(self.cells, index=pd.Index(self.cell_rows, name="row"), dtype=object)

    def frame(self) -> pd.DataFrame:
        """``pd.DataFrame(self.records)``, built from the columns."""
        return self.columns.frame()

    @property
    def signature(self) -> str:
        """:func:`workbench.fields.header_signature` of the file's header."""
        return header_signature(self.mapping)

    @property
    def fields(self) -> list[str]:
        """The field keys the file holds (the HR id included), in table order."""
        held = {k for k in self.mapping.values() if k} | ({"hr_id"} if self.id_column else set())
        return [k for k in FIELD if k in held]

    @property
    def unmapped(self) -> list[str]:
        return [h for h, k in self.mapping.items() if k is None]

    @property
    def skipped(self) -> list[RowProblem]:
        """The rows that were NOT loaded: they have no HR id."""
        return [p for p in self.problems if p.field == "hr_id" and p.hr_id is None]

    @property
    def detected(self) -> str:
        """What was detected, in words: ``CSV, Windows-1252, semicolon-separated``."""
        if self.format == "xlsx":
            parts = ["Excel workbook", f"sheet {self.sheet!r}"]
        else:
            parts = ["CSV", _ENCODING_NAMES.get(self.encoding or "", str(self.encoding)),
                     f"{_DELIMITER_NAMES.get(self.delimiter or '', repr(self.delimiter))}-separated"]
        if self.header_row != 1:
            parts.append(f"header on row {self.header_row}")
        return ", ".join(parts)

    def problems_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(p) for p in self.problems],
                            columns=["row", "hr_id", "column", "field", "message", "severity"])

    def skipped_frame(self) -> pd.DataFrame:
        """The file's own values for every row that was not loaded."""
        rows = [p.row for p in self.skipped]
        if self.raw is None:
            return pd.DataFrame(index=pd.Index(rows, name="row"))
        return self.raw.loc[rows]


# --------------------------------------------------------------------------- bytes in

def _size(n: int) -> str:
    for unit, scale in (("MB", 1024 * 1024), ("KB", 1024)):
        if n >= scale:
            return f"{n / scale:.1f}".removesuffix(".0") + f" {unit}"
    return f"{n} bytes"


def _too_big(name: str, size: int | None, max_bytes: int) -> SourceError:
    """``size`` is None when only the first ``max_bytes + 1`` bytes of a stream were read."""
    what = f"the file is {_size(size)}, over" if size else "the file is over"
    return SourceError(f"{name}: {what} the limit of {_size(max_bytes)} for an HR file; export "
                       "only the columns the workbench uses, or split the file and load the parts "
                       "one after the other")


def _read_bytes(source: Any, name: str | None, max_bytes: int) -> tuple[bytes, str]:
    if isinstance(source, (str, Path)):
        path = Path(source)
        name = name or path.name
        try:
            size = path.stat().st_size
            if size > max_bytes:
                raise _too_big(name, size, max_bytes)
            return path.read_bytes(), name
        except FileNotFoundError:
            raise SourceError(f"{path}: file not found") from None
        except IsADirectoryError:
            raise SourceError(f"{path}: this is a folder, not a file") from None
        except OSError as e:
            raise SourceError(f"{path}: cannot read the file ({e.strerror or e})") from None
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, name = bytes(source), name or "upload"
    else:
        name = name or getattr(source, "name", None) or "upload"
        data = source.read(max_bytes + 1)
        data = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(data) > max_bytes:
        raise _too_big(name, len(data) if isinstance(source, (bytes, bytearray, memoryview))
                       else getattr(source, "size", None), max_bytes)
    return data, name


_MAGIC = (
    (b"%PDF", "a PDF document"),
    (b"\xd0\xcf\x11\xe0", "an Excel 97-2003 (.xls) workbook or a password-protected file"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"{\\rtf", "an RTF document"),
)


def _not_a_spreadsheet(data: bytes, name: str) -> SourceError | None:
    for magic, what in _MAGIC:
        if data.startswith(magic):
            return SourceError(f"{name}: this is {what}, not an HR export; in Excel choose "
                               "Save as → Excel Workbook (.xlsx) or CSV UTF-8, without a password")
    return None


# --------------------------------------------------------------------------- CSV

_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f]")
#: å, ä, ö, é … in UTF-8; as Windows-1252 these bytes read "Ã¥", which no Swedish text contains
_UTF8_LETTER = re.compile(rb"\xc3[\x80-\xbf]")


def _line_of(data: bytes, error: UnicodeDecodeError) -> int:
    return data.count(b"\n", 0, error.start) + 1


def _decode(data: bytes, name: str) -> tuple[str, str]:
    """The text and the encoding it was written in: a BOM decides; else UTF-8; else
    Windows-1252 (Swedish Excel), else Latin-1. A file that is partly UTF-8 is refused rather
    than read with its letters garbled. Binary content is refused."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text, encoding = data.decode("utf-16"), "utf-16"
        except UnicodeDecodeError:
            raise SourceError(f"{name}: the file says it is UTF-16 but is damaged; "
                              "export it again") from None
    elif data.startswith(codecs.BOM_UTF8):
        try:
            text, encoding = data.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError as e:
            raise SourceError(f"{name}: line {_line_of(data, e)} is not UTF-8 although the file "
                              "starts with a UTF-8 mark; save it again as CSV UTF-8") from None
    else:
        try:
            text, encoding = data.decode("utf-8"), "utf-8"
        except UnicodeDecodeError as e:
            if _UTF8_LETTER.search(data):
                raise SourceError(
                    f"{name}: line {_line_of(data, e)} is not UTF-8 but other lines are: the file "
                    "mixes two encodings (often two exports pasted together); open it in Excel "
                    "or a text editor and save it again as CSV UTF-8") from None
            try:
                text, encoding = data.decode("cp1252"), "cp1252"
            except UnicodeDecodeError:  # bytes Windows-1252 leaves undefined
                text, encoding = data.decode("latin-1"), "latin-1"
    controls = len(_CONTROL.findall(text)) if _CONTROL.search(text) else 0
    if "\x00" in text or controls > max(2, len(text) / 100):
        raise SourceError(f"{name}: this is not a text file (binary content); export the HR data "
                          "as CSV or Excel (.xlsx)")
    return text, encoding


_SEP_LINE = re.compile(r'"?sep=(.)"?[ \t]*(\r\n|\n|\r|$)')


def _sniff_delimiter(text: str) -> str:
    """The delimiter that splits the first rows into the most consistent number of columns
    (more than one), quotes understood; ties go to the one giving more columns."""
    sample = text[:_SNIFF_CHARS]
    best, best_score = ",", None
    for delimiter in _DELIMITER_NAMES:
        reader = csv.reader(io.StringIO(sample, newline=""), delimiter=delimiter,
                            skipinitialspace=True)
        counts = []
        try:
            for row in islice(reader, _SNIFF_ROWS):
                if any(cell.strip() for cell in row):
                    counts.append(len(row))
        except csv.Error:
            pass
        if len(text) > _SNIFF_CHARS and len(counts) > 1:
            counts.pop()  # the sample may cut the last row short
        if not counts:
            continue
        width, frequency = Counter(counts).most_common(1)[0]
        score = (width > 1, frequency / len(counts), width)
        if best_score is None or score > best_score:
            best, best_score = delimiter, score
    return best


_QUOTED = re.compile(r'"(?:[^"]|"")*"')


def _too_many_rows(name: str, where: str, limits: Limits) -> SourceError:
    return SourceError(f"{name}: {where} has more than {limits.max_rows:,} rows, the limit for an "
                       "HR file; split it and load the parts one after the other")


def _too_many_columns(name: str, where: str, column: int, limits: Limits) -> SourceError:
    return SourceError(f"{name}: {where} has a value in column {_column_letter(column - 1)} "
                       f"(column {column:,}), over the limit of {limits.max_columns:,} columns; "
                       "delete the columns after the HR data and save the file again")


def _too_many_cells(name: str, where: str, rows: int, columns: int, limits: Limits) -> SourceError:
    return SourceError(f"{name}: {where} has at least {rows:,} rows × {columns:,} columns, over the limit "
                       f"of {limits.max_cells:,} cells; export only the columns the workbench "
                       "uses, or split the file")


def _too_many_values(name: str, line: int, values: int, limits: Limits) -> SourceError:
    return SourceError(f"{name}: line {line} has {values:,} values, over the limit of "
                       f"{limits.max_columns:,} columns; export only the HR columns (with quotes "
                       "around values that hold the delimiter) and load again")


def _csv_precheck(text: str, delimiter: str, name: str, limits: Limits) -> None:
    """Refuse a line with more values than the column limit before the CSV reader builds it
    (a line of a million delimiters would be a list of a million cells)."""
    for line_no, line in enumerate(io.StringIO(text, newline=""), start=1):
        if line.count(delimiter) >= limits.max_columns:
            values = _QUOTED.sub("", line).count(delimiter) + 1
            if values > limits.max_columns:
                raise _too_many_values(name, line_no, values, limits)


def _newline(text: str) -> str:
    end = text.find("\n")
    return "\r\n" if end > 0 and text[end - 1] == "\r" else ("\n" if end >= 0 else "\r\n")


def _plain_limits(rows: PlainRows, name: str, limits: Limits) -> None:
    """The limits :func:`_csv_precheck` and :func:`_csv_rows` check, for rows one per line."""
    lengths = rows.lengths()
    widest = max(lengths, default=0)
    if widest <= limits.max_columns and len(rows) <= limits.max_rows and \
            len(rows) * widest <= limits.max_cells:
        return  # no row can be over a limit
    for line_no, values in enumerate(lengths, start=1):
        if values > limits.max_columns:
            raise _too_many_values(name, line_no, values, limits)
    width = 0
    for count, values in enumerate(lengths, start=1):
        if count > limits.max_rows:
            raise _too_many_rows(name, "the file", limits)
        width = max(width, values)
        if count * width > limits.max_cells:
            raise _too_many_cells(name, "the file", count, width, limits)


def _csv_rows(data: bytes, name: str, limits: Limits = DEFAULT_LIMITS, lazy: bool = False
              ) -> tuple[Sequence[list[Any]], str, str, str]:
    """The rows, encoding, delimiter and line end of a CSV; ``lazy``: a text without quotes as
    :class:`~workbench.csv_plain.PlainRows` (split when asked), else lists."""
    text, encoding = _decode(data, name)
    sep_line = _SEP_LINE.match(text)
    if sep_line and sep_line.group(1) in _DELIMITER_NAMES:
        delimiter, text = sep_line.group(1), text[sep_line.end():]
    else:
        delimiter = _sniff_delimiter(text)
    plain = plain_rows(text, delimiter)
    if plain is not None:  # no quotes: split, and check the limits as the loop below does
        _plain_limits(plain, name, limits)
        return plain if lazy else list(plain), encoding, delimiter, _newline(text)
    _csv_precheck(text, delimiter, name, limits)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True,
                        skipinitialspace=True)
    rows: list[list[Any]] = []
    width = 0
    while True:
        start = reader.line_num + 1
        try:
            rows.append(next(reader))
        except StopIteration:
            break
        except csv.Error as e:
            if "end of data" in str(e):
                raise SourceError(f"{name}: line {start}: a quoted value is never closed (a \" "
                                  "without its partner); fix the quotes or export the file again",
                                  problems=[(None, None, f"line {start}: unclosed quote")]) from None
            raise SourceError(f"{name}: line {reader.line_num}: the CSV is malformed ({e}); a "
                              "quote inside a value must be doubled (\"\")",
                              problems=[(None, None, f"line {reader.line_num}: {e}")]) from None
        if len(rows) > limits.max_rows:
            raise _too_many_rows(name, "the file", limits)
        if len(rows[-1]) > width:
            width = len(rows[-1])
            if width > limits.max_columns:
                raise _too_many_values(name, start, width, limits)
        if len(rows) * width > limits.max_cells:
            raise _too_many_cells(name, "the file", len(rows), width, limits)
    return rows, encoding, delimiter, _newline(text)


# --------------------------------------------------------------------------- XLSX

_ZERO_FORMAT = re.compile(r"[0#\- ]*0[0#\- ]*")


def _cell(cell: Any) -> Any:
    value = cell.value
    if cell.data_type == "e":  # #N/A, #REF!, ...: Excel's error, not data
        return _ExcelError(str(value))
    if type(value) is int and value >= 0:
        fmt = getattr(cell, "number_format", None) or ""
        if _ZERO_FORMAT.fullmatch(fmt):  # "00000", "000000-0000": the leading zeros are meant
            return str(value).zfill(fmt.count("0"))
    return value


def _xlsx_unpacked_size(data: bytes, name: str, limits: Limits) -> None:
    """Refuse a workbook whose parts unpack to more than the limit, from the zip's directory
    alone (Python's zip reader never returns more than a part's stated size)."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            total = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        return  # damaged: openpyxl's own message says so
    if total > limits.max_uncompressed:
        raise SourceError(f"{name}: the workbook unpacks to {_size(total)}, over the limit of "
                          f"{_size(limits.max_uncompressed)} for an HR file; export only the "
                          "columns the workbench uses, or save it as CSV UTF-8")


def _sheet_rows(worksheet: Any, name: str, title: str, limits: Limits, report: Progress,
                expected: int) -> list[list[Any]]:
    """The sheet's rows (a list per spreadsheet row, empty for a missing row), read as a stream
    with the limits checked per row before any row is padded out to its width."""
    from openpyxl.cell.read_only import EMPTY_CELL, ReadOnlyCell
    from openpyxl.worksheet._reader import WorkSheetParser

    where = f"sheet {title!r}"
    book = worksheet.parent
    rows: list[list[Any]] = []
    width = 0
    with worksheet._get_source() as source:
        parser = WorkSheetParser(source, worksheet._shared_strings, data_only=book.data_only,
                                 epoch=book.epoch, date_formats=book._date_formats,
                                 timedelta_formats=book._timedelta_formats)
        for index, cells in parser.parse():
            if index > limits.max_rows:
                raise _too_many_rows(name, where, limits)
            last = max((c["column"] for c in cells), default=0)
            if last > limits.max_columns:
                raise _too_many_columns(name, where, last, limits)
            width = max(width, last)
            if index * width > limits.max_cells:
                raise _too_many_cells(name, where, index, width, limits)
            while len(rows) < index - 1:
                rows.append([])
            row = [EMPTY_CELL] * last
            for c in cells:
                row[c["column"] - 1] = ReadOnlyCell(worksheet, **c)
            rows.append([_cell(c) for c in row])
            if len(rows) % 5000 == 0:
                report(0.2 * min(len(rows) / expected, 1.0), f"reading row {len(rows)}")
    return rows


def _xlsx_rows(data: bytes, name: str, sheet: str | int | None, report: Progress,
               limits: Limits = DEFAULT_LIMITS) -> tuple[list[list[Any]], str]:
    import openpyxl  # only needed for workbooks

    _xlsx_unpacked_size(data, name, limits)
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many kinds (zip, XML, key errors)
        raise SourceError(f"{name}: cannot read this Excel file: it is damaged or not an .xlsx "
                          f"workbook ({type(e).__name__}: {e}); open it in Excel and save it "
                          "again as .xlsx or CSV UTF-8") from None
    try:
        titles = [ws.title for ws in book.worksheets]
        if not titles:
            raise SourceError(f"{name}: the workbook has no worksheets")
        if sheet is None:
            title = titles[0]
        elif isinstance(sheet, int):
            if not 0 <= sheet < len(titles):
                raise SourceError(f"{name}: there is no sheet number {sheet + 1}; the workbook has "
                                  f"{len(titles)}: {', '.join(titles)}")
            title = titles[sheet]
        else:
            matches = [t for t in titles if t.strip().casefold() == str(sheet).strip().casefold()]
            if not matches:
                raise SourceError(f"{name}: there is no sheet named {sheet!r}; the sheets are: "
                                  f"{', '.join(titles)}")
            title = matches[0]
        try:
            worksheet = book[title]
        except Exception as e:  # a damaged sheet part inside a readable zip
            raise SourceError(f"{name}: sheet {title!r} is damaged and cannot be read "
                              f"({type(e).__name__}: {e}); open it in Excel and save it again") from None
        where = f"sheet {title!r}"
        stored_rows, stored_columns = worksheet.max_row or 0, worksheet.max_column or 0
        if stored_rows > limits.max_rows:  # the sheet's <dimension>: refused before reading
            raise _too_many_rows(name, where, limits)
        if stored_columns > limits.max_columns:
            raise _too_many_columns(name, where, stored_columns, limits)
        if stored_rows * stored_columns > limits.max_cells:
            raise _too_many_cells(name, where, stored_rows, stored_columns, limits)
        try:
            # a stored size that is too small would cut rows off: the stream reads them all
            rows = _sheet_rows(worksheet, name, title, limits, report, max(stored_rows, 1))
        except SourceError:
            raise
        except Exception as e:  # a damaged sheet part inside a readable zip
            raise SourceError(f"{name}: sheet {title!r} is damaged and cannot be read "
                              f"({type(e).__name__}: {e}); open it in Excel and save it again") from None
    finally:
        book.close()
    return rows, title


# --------------------------------------------------------------------------- rows to records

def _blank(value: Any) -> bool:
    return value is None or isinstance(value, _ExcelError) or (isinstance(value, str) and not value.strip())


def _blank_row(row: list[Any], csv_row: bool = False) -> bool:
    """Every cell blank; a CSV row (all text) by one join instead of a test per cell."""
    if csv_row:
        return not "".join(row).strip()
    return all(_blank(v) for v in row)


def _header_text(value: Any) -> str:
    """A header cell as text: no BOM, single spaces."""
    return "" if _blank(value) else " ".join(str(value).replace("\ufeff", "").split())


def _header_index(rows: list[list[Any]], mapping: Mapping[str, str | None] | None,
                  csv_rows: bool = False) -> int | None:
    """The header row: the first of the first rows naming two or more fields, else the first
    non-blank row. None when every row is blank."""
    explicit = {_header_text(h) for h, k in (mapping or {}).items() if k}
    candidates = list(islice((i for i, row in enumerate(rows) if not _blank_row(row, csv_rows)),
                             _HEADER_SEARCH_ROWS))
    for i in candidates:
        cells = [_header_text(v) for v in rows[i] if not _blank(v)]
        if sum(1 for c in cells if c in explicit or resolve_header(c)) >= 2:
            return i
    return candidates[0] if candidates else None


def _column_letter(i: int) -> str:
    letters = ""
    i += 1
    while i:
        i, r = divmod(i - 1, 26)
        letters = chr(65 + r) + letters
    return letters


def _headers(cells: list[Any], width: int) -> list[str]:
    """Unique header texts; an unnamed column is called by its letter (``column F``)."""
    out: list[str] = []
    seen: Counter[str] = Counter()
    for i in range(width):
        text = _header_text(cells[i] if i < len(cells) else None) or f"column {_column_letter(i)}"
        seen[text] += 1
        out.append(text if seen[text] == 1 else f"{text} ({seen[text]})")
    return out


def _mapping_error(headers: list[str], given: Mapping[str, str | None], name: str
                   ) -> SourceError | None:
    """What is wrong with a column mapping (header → field key), in the words the mapping editor
    and ``--map`` both show; None when nothing is."""
    absent = [h for h in given if h not in headers]
    if absent:
        return SourceError(f"{name}: the column mapping names columns the file does not have: "
                           f"{', '.join(map(repr, absent))}; the file's columns are: "
                           f"{', '.join(headers)}", headers=headers)
    unknown = [k for k in given.values() if k and k not in FIELD]
    if unknown:
        return SourceError(f"{name}: the column mapping names unknown fields: {', '.join(unknown)}; "
                           f"known fields: {', '.join(FIELD)}", headers=headers)
    twice = [k for k, c in Counter(k for k in given.values() if k).items() if c > 1]
    if twice:
        cols = "; ".join(f"{FIELD[k].label}: " + ", ".join(h for h, v in given.items() if v == k)
                         for k in twice)
        return SourceError(f"{name}: more than one column is mapped to the same field ({cols}); "
                           "map one of them to nothing", headers=headers)
    return None


def _resolve_mapping(headers: list[str], mapping: Mapping[str, str | None] | None,
                     name: str) -> dict[str, str | None]:
    used = suggest_mapping(headers)
    if mapping is None:
        return used
    given = {_header_text(h): k or None for h, k in mapping.items()}
    if (error := _mapping_error(headers, given, name)) is not None:
        raise error
    claimed = {k for k in given.values() if k}
    for header in used:
        if header in given:
            used[header] = given[header]
        elif used[header] in claimed:
            used[header] = None
    return used


def _id_fallback(used: Mapping[str, str | None]) -> str | None:
    """The employee number column, when the file has no HR id column but has one."""
    if "hr_id" in used.values():
        return None
    return next((h for h, k in used.items() if k == "employee_number"), None)


def _missing_columns(name: str, headers: list[str], used: dict[str, str | None],
                     header_row: int) -> SourceError | None:
    mapped = {k for k in used.values() if k} | ({"hr_id"} if _id_fallback(used) else set())
    missing = [k for k in REQUIRED_FIELDS if k not in mapped]
    if not missing:
        return None
    labels = ", ".join(f"{FIELD[k].label} ({k})" for k in missing)
    return SourceError(
        f"{name}: required columns are missing: {labels}. Map them to the file's columns in the "
        f"column mapping editor, or rename the columns. The file's columns (row {header_row}): "
        f"{', '.join(headers) or '(none)'}",
        problems=[(header_row, None, f"no column for {FIELD[k].label} ({k})") for k in missing],
        headers=headers)


def _csv_structure_errors(name: str, rows: list[tuple[int, list[Any]]], width: int,
                          delimiter: str) -> SourceError | None:
    """Rows with more values than the header has columns: a delimiter inside an unquoted value."""
    long = [(row_no, len(row)) for row_no, row in rows
            if len(row) > width and any(not _blank(v) for v in row[width:])]
    if not long:
        return None
    shown = "; ".join(f"row {r} has {n}" for r, n in long[:10])
    more = f" (and {len(long) - 10} more rows)" if len(long) > 10 else ""
    return SourceError(
        f"{name}: the header has {width} columns but {shown}{more}: a value probably contains the "
        f"{_DELIMITER_NAMES[delimiter]} ({delimiter!r}) without quotes around it, or a column has "
        "no header. Put quotes around such values (Excel does when it saves CSV) and load again.",
        problems=[(r, None, f"{n} values, the header has {width} columns") for r, n in long])


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Building tens of thousands of small dicts makes the cyclic garbage collector rescan them
    again and again; nothing cyclic is made here, so pause it (and restore it after)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@dataclass(frozen=True)
class _Table:
    """A file's cells as read, before any meaning is given to them."""

    rows: list[list[Any]]
    format: str
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    newline: str = "\r\n"


@dataclass(frozen=True)
class _Grid:
    """The header and the data rows of a table, column-wise, blank rows left out."""

    header_row: int
    headers: list[str]
    row_numbers: list[int]
    columns: list[list[Any]]
    written: list[str]  # the header cells as the file writes them ("" for an unnamed column)


def _read_table(data: bytes, name: str, sheet: str | int | None, report: Progress,
                limits: Limits = DEFAULT_LIMITS, lazy: bool = False) -> _Table:
    if not data.strip(b" \t\r\n\x00\x1a" + codecs.BOM_UTF8 + codecs.BOM_UTF16_LE):
        raise SourceError(f"{name}: the file is empty")
    if (error := _not_a_spreadsheet(data, name)) is not None:
        raise error
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        rows, title = _xlsx_rows(data, name, sheet, report, limits)
        return _Table(rows, "xlsx", sheet=title)
    rows, encoding, delimiter, newline = _csv_rows(data, name, limits, lazy)
    return _Table(rows, "csv", encoding=encoding, delimiter=delimiter, newline=newline)


def _grid(table: _Table, name: str, mapping: Mapping[str, str | None] | None) -> _Grid:
    """Find the header, check the CSV's shape, name the columns; an unnamed column with nothing
    in it (a trailing delimiter on every line) is left out."""
    rows = table.rows
    top = _header_index(rows, mapping, table.format == "csv")
    if top is None:
        raise SourceError(f"{name}: the file is empty" + (f" (sheet {table.sheet!r})" if table.sheet else ""))
    header = rows[top]
    width = max(len(header), 1)
    plain = rows.columns(top + 1, width) if isinstance(rows, PlainRows) else None
    if plain is not None:  # every row as wide as the header, none blank: columns from the text
        return _named(header, width, list(range(top + 2, len(rows) + 1)), plain, top)
    if table.format == "csv":  # text cells: a row is blank when its text joined is
        body = [(i, row) for i, row in enumerate(rows[top + 1:], start=top + 2)
                if "".join(row).strip()]
    else:
        body = [(i + 1, row) for i, row in enumerate(rows) if i > top and not _blank_row(row)]
    if table.format == "csv":
        if (error := _csv_structure_errors(name, body, width, table.delimiter)) is not None:
            raise error
    else:
        width = max([width] + [len(r) for _, r in body])
    cells = [r for _, r in body]
    if set(map(len, cells)) != {width}:  # rows shorter (or, blank at the end, longer): evened
        cells = [(r + [None] * width)[:width] for r in cells]
    columns = [list(c) for c in zip(*cells)] or [[] for _ in range(width)]
    return _named(header, width, [n for n, _ in body], columns, top)


def _named(header: list[Any], width: int, row_numbers: list[int], columns: list[list[Any]],
           top: int) -> _Grid:
    """The grid of the columns under ``header``, an unnamed column with nothing in it left out."""
    headers = _headers(header, width)
    keep = [i for i in range(width)
            if _header_text(header[i] if i < len(header) else None)
            or not all(_blank(v) for v in columns[i])]
    written = [_header_text(header[i] if i < len(header) else None) for i in keep]
    return _Grid(top + 1, [headers[i] for i in keep], row_numbers, [columns[i] for i in keep],
                 written)


def read_hr(source: Any, *, name: str | None = None, mapping: Mapping[str, str | None] | None = None,
            sheet: str | int | None = None, max_bytes: int = DEFAULT_MAX_BYTES,
            progress: Progress | None = None, limits: Limits | None = None,
            today: date | None = None) -> HrFile:
    """Read an HR export (CSV or XLSX) into normalised records.

    ``mapping`` maps the file's headers to field keys (None ignores a column) and overrides the
    aliases for the headers it names (:func:`parse_mapping` builds one from ``--map`` options);
    ``sheet`` picks an XLSX worksheet by name or 0-based position; ``limits`` bound the file
    (:class:`Limits`; ``max_bytes`` is its size limit, 50 MB by default);
    ``progress(fraction, message)`` hears how far the read has come; ``today`` dates the age
    checks. Raises :class:`SourceError` naming the file (and rows/columns) when the file cannot
    be used as a whole.

    A file without an HR id column but with an employee number uses that as the HR id; a file
    whose only email column does not say work or private gets one assumed. Both are told in
    :attr:`HrFile.notes`.
    """
    limits = limits or (DEFAULT_LIMITS if max_bytes == DEFAULT_LIMITS.max_bytes
                        else Limits(max_bytes=max_bytes))
    report = progress or (lambda fraction, message: None)
    report(0.0, "reading the file")
    data, name = _read_bytes(source, name, limits.max_bytes)
    with _gc_paused():
        table = _read_table(data, name, sheet, report, limits, lazy=True)
        report(0.2, "finding the header")
        grid = _grid(table, name, mapping)
        # the rows are in the grid's columns now: freed here, the collector need not scan them
        table = _Table([], table.format, table.encoding, table.delimiter, table.sheet, table.newline)
        used = _resolve_mapping(grid.headers, mapping, name)
        if (error := _missing_columns(name, grid.headers, used, grid.header_row)) is not None:
            raise error
        if not grid.row_numbers:
            raise SourceError(f"{name}: the file has a header (row {grid.header_row}) but no employees",
                              problems=[(grid.header_row, None, "no data rows after the header")])
        by_header = dict(zip(grid.headers, grid.columns))
        notes: list[str] = []
        assumed = _assume_email(used, by_header, mapping, notes)
        id_column = next((h for h, k in used.items() if k == "hr_id"), None)
        if id_column is None:
            id_column = _id_fallback(used)
            notes.append(f"The file has no HR id column: the employee number (column "
                         f"{id_column!r}) is used as the HR id, and becomes Kleer's foreign-id. "
                         "To use another column, map it to HR id.")
        report(0.3, f"checking {len(grid.row_numbers)} rows")
        columns, problems = column_records(name, grid.row_numbers, by_header, used,
                                           excel=table.format == "xlsx", id_column=id_column,
                                           today=today)
    shape = FileShape(format=table.format, headers=tuple(grid.written),
                      fields=tuple(used[h] for h in grid.headers),
                      id_header=grid.written[grid.headers.index(id_column)],
                      encoding=table.encoding, delimiter=table.delimiter, newline=table.newline,
                      sheet=table.sheet)
    report(1.0, f"{len(columns)} employees read")
    return HrFile(name=name, columns=columns, mapping=used, problems=problems,
                  encoding=table.encoding, delimiter=table.delimiter, sheet=table.sheet,
                  cells=by_header, cell_rows=grid.row_numbers,
                  format=table.format, header_row=grid.header_row, notes=notes, assumed=assumed,
                  id_column=id_column, shape=shape)


#: Mail services people use privately: an email column mostly on these holds private addresses.
PERSONAL_MAIL_DOMAINS = frozenset({
    "gmail.com", "googlemail.com", "hotmail.com", "hotmail.se", "outlook.com", "outlook.se",
    "live.com", "live.se", "msn.com", "yahoo.com", "yahoo.se", "icloud.com", "me.com", "mac.com",
    "aol.com", "proton.me", "protonmail.com", "gmx.com", "gmx.net", "telia.com", "spray.se",
    "bredband.net", "comhem.se", "tele2.se", "bahnhof.se", "passagen.se", "home.se"})


def _assume_email(used: dict[str, str | None], columns: Mapping[str, list[Any]],
                  mapping: Mapping[str, str | None] | None, notes: list[str]) -> dict[str, str]:
    """The only email column of a file, when its header does not say work or private and no
    mapping named it: work, unless most of its addresses are on personal mail services. Changes
    ``used`` in place and says so in ``notes``."""
    named = {_header_text(h) for h in (mapping or {})}
    emails = [h for h, k in used.items() if k in ("private_email", "work_email")]
    if len(emails) != 1 or emails[0] in named or not is_generic_header(emails[0]):
        return {}
    header = emails[0]
    domains = [str(v).strip().lower().rpartition("@")[2] for v in columns[header]
               if not _blank(v) and "@" in str(v)]
    personal = sum(d in PERSONAL_MAIL_DOMAINS for d in domains)
    if domains and personal * 2 > len(domains):
        key, why = "private_email", f"{personal} of its {len(domains)} addresses are on personal mail services"
    else:
        key, why = "work_email", "its addresses are not on personal mail services"
    used[header] = key
    other = "private_email" if key == "work_email" else "work_email"
    notes.append(f"Column {header!r} does not say whether it holds work or private addresses "
                 f"and is the file's only email column: it is read as the {FIELD[key].label.lower()} "
                 f"({why}). If that is wrong, map it to {FIELD[other].label} (CLI: --map "
                 f"{other}={header}).")
    return {header: key}


def peek_headers(source: Any, *, name: str | None = None, sheet: str | int | None = None,
                 limits: Limits | None = None) -> list[str]:
    """The file's column headers as the loader names them (what :func:`parse_mapping` and the
    mapping editor take), within the same limits as :func:`read_hr`."""
    limits = limits or DEFAULT_LIMITS
    data, name = _read_bytes(source, name, limits.max_bytes)
    table = _read_table(data, name, sheet, lambda fraction, message: None, limits)
    return _grid(table, name, None).headers


_IGNORE = {"none", "-", "ignore", "nothing"}


def parse_mapping(pairs: Iterable[str], columns: Sequence[str], *, name: str = "--map"
                  ) -> dict[str, str | None]:
    """A column mapping (header → field key, None to ignore) from ``FIELD=COLUMN`` texts, as the
    CLI's repeatable ``--map hr_id=Anställningsnummer`` gives them.

    FIELD is a field key or label (``hr_id``, ``HR id``; ``none`` ignores the column); COLUMN one
    of the file's ``columns`` (case and spacing forgiven when that names one column only).
    Raises :class:`SourceError` with the mapping editor's own messages when a column is not in
    the file, a field is unknown, or two columns claim one field.
    """
    columns = list(columns)
    by_key: dict[str, list[str]] = {}
    for c in columns:
        by_key.setdefault(_header_key(c), []).append(c)
    labels = {_header_key(f.label): f.key for f in FIELDS} | {_header_key(k): k for k in FIELD}
    given: dict[str, str | None] = {}
    for pair in pairs:
        target, sep, column = str(pair).partition("=")
        target, column = target.strip(), _header_text(column)
        if not sep or not target or not column:
            raise SourceError(f"{name}: {pair!r} is not FIELD=COLUMN; write e.g. "
                              "--map hr_id=Anställningsnummer", headers=columns)
        if column not in columns and len(by_key.get(_header_key(column), [])) == 1:
            column = by_key[_header_key(column)][0]
        key = None if target.casefold() in _IGNORE else labels.get(_header_key(target), target)
        given[column] = key
    if (error := _mapping_error(columns, given, name)) is not None:
        raise error
    return given
