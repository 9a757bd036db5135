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
from types import MappingProxyType
from typing import Callable, Mapping

import numpy as np
import pandas as pd
from rapidfuzz import process
from rapidfuzz.distance import JaroWinkler, Levenshtein

from . import names as nm
from .joint_codes import joint_codes
from .word_sets import _one_contains_the_other
from .prepare import Side, shared_codes, value_codes
from .shortforms import _short_form_codes

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

def _pairwise_at(scorer: Callable, a: np.ndarray, h: np.ndarray, b: np.ndarray, k: np.ndarray
                 ) -> np.ndarray:
    """``scorer(a[h[i]], b[k[i]])`` for every i, computed once per distinct pair of values.

    Candidate pairs repeat values a lot (a first name, a city, a surname among namesakes), so
    the values of each side are numbered once and the scorer runs on the distinct pairs of
    numbers only."""
    ca, ua = pd.factorize(a)
    cb, ub = pd.factorize(b)
    return _pairwise_codes(scorer, (ca.astype(np.int64), np.asarray(ua, dtype=object)), h,
                           (cb.astype(np.int64), np.asarray(ub, dtype=object)), k)


def _pairwise(scorer: Callable, hr: Side, kleer: Side, name: str, h: np.ndarray, k: np.ndarray
              ) -> np.ndarray:
    """:func:`_pairwise_at` of the column ``name`` of both sides, on the sides' own numbering
    of their values (:func:`~workbench.matching.prepare.value_codes`, once per run)."""
    return _pairwise_codes(scorer, value_codes(hr, name), h, value_codes(kleer, name), k)


def _pairwise_codes(scorer: Callable, a: tuple[np.ndarray, np.ndarray], h: np.ndarray,
                    b: tuple[np.ndarray, np.ndarray], k: np.ndarray) -> np.ndarray:
    """``scorer`` of every pair of values (codes, distinct values), once per distinct pair."""
    if len(h) == 0:
        return np.zeros(0)
    (ca, ua), (cb, ub) = a, b
    width = max(len(ub), 1)
    codes, distinct = pd.factorize(ca[h] * width + cb[k])
    distinct = np.asarray(distinct, dtype=np.int64)
    scores = process.cpdist(ua[distinct // width].tolist(), ub[distinct % width].tolist(),
                            scorer=scorer, workers=-1)
    return scores[codes]


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


def _date_parts(side: Side, name: str) -> tuple[np.ndarray, ...]:
    """Per record of a side, the date column ``name``'s year, month and day as the code points
    of ``value[0:4]``, ``[5:7]`` and ``[8:10]`` packed two to a uint64 (four arrays: year's
    first and second half, month, day): what :func:`_dates` compares, read once per side
    instead of once per pair (a random-pair sample compares tens of thousands of dates)."""
    key = ("date_parts", name)
    got = side.memo.get(key)
    if got is None:
        values = getattr(side, name)
        m = values.astype("U10").view(np.uint32).reshape(-1, 10).astype(np.uint64) \
            if len(values) else np.zeros((0, 10), dtype=np.uint64)
        got = side.memo[key] = tuple((m[:, i] << np.uint64(32)) | m[:, i + 1]
                                     for i in (0, 2, 5, 8))
    return got


def _date_levels_at(hr: Side, kleer: Side, name: str, h: np.ndarray, k: np.ndarray
                    ) -> np.ndarray:
    """Levels exact · one component off · differs of the date column ``name`` at the pairs (0
    where either is missing): presence and equality on codes, the dates' components (read once
    per side, :func:`_date_parts`) compared only for the pairs that differ — exactly
    :func:`_dates`."""
    ch, ck, _ = shared_codes(hr, kleer, name)
    x, y = ch[h], ck[k]
    out = np.where((x >= 0) & (y >= 0), np.where(x == y, 1, 3), 0).astype(np.int8)
    differ = np.flatnonzero(out == 3)
    if len(differ):
        (y1a, y2a, ma, da), (y1b, y2b, mb, db) = _date_parts(hr, name), _date_parts(kleer, name)
        hh, kk = h[differ], k[differ]
        ma, da, mb, db = ma[hh], da[hh], mb[kk], db[kk]
        year = (y1a[hh] == y1b[kk]) & (y2a[hh] == y2b[kk])
        month, day = ma == mb, da == db
        swapped = year & (ma == db) & (da == mb)
        near = ((year.astype(np.int8) + month + day) == 2) | swapped
        out[differ[near]] = 2
    return out


# --------------------------------------------------------------------------- per field

def _ssn(hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray) -> np.ndarray:
    present = (hr.pnr_digits[h, 0] != 255) & (kleer.pnr_digits[k, 0] != 255)  # pnr != ""
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
    # every test on integer codes of the texts (prepare.shared_codes): "" is -1 on both sides,
    # so codes are equal exactly where the texts are
    fh, fk, _ = shared_codes(hr, kleer, "first")
    a, b = fh[h], fk[k]
    present = (a >= 0) & (b >= 0)
    out = np.zeros(len(h), dtype=np.int8)
    idx = np.flatnonzero(present)
    if len(idx):
        hh, kk = h[idx], k[idx]
        a, b = a[idx], b[idx]
        xh, xk, _ = shared_codes(hr, kleer, "first_key")
        ca, cb = xh[hh], xk[kk]
        fl_h, fl_k, _ = shared_codes(hr, kleer, "first_key", "last_key")
        lf_h, lf_k, _ = shared_codes(hr, kleer, "last_key", "first_key")
        swapped = (fl_h[hh] == fl_k[kk]) & (lf_h[hh] == lf_k[kk]) & (ca != cb)
        # the first level that holds, each similarity scored only where no earlier level did
        level = np.select([a == b, ca == cb, swapped], [1, 2, 3], 0).astype(np.int8)
        open_ = np.flatnonzero(level == 0)
        oh, ok_ = hh[open_], kk[open_]
        part = _one_contains_the_other(hr, kleer, "first_key", oh, ok_)
        ih, ik = _first_initials(hr, kleer)
        initial = (hr.has_initial[oh] | kleer.has_initial[ok_]) & (ih[oh] == ik[ok_])
        level[open_] = np.select([part, initial], [4, 5], 0)
        fuzzy = open_[~part & ~initial]
        jw = _pairwise(JaroWinkler.normalized_similarity, hr, kleer, "first", hh[fuzzy],
                       kk[fuzzy])
        level[fuzzy] = np.select([jw >= 0.92, jw >= 0.80], [6, 7], 8)
        rest = np.flatnonzero(level >= 6)
        if len(rest):
            (ch, uh), (ck, uk) = value_codes(hr, "first"), value_codes(kleer, "first")
            level[rest[_short_form_codes(ch[hh[rest]], uh, ck[kk[rest]], uk, hr, kleer)]] = 2
        out[idx] = level
    return out


def _first_initials(hr: Side, kleer: Side) -> tuple[np.ndarray, np.ndarray]:
    """The first letter of each record's folded first names (``first``), as codes in one
    vocabulary of both sides (equal exactly where the letters are; "" where there is no first
    name), from the sides' distinct first names: a letter per distinct name, not per record."""
    got = hr.memo.get("first_initials")
    if got is not None and got[0] is kleer:
        return got[1]
    (hc, hu), (kc, ku) = value_codes(hr, "first"), value_codes(kleer, "first")
    letters = np.asarray([v[:1] for v in hu.tolist()] + [v[:1] for v in ku.tolist()],
                         dtype=object)
    codes = pd.factorize(letters)[0].astype(np.int64) if len(letters) else \
        np.zeros(0, dtype=np.int64)
    h_at, k_at = codes[:len(hu)], codes[len(hu):]
    result = (h_at[hc] if len(hc) else hc, k_at[kc] if len(kc) else kc)
    hr.memo["first_initials"] = (kleer, result)
    return result


def _last(hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray) -> np.ndarray:
    lh, lk, _ = shared_codes(hr, kleer, "last")
    a, b = lh[h], lk[k]
    present = (a >= 0) & (b >= 0)
    out = np.zeros(len(h), dtype=np.int8)
    idx = np.flatnonzero(present)
    if len(idx):
        hh, kk = h[idx], k[idx]
        a, b = a[idx], b[idx]
        lf_h, lf_k, _ = shared_codes(hr, kleer, "last", "first")
        fl_h, fl_k, _ = shared_codes(hr, kleer, "first", "last")
        swapped = (lf_h[hh] == lf_k[kk]) & (fl_h[hh] == fl_k[kk]) & (a != b)
        # the first level that holds, each similarity scored only where no earlier level did
        level = np.select([a == b, swapped], [1, 2], 0).astype(np.int8)
        open_ = np.flatnonzero(level == 0)
        part = _one_contains_the_other(hr, kleer, "last", hh[open_], kk[open_])
        level[open_[part]] = 3
        fuzzy = open_[~part]
        jw = _pairwise(JaroWinkler.normalized_similarity, hr, kleer, "last", hh[fuzzy],
                       kk[fuzzy])
        level[fuzzy] = np.select([jw >= 0.92, jw >= 0.80], [4, 5], 6)
        out[idx] = level
    return out


def _birth(hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray) -> np.ndarray:
    both_pnr = (hr.pnr_digits[h, 0] != 255) & (kleer.pnr_digits[k, 0] != 255)
    out = _date_levels_at(hr, kleer, "birth_date", h, k)
    derived = hr.birth_from_pnr[h] | kleer.birth_from_pnr[k]
    out = np.where((out == 1) & derived, 2, np.where(out >= 2, out + 1, out)).astype(np.int8)
    return np.where(both_pnr, 0, out).astype(np.int8)


def _email(hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray) -> np.ndarray:
    best = np.full(len(h), 9, dtype=np.int8)
    hr_any = np.zeros(len(h), dtype=bool)
    has_e = None
    (emails_h, emails_k), (locals_h, locals_k) = (joint_codes(hr, kleer, "emails"),
                                                  joint_codes(hr, kleer, "locals"))
    for key in ("private_email", "work_email"):
        v, e = emails_h[key][h], emails_k[k]
        if has_e is None:
            has_e = e >= 0
        hr_any |= v >= 0
        both = (v >= 0) & (e >= 0)
        exact = both & (v == e)
        local_k = locals_k[k]
        local = both & ~exact & (local_k >= 0) & (locals_h[key][h] == local_k)
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


def _equal_at(hr: Side, kleer: Side, name: str, h: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Levels exact · differs of the column ``name`` (0 where either is missing), on codes."""
    ca, cb, _ = shared_codes(hr, kleer, name)
    x, y = ca[h], cb[k]
    return _levels((x >= 0) & (y >= 0), [x == y])


def _street(hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray) -> np.ndarray:
    sh, sk, _ = shared_codes(hr, kleer, "street")
    a, b = sh[h], sk[k]
    present = (a >= 0) & (b >= 0)
    out = np.zeros(len(h), dtype=np.int8)
    idx = np.flatnonzero(present)
    if len(idx):
        a, b = a[idx], b[idx]
        nh, nk, _ = shared_codes(hr, kleer, "street_no")
        level = np.where(a == b, 1, 3).astype(np.int8)
        fuzzy = np.flatnonzero((a != b) & (nh[h[idx]] == nk[k[idx]]))  # same house number
        jw = _pairwise(JaroWinkler.normalized_similarity, hr, kleer, "street", h[idx[fuzzy]],
                       k[idx[fuzzy]])
        level[fuzzy[jw >= 0.85]] = 2
        out[idx] = level
    return out


def _zip(hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray) -> np.ndarray:
    ca, cb, _ = shared_codes(hr, kleer, "zip_code")
    a, b = ca[h], cb[k]
    a3, b3, _ = shared_codes(hr, kleer, "zip3")
    return _levels((a >= 0) & (b >= 0), [a == b, a3[h] == b3[k]])


def _city(hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray) -> np.ndarray:
    ca, cb, _ = shared_codes(hr, kleer, "city")
    a, b = ca[h], cb[k]
    present = (a >= 0) & (b >= 0)
    out = np.zeros(len(h), dtype=np.int8)
    idx = np.flatnonzero(present)
    if len(idx):
        level = np.where(a[idx] == b[idx], 1, 3).astype(np.int8)
        fuzzy = np.flatnonzero(level == 3)
        jw = _pairwise(JaroWinkler.normalized_similarity, hr, kleer, "city", h[idx[fuzzy]],
                       k[idx[fuzzy]])
        level[fuzzy[jw >= 0.9]] = 2
        out[idx] = level
    return out


def _employee_number(hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray) -> np.ndarray:
    ch, ck, _ = shared_codes(hr, kleer, "employee_number")
    a, b = ch[h], ck[k]
    present = (a >= 0) & (b >= 0)
    out = np.zeros(len(h), dtype=np.int8)
    idx = np.flatnonzero(present)
    if len(idx):
        level = np.where(a[idx] == b[idx], 1, 3).astype(np.int8)
        differ = np.flatnonzero(level == 3)
        off = _pairwise(Levenshtein.distance, hr, kleer, "employee_number", h[idx[differ]],
                        k[idx[differ]]) == 1
        level[differ[off]] = 2
        out[idx] = level
    return out


def _foreign(hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray) -> np.ndarray:
    ih, fk, _ = shared_codes(hr, kleer, "id_text", "foreign_id")
    f = fk[k]
    return _levels(f >= 0, [f == ih[h]])


_COMPARE: Mapping[str, Callable[[Side, Side, np.ndarray, np.ndarray], np.ndarray]] = {
    "foreign_id": _foreign,
    "ssn": _ssn,
    "first_name": _first,
    "last_name": _last,
    "birth_date": _birth,
    "email": _email,
    "phone": lambda hr, kl, h, k: _equal_at(hr, kl, "phone", h, k),
    "street": _street,
    "zip_code": _zip,
    "city": _city,
    "employee_number": _employee_number,
    "employment_start_date": lambda hr, kl, h, k: _date_levels_at(hr, kl, "start", h, k),
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
