"""Comparisons with levels: how two records compare on each field, vectorised over pairs.

Every comparison turns the candidate pairs ``(h[i], k[i])`` into one small integer per pair: ``0``
when a value is missing on either side (neutral: it weighs nothing), ``1`` for the strongest
agreement, and so on down to the last level, a plain disagreement (evidence against). The
Fellegi–Sunter model (:mod:`workbench.matching.fs`) learns an m and u probability per level.

=====================  =======================================================================
comparison             levels (strongest first; the last one is "differs")
=====================  =======================================================================
foreign_id             exact · differs
ssn                    exact · same number, 10 vs 12 digits · one digit off · two transposed ·
                       differs
first_name             exact (folded) · nickname or spelling variant · first and last swapped ·
                       one of the first names · an initial ("A.") · Jaro-Winkler ≥ 0.92 ·
                       ≥ 0.80 · differs
last_name              exact (folded) · first and last swapped · part of a double surname ·
                       Jaro-Winkler ≥ 0.92 · ≥ 0.80 · differs
birth_date             exact · exact, read from the personnummer · one component off · differs
email                  exact (either HR email) · same local part · same local part that is only
                       the Kleer name (not the HR name) · differs
phone                  exact (E.164) · differs
street                 exact · same house number, street Jaro-Winkler ≥ 0.85 · differs
zip_code               exact · same first three digits · differs
city                   exact · Jaro-Winkler ≥ 0.90 · differs
employee_number        exact · one digit off · differs
employment_start_date  exact · one component off · differs
=====================  =======================================================================

A differing street and postal code make the postal code and city neutral (a move changes all
three at once).
The birth date is neutral when both sides have a personnummer: the personnummer comparison
already holds it, and counting it twice would break the model's independence assumption.
For the same reason an email whose shared local part is made of both sides' names ("anna.berg"
between two Anna Bergs) is neutral: the name comparisons already hold it.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Callable, Mapping

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process
from rapidfuzz.distance import JaroWinkler, Levenshtein

from .. import nicknames
from . import names as nm
from .prepare import Side

__all__ = ["Comparison", "COMPARISONS", "compare", "usable_comparisons"]


@dataclass(frozen=True)
class Comparison:
    """One field comparison: its key, a plain label and the names of its levels (1…n)."""

    key: str
    label: str
    levels: tuple[str, ...]

    @property
    def n_levels(self) -> int:
        return len(self.levels)


def _c(key: str, label: str, *levels: str) -> Comparison:
    return Comparison(key, label, levels)


#: Every comparison, in the order explanations list them.
COMPARISONS: Mapping[str, Comparison] = MappingProxyType({c.key: c for c in (
    _c("foreign_id", "Foreign id", "exact", "differs"),
    _c("ssn", "Personnummer", "exact", "10 vs 12 digits", "one digit off", "two digits transposed",
       "differs"),
    _c("first_name", "First name", "exact", "nickname", "swapped", "one of the first names",
       "initial", "jaro-winkler ≥ 0.92", "jaro-winkler ≥ 0.80", "differs"),
    _c("last_name", "Last name", "exact", "swapped", "part of a double surname",
       "jaro-winkler ≥ 0.92", "jaro-winkler ≥ 0.80", "differs"),
    _c("birth_date", "Birth date", "exact", "from personnummer", "one component off", "differs"),
    _c("email", "Email", "exact", "same local part", "local part is only the name", "differs"),
    _c("phone", "Phone", "exact", "differs"),
    _c("street", "Street", "exact", "same house number, similar street", "differs"),
    _c("zip_code", "Postal code", "exact", "same first three digits", "differs"),
    _c("city", "City", "exact", "similar", "differs"),
    _c("employee_number", "Employee number", "exact", "one digit off", "differs"),
    _c("employment_start_date", "Employment start", "exact", "one component off", "differs"),
)})

#: The input columns a comparison reads: (HR side, Kleer side); usable when both sides have one.
COLUMNS: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = MappingProxyType({
    "foreign_id": (("hr_id",), ("hr_id",)),
    "ssn": (("ssn",), ("ssn",)),
    "first_name": (("first_name", "last_name"), ("name", "first_name", "last_name")),
    "last_name": (("first_name", "last_name"), ("name", "first_name", "last_name")),
    "birth_date": (("birth_date", "ssn"), ("birth_date", "ssn")),
    "email": (("private_email", "work_email"), ("email",)),
    "phone": (("phone",), ("phone",)),
    "street": (("street",), ("street",)),
    "zip_code": (("zip_code",), ("zip_code",)),
    "city": (("city",), ("city",)),
    "employee_number": (("employee_number",), ("employee_number",)),
    "employment_start_date": (("employment_start_date",), ("employment_start_date",)),
})


def usable_comparisons(hr_columns, kleer_columns) -> list[str]:
    """The comparisons both inputs hold a column for."""
    hr, kleer = set(hr_columns), set(kleer_columns)
    return [c for c, (a, b) in COLUMNS.items() if set(a) & hr and set(b) & kleer]


# --------------------------------------------------------------------------- helpers

def _both(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a != "") & (b != "")


def _pairwise_at(scorer: Callable, a: np.ndarray, h: np.ndarray, b: np.ndarray, k: np.ndarray
                 ) -> np.ndarray:
    """``scorer(a[h[i]], b[k[i]])`` for every i, computed once per distinct pair of values.

    Candidate pairs repeat values a lot (a first name, a city, a surname among namesakes), so
    the values of each side are numbered once and the scorer runs on the distinct pairs of
    numbers only."""
    if len(h) == 0:
        return np.zeros(0)
    ca, ua = pd.factorize(a)
    cb, ub = pd.factorize(b)
    width = max(len(ub), 1)
    codes, distinct = pd.factorize(ca[h].astype(np.int64) * width + cb[k])
    distinct = np.asarray(distinct, dtype=np.int64)
    ua, ub = np.asarray(ua, dtype=object), np.asarray(ub, dtype=object)
    scores = process.cpdist(ua[distinct // width].tolist(), ub[distinct % width].tolist(),
                            scorer=scorer, workers=-1)
    return scores[codes]


def _codes(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Two sides' text values numbered in one vocabulary, ``-1`` for "": codes compare like
    the texts, and gathering small integers for a million pairs is much cheaper than
    comparing the strings they point to."""
    codes, uniques = pd.factorize(np.concatenate([np.asarray(a, dtype=object),
                                                  np.asarray(b, dtype=object)]))
    codes = codes.astype(np.int32)
    empty = np.flatnonzero(np.asarray(uniques, dtype=object) == "")
    if len(empty):
        codes[codes == empty[0]] = -1
    return codes[:len(a)], codes[len(a):]


def _initials(values: np.ndarray) -> np.ndarray:
    return np.array([x[:1] for x in values], dtype=object)


def _levels(present: np.ndarray, conditions: list[np.ndarray]) -> np.ndarray:
    """Level 1 for the first condition that holds, …, the last level when none holds; 0 where
    a value is missing."""
    out = np.select(conditions, list(range(1, len(conditions) + 1)), len(conditions) + 1)
    return np.where(present, out, 0).astype(np.int8)


def _dates(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """exact, and one of year/month/day off (or day and month swapped), for ISO date texts."""
    exact = a == b
    A = a.astype("U10").view(np.uint32).reshape(-1, 10)
    B = b.astype("U10").view(np.uint32).reshape(-1, 10)
    ya, ma, da = A[:, 0:4], A[:, 5:7], A[:, 8:10]
    yb, mb, db = B[:, 0:4], B[:, 5:7], B[:, 8:10]
    y, m, d = ((x == z).all(axis=1) for x, z in ((ya, yb), (ma, mb), (da, db)))
    swapped = y & (ma == db).all(axis=1) & (da == mb).all(axis=1)
    one_off = ((y.astype(int) + m + d) == 2) | swapped
    return exact, one_off & ~exact


def _date_levels(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    present = _both(a, b)
    out = np.zeros(len(a), dtype=np.int8)
    if present.any():
        exact, near = _dates(a[present], b[present])
        out[present] = np.select([exact, near], [1, 2], 3)
    return out


# --------------------------------------------------------------------------- per field

def _ssn(hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray) -> np.ndarray:
    a, b = hr.pnr[h], kleer.pnr[k]
    present = _both(a, b)
    out = np.zeros(len(h), dtype=np.int8)
    idx = np.flatnonzero(present)
    if len(idx):
        x, y = hr.pnr_digits[h[idx]], kleer.pnr_digits[k[idx]]
        d = x != y
        n = d.sum(axis=1)
        swapped = np.zeros(len(idx), dtype=bool)
        for i in range(9):
            swapped |= d[:, i] & d[:, i + 1] & (x[:, i] == y[:, i + 1]) & (x[:, i + 1] == y[:, i])
        same_len = hr.pnr_len[h[idx]] == kleer.pnr_len[k[idx]]
        out[idx] = np.select([(n == 0) & same_len, n == 0, n == 1, (n == 2) & swapped],
                             [1, 2, 3, 4], 5)
    return out


def _first(hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray) -> np.ndarray:
    a, b = hr.first[h], kleer.first[k]
    present = _both(a, b)
    out = np.zeros(len(h), dtype=np.int8)
    idx = np.flatnonzero(present)
    if len(idx):
        hh, kk = h[idx], k[idx]
        a, b = a[idx], b[idx]
        ca, cb = hr.first_key[hh], kleer.first_key[kk]
        swapped = (ca == kleer.last_key[kk]) & (hr.last_key[hh] == cb) & (ca != cb)
        part = _pairwise_at(fuzz.token_set_ratio, hr.first_key, hh, kleer.first_key, kk) == 100
        jw = _pairwise_at(JaroWinkler.normalized_similarity, hr.first, hh, kleer.first, kk)
        initial = (hr.has_initial[hh] | kleer.has_initial[kk]) & \
            (_initials(hr.first)[hh] == _initials(kleer.first)[kk])
        level = np.select([a == b, ca == cb, swapped, part, initial, jw >= 0.92, jw >= 0.80],
                          [1, 2, 3, 4, 5, 6, 7], 8)
        rest = np.flatnonzero(level >= 6)
        if len(rest):
            level[rest[_short_forms(a[rest], b[rest])]] = 2
        out[idx] = level
    return out


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
    ua, ub = np.asarray(ua, dtype=object), np.asarray(ub, dtype=object)
    codes, pairs = pd.factorize(ca.astype(np.int64) * len(ub) + cb)
    pairs = np.asarray(pairs, dtype=np.int64)
    pa, pb = pairs // len(ub), pairs % len(ub)
    ka, kb = _spelling(ua), _spelling(ub)
    both_one_word = ka["one_word"][pa] & kb["one_word"][pb]
    first3 = _shared(ka["first3"], kb["first3"])
    last4 = _shared(ka["last4"], kb["last4"])
    ends = ka["four"][pa] & kb["four"][pb] & (last4[0][pa] == last4[1][pb])
    maybe = ~both_one_word | ((ka["length"][pa] != kb["length"][pb]) &
                              ((first3[0][pa] == first3[1][pb]) | ends))
    hits = np.zeros(len(pairs), dtype=bool)
    for i in np.flatnonzero(maybe).tolist():
        x, y = ua[pa[i]], ub[pb[i]]
        hits[i] = any(_may_be_short(p, q) and (nicknames.hypocoristic(p, q)
                                               or nicknames.hypocoristic(q, p))
                      for p in x.split() for q in y.split())
    return hits[codes]


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
    ends with the other). tests/test_matching_model.py checks it never rejects a short form."""
    if p == q or len(p) == len(q):
        return False
    sp, sq = _sound(p), _sound(q)
    return sp[:3] == sq[:3] or sp.endswith(sq) or sq.endswith(sp)


def _last(hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray) -> np.ndarray:
    a, b = hr.last[h], kleer.last[k]
    present = _both(a, b)
    out = np.zeros(len(h), dtype=np.int8)
    idx = np.flatnonzero(present)
    if len(idx):
        hh, kk = h[idx], k[idx]
        a, b = a[idx], b[idx]
        swapped = (a == kleer.first[kk]) & (hr.first[hh] == b) & (a != b)
        part = _pairwise_at(fuzz.token_set_ratio, hr.last, hh, kleer.last, kk) == 100
        jw = _pairwise_at(JaroWinkler.normalized_similarity, hr.last, hh, kleer.last, kk)
        out[idx] = np.select([a == b, swapped, part, jw >= 0.92, jw >= 0.80], [1, 2, 3, 4, 5], 6)
    return out


def _birth(hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray) -> np.ndarray:
    a, b = hr.birth_date[h], kleer.birth_date[k]
    both_pnr = (hr.pnr[h] != "") & (kleer.pnr[k] != "")
    out = _date_levels(a, b)
    derived = hr.birth_from_pnr[h] | kleer.birth_from_pnr[k]
    out = np.where((out == 1) & derived, 2, np.where(out >= 2, out + 1, out)).astype(np.int8)
    return np.where(both_pnr, 0, out).astype(np.int8)


def _email(hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray) -> np.ndarray:
    best = np.full(len(h), 9, dtype=np.int8)
    hr_any = np.zeros(len(h), dtype=bool)
    has_e = kleer.emails["email"][k] != ""
    for key in ("private_email", "work_email"):
        ch, ck = _codes(hr.emails[key], kleer.emails["email"])
        v, e = ch[h], ck[k]
        hr_any |= v >= 0
        both = (v >= 0) & (e >= 0)
        exact = both & (v == e)
        lh, lk = _codes(hr.locals[key], kleer.locals["email"])
        local_k = lk[k]
        local = both & ~exact & (local_k >= 0) & (lh[h] == local_k)
        best = np.minimum(best, np.where(exact, 1, np.where(local, 2, 9))).astype(np.int8)
    out = np.where(best == 9, np.where(hr_any & has_e, 4, 0), best).astype(np.int8)
    local_rows = np.flatnonzero(out == 2)
    if len(local_rows):
        local = kleer.locals["email"]
        named = np.array([nm.made_of_name(local[i], kleer.names[i].tokens)
                          for i in k[local_rows]], dtype=bool)
        out[local_rows[named]] = 3
        # made of the HR name too, it says only what the names' own comparison says ("anna.berg"
        # between an Anna Berg and an Anna Berg, or "t.berg" between a Tobias and a Thomas
        # Berg): neutral, as namesakes share such a local part as often as one person does.
        # Made of the Kleer name only (a maiden name in an old address), it is evidence.
        rows = local_rows[named]
        both = np.array([nm.made_of_name(local[kk], hr.names[hh].tokens)
                         for hh, kk in zip(h[rows].tolist(), k[rows].tolist())], dtype=bool)
        out[rows[both]] = 0
    return out


def _equal_at(a: np.ndarray, h: np.ndarray, b: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Levels exact · differs of ``a[h]`` against ``b[k]`` (0 where either is missing), on
    codes."""
    ca, cb = _codes(a, b)
    x, y = ca[h], cb[k]
    return _levels((x >= 0) & (y >= 0), [x == y])


def _street(hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray) -> np.ndarray:
    a, b = hr.street[h], kleer.street[k]
    present = _both(a, b)
    out = np.zeros(len(h), dtype=np.int8)
    idx = np.flatnonzero(present)
    if len(idx):
        a, b = a[idx], b[idx]
        same_no = hr.street_no[h[idx]] == kleer.street_no[k[idx]]
        jw = _pairwise_at(JaroWinkler.normalized_similarity, hr.street, h[idx], kleer.street,
                          k[idx])
        out[idx] = np.select([a == b, same_no & (jw >= 0.85)], [1, 2], 3)
    return out


def _zip(hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray) -> np.ndarray:
    ca, cb = _codes(hr.zip_code, kleer.zip_code)
    a, b = ca[h], cb[k]
    a3, b3 = _codes(np.array([x[:3] for x in hr.zip_code], dtype=object),
                    np.array([x[:3] for x in kleer.zip_code], dtype=object))
    return _levels((a >= 0) & (b >= 0), [a == b, a3[h] == b3[k]])


def _city(hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray) -> np.ndarray:
    ca, cb = _codes(hr.city, kleer.city)
    a, b = ca[h], cb[k]
    present = (a >= 0) & (b >= 0)
    out = np.zeros(len(h), dtype=np.int8)
    idx = np.flatnonzero(present)
    if len(idx):
        jw = _pairwise_at(JaroWinkler.normalized_similarity, hr.city, h[idx], kleer.city, k[idx])
        out[idx] = np.select([a[idx] == b[idx], jw >= 0.9], [1, 2], 3)
    return out


def _employee_number(hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray) -> np.ndarray:
    a, b = hr.employee_number[h], kleer.employee_number[k]
    present = _both(a, b)
    out = np.zeros(len(h), dtype=np.int8)
    idx = np.flatnonzero(present)
    if len(idx):
        off = _pairwise_at(Levenshtein.distance, hr.employee_number, h[idx],
                           kleer.employee_number, k[idx]) == 1
        out[idx] = np.select([a[idx] == b[idx], off], [1, 2], 3)
    return out


def _foreign(hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray) -> np.ndarray:
    f = kleer.foreign_id[k]
    return _levels(f != "", [f == hr.ids[h].astype(str).astype(object)])


_COMPARE: Mapping[str, Callable[[Side, Side, np.ndarray, np.ndarray], np.ndarray]] = {
    "foreign_id": _foreign,
    "ssn": _ssn,
    "first_name": _first,
    "last_name": _last,
    "birth_date": _birth,
    "email": _email,
    "phone": lambda hr, kl, h, k: _equal_at(hr.phone, h, kl.phone, k),
    "street": _street,
    "zip_code": _zip,
    "city": _city,
    "employee_number": _employee_number,
    "employment_start_date": lambda hr, kl, h, k: _date_levels(hr.start[h], kl.start[k]),
}


def compare(hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray, comparisons: list[str]
            ) -> np.ndarray:
    """The comparison vectors: an ``(n_pairs, len(comparisons))`` int8 matrix of levels."""
    out = np.zeros((len(h), len(comparisons)), dtype=np.int8)
    for j, c in enumerate(comparisons):
        out[:, j] = _COMPARE[c](hr, kleer, h, k)
    if "street" in comparisons:
        # a move changes street, postal code and city together: one piece of evidence, not
        # three (the model assumes independent comparisons), so street and postal code both
        # differing make the postal code and city neutral
        moved = out[:, comparisons.index("street")] == COMPARISONS["street"].n_levels
        if "zip_code" in comparisons:
            moved &= out[:, comparisons.index("zip_code")] == COMPARISONS["zip_code"].n_levels
        for c in ("zip_code", "city"):
            if c in comparisons:
                j = comparisons.index(c)
                # a move within the same city keeps the city as evidence
                out[moved & (out[:, j] != 1), j] = 0
    return out
