"""An HR file's records a column at a time, and the checks across a row's fields, vectorised.

:func:`column_records` turns the data rows of a read file (header → cells) into
:class:`HrColumns`: every field's canonical values for the rows that are loaded, each row's
problems, and the spreadsheet row numbers. Matching builds its frame straight from the columns
(:meth:`HrColumns.frame`); :meth:`HrColumns.records` makes the per-row dicts that loading,
reloading and writing back take, exactly as the reader gave them before it worked column-wise.

The checks across fields (blank names, a birth date that disagrees with the personnummer, an
employment start before birth or before the age of 16) are :func:`_row_checks` done over whole
columns with numpy; a row whose values are not in the canonical text forms the vectorised test
reads goes through :func:`_row_checks` itself, so messages and rows are exactly the same
(``tests/test_hr_columns.py`` holds the two side by side).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Mapping

import numpy as np
import pandas as pd

from .canonical import text_columns
from .errors import SourceError
from .fields import FIELD, FIELDS, normalize_columns
from .normalize import personnummer

__all__ = ["HrColumns", "RowProblem", "column_records", "NO_ID", "BLANK_NAME", "MIN_WORKING_AGE"]

NO_ID = "no HR id: this row is NOT loaded (add its id in the file, or map the id column, and load again)"
BLANK_NAME = "{label} is blank (or only spaces): fill it in in the HR system and load again; the row is loaded without it"
MIN_WORKING_AGE = 16


@dataclass(frozen=True, slots=True)
class RowProblem:
    row: int            # the row number as a spreadsheet shows it (header = 1)
    hr_id: str | None
    column: str | None  # the file's own header
    field: str | None   # the canonical field key
    message: str
    severity: str = "error"  # "warning": worth a look, the value is kept and used

    def __str__(self) -> str:
        where = f"row {self.row}" + (f", column {self.column!r}" if self.column else "")
        return f"{where}: " + ("warning: " if self.severity == "warning" else "") + self.message


class _ExcelError(str):
    """A cell showing an Excel error such as ``#N/A``: reported, and read as empty."""


@dataclass(frozen=True)
class HrColumns:
    """The loaded rows of an HR file, a column at a time."""

    #: every field key, in table order → the canonical values of the loaded rows
    values: dict[str, list[Any]]
    #: each loaded row's problems (field → message); None for a row without any
    problems: list[dict[str, str] | None]
    #: the spreadsheet row number of each loaded row
    rows: list[int]

    def __len__(self) -> int:
        return len(self.rows)

    def records(self) -> list[dict[str, Any]]:
        """One dict per loaded row: every field, then ``problems`` and ``source_row``."""
        keys = list(self.values)
        out: list[dict[str, Any]] = []
        for row, problems, source_row in zip(zip(*self.values.values()), self.problems, self.rows):
            record = dict(zip(keys, row))
            record["problems"] = {} if problems is None else problems
            record["source_row"] = source_row
            out.append(record)
        return out

    def frame(self) -> pd.DataFrame:
        """``pd.DataFrame(records)``, built from the columns."""
        return pd.DataFrame({**self.values,
                             "problems": [{} if p is None else dict(p) for p in self.problems],
                             "source_row": self.rows})


def _typed_columns(by_field: Mapping[str, list[Any]]
                   ) -> tuple[dict[str, np.ndarray], dict[int, dict[str, str]]]:
    """:func:`~workbench.fields.normalize_columns` (typed spreadsheet cells) in the column form
    of :func:`~workbench.canonical.text_columns`."""
    normalized = normalize_columns(by_field)
    values = {}
    for f in FIELDS:
        column = np.empty(len(normalized), dtype=object)
        column[:] = [record[f.key] for record, _ in normalized]
        values[f.key] = column
    return values, {i: p for i, (_, p) in enumerate(normalized) if p}


def column_records(name: str, row_numbers: list[int], columns: dict[str, list[Any]],
                   used: dict[str, str | None], *, excel: bool, id_column: str | None = None,
                   today: date | None = None) -> tuple[HrColumns, list[RowProblem]]:
    """Normalise the data rows (``columns``: header → values); raise on duplicate HR ids; list
    the problems, id-less rows first. With ``excel``, error cells (#N/A) are read as empty and
    reported."""
    header_of = {k: h for h, k in used.items() if k}
    if id_column is not None:
        header_of["hr_id"] = id_column
    by_field: dict[str, list[Any]] = {}
    excel_errors: list[tuple[int, str, str]] = []  # (index in body, field, error text)
    for key, header in header_of.items():
        values = columns[header]
        if excel:
            excel_errors += [(j, key, str(v)) for j, v in enumerate(values) if isinstance(v, _ExcelError)]
            values = [None if isinstance(v, _ExcelError) else v for v in values]
        by_field[key] = values
    done = text_columns(by_field, text=not excel)  # a CSV's text, canonical cells vectorised
    values, problems = done if done is not None else _typed_columns(by_field)
    for j, key, text in excel_errors:
        problems.setdefault(j, {})[key] = f"the cell shows an Excel error ({text}), not a value"
    today = today or date.today()
    warnings = row_checks(values, problems, set(by_field), today)

    ids = values["hr_id"].tolist()
    loaded = [j for j, hr_id in enumerate(ids) if hr_id]
    id_header = header_of.get("hr_id")
    skipped: list[RowProblem] = []
    if len(loaded) < len(ids):
        for j in (j for j, hr_id in enumerate(ids) if not hr_id):
            row_problems = problems.get(j, {})
            message = NO_ID if "hr_id" not in row_problems else f"{row_problems['hr_id']}: {NO_ID}"
            skipped.append(RowProblem(row_numbers[j], None, id_header, "hr_id", message))
    if not loaded:
        raise SourceError(
            f"{name}: no row has an HR id: column {id_header!r} is empty in all {len(skipped)} rows. "
            "Map the column that holds the ids in the column mapping editor, or fill them in.",
            problems=[(p.row, id_header, "no HR id") for p in skipped])
    loaded_ids = [ids[j] for j in loaded]
    if len(set(loaded_ids)) < len(loaded_ids):
        _duplicates(name, id_header, loaded_ids, [row_numbers[j] for j in loaded])

    listed: list[RowProblem] = []
    for j in sorted(problems.keys() | warnings.keys()):
        hr_id = ids[j]
        if not hr_id:
            continue
        row_no = row_numbers[j]
        for key, message in problems.get(j, {}).items():
            listed.append(RowProblem(row_no, hr_id, header_of.get(key), key, message))
        for key, message in warnings.get(j, {}).items():
            listed.append(RowProblem(row_no, hr_id, header_of.get(key), key, message, "warning"))
    every = len(loaded) == len(ids)
    taken = slice(None) if every else np.asarray(loaded, dtype=np.intp)
    out = HrColumns(values={k: v[taken].tolist() for k, v in values.items()},
                    problems=[problems.get(j) for j in loaded],
                    rows=list(row_numbers) if every else [row_numbers[j] for j in loaded])
    return out, skipped + listed


def _duplicates(name: str, column: str | None, ids: list[str], rows: list[int]) -> None:
    first_row: dict[str, int] = {}
    duplicates: list[tuple[str, int, int]] = []
    for hr_id, row_no in zip(ids, rows):
        if hr_id in first_row:
            duplicates.append((hr_id, first_row[hr_id], row_no))
        else:
            first_row[hr_id] = row_no
    listed = "; ".join(f"{h!r} on rows {a} and {b}" for h, a, b in duplicates[:10])
    more = f" (and {len(duplicates) - 10} more)" if len(duplicates) > 10 else ""
    raise SourceError(
        f"{name}: duplicate HR ids in column {column!r}: {listed}{more}. Each employee needs a "
        "unique id: correct the file and load it again.",
        problems=[(b, column, f"duplicate HR id {h!r} (also on row {a})") for h, a, b in duplicates])


# --------------------------------------------------------------------------- checks across fields

def _years(born: date, on: date) -> int:
    return on.year - born.year - ((on.month, on.day) < (born.month, born.day))


def _row_checks(record: dict[str, Any], problems: dict[str, str], given: set[str], today: date,
                births: Mapping[str, str] | None = None) -> dict[str, str]:
    """Checks across a row's fields, after each field is normalised: blank names, a birth date
    that disagrees with the personnummer, an employment start before birth (errors, added to
    ``problems``) and before the age of 16 (a warning, returned). The values stay as they are.
    ``births`` (personnummer → its birth date) spares parsing a personnummer again."""
    for key in ("first_name", "last_name"):
        if record.get(key) is None and (key not in problems or problems[key] == "empty name"):
            problems[key] = BLANK_NAME.format(label=FIELD[key].label)
    ssn = record.get("ssn")
    pnr_birth = None  # the personnummer's birth date, when it is valid
    if ssn and "ssn" not in problems:
        pnr_birth = births.get(ssn) if births else None
        if pnr_birth is None:
            pnr = personnummer(ssn, today=today)
            pnr_birth = pnr.birth_date.isoformat() if pnr.ok else None
    birth = record.get("birth_date")
    if pnr_birth is not None and "birth_date" in given and birth and "birth_date" not in problems \
            and birth != pnr_birth:
        problems["birth_date"] = _disagrees(birth, pnr_birth)
    warnings: dict[str, str] = {}
    start = record.get("employment_start_date")
    if not start or "employment_start_date" in problems:
        return warnings
    born_text = pnr_birth if pnr_birth is not None else \
        (birth if birth and "birth_date" not in problems else None)
    try:
        born, began = date.fromisoformat(born_text), date.fromisoformat(start)
    except (TypeError, ValueError):
        return warnings
    if began < born:
        problems["employment_start_date"] = _before_birth(start, born_text)
    elif _years(born, began) < MIN_WORKING_AGE:
        warnings["employment_start_date"] = _too_young(start, _years(born, began), born_text)
    return warnings


def _disagrees(birth: Any, pnr_birth: str) -> str:
    return (f"birth date {birth} disagrees with the personnummer, which says "
            f"{pnr_birth}: correct the one that is wrong in the HR system")


def _before_birth(start: Any, born_text: str) -> str:
    return (f"employment starts {start}, before the birth date {born_text}: correct the start "
            "date (or the birth date) in the HR system")


def _too_young(start: Any, years: int, born_text: str) -> str:
    return (f"employment starts {start}, at the age of {years} (born {born_text}): check the "
            "start date and the birth date")


_ZERO, _DASH = ord("0"), ord("-")
_ISO_DIGITS = [0, 1, 2, 3, 5, 6, 8, 9]


def _chars(texts: list[Any], width: int) -> tuple[np.ndarray, np.ndarray]:
    """Which of ``texts`` are ``str`` of exactly ``width`` characters, and their code points
    (an (n, width) matrix, zero for the others)."""
    try:  # text, as normalised cells are: their lengths at C speed
        ok = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)) == width
        ok &= np.fromiter(map(type, texts), dtype=object, count=len(texts)) == str
    except TypeError:  # a cell without a length (a number)
        ok = np.fromiter((type(t) is str and len(t) == width for t in texts), dtype=bool,
                         count=len(texts))
    fixed = np.array(texts if ok.all() else [t if k else "" for t, k in zip(texts, ok.tolist())],
                     dtype=f"U{width}")
    return ok, fixed.view(np.uint32).reshape(len(texts), width)


def _iso_days(texts: list[Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """For ``YYYY-MM-DD`` texts in ASCII digits: which are, and their year, month and day."""
    ok, c = _chars(texts, 10)
    d = c[:, _ISO_DIGITS].astype(np.int64) - _ZERO
    ok &= ((d >= 0) & (d <= 9)).all(axis=1) & (c[:, 4] == _DASH) & (c[:, 7] == _DASH)
    year = d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]
    return ok, year, d[:, 4] * 10 + d[:, 5], d[:, 6] * 10 + d[:, 7]


_MONTH_DAYS = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _real(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Whether (year, month, day) is a date ``datetime.date`` takes."""
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    longest = np.where((month == 2) & ~leap, 28, _MONTH_DAYS[np.clip(month, 0, 12)])
    return (year >= 1) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= longest)


def _pnr_births(ssn: list[Any], candidates: np.ndarray, today: date) -> np.ndarray:
    """The birth date (ISO text) of every candidate personnummer, as :func:`_row_checks` finds
    it: by slicing a canonical ``YYYYMMDD-NNNN`` not after ``today``, else by parsing it."""
    out = np.full(len(ssn), None, dtype=object)
    idx = np.flatnonzero(candidates)
    texts = [ssn[i] for i in idx.tolist()]
    ok, c = _chars(texts, 13)
    d = c.astype(np.int64) - _ZERO
    digits = np.r_[0:8, 9:13]
    ok &= ((d[:, digits] >= 0) & (d[:, digits] <= 9)).all(axis=1) & (c[:, 8] == _DASH)
    day = d[:, 6] * 10 + d[:, 7]
    day = np.where(day > 60, day - 60, day)
    number = (d[:, 0] * 1000 + d[:, 1] * 100 + d[:, 2] * 10 + d[:, 3]) * 10000 + \
        (d[:, 4] * 10 + d[:, 5]) * 100 + day
    ok &= number <= today.year * 10000 + today.month * 100 + today.day
    if ok.any():
        iso = np.empty((int(ok.sum()), 10), dtype=np.uint32)
        iso[:, 0:4], iso[:, 5:7] = c[ok, 0:4], c[ok, 4:6]
        iso[:, 4] = iso[:, 7] = _DASH
        iso[:, 8], iso[:, 9] = day[ok] // 10 + _ZERO, day[ok] % 10 + _ZERO
        out[idx[ok]] = iso.view("U10").ravel().tolist()
    for i in idx[~ok].tolist():
        pnr = personnummer(ssn[i], today=today)
        out[i] = pnr.birth_date.isoformat() if pnr.ok else None
    return out


def row_checks(values: Mapping[str, np.ndarray], problems: dict[int, dict[str, str]],
               given: set[str], today: date) -> dict[int, dict[str, str]]:
    """:func:`_row_checks` for every row at once: ``values`` (field → object array) are left as
    they are, errors are added to ``problems`` (row index → field → message) and the warnings
    returned the same way."""
    rows = len(values["hr_id"])

    def has(key: str) -> np.ndarray:
        out = np.zeros(rows, dtype=bool)
        out[[i for i, p in problems.items() if key in p]] = True
        return out

    for key in ("first_name", "last_name"):
        for i in np.flatnonzero(values[key] == None).tolist():  # noqa: E711 (elementwise)
            row = problems.get(i)
            if row is None or key not in row or row[key] == "empty name":
                problems.setdefault(i, {})[key] = BLANK_NAME.format(label=FIELD[key].label)
    ssn = values["ssn"].tolist()
    candidates = np.fromiter(map(bool, ssn), dtype=bool, count=rows) & ~has("ssn")
    pnr_birth = _pnr_births(ssn, candidates, today)
    has_pnr = pnr_birth != None  # noqa: E711 (elementwise)
    birth = values["birth_date"].tolist()
    if "birth_date" in given:
        check = has_pnr & np.fromiter(map(bool, birth), dtype=bool, count=rows) & ~has("birth_date")
        idx = np.flatnonzero(check)
        said = [pnr_birth[i] for i in idx.tolist()]
        for i, pnr in zip(idx.tolist(), said):
            if birth[i] != pnr:
                problems.setdefault(i, {})["birth_date"] = _disagrees(birth[i], pnr)
    warnings: dict[int, dict[str, str]] = {}
    start = values["employment_start_date"].tolist()
    check = np.fromiter(map(bool, start), dtype=bool, count=rows) & ~has("employment_start_date")
    if not check.any():
        return warnings
    birth_ok = np.fromiter(map(bool, birth), dtype=bool, count=rows) & ~has("birth_date")
    born_text = np.where(has_pnr, pnr_birth, np.where(birth_ok, values["birth_date"], None))
    idx = np.flatnonzero(check & (born_text != None))  # noqa: E711 (elementwise)
    if not len(idx):
        return warnings
    born = born_text[idx].tolist()
    began = [start[i] for i in idx.tolist()]
    ok_born, by, bm, bd = _iso_days(born)
    ok_began, sy, sm, sd = _iso_days(began)
    fast = ok_born & ok_began
    real = _real(by, bm, bd) & _real(sy, sm, sd)
    before = (sy * 10000 + sm * 100 + sd) < (by * 10000 + bm * 100 + bd)
    years = sy - by - ((sm * 100 + sd) < (bm * 100 + bd))
    for k in np.flatnonzero(fast & real & (before | (years < MIN_WORKING_AGE))).tolist():
        i = int(idx[k])
        if before[k]:
            problems.setdefault(i, {})["employment_start_date"] = _before_birth(began[k], born[k])
        else:
            warnings[i] = {"employment_start_date": _too_young(began[k], int(years[k]), born[k])}
    for k in np.flatnonzero(~fast).tolist():  # not plain ISO text: as the row-wise check does
        i = int(idx[k])
        try:
            b, s = date.fromisoformat(born[k]), date.fromisoformat(began[k])
        except (TypeError, ValueError):
            continue
        if s < b:
            problems.setdefault(i, {})["employment_start_date"] = _before_birth(began[k], born[k])
        elif _years(b, s) < MIN_WORKING_AGE:
            warnings[i] = {"employment_start_date": _too_young(began[k], _years(b, s), born[k])}
    return warnings
