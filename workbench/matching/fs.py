"""The Fellegi–Sunter model: m and u per comparison level, learned by EM, and match weights.

For a candidate pair, each comparison (:mod:`workbench.matching.comparisons`) lands on one level.
``m`` is the probability of that level among true pairs, ``u`` among other pairs; the level's
**match weight** is ``log2(m / u)`` bits (positive: evidence for, negative: evidence against; a
missing value weighs 0). A pair's match weight is the prior weight ``log2(λ / (1 − λ))`` (λ: the
share of candidate pairs that are matches) plus the weights of its levels, and its match
probability is ``1 / (1 + 2^−weight)``.

:func:`train` estimates λ, m and u unsupervised with expectation–maximisation over the candidate
pairs of the data at hand (as recordlinkage's ECM and Splink do), vectorised on the distinct
comparison patterns, so a million pairs cost a few milliseconds per iteration. Expert starting
values (:data:`DEFAULT_M`, :data:`DEFAULT_U`) seed EM and act as a weak Dirichlet prior, so a tiny
workspace still gets sensible weights. Confirmed and rejected pairs (``labels``) can refine the
estimate (semi-supervised: their match/non-match is fixed instead of inferred); evaluation labels
are never a training input — the caller decides what it passes, and :func:`train` is not given the
ground truth by any code path in the workbench.

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
from .comparisons import COMPARISONS

__all__ = ["FSModel", "DEFAULT_M", "DEFAULT_U", "TF_CAP", "TF_COMPARISONS", "em", "train_on",
           "tf_adjustments", "probability"]

FORMAT = 1
TF_CAP = 4.0
TF_COMPARISONS = ("first_name", "last_name")
_PRIOR_STRENGTH = 4.0   # pseudo-pairs of the Dirichlet prior on m and on u
_FLOOR = 1e-7
_M_DIFFERS_FLOOR = 0.01

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
    prior: float                     # λ: share of candidate pairs that are matches
    iterations: int = 0
    converged: bool = False
    pairs: int = 0                   # candidate pairs it was trained on
    labelled: int = 0                # confirmed/rejected pairs that refined it
    log: tuple[float, ...] = field(default=(), repr=False)  # max parameter change per iteration

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
        return (f"Fellegi–Sunter model over {len(self.comparisons)} comparisons, trained on "
                f"{self.pairs} candidate pairs ({self.labelled} labelled): prior λ = "
                f"{self.prior:.4g} ({self.prior_weight:+.2f} bits), {self.iterations} EM "
                f"iterations, {'converged' if self.converged else 'not converged'}")

    # ---------------------------------------------------------------- JSON

    def to_dict(self) -> dict[str, Any]:
        return {"format": FORMAT, "comparisons": list(self.comparisons),
                "m": {c: list(v) for c, v in self.m.items()},
                "u": {c: list(v) for c, v in self.u.items()},
                "prior": self.prior, "iterations": self.iterations, "converged": self.converged,
                "pairs": self.pairs, "labelled": self.labelled,
                "summary": self.summary()}

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
                   int(data.get("pairs", 0)), int(data.get("labelled", 0)))

    @classmethod
    def from_json(cls, text: str) -> "FSModel":
        return cls.from_dict(json.loads(text))


# --------------------------------------------------------------------------- EM

def _patterns(gamma: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct rows of ``gamma`` and how often each occurs."""
    if len(gamma) == 0:
        return np.zeros((0, gamma.shape[1]), dtype=np.int8), np.zeros(0)
    shifts = (np.arange(gamma.shape[1], dtype=np.int64) * 4)
    codes = (gamma.astype(np.int64) << shifts).sum(axis=1)
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


def em(gamma: np.ndarray, comparisons: list[str], *, start: FSModel | None = None,
       labelled: np.ndarray | None = None, labels: np.ndarray | None = None,
       max_iter: int = 200, tol: float = 1e-6, prior: float | None = None) -> FSModel:
    """Estimate λ, m and u from the comparison vectors ``gamma`` (one row per candidate pair).

    ``labelled``/``labels``: extra comparison vectors whose match (True) or non-match (False) is
    known; their responsibility is fixed. ``prior``: the starting λ (default: one match per
    record of the smaller side is unknown here, so 0.1 unless given).
    """
    start = start or FSModel.default(comparisons)
    patterns, counts = _patterns(gamma)
    lab = labelled if labelled is not None else np.zeros((0, len(comparisons)), dtype=np.int8)
    lab_r = np.asarray(labels, dtype=float) if labels is not None else np.zeros(0)
    lam = float(prior if prior is not None else start.prior)
    lam = min(max(lam, 1e-6), 0.9)
    m = [np.asarray(start.m.get(c, _normal(DEFAULT_M[c])), dtype=float) for c in comparisons]
    u = [np.asarray(start.u.get(c, _normal(DEFAULT_U[c])), dtype=float) for c in comparisons]
    alpha_m = [_PRIOR_STRENGTH * _normal(DEFAULT_M[c]) for c in comparisons]
    alpha_u = [_PRIOR_STRENGTH * _normal(DEFAULT_U[c]) for c in comparisons]
    lam_a, lam_b = _PRIOR_STRENGTH * lam, _PRIOR_STRENGTH * (1 - lam)
    n = counts.sum() + len(lab_r)
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
            su = np.bincount(patterns[:, j], weights=wu, minlength=size)[1:]
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
                   float(lam), it, converged, int(counts.sum()), int(len(lab_r)), tuple(changes))


def train_on(gamma: np.ndarray, comparisons: list[str], n_hr: int, n_kleer: int, **kw: Any
             ) -> FSModel:
    """:func:`em` with the prior's starting value from the data: at most one match per record of
    the smaller side among the candidate pairs."""
    pairs = max(len(gamma), 1)
    start_prior = min(max(min(n_hr, n_kleer) / pairs, 1e-6), 0.9) * 0.8
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
