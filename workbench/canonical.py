"""Normalising text columns fast: cells already in canonical form are recognised vectorised.

:func:`workbench.fields.normalize_columns` normalises each distinct cell of a column once with its
field's normaliser, in Python. In an HR export most cells are already canonical (``+46701234567``,
``19850312-2387``, ``2024-01-31``, ``anna@x.se``): for those the normaliser would return the
cell unchanged (or, for an employee number, its ``int``), and a vectorised test over the column's
distinct values (a regular expression plus, for dates and personnummer, a date and Luhn check
in numpy) proves it without calling the normaliser. Every other distinct cell still goes through
the field's normaliser, so values and messages are exactly those of
:func:`~workbench.fields.normalize_columns` (``tests/test_canonical.py`` holds the two side by
side on hostile input).

Each rule below decides only cells whose normalised form it can prove (anything else goes to the
normaliser):

* identifier (HR id): non-blank text without surrounding whitespace, as it is;
* name/text: printable Latin-1 text (no control or whitespace characters other than single inner
  spaces, so NFC and whitespace folding change nothing), a name with at least one letter;
* personnummer: ``YYYYMMDD-NNNN`` or ``YYYYMMDDNNNN`` (19xx/20xx) with a real date of birth
  (samordningsnummer day − 60) not after today and a valid Luhn digit, as ``YYYYMMDD-NNNN``;
  ten digits (``YYMMDD-NNNN``, ``+`` or no separator) likewise, their century inferred from
  today as the normaliser does;
* dates: ``YYYY-MM-DD`` (19xx/20xx) as it is, and ``DD/MM/YYYY``, ``DD.MM.YYYY``,
  ``DD-MM-YYYY`` (the first of the normaliser's formats they fit) as ISO, when a real date;
* email: ASCII ``local@domain.tld`` that, lower-cased, the normaliser's pattern accepts, no
  ``..``, a local part of at most 64 characters without a leading or trailing dot, at most 254
  in all: lower-cased;
* phone: ``+46…`` or ``0…`` (the next digit not 0) with spaces or dashes between digits and 9
  to 12 digits in E.164: as ``+46…``;
* postal code: five digits, also as ``123 45`` or ``123-45``: five digits;
* employee number (1–18 digits), monthly salary, tax table and column: plain digits within the
  normaliser's bounds, as ``int``; clearing (4–5) and account numbers (2–15): plain digits.
"""

from __future__ import annotations

import re
from datetime import date
from itertools import repeat
from operator import eq, is_not
from typing import Any, Callable, Mapping, Sequence

import numpy as np
import pandas as pd

from . import normalize as n
from .fields import FIELDS, Field, normalize_columns

__all__ = ["normalize_text_columns", "normalize_text_column", "text_columns", "canonical_mask"]

_TEXT = r"[!-~¡-ÿ]+(?: [!-~¡-ÿ]+)*"
_LOCAL = r"[a-z0-9_%+\-](?:[a-z0-9._%+\-]{0,62}[a-z0-9_%+\-])?"   # at most 64 characters
_LABEL = r"[a-z0-9](?:[a-z0-9\-]*[a-z0-9])?"
_EMAIL = rf"{_LOCAL}@{_LABEL}(?:\.{_LABEL})*\.[a-z]{{2,}}"


def _fullmatch(pattern: str, values: list[str]) -> np.ndarray:
    """``re.fullmatch(pattern, v)`` for every value, as a bool array (one C call per value)."""
    found = map(re.compile(pattern, re.ASCII).fullmatch, values)  # \d: 0-9 only
    return np.fromiter(map(is_not, found, repeat(None)), dtype=bool, count=len(values))


def _matching_rest(pattern: str, values: list[str], taken: np.ndarray) -> np.ndarray:
    """:func:`_fullmatch` for the values another pattern has not ``taken`` (False for those)."""
    out = np.zeros(len(values), dtype=bool)
    rest = np.flatnonzero(~taken)
    if len(rest):
        out[rest] = _fullmatch(pattern, [values[i] for i in rest.tolist()])
    return out


Rule = Callable[[list[str]], tuple[np.ndarray, list[Any]]]


def _same(pattern: str, convert: Callable[[str], Any] | None = None) -> Rule:
    """Cells matching ``pattern`` are canonical as they are (or as ``convert`` makes them)."""
    def rule(values: list[str]) -> tuple[np.ndarray, list[Any]]:
        ok = _fullmatch(pattern, values)
        return ok, values if convert is None else [convert(v) if k else None
                                                   for v, k in zip(values, ok)]
    return rule


def _identifier(values: list[str]) -> tuple[np.ndarray, list[Any]]:
    unchanged = np.fromiter(map(eq, values, map(str.strip, values)), dtype=bool, count=len(values))
    return unchanged & np.fromiter(map(bool, values), dtype=bool, count=len(values)), values


_LETTER = re.compile(r"[^\W\d_]")


def _name(values: list[str]) -> tuple[np.ndarray, list[Any]]:
    ok = _fullmatch(_TEXT, values)
    return ok & np.fromiter(map(is_not, map(_LETTER.search, values), repeat(None)), dtype=bool,
                            count=len(values)), values


def _digits(values: list[str], width: int) -> np.ndarray:
    """ASCII texts of one length as an (n, width) matrix of their characters minus ``"0"``."""
    return np.frombuffer("".join(values).encode("ascii"), dtype=np.uint8
                         ).reshape(-1, width).astype(np.int32) - 48


def _number(d: np.ndarray, start: int, width: int) -> np.ndarray:
    out = np.zeros(len(d), dtype=np.int32)
    for i in range(start, start + width):
        out = out * 10 + d[:, i]
    return out


_MONTH_DAYS = np.array([0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _real_date(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Whether (year, month, day) is a date of the Gregorian calendar."""
    ok = (month >= 1) & (month <= 12) & (day >= 1)
    longest = _MONTH_DAYS[np.clip(month, 0, 12)]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    longest = np.where((month == 2) & ~leap, 28, longest)
    return ok & (day <= longest)


def _dates(values: list[str]) -> tuple[np.ndarray, list[Any]]:
    """ISO dates as they are; ``31/01/2024``, ``31.01.2024`` and ``31-01-2024`` (day first, the
    first of the normaliser's formats they fit) as ISO."""
    iso = _fullmatch(r"(?:19|20)\d\d-\d\d-\d\d", values)
    dmy = _matching_rest(r"\d\d([/.\-])\d\d\1(?:19|20)\d\d", values, iso)
    out: list[Any] = [None] * len(values)
    for mask, y, m, d in ((iso, 0, 5, 8), (dmy, 6, 3, 0)):
        if not mask.any():
            continue
        idx = np.flatnonzero(mask)
        v = [values[i] for i in idx]
        digits = _digits(v, 10)
        good = _real_date(_number(digits, y, 4), _number(digits, m, 2), _number(digits, d, 2))
        mask[idx[~good]] = False
        for i, x, g in zip(idx.tolist(), v, good.tolist()):
            if g:
                out[i] = x if y == 0 else f"{x[6:10]}-{x[3:5]}-{x[0:2]}"
    return iso | dmy, out


def _email(values: list[str]) -> tuple[np.ndarray, list[Any]]:
    """As the normaliser lower-cases: ASCII addresses are tested (and kept) lower-cased."""
    lower = [v.lower() if v.isascii() else "" for v in values]
    ok = _fullmatch(_EMAIL, lower)
    n_ = len(lower)
    ok &= np.fromiter(map(len, lower), dtype=np.int64, count=n_) <= 254
    ok &= ~np.fromiter(map(str.__contains__, lower, repeat("..")), dtype=bool, count=n_)
    return ok, lower


def _phone(values: list[str]) -> tuple[np.ndarray, list[Any]]:
    """``+46…`` and ``0…`` with spaces or dashes between the digits, as E.164 (+46, the first
    digit after it not 0, 9 to 12 digits in all)."""
    intl = _fullmatch(r"\+46[ \-]?[1-9](?:[0-9 \-]*[0-9])?", values)
    national = _matching_rest(r"0[1-9](?:[0-9 \-]*[0-9])?", values, intl)
    ok = intl | national
    idx = np.flatnonzero(ok)
    digits = [values[i].replace(" ", "").replace("-", "").lstrip("+") for i in idx.tolist()]
    e164 = [d if k else "46" + d[1:] for d, k in zip(digits, intl[idx].tolist())]
    lengths = np.fromiter(map(len, e164), dtype=np.int64, count=len(e164))
    fits = (lengths >= 9) & (lengths <= 12)
    ok[idx[~fits]] = False
    out = np.full(len(values), None, dtype=object)
    out[idx[fits]] = _objects(["+" + e for e, k in zip(e164, fits.tolist()) if k])
    return ok, out.tolist()


_WEIGHTS = np.array([2, 1] * 5, dtype=np.int32)


def _ten_digit(values: list[str], today: date) -> list[str]:
    """``YYMMDD-NNNN`` (or ``+``, or no separator) as twelve digits ``YYYYMMDD-NNNN``, the
    century as :func:`workbench.normalize.personnummer` infers it on ``today``."""
    digits = [v.replace("-", "").replace("+", "") for v in values]
    d = _digits(digits, 10)
    yy, month, day = _number(d, 0, 2), _number(d, 2, 2), _number(d, 4, 2)
    real = np.where(day > 60, day - 60, day)
    year = today.year - ((today.year - yy) % 100)
    year -= 100 * ((year == today.year) & (month * 100 + real > today.month * 100 + today.day))
    year -= 100 * np.fromiter(("+" in v for v in values), dtype=bool, count=len(values))
    return [f"{y:04d}{x[2:6]}-{x[6:]}" for y, x in zip(year.tolist(), digits)]


def _pnr_birth(values: list[str]) -> tuple[np.ndarray, list[Any], np.ndarray]:
    """Personnummer of twelve digits (``YYYYMMDD-NNNN`` or without the dash, 19xx/20xx) or ten
    (``YYMMDD-NNNN``, ``+`` or no separator) that are valid as
    :func:`workbench.normalize.personnummer` with today's date finds them: their canonical
    form, and their birth dates as ISO text."""
    twelve = _fullmatch(r"(?:19|20)\d{6}-?\d{4}", values)
    ten = _matching_rest(r"\d{6}[\-+]?\d{4}", values, twelve)
    ok = twelve | ten
    out: list[Any] = [None] * len(values)
    birth = np.full(len(values), None, dtype=object)
    if not ok.any():
        return ok, out, birth
    today = date.today()
    idx = np.flatnonzero(ok)
    v = [x if len(x) == 13 else f"{x[:8]}-{x[8:]}" for x in (values[i] for i in idx)] \
        if not ten.any() else [None] * len(idx)
    if ten.any():
        long = twelve[idx]
        for k, i in enumerate(idx.tolist()):
            if long[k]:
                x = values[i]
                v[k] = x if len(x) == 13 else f"{x[:8]}-{x[8:]}"
        short = np.flatnonzero(~long)
        for k, x in zip(short.tolist(), _ten_digit([values[i] for i in idx[short].tolist()], today)):
            v[k] = x
    d = _digits(v, 13)
    year, month, day = _number(d, 0, 4), _number(d, 4, 2), _number(d, 6, 2)
    real = np.where(day > 60, day - 60, day)
    not_future = year * 10000 + month * 100 + real <= today.year * 10000 + today.month * 100 + today.day
    doubled = d[:, [2, 3, 4, 5, 6, 7, 9, 10, 11, 12]] * _WEIGHTS
    luhn = (doubled // 10 + doubled % 10).sum(axis=1) % 10 == 0
    good = _real_date(year, month, real) & not_future & luhn
    ok[idx[~good]] = False
    kept = idx[good]
    if len(kept):
        text = np.array(v, dtype="U13")[good]
        chars = text.view("U1").reshape(-1, 13)
        iso = np.empty((len(kept), 10), dtype="U1")   # YYYY-MM-DD, the day less 60 if over
        iso[:, 0:4], iso[:, 5:7], iso[:, 4], iso[:, 7] = chars[:, 0:4], chars[:, 4:6], "-", "-"
        r = real[good]
        iso[:, 8] = (r // 10 + 48).astype(np.uint32).view("U1")
        iso[:, 9] = (r % 10 + 48).astype(np.uint32).view("U1")
        out_array = np.empty(len(values), dtype=object)
        out_array[kept] = text.tolist()
        out = out_array.tolist()
        birth[kept] = iso.view("U10").ravel().tolist()
    return ok, out, birth


def _in_range(low: int, high: int) -> Callable[[str], int | None]:
    return lambda v: int(v) if low <= int(v) <= high else None


def _bounded(pattern: str, low: int, high: int) -> Rule:
    """Whole numbers written as plain digits, kept as ``int`` when within [low, high]."""
    inner = _same(pattern, _in_range(low, high))

    def rule(values: list[str]) -> tuple[np.ndarray, list[Any]]:
        ok, out = inner(values)
        return ok & np.fromiter(map(is_not, out, repeat(None)), dtype=bool, count=len(out)), out
    return rule


_RULES: Mapping[Callable[[Any], Any], Rule] = {
    n.identifier: _identifier,
    n.name: _name,
    n.text: _same(_TEXT),
    n.parse_date: _dates,
    n.email: _email,
    n.phone: _phone,
    n.postal_code: _same(r"[0-9]{3}[ \-]?[0-9]{2}", lambda v: v.replace(" ", "").replace("-", "")),
    n.employee_number: _same(r"[0-9]{1,18}", int),
    n.monthly_salary: _bounded(r"[0-9]{1,8}", 0, 10_000_000),
    n.tax_table: _bounded(r"[0-9]{1,2}", 29, 42),
    n.tax_table_column: _bounded(r"[0-9]", 1, 6),
    n.clearing_nr: _same(r"[0-9]{4,5}"),
    n.account_nr: _same(r"[0-9]{2,15}"),
}


def _decide(f: Field, values: list[str]) -> tuple[np.ndarray, list[Any], np.ndarray | None]:
    if f.normalize is n.personnummer:
        return _pnr_birth(values)
    rule = _RULES.get(f.normalize)
    if rule is None or not values:
        return np.zeros(len(values), dtype=bool), [None] * len(values), None
    ok, out = rule(values)
    return ok, out, None


def canonical_mask(f: Field, values: Sequence[str]) -> np.ndarray:
    """Which of ``values`` (text) the rules of the module docstring decide without the field's
    normaliser; False where unsure."""
    return _decide(f, list(values))[0]


def _objects(items: list[Any]) -> np.ndarray:
    """A 1-d object array of ``items`` as they are (numpy would nest a sequence)."""
    out = np.empty(len(items), dtype=object)
    out[:] = items
    return out


def _column(f: Field, column: Sequence[Any]
            ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """Values and errors (None when no cell has one) of one text column (and, for the
    personnummer, the birth date of each valid cell), each distinct cell decided once."""
    if f.normalize in _DISTINCT and _mostly_distinct(column):
        return _distinct_column(f, column)
    codes, uniques = pd.factorize(np.asarray(column, dtype=object))
    u = uniques.tolist()
    size = len(u)
    values = np.full(size + 1, None, dtype=object)   # the last slot: a missing cell (None)
    errors = np.full(size + 1, None, dtype=object)
    fast, decided, fast_birth = _decide(f, u)
    birth = None
    if f.normalize is n.personnummer:
        birth = np.full(size + 1, None, dtype=object)
        birth[:size] = fast_birth
    if fast.any():
        values[:size][fast] = _objects(decided)[fast]
    refused = False
    for i in np.flatnonzero(~fast).tolist():
        value = u[i]
        result = f.normalize(value)
        if result.error:
            values[i] = None if n.is_missing(value) else str(value).strip()
            errors[i], refused = result.error, True
        else:
            values[i] = result.value
            if birth is not None:
                birth[i] = n.birth_date_from_personnummer(result).value
    # a missing cell, as the normaliser has it
    result = f.normalize(None)
    values[size], errors[size] = result.value, result.error
    refused = refused or (bool(result.error) and bool((codes < 0).any()))
    return (values[codes], errors[codes] if refused else None,
            birth[codes] if birth is not None else None)


#: The fields whose cells are mostly distinct in an HR file: one per employee.
_DISTINCT = frozenset({n.identifier, n.personnummer, n.email, n.phone, n.employee_number,
                       n.account_nr})


def _mostly_distinct(column: Sequence[Any]) -> bool:
    """Whether most of the column's first cells differ (ids, numbers, addresses) and none is
    missing: then telling the distinct cells apart first costs more than it saves."""
    head = column[:512]
    return len(head) >= 64 and len(set(head)) * 4 > len(head) * 3 and None not in column


def _distinct_column(f: Field, column: Sequence[Any]
                     ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray | None]:
    """:func:`_column` deciding every cell (text, none missing), the others each distinct
    one once."""
    cells = list(column)
    fast, decided, birth = _decide(f, cells)
    values = _objects(decided)
    slow = np.flatnonzero(~fast).tolist()
    if not slow:
        return values, None, birth if f.normalize is n.personnummer else None
    errors = np.full(len(cells), None, dtype=object)
    if f.normalize is n.personnummer and birth is None:
        birth = np.full(len(cells), None, dtype=object)
    done: dict[str, tuple[Any, Any, Any]] = {}
    for i in slow:
        value = cells[i]
        if value not in done:
            result = f.normalize(value)
            if result.error:
                done[value] = (None if n.is_missing(value) else str(value).strip(), result.error, None)
            else:
                done[value] = (result.value, None, n.birth_date_from_personnummer(result).value
                               if f.normalize is n.personnummer else None)
        values[i], errors[i], b = done[value]
        if birth is not None:
            birth[i] = b
    refused = any(done[cells[i]][1] for i in slow)
    return values, errors if refused else None, birth if f.normalize is n.personnummer else None


def normalize_text_column(f: Field, column: Sequence[str | None]) -> tuple[list[Any], list[str | None]]:
    """One text column's canonical values (a refused cell kept as its stripped text, a blank one
    None) and errors, as :func:`workbench.fields.normalize_columns` has them."""
    values, errors, _ = _column(f, column)
    return values.tolist(), [None] * len(values) if errors is None else errors.tolist()


def normalize_text_columns(columns: Mapping[str, Sequence[Any]]
                           ) -> list[tuple[dict[str, Any], dict[str, str]]] | None:
    """:func:`workbench.fields.normalize_columns` for columns of text (``str`` or ``None``
    cells, as a CSV gives them), with canonical cells recognised vectorised; ``None`` when a
    column holds anything else (typed spreadsheet cells: use ``normalize_columns``)."""
    done = text_columns(columns)
    if done is None:
        return None
    values, problems = done
    keys = list(values)
    lists = [v.tolist() for v in values.values()]
    return [(dict(zip(keys, row)), problems.get(i, {})) for i, row in enumerate(zip(*lists))]


def text_columns(columns: Mapping[str, Sequence[Any]], *, text: bool = False
                 ) -> tuple[dict[str, np.ndarray], dict[int, dict[str, str]]] | None:
    """:func:`normalize_text_columns` a column at a time: every field key (table order) → its
    values as an object array, and the problems of the rows that have any (row index →
    field → message, in the order :func:`~workbench.fields.normalize_columns` gives them);
    ``None`` when a column holds anything but text (``text``: the caller knows it does not)."""
    fields = [f for f in FIELDS if f.key in columns]
    if not text and any(not set(map(type, columns[f.key])) <= {str, type(None)} for f in fields):
        return None
    lengths = {len(columns[f.key]) for f in fields}
    if len(lengths) > 1:
        raise ValueError(f"columns of different lengths: {sorted(lengths)}")
    rows = lengths.pop() if lengths else 1
    if not fields:
        normalized = normalize_columns(columns)
        return ({k: _objects([r[k] for r, _ in normalized]) for k in (f.key for f in FIELDS)},
                {i: p for i, (_, p) in enumerate(normalized) if p})
    none = np.full(rows, None, dtype=object)
    values: dict[str, np.ndarray] = {}
    errors: dict[str, np.ndarray] = {}
    birth_from_ssn = none
    for f in FIELDS:
        if f.key not in columns:
            result = f.normalize(None)
            values[f.key] = np.full(rows, result.value, dtype=object)
            if result.error:  # no normaliser refuses a missing value today; kept for equality
                errors[f.key] = np.full(rows, result.error, dtype=object)
            continue
        v, e, b = _column(f, columns[f.key])
        values[f.key] = v
        if e is not None:
            errors[f.key] = e
        if b is not None:
            birth_from_ssn = b
    problems: dict[int, dict[str, str]] = {}
    for key, column_errors in errors.items():
        for i in np.flatnonzero(column_errors != None).tolist():  # noqa: E711 (elementwise)
            problems.setdefault(i, {})[key] = column_errors[i]
    # a missing birth date is read from a valid personnummer
    fill = (values["birth_date"] == None) & (birth_from_ssn != None)  # noqa: E711 (elementwise)
    if fill.any():
        values["birth_date"] = values["birth_date"].copy()
        values["birth_date"][fill] = birth_from_ssn[fill]
    no_name = (values["first_name"] == None) & (values["last_name"] == None)  # noqa: E711
    for i in np.flatnonzero(no_name).tolist():
        if "first_name" not in problems.get(i, ()):
            problems.setdefault(i, {})["first_name"] = "empty name"
    return values, problems
