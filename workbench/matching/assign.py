"""Ranking, flags and the one-to-one assignment of scored candidates.

:func:`rank` keeps the top ``k`` candidates per Kleer employee that reach the ``possible`` band.
:func:`flags` marks

* ``tie``: the Kleer employee's best candidates are within ``tie_margin`` bits of match weight
  of each other (a factor 2^margin in odds);
* ``contested``: this HR employee is another Kleer employee's best candidate too;
* ``namesake``: several HR employees share this HR employee's name.

:func:`assign` picks at most one HR employee per Kleer employee and one Kleer employee per HR
employee, maximising the total match weight (log2 odds, bits) of the chosen pairs — the most
probable one-to-one linkage under the model, so a sure match (+30 bits) is never traded for two
weak ones (+1 bit each).
The candidate graph falls apart into small connected components; a component with one Kleer or
one HR employee takes its best edge, the rest are solved exactly with
``scipy.optimize.linear_sum_assignment``. Ties are not resolved silently: a Kleer employee whose
tied alternative is left free by the assignment stays unassigned for the analyst to decide.

The work is done on arrays (:func:`ranked`, :func:`flagged`, :func:`assigned`; :func:`suggest
<workbench.matching.suggest>` calls them directly): a pandas sort, groupby or ``value_counts``
costs a millisecond or more of fixed overhead per call, most of the time of these steps for a
few thousand candidates. The frame functions are the same arrays put in a frame
(tests/test_matching_out_speed.py holds them equal to the plain pandas definitions).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .lsap import linear_sum_assignment  # scipy's, without importing all of scipy.optimize
from .settings import MatchSettings

__all__ = ["rank", "flags", "assign", "ranked", "flagged", "assigned"]


def rank(frame: pd.DataFrame, settings: MatchSettings) -> pd.DataFrame:
    """Kept candidates: score ≥ possible, top k per Kleer employee (``k``), with ``rank``.

    ``frame`` has one row per pair with ``k`` (Kleer position), ``h`` (HR position), ``hr_id`` and
    ``score`` (and optionally ``weight``, the match weight in bits, which orders more finely than
    a score near 100); ties are ordered by ``hr_id`` so a run is reproducible.
    """
    frame = _with_weight(frame)
    kept = frame[frame["score"] >= settings.possible]
    hr_id = kept["hr_id"]
    order, ranks = ranked(kept["k"].to_numpy(), kept["weight"].to_numpy(dtype=float),
                          lambda at: hr_id.iloc[at], settings.top_k)
    return kept.iloc[order].reset_index(drop=True).assign(rank=ranks)


def ranked(k: np.ndarray, weight: np.ndarray, hr_id, top_k: int) -> tuple[np.ndarray, np.ndarray]:
    """The positions of the top ``top_k`` pairs per ``k`` in order (``k`` ascending, ``weight``
    descending, then ``hr_id`` ascending; a stable sort) and their rank (1, 2, …).

    ``hr_id(at)`` gives the HR ids of the pairs at positions ``at``: only pairs with the same
    ``k`` and weight need them, and few do."""
    n = len(k)
    if n == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64)
    order = np.lexsort((-weight, k))  # stable: equal keys keep their order
    ks, ws = k[order], weight[order]
    same = (ks[1:] == ks[:-1]) & ((ws[1:] == ws[:-1]) | (np.isnan(ws[1:]) & np.isnan(ws[:-1])))
    if same.any():
        order = _by_hr_id(order, same, hr_id)
        ks = k[order]
    starts = _starts(ks)
    ranks = np.arange(1, n + 1) - np.repeat(starts, np.diff(np.append(starts, n)))
    top = ranks <= top_k
    return order[top], ranks[top]


def _by_hr_id(order: np.ndarray, same: np.ndarray, hr_id) -> np.ndarray:
    """``order`` with every run of equal (k, weight) sorted by HR id, stably."""
    in_run = np.zeros(len(order), dtype=bool)
    in_run[1:] |= same
    in_run[:-1] |= same
    at = np.flatnonzero(in_run)
    run = np.cumsum(~np.append(False, same))[at]  # the run of each of them
    ids = pd.Series(hr_id(order[at])).to_numpy()
    codes = pd.factorize(ids, sort=True, use_na_sentinel=False)[0]
    out = order.copy()
    out[at] = order[at][np.lexsort((codes, run))]
    return out


def _starts(sorted_keys: np.ndarray) -> np.ndarray:
    """Where each run of equal keys starts."""
    return np.flatnonzero(np.append(True, sorted_keys[1:] != sorted_keys[:-1]))


def _with_weight(frame: pd.DataFrame) -> pd.DataFrame:
    """``weight`` (bits) from the score (a probability in percent) where not given."""
    if "weight" in frame:
        return frame
    return frame.assign(weight=_weight_of(frame["score"].to_numpy(dtype=float)))


def _weight_of(score: np.ndarray) -> np.ndarray:
    p = np.clip(score / 100.0, 1e-12, 1 - 1e-12)
    return np.log2(p / (1 - p))


def flags(kept: pd.DataFrame, settings: MatchSettings, hr_name_count: np.ndarray) -> pd.DataFrame:
    """Add ``tie``, ``contested`` and ``namesake`` to ranked candidates."""
    kept = _with_weight(kept)
    k = kept["k"].to_numpy()
    order = np.argsort(k, kind="stable")
    tie, contested = flagged(k[order], kept["weight"].to_numpy(dtype=float)[order],
                             kept["rank"].to_numpy()[order], kept["h"].to_numpy()[order],
                             settings.tie_margin)
    back = np.empty_like(order)
    back[order] = np.arange(len(order))
    return kept.assign(tie=tie[back], contested=contested[back],
                       namesake=(hr_name_count[kept["h"].to_numpy()] >= 2))


def flagged(k: np.ndarray, weight: np.ndarray, ranks: np.ndarray, h: np.ndarray,
            tie_margin: float) -> tuple[np.ndarray, np.ndarray]:
    """``tie`` and ``contested`` of ranked pairs grouped by ``k`` (equal ``k`` together)."""
    n = len(k)
    if n == 0:
        return np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
    starts = _starts(k)
    group = np.repeat(np.arange(len(starts)), np.diff(np.append(starts, n)))
    best = np.fmax.reduceat(weight, starts)  # the groups' max, NaN left out
    near = weight >= best[group] - tie_margin
    tie = near & (np.add.reduceat(near.astype(np.int64), starts) >= 2)[group]
    first = ranks == 1
    hi, hu = pd.factorize(h)
    claims = np.bincount(hi[first], minlength=len(hu))
    return tie, claims[hi] - first >= 1


def _components(k: np.ndarray, h: np.ndarray) -> np.ndarray:
    """The connected component of every edge of the bipartite candidate graph (a label per
    component; only which edges share one matters)."""
    ki, ku = pd.factorize(k)
    hi, hu = pd.factorize(h)
    return _linked(ki, hi + len(ku), len(ku) + len(hu))


def _linked(ki: np.ndarray, hi: np.ndarray, nodes: int) -> np.ndarray:
    """Min-label propagation with pointer jumping, in numpy (scipy.sparse.csgraph would cost a
    third of a second of import for this): every node points at the smallest node it is known
    to be connected to, until both ends of every edge point at the same node."""
    labels = np.arange(nodes)
    while True:
        a, b = labels[ki], labels[hi]
        if np.array_equal(a, b):
            return a
        low = np.minimum(a, b)
        np.minimum.at(labels, a, low)  # hook each end's root onto the smaller one
        np.minimum.at(labels, b, low)
        while True:  # pointer jumping: every node straight to its root
            up = labels[labels]
            if np.array_equal(up, labels):
                break
            labels = up


def assign(kept: pd.DataFrame, settings: MatchSettings) -> np.ndarray:
    """A boolean per kept candidate: picked by the one-to-one assignment."""
    if len(kept) == 0:
        return np.zeros(0, dtype=bool)
    return assigned(kept["k"].to_numpy(), kept["h"].to_numpy(),
                    _with_weight(kept)["weight"].to_numpy(dtype=float),
                    kept["tie"].to_numpy(dtype=bool) if "tie" in kept else None)


def assigned(k: np.ndarray, h: np.ndarray, weight: np.ndarray,
             tie: np.ndarray | None) -> np.ndarray:
    """:func:`assign` of the pairs (``k``, ``h``) with these weights (and ``tie`` flags)."""
    n = len(k)
    chosen = np.zeros(n, dtype=bool)
    if n == 0:
        return chosen
    w = np.maximum(weight, 0.0) + 1e-6
    ki, ku = pd.factorize(k)
    hi, hu = pd.factorize(h)
    nk = len(ku)
    comp = _linked(ki, hi + nk, nk + len(hu))  # labels are node numbers
    # a node's edges are all in its component: count its Kleer and HR nodes
    k_comp, h_comp = np.empty(nk, dtype=comp.dtype), np.empty(len(hu), dtype=comp.dtype)
    k_comp[ki], h_comp[hi] = comp, comp
    size = nk + len(hu)
    simple = (np.bincount(k_comp, minlength=size) == 1) | (np.bincount(h_comp, minlength=size) == 1)
    star = np.flatnonzero(simple[comp])
    if len(star):  # its best edge: the heaviest, the first of equal ones
        best = star[np.lexsort((-w[star], comp[star]))]
        chosen[best[_starts(comp[best])]] = True
    rest = np.flatnonzero(~simple[comp])
    if len(rest):
        rest = rest[np.argsort(comp[rest], kind="stable")]
        starts = _starts(comp[rest])
        for a, b in zip(starts.tolist(), np.append(starts[1:], len(rest)).tolist()):
            rows = rest[a:b]
            # numbered in order of first appearance, as pd.factorize of the part would
            rk = np.unique(ki[rows], return_inverse=True)[1].reshape(-1)
            rh = np.unique(hi[rows], return_inverse=True)[1].reshape(-1)
            matrix = np.zeros((rk.max() + 1, rh.max() + 1))
            matrix[rk, rh] = w[rows]
            r, c = linear_sum_assignment(matrix, maximize=True)
            picked = np.zeros(matrix.shape, dtype=bool)
            picked[r, c] = matrix[r, c] > 0
            chosen[rows] = picked[rk, rh]
    if tie is None:
        return chosen
    return _unresolved(ki, hi, nk, len(hu), tie, chosen)


def _unresolved(ki: np.ndarray, hi: np.ndarray, nk: int, nh: int, tie: np.ndarray,
                chosen: np.ndarray) -> np.ndarray:
    """Unassign a Kleer employee whose tied alternative the assignment left free (``ki``,
    ``hi``: the pairs' Kleer and HR employees numbered 0…)."""
    taken = np.zeros(nh, dtype=bool)
    taken[hi[chosen]] = True
    ambiguous = np.zeros(nk, dtype=bool)
    ambiguous[ki[tie & ~chosen & ~taken[hi]]] = True
    return chosen & ~ambiguous[ki]


def _unresolved_ties(kept: pd.DataFrame, chosen: np.ndarray) -> np.ndarray:
    """Unassign a Kleer employee whose tied alternative the assignment left free."""
    if "tie" not in kept:
        return chosen
    ki, ku = pd.factorize(kept["k"].to_numpy())
    hi, hu = pd.factorize(kept["h"].to_numpy())
    return _unresolved(ki, hi, len(ku), len(hu), kept["tie"].to_numpy(dtype=bool), chosen)
