"""Reading a Kleer export (a CSV file) into the frame matching takes: ``pandas.read_csv``
(its C parser gives each column's texts side by side in memory, which the vectorised
normalisers of :mod:`workbench.canonical` read fastest), then every field normalised."""

from __future__ import annotations

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
