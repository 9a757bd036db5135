"""Downloads: tables as CSV or XLSX bytes that a spreadsheet opens as data, never as formulas.

A text cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula
(or a DDE payload) to Excel, LibreOffice and Google Sheets: an HR file, a Kleer record or a name
typed by anyone could carry ``=HYPERLINK(...)`` into an analyst's spreadsheet. Every download of
the workbench (pages, CLI, audit export) goes through :func:`to_csv_bytes` or
:func:`to_xlsx_bytes`, which prefix such cells (and such column headers) with ``'`` so the
spreadsheet shows the text as it was. Numbers, dates and booleans are written as values and are
never touched: only text can be a formula.

>>> safe_cell("=1+1"), safe_cell("Anna"), safe_cell(-5)
("'=1+1", 'Anna', -5)
"""

from __future__ import annotations

import io
import re
from typing import Any

import pandas as pd

from .store import to_json

__all__ = ["FORMULA_PREFIXES", "safe_cell", "safe_frame", "to_csv_bytes", "to_json_bytes", "to_xlsx_bytes"]

#: The first characters that make a spreadsheet read a text cell as a formula.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: Any) -> Any:
    """``value`` with a ``'`` in front when it is text a spreadsheet would run as a formula.
    A dict, list, tuple or set (evidence, before/after values) becomes JSON text first."""
    if isinstance(value, (dict, list, tuple, set, frozenset)):
        value = to_json(value)
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def safe_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` with every text cell and column header passed through :func:`safe_cell`."""
    out = frame.copy()
    out.columns = [safe_cell(str(c)) for c in out.columns]
    for i in range(out.shape[1]):
        column = out.iloc[:, i]
        if not (pd.api.types.is_numeric_dtype(column) or pd.api.types.is_datetime64_any_dtype(column)
                or isinstance(column.dtype, pd.BooleanDtype)):
            out.isetitem(i, column.map(safe_cell).astype(object))
    return out


def to_json_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as a JSON list of records (UTF-8, readable; no formula concern in JSON)."""
    return frame.to_json(orient="records", force_ascii=False, indent=2).encode("utf-8")


def to_csv_bytes(frame: pd.DataFrame, *, sep: str = ",") -> bytes:
    """``frame`` as CSV in UTF-8 with a BOM (so Excel reads å, ä, ö right), formulas neutralised."""
    return safe_frame(frame).to_csv(index=False, sep=sep, lineterminator="\r\n").encode("utf-8-sig")


def to_xlsx_bytes(frame: pd.DataFrame, *, sheet_name: str = "Sheet1") -> bytes:
    """``frame`` as an XLSX workbook with one sheet, formulas neutralised."""
    out = safe_frame(frame)
    for i in range(out.shape[1]):  # Excel has no time zones: write UTC wall-clock time
        column = out.iloc[:, i]
        if isinstance(column.dtype, pd.DatetimeTZDtype):
            out.isetitem(i, column.dt.tz_convert("UTC").dt.tz_localize(None))
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        out.to_excel(writer, sheet_name=_sheet_title(sheet_name), index=False)
    return buffer.getvalue()


def _sheet_title(name: str) -> str:
    """Excel's rules for a sheet name: at most 31 characters, none of ``[]:*?/\\``."""
    return re.sub(r"[\[\]:*?/\\]", " ", str(name)).strip()[:31] or "Sheet1"
