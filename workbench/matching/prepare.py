"""Each side of a match as flat arrays: one comparison-ready value per record and signal.

:func:`prepare_hr` and :func:`prepare_kleer` turn the canonical frames into a :class:`Side`:
text arrays with ``""`` for missing (so equality of two non-empty values is a vectorised test),
personnummer as their last ten digits (10- and 12-digit forms compare equal; a personnummer with a
typo keeps its digits so "one digit off" can be seen), and the name as
:class:`~workbench.matching.names.NameParts` plus the keys the scorer compares.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from itertools import chain
from typing import Callable

import numpy as np
import pandas as pd

from ..bulk import cycle_collector_paused
from ..fields import mask
from ..normalize import birth_date_from_personnummer
from .name_table import NameTable, hr_table, kleer_table
from .names import NameParts
from .prepare_text import folded_codes, folded_column, local_parts, lower, text_column

__all__ = ["Side", "prepare_hr", "prepare_kleer", "text_column", "digit_matrix", "luhn_valid",
           "value_codes", "shared_codes", "column", "token_codes", "folded_column"]


@dataclass(frozen=True, eq=False)
class Side:
    """One side of the match. Every array has one entry per record, in input order."""

    ids: np.ndarray            # hr_id (text) or kleer_id (int)
    names: list[NameParts]
    folded: np.ndarray         # folded tokens joined: "identical" test
    sorted_key: np.ndarray     # canonical tokens sorted: swaps and nicknames
    ordered_key: np.ndarray    # canonical tokens in order
    initials_key: np.ndarray   # first names as initials + last name, sorted
    first_key: np.ndarray
    last_key: np.ndarray
    has_initial: np.ndarray    # a one-letter name token ("A. Svensson")
    n_tokens: np.ndarray       # distinct canonical tokens
    pnr: np.ndarray            # last ten digits of the personnummer, or ""
    pnr_digits: np.ndarray     # the same as an (n, 10) digit matrix (255 where missing)
    pnr_valid: np.ndarray      # the ten digits pass the Luhn check
    ssn_masked: np.ndarray     # the personnummer as it may be shown (fields.mask)
    birth_date: np.ndarray
    emails: dict[str, np.ndarray]   # HR: private_email, work_email; Kleer: email
    locals: dict[str, np.ndarray]   # the part of each email before the @
    phone: np.ndarray
    employee_number: np.ndarray
    start: np.ndarray
    foreign_id: np.ndarray     # Kleer: the foreign-id (an hr_id); HR: ""
    first: np.ndarray = None   # folded first-name tokens joined ("anna maria")
    last: np.ndarray = None    # folded last-name tokens joined ("svensson berg")
    pnr_len: np.ndarray = None     # digits in the personnummer as written (10 or 12; 0 missing)
    birth_from_pnr: np.ndarray = None  # the birth date was read from the personnummer
    street: np.ndarray = None      # folded street ("storgatan 12 b")
    street_no: np.ndarray = None   # the house number in it ("12"), "" without one
    zip_code: np.ndarray = None
    city: np.ndarray = None        # folded
    memo: dict = field(default_factory=dict, repr=False)  # value_codes, shared_codes

    def __len__(self) -> int:
        return len(self.ids)


#: Columns derived from a side's arrays that comparisons number like the arrays themselves.
_DERIVED: dict[str, Callable[[Side], np.ndarray]] = {
    "zip3": lambda s: np.array([x[:3] for x in s.zip_code.tolist()], dtype=object),
    "first_initial": lambda s: np.array([x[:1] for x in s.first.tolist()], dtype=object),
    "id_text": lambda s: s.ids.astype(str).astype(object),
    "street_cut": lambda s: np.array([v[:100] for v in s.street.tolist()], dtype=object),
    "first_key_initial": lambda s: np.array([v[:1] for v in s.first_key.tolist()], dtype=object),
    "last_key_initial": lambda s: np.array([v[:1] for v in s.last_key.tolist()], dtype=object),
}


def column(side: Side, name: str) -> np.ndarray:
    """A side's array by name: an attribute, ``"emails.work_email"`` (one of a dict's arrays) or
    one of :data:`_DERIVED` (worked out once per side)."""
    if name in _DERIVED:
        key = ("column", name)
        if key not in side.memo:
            side.memo[key] = _DERIVED[name](side)
        return side.memo[key]
    attr, _, key = name.partition(".")
    return getattr(side, attr)[key] if key else getattr(side, attr)



def token_codes(side: Side, attr: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every token of every record's name, repeats included, in record order: (record
    position, token code, the distinct tokens); ``attr`` "tokens" (folded, as written) or
    "canon" (nickname-canonical). Read once per distinct name and spread to the records."""
    key = ("tokens", attr)
    got = side.memo.get(key)
    if got is not None:
        return got
    uniq, records = side.memo["names"]
    groups = [getattr(p, attr) for p in uniq]
    lengths_u = np.fromiter(map(len, groups), dtype=np.int64, count=len(groups))
    flat = np.asarray(list(chain.from_iterable(groups)), dtype=object)
    if len(flat):
        codes_u, vocab = pd.factorize(flat)
        codes_u, vocab = codes_u.astype(np.int64), np.asarray(vocab, dtype=object)
    else:
        codes_u, vocab = np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object)
    lengths = lengths_u[records] if len(records) else np.zeros(0, dtype=np.int64)
    total = int(lengths.sum())
    pos = np.repeat(np.arange(len(records), dtype=np.int64), lengths)
    starts = np.cumsum(lengths) - lengths
    offsets = (np.cumsum(lengths_u) - lengths_u)[records] if len(records) else lengths
    at = np.repeat(offsets - starts, lengths) + np.arange(total, dtype=np.int64)
    got = side.memo[key] = (pos, codes_u[at], vocab)
    return got


def value_codes(side: Side, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Each record's value of the column ``name`` (:func:`column`) as a code among the side's
    distinct values, and those values (``""`` among them when present): worked out once per
    side and column, so blocking, the comparisons and the u sample hash the texts once."""
    key = ("codes", name)
    got = side.memo.get(key)
    if got is None:
        codes, uniques = pd.factorize(np.asarray(column(side, name), dtype=object))
        got = side.memo[key] = (codes.astype(np.int64), np.asarray(uniques, dtype=object))
    return got


#: Columns the comparisons also score pair by pair on each side's own numbering.
PER_SIDE = frozenset({"first", "last", "first_key", "street", "city", "employee_number"})


def shared_codes(hr: Side, kleer: Side, h_name: str, k_name: str | None = None
                 ) -> tuple[np.ndarray, np.ndarray, int]:
    """The HR column ``h_name`` and the Kleer column ``k_name`` (the same name by default)
    numbered in one vocabulary: (HR codes, Kleer codes, vocabulary size), ``-1`` for ``""``, so
    codes compare like the texts; kept for the run. Columns that are also scored pair by pair
    (:data:`PER_SIDE`) are numbered per side first (:func:`value_codes`) and the two
    vocabularies joined on their distinct values; any other column is hashed in one pass over
    both sides."""
    k_name = k_name or h_name
    key = ("shared", h_name, k_name)
    got = hr.memo.get(key)
    if got is not None and got[0] is kleer:
        return got[1]
    if h_name not in PER_SIDE or k_name not in PER_SIDE:
        a, b = column(hr, h_name), column(kleer, k_name)
        codes, vocabulary = pd.factorize(np.concatenate([np.asarray(a, dtype=object),
                                                         np.asarray(b, dtype=object)]))
        codes = codes.astype(np.int64)
        empty = np.flatnonzero(np.asarray(vocabulary, dtype=object) == "")
        if len(empty):
            codes[codes == empty[0]] = -1
        result = (codes[:len(a)], codes[len(a):], len(vocabulary))
        hr.memo[key] = (kleer, result)
        return result
    hc, hu = value_codes(hr, h_name)
    kc, ku = value_codes(kleer, k_name)
    h_map = np.arange(len(hu), dtype=np.int64)
    h_empty = np.flatnonzero(hu == "") if len(hu) else np.zeros(0, dtype=np.int64)
    if len(h_empty):
        h_map[h_empty[0]] = -1
    # the distinct values of both sides in one numbering: HR's are distinct and come first, so
    # they keep their codes, and a Kleer value gets its HR value's code or a new one
    joint, vocabulary = pd.factorize(np.concatenate([hu, ku]))
    at = joint[len(hu):].astype(np.int64)
    k_map = np.where(ku == "", -1, at) if len(ku) else at
    h_out = h_map[hc] if len(hc) else hc
    k_out = k_map[kc] if len(kc) else kc
    result = (h_out, k_out, len(vocabulary))
    hr.memo[key] = (kleer, result)
    return result


def _personnummer(ssn: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray,
                                              np.ndarray]:
    """The last ten digits of every 10- or 12-digit personnummer ("" otherwise), how many digits
    each one has as written, those ten digits as a :func:`digit_matrix`, which numbers are
    written canonically (``YYYYMMDD-NNNN``) and those as an (n, 13) matrix of code points."""
    out = np.full(len(ssn), "", dtype=object)
    count = np.zeros(len(ssn), dtype=np.int16)
    digits = np.full((len(ssn), 10), 255, dtype=np.uint8)
    lengths = np.fromiter(map(len, ssn.tolist()), dtype=np.int64, count=len(ssn))
    fast = lengths == 13
    canonical = np.zeros((0, 13), dtype=np.uint32)
    if fast.any():  # the canonical YYYYMMDD-NNNN: its twelve digits without a regex
        codes = ssn[fast].astype("U13").view(np.uint32).reshape(-1, 13)
        digit = (codes >= 48) & (codes <= 57)
        fits = (codes[:, 8] == 45) & digit[:, :8].all(axis=1) & digit[:, 9:].all(axis=1)
        rows = np.flatnonzero(fast)[fits]
        canonical = codes[fits]
        ten = np.ascontiguousarray(np.concatenate([canonical[:, 2:8], canonical[:, 9:]], axis=1))
        out[rows] = ten.view("U10").reshape(-1).tolist()
        count[rows] = 12
        digits[rows] = ten - 48
        fast[np.flatnonzero(fast)[~fits]] = False
    for i in np.flatnonzero(~fast & (lengths > 0)).tolist():
        d = _NOT_DIGIT.sub("", ssn[i])
        count[i] = len(d)
        if len(d) in (10, 12):
            out[i] = d[-10:]
            digits[i] = np.frombuffer(d[-10:].encode("ascii"), dtype=np.uint8) - 48
    return out, count, digits, fast, canonical


def _digits10(ssn: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The last ten digits of every 10- or 12-digit personnummer ("" otherwise), and how many
    digits each one has as written."""
    return _personnummer(ssn)[:2]


_NOT_DIGIT = re.compile(r"[^0-9]")  # ASCII digits, as the Luhn check reads them


def digit_matrix(pnr10: np.ndarray) -> np.ndarray:
    """Ten-digit strings as an (n, 10) uint8 matrix; rows without a number are all 255."""
    out = np.full((len(pnr10), 10), 255, dtype=np.uint8)
    ok = np.array([len(p) == 10 for p in pnr10], dtype=bool)
    if ok.any():
        out[ok] = np.frombuffer("".join(pnr10[ok]).encode("ascii"), dtype=np.uint8).reshape(-1, 10) - 48
    return out


def luhn_valid(digits: np.ndarray) -> np.ndarray:
    """The Luhn check of every row of a :func:`digit_matrix` (a row without a number fails)."""
    doubled = digits.astype(np.int16) * np.array([2, 1] * 5, dtype=np.int16)
    total = (doubled // 10 + doubled % 10).sum(axis=1)
    return (total % 10 == 0) & (digits[:, 0] != 255)


def _masked(ssn: np.ndarray, valid: np.ndarray, canonical: tuple[np.ndarray, np.ndarray]
            ) -> np.ndarray:
    """:func:`workbench.fields.mask` of every personnummer. A canonical valid number keeps its
    birth date (``19850312-****``) without being parsed again; anything else goes through mask."""
    fast, codes = canonical
    out = np.array([mask("ssn", v) if v else "" for v in ssn[~fast].tolist()] if (~fast).any()
                   else [], dtype=object)
    result = np.empty(len(ssn), dtype=object)
    result[~fast] = out
    if len(codes):
        shown = np.full((len(codes), 13), 42, dtype=np.uint32)  # "*"
        shown[:, :9] = codes[:, :9]
        result[fast] = shown.view("U13").reshape(-1).tolist()
    return result


def _birth_dates(frame: pd.DataFrame, ssn: np.ndarray,
                 canonical: tuple[np.ndarray, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The birth date column, filled from the personnummer where it is missing, and where it was.

    A canonical valid personnummer (``YYYYMMDD-NNNN``) gives its date by slicing (a
    samordningsnummer's day − 60 included); anything else goes through
    :func:`~workbench.normalize.birth_date_from_personnummer`.
    """
    out = text_column(frame, "birth_date")
    missing = (out == "") & (ssn != "")
    fast, codes = canonical
    sliced = missing & fast
    if sliced.any():  # YYYY-MM-DD from the digits, a samordningsnummer's day − 60
        rows = codes[missing[fast]]
        day = (rows[:, 6] - 48) * 10 + rows[:, 7] - 48
        day = np.where(day > 60, day - 60, day)
        iso = np.full((len(rows), 10), 45, dtype=np.uint32)  # "-"
        iso[:, :4], iso[:, 5:7] = rows[:, :4], rows[:, 4:6]
        iso[:, 8], iso[:, 9] = day // 10 + 48, day % 10 + 48
        out[sliced] = iso.view("U10").reshape(-1).tolist()
    for i in np.flatnonzero(missing & ~fast).tolist():
        out[i] = birth_date_from_personnummer(ssn[i]).value or ""
    from_pnr = missing & (out != "")
    return out, from_pnr


def _side(frame: pd.DataFrame, ids: np.ndarray, table: NameTable,
          emails: dict[str, np.ndarray], foreign_id: np.ndarray) -> Side:
    """``table``: the distinct names, each record's index among them and their keys (worked out
    once per distinct name, then spread to the records)."""
    uniq, codes, keys = table
    names = list(map(uniq.__getitem__, codes.tolist()))
    spread = {k: v[codes] for k, v in keys.items()}
    ssn = text_column(frame, "ssn")
    pnr, raw_digits, digits, written, codes13 = _personnummer(ssn)
    valid = luhn_valid(digits)
    # canonical and valid: the birth date and the masked number are read off the digits
    canonical = written & valid, codes13[valid[written]]
    locals_ = {k: local_parts(v) for k, v in emails.items()}
    birth, from_pnr = _birth_dates(frame, ssn, canonical)
    street, street_codes, street_no = folded_codes(frame, "street", numbers=True)
    city, city_codes, _ = folded_codes(frame, "city")
    return Side(
        ids=ids, names=names,
        folded=spread["folded"],
        sorted_key=spread["sorted_key"],
        ordered_key=spread["ordered_key"],
        initials_key=spread["initials_key"],
        first_key=spread["first_key"],
        last_key=spread["last_key"],
        has_initial=spread["has_initial"],
        n_tokens=spread["n_tokens"],
        pnr=pnr, pnr_digits=digits, pnr_valid=valid, ssn_masked=_masked(ssn, valid, canonical),
        birth_date=birth,
        emails=emails,
        locals=locals_,
        phone=text_column(frame, "phone"),
        employee_number=text_column(frame, "employee_number"),
        start=text_column(frame, "employment_start_date"),
        foreign_id=foreign_id,
        first=spread["first"],
        last=spread["last"],
        pnr_len=np.where(pnr != "", raw_digits, 0).astype(np.int8),
        birth_from_pnr=from_pnr,
        street=street, street_no=street_no,
        zip_code=text_column(frame, "zip_code"),
        city=city,
        memo={"names": (uniq, codes), ("codes", "street"): street_codes,
              ("codes", "city"): city_codes},
    )


def prepare_hr(hr: pd.DataFrame) -> Side:
    """The HR side: ``hr_id``, ``first_name``, ``last_name`` and any other canonical fields."""
    with cycle_collector_paused():  # many small tuples and names, no cycles among them
        return _prepare_hr(hr)


def prepare_kleer(kleer: pd.DataFrame) -> Side:
    """The Kleer side: ``kleer_id``, the one ``name`` (or first/last), ``email``, ``hr_id``
    (Kleer's foreign-id) and any other canonical fields."""
    with cycle_collector_paused():
        return _prepare_kleer(kleer)


def _prepare_hr(hr: pd.DataFrame) -> Side:
    first, last = text_column(hr, "first_name"), text_column(hr, "last_name")
    names = hr_table(first, last)
    emails = {k: lower(text_column(hr, k)) for k in ("private_email", "work_email")}
    return _side(hr, text_column(hr, "hr_id"), names, emails, np.full(len(hr), "", dtype=object))


def _prepare_kleer(kleer: pd.DataFrame) -> Side:
    name = text_column(kleer, "name")
    first, last = text_column(kleer, "first_name"), text_column(kleer, "last_name")
    names = kleer_table(name, first, last)
    emails = {"email": lower(text_column(kleer, "email"))}
    ids = kleer["kleer_id"].to_numpy()
    return _side(kleer, ids, names, emails, text_column(kleer, "hr_id"))
