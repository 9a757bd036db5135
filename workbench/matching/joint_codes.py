"""Several columns of both sides numbered in one vocabulary: the HR employee's two emails and
Kleer's one, or their local parts.

Blocking joins every HR email with the Kleer email (one key, whichever HR column holds it) and
the email comparison asks which HR email equals the Kleer one: both only need codes that are
equal exactly where the texts are. Numbering the three columns once serves both, instead of
hashing the texts once for blocking and twice more for the comparison.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .prepare import Side

__all__ = ["joint_codes"]


def joint_codes(hr: Side, kleer: Side, source: str) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """The HR columns of ``source`` ("emails" or "locals": a dict of arrays per side) and the
    Kleer ones, as codes in one vocabulary (``-1`` for ``""``): (HR codes by column, the Kleer
    column's codes); the Kleer side has one column. Kept for the run."""
    key = ("joint", source)
    got = hr.memo.get(key)
    if got is not None and got[0] is kleer:
        return got[1]
    h_cols, k_cols = getattr(hr, source), getattr(kleer, source)
    if len(k_cols) != 1:
        raise ValueError(f"the Kleer side holds one {source} column, not {len(k_cols)}")
    arrays = [np.asarray(v, dtype=object) for v in h_cols.values()] + \
        [np.asarray(v, dtype=object) for v in k_cols.values()]
    values = np.concatenate(arrays) if arrays else np.zeros(0, dtype=object)
    codes, vocabulary = pd.factorize(values)
    codes = codes.astype(np.int64)
    empty = np.flatnonzero(np.asarray(vocabulary, dtype=object) == "")
    if len(empty):
        codes[codes == empty[0]] = -1
    bounds = np.cumsum([0] + [len(a) for a in arrays])
    parts = [codes[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
    result = (dict(zip(h_cols, parts[:-1])), parts[-1])
    hr.memo[key] = (kleer, result)
    return result
