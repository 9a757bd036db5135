"""Candidate generation: which HR employees are compared with which Kleer employee at all.

Comparing everyone with everyone is 2.5 billion pairs at 50,000 × 50,000; blocking keeps the
pairs that share something, without losing true pairs:

* exact keys: Kleer's foreign-id = hr_id, email (against either HR email), email local part,
  phone, employee number, street + postal code, and the initials key ("a svensson") for names
  with an initial;
* the birth date, never alone (everyone born on one day is a block that grows with N²) but
  combined with a name key: birth date + the first two letters of any (nickname-canonical) name
  token, so a changed surname, a typo in one name, a name in one part only or split elsewhere
  still meets its record;
* an employee number with one digit deleted, where numbers are long enough for such keys to be
  rare (expected records per key < 0.05; otherwise the key would grow with N);
* the personnummer with one digit deleted (ten keys per number): identical numbers, one digit
  off and two digits transposed all share a key;
* names: every pair of name tokens (after nicknames) is a key — "Anna Maria Svensson" has
  {anna maria}, {anna svensson}, {maria svensson} — and a Kleer token may also stand for the HR
  tokens similar to it (``rapidfuzz.process.cdist`` of the two token vocabularies with
  ``score_cutoff=settings.name_cutoff``) as long as the other token of the pair is the same, so
  swapped names, double names, hyphenated surnames, nicknames and a typo meet their HR record in
  a small block.

Name keys are built only for the Kleer employees that no identical personnummer or foreign-id
already identifies: names are the expensive, crowded keys (many Anna Johansson), and a Kleer
employee with an identical personnummer gains nothing from namesakes, who conflict on it.

A key shared by more than ``settings.max_block`` records on one side (a placeholder birth date, a
shared mailbox) carries no information and is skipped. Everything is vectorised: sort-based joins
on integer codes, no Python loop over pairs.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from .joint_codes import joint_codes
from .prepare import Side, column, shared_codes, token_codes
from .settings import MatchSettings

__all__ = ["candidate_pairs", "BLOCKS", "unique_ints"]

BLOCKS = ("foreign_id", "ssn", "birth_date", "email", "email_local", "phone", "employee_number",
          "address", "initials", "name")

_CDIST_CELLS = 20_000_000  # cells per cdist chunk: bounds memory on large vocabularies


#: Extra key components for splitting an oversized key: per side, one array per component
#: (indexed by record position). Set by :func:`candidate_pairs` for the duration of one call.
_Refine = list[tuple[np.ndarray, np.ndarray]]


def _join(h_pos: np.ndarray, h_key: np.ndarray, k_pos: np.ndarray, k_key: np.ndarray,
          max_block: int, refine: _Refine | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (hr position, kleer position) sharing a non-empty key.

    A sort-based equi-join on integer codes: every key's HR group is repeated once per Kleer
    record holding that key. A key shared by more than ``max_block`` records on one side is
    split by each of the ``refine`` components in turn (the key plus the first letter of the
    first name, the key plus that of the last name, …: a pair is kept when it agrees on one
    of them), recursively with the components left; without components left it is skipped.
    """
    pairs, over_h, over_k = _join_capped(h_pos, h_key, k_pos, k_key, max_block)
    if not refine or len(over_h[0]) == 0 or len(over_k[0]) == 0:
        return pairs
    found = [pairs]
    for i, (h_extra, k_extra) in enumerate(refine):
        rest = refine[:i] + refine[i + 1:]
        hp, hk = over_h
        kp, kk = over_k
        found.append(_join(hp, _with(hk, h_extra[hp]), kp, _with(kk, k_extra[kp]), max_block,
                           rest if len(rest) else None))
    return (np.concatenate([f[0] for f in found]).astype(np.int64),
            np.concatenate([f[1] for f in found]).astype(np.int64))


def _with(key: np.ndarray, extra: np.ndarray) -> np.ndarray:
    """``key|extra`` as text; "" (no key) where the extra component is missing."""
    k = pd.Series(key, dtype=object).astype(str)
    e = pd.Series(extra, dtype=object).astype(str)
    return (k + "|" + e).where(e != "", "").to_numpy(dtype=object)


def _join_capped(h_pos: np.ndarray, h_key: np.ndarray, k_pos: np.ndarray, k_key: np.ndarray,
                 max_block: int):
    """The join of usable keys, and the (positions, keys) of each side's records on oversized
    keys that both sides hold.

    Sort-based on integers throughout (hashing hundreds of thousands of distinct keys is
    slower than sorting them): each side's (key, position) pairs sorted and without repeats,
    the runs of equal keys found, and the Kleer runs looked up among the HR runs."""
    h_pos, k_pos = np.asarray(h_pos, dtype=np.int64), np.asarray(k_pos, dtype=np.int64)
    h_key, k_key = _integer_keys(h_key, k_key,
                                 max(int(h_pos.max(initial=0)), int(k_pos.max(initial=0))) + 1)
    hk, hp = _sorted_distinct(h_key, h_pos)
    kk, kp = _sorted_distinct(k_key, k_pos)
    hu, h_start, h_count = _runs(hk)
    ku, _, k_count = _runs(kk)
    at = np.minimum(np.searchsorted(hu, ku), max(len(hu) - 1, 0))
    shared = (hu[at] == ku) if len(hu) else np.zeros(len(ku), dtype=bool)
    h_count_k = np.where(shared, h_count[at] if len(hu) else 0, 0)
    usable = shared & (h_count_k <= max_block) & (k_count <= max_block)
    oversized = shared & ~usable
    h_over = np.zeros(len(hu), dtype=bool)
    h_over[at[oversized]] = True
    oh, ok_ = np.repeat(h_over, h_count), np.repeat(oversized, k_count)
    over_h, over_k = (hp[oh], hk[oh]), (kp[ok_], kk[ok_])
    entry_usable = np.repeat(usable, k_count)
    kp_use = kp[entry_usable]
    run = np.repeat(np.flatnonzero(usable), k_count[usable])
    reps = h_count_k[run]
    total = int(reps.sum())
    if total == 0:
        return (np.array([], dtype=np.int64), np.array([], dtype=np.int64)), over_h, over_k
    first = np.repeat(h_start[at[run]], reps)
    within = np.arange(total) - np.repeat(np.cumsum(reps) - reps, reps)
    return (hp[first + within], np.repeat(kp_use, reps)), over_h, over_k


def _integer_keys(h_key: np.ndarray, k_key: np.ndarray, n_pos: int
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Both sides' keys as non-negative int64 (``-1``: no key), small enough to be combined
    with a position below ``n_pos`` (``key * n_pos + position`` fits in int64): text keys
    ("" is no key) and very large integers are numbered."""
    if h_key.dtype != object and k_key.dtype != object:
        h_key, k_key = h_key.astype(np.int64), k_key.astype(np.int64)
        top = max(int(h_key.max(initial=0)), int(k_key.max(initial=0)))
        if top < (1 << 62) // max(n_pos, 1):
            return h_key, k_key
        keys = np.concatenate([h_key, k_key])
        codes = pd.factorize(keys)[0].astype(np.int64)
        codes[keys < 0] = -1
    else:
        keys = np.concatenate([h_key.astype(object), k_key.astype(object)])
        codes, uniques = pd.factorize(keys)
        codes = codes.astype(np.int64)
        empty = np.flatnonzero(np.asarray(uniques, dtype=object) == "")
        if len(empty):
            codes[codes == empty[0]] = -1
    return codes[:len(h_key)], codes[len(h_key):]


def _sorted_distinct(key: np.ndarray, pos: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(key, position) pairs with a key, without repeats, sorted by key then position."""
    ok = key >= 0
    width = int(pos.max(initial=0)) + 1
    combined = unique_ints(key[ok] * width + pos[ok])
    return combined // width, combined % width


def _runs(sorted_values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The distinct values of a sorted array, where each run starts and how long it is."""
    if len(sorted_values) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    starts = np.flatnonzero(np.concatenate([[True], sorted_values[1:] != sorted_values[:-1]]))
    counts = np.diff(np.concatenate([starts, [len(sorted_values)]]))
    return sorted_values[starts], starts, counts


def unique_ints(values: np.ndarray) -> np.ndarray:
    """Sorted distinct integers (sort-based: numpy 2's hash-based ``np.unique`` is many times
    slower on millions of int64)."""
    if len(values) == 0:
        return values
    s = np.sort(values)
    return s[np.concatenate([[True], s[1:] != s[:-1]])]


def _join1(h_key: np.ndarray, k_key: np.ndarray, max_block: int, refine: _Refine | None = None
           ) -> tuple[np.ndarray, np.ndarray]:
    return _join(np.arange(len(h_key)), h_key, np.arange(len(k_key)), k_key, max_block, refine)


def _long(columns: Iterable[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Several key columns as one long (position, key) pair of arrays."""
    cols = list(columns)
    n = len(cols[0]) if cols else 0
    pos = np.concatenate([np.arange(n)] * len(cols)) if cols else np.array([], dtype=np.int64)
    keys = np.concatenate(cols) if cols else np.array([], dtype=object)
    return pos, keys


def _deletions(digits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each ten-digit number (a row of the side's ``pnr_digits`` matrix, 255 where there is no
    number) with one digit deleted, as (position, 9-digit int)."""
    pos = np.flatnonzero(digits[:, 0] != 255)
    d = digits[pos].astype(np.int64)
    place = 10 ** np.arange(8, -1, -1, dtype=np.int64)
    keys = [np.delete(d, i, axis=1) @ place for i in range(10)]
    return np.tile(pos, 10), np.concatenate(keys)


def _combine(a: np.ndarray, b: np.ndarray, n_b: int) -> np.ndarray:
    """Two integer keys as one (``a`` major), ``-1`` (no key) where either is missing."""
    return np.where((a >= 0) & (b >= 0), a * max(n_b, 1) + b, -1)


def _pair_keys(hr: Side, kleer: Side, a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
    """The key of the columns ``a`` + ``b`` of each side as integers; no key where either is
    missing."""
    ah, ak, _ = shared_codes(hr, kleer, a)
    bh, bk, nb = shared_codes(hr, kleer, b)
    return _combine(ah, bh, nb), _combine(ak, bk, nb)


def _birth_token_keys(hr: Side, kleer: Side) -> tuple[tuple[np.ndarray, np.ndarray],
                                                      tuple[np.ndarray, np.ndarray]]:
    """Per side: (record position, birth date + the first two letters of one of its name
    tokens, as one integer) for the tokens, as written (folded) and nickname-canonical, of a
    record with a birth date; repeats are removed by the join."""
    bh, bk, _ = shared_codes(hr, kleer, "birth_date")
    tables = [token_codes(side, attr) for side in (hr, kleer) for attr in ("tokens", "canon")]
    # the first two letters of every distinct token, numbered in one vocabulary
    prefix, prefixes = pd.factorize(np.asarray([t[:2] for _, _, vocab in tables for t in vocab],
                                               dtype=object))
    prefix = prefix.astype(np.int64)
    n, at, keys = len(prefixes), 0, []
    for pos, code, vocab in tables:
        keys.append((pos, prefix[at:at + len(vocab)][code]))
        at += len(vocab)
    (hp1, hc1), (hp2, hc2), (kp1, kc1), (kp2, kc2) = keys
    out = []
    for p1, c1, p2, c2, born in ((hp1, hc1, hp2, hc2, bh), (kp1, kc1, kp2, kc2, bk)):
        # a canonical token lines up with its token as written: only one whose first two
        # letters differ adds a key; records without a birth date add none
        other = c2 != c1 if len(p2) == len(p1) else np.ones(len(p2), dtype=bool)
        pos, code = np.concatenate([p1, p2[other]]), np.concatenate([c1, c2[other]])
        dated = born[pos] >= 0
        pos, code = pos[dated], code[dated]
        out.append((pos, _combine(born[pos], code, n)))
    return out[0], out[1]


def _birth_name_pairs(hr: Side, kleer: Side, max_block: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Birth date + the first two letters of any name token: the first name, the last name or
    one of several, so a changed surname, a typo in one name, a name given in one part only
    ("Webb" for Amber Webb) or split differently ("Alexander Georg E") still meets its record;
    an oversized key (a placeholder date, a very common name) is split by the postal code."""
    (hp, hk), (kp, kk) = _birth_token_keys(hr, kleer)
    return [_join(hp, hk, kp, kk, max_block, [(hr.zip_code, kleer.zip_code)])]


def _digit_deletions(values: np.ndarray, n_other: int) -> tuple[np.ndarray, np.ndarray]:
    """Numbers with one character deleted, as (position, key), for lengths whose deletion keys
    stay rare on a side of this size; none otherwise.

    Keys are equal exactly where the texts left are: a text of ASCII digits only is the integer
    its digits make after a leading 1 (``"0123"`` → 10123, so leading zeros and the length
    count), any other text stays text (never equal to an integer)."""
    texts = values.tolist() if values.dtype == object else [str(v) for v in values]
    if not all(type(t) is str for t in texts):
        texts = [str(v) for v in texts]
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    pos_out, key_out = [], []
    for length in np.unique(lengths[lengths >= 4]).tolist():
        rows = np.flatnonzero(lengths == length)
        expected = (len(rows) + n_other) * length / 10.0 ** (length - 1)
        if expected >= 1.0:
            continue
        # the numbers of this length as a (rows, length) matrix of code points: deleting a
        # character is deleting a column
        chars = np.array([texts[r] for r in rows.tolist()], dtype=f"<U{length}").view(
            np.uint32).reshape(len(rows), length)
        digits = ((chars >= 48) & (chars <= 57)).all(axis=1) if length <= 18 else \
            np.zeros(len(rows), dtype=bool)
        place = 10 ** np.arange(length - 2, -1, -1, dtype=np.int64)
        lead = np.int64(10 ** (length - 1))
        for i in range(length):
            pos_out.append(rows)
            rest = np.ascontiguousarray(np.delete(chars, i, axis=1))
            if digits.all():
                key_out.append((rest.astype(np.int64) - 48) @ place + lead)
                continue
            keys = rest.view(f"<U{length - 1}").reshape(-1).astype(object)
            if digits.any():
                keys[digits] = ((rest[digits].astype(np.int64) - 48) @ place + lead).tolist()
            key_out.append(keys)
    if not pos_out:
        return np.array([], dtype=np.int64), np.array([], dtype=object)
    if any(k.dtype == object for k in key_out):
        key_out = [k.astype(object) for k in key_out]
    return np.concatenate(pos_out), np.concatenate(key_out)


def _similar_tokens(kleer_vocab: np.ndarray, hr_vocab: np.ndarray, cutoff: float
                    ) -> tuple[np.ndarray, np.ndarray]:
    """(kleer vocab index, hr vocab index) of token pairs with ``fuzz.ratio ≥ cutoff``."""
    ks, hs = [], []
    if len(kleer_vocab) == 0 or len(hr_vocab) == 0:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    step = max(1, _CDIST_CELLS // len(hr_vocab))
    for start in range(0, len(kleer_vocab), step):
        block = process.cdist(kleer_vocab[start:start + step], hr_vocab, scorer=fuzz.ratio,
                              score_cutoff=cutoff, dtype=np.uint8, workers=-1)
        k, h = _nonzero(block)
        ks.append(k + start)
        hs.append(h)
    return np.concatenate(ks), np.concatenate(hs)


def _nonzero(block: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``np.nonzero`` of a C-contiguous 2-d uint8 matrix that is nearly all zeros (the token
    similarity matrix: a few thousand hits among millions of cells), eight cells at a time:
    the nonzero 8-byte words first, then the cells inside them; the same indices, in the same
    (row-major) order, several times faster."""
    flat = np.ascontiguousarray(block).reshape(-1)
    whole = len(flat) // 8 * 8
    words = np.flatnonzero(flat[:whole].view(np.uint64))
    cells = (words[:, None] * 8 + np.arange(8)).reshape(-1)
    cells = np.concatenate([cells[flat[cells] != 0], np.flatnonzero(flat[whole:]) + whole])
    rows, cols = np.divmod(cells, max(block.shape[1], 1))
    return rows, cols


def _token_table(side: Side, wanted: np.ndarray | None
                 ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(record position, token code) for every distinct canonical token of length ≥ 2 of the
    records in ``wanted`` (all without it), sorted by position, and the token vocabulary."""
    pos, code, vocab = token_codes(side, "canon")
    long_ = np.fromiter(map(len, vocab.tolist()), dtype=np.int64, count=len(vocab)) > 1
    keep = long_[code] if len(code) else np.zeros(0, dtype=bool)
    if wanted is not None:
        keep &= wanted[pos]
    pos, code = pos[keep], code[keep]
    used = unique_ints(code)  # the vocabulary of these records only
    codes = np.searchsorted(used, code)
    vocab = vocab[used]
    width = max(len(vocab), 1)
    distinct = unique_ints(pos * width + codes.astype(np.int64))
    return distinct // width, distinct % width, np.asarray(vocab, dtype=object)


def _group_pairs(sorted_key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every (x, y) with x < y of the indices of a sorted array that hold the same value."""
    _, start, count = _runs(sorted_key)
    group = np.repeat(np.arange(len(start)), count)
    reps = count[group]
    total = int(reps.sum())
    x = np.repeat(np.arange(len(sorted_key)), reps)
    y = np.repeat(start[group], reps) + np.arange(total) - np.repeat(np.cumsum(reps) - reps, reps)
    keep = x < y
    return x[keep], y[keep]


def _name_pairs(hr: Side, kleer: Side, settings: MatchSettings, wanted: np.ndarray
                ) -> tuple[np.ndarray, np.ndarray]:
    """Records sharing a pair of name tokens, one of them the same, the other the same or
    similar; only for the Kleer records in ``wanted``."""
    hp, hc, hr_vocab = _token_table(hr, None)
    kp, kc, kleer_vocab = _token_table(kleer, wanted)
    if len(hp) == 0 or len(kp) == 0:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    v = len(hr_vocab)
    # HR keys: every pair of its tokens, as one integer
    x, y = _group_pairs(hp)
    h_pos, h_key = hp[x], np.minimum(hc[x], hc[y]) * v + np.maximum(hc[x], hc[y])
    # Kleer keys: every pair of its tokens, each token standing for itself and the HR tokens
    # similar to it; at least one of the two must be itself (a typo in both is left to the
    # other blocks: allowing it multiplies the pairs several times over)
    sk, sh = _similar_tokens(kleer_vocab, hr_vocab, settings.name_cutoff)
    if len(sk) == 0:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    order = np.argsort(sk, kind="stable")
    sk, sh = sk[order], sh[order]
    same = kleer_vocab[sk] == hr_vocab[sh]
    codes, start, count = _runs(sk)
    at = np.minimum(np.searchsorted(codes, kc), len(codes) - 1)
    reps = np.where(codes[at] == kc, count[at], 0)
    row = np.repeat(np.arange(len(kc)), reps)   # a Kleer token, once per similar HR token
    sim = np.repeat(start[at], reps) + np.arange(int(reps.sum())) - \
        np.repeat(np.cumsum(reps) - reps, reps)
    x, y = _group_pairs(kp[row])
    x, y = x[row[x] < row[y]], y[row[x] < row[y]]
    ok = same[sim[x]] | same[sim[y]]
    x, y = x[ok], y[ok]
    a, b = sh[sim[x]].astype(np.int64), sh[sim[y]].astype(np.int64)
    k_pos, k_key = kp[row[x]], np.minimum(a, b) * v + np.maximum(a, b)
    return _join(h_pos, h_key, k_pos, k_key, settings.max_block)


def _identified(hr: Side, kleer: Side, found: list[np.ndarray], width: int) -> np.ndarray:
    """Kleer records that an identical personnummer or their foreign-id already identifies
    (``found``: pairs as ``kleer * width + hr``)."""
    out = np.zeros(len(kleer), dtype=bool)
    ph, pk, _ = shared_codes(hr, kleer, "pnr")   # "" is -1
    ih, fk, _ = shared_codes(hr, kleer, "id_text", "foreign_id")
    for code in found:
        h, k = code % width, code // width
        pnr = pk[k]
        hit = ((pnr >= 0) & (ph[h] == pnr)) | (fk[k] == ih[h])
        out[k[hit]] = True
    return out


def _initial_pairs(hr: Side, kleer: Side, max_block: int) -> tuple[np.ndarray, np.ndarray]:
    """Names with an initial against the initials key of the other side ("A. Svensson")."""
    ih, ik, _ = shared_codes(hr, kleer, "initials_key")  # "" is -1
    h1, k1 = _join1(ih, np.where(kleer.has_initial, ik, -1), max_block)
    h2, k2 = _join1(np.where(hr.has_initial, ih, -1), ik, max_block)
    return np.concatenate([h1, h2]), np.concatenate([k1, k2])


def _refinements(hr: Side, kleer: Side) -> _Refine:
    """The components an oversized key is split by: the first letter of the (nickname-
    canonical) first name, and that of the last name."""
    return [(column(hr, "first_key_initial"), column(kleer, "first_key_initial")),
            (column(hr, "last_key_initial"), column(kleer, "last_key_initial"))]


def candidate_pairs(hr: Side, kleer: Side, settings: MatchSettings, *,
                    blocks: Iterable[str] = BLOCKS) -> tuple[np.ndarray, np.ndarray]:
    """Unique candidate pairs as (hr positions, kleer positions), sorted by Kleer then HR."""
    mb = settings.max_block
    split = _refinements(hr, kleer)
    width = max(len(hr), 1)
    found: list[np.ndarray] = []  # each block's pairs as one integer, kleer * width + hr

    def add(*blocks: tuple[np.ndarray, np.ndarray]) -> None:
        for h, k in blocks:
            found.append(np.asarray(k, dtype=np.int64) * width + np.asarray(h, dtype=np.int64))

    for block in blocks:
        if block == "foreign_id":
            add(_join1(*shared_codes(hr, kleer, "id_text", "foreign_id")[:2], mb))
        elif block == "ssn":
            hp, hk = _deletions(hr.pnr_digits)
            kp, kk = _deletions(kleer.pnr_digits)
            add(_join(hp, hk, kp, kk, mb))
        elif block == "birth_date":
            add(*_birth_name_pairs(hr, kleer, mb))
        elif block == "address":
            add(_join1(*_pair_keys(hr, kleer, "zip_code", "street_cut"), mb, split))
            # a typo in the street: the house number with the postal code
            add(_join1(*_pair_keys(hr, kleer, "zip_code", "street_no"), mb, split))
        elif block in ("email", "email_local"):
            h_codes, k_codes = joint_codes(hr, kleer, "emails" if block == "email" else "locals")
            hp, hk = _long(h_codes.values())
            kp, kk = _long([k_codes])
            add(_join(hp, hk, kp, kk, mb, split))
        elif block == "phone":
            add(_join1(*shared_codes(hr, kleer, "phone")[:2], mb, split))
        elif block == "employee_number":
            add(_join1(*shared_codes(hr, kleer, "employee_number")[:2], mb, split))
            # one digit off: only where both sides hold employee numbers (a Kleer export
            # without them makes no HR keys worth building)
            kp, kk = _digit_deletions(kleer.employee_number, len(hr))
            if len(kp):
                hp, hk = _digit_deletions(hr.employee_number, len(kleer))
                if len(hp):
                    add(_join(hp, hk, kp, kk, mb))
        elif block == "initials":
            add(_initial_pairs(hr, kleer, mb))
        elif block == "name":
            add(_name_pairs(hr, kleer, settings, ~_identified(hr, kleer, found, width)))
        else:
            raise ValueError(f"unknown block {block!r}; known: {', '.join(BLOCKS)}")
    if not found:
        return np.array([], dtype=np.int64), np.array([], dtype=np.int64)
    code = unique_ints(np.concatenate(found))
    return code % width, code // width
