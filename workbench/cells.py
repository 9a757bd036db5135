"""Formula-safe cells without altering data: the one rule every download and HR file follows.

A spreadsheet that opens a CSV evaluates some text cells as formulas (``=HYPERLINK(...)``,
``=cmd|' /C calc'!A0``): a name typed into an HR system or Kleer by anyone could run in an
analyst's Excel. Guarding every cell that *starts* with ``+`` or ``-`` (the common advice)
alters real data: an E.164 phone number ``+46701234567`` or an amount ``-1500`` would gain a
``'``. So the workbench guards only what Excel and LibreOffice would really evaluate.

The rule, for a text cell in a CSV (:func:`is_formula`, :func:`csv_safe`):

* leading tabs, carriage returns and line feeds are looked through (some importers drop them and
  evaluate the rest), then
* ``=`` or ``@`` followed by anything is a formula (``=1+1``, ``=SUM(A1)``, ``@cmd``);
* ``+`` or ``-`` is a formula unless what follows is a plain number: digits, spaces (also
  no-break), ``.`` and ``,``, and at most a final ``%``. So ``+46701234567``,
  ``+46 70 123 45 67``, ``-1500``, ``-1 500,50`` and ``-15%`` stay exactly as they were, while
  ``+SUM(1)``, ``-2+3`` and ``+46-70-123`` (arithmetic to a spreadsheet) are formulas;
* anything else (``Anna``, ``a=b``, `` =x`` with a leading space, a lone ``=``) is text.

A formula cell is written with a ``'`` in front, which the spreadsheet shows as text. Numbers,
dates and booleans are values, never formulas, and are never touched.

In XLSX there is nothing to prefix: a cell's type is stored in the file, so every text cell is
written as a string cell (``data_type 's'``), never as a formula (:func:`xlsx_text_cells`), and
keeps its exact text, ``=1+1`` included.

>>> [csv_safe(v) for v in ("=1+1", "+46701234567", "-1 500,50", "-2+3", "Anna", -5)]
["'=1+1", '+46701234567', '-1 500,50', "'-2+3", 'Anna', -5]
"""

from __future__ import annotations

import re
from typing import Any

__all__ = ["is_formula", "csv_safe", "xlsx_text_cells", "xlsx_cell"]

_LOOKED_THROUGH = "\t\r\n"
_PLAIN_NUMBER = re.compile(r"[0-9 \u00a0\u202f.,]*%?")


def is_formula(text: str) -> bool:
    """True when a spreadsheet opening a CSV would evaluate ``text`` as a formula (the rule in
    the module docstring)."""
    s = text.lstrip(_LOOKED_THROUGH)
    if len(s) < 2:
        return False
    first, rest = s[0], s[1:]
    if first in "=@":
        return True
    if first in "+-":
        return _PLAIN_NUMBER.fullmatch(rest) is None
    return False


def csv_safe(value: Any) -> Any:
    """``value`` with a ``'`` in front when it is text a spreadsheet would evaluate; anything
    else exactly as it was."""
    if isinstance(value, str) and is_formula(value):
        return "'" + value
    return value


def xlsx_cell(cell: Any, value: Any) -> Any:
    """Set an openpyxl ``cell`` to ``value``; text is always a string cell, never a formula."""
    cell.value = value
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def xlsx_text_cells(worksheet: Any) -> int:
    """Turn every cell openpyxl took for a formula (text starting with ``=``) back into a string
    cell, text unchanged. For sheets written from data, where no cell is meant to be a formula.
    Returns how many cells it changed."""
    changed = 0
    for row in worksheet.iter_rows():
        for cell in row:
            if cell.data_type == "f":
                cell.data_type = "s"
                changed += 1
    return changed
