"""Text columns for the prepare step: stripped text per record, folded text, email parts.

A column backed by pyarrow strings (an HR file's frame) is trimmed and read out by pyarrow
itself, and a column folded per distinct value (street, city) is numbered there too, so its
records' text never becomes Python strings one by one. Every fast path gives what its plain
definition gives (``tests/test_matching_prepare_speed.py``).
"""

from __future__ import annotations

import re
import unicodedata
from itertools import repeat
from operator import itemgetter
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["text_column", "text_codes", "folded_codes", "folded_column", "house_number",
           "lower", "local_parts", "name_keys"]

_NONE = type(None)


def _arrow(s: pd.Series) -> Any:
    """The column's pyarrow chunked array when it is backed by pyarrow strings, else None."""
    dtype = s.dtype
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow":
        return s.array.__arrow_array__()
    return None


def _pool() -> Any:
    """The memory pool for pyarrow's work here: the C allocator's. pyarrow's own (mimalloc)
    now and then spent 15-20 ms of system time on one small call, returning memory."""
    import pyarrow as pa

    return pa.system_memory_pool()


def _trimmed(chunks: Any) -> Any:
    """pandas' ``.str.strip()`` (pyarrow's utf8_trim_whitespace) with missing as ``""``."""
    import pyarrow.compute as pc

    import pyarrow as pa

    out = pc.utf8_trim_whitespace(chunks, memory_pool=_pool())
    if out.null_count:  # fill_null, in that pool
        out = pc.coalesce(out, pa.scalar("", type=out.type), memory_pool=_pool())
    return out


def _objects(values: list) -> np.ndarray:
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


def text_column(frame: pd.DataFrame, key: str) -> np.ndarray:
    """A column as an object array of stripped text, ``""`` where missing or absent.

    Whole numbers stored as floats (a column with gaps) come back without ``.0``.
    """
    if key not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    s = frame[key]
    chunks = _arrow(s)
    if chunks is not None:  # an HR file's text: trimmed and read out by pyarrow
        return _trimmed(chunks).to_numpy(zero_copy_only=False) if len(s) else \
            np.zeros(0, dtype=object)
    if s.dtype.kind in "iu":  # whole numbers without gaps (an employee number)
        return _objects(list(map(str, s.tolist())))
    if pd.api.types.is_float_dtype(s):
        whole = s.dropna()
        if (whole == whole.round()).all():
            s = s.astype("Int64")
    if s.dtype == object:  # records and CSV cells: text, None, a number here and there
        values = s.tolist()
        kinds = set(map(type, values))
        if kinds <= {str}:  # the common case, in builtins only
            return _objects(list(map(str.strip, values)))
        if kinds <= {str, _NONE}:
            return _objects(["" if v is None else v.strip() for v in values])
        return _objects(["" if v is None or v is pd.NA or (isinstance(v, float) and v != v)
                         else (v if type(v) is str else str(v)).strip() for v in values])
    s = s.astype("string").fillna("").str.strip()
    return s.to_numpy(dtype=object, na_value="")


def text_codes(frame: pd.DataFrame, key: str) -> tuple[np.ndarray, list[str]]:
    """:func:`text_column` as each record's index among its distinct values (first seen first)
    and those values: ``pandas.factorize`` of the column, without reading every record's text
    out of pyarrow."""
    if key in frame.columns and len(frame) and (chunks := _arrow(frame[key])) is not None:
        import pyarrow.compute as pc

        whole = _trimmed(chunks).combine_chunks(memory_pool=_pool())
        encoded = pc.dictionary_encode(whole, memory_pool=_pool())
        return (encoded.indices.to_numpy(zero_copy_only=False).astype(np.intp),
                encoded.dictionary.to_pylist())
    codes, uniques = pd.factorize(text_column(frame, key))
    return codes.astype(np.intp), uniques.tolist()


_HOUSE_NUMBER = re.compile(r"\d+")


#: name_key's folding of one character (by code point): decomposed without combining marks,
#: case folded, letters Unicode does not decompose spelt out ("Å" → "a", "Æ" → "ae").
_FOLDED: dict[int, str] = {}


def _fold_char(ch: str) -> str:
    from ..normalize import _FOLD

    d = unicodedata.normalize("NFKD", ch.translate(_FOLD))
    return "".join(c for c in d if not unicodedata.combining(c)).casefold().translate(_FOLD)


def name_keys(values: list[str]) -> list[str]:
    """:func:`~workbench.normalize.name_key` of every text value, in builtins over the list.

    name_key folds every character on its own (a decomposition's combining marks are dropped,
    so their reordering cannot matter, and case folding has no context), so text outside ASCII
    is folded by a table of its characters, each worked out once; ASCII has nothing to
    decompose, only case to fold. Text of only letters, digits (``str.isalnum``) and spaces is
    all ``\\w`` between the spaces: no punctuation to replace, and splitting joins the words."""
    from ..normalize import _NOT_WORD

    text = list(map(str.strip, values))
    wide = [t for t in text if not t.isascii()]
    if wide:
        for ch in set("".join(wide)):
            if ord(ch) not in _FOLDED:
                _FOLDED[ord(ch)] = _fold_char(ch)
    lowered = [t.casefold() if t.isascii() else t.translate(_FOLDED) for t in text]
    spaced = [t if t.isalnum() or t.replace(" ", "").isalnum() else
              _NOT_WORD.sub(" ", t).replace("_", " ") for t in lowered]
    return list(map(" ".join, map(str.split, spaced)))


def _fold(uniq: list[str], numbers: bool) -> tuple[list[str], list[str]]:
    """:func:`~workbench.normalize.name_key` of every value, once per distinct word, and (with
    ``numbers``) the first run of digits in each folded value ("" without one)."""
    # name_key maps every character on its own (whitespace to a space), so a value's key is
    # its words' keys joined: streets share their words ("storgatan"), not their numbers; a
    # run of digits never spans two words, so the first in the value is the first word's
    words = list(map(str.split, uniq))
    distinct = list(dict.fromkeys(w for ws in words for w in ws))
    keys = dict(zip(distinct, name_keys(distinct)))
    per_value = list(map(list, map(filter, repeat(None), map(map, repeat(keys.__getitem__),
                                                                  words))))
    folded = list(map(" ".join, per_value))
    if not numbers:
        return folded, []
    runs = {k: m.group(0) for k in keys.values() if (m := _HOUSE_NUMBER.search(k))}
    first_run = map(next, map(filter, repeat(None), map(map, repeat(runs.get), per_value)),
                    repeat(""))
    return folded, list(first_run)


def folded_codes(frame: pd.DataFrame, key: str, *, numbers: bool = False
                 ) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray], np.ndarray | None]:
    """The column folded (:func:`folded_column` of :func:`text_column`), the folded values
    numbered as :func:`~workbench.matching.prepare.value_codes` numbers them (codes first seen
    first, the distinct values), and with ``numbers`` each record's :func:`house_number`."""
    codes, uniq = text_codes(frame, key)
    folded_u, runs_u = _fold(uniq, numbers)
    folded_u = _objects(folded_u)
    # the distinct raw values come first seen first, so numbering their folded values in that
    # order numbers the records' folded values first seen first
    inner, values = pd.factorize(folded_u) if len(folded_u) else (np.zeros(0, np.intp), folded_u)
    numbered = (inner.astype(np.int64)[codes], np.asarray(values, dtype=object))
    runs = _objects(runs_u)[codes] if numbers else None
    return folded_u[codes], numbered, runs


def folded_column(values: np.ndarray) -> np.ndarray:
    """:func:`workbench.normalize.name_key` of every value, once per distinct word."""
    if len(values) == 0:
        return np.array([], dtype=object)
    inverse, uniq = pd.factorize(np.asarray(values, dtype=object))
    return _objects(_fold(uniq.tolist(), False)[0])[inverse]


def house_number(street: np.ndarray) -> np.ndarray:
    """The first run of digits of every street, once per distinct street."""
    if len(street) == 0:
        return np.array([], dtype=object)
    inverse, uniq = pd.factorize(np.asarray(street, dtype=object))
    found = [m.group(0) if (m := _HOUSE_NUMBER.search(v)) else "" for v in uniq.tolist()]
    return _objects(found)[inverse]


def lower(values: np.ndarray) -> np.ndarray:
    """``str.lower`` of every value."""
    return _objects(list(map(str.lower, values.tolist())))


def local_parts(emails: np.ndarray) -> np.ndarray:
    """The part before the @, or "" when shorter than three characters (too common to count)."""
    heads = list(map(itemgetter(0), map(str.rpartition, emails.tolist(), repeat("@"))))
    out = _objects(heads)
    short = np.fromiter(map(len, heads), dtype=np.int64, count=len(heads)) < 3
    out[short] = ""
    return out
