"""Splitting a CSV text that has no quotes, without the csv module's per-character parser.

Most HR exports quote nothing: every line is a row and every delimiter ends a value. For such a
text :func:`plain_rows` gives what ``csv.reader(io.StringIO(text, newline=""), delimiter=d,
strict=True, skipinitialspace=True)`` gives (rows end at ``\\r\\n``, ``\\r`` or ``\\n``; an empty
line is an empty row; spaces after a delimiter and at the start of a line are dropped) by
``str.split``, several times faster. A text with a quote, a NUL or a line longer than the csv
module's field limit gets None: read it with the csv module (``tests/test_hr_columns.py``
compares the two on random texts).
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from itertools import repeat
from typing import overload

__all__ = ["plain_rows", "PlainRows"]

_LINE_END = re.compile(r"\r\n|\r|\n")


class PlainRows(Sequence[list[str]]):
    """The rows of a text without quotes, split when asked for: the reader of an HR file takes
    whole columns from :meth:`columns` without making a list per row."""

    def __init__(self, lines: list[str], delimiter: str, strip: bool) -> None:
        self.lines, self.delimiter, self.strip = lines, delimiter, strip

    def __len__(self) -> int:
        return len(self.lines)

    def _row(self, line: str) -> list[str]:
        if not line:
            return []
        row = line.split(self.delimiter)
        return [value.lstrip(" ") for value in row] if self.strip else row

    @overload
    def __getitem__(self, i: int) -> list[str]: ...
    @overload
    def __getitem__(self, i: slice) -> list[list[str]]: ...

    def __getitem__(self, i: int | slice) -> list[str] | list[list[str]]:
        if isinstance(i, slice):
            return [self._row(line) for line in self.lines[i]]
        return self._row(self.lines[i])

    def __iter__(self) -> Iterator[list[str]]:
        return map(self._row, self.lines)

    def lengths(self) -> list[int]:
        """How many values each row has (0 for an empty line)."""
        counts = map(str.count, self.lines, repeat(self.delimiter))
        return [c + 1 if line else 0 for c, line in zip(counts, self.lines)]

    def columns(self, start: int, width: int) -> list[list[str]] | None:
        """The columns of the rows from ``start`` on, when every one of them has ``width``
        values, none is blank and no value loses spaces; else None."""
        body = self.lines[start:]
        d = self.delimiter
        if self.strip or not body or width < 1 or \
                set(map(str.count, body, repeat(d))) != {width - 1}:
            return None
        if any(not line.replace(d, "").strip() for line in body):
            return None
        values = d.join(body).split(d)
        # each column's texts made again side by side in memory (no value holds a line end):
        # deciding them is then several times faster than hopping between the rows' texts
        return ["\n".join(values[i::width]).split("\n") for i in range(width)]


def plain_rows(text: str, delimiter: str) -> PlainRows | None:
    """The rows of ``text`` as the csv module reads them, or None when it has quotes (or NULs,
    or a line over the field limit) and needs the csv module."""
    if '"' in text or "\x00" in text:
        return None
    if "\r" not in text:
        lines = text.split("\n")
    elif text.count("\r") == text.count("\r\n") == text.count("\n"):
        lines = text.split("\r\n")
    else:
        lines = _LINE_END.split(text)
    if lines[-1] == "":  # the last line's end (or an empty text)
        lines.pop()
    if max(map(len, lines), default=0) > csv.field_size_limit():
        return None
    strip = text.startswith(" ") or delimiter + " " in text or "\n " in text or "\r " in text
    return PlainRows(lines, delimiter, strip)
