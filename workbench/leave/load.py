"""Reading an absence export (CSV or XLSX) into :class:`~workbench.leave.model.Leave` values,
with a report of everything that was wrong, row by row.

The file conventions are the HR file's (:mod:`workbench.sources`, whose byte/encoding/
delimiter/XLSX readers are reused here, not copied): UTF-8 with or without BOM, UTF-16,
Windows-1252; ``,`` ``;`` tab ``|`` detected or taken from a ``sep=`` line; the first sheet of a
workbook or a chosen one; title rows above the header passed over. Headers resolve through the
leave field table (:mod:`workbench.leave.fields`, Swedish and English aliases) or an explicit
``mapping`` (header → field key, None to ignore).

Refused as a whole (:class:`~workbench.errors.SourceError`, naming the file): what the HR loader
refuses (unreadable, empty, over the size limit, broken CSV), required columns missing (leave
id, leave type, start and end date, and an HR id *or* employee number column), no data rows,
the same leave id on two rows.

Flagged per row (:class:`LeaveProblem` with row, column and what to do; ``blocking`` problems
keep the leave out of any plan): a leave without an id (not loaded); an unreadable date (not
loaded); end before start; an unknown leave type (the message offers the mapping); an employee
not in the HR register; an extent outside 1–100 % (or hours per day outside 0–24); an unknown
status; overlapping leaves of one employee (two partial leaves whose percents add up to at most
100 % may overlap). A VAB or parental leave without a child is a warning (not blocking): Kleer
asks for the child only on activities that require it.

Extent: ``100``, ``50 %``, ``50`` are percents; ``0.5`` (a number between 0 and 1, what an
Excel percent cell holds) is 50 %; ``4 h``, ``4,5 tim``, or an hours-per-day column, are hours
per day. Empty means whole days (100 %). Status: approved (godkänd, beviljad, attesterad),
cancelled (makulerad, avbokad, återkallad, annullerad, struken, borttagen), pending (ansökt,
väntar); empty means approved.
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any, Iterable, Mapping

import pandas as pd

from .. import sources as _sources
from ..errors import SourceError
from ..normalize import parse_date
from .fields import EMPLOYEE_KEYS, LEAVE_FIELD, REQUIRED, resolve_leave_header, suggest_leave_mapping
from .model import APPROVED, CANCELLED, PENDING, Leave
from .types import LeaveTypeMapping, default_mapping

__all__ = ["LeaveFile", "LeaveProblem", "read_leave", "parse_extent", "parse_status"]

# The HR loader's readers (one implementation of encodings, delimiters and workbooks).
_read_bytes = _sources._read_bytes
_read_table = _sources._read_table
_header_text = _sources._header_text
_headers = _sources._headers
_blank = _sources._blank
_csv_structure_errors = _sources._csv_structure_errors
_ExcelError = _sources._ExcelError

_HEADER_SEARCH_ROWS = 10
NO_LEAVE_ID = "no leave id: this row is NOT loaded (add the leave's id in the file, or map the id column)"


@dataclass(frozen=True, slots=True)
class LeaveProblem:
    row: int                # the spreadsheet row (header = its own row number)
    leave_id: str | None
    hr_id: str | None
    column: str | None      # the file's own header
    field: str | None       # the leave field key
    message: str
    blocking: bool = True   # False: a warning; the leave can still be planned

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column!r}" if self.column else "")
        return f"{where}: {self.message}"


@dataclass
class LeaveFile:
    """A read absence file. ``leaves`` holds every row that could be read (blocked ones too,
    see :meth:`blocked`); ``skipped`` the problems of rows that were not loaded."""

    name: str
    leaves: list[Leave]
    mapping: dict[str, str | None]
    problems: list[LeaveProblem] = field(default_factory=list)
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | None = None
    format: str = "csv"
    header_row: int = 1
    raw: pd.DataFrame | None = None

    @property
    def skipped(self) -> list[LeaveProblem]:
        loaded = {leave.row for leave in self.leaves}
        return [p for p in self.problems if p.row not in loaded and p.blocking]

    def problems_of(self, leave: Leave) -> list[LeaveProblem]:
        return [p for p in self.problems if p.row == leave.row]

    def blocked(self, leave: Leave) -> bool:
        return any(p.blocking for p in self.problems_of(leave))

    @property
    def ready(self) -> list[Leave]:
        """The leaves without a blocking problem: what a plan may use."""
        bad = {p.row for p in self.problems if p.blocking}
        return [leave for leave in self.leaves if leave.row not in bad]

    @property
    def unknown_types(self) -> list[str]:
        return sorted({leave.hr_type for leave in self.leaves if leave.kleer_type is None})

    def problems_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(p) for p in self.problems],
                            columns=["row", "leave_id", "hr_id", "column", "field", "message",
                                     "blocking"])


# --------------------------------------------------------------------------- values

_PERCENT = re.compile(r"(?P<n>\d+(?:[.,]\d+)?)\s*%?")
_HOURS = re.compile(r"(?P<n>\d+(?:[.,]\d+)?)\s*(?:h|hr|hrs|hours?|t|tim|timmar?)\.?(?:\s*(?:/|per)\s*(?:d|dag|day))?",
                    re.IGNORECASE)

_STATUS_WORDS = {
    APPROVED: ("approved", "approve", "granted", "accepted", "confirmed", "ok", "godkänd",
               "godkänt", "godkänd ledighet", "beviljad", "beviljat", "attesterad", "klar"),
    CANCELLED: ("cancelled", "canceled", "cancel", "withdrawn", "revoked", "deleted", "rejected",
                "makulerad", "makulerat", "avbokad", "avbokat", "återkallad", "återkallat",
                "annullerad", "struken", "borttagen", "avslagen", "nekad"),
    PENDING: ("pending", "requested", "submitted", "awaiting approval", "draft", "ansökt",
              "ansökan", "väntar", "väntande", "ej godkänd", "inskickad", "utkast"),
}
_STATUS = {w: s for s, words in _STATUS_WORDS.items() for w in words}


def _number(text: str) -> Decimal:
    return Decimal(text.replace(",", "."))


def parse_extent(value: Any, *, hours_column: bool = False) -> tuple[Decimal | None, Decimal | None, str | None]:
    """``(percent, hours_per_day, error)``; empty → 100 %."""
    if value is None or isinstance(value, _ExcelError) or (isinstance(value, str) and not value.strip()):
        return (None, None, None) if hours_column else (Decimal(100), None, None)
    if isinstance(value, bool):
        return None, None, "not an extent"
    if isinstance(value, (int, float, Decimal)):
        number = Decimal(str(value))
        if hours_column:
            return None, number, None
        return (number * 100 if 0 < number < 1 else number), None, None
    text = " ".join(str(value).split())
    try:
        if hours_column:
            m = _HOURS.fullmatch(text) or re.fullmatch(r"\d+(?:[.,]\d+)?", text)
            if m:
                return None, _number(re.match(r"\d+(?:[.,]\d+)?", text)[0]), None
        elif m := _HOURS.fullmatch(text):
            return None, _number(m["n"]), None
        elif m := _PERCENT.fullmatch(text):
            number = _number(m["n"])
            return (number * 100 if 0 < number < 1 and "%" not in text else number), None, None
    except InvalidOperation:
        pass
    return None, None, f"{text!r} is not an extent"


def parse_status(value: Any) -> str | None:
    """approved / cancelled / pending, or None when the word is unknown. Empty → approved."""
    if _blank(value):
        return APPROVED
    return _STATUS.get(" ".join(str(value).casefold().split()))


def _text(value: Any) -> str | None:
    if _blank(value):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if hasattr(value, "isoformat") and not isinstance(value, str):
        return value.isoformat()
    return " ".join(str(value).split())


# --------------------------------------------------------------------------- the grid

def _header_index(rows: list[list[Any]], mapping: Mapping[str, str | None] | None) -> int | None:
    explicit = {_header_text(h) for h, k in (mapping or {}).items() if k}
    candidates = [i for i, row in enumerate(rows) if not all(_blank(v) for v in row)]
    for i in candidates[:_HEADER_SEARCH_ROWS]:
        cells = [_header_text(v) for v in rows[i] if not _blank(v)]
        if sum(1 for c in cells if c in explicit or resolve_leave_header(c)) >= 2:
            return i
    return candidates[0] if candidates else None


def _resolve_mapping(headers: list[str], mapping: Mapping[str, str | None] | None,
                     name: str) -> dict[str, str | None]:
    used = suggest_leave_mapping(headers)
    if mapping is None:
        return used
    given = {_header_text(h): k or None for h, k in mapping.items()}
    absent = [h for h in given if h not in used]
    if absent:
        raise SourceError(f"{name}: the column mapping names columns the file does not have: "
                          f"{', '.join(map(repr, absent))}; the file's columns are: {', '.join(headers)}")
    unknown = [k for k in given.values() if k and k not in LEAVE_FIELD]
    if unknown:
        raise SourceError(f"{name}: the column mapping names unknown leave fields: "
                          f"{', '.join(unknown)}; known: {', '.join(LEAVE_FIELD)}")
    twice = [k for k, c in Counter(k for k in given.values() if k).items() if c > 1]
    if twice:
        raise SourceError(f"{name}: more than one column is mapped to "
                          f"{', '.join(LEAVE_FIELD[k].label for k in twice)}; map one of them to nothing")
    claimed = {k for k in given.values() if k}
    for header in used:
        if header in given:
            used[header] = given[header]
        elif used[header] in claimed:
            used[header] = None
    return used


def _missing(name: str, headers: list[str], used: dict[str, str | None], header_row: int) -> None:
    mapped = {k for k in used.values() if k}
    missing = [LEAVE_FIELD[k].label for k in REQUIRED if k not in mapped]
    if not mapped & set(EMPLOYEE_KEYS):
        missing.append("HR id or Employee number")
    if missing:
        raise SourceError(
            f"{name}: required columns are missing: {', '.join(missing)}. Map them to the file's "
            f"columns in the column mapping editor, or rename the columns. The file's columns "
            f"(row {header_row}): {', '.join(headers) or '(none)'}",
            problems=[(header_row, None, f"no column for {m}") for m in missing], headers=headers)


# --------------------------------------------------------------------------- reading

def read_leave(source: Any, *, hr_ids: Iterable[str],
               employee_numbers: Mapping[str, str] | None = None,
               types: LeaveTypeMapping | None = None, name: str | None = None,
               mapping: Mapping[str, str | None] | None = None, sheet: str | int | None = None,
               max_bytes: int = _sources.DEFAULT_MAX_BYTES) -> LeaveFile:
    """Read an absence export. ``hr_ids`` is the HR register (every known HR id);
    ``employee_numbers`` maps employee numbers to HR ids (for files without an HR id column);
    ``types`` is the leave-type mapping (default: :func:`~workbench.leave.types.default_mapping`).
    Raises :class:`SourceError` when the file cannot be used as a whole."""
    types = types if types is not None else default_mapping()
    register = {str(h) for h in hr_ids}
    numbers = {str(k): str(v) for k, v in (employee_numbers or {}).items()}
    data, name = _read_bytes(source, name, max_bytes)
    table = _read_table(data, name, sheet, lambda fraction, message: None)
    rows = table.rows
    top = _header_index(rows, mapping)
    if top is None:
        raise SourceError(f"{name}: the file is empty")
    body = [(i + 1, row) for i, row in enumerate(rows) if i > top and not all(_blank(v) for v in row)]
    width = max(len(rows[top]), 1)
    if table.format == "csv":
        if (error := _csv_structure_errors(name, body, width, table.delimiter)) is not None:
            raise error
    else:
        width = max([width] + [len(r) for _, r in body])
    headers = _headers(rows[top], width)
    used = _resolve_mapping(headers, mapping, name)
    _missing(name, headers, used, top + 1)
    if not body:
        raise SourceError(f"{name}: the file has a header (row {top + 1}) but no leaves",
                          problems=[(top + 1, None, "no data rows after the header")])
    column_of = {k: h for h, k in used.items() if k}
    index_of = {h: i for i, h in enumerate(headers)}
    cells = [{k: (r + [None] * width)[index_of[h]] for k, h in column_of.items()} for _, r in body]
    raw = pd.DataFrame([(r + [None] * width)[:width] for _, r in body], columns=headers,
                       index=pd.Index([n for n, _ in body], name="row"), dtype=object)

    _duplicates(name, [(n, _text(c.get("leave_id"))) for (n, _), c in zip(body, cells)],
                column_of.get("leave_id"))

    leaves: list[Leave] = []
    problems: list[LeaveProblem] = []
    for (row_no, _), values in zip(body, cells):
        leave, row_problems = _row(row_no, values, column_of, register, numbers, types)
        problems += row_problems
        if leave is not None:
            leaves.append(leave)
    problems += _overlaps(leaves, column_of)
    problems.sort(key=lambda p: (p.row, p.field or ""))
    return LeaveFile(name=name, leaves=leaves, mapping=used, problems=problems,
                     encoding=table.encoding, delimiter=table.delimiter, sheet=table.sheet,
                     format=table.format, header_row=top + 1, raw=raw)


def _duplicates(name: str, ids: list[tuple[int, str | None]], column: str | None) -> None:
    first: dict[str, int] = {}
    twice: list[tuple[str, int, int]] = []
    for row_no, leave_id in ids:
        if not leave_id:
            continue
        if leave_id in first:
            twice.append((leave_id, first[leave_id], row_no))
        else:
            first[leave_id] = row_no
    if twice:
        listed = "; ".join(f"{i!r} on rows {a} and {b}" for i, a, b in twice[:10])
        raise SourceError(
            f"{name}: the same leave id is on more than one row in column {column!r}: {listed}. "
            "Each leave needs its own id (a changed leave keeps its id and changes its dates): "
            "correct the file and load it again.",
            problems=[(b, column, f"duplicate leave id {i!r} (also on row {a})") for i, a, b in twice])


def _row(row_no: int, values: Mapping[str, Any], column_of: Mapping[str, str],
         register: set[str], numbers: Mapping[str, str], types: LeaveTypeMapping
         ) -> tuple[Leave | None, list[LeaveProblem]]:
    leave_id = _text(values.get("leave_id"))
    out: list[LeaveProblem] = []
    hr_id: str | None = None

    def flag(key: str, message: str, blocking: bool = True) -> None:
        out.append(LeaveProblem(row_no, leave_id, hr_id, column_of.get(key), key, message, blocking))

    if not leave_id:
        flag("leave_id", NO_LEAVE_ID)
        return None, out

    # the employee
    given_id, given_number = _text(values.get("hr_id")), _text(values.get("employee_number"))
    if given_id:
        hr_id = given_id
        if hr_id not in register:
            flag("hr_id", f"HR id {hr_id!r} is not in the HR register: load the HR file that has "
                          "this employee first, or correct the id")
    elif given_number:
        hr_id = numbers.get(given_number)
        if hr_id is None:
            flag("employee_number", f"employee number {given_number!r} is not in the HR register: "
                                    "load the HR file that has this employee first, or correct the number")
            hr_id = f"#{given_number}"
    else:
        key = "hr_id" if "hr_id" in column_of else "employee_number"
        flag(key, "no employee: fill in the HR id (or employee number) of the person on leave")
        hr_id = ""

    # status
    status = parse_status(values.get("status"))
    if status is None:
        flag("status", f"status {_text(values.get('status'))!r} is not understood: write approved "
                       "or cancelled (godkänd / makulerad)")
        status = PENDING
    live = status != CANCELLED  # a cancelled leave only needs its id and days to be removed

    # type
    hr_type = _text(values.get("leave_type")) or ""
    rule = types.lookup(hr_type) if hr_type else None
    if not hr_type:
        flag("leave_type", "no leave type: fill in the type (e.g. Sjuk, Semester, VAB)", live)
    elif rule is None:
        flag("leave_type", f"unknown leave type {hr_type!r}: {types.suggest(hr_type)}", live)

    # dates
    dates: dict[str, date] = {}
    for key in ("start_date", "end_date"):
        parsed = parse_date(values.get(key))
        if parsed.error or parsed.value is None:
            flag(key, f"{LEAVE_FIELD[key].label.lower()}: "
                      f"{parsed.error or 'missing'}; write the date as YYYY-MM-DD: this row is NOT loaded")
        else:
            dates[key] = date.fromisoformat(parsed.value)
    if len(dates) == 2 and dates["end_date"] < dates["start_date"]:
        flag("end_date", f"the end date {dates['end_date']} is before the start date "
                         f"{dates['start_date']}: correct the dates (the end date is the last day of leave)")

    # extent
    percent, per_day, error = parse_extent(values.get("extent"))
    if values.get("hours_per_day") is not None and not _blank(values.get("hours_per_day")):
        _, per_day_col, error_col = parse_extent(values.get("hours_per_day"), hours_column=True)
        if error_col:
            flag("hours_per_day", f"hours per day: {error_col}; write a number such as 4 or 4,5")
            return None, out
        if not _blank(values.get("extent")) and percent is not None and percent != 100:
            flag("hours_per_day", "the row gives both an extent in percent and hours per day: "
                                  "keep one of them")
        percent, per_day, error = None, per_day_col, None
    if error:
        flag("extent", f"extent: {error}; write a percent (50 or 50 %) or hours per day (4 h): "
                       "this row is NOT loaded")
        return None, out
    if percent is not None and not 1 <= percent <= 100:
        flag("extent", f"the extent {percent.normalize():f} % is outside 1–100 %: write the share "
                       "of each scheduled day (100 = whole days), or hours per day as '4 h'")
    if per_day is not None and not 0 < per_day <= 24:
        flag("hours_per_day" if "hours_per_day" in column_of and "extent" not in column_of else "extent",
             f"{per_day.normalize():f} hours per day is outside 0–24: correct the extent")

    child, comment = _text(values.get("child")), _text(values.get("comment"))
    if rule is not None and rule.needs_child and not child and live:
        flag("child", f"{hr_type} is usually reported with the child it is for: fill in the child "
                      "(Kleer refuses the day when its activity requires a child)", blocking=False)
    if len(dates) < 2:
        return None, out
    leave = Leave(leave_id=leave_id, hr_id=hr_id, hr_type=hr_type, start=dates["start_date"],
                  end=dates["end_date"], percent=percent, hours_per_day=per_day, status=status,
                  child=child, comment=comment, version=_text(values.get("version")),
                  kleer_type=rule.kleer_type if rule else None,
                  activity=rule.activity if rule else None, row=row_no)
    return leave, out


def _overlaps(leaves: list[Leave], column_of: Mapping[str, str]) -> list[LeaveProblem]:
    """Approved or pending leaves of one employee whose days overlap; two percent leaves that
    together take at most 100 % of the day may (50 % parental leave + 50 % sick)."""
    by_employee: dict[str, list[Leave]] = defaultdict(list)
    for leave in leaves:
        if leave.status != CANCELLED and leave.hr_id and leave.start <= leave.end:
            by_employee[leave.hr_id].append(leave)
    out: list[LeaveProblem] = []
    column = column_of.get("start_date")
    for hr_id, group in by_employee.items():
        group.sort(key=lambda l: (l.start, l.row or 0))
        for i, a in enumerate(group):
            for b in group[i + 1:]:
                if b.start > a.end:
                    break
                if (a.percent is not None and b.percent is not None
                        and a.percent + b.percent <= 100):
                    continue
                for x, y in ((a, b), (b, a)):
                    out.append(LeaveProblem(
                        x.row or 0, x.leave_id, hr_id, column, "start_date",
                        f"overlaps leave {y.leave_id} (row {y.row}, {y.start} to {y.end}) of the "
                        "same employee: correct the dates, or cancel one of them"))
    return out
