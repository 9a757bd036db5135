"""Reading a Kleer export (a CSV file) into the frame matching takes.

A plain file (UTF-8 without a BOM, no quotes, every line as wide as the header, no blank line,
headers unique and named) is split with ``str.split``; any other
file is read by ``pandas.read_csv``, whose messages the user sees. Both give the same frame for
a plain file (``tests/test_hr_columns.py`` compares them).
"""

from __future__ import annotations

from itertools import repeat
from pathlib import Path
from typing import Any

import pandas as pd

from ..canonical import normalize_text_column
from ..errors import InputError
from ..fields import FIELD

__all__ = ["read_kleer_table"]


def read_kleer_table(path: str | Path) -> pd.DataFrame:
    """A Kleer export as a CSV file: ``kleer_id``, ``name``, ``email``, ``active`` and any other
    canonical field (``ssn``, ``phone``, ``employee_number``, …; ``hr_id`` = foreign-id).

    Every field is normalised by the field table; empty cells are missing values. Raises
    :class:`InputError` naming the file and what is wrong.
    """
    cells = _plain_cells(path)
    if cells is None:
        return _read_with_pandas(path)
    columns = list(cells)
    if "kleer_id" not in columns or "name" not in columns:
        raise InputError(f"Kleer file {path} needs the columns kleer_id and name "
                         f"(found: {', '.join(columns)})")
    text_ids = [v.strip() for v in cells["kleer_id"]]
    if "" in text_ids:
        raise InputError(f"Kleer file {path}, row {text_ids.index('') + 2}, column kleer_id: "
                         f"the id is empty")
    stripped = pd.Series(text_ids, dtype="str")
    out: dict[str, Any] = {"kleer_id": _ids(stripped),
                           "name": pd.Series([v.strip() or None for v in cells["name"]],
                                             dtype=object)}
    if "email" in columns:
        out["email"] = _normalised(FIELD["private_email"], cells["email"])
    for key in columns:
        if key in FIELD and key not in out:
            out[key] = _normalised(FIELD[key], cells[key])
    return pd.DataFrame(out)


def _plain_cells(path: str | Path) -> dict[str, list[str]] | None:
    """The file's columns (stripped header → cells, spaces kept as pandas keeps them) when it
    is plain, else None."""
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError, TypeError):
        return None  # pandas says what is wrong
    if text.startswith("\ufeff") or '"' in text or "\x00" in text:
        return None
    if "\r" in text:
        if not text.count("\r") == text.count("\r\n") == text.count("\n"):
            return None
        text = text.replace("\r\n", "\n")
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    if len(lines) < 2:
        return None  # header only: as pandas reads it
    header = lines[0].split(",")
    width = len(header)
    if width < 2 or set(map(str.count, lines, repeat(","))) != {width - 1}:
        return None  # blank lines or ragged rows: as pandas reads them
    names = [h.strip() for h in header]
    if "" in names or len(set(header)) < width or len(set(names)) < width:
        return None  # columns pandas names or renames itself
    values = ",".join(lines[1:]).split(",")  # every line as wide: the columns are slices
    # each column's texts made again side by side in memory (no value holds a line end):
    # deciding them is then several times faster than hopping between the rows' texts
    return {key: "\n".join(values[i::width]).split("\n") for i, key in enumerate(names)}


def _ids(text_ids: pd.Series) -> pd.Series:
    ids = pd.to_numeric(text_ids, errors="coerce")
    # Kleer's user ids are whole numbers; any other id (another system's, a benchmark's
    # "rec-561-dup-0") is kept as an opaque string: matching files offline needs no Kleer
    if bool((ids.notna() & (ids == ids.round())).all()):
        return ids.astype("int64")
    return text_ids.astype(object)


def _normalised(f: Any, values: list[str]) -> pd.Series:
    """Canonical values (as Python objects); an invalid value is kept as written (stripped).
    Each distinct value is decided once, canonical ones vectorised (:mod:`workbench.canonical`)."""
    done, _ = normalize_text_column(f, values)
    return pd.Series(done, dtype=object)


def _read_with_pandas(path: str | Path) -> pd.DataFrame:
    try:
        raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise InputError(f"Kleer file {path} not found") from None
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as e:
        raise InputError(f"cannot read Kleer file {path} as CSV: {e}") from None
    raw.columns = [str(c).strip() for c in raw.columns]
    if "kleer_id" not in raw.columns or "name" not in raw.columns:
        raise InputError(f"Kleer file {path} needs the columns kleer_id and name "
                         f"(found: {', '.join(raw.columns)})")
    text_ids = raw["kleer_id"].str.strip()
    empty = raw.index[text_ids == ""]
    if len(empty):
        raise InputError(f"Kleer file {path}, row {int(empty[0]) + 2}, column kleer_id: "
                         f"the id is empty")
    out: dict[str, Any] = {"kleer_id": _ids(text_ids),
                           "name": pd.Series([v.strip() or None for v in raw["name"].tolist()],
                                             dtype=object)}
    if "email" in raw.columns:  # Kleer's one email: normalised like any HR email
        out["email"] = _normalised(FIELD["private_email"], raw["email"].astype(str).tolist())
    for key in raw.columns:
        if key in FIELD and key not in out:
            out[key] = _normalised(FIELD[key], raw[key].astype(str).tolist())
    return pd.DataFrame(out)
