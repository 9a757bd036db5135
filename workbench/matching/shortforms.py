"""Whether one first name is a short form of the other by the Swedish rule, for many pairs.

:func:`workbench.nicknames.hypocoristic` decides one pair ("Jessan" of "Jessica", "Tobbe" of
"Tobias"); the first-name comparison (:mod:`workbench.matching.comparisons`) asks it for every
candidate pair whose names are not otherwise alike. Most such pairs are two unrelated names, so
a vectorised necessary condition on the names' spelling keys leaves few pairs for the rule, and
each distinct pair of names — of words, for names of several words — is decided once.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .. import nicknames

if TYPE_CHECKING:
    from .prepare import Side

__all__: list[str] = []


def _short_forms(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Whether one first name is a short form of the other by the Swedish rule
    (:func:`workbench.nicknames.hypocoristic`), once per distinct pair of names.

    Most pairs asked here are two unrelated names: a vectorised necessary condition for
    one-word names leaves few pairs for the rule itself — the rule's short form is shorter and
    either a stem of at least three letters that begins the formal name (the spelling keys,
    ``nicknames._sound``, share their first three letters) or, four letters or more, the formal
    name's end (the keys share their last four)."""
    if len(a) == 0:
        return np.zeros(0, dtype=bool)
    ca, ua = pd.factorize(a)
    cb, ub = pd.factorize(b)
    return _short_form_codes(ca.astype(np.int64), np.asarray(ua, dtype=object),
                             cb.astype(np.int64), np.asarray(ub, dtype=object))


def _short_form_codes(ca: np.ndarray, ua: np.ndarray, cb: np.ndarray, ub: np.ndarray,
                      hr: Side | None = None, kleer: Side | None = None) -> np.ndarray:
    """:func:`_short_forms` of the names ``ua[ca]`` and ``ub[cb]`` (codes among distinct
    names); with the sides, the spelling keys of their names are kept for the run."""
    if len(ca) == 0:
        return np.zeros(0, dtype=bool)
    codes, pairs = pd.factorize(ca * len(ub) + cb)
    pairs = np.asarray(pairs, dtype=np.int64)
    pa, pb = pairs // len(ub), pairs % len(ub)
    ka, kb = _spelling_of(hr, ua), _spelling_of(kleer, ub)
    one = ka["one_word"][pa] & kb["one_word"][pb]
    hits = np.zeros(len(pairs), dtype=bool)
    single = np.flatnonzero(one)
    hits[single] = _one_word_short(pa[single], ua, ka, pb[single], ub, kb)
    multi = np.flatnonzero(~one)
    if len(multi):
        # a name of several words: every word against every word of the other name (a hit
        # when one pair is a short form), each distinct pair of words decided once
        (wa, sa, na, va), (wb, sb, nb, vb) = _words_of(hr, ua), _words_of(kleer, ub)
        xa, xb = pa[multi], pb[multi]
        reps = na[xa] * nb[xb]
        total = int(reps.sum())
        owner = np.repeat(np.arange(len(multi)), reps)
        within = np.arange(total) - np.repeat(np.cumsum(reps) - reps, reps)
        width = nb[xb][owner]
        word_a = wa[sa[xa][owner] + within // width]
        word_b = wb[sb[xb][owner] + within % width]
        wcodes, wpairs = pd.factorize(word_a * max(len(vb), 1) + word_b)
        wpairs = np.asarray(wpairs, dtype=np.int64)
        word_hits = _one_word_short(
            wpairs // max(len(vb), 1), va, _spelling_of(hr, va, "words"),
            wpairs % max(len(vb), 1), vb, _spelling_of(kleer, vb, "words"))
        hits[multi] = np.bincount(owner, weights=word_hits[wcodes], minlength=len(multi)) > 0
    return hits[codes]


def _one_word_short(pa: np.ndarray, ua: np.ndarray, ka: dict[str, np.ndarray], pb: np.ndarray,
                    ub: np.ndarray, kb: dict[str, np.ndarray]) -> np.ndarray:
    """Whether one of the one-word names ``ua[pa[i]]``, ``ub[pb[i]]`` is a short form of the
    other (:func:`_spelling` keys ``ka``, ``kb``): a vectorised necessary condition, the rule
    itself for the few pairs that pass it."""
    out = np.zeros(len(pa), dtype=bool)
    if len(pa) == 0:
        return out
    got = ka.get("shared")
    if got is None or got[0] is not kb:  # kept with the keys: once per run and pair of sides
        got = ka["shared"] = (kb, _shared(ka["first3"], kb["first3"]),
                              _shared(ka["last4"], kb["last4"]))
    _, first3, last4 = got
    ends = ka["four"][pa] & kb["four"][pb] & (last4[0][pa] == last4[1][pb])
    maybe = (ka["length"][pa] != kb["length"][pb]) & ((first3[0][pa] == first3[1][pb]) | ends)
    for i in np.flatnonzero(maybe).tolist():
        p, q = ua[pa[i]], ub[pb[i]]
        out[i] = _may_be_short(p, q) and (nicknames.hypocoristic(p, q)
                                          or nicknames.hypocoristic(q, p))
    return out


def _words_of(side: Side | None, names: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The words of every distinct name: (word codes of all names in a row, where each name's
    start, how many words each has, the distinct words); once per run with a side."""
    got = side.memo.get("words") if side is not None else None
    if got is not None and got[0] is names:
        return got[1]
    split = [n.split() for n in names.tolist()]
    count = np.fromiter(map(len, split), dtype=np.int64, count=len(split))
    flat = np.asarray([w for ws in split for w in ws], dtype=object)
    codes, vocab = pd.factorize(flat) if len(flat) else (np.zeros(0, dtype=np.int64), [])
    out = (codes.astype(np.int64), np.cumsum(count) - count, count,
           np.asarray(vocab, dtype=object))
    if side is not None:
        side.memo["words"] = (names, out)
    return out


def _spelling_of(side: Side | None, names: np.ndarray, what: str = "names"
                 ) -> dict[str, np.ndarray]:
    """:func:`_spelling` of a side's distinct first names (``what="names"``) or of their
    distinct words (``"words"``), once per run (of ``names`` without a side)."""
    if side is None:
        return _spelling(names)
    key = ("spelling", what)
    got = side.memo.get(key)
    if got is None or got[0] is not names:
        got = side.memo[key] = (names, _spelling(names))
    return got[1]


def _spelling(names: np.ndarray) -> dict[str, np.ndarray]:
    """Per name: one word or not, its length, and its spelling key's first three and last four
    letters, and whether the key has four (for one-word names)."""
    keys = [_sound(n) if " " not in n else "" for n in names.tolist()]
    return {"one_word": np.array([" " not in n for n in names.tolist()], dtype=bool),
            "length": np.fromiter(map(len, names.tolist()), dtype=np.int64, count=len(names)),
            "first3": np.array([k[:3] for k in keys], dtype=object),
            "last4": np.array([k[-4:] for k in keys], dtype=object),
            "four": np.array([len(k) >= 4 for k in keys], dtype=bool)}


def _shared(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two text arrays numbered in one vocabulary, so codes compare like the texts."""
    codes, _ = pd.factorize(np.concatenate([a, b]))
    return codes[:len(a)], codes[len(a):]


@lru_cache(maxsize=1 << 16)
def _sound(token: str) -> str:
    return nicknames._sound(token)


def _may_be_short(p: str, q: str) -> bool:
    """A necessary condition for :func:`workbench.nicknames.hypocoristic` either way round: the
    rule's short form is a stem of at least three letters that begins the formal name (so the
    two spelling keys share their first three letters) or the formal name's end (so one key
    ends with the other). tests/test_matching_speed.py checks it never rejects a short form."""
    if p == q or len(p) == len(q):
        return False
    sp, sq = _sound(p), _sound(q)
    return sp[:3] == sq[:3] or sp.endswith(sq) or sq.endswith(sp)
