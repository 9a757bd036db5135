"""The Fellegi–Sunter model: m and u per comparison level, learned by EM, and match weights.

For a candidate pair, each comparison (:mod:`workbench.matching.comparisons`) lands on one level.
``m`` is the probability of that level among true pairs, ``u`` among other pairs; the level's
**match weight** is ``log2(m / u)`` bits (positive: evidence for, negative: evidence against; a
missing value weighs 0). A pair's match weight is the prior weight ``log2(λ / (1 − λ))`` (λ: the
share of all HR × Kleer pairs that are matches) plus the weights of its levels, and its match
probability is ``1 / (1 + 2^−weight)``.

:func:`train_on` estimates the model the way Splink does: **u from random pairs**
(:func:`random_u`: a sample of all HR × Kleer pairs, each comparison compared on its own; the
exact level of the plain-equality comparisons counted over all pairs from value frequencies, net
of the one match per record a value can hold), and **λ and m by EM** over the candidate pairs
with u fixed, λ being the share of matches among *all* pairs (the pairs blocking left out count
as non-matches). u taken from the candidates instead — the non-matches blocking chose because
their names or postal codes agree — made exactly those agreements look like weak evidence, and a
prior taken over candidates counted the blocking's agreement twice. EM runs vectorised on the
distinct comparison patterns, so a million pairs cost a few milliseconds per iteration. Expert
starting values (:data:`DEFAULT_M`, :data:`DEFAULT_U`) seed EM and act as a weak Dirichlet
prior, so a tiny workspace still gets sensible weights. Confirmed and rejected pairs
(``labelled``/``labels``) refine the estimate (semi-supervised: their match/non-match is fixed,
a confirmed pair counts towards m, a rejected one towards u); evaluation labels are never a
training input — the workbench passes only the analyst's own links, unlinks and decisions
(:meth:`workbench.store.match_models.MatchModels.labels`), never a ground truth.

Term frequency: an exact first or last name gets ``log2(ū / tf(value))`` bits on top of its level
weight, where ``tf`` is the value's share among all names of both sides and ``ū`` the average
chance two random names agree: a shared "Andersson" weighs less than a shared rare surname. The
adjustment is capped at ±:data:`TF_CAP` bits and shrunk on small inputs (``N / (N + 500)``).

:class:`FSModel` is a frozen value that round-trips to JSON (:meth:`FSModel.to_dict`,
:meth:`FSModel.from_dict`) with a :meth:`FSModel.summary` of levels, m, u, weights, iterations and
convergence.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping

import numpy as np
import pandas as pd

from ..errors import InputError
from .comparisons import COMPARISONS, compare
from .prepare import shared_codes

__all__ = ["FSModel", "DEFAULT_M", "DEFAULT_U", "TF_CAP", "TF_COMPARISONS", "U_PAIRS",
           "U_PAIRS_PER_RECORD", "EXACT_COLUMNS", "em", "train_on", "random_pairs", "random_u",
           "tf_adjustments", "probability"]

FORMAT = 1
TF_CAP = 4.0
U_PAIRS = 50_000        # at most this many random pairs drawn to estimate u
U_PAIRS_PER_RECORD = 2  # ... and at most this many per record of both sides (all pairs when fewer)
TF_COMPARISONS = ("first_name", "last_name")
_PRIOR_STRENGTH = 4.0   # pseudo-pairs of the Dirichlet prior on m and on u
_FLOOR = 1e-7
_M_DIFFERS_FLOOR = 0.01
_U_PSEUDO = 0.5         # pseudo-count per level added to sampled u counts (in sampled pairs)
_U_PRIOR_PAIRS = 1000.0  # the expert u's weight, in pairs, when u comes from random pairs

#: Expert starting values per level (1…n); they seed EM and are its weak prior.
DEFAULT_M: Mapping[str, tuple[float, ...]] = {
    "foreign_id": (0.99, 0.01),
    "ssn": (0.9, 0.03, 0.03, 0.01, 0.03),
    "first_name": (0.8, 0.06, 0.01, 0.03, 0.01, 0.04, 0.02, 0.03),
    "last_name": (0.8, 0.01, 0.04, 0.04, 0.02, 0.09),
    "birth_date": (0.9, 0.04, 0.03, 0.03),
    "email": (0.7, 0.08, 0.04, 0.18),
    "phone": (0.8, 0.2),
    "street": (0.8, 0.1, 0.1),
    "zip_code": (0.85, 0.05, 0.1),
    "city": (0.85, 0.05, 0.1),
    "employee_number": (0.85, 0.05, 0.1),
    "employment_start_date": (0.8, 0.1, 0.1),
}
DEFAULT_U: Mapping[str, tuple[float, ...]] = {
    "foreign_id": (0.0005, 0.9995),
    "ssn": (1e-5, 1e-6, 5e-5, 1e-5, 0.99993),
    "first_name": (0.03, 0.003, 0.0005, 0.005, 0.001, 0.01, 0.05, 0.9005),
    "last_name": (0.03, 0.0005, 0.005, 0.01, 0.05, 0.9045),
    "birth_date": (0.005, 0.005, 0.03, 0.96),
    "email": (1e-4, 1e-4, 0.001, 0.9988),
    "phone": (1e-4, 0.9999),
    "street": (0.001, 0.001, 0.998),
    "zip_code": (0.01, 0.05, 0.94),
    "city": (0.05, 0.01, 0.94),
    "employee_number": (1e-4, 0.001, 0.9989),
    "employment_start_date": (0.002, 0.01, 0.988),
}


def _normal(values: Iterable[float]) -> np.ndarray:
    a = np.maximum(np.asarray(list(values), dtype=float), _FLOOR)
    return a / a.sum()


@dataclass(frozen=True)
class FSModel:
    """Trained Fellegi–Sunter parameters: per comparison the m and u of each level (1…n)."""

    comparisons: tuple[str, ...]
    m: Mapping[str, tuple[float, ...]]
    u: Mapping[str, tuple[float, ...]]
    prior: float                     # λ: share of pairs that are matches (all pairs when
    #                                  u comes from random pairs, else the candidate pairs)
    iterations: int = 0
    converged: bool = False
    pairs: int = 0                   # candidate pairs it was trained on
    labelled: int = 0                # confirmed/rejected pairs that refined it
    log: tuple[float, ...] = field(default=(), repr=False)  # max parameter change per iteration
    u_pairs: int = 0                 # random pairs u was estimated on (0: u learned by EM)

    @classmethod
    def default(cls, comparisons: Iterable[str] = tuple(COMPARISONS), prior: float = 0.1
                ) -> "FSModel":
        """The expert starting values, untrained."""
        cs = tuple(comparisons)
        return cls(cs, {c: tuple(_normal(DEFAULT_M[c])) for c in cs},
                   {c: tuple(_normal(DEFAULT_U[c])) for c in cs}, prior)

    # ---------------------------------------------------------------- weights

    def weights(self, comparison: str) -> np.ndarray:
        """Match weight in bits per level, index 0 (missing) = 0."""
        if comparison not in self.m:
            return np.zeros(COMPARISONS[comparison].n_levels + 1)
        m, u = np.asarray(self.m[comparison]), np.asarray(self.u[comparison])
        return np.concatenate([[0.0], np.log2(np.maximum(m, _FLOOR) / np.maximum(u, _FLOOR))])

    @property
    def prior_weight(self) -> float:
        lam = min(max(self.prior, 1e-12), 1 - 1e-12)
        return math.log2(lam / (1 - lam))

    def summary(self) -> list[dict[str, Any]]:
        """One row per comparison level: comparison, label, level, m, u, weight (bits)."""
        rows = []
        for c in self.comparisons:
            w = self.weights(c)
            for i, name in enumerate(COMPARISONS[c].levels, start=1):
                rows.append({"comparison": c, "label": COMPARISONS[c].label, "level": name,
                             "m": self.m[c][i - 1], "u": self.u[c][i - 1],
                             "weight": round(float(w[i]), 3)})
        return rows

    def describe(self) -> str:
        """A one-line summary: prior, iterations, convergence."""
        u_from = (f"u from {self.u_pairs:,} random pairs" if self.u_pairs
                  else "u learned by EM")
        return (f"Fellegi–Sunter model over {len(self.comparisons)} comparisons, trained on "
                f"{self.pairs} candidate pairs ({self.labelled} labelled; {u_from}): prior λ = "
                f"{self.prior:.4g} ({self.prior_weight:+.2f} bits), {self.iterations} EM "
                f"iterations, {'converged' if self.converged else 'not converged'}")

    # ---------------------------------------------------------------- JSON

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "comparisons": list(self.comparisons),
                "m": {c: list(v) for c, v in self.m.items()},
                "u": {c: list(v) for c, v in self.u.items()},
                "prior": self.prior, "iterations": self.iterations, "converged": self.converged,
                "pairs": self.pairs, "labelled": self.labelled, "u_pairs": self.u_pairs,
                "log": list(self.log), "summary": self.summary()}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "FSModel":
        if data.get("format") != FORMAT:
            raise InputError(f"unknown match model format {data.get('format')!r} "
                             f"(this version reads format {FORMAT}); train the model again")
        cs = tuple(data["comparisons"])
        unknown = [c for c in cs if c not in COMPARISONS]
        bad = [c for c in cs if c not in unknown and
               (len(data["m"][c]) != COMPARISONS[c].n_levels
                or len(data["u"][c]) != COMPARISONS[c].n_levels)]
        if unknown or bad:
            raise InputError(f"the match model does not fit this version (unknown comparisons: "
                             f"{', '.join(unknown) or 'none'}; wrong levels: "
                             f"{', '.join(bad) or 'none'}); train the model again")
        return cls(cs, {c: tuple(map(float, data["m"][c])) for c in cs},
                   {c: tuple(map(float, data["u"][c])) for c in cs}, float(data["prior"]),
                   int(data.get("iterations", 0)), bool(data.get("converged", False)),
                   int(data.get("pairs", 0)), int(data.get("labelled", 0)),
                   tuple(map(float, data.get("log", ()))), int(data.get("u_pairs", 0)))

    @classmethod
    def from_json(cls, text: str) -> "FSModel":
        return cls.from_dict(json.loads(text))


# --------------------------------------------------------------------------- EM

def _patterns(gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of ``gamma`` and how often each occurs."""
    if len(gamma) == 0:
        return np.zeros((0, gamma.shape[1]), dtype=np.int8), np.zeros(0)
    shifts = (np.arange(gamma.shape[1], dtype=np.int64) * 4)
    # one int64 per row, column by column (no (n, C) int64 copy of the matrix)
    codes = np.zeros(len(gamma), dtype=np.int64)
    for j in range(gamma.shape[1]):
        codes |= gamma[:, j].astype(np.int64) << int(shifts[j])
    inverse, uniques = pd.factorize(codes)
    counts = np.bincount(inverse).astype(float)
    patterns = ((np.asarray(uniques)[:, None] >> shifts) & 15).astype(np.int8)
    return patterns, counts


def _log_likelihoods(patterns: np.ndarray, m: list[np.ndarray], u: list[np.ndarray]
                     ) -> tuple[np.ndarray, np.ndarray]:
    lm = np.zeros(len(patterns))
    lu = np.zeros(len(patterns))
    for j in range(patterns.shape[1]):
        lm += np.log(np.concatenate([[1.0], m[j]]))[patterns[:, j]]
        lu += np.log(np.concatenate([[1.0], u[j]]))[patterns[:, j]]
    return lm, lu


def random_pairs(n_hr: int, n_kleer: int, max_pairs: int = U_PAIRS, seed: int = 0
                 ) -> tuple[np.ndarray, np.ndarray, float]:
    """Pairs drawn at random from all HR × Kleer pairs, for estimating u; and the sampling rate
    (drawn pairs ÷ all pairs). Every pair when there are at most ``max_pairs``."""
    total = n_hr * n_kleer
    if total == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), 0.0
    if total <= max_pairs:
        h, k = np.divmod(np.arange(total, dtype=np.int64), n_kleer)
        return h, k, 1.0
    rng = np.random.default_rng(seed)
    return (rng.integers(0, n_hr, max_pairs, dtype=np.int64),
            rng.integers(0, n_kleer, max_pairs, dtype=np.int64), max_pairs / total)


#: Comparisons whose first level is equality of one prepared column (both sides present): their
#: u for that level is counted exactly over all pairs from the value frequencies. (The
#: personnummer's ten digits also hold the rare "10 vs 12 digits" pair; :func:`random_u` keeps
#: the sample's count whenever the sample shows the level is not that equality.)
EXACT_COLUMNS: Mapping[str, str] = {
    "ssn": "pnr", "first_name": "first", "last_name": "last", "street": "street", "zip_code": "zip_code",
    "city": "city", "employee_number": "employee_number", "phone": "phone",
    "employment_start_date": "start"}


def _collisions(a: np.ndarray, b: np.ndarray) -> float:
    """How many of all (a[i], b[j]) pairs hold the same non-empty value and cannot all be the
    same person: per value ``n_a · n_b − min(n_a, n_b)`` (one person per record and side), so a
    value held once on each side is no collision and six Annas on each side are 30."""
    both = np.concatenate([a, b]).astype(object)
    codes, uniques = pd.factorize(both)
    codes = np.where(both == "", -1, codes)
    return _collision_count(codes[:len(a)], codes[len(a):], len(uniques))


def _collision_count(ca: np.ndarray, cb: np.ndarray, n_values: int) -> float:
    """:func:`_collisions` of two sides' values as codes in one vocabulary (``-1``: none)."""
    na = np.bincount(ca[ca >= 0], minlength=n_values).astype(float)
    nb = np.bincount(cb[cb >= 0], minlength=n_values).astype(float)
    return float((na * nb - np.minimum(na, nb)).sum())  # whole numbers: exact in any order


def random_u(hr: Any, kleer: Any, comparisons: list[str], max_pairs: int | None = None,
             seed: int = 0) -> dict[str, Any]:
    """u from random pairs of the two prepared sides (as Splink's
    ``estimate_u_using_random_sampling``): the keyword arguments :func:`em` takes
    (``u_counts``, ``u_pseudo``, ``u_pairs``, ``all_pairs``).

    ``u_counts`` are per level in units of *all* HR × Kleer pairs (the sample's counts ÷ the
    sampling rate); :func:`em` takes the expected matches out of them. The exact level of a
    comparison in :data:`EXACT_COLUMNS` is instead counted over all pairs from the value
    frequencies, net of the matches it can hold (:func:`_collisions`; ``u_net`` marks it), so a
    rare agreement (an employee number two people share by chance) is not rounded to "never in
    the sample", and on a small input EM cannot talk itself into "the matches are
    collisions" — as long as the sample confirms that this level is that equality. Each comparison is compared on its own, so the move rule of
    :func:`~workbench.matching.comparisons.compare` (street and postal code both differing make
    postal code and city neutral) does not hide how often random people share a postal code.
    ``u_pseudo``: half a sampled pair (÷ the rate) per level known from a sample only; none where
    it was counted over all pairs (:func:`em`'s prior of :data:`_U_PRIOR_PAIRS` expert pairs
    keeps those finite).

    ``max_pairs`` defaults to :data:`U_PAIRS_PER_RECORD` per record, between 10,000 and
    :data:`U_PAIRS`: the exact levels need no sample, the fuzzy ones a sample that grows with
    the data (at 5,000 × 5,000 the first-name comparison of 50,000 pairs would cost more than
    the matching it serves)."""
    if max_pairs is None:
        max_pairs = min(U_PAIRS, max(10_000, U_PAIRS_PER_RECORD * (len(hr) + len(kleer))))
    h, k, rate = random_pairs(len(hr), len(kleer), max_pairs, seed)
    counts, pseudo, net = {}, {}, {}
    for c in comparisons:
        levels = compare(hr, kleer, h, k, [c])[:, 0]
        n = np.bincount(levels, minlength=COMPARISONS[c].n_levels + 1)[1:].astype(float)
        scale = 1.0 / rate if rate else 0.0
        counts[c] = n * scale
        # a level no sampled pair reached is "rarer than one in the sample", not impossible
        pseudo[c] = np.full(len(n), _U_PSEUDO * scale if rate < 1.0 else 0.0)
        net[c] = np.zeros(len(n), dtype=bool)
        column = EXACT_COLUMNS.get(c)
        if column is not None:
            ch, ck, n_values = shared_codes(hr, kleer, column)  # "" is -1
            same = (ch[h] >= 0) & (ch[h] == ck[k])
            if bool(np.array_equal(same, levels == 1)):
                counts[c][0] = _collision_count(ch, ck, n_values)
                pseudo[c][0] = 0.0
                net[c][0] = True
    return {"u_counts": counts, "u_pseudo": pseudo, "u_net": net, "u_pairs": len(h),
            "all_pairs": len(hr) * len(kleer)}


def em(gamma: np.ndarray, comparisons: list[str], *, start: FSModel | None = None,
       labelled: np.ndarray | None = None, labels: np.ndarray | None = None,
       max_iter: int = 200, tol: float = 1e-6, prior: float | None = None,
       u_counts: Mapping[str, np.ndarray] | None = None,
       u_pseudo: Mapping[str, np.ndarray] | None = None,
       u_net: Mapping[str, np.ndarray] | None = None, u_pairs: int = 0,
       all_pairs: int | None = None) -> FSModel:
    """Estimate λ, m and u from the comparison vectors ``gamma`` (one row per candidate pair).

    ``u_counts`` (per comparison and level, in units of all pairs: see :func:`random_u`) fixes u
    from random pairs instead of the candidates' non-matches (which blocking made look alike):
    u = those counts less the matches among them (the candidates' expected match counts per
    level, re-estimated each iteration; not from the levels ``u_net`` marks: they hold no
    matches), plus ``u_pseudo``; ``u_pairs``: how many random pairs
    they come from (for the summary). Without ``u_counts`` u is learned by EM like m.

    ``all_pairs`` (with ``u_counts``): how many HR × Kleer pairs there are. λ is then the share
    of matches among *all* pairs, every pair blocking left out counting as a non-match, so prior
    and u speak of the same population: a candidate pair's name agreement is evidence weighed
    against random pairs, not already assumed by a prior taken over candidates that blocking
    chose for their names. Without it λ is the share of matches among the candidates.

    ``labelled``/``labels``: extra comparison vectors whose match (True) or non-match (False) is
    known; their responsibility is fixed (a confirmed pair counts towards m, a rejected one
    towards u). ``prior``: the starting λ.
    """
    start = start or FSModel.default(comparisons)
    patterns, counts = _patterns(gamma)
    lab = labelled if labelled is not None else np.zeros((0, len(comparisons)), dtype=np.int8)
    lab_r = np.asarray(labels, dtype=float) if labels is not None else np.zeros(0)
    lam = float(prior if prior is not None else start.prior)
    lam = min(max(lam, 1e-12), 0.9)
    m = [np.asarray(start.m.get(c, _normal(DEFAULT_M[c])), dtype=float) for c in comparisons]
    u = [np.asarray(start.u.get(c, _normal(DEFAULT_U[c])), dtype=float) for c in comparisons]
    alpha_m = [_PRIOR_STRENGTH * _normal(DEFAULT_M[c]) for c in comparisons]
    alpha_u = [_PRIOR_STRENGTH * _normal(DEFAULT_U[c]) for c in comparisons]
    fixed_u = None if u_counts is None else [np.asarray(u_counts[c], dtype=float)
                                             for c in comparisons]
    if fixed_u is not None:
        # the expert u as a prior worth _U_PRIOR_PAIRS pairs (it decides on a tiny input, is
        # nothing beside millions of pairs) plus the sampling's pseudo-counts
        alpha_u = [_U_PRIOR_PAIRS * _normal(DEFAULT_U[c])
                   + (np.asarray(u_pseudo[c], dtype=float) if u_pseudo is not None else 0.0)
                   for c in comparisons]
        # start from "the expected matches are among them": u without λ·N pairs distributed
        # like the starting m (else, on small inputs, EM can settle on "no matches at all",
        # where the matches left inside u make every agreement look common)
        keep = [np.asarray(u_net[c], dtype=float) if u_net is not None
                else np.zeros(COMPARISONS[c].n_levels) for c in comparisons]
        expected = lam * float(all_pairs or counts.sum())
        u = [_normal(np.maximum(fixed_u[j] - (1 - keep[j]) * expected * m[j], 0.0) + alpha_u[j])
             for j in range(len(comparisons))]
    lam_a, lam_b = _PRIOR_STRENGTH * lam, _PRIOR_STRENGTH * (1 - lam)
    n = counts.sum() + len(lab_r)
    if fixed_u is not None and all_pairs:
        n = max(float(all_pairs), n)
    changes: list[float] = []
    converged = False
    it = 0
    for it in range(1, max_iter + 1):
        lm, lu = _log_likelihoods(patterns, m, u)
        logit = math.log(lam) - math.log1p(-lam) + lm - lu
        r = 1.0 / (1.0 + np.exp(-np.clip(logit, -700, 700)))
        wm, wu = counts * r, counts * (1 - r)
        new_lam = (wm.sum() + lab_r.sum() + lam_a) / (n + lam_a + lam_b)
        new_m, new_u = [], []
        for j, c in enumerate(comparisons):
            size = COMPARISONS[c].n_levels + 1
            sm = np.bincount(patterns[:, j], weights=wm, minlength=size)[1:]
            if fixed_u is None:
                su = np.bincount(patterns[:, j], weights=wu, minlength=size)[1:]
            else:
                # all pairs hold the matches too: take them out
                su = np.maximum(fixed_u[j] - (1 - keep[j]) * sm, 0.0)
            if len(lab_r):
                sm = sm + np.bincount(lab[:, j], weights=lab_r, minlength=size)[1:]
                su = su + np.bincount(lab[:, j], weights=1 - lab_r, minlength=size)[1:]
            m_j = _normal(sm + alpha_m[j])
            # a true pair can always disagree (a typo, a move, a new number): the "differs"
            # level keeps at least _M_DIFFERS_FLOOR of m, so one disagreement never outweighs
            # everything else however clean the training pairs were
            m_j[-1] = max(m_j[-1], _M_DIFFERS_FLOOR)
            new_m.append(_normal(m_j))
            new_u.append(_normal(su + alpha_u[j]))
        change = max([abs(new_lam - lam)] + [float(np.abs(a - b).max()) for a, b in
                                             zip(new_m + new_u, m + u)])
        lam, m, u = float(new_lam), new_m, new_u
        changes.append(change)
        if change < tol:
            converged = True
            break
    return FSModel(tuple(comparisons), {c: tuple(map(float, m[j])) for j, c in enumerate(comparisons)},
                   {c: tuple(map(float, u[j])) for j, c in enumerate(comparisons)},
                   float(lam), it, converged, int(counts.sum()), int(len(lab_r)), tuple(changes),
                   u_pairs=int(u_pairs) if u_counts is not None else 0)


def train_on(gamma: np.ndarray, comparisons: list[str], n_hr: int, n_kleer: int, **kw: Any
             ) -> FSModel:
    """:func:`em` with the prior's starting value from the data: at most one match per record of
    the smaller side among the candidate pairs."""
    pairs = max(kw.get("all_pairs") or len(gamma), 1)
    start_prior = min(max(min(n_hr, n_kleer) / pairs, 1e-12), 0.9) * 0.8
    return em(gamma, comparisons, prior=start_prior, **kw)


# --------------------------------------------------------------------------- TF

def tf_adjustments(hr_values: np.ndarray, kleer_values: np.ndarray
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Per record of each side: the term-frequency adjustment (bits) its value gets when it
    agrees exactly. Values are counted over both sides."""
    values = np.concatenate([hr_values, kleer_values])
    codes, uniques = pd.factorize(np.where(values == "", None, values))
    present = codes >= 0
    total = int(present.sum())
    if total == 0:
        return np.zeros(len(hr_values)), np.zeros(len(kleer_values))
    counts = np.bincount(codes[present], minlength=len(uniques)).astype(float)
    tf = counts / total
    u_bar = float((tf * counts).sum() / total)   # Σ tf², the average agreement chance
    shrink = total / (total + 500.0)
    adj = np.clip(np.log2(u_bar / tf), -TF_CAP, TF_CAP) * shrink
    out = np.where(present, adj[np.maximum(codes, 0)], 0.0)
    return out[:len(hr_values)], out[len(hr_values):]


def probability(weight: np.ndarray | float) -> np.ndarray:
    """Match probability from a match weight in bits."""
    return 1.0 / (1.0 + np.exp2(-np.clip(weight, -1000, 1000)))
