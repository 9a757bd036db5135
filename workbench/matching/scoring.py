"""Scoring candidate pairs with a Fellegi–Sunter model, and the evidence behind each score.

:func:`score_pairs` compares every candidate pair on every usable comparison
(:func:`~workbench.matching.comparisons.compare`) and weighs each level with the model
(:mod:`workbench.matching.fs`): a :class:`Scores` holds the levels, the weight per comparison
(bits, term-frequency adjusted), the match weight (prior + the sum) and the match probability.
:func:`evidence` turns the kept pairs into the explanation that is stored and shown: one entry
per comparison with a value on at least one side — label, HR and Kleer value (personnummer
masked), level, agreement, weight in bits and one plain sentence ("First name Sebastian ~ Sebbe:
nickname", "Last name Svensson ~ Svenson: one-letter typo") — plus the prior as the first entry
(``signal`` ``"prior"``, ``contribution`` 0), so that **the prior's weight and the entries'
weights add up to the match weight** behind the score.
"""

from __future__ import annotations

import gc
import re
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Iterator

import numpy as np
from rapidfuzz.distance import DamerauLevenshtein, JaroWinkler, Levenshtein

from .. import nicknames
from .comparisons import COMPARISONS, compare
from .fs import TF_COMPARISONS, FSModel, probability, tf_adjustments
from .names import folded_tokens
from .prepare import Side

__all__ = ["Scores", "score_pairs", "evidence", "PRIOR"]

PRIOR = "prior"
_WORD = re.compile(r"\w+")  # as names.NameParts reads the display name


@dataclass(frozen=True, eq=False)
class Scores:
    """The comparison of candidate pairs ``(h[i], k[i])`` under ``model``."""

    h: np.ndarray
    k: np.ndarray
    comparisons: list[str]
    levels: np.ndarray        # (n, C) int8, 0 = missing
    weights: np.ndarray       # (n, C) bits, 0 where missing
    match_weight: np.ndarray  # prior + row sums of weights
    probability: np.ndarray
    model: FSModel

    @property
    def score(self) -> np.ndarray:
        """The match probability in percent (0–100), two decimals."""
        return np.round(self.probability * 100, 2) + 0.0


def weigh(model: FSModel, levels: np.ndarray, comparisons: list[str], hr: Side, kleer: Side,
          h: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Per pair and comparison: the weight in bits of its level, term-frequency adjusted."""
    out = np.zeros(levels.shape, dtype=np.float64)
    for j, c in enumerate(comparisons):
        out[:, j] = model.weights(c)[levels[:, j]]
        if c in TF_COMPARISONS:
            attr = "first" if c == "first_name" else "last"
            th, tk = tf_adjustments(getattr(hr, attr), getattr(kleer, attr))
            exact = levels[:, j] == 1
            out[exact, j] += th[h[exact]]
    return out


def score_pairs(hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray, model: FSModel,
                comparisons: list[str], levels: np.ndarray | None = None) -> Scores:
    """Compare (unless ``levels`` are given) and weigh every pair."""
    if levels is None:
        levels = compare(hr, kleer, h, k, comparisons)
    weights = weigh(model, levels, comparisons, hr, kleer, h, k)
    total = model.prior_weight + weights.sum(axis=1)
    return Scores(h, k, comparisons, levels, weights, total, probability(total), model)


# --------------------------------------------------------------------------- sentences

def _difference(a: str, b: str) -> str:
    """What kind of spelling difference separates two words."""
    if Levenshtein.distance(a, b) == 1:
        return "one-letter typo"
    if DamerauLevenshtein.distance(a, b) == 1:
        return "two letters swapped (typo)"
    if Levenshtein.distance(a, b) == 2:
        return "two-letter typo"
    return f"similar (Jaro-Winkler {JaroWinkler.normalized_similarity(a, b):.2f})"


def _nickname(a_tokens: tuple[str, ...], b_tokens: tuple[str, ...]) -> str | None:
    for a in a_tokens:
        for b in b_tokens:
            rel = nicknames.relation(a, b)
            if rel == "variant":
                return "spelling variant"
            if rel == "same-nickname":
                return f"both short for {nicknames.formal_name(a)}"
            if rel == "nickname":
                return "nickname"
    return None


def _name_sentence(c: str, level: str, hp: Any, kp: Any, hv: str | None = None,
                   kv: str | None = None) -> str:
    """The sentence of a name comparison; ``hv``, ``kv``: the names as shown where known (the
    shown first name or last name, "–" without one)."""
    label = COMPARISONS[c].label
    first = c == "first_name"
    if hv is None:
        hv = hp.shown_first() if first else (hp.last_display or "–")
    if kv is None:
        kv = kp.shown_first() if first else (kp.last_display or "–")
    if level == "exact":
        return f"{label} {hv} identical" if hv == kv else \
            f"{label} identical apart from case and accents (HR {hv}, Kleer {kv})"
    if level == "nickname":
        return f"{label} {hv} ~ {kv}: {_nickname(hp.first_tokens, kp.first_tokens) or 'nickname'}"
    if level == "swapped":
        return f"First and last name swapped (HR {hp.display}, Kleer {kp.display})"
    if level == "initial":
        return f"{label} {hv} ~ {kv}: an initial"
    if level == "one of the first names":
        return f"{label} {hv} ~ {kv}: one of the first names"
    if level == "part of a double surname":
        return f"{label} {hv} ~ {kv}: part of a double surname"
    if level.startswith("jaro"):
        a = " ".join(hp.first_tokens if first else hp.last_tokens)
        b = " ".join(kp.first_tokens if first else kp.last_tokens)
        return f"{label} {hv} ~ {kv}: {_difference(a, b)}"
    return f"{label} differs (HR {hv}, Kleer {kv})"


def _sentence(c: str, level: str, hv: Any, kv: Any) -> str:
    label = COMPARISONS[c].label
    if c == "foreign_id":
        return ("Kleer's foreign-id is this HR id (synced before)" if level == "exact"
                else f"Kleer's foreign-id points to another HR employee ({kv})")
    if c == "ssn":
        return {"exact": "Personnummer identical",
                "10 vs 12 digits": "Personnummer identical (10 and 12 digits)",
                "one digit off": "Personnummer differs in one digit (likely a typo)",
                "two digits transposed": "Personnummer has two digits transposed (likely a typo)",
                }.get(level, "Personnummer differs")
    if c == "email":
        local = str(kv).rpartition("@")[0]
        return {"exact": "Email identical",
                "same local part": f"Email local part matches ({local})",
                "local part is only the name":
                    f"Email local part matches ({local}), but it is only the name",
                }.get(level, "Email differs")
    if c == "birth_date" and level == "from personnummer":
        return f"Birth date {hv or kv} matches the date in the personnummer"
    if level == "exact":
        return f"{label} identical"
    if level == "differs":
        return f"{label} differs"
    return f"{label}: {level} (HR {hv}, Kleer {kv})"


def _agreement(level_index: int, n_levels: int, weight: float, level: str = "") -> str:
    if level_index == 0:
        return "missing"
    if level_index == 1 or level == "10 vs 12 digits":
        return "exact"
    if level_index == n_levels:
        return "conflict"
    return "strong" if weight >= 4 else "partial" if weight > 0 else "none"


def _values(c: str, hr: Side, kleer: Side, h: int, k: int, hr_email_key: str) -> tuple[Any, Any]:
    if c == "foreign_id":
        return str(hr.ids[h]), kleer.foreign_id[k]
    if c == "ssn":
        return hr.ssn_masked[h], kleer.ssn_masked[k]
    if c == "first_name":
        return hr.names[h].shown_first() if hr.first[h] else "", \
            kleer.names[k].shown_first() if kleer.first[k] else ""
    if c == "last_name":
        return hr.names[h].last_display, kleer.names[k].last_display
    if c == "email":
        return hr.emails[hr_email_key][h], kleer.emails["email"][k]
    column = {"birth_date": "birth_date", "phone": "phone", "employee_number": "employee_number",
              "employment_start_date": "start", "street": "street", "zip_code": "zip_code",
              "city": "city"}[c]
    return getattr(hr, column)[h], getattr(kleer, column)[k]


def _hr_email(hr: Side, kleer: Side, h: int, k: int) -> str:
    """Which HR email the Kleer email was compared with (the one that agrees best)."""
    e = kleer.emails["email"][k]
    for key in ("private_email", "work_email"):
        if e and hr.emails[key][h] == e:
            return key
    for key in ("private_email", "work_email"):
        v = hr.emails[key][h]
        if e and v and v.rpartition("@")[0] == e.rpartition("@")[0]:
            return key
    return "private_email" if hr.emails["private_email"][h] else "work_email"


def prior_sentence(model: FSModel) -> str:
    lam = model.prior
    one_in = 1 / lam if lam > 0 else float("inf")
    pairs = "pairs of an HR and a Kleer employee" if model.u_pairs else "candidate pairs"
    return (f"Starting point: about 1 in {one_in:,.0f} {pairs} is a match"
            if one_in >= 1.5 else f"Starting point: {lam:.0%} of {pairs} are matches")


def _shown_first(side: Side, idx: np.ndarray, seen: dict | None = None) -> np.ndarray:
    """The shown first name (:meth:`NameParts.shown_first`) of the records at ``idx`` ("" without
    one), once per record and, where it can be, once per first name.

    ``seen`` (shared by both sides) holds the shown first name by the display name's words
    before the last name and the first-name tokens: when each first-name token is written as
    one of those words, the rest of the name cannot change the result (the first word wins)."""
    if not len(idx):
        return np.array([], dtype=object)
    uniq, inverse = np.unique(idx, return_inverse=True)
    seen = {} if seen is None else seen
    # prepare makes one NameParts per distinct name: the work is done once per name
    parts = [side.names[i] for i in uniq.tolist()]
    first_at, codes = np.unique(np.array([id(p) for p in parts], dtype=np.int64),
                                return_inverse=True, return_index=True)[1:]
    shown = []
    for p in [parts[at] for at in first_at.tolist()]:
        # the display name up to its last name, or None where the last name does not end
        # it as whole words (inline: this runs once per name)
        display, last = p.display, p.last_display
        if last:
            head = display[:len(display) - len(last)]
            if head and (head[-1].isalnum() or head[-1] == "_") or not display.endswith(last):
                shown.append(p.shown_first())
                continue
        else:
            head = display
        key = (head, p.first_tokens)
        hit = seen.get(key)
        if hit is None:
            hit = _written_first(head, key[1])
            if hit is None:
                hit = p.shown_first()
            else:
                seen[key] = hit
        shown.append(hit)
    shown = np.array(shown, dtype=object)
    has_first = side.first[uniq] != ""
    out = np.where(has_first, shown[codes.reshape(-1)], "").astype(object)
    return out[inverse.reshape(-1)]


def _written_first(head: str, first_tokens: tuple[str, ...]) -> str | None:
    """:meth:`NameParts.shown_first` from the words of ``head`` only; None unless every token is
    written as one of them (then the words after ``head`` could decide it)."""
    written: dict[str, str] = {}
    for word in _WORD.findall(head):  # the first word folding to a token wins
        token = _single_token(word)
        if token is not None:
            written.setdefault(token, word)
    try:
        return " ".join([written[t] for t in first_tokens]) or "–"
    except KeyError:
        return None


@lru_cache(maxsize=1 << 16)
def _single_token(word: str) -> str | None:
    """The one folded token of a word, None when it folds to none or several (the words of
    names repeat: each is folded once)."""
    folded = folded_tokens(word)
    return folded[0] if len(folded) == 1 else None


def _last_shown(side: Side, idx: np.ndarray) -> np.ndarray:
    uniq, inverse = np.unique(idx, return_inverse=True)
    shown = np.array([side.names[i].last_display for i in uniq], dtype=object)
    return shown[inverse.reshape(-1)] if len(idx) else np.array([], dtype=object)


def _hr_emails(hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Vectorised :func:`_hr_email`: which HR email each Kleer email was compared with."""
    e = kleer.emails["email"][k]
    priv, work = hr.emails["private_email"][h], hr.emails["work_email"][h]
    has_e = e != ""
    same_p, same_w = has_e & (priv == e), has_e & (work == e)
    # the local parts decide only where neither HR email is the Kleer email
    rest = np.flatnonzero(has_e & ~same_p & ~same_w)
    local_p, local_w = np.zeros(len(e), dtype=bool), np.zeros(len(e), dtype=bool)
    if len(rest):
        local_e = [x.rpartition("@")[0] for x in e[rest].tolist()]
        local_p[rest] = [x != "" and x.rpartition("@")[0] == y
                         for x, y in zip(priv[rest].tolist(), local_e)]
        local_w[rest] = [x != "" and x.rpartition("@")[0] == y
                         for x, y in zip(work[rest].tolist(), local_e)]
    # np.select's order (the first that holds wins), as the last of these assignments that holds
    key = np.full(len(e), "work_email", dtype=object)
    for holds, which in ((priv != "", "private_email"), (local_w, "work_email"),
                         (local_p, "private_email"), (same_w, "work_email"),
                         (same_p, "private_email")):
        key[holds] = which
    return key


def _column_values(c: str, hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray,
                   email_key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`_values`: (HR values, Kleer values) of comparison ``c``."""
    if c == "foreign_id":
        return hr.ids[h].astype(str).astype(object), kleer.foreign_id[k]
    if c == "ssn":
        return hr.ssn_masked[h], kleer.ssn_masked[k]
    if c == "first_name":
        seen: dict = {}
        return _shown_first(hr, h, seen), _shown_first(kleer, k, seen)
    if c == "last_name":
        return _last_shown(hr, h), _last_shown(kleer, k)
    if c == "email":
        hv = np.where(email_key == "private_email", hr.emails["private_email"][h],
                      hr.emails["work_email"][h]).astype(object)
        return hv, kleer.emails["email"][k]
    column = {"birth_date": "birth_date", "phone": "phone", "employee_number": "employee_number",
              "employment_start_date": "start", "street": "street", "zip_code": "zip_code",
              "city": "city"}[c]
    return getattr(hr, column)[h], getattr(kleer, column)[k]


def evidence(scores: Scores, rows: np.ndarray, hr: Side, kleer: Side) -> list[list[dict]]:
    """The evidence of the pairs at ``rows``: the prior, then per comparison with a value on at
    least one side.

    Built one comparison at a time over all the rows (values, sentences and agreements as
    arrays), so only the sentences that need the names' spelling run per pair.
    """
    rows = np.asarray(rows, dtype=np.int64)
    prior = {"signal": PRIOR, "label": "Prior", "hr": None, "kleer": None, "agreement": "prior",
             "level": "prior", "weight": float(scores.model.prior_weight), "contribution": 0.0,
             "sentence": prior_sentence(scores.model)}
    if len(rows) == 0:
        return []
    with _gc_paused():
        at, entries = _entries(scores, rows, hr, kleer)
        # every row's entries in comparison order: a stable sort of all entries by row
        order = np.argsort(at, kind="stable").tolist()
        entries = [entries[i] for i in order]
        ends = np.cumsum(np.bincount(at, minlength=len(rows))).tolist()
        starts = [0] + ends[:-1]
        return [[prior.copy(), *entries[a:b]] for a, b in zip(starts, ends)]


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Millions of small dicts make the cyclic garbage collector rescan them again and again;
    nothing cyclic is made here, so pause it (and restore it after)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _entries(scores: Scores, rows: np.ndarray, hr: Side, kleer: Side
             ) -> tuple[np.ndarray, list[dict]]:
    """Every comparison's entries (comparison by comparison) and the row each belongs to."""
    h, k = scores.h[rows].astype(np.int64), scores.k[rows].astype(np.int64)
    at: list[np.ndarray] = []
    entries: list[dict] = []
    email_key = _hr_emails(hr, kleer, h, k) if "email" in scores.comparisons else None
    for j, c in enumerate(scores.comparisons):
        comp = COMPARISONS[c]
        li = scores.levels[rows, j].astype(np.int64)
        hv, kv = _column_values(c, hr, kleer, h, k, email_key)
        has_h, has_k = hv != "", kv != ""
        shown = has_k if c == "foreign_id" else (has_h | has_k)
        todo = np.flatnonzero(shown | (li != 0))
        if not len(todo):
            continue
        lt, a, b = li[todo], hv[todo], kv[todo]
        w = scores.weights[rows[todo], j]
        sentences = _sentences(c, lt, a, b, h[todo], k[todo], hr, kleer,
                               email_key[todo] if email_key is not None else None)
        agreements = _agreements(lt, comp.n_levels, w, comp.levels)
        level_names = np.array(("missing",) + comp.levels, dtype=object)[lt]
        label = comp.label
        at.append(todo)
        entries.extend([{"signal": c, "label": label, "hr": x or None, "kleer": y or None,
                         "agreement": agreement, "level": level, "weight": weight,
                         "contribution": contribution, "sentence": sentence}
                        for x, y, agreement, level, weight, contribution, sentence in zip(
                            a.tolist(), b.tolist(), agreements.tolist(), level_names.tolist(),
                            w.tolist(), _rounded(w), sentences)])
    return (np.concatenate(at) if at else np.zeros(0, dtype=np.int64)), entries


def _rounded(weights: np.ndarray) -> list[float]:
    """``round(w, 2) + 0.0`` of every weight (Python's rounding, as shown), once per distinct
    weight: a comparison's weights are its few level weights (plus the name frequencies)."""
    distinct, inverse = np.unique(weights, return_inverse=True)
    rounded = np.array([round(v, 2) + 0.0 for v in distinct.tolist()], dtype=float)
    return rounded[inverse.reshape(-1)].tolist()


def _agreements(li: np.ndarray, n_levels: int, w: np.ndarray, levels: tuple[str, ...]
                ) -> np.ndarray:
    """Vectorised :func:`_agreement`."""
    exact_too = [i + 1 for i, name in enumerate(levels) if name == "10 vs 12 digits"]
    return np.select([li == 0, (li == 1) | np.isin(li, exact_too), li == n_levels, w >= 4, w > 0],
                     ["missing", "exact", "conflict", "strong", "partial"], "none").astype(object)


def _needs_values(c: str, level: str) -> bool:
    """Whether :func:`_sentence` of this comparison and level names the values."""
    if c == "ssn":
        return False
    if c == "email":
        return level != "differs"
    if c == "foreign_id":
        return level != "exact"
    if c == "birth_date" and level == "from personnummer":
        return True
    return level not in ("exact", "differs")


def _sentences(c: str, li: np.ndarray, a: np.ndarray, b: np.ndarray, h: np.ndarray,
               k: np.ndarray, hr: Side, kleer: Side, email_key: np.ndarray | None) -> list[str]:
    """The sentence of every entry: once per level where the sentence does not depend on the
    values, per entry where it does."""
    comp = COMPARISONS[c]
    out = np.empty(len(li), dtype=object)
    missing = np.flatnonzero(li == 0)
    if len(missing):
        am, bm = a[missing], b[missing]
        has_a = am != ""
        out[missing] = np.where(has_a, f"{comp.label} missing in Kleer",
                                f"{comp.label} missing in HR")
        if c == "birth_date":
            counted = missing[has_a & (bm != "")]
            out[counted] = [f"Birth date {x}: already counted in the personnummer"
                            for x in a[counted].tolist()]
        if c == "email":  # neutral: the local part is only the names, which agree
            counted = missing[has_a & (bm != "")]
            out[counted] = [f"Email local part matches ({y.rpartition('@')[0]}), but it is only "
                            "the name: already counted in the names" for y in b[counted].tolist()]
    for level_index in np.unique(li[li != 0]).tolist():
        idx = np.flatnonzero(li == level_index)
        level = comp.levels[level_index - 1]
        if c in ("first_name", "last_name"):
            same = a[idx] == b[idx] if level == "exact" else np.zeros(len(idx), dtype=bool)
            plain = idx[same]
            out[plain] = [f"{comp.label} {x or '–'} identical" for x in a[plain].tolist()]
            # a, b are the names as shown ("" without one, where the sentence writes "–")
            for i in idx[~same].tolist():
                out[i] = _name_sentence(c, level, hr.names[int(h[i])], kleer.names[int(k[i])],
                                        a[i] or "–", b[i] or "–")
        elif c == "email" and level == "exact":
            out[idx] = np.where(email_key[idx] == "private_email",
                                "Email identical to the HR private email",
                                "Email identical to the HR work email")
        else:
            if _needs_values(c, level):
                out[idx] = [_sentence(c, level, a[i], b[i]) for i in idx.tolist()]
            else:
                out[idx] = _sentence(c, level, "", "")
    return out.tolist()
