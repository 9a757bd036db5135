"""Downloads: tables as CSV or XLSX bytes that a spreadsheet opens as data, never as formulas.

An HR file, a Kleer record or a name typed by anyone could carry ``=HYPERLINK(...)`` into an
analyst's spreadsheet. Every download of the workbench (pages, CLI, audit export) goes through
:func:`to_csv_bytes` or :func:`to_xlsx_bytes`, which follow the one rule of
:mod:`workbench.cells`: in CSV only a text cell (or header) a spreadsheet would really evaluate
gets a ``'`` in front, so a phone number ``+46701234567`` or an amount ``-1500`` stays exactly as
it was; in XLSX every text cell is a string cell and keeps its exact text. Numbers, dates and
booleans are written as values and are never touched: only text can be a formula.

>>> safe_cell("=1+1"), safe_cell("+46701234567"), safe_cell("Anna"), safe_cell(-5)
("'=1+1", '+46701234567', 'Anna', -5)
"""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np
import pandas as pd

from .cells import csv_safe, xlsx_text_cells

__all__ = ["FORMULA_PREFIXES", "safe_cell", "safe_frame", "to_csv_bytes", "to_json_bytes", "to_xlsx_bytes"]

#: The first characters with which a text cell MAY be a formula (see :func:`workbench.cells.is_formula`
#: for which of them really are).
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` with a ``'`` in front when it is text a spreadsheet would really evaluate as a
    formula (:func:`workbench.cells.is_formula`); everything else exactly as it was. A dict,
    list, tuple or set (evidence, before/after values) becomes JSON text first."""
    if isinstance(value, (dict, list, tuple, set, frozenset)):
        value = _to_json(value)
    return csv_safe(value)


def _as_text(value: Any) -> Any:
    if isinstance(value, (dict, list, tuple, set, frozenset)):
        return _to_json(value)
    return value


def _to_json(value: Any) -> str:
    """:func:`workbench.store.to_json`, imported when first needed (the store is a big import
    that writing a table of text never needs)."""
    from .store import to_json

    return to_json(value)


#: A text cell can only be a formula when its first character is one of these
#: (:func:`workbench.cells.is_formula` looks through leading tabs and line breaks, then needs
#: one of ``= + - @``).
_MAY_START = frozenset(FORMULA_PREFIXES + ("\n",))


def _safe_values(values: list[Any]) -> list[Any]:
    """:func:`safe_cell` of every value, called only where it can change something: text
    starting with a formula character, and anything that is not text (dicts become JSON)."""
    return [v if type(v) is str and (not v or v[0] not in _MAY_START) else safe_cell(v)
            for v in values]


def _left_alone(column: pd.Series) -> bool:
    """Whether :func:`safe_frame` keeps the column as it is (numbers, dates, booleans)."""
    return (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_datetime64_any_dtype(column)
            or isinstance(column.dtype, pd.BooleanDtype))


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell and column header passed through :func:`safe_cell`."""
    out = frame.copy()
    out.columns = [safe_cell(str(c)) for c in out.columns]
    for i in range(out.shape[1]):
        column = out.iloc[:, i]
        if not _left_alone(column):
            out.isetitem(i, pd.Series(_safe_values(column.tolist()), index=column.index,
                                      dtype=object))
    return out


def to_json_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as a JSON list of records (UTF-8, readable; no formula concern in JSON)."""
    return frame.to_json(orient="records", force_ascii=False, indent=2).encode("utf-8")


def to_csv_bytes(frame: pd.DataFrame, *, sep: str = ",") -> bytes:
    """``frame`` as CSV in UTF-8 with a BOM (so Excel reads å, ä, ö right), formulas neutralised."""
    fast = _csv_text(frame, sep)
    if fast is not None:
        return fast.encode("utf-8-sig")
    return safe_frame(frame).to_csv(index=False, sep=sep, lineterminator="\r\n"
                                    ).encode("utf-8-sig")


def _csv_cells(column: pd.Series) -> list[str] | None:
    """A column's cells as :meth:`pandas.DataFrame.to_csv` writes them (missing as ""), for the
    kinds of column it writes plainly: text, whole numbers, floats, booleans; None otherwise."""
    dtype = column.dtype
    if pd.api.types.is_bool_dtype(dtype) and not column.hasnans:
        return ["True" if v else "False" for v in column.tolist()]
    if pd.api.types.is_integer_dtype(dtype) and not column.hasnans:
        return list(map(str, column.tolist()))
    if dtype == "float64":  # to_csv writes numpy's shortest repr, a missing value as ""
        values = column.to_numpy()
        text = values.astype(str)
        text[np.isnan(values)] = ""
        return text.tolist()
    if dtype == object or isinstance(dtype, pd.StringDtype):
        values = column.to_numpy(dtype=object, na_value=None) if dtype != object else column.tolist()
        return _text_cells(values)
    return None


def _text_cells(values: list[Any]) -> list[str] | None:
    """Text cells (missing as ""), or None when there are numbers, dates … among the text."""
    if not all(type(v) is str or v is None for v in values):
        values = [None if v is pd.NA or (type(v) is float and v != v) else v for v in values]
        if not all(type(v) is str or v is None for v in values):
            return None  # numbers, dates … among text: to_csv's own formatting
    return ["" if v is None else v for v in values]


def _safe_cells(column: pd.Series) -> list[str] | None:
    """:func:`_csv_cells` of the column as :func:`safe_frame` makes it, without the copy."""
    if _left_alone(column):
        return _csv_cells(column)
    values = _safe_values(column.tolist())
    try:
        "".join(values)  # only text (the usual case), checked at C speed
    except TypeError:
        return _text_cells(values)
    return values


def _csv_text(frame: pd.DataFrame, sep: str) -> str | None:
    """What ``frame.to_csv(index=False, sep=sep, lineterminator="\\r\\n")`` writes, built
    column by column (quoting as the csv module's QUOTE_MINIMAL: a cell holding the delimiter,
    a quote or a line break is quoted, its quotes doubled); None when a column is of a kind
    :func:`_csv_cells` leaves to pandas. Three times as fast as pandas on a wide text table."""
    if frame.shape[1] < 2 or len(sep) != 1 or sep in '"\r\n\0':
        return None  # one column: the csv module quotes an empty row ('""'); keep its rules
    cells = []
    for i in range(frame.shape[1]):
        column = _safe_cells(frame.iloc[:, i])
        if column is None:
            return None
        cells.append(column)

    def quoted(values: list[str]) -> list[str]:
        every = "\0".join(values)  # one look at the whole column: most need no quotes
        if sep not in every and '"' not in every and "\n" not in every and "\r" not in every:
            return values
        return ['"' + v.replace('"', '""') + '"'
                if sep in v or '"' in v or "\n" in v or "\r" in v else v for v in values]

    header = sep.join(quoted([safe_cell(str(c)) for c in frame.columns]))
    rows = zip(*map(quoted, cells))
    return "\r\n".join([header, *[sep.join(row) for row in rows]]) + "\r\n"


def to_xlsx_bytes(frame: pd.DataFrame, *, sheet_name: str = "Sheet1") -> bytes:
    """``frame`` as an XLSX workbook with one sheet: every text cell (and header) is a string
    cell with its exact text, never a formula."""
    out = frame.copy()
    out.columns = [str(c) for c in out.columns]
    for i in range(out.shape[1]):
        if out.iloc[:, i].dtype == object:
            out.isetitem(i, out.iloc[:, i].map(_as_text).astype(object))
    for i in range(out.shape[1]):  # Excel has no time zones: write UTC wall-clock time
        column = out.iloc[:, i]
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            out.isetitem(i, column.dt.tz_convert("UTC").dt.tz_localize(None))
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        out.to_excel(writer, sheet_name=_sheet_title(sheet_name), index=False)
        for sheet in writer.sheets.values():
            xlsx_text_cells(sheet)
    return buffer.getvalue()


def _sheet_title(name: str) -> str:
    """Excel's rules for a sheet name: at most 31 characters, none of ``[]:*?/\\``."""
    return re.sub(r"[\[\]:*?/\\]", " ", str(name)).strip()[:31] or "Sheet1"
