"""Scoring candidate pairs, one signal at a time, vectorised, and the evidence behind a score.

:func:`score_pairs` compares every candidate pair on every usable signal and returns a
:class:`Scores`: per signal an agreement code and the points it contributed (see
:mod:`workbench.matching.settings` for the model), and the total. :func:`evidence` turns the
codes of the kept pairs into the explanation that is stored and shown: per signal a label, the HR
and Kleer values (personnummer masked), the agreement, the points and one plain sentence.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from . import names as nm
from .prepare import Side
from .settings import AGREEMENTS, SIGNALS, MatchSettings

__all__ = ["Scores", "score_pairs", "evidence"]

EXACT, STRONG, PARTIAL, NONE, CONFLICT, MISSING = range(6)
_LEVEL = {name: i for i, name in enumerate(AGREEMENTS)}
_NAME_KIND = {kind: i for i, kind in enumerate(nm.KINDS)}


@dataclass(frozen=True, eq=False)
class Scores:
    """The comparison of candidate pairs ``(h[i], k[i])``."""

    h: np.ndarray
    k: np.ndarray
    score: np.ndarray                    # 0–100
    agreement: dict[str, np.ndarray]     # signal → agreement code (index into AGREEMENTS)
    points: dict[str, np.ndarray]        # signal → contribution
    detail: dict[str, np.ndarray]        # signal → which variant (name kind, ssn typo kind, …)


def _both(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a != "") & (b != "")


def _equal_signal(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """exact where equal, conflict where both present and different, missing otherwise."""
    out = np.full(len(a), MISSING, dtype=np.int8)
    both = _both(a, b)
    out[both] = np.where(a[both] == b[both], EXACT, CONFLICT)
    return out


def _ssn(hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Agreement and detail: 1 one digit off, 2 two digits transposed, 3 same birth-date part."""
    a, b = hr.pnr[h], kleer.pnr[k]
    out = _equal_signal(a, b)
    detail = np.zeros(len(h), dtype=np.int8)
    differ = np.flatnonzero(out == CONFLICT)
    if len(differ):
        x, y = hr.pnr_digits[h[differ]], kleer.pnr_digits[k[differ]]
        d = x != y
        n = d.sum(axis=1)
        swapped = np.zeros(len(differ), dtype=bool)
        for i in range(9):
            swapped |= d[:, i] & d[:, i + 1] & (x[:, i] == y[:, i + 1]) & (x[:, i + 1] == y[:, i])
        same_date = ~d[:, :6].any(axis=1)
        either_invalid = ~(hr.pnr_valid[h[differ]] & kleer.pnr_valid[k[differ]])
        kind = np.select([n == 1, (n == 2) & swapped, same_date], [1, 2, 3], 0)
        detail[differ] = kind
        out[differ] = np.select([kind == 1, kind == 2, (kind == 3) & either_invalid],
                                [STRONG, STRONG, PARTIAL], CONFLICT)
    return out, detail


def _named_locals(kleer: Side, k: np.ndarray) -> np.ndarray:
    """Per pair: the Kleer email's local part is nothing but the Kleer user's own name."""
    positions = pd.unique(k)
    named = {i: nm.made_of_name(kleer.locals["email"][i], kleer.names[i].tokens) for i in positions}
    return np.array([named[i] for i in k], dtype=bool)


def _email(hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Agreement and detail: which HR email matched (0 private, 1 work; +2 when only the local
    part matched and it is nothing but the name, so it says no more than the name does)."""
    e = kleer.emails["email"][k]
    local_k = kleer.locals["email"][k]
    out = np.full(len(h), MISSING, dtype=np.int8)
    detail = np.zeros(len(h), dtype=np.int8)
    hr_any = np.zeros(len(h), dtype=bool)
    for which, key in enumerate(("private_email", "work_email")):
        v = hr.emails[key][h]
        hr_any |= v != ""
        both = _both(v, e)
        exact = both & (v == e)
        local = both & ~exact & (local_k != "") & (hr.locals[key][h] == local_k)
        take_exact = exact & (out != EXACT)
        take_local = np.flatnonzero(local & (out == MISSING))
        out[take_exact], detail[take_exact] = EXACT, which
        named = _named_locals(kleer, k[take_local])
        out[take_local] = np.where(named, PARTIAL, STRONG)
        detail[take_local] = which + 2 * named
    out[(out == MISSING) & hr_any & (e != "")] = CONFLICT
    return out, detail


def _pairwise(scorer: Callable, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``scorer(a[i], b[i])`` for every i, in rapidfuzz's C++ on all cores."""
    return process.cpdist(list(a), list(b), scorer=scorer, workers=-1)


def _name(hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Agreement and the name kind (index into names.KINDS); the first kind that holds wins."""
    hs, ks = hr.sorted_key[h], kleer.sorted_key[k]
    kind = np.full(len(h), _NAME_KIND["different"], dtype=np.int8)
    present = _both(hs, ks)
    if present.any():
        ratio = np.maximum(_pairwise(fuzz.ratio, hs, ks),
                           _pairwise(fuzz.ratio, hr.ordered_key[h], kleer.ordered_key[k]))
        first, last = hr.first_key[h], hr.last_key[h]
        holds = {
            "identical": hr.folded[h] == kleer.folded[k],
            "same": hs == ks,
            "part": (_pairwise(fuzz.token_set_ratio, hs, ks) == 100)
                    & (np.minimum(hr.n_tokens[h], kleer.n_tokens[k]) >= 2),
            "typo": ratio >= 90,
            "initial": (hr.has_initial[h] | kleer.has_initial[k])
                       & (hr.initials_key[h] == kleer.initials_key[k]),
            "first": (first != "") & (_pairwise(fuzz.token_set_ratio, first, ks) == 100),
            "last": (last != "") & (_pairwise(fuzz.token_set_ratio, last, ks) == 100),
            "close": ratio >= 80,
            "weak": ratio >= 60,
        }
        kind = np.select(list(holds.values()), [_NAME_KIND[x] for x in holds],
                         _NAME_KIND["different"]).astype(np.int8)
    level = np.array([_LEVEL[nm.AGREEMENT[x]] for x in nm.KINDS], dtype=np.int8)
    return np.where(present, level[kind], MISSING).astype(np.int8), kind


def _foreign(hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray) -> np.ndarray:
    f = kleer.foreign_id[k]
    out = np.full(len(h), MISSING, dtype=np.int8)
    set_ = f != ""
    out[set_] = np.where(f[set_] == hr.ids[h][set_].astype(object), EXACT, CONFLICT)
    return out


def score_pairs(hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray, settings: MatchSettings,
                signals: list[str]) -> Scores:
    """Compare every pair on every signal in ``signals``; points and total score per pair."""
    agreement: dict[str, np.ndarray] = {}
    detail: dict[str, np.ndarray] = {}
    for s in signals:
        if s == "foreign_id":
            agreement[s] = _foreign(hr, kleer, h, k)
        elif s == "ssn":
            agreement[s], detail[s] = _ssn(hr, kleer, h, k)
        elif s == "name":
            agreement[s], detail[s] = _name(hr, kleer, h, k)
        elif s == "email":
            agreement[s], detail[s] = _email(hr, kleer, h, k)
        elif s == "birth_date":
            agreement[s] = _equal_signal(hr.birth_date[h], kleer.birth_date[k])
        elif s == "phone":
            agreement[s] = _equal_signal(hr.phone[h], kleer.phone[k])
        elif s == "employee_number":
            agreement[s] = _equal_signal(hr.employee_number[h], kleer.employee_number[k])
        elif s == "employment_start_date":
            agreement[s] = _equal_signal(hr.start[h], kleer.start[k])
    points: dict[str, np.ndarray] = {}
    total = np.zeros(len(h), dtype=np.float64)
    for s, code in agreement.items():
        w, p = settings.weights[s], settings.penalties[s]
        table = np.array([w, w * settings.levels["strong"], w * settings.levels["partial"],
                          0.0, -p, 0.0])
        points[s] = table[code]
        total += points[s]
    return Scores(h, k, np.clip(np.round(total, 1), 0, 100) + 0.0, agreement, points, detail)


# --------------------------------------------------------------------------- evidence

def _missing_sentence(label: str, hr_value: Any, kleer_value: Any) -> str:
    return f"{label} missing in {'Kleer' if hr_value else 'HR'}"


def _sentence(signal: str, code: int, detail: int, hr_value: Any, kleer_value: Any,
              label: str) -> str:
    if code == MISSING:
        return _missing_sentence(label, hr_value, kleer_value)
    if signal == "foreign_id":
        return ("Kleer's foreign-id is this HR id (synced before)" if code == EXACT
                else f"Kleer's foreign-id points to another HR employee ({kleer_value})")
    if signal == "ssn":
        return {EXACT: "Personnummer identical",
                STRONG: ("Personnummer differs in one digit (likely a typo)" if detail == 1
                         else "Personnummer has two digits transposed (likely a typo)"),
                PARTIAL: "Personnummer birth-date part matches; the last four digits differ",
                }.get(code, "Personnummer differs (same birth date)" if detail == 3
                      else "Personnummer differs")
    if signal == "email":
        if code == EXACT:
            return f"Email identical to the HR {'work' if detail == 1 else 'private'} email"
        local = str(kleer_value).rpartition("@")[0]
        if code == STRONG:
            return f"Email local part matches ({local})"
        if code == PARTIAL:
            return f"Email local part matches ({local}), but it is only the name"
        return "Email differs"
    if code == EXACT:
        return f"{label} identical"
    return f"{label} differs"


def _values(signal: str, hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray,
            detail: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The HR and Kleer value each pair's evidence shows for ``signal`` ("" when missing)."""
    if signal == "foreign_id":
        return hr.ids[h].astype(str).astype(object), kleer.foreign_id[k]
    if signal == "ssn":
        return hr.ssn_masked[h], kleer.ssn_masked[k]
    if signal == "name":
        return (np.array([hr.names[i].display for i in h], dtype=object),
                np.array([kleer.names[i].display for i in k], dtype=object))
    if signal == "email":
        private, work = hr.emails["private_email"][h], hr.emails["work_email"][h]
        shown = np.where((detail % 2 == 1) & (work != ""), work, np.where(private != "", private, work))
        return shown, kleer.emails["email"][k]
    column = {"birth_date": "birth_date", "phone": "phone", "employee_number": "employee_number",
              "employment_start_date": "start"}[signal]
    return getattr(hr, column)[h], getattr(kleer, column)[k]


def evidence(scores: Scores, rows: np.ndarray, hr: Side, kleer: Side) -> list[list[dict]]:
    """The evidence of the pairs at ``rows``: per signal with a value on at least one side."""
    out: list[list[dict]] = [[] for _ in rows]
    h, k = scores.h[rows], scores.k[rows]
    for signal, label in SIGNALS.items():
        if signal not in scores.agreement:
            continue
        codes = scores.agreement[signal][rows]
        points = np.round(scores.points[signal][rows], 1) + 0.0  # no "-0.0"
        details = scores.detail[signal][rows] if signal in scores.detail \
            else np.zeros(len(rows), dtype=np.int8)
        hvs, kvs = _values(signal, hr, kleer, h, k, details)
        shown = (kvs != "") if signal == "foreign_id" else (hvs != "") | (kvs != "")
        for i in np.flatnonzero(shown):
            code, d, hv, kv = int(codes[i]), int(details[i]), hvs[i] or None, kvs[i] or None
            if signal == "name" and code != MISSING:
                sentence = nm.explain(nm.KINDS[d], hr.names[h[i]], kleer.names[k[i]])
            else:
                sentence = _sentence(signal, code, d, hv, kv, label)
            out[i].append({"signal": signal, "label": label, "hr": hv, "kleer": kv,
                           "agreement": AGREEMENTS[code], "contribution": float(points[i]),
                           "sentence": sentence})
    return out
