"""Whether one name contains the other: one value's words are all among the other's.

The name comparisons' "one of the first names" and "part of a double surname" levels are
``fuzz.token_set_ratio == 100`` between the folded names. Where the words are split by single
spaces (the folded name columns always are), that is a set test, decided here once per distinct
pair of values at about half the cost of the scorer; any other value is left to the scorer.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from .prepare import Side, value_codes

__all__: list[str] = []


def _one_contains_the_other(hr: Side, kleer: Side, name: str, h: np.ndarray, k: np.ndarray
                            ) -> np.ndarray:
    """``fuzz.token_set_ratio == 100`` of the column ``name`` at pairs whose values differ: one
    value's words contain the other's. Two different one-word values never do, so the scorer
    runs only for pairs with a value of several words."""
    (ch, uh), (ck, uk) = value_codes(hr, name), value_codes(kleer, name)
    several = _several_words(hr, name, uh)[ch[h]] | _several_words(kleer, name, uk)[ck[k]]
    out = np.zeros(len(h), dtype=bool)
    rows = np.flatnonzero(several)
    if len(rows) == 0:
        return out
    # once per distinct pair of values: one's set of words within the other's, which is
    # token_set_ratio == 100 where the words are split by single spaces (a name's folded
    # tokens joined); any other value is left to token_set_ratio itself
    (sh, ph), (sk, pk) = _word_sets(hr, name, uh), _word_sets(kleer, name, uk)
    hh, kk = ch[h[rows]], ck[k[rows]]
    width = max(len(uk), 1)
    codes, distinct = pd.factorize(hh * width + kk)
    distinct = np.asarray(distinct, dtype=np.int64)
    a, b = distinct // width, distinct % width
    hit = np.zeros(len(distinct), dtype=bool)
    plain = ph[a] & pk[b]
    for i, x, y in zip(np.flatnonzero(plain).tolist(), a[plain].tolist(), b[plain].tolist()):
        p, q = sh[x], sk[y]
        hit[i] = bool(p) and bool(q) and (p <= q or q <= p)
    other = np.flatnonzero(~plain)
    if len(other):
        hit[other] = process.cpdist(uh[a[other]].tolist(), uk[b[other]].tolist(),
                                    scorer=fuzz.token_set_ratio, workers=-1) == 100
    out[rows] = hit[codes]
    return out


def _word_sets(side: Side, name: str, values: np.ndarray) -> tuple[list, np.ndarray]:
    """Per distinct value of a side's column: its set of words, and whether it is words
    joined by single spaces (then the set is the one token_set_ratio compares)."""
    key = ("word_sets", name)
    if key not in side.memo:
        texts = values.tolist()
        sets = [frozenset(v.split(" ")) if v else frozenset() for v in texts]
        plain = np.array([" ".join(v.split()) == v for v in texts], dtype=bool)
        side.memo[key] = (sets, plain)
    return side.memo[key]


def _several_words(side: Side, name: str, values: np.ndarray) -> np.ndarray:
    """Per distinct value of a side's column: whether it has more than one word."""
    key = ("several", name)
    if key not in side.memo:
        side.memo[key] = np.array([len(v.split()) > 1 for v in values.tolist()], dtype=bool)
    return side.memo[key]
