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
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .lsap import linear_sum_assignment  # scipy's, without importing all of scipy.optimize
from .settings import MatchSettings

__all__ = ["rank", "flags", "assign"]


def rank(frame: pd.DataFrame, settings: MatchSettings) -> pd.DataFrame:
    """Kept candidates: score ≥ possible, top k per Kleer employee (``k``), with ``rank``.

    ``frame`` has one row per pair with ``k`` (Kleer position), ``h`` (HR position), ``hr_id`` and
    ``score`` (and optionally ``weight``, the match weight in bits, which orders more finely than
    a score near 100); ties are ordered by ``hr_id`` so a run is reproducible.
    """
    frame = _with_weight(frame)
    kept = frame[frame["score"] >= settings.possible]
    kept = kept.sort_values(["k", "weight", "hr_id"], ascending=[True, False, True], kind="stable")
    kept = kept.assign(rank=kept.groupby("k").cumcount() + 1)
    return kept[kept["rank"] <= settings.top_k].reset_index(drop=True)


def _with_weight(frame: pd.DataFrame) -> pd.DataFrame:
    """``weight`` (bits) from the score (a probability in percent) where not given."""
    if "weight" in frame:
        return frame
    p = np.clip(frame["score"].to_numpy(dtype=float) / 100.0, 1e-12, 1 - 1e-12)
    return frame.assign(weight=np.log2(p / (1 - p)))


def flags(kept: pd.DataFrame, settings: MatchSettings, hr_name_count: np.ndarray) -> pd.DataFrame:
    """Add ``tie``, ``contested`` and ``namesake`` to ranked candidates."""
    kept = _with_weight(kept)
    best = kept.groupby("k")["weight"].transform("max")
    near = kept["weight"] >= best - settings.tie_margin
    tie = near & (near.groupby(kept["k"]).transform("sum") >= 2)
    first = kept["rank"] == 1
    claims = kept.loc[first, "h"].value_counts()
    claimed = kept["h"].map(claims).fillna(0).astype(int) - first.astype(int)
    return kept.assign(tie=tie.to_numpy(), contested=(claimed >= 1).to_numpy(),
                       namesake=(hr_name_count[kept["h"].to_numpy()] >= 2))


def _components(k: np.ndarray, h: np.ndarray) -> np.ndarray:
    """The connected component of every edge of the bipartite candidate graph (a label per
    component; only which edges share one matters).

    Min-label propagation with pointer jumping, in numpy (scipy.sparse.csgraph would cost a
    third of a second of import for this): every node points at the smallest node it is known
    to be connected to, until both ends of every edge point at the same node."""
    ki, ku = pd.factorize(k)
    hi, hu = pd.factorize(h)
    hi = hi + len(ku)
    labels = np.arange(len(ku) + len(hu))
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
    n = len(kept)
    chosen = np.zeros(n, dtype=bool)
    if n == 0:
        return chosen
    k, h = kept["k"].to_numpy(), kept["h"].to_numpy()
    weight = np.maximum(_with_weight(kept)["weight"].to_numpy(dtype=float), 0.0) + 1e-6
    comp = _components(k, h)
    frame = pd.DataFrame({"comp": comp, "k": k, "h": h, "w": weight, "row": np.arange(n)})
    sizes = frame.groupby("comp").agg(nk=("k", "nunique"), nh=("h", "nunique"))
    simple = sizes.index[(sizes["nk"] == 1) | (sizes["nh"] == 1)]
    star = frame[frame["comp"].isin(simple)].sort_values(["comp", "w", "row"],
                                                          ascending=[True, False, True])
    chosen[star.drop_duplicates("comp")["row"].to_numpy()] = True
    for _, part in frame[~frame["comp"].isin(simple)].groupby("comp"):
        ki, ks = pd.factorize(part["k"].to_numpy())
        hi, hs = pd.factorize(part["h"].to_numpy())
        matrix = np.zeros((len(ks), len(hs)))
        matrix[ki, hi] = part["w"].to_numpy()
        rows, cols = linear_sum_assignment(matrix, maximize=True)
        picked = {(r, c) for r, c in zip(rows, cols) if matrix[r, c] > 0}
        for (r, c), row in zip(zip(ki, hi), part["row"].to_numpy()):
            if (r, c) in picked:
                chosen[row] = True
    return _unresolved_ties(kept, chosen)


def _unresolved_ties(kept: pd.DataFrame, chosen: np.ndarray) -> np.ndarray:
    """Unassign a Kleer employee whose tied alternative the assignment left free."""
    if "tie" not in kept:
        return chosen
    taken = set(kept.loc[chosen, "h"])
    free_tied = kept["tie"].to_numpy() & ~chosen & ~kept["h"].isin(taken).to_numpy()
    ambiguous = set(kept.loc[free_tied, "k"])
    return chosen & ~kept["k"].isin(ambiguous).to_numpy()
