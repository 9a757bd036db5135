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


def _digits(pnr: np.ndarray) -> np.ndarray:
    """Ten-digit strings as an (n, 10) uint8 matrix; rows without a number are all 255."""
    out = np.full((len(pnr), 10), 255, dtype=np.uint8)
    ok = np.array([len(p) == 10 for p in pnr], dtype=bool)
    if ok.any():
        out[ok] = np.frombuffer("".join(pnr[ok]).encode("ascii"), dtype=np.uint8).reshape(-1, 10) - 48
    return out


def _ssn(hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Agreement and detail: 1 one digit off, 2 two digits transposed, 3 same birth-date part."""
    a, b = hr.pnr[h], kleer.pnr[k]
    out = _equal_signal(a, b)
    detail = np.zeros(len(h), dtype=np.int8)
    differ = np.flatnonzero(out == CONFLICT)
    if len(differ):
        x, y = _digits(hr.pnr)[h[differ]], _digits(kleer.pnr)[k[differ]]
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


def _email(hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Agreement and detail: which HR email matched (0 private, 1 work)."""
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
        take_local = local & (out == MISSING)
        out[take_exact], detail[take_exact] = EXACT, which
        out[take_local], detail[take_local] = STRONG, which
    out[(out == MISSING) & hr_any & (e != "")] = CONFLICT
    return out, detail


def _name(hr: Side, kleer: Side, h: np.ndarray, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Agreement and the name kind (index into names.KINDS)."""
    hs, ks = hr.sorted_key[h], kleer.sorted_key[k]
    n = len(h)
    kind = np.full(n, _NAME_KIND["different"], dtype=np.int8)
    present = _both(hs, ks)
    if present.any():
        def pd_(scorer: Callable, a: np.ndarray, b: np.ndarray) -> np.ndarray:
            return process.cpdist(list(a), list(b), scorer=scorer, workers=-1)

        ratio = np.maximum(pd_(fuzz.ratio, hs, ks), pd_(fuzz.ratio, hr.ordered_key[h], kleer.ordered_key[k]))
        subset = pd_(fuzz.token_set_ratio, hs, ks) == 100
        few = np.minimum(hr.n_tokens[h], kleer.n_tokens[k]) >= 2
        first_in = (hr.first_key[h] != "") & (pd_(fuzz.token_set_ratio, hr.first_key[h], ks) == 100)
        last_in = (hr.last_key[h] != "") & (pd_(fuzz.token_set_ratio, hr.last_key[h], ks) == 100)
        initial = (hr.has_initial[h] | kleer.has_initial[k]) & \
            (hr.initials_key[h] == kleer.initials_key[k])
        conditions = [
            hr.folded[h] == kleer.folded[k],
            hs == ks,
            subset & few,
            ratio >= 90,
            initial,
            first_in,
            last_in,
            ratio >= 80,
            ratio >= 60,
        ]
        kind = np.select(conditions, list(range(len(conditions))),
                         _NAME_KIND["different"]).astype(np.int8)
    level = np.array([_LEVEL[nm.AGREEMENT[x]] for x in nm.KINDS], dtype=np.int8)
    out = np.where(present, level[kind], MISSING).astype(np.int8)
    return out, kind


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
        which = "work" if detail == 1 else "private"
        if code == EXACT:
            return f"Email identical to the HR {which} email"
        if code == STRONG:
            return f"Email local part matches ({str(kleer_value).rpartition('@')[0]})"
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
        shown = np.where((detail == 1) & (work != ""), work, np.where(private != "", private, work))
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
