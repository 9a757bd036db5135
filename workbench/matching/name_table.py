"""Every distinct name of one side at once: its :class:`~workbench.matching.names.NameParts` and
the keys the scorer compares, as arrays over the distinct names.

:func:`hr_table` and :func:`kleer_table` give what :func:`~workbench.matching.names.hr_names` and
:func:`~workbench.matching.names.kleer_names` give (names equal to
:func:`~workbench.matching.names.hr_name_parts` / :func:`~workbench.matching.names.kleer_name_parts`
of every record), worked out column by column instead of name by name: a name is a first and a
last name *piece*; each distinct piece is read once (:func:`~workbench.matching.names._piece`),
and a name's fields are its pieces' fields gathered by index and joined with array operations,
or ``map`` over builtins (tuple concatenation, ``sorted``, ``" ".join``), so that no Python
function runs once per name in the common case. ``tests/test_matching_prepare_speed.py`` holds
them equal to the plain definitions.
"""

from __future__ import annotations

import unicodedata
from itertools import chain, repeat
from operator import add, contains, itemgetter
from typing import Any, NamedTuple, Sequence

import numpy as np
import pandas as pd

from .. import nicknames
from ..fields import split_words
from ..normalize import name_display
from .names import NameParts, _piece
from .prepare_text import name_keys

__all__ = ["NameTable", "hr_table", "kleer_table", "KEYS"]

#: The keys of :attr:`NameTable.keys`, as :class:`~workbench.matching.prepare.Side` names them.
KEYS = ("folded", "sorted_key", "ordered_key", "initials_key", "first_key", "last_key",
        "has_initial", "n_tokens", "first", "last")


class NameTable(NamedTuple):
    uniq: list[NameParts]         # the distinct names, first seen first
    codes: np.ndarray             # each record's index among them
    keys: dict[str, np.ndarray]   # :data:`KEYS`, one entry per distinct name


def _row(text: Any) -> tuple:
    """What a name needs of one piece (:func:`~workbench.matching.names._piece`): (shown or "",
    tokens, canonical tokens, tokens joined, canonical joined, initials, a one-letter token)."""
    shown, tokens, canon, joined, canon_joined, initials = _piece(text)
    return shown or "", tokens, canon, joined, canon_joined, initials, 1 in map(len, tokens)


#: :func:`_row` of the pieces seen so far (HR and Kleer share most of theirs); at most _CAP.
_ROWS: dict[str, tuple] = {}
_CAP = 1 << 17


def _rows(texts: list) -> list[tuple]:
    """:func:`_row` of every distinct text, the ones not seen before worked out together in
    builtins over the list (the same steps as :func:`~workbench.matching.names._piece`)."""
    new = [t for t in texts if type(t) is str and t not in _ROWS]
    if new:
        if len(_ROWS) + len(new) > _CAP:  # start afresh (texts it had are new again)
            _ROWS.clear()
            new = list(dict.fromkeys(t for t in texts if type(t) is str))
        shown = _displayed(new)
        keys = name_keys([d or "" for d in shown])
        tokens = list(map(tuple, map(str.split, keys)))
        words = dict.fromkeys(chain.from_iterable(tokens))
        formal = dict(zip(words, map(nicknames.canonical, words)))
        canon = list(map(tuple, map(map, repeat(formal.__getitem__), tokens)))
        initials = list(map(tuple, map(map, repeat(itemgetter(0)), tokens)))
        _ROWS.update(zip(new, zip(
            [d or "" for d in shown], tokens, canon, keys, map(" ".join, canon), initials,
            map(contains, map(map, repeat(len), tokens), repeat(1)))))
    return [_ROWS[t] if type(t) is str else _row(t) for t in texts]


def _objects(values: Sequence[Any]) -> np.ndarray:
    """A 1-d object array of ``values`` (tuples stay elements)."""
    return np.fromiter(values, dtype=object, count=len(values))


class _Pieces:
    """The distinct pieces of one position (first or last name) as arrays, gathered per name."""

    def __init__(self, texts: list, at: np.ndarray):
        (self.shown, self.tokens, self.canon, self.joined, self.cjoined, self.initials,
         self.one) = (_objects(c) for c in zip(*_rows(texts))) if texts else \
            (np.zeros(0, dtype=object),) * 7
        self.one = self.one.astype(bool)
        self.n = np.fromiter(map(len, self.canon), dtype=np.int64, count=len(self.canon))
        self.initial = _objects([i[0] if i else "" for i in self.initials.tolist()])
        self.at = at

    def __getitem__(self, name: str) -> np.ndarray:
        return getattr(self, name)[self.at]


def _spaced(f: _Pieces, l: _Pieces, name: str) -> np.ndarray:
    """The two pieces' field ``name`` joined by a space, either alone when the other is empty
    (:func:`~workbench.matching.names._space`)."""
    a, b = f[name], l[name]
    out = (getattr(f, name) + " ")[f.at] + b
    a_empty, b_empty = (getattr(f, name) == "")[f.at], (getattr(l, name) == "")[l.at]
    out[a_empty] = b[a_empty]
    out[b_empty] = a[b_empty]
    return out


def _sorted_pair(f: _Pieces, l: _Pieces, a: np.ndarray, b: np.ndarray, lists: list
                 ) -> np.ndarray:
    """``" ".join(sorted(lists[i]))`` of every name, ``lists[i]`` the first piece's items and
    the last's: for one item each (``a`` and ``b``) the two in order, array-wise."""
    single = (f.n[f.at] == 1) & (l.n[l.at] == 1)
    out = np.empty(len(single), dtype=object)
    x, y = a[single], b[single]
    first = x <= y
    out[single] = np.where(first, x, y) + " " + np.where(first, y, x)
    rest = np.flatnonzero(~single)
    out[rest] = list(map(" ".join, map(sorted, map(lists.__getitem__, rest.tolist()))))
    return out


def _build(f: _Pieces, l: _Pieces, displays: np.ndarray | None
           ) -> tuple[list[NameParts], dict[str, np.ndarray]]:
    """The names of a first and a last piece each (``f.at``, ``l.at``); ``displays`` their
    displayed full names (None: the two pieces joined, as HR's are)."""
    n = len(f.at)
    if n == 0:
        empty = np.zeros(0, dtype=object)
        keys = {k: empty for k in KEYS}
        keys["has_initial"], keys["n_tokens"] = np.zeros(0, dtype=bool), np.zeros(0, np.int16)
        return [], keys
    if displays is None:
        displays = _spaced(f, l, "shown")
    f_tok, l_tok, f_can, l_can = f["tokens"].tolist(), l["tokens"].tolist(), \
        f["canon"].tolist(), l["canon"].tolist()
    tokens = list(map(add, f_tok, l_tok))
    canon = list(map(add, f_can, l_can))
    first_key, last_key = f["cjoined"], l["cjoined"]
    folded = _spaced(f, l, "joined")
    ordered_key = _spaced(f, l, "cjoined")
    sorted_key = _sorted_pair(f, l, first_key, last_key, canon)
    initials = list(map(add, f["initials"].tolist(), l_can))
    initials_key = _sorted_pair(f, l, f["initial"], last_key, initials)
    single = (f.n[f.at] == 1) & (l.n[l.at] == 1)
    n_tokens = np.empty(n, dtype=np.int16)
    n_tokens[single] = np.where(first_key[single] == last_key[single], 1, 2)
    rest = np.flatnonzero(~single)
    n_tokens[rest] = np.fromiter(map(len, map(set, map(canon.__getitem__, rest.tolist()))),
                                 dtype=np.int16, count=len(rest))
    uniq = list(map(tuple.__new__, repeat(NameParts), zip(
        displays.tolist() if isinstance(displays, np.ndarray) else displays, tokens, f_tok,
        l_tok, l["shown"].tolist(), canon, f_can, l_can, folded.tolist(), sorted_key.tolist(),
        ordered_key.tolist(), initials_key.tolist(), first_key.tolist(), last_key.tolist())))
    keys = {"folded": folded, "sorted_key": sorted_key, "ordered_key": ordered_key,
            "initials_key": initials_key, "first_key": first_key, "last_key": last_key,
            "has_initial": f["one"] | l["one"], "n_tokens": n_tokens,
            "first": f["joined"], "last": l["joined"]}
    return uniq, keys


def _codes(values: Sequence[Any]) -> tuple[np.ndarray, list]:
    """Each value's index among the distinct values (first seen first), and those values."""
    codes, uniques = pd.factorize(np.asarray(values, dtype=object), use_na_sentinel=False)
    return codes.astype(np.intp), uniques.tolist()


def hr_table(first: Sequence[Any], last: Sequence[Any]) -> NameTable:
    """:func:`~workbench.matching.names.hr_name_parts` of every (first, last), once per distinct
    pair."""
    fc, fu = _codes(first)
    lc, lu = _codes(last)
    width = max(len(lu), 1)
    codes, pairs = pd.factorize(fc.astype(np.int64) * width + lc)
    uniq, keys = _build(_Pieces(fu, pairs // width), _Pieces(lu, pairs % width), None)
    return NameTable(uniq, codes.astype(np.intp), keys)


def _displayed(texts: list) -> list:
    """:func:`~workbench.normalize.name_display` of every value (NFC, single spaces, trimmed;
    None for missing), text in builtins only (str.split() splits where \\s matches)."""
    if not all(type(t) is str for t in texts):
        return list(map(name_display, texts))
    nfc = map(unicodedata.normalize, repeat("NFC"), map(str.strip, texts))
    return [d or None for d in map(" ".join, map(str.split, nfc))]


def _split(display: str) -> tuple[str, str]:
    """:func:`workbench.fields.split_name` of a displayed name of three or more words."""
    return split_words(display.split(" "))


def kleer_table(name: Sequence[Any], first: Sequence[Any], last: Sequence[Any]) -> NameTable:
    """:func:`~workbench.matching.names.kleer_name_parts` of every (name, first, last), once per
    distinct name (and, for records without one, per distinct first and last name)."""
    codes, texts = _codes(name)
    shown = _displayed(texts)
    missing = [i for i, d in enumerate(shown) if d is None]
    if missing:  # a record without a name: its name is its first and last name joined
        rows = np.isin(codes, missing)
        fl = hr_table(np.asarray(first, dtype=object)[rows], np.asarray(last, dtype=object)[rows])
        key = codes.astype(np.int64)
        key[rows] = len(texts) + fl.codes
        codes, order = pd.factorize(key)
        joined = [p.display or None for p in fl.uniq]
        shown = [shown[k] if k < len(texts) else joined[k - len(texts)] for k in order.tolist()]
    # split_name: the last word is the last name, with any particle before it
    heads, seps, tails = zip(*map(str.rpartition, [d or "" for d in shown], repeat(" "))) \
        if shown else ((), (), ())
    firsts = np.where(np.array(seps, dtype=object) == "", _objects(tails), _objects(heads))
    lasts = np.where(np.array(seps, dtype=object) == "", "", _objects(tails))
    for i in np.flatnonzero(list(map(str.__contains__, heads, repeat(" ")))).tolist():
        firsts[i], lasts[i] = _split(shown[i])
    fc, fu = _codes(firsts)
    lc, lu = _codes(lasts)
    uniq, keys = _build(_Pieces(fu, fc), _Pieces(lu, lc), [d or "" for d in shown])
    return NameTable(uniq, codes.astype(np.intp), keys)
