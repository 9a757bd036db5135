"""The matching engine: ranked, explained HR candidates for every Kleer employee, one-to-one.

>>> import pandas as pd
>>> hr = pd.DataFrame({"hr_id": ["E1", "E2"], "first_name": ["Karl", "Anna"],
...                    "last_name": ["Berg", "Svensson"], "ssn": ["19850312-2387", None]})
>>> kleer = pd.DataFrame({"kleer_id": [7], "name": ["Kalle Berg"], "ssn": ["198503122387"]})
>>> s = suggest(hr, kleer)
>>> s.loc[0, "hr_id"], s.loc[0, "band"], bool(s.loc[0, "assigned"])
('E1', 'certain', True)
>>> [e["sentence"] for e in s.loc[0, "evidence"]][1:3]
['Personnummer identical', 'First name Karl ~ Kalle: nickname']
>>> total = sum(e["weight"] for e in s.loc[0, "evidence"])  # prior + every comparison
>>> bool(round(100 / (1 + 2 ** -total), 2) == s.loc[0, "score"])
True

Inputs use the canonical field keys of :data:`workbench.fields.FIELDS`; the Kleer side has one
``name`` (as Kleer has it), ``email``, and ``hr_id`` for Kleer's foreign-id. The pipeline:
:mod:`~workbench.matching.prepare` (flat arrays per side) → :mod:`~workbench.matching.blocking`
(blocking) → :mod:`~workbench.matching.comparisons` (levels) → :mod:`~workbench.matching.fs`
(m/u by EM, match weights) → :mod:`~workbench.matching.scoring` (weights, evidence) →
:mod:`~workbench.matching.assign` (top k, flags, one-to-one). :func:`evaluate` measures the assigned
pairs against a ground truth; :func:`read_kleer_table` reads a Kleer export CSV for the CLI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pandas as pd

from ..errors import InputError
from .assign import assigned, flagged, ranked
from .blocking import BLOCKS, candidate_pairs
from .comparisons import COMPARISONS, compare, usable_comparisons
from .explain import waterfall, waterfall_chart
from .fs import FSModel, random_u, train_on
from .kleer_table import read_kleer_table
from .prepare import Side, prepare_hr, prepare_kleer
from .scoring import evidence, score_pairs
from .why import why_texts
from .settings import AGREEMENTS, BANDS, SIGNALS, MatchSettings

__all__ = [
    "MatchSettings",
    "FSModel",
    "COMPARISONS",
    "SIGNALS",
    "BANDS",
    "AGREEMENTS",
    "BLOCKS",
    "COLUMNS",
    "Evaluation",
    "Progress",
    "STEPS",
    "suggest",
    "train",
    "waterfall",
    "waterfall_chart",
    "as_table",
    "candidates",
    "evaluate",
    "read_kleer_table",
]

#: The columns of a suggestions frame, in order.
COLUMNS = ["kleer_id", "hr_id", "rank", "score", "band", "assigned", "tie", "contested",
           "namesake", "evidence", "kleer_name", "hr_name"]

#: ``on_progress(done, total, message)``: called after each of the :data:`STEPS` of a run.
from ..progress import OnProgress as Progress  # noqa: E402 (workbench/progress.py: every progress shape)

STEPS = 6


def _without_links(hr: pd.DataFrame, kleer: pd.DataFrame, links: pd.DataFrame | None
                   ) -> tuple[pd.DataFrame, pd.DataFrame]:
    if links is None or links.empty:
        return hr, kleer
    hr_linked = set(links["hr_id"].astype(str))
    kleer_linked = set(_id_text(links["kleer_id"]))
    return (hr[~hr["hr_id"].astype(str).isin(hr_linked)],
            kleer[~_id_text(kleer["kleer_id"]).isin(kleer_linked)])


def _id_text(ids: pd.Series) -> pd.Series:
    """Ids as text for comparing: 7, 7.0 and "7" are one id; "rec-1-dup-0" stays itself."""
    as_num = pd.to_numeric(ids, errors="coerce")
    whole = as_num.notna() & (as_num == as_num.round())
    text = ids.astype(str).str.strip()
    return text.where(~whole, as_num.where(whole, 0).astype("int64").astype(str))


def _active_only(kleer: pd.DataFrame, settings: MatchSettings) -> pd.DataFrame:
    if settings.include_inactive or "active" not in kleer.columns:
        return kleer
    return kleer[kleer["active"].fillna(True).astype(bool)]


def _prepared(hr: pd.DataFrame, kleer: pd.DataFrame, settings: MatchSettings,
              links: pd.DataFrame | None) -> tuple[Side, Side, list[str]]:
    settings.validate(hr.columns, kleer.columns)
    comparisons = usable_comparisons(hr.columns, kleer.columns)
    hr, kleer = _without_links(hr, _active_only(kleer, settings), links)
    return (prepare_hr(hr.reset_index(drop=True)), prepare_kleer(kleer.reset_index(drop=True)),
            comparisons)


def candidates(hr: pd.DataFrame, kleer: pd.DataFrame, settings: MatchSettings = MatchSettings(),
               *, links: pd.DataFrame | None = None) -> pd.DataFrame:
    """The candidate pairs blocking produces (``hr_id``, ``kleer_id``), before scoring.

    For measuring candidate recall: a true pair missing here can never be suggested.
    """
    h_side, k_side, _ = _prepared(hr, kleer, settings, links)
    h, k = candidate_pairs(h_side, k_side, settings)
    return pd.DataFrame({"hr_id": h_side.ids[h].astype(str), "kleer_id": k_side.ids[k]})


def _name_counts(side: Side) -> np.ndarray:
    """Per record: how many records of its side have the same (folded) name; 0 without a name."""
    codes, _ = pd.factorize(np.where(side.folded == "", None, side.folded))
    counts = np.bincount(codes[codes >= 0], minlength=1)
    return np.where(codes >= 0, counts[np.maximum(codes, 0)], 0)


def _empty(explain: str = "evidence") -> pd.DataFrame:
    return pd.DataFrame({("why" if c == "evidence" and explain == "text" else c):
                         pd.Series(dtype=object) for c in COLUMNS})


def _labelled(hr: pd.DataFrame, kleer: pd.DataFrame, labels: pd.DataFrame | None,
              comparisons: list[str]) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Comparison vectors of the analyst's confirmed (``match`` true) and rejected pairs, read
    from the whole input (a confirmed pair is usually linked, and linked people are left out of
    the sides being matched)."""
    if labels is None or len(labels) == 0:
        return None, None
    hr_ids, kleer_ids = labels["hr_id"].astype(str), _id_text(labels["kleer_id"])
    hr = hr[hr["hr_id"].astype(str).isin(set(hr_ids))].drop_duplicates("hr_id")
    kleer = kleer[_id_text(kleer["kleer_id"]).isin(set(kleer_ids))]
    if hr.empty or kleer.empty:
        return None, None
    h_side = prepare_hr(hr.reset_index(drop=True))
    k_side = prepare_kleer(kleer.reset_index(drop=True))
    h_pos = pd.Series(np.arange(len(h_side)), index=h_side.ids.astype(str))
    k_pos = pd.Series(np.arange(len(k_side)), index=_id_text(pd.Series(k_side.ids)).to_numpy())
    h_pos = h_pos[~h_pos.index.duplicated()]
    k_pos = k_pos[~k_pos.index.duplicated()]
    hi = h_pos.reindex(hr_ids).to_numpy(dtype=float)
    ki = k_pos.reindex(kleer_ids).to_numpy(dtype=float)
    ok = ~(np.isnan(hi) | np.isnan(ki))
    if not ok.any():
        return None, None
    h, k = hi[ok].astype(np.int64), ki[ok].astype(np.int64)
    return compare(h_side, k_side, h, k, comparisons), labels["match"].to_numpy(dtype=bool)[ok]


def train(hr: pd.DataFrame, kleer: pd.DataFrame, settings: MatchSettings = MatchSettings(), *,
          links: pd.DataFrame | None = None, labels: pd.DataFrame | None = None,
          max_iter: int = 200) -> FSModel:
    """Learn the Fellegi–Sunter model (m/u per comparison level, the prior) by EM on the
    candidate pairs of these two sides.

    ``labels`` (``hr_id``, ``kleer_id``, ``match``: the analyst's confirmed and rejected pairs)
    refine the estimate; pass decisions, never an evaluation's ground truth. Linked pairs
    (``links``) are left out like in :func:`suggest`.
    """
    h_side, k_side, comparisons = _prepared(hr, kleer, settings, links)
    h, k = candidate_pairs(h_side, k_side, settings)
    return _train(h_side, k_side, compare(h_side, k_side, h, k, comparisons), comparisons,
                  _labelled(hr, kleer, labels, comparisons), max_iter)


def _train(h_side: Side, k_side: Side, levels: np.ndarray, comparisons: list[str],
           labelled: tuple[np.ndarray | None, np.ndarray | None], max_iter: int = 200
           ) -> FSModel:
    lab, lab_y = labelled
    return train_on(levels, comparisons, len(h_side), len(k_side), labelled=lab, labels=lab_y,
                    max_iter=max_iter, **random_u(h_side, k_side, comparisons))


def suggest(hr: pd.DataFrame, kleer: pd.DataFrame, settings: MatchSettings = MatchSettings(), *,
            links: pd.DataFrame | None = None, on_progress: Progress | None = None,
            model: FSModel | None = None, labels: pd.DataFrame | None = None,
            explain: str = "evidence") -> pd.DataFrame:
    """Ranked, explained HR candidates for every Kleer employee (see :data:`COLUMNS`).

    One row per kept candidate: at most ``settings.top_k`` per Kleer employee, each reaching the
    ``possible`` band, ordered by Kleer id and rank. ``score`` is the match probability in
    percent under ``model`` (trained by EM on these two sides when not given, refined by
    ``labels`` — see :func:`train`). ``links`` (``hr_id``, ``kleer_id``) are excluded from both
    sides. ``evidence`` is a list of dicts (signal, label, hr, kleer, level, agreement, weight
    in bits, contribution, sentence), the prior first, with the personnummer masked; the
    weights add up to the match weight, ``log2(p / (1 − p))`` of the score's probability p.
    The model used is in ``frame.attrs["model"]``.

    ``explain="text"`` gives, in place of ``evidence``, a column ``why`` with the one line
    :func:`as_table` writes for it (:mod:`~workbench.matching.why`: the same text, without
    building the dicts) — for a caller that only writes the table.
    """
    if explain not in ("evidence", "text"):
        raise ValueError(f"explain must be 'evidence' or 'text', not {explain!r}")
    report = on_progress or (lambda done, total, message: None)
    h_side, k_side, comparisons = _prepared(hr, kleer, settings, links)
    report(1, STEPS, f"prepared {len(h_side)} HR and {len(k_side)} Kleer employees")
    h, k = candidate_pairs(h_side, k_side, settings)
    report(2, STEPS, f"{len(h)} candidate pairs from blocking")
    levels = compare(h_side, k_side, h, k, comparisons)
    if model is None:
        model = _train(h_side, k_side, levels, comparisons,
                       _labelled(hr, kleer, labels, comparisons))
    scores = score_pairs(h_side, k_side, h, k, model, comparisons, levels)
    report(3, STEPS, f"scored {len(h)} pairs on {len(comparisons)} comparisons "
                     f"({model.iterations} EM iterations)")
    score = scores.score
    top = np.flatnonzero(score >= settings.possible)  # rank keeps no other pair
    h_top = h[top]
    order, ranks = ranked(k[top], scores.match_weight[top],
                          lambda at: h_side.ids[h_top[at]].astype(str), settings.top_k)
    rows = top[order]  # the kept pairs, by Kleer employee and rank
    kept_h, kept_k, weight = h[rows], k[rows], scores.match_weight[rows]
    tie, contested = flagged(kept_k, weight, ranks, kept_h, settings.tie_margin)
    report(4, STEPS, f"kept {len(rows)} candidates for "
                     f"{int(np.count_nonzero(np.diff(kept_k))) + 1 if len(rows) else 0} "
                     "Kleer employees")
    chosen = assigned(kept_k, kept_h, weight, tie)
    report(5, STEPS, f"assigned {int(chosen.sum())} pairs one-to-one")
    if not len(rows):
        report(STEPS, STEPS, "no suggestions")
        out = _empty(explain)
        out.attrs["model"] = model
        return out
    out = pd.DataFrame({
        "kleer_id": k_side.ids[kept_k],
        "hr_id": h_side.ids[kept_h].astype(str).astype(object),
        "rank": ranks,
        "score": score[rows],
        "band": _bands(scores.probability[rows] * 100, settings),
        "assigned": chosen,
        "tie": tie,
        "contested": contested,
        "namesake": _name_counts(h_side)[kept_h] >= 2,
        **({"evidence": evidence(scores, rows, h_side, k_side)}
           if explain == "evidence" else
           {"why": pd.Series(why_texts(scores, rows, h_side, k_side),
                             dtype=object)}),  # object: no round trip through arrow strings
        "kleer_name": _displays(k_side, kept_k),
        "hr_name": _displays(h_side, kept_h),
    })
    out.attrs["model"] = model
    report(STEPS, STEPS, f"explained {len(out)} suggestions")
    return out


def _displays(side: Side, idx: np.ndarray) -> np.ndarray:
    """The display names of the records at ``idx`` (Python ints index a list fastest; an object
    array makes a string column faster than a list does)."""
    names = side.names
    return np.array([names[i].display for i in idx.tolist()], dtype=object)


def _bands(percent: np.ndarray, settings: MatchSettings) -> np.ndarray:
    """:meth:`MatchSettings.band` of every score, vectorised (an object array, None below
    ``possible``)."""
    limits = [percent >= getattr(settings, name) for name in BANDS]
    return np.select(limits, list(BANDS), None) if len(percent) else np.array([], dtype=object)


def as_table(suggestions: pd.DataFrame, *, assigned_only: bool = False) -> pd.DataFrame:
    """Suggestions as a flat table for a CSV file: the evidence as one line of sentences with
    their weight ("Personnummer identical (+16.6 bits); …"), flags as true/false. A frame of
    ``suggest(..., explain="text")`` has that line already (its ``why`` column)."""
    frame = suggestions
    if assigned_only:
        frame = frame[frame["assigned"].astype(bool)]
    out = frame.reindex(columns=[c for c in COLUMNS if c != "evidence"]).copy()
    for flag in ("assigned", "tie", "contested", "namesake"):
        out[flag] = out[flag].astype(bool)
    why = (frame["why"].tolist() if "evidence" not in frame.columns and "why" in frame.columns
           else _why_column(frame["evidence"].tolist()))
    out["evidence"] = pd.Series(why, index=out.index, dtype=object)
    return out.reset_index(drop=True)


def _why(evidence_list: Any) -> str:
    return "; ".join([f"{e['sentence']} ({bits:+.1f} bits)" if bits else e["sentence"]
                      for e in evidence_list or [] if e.get("signal") != "prior"
                      for bits in (e.get("weight", e.get("contribution")) or 0,)])


def _why_column(evidences: list[Any]) -> list[str]:
    """:func:`_why` of every row. A level's sentence and weight repeat across pairs (the
    weights are learned per level), so each distinct piece is formatted once."""
    pieces: dict[tuple[str, Any], str] = {}
    out = []
    for evidence_list in evidences:
        parts = []
        for e in evidence_list or ():
            if e.get("signal") == "prior":
                continue
            bits = e.get("weight", e.get("contribution")) or 0
            key = (e["sentence"], bits)
            text = pieces.get(key)
            if text is None:
                text = pieces[key] = f"{key[0]} ({bits:+.1f} bits)" if bits else key[0]
            parts.append(text)
        out.append("; ".join(parts))
    return out


# --------------------------------------------------------------------------- evaluation

@dataclass(frozen=True)
class Evaluation:
    """Assigned pairs against a ground truth."""

    precision: float
    recall: float
    f1: float
    true_positives: int
    false_positives: int
    false_negatives: int
    wrong_by_band: dict[str, int]

    def __str__(self) -> str:
        wrong = ", ".join(f"{b} {n}" for b, n in self.wrong_by_band.items())
        return (f"precision {self.precision:.4f}  recall {self.recall:.4f}  F1 {self.f1:.4f}  "
                f"(correct {self.true_positives}, wrong {self.false_positives}, "
                f"missed {self.false_negatives}; wrong by band: {wrong or 'none'})")


def _pairs(frame: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"hr_id": frame["hr_id"].astype(str).to_numpy(),
                         "kleer_id": _id_text(frame["kleer_id"]).to_numpy()})


def evaluate(suggestions: pd.DataFrame, truth: pd.DataFrame) -> Evaluation:
    """Precision, recall and F1 of the ``assigned`` pairs of ``suggestions`` against ``truth``
    (columns ``hr_id``, ``kleer_id``: the pairs that are the same person)."""
    missing = {"hr_id", "kleer_id"} - set(truth.columns)
    if missing:
        raise InputError(f"the ground truth needs columns hr_id and kleer_id (missing: "
                         f"{', '.join(sorted(missing))})")
    truth_pairs = _pairs(truth.dropna(subset=["hr_id", "kleer_id"])).drop_duplicates()
    chosen = suggestions[suggestions["assigned"].astype(bool)] if len(suggestions) else suggestions
    got = _pairs(chosen).assign(band=chosen["band"].to_numpy()) if len(chosen) else \
        pd.DataFrame({"hr_id": [], "kleer_id": [], "band": []})
    hit = got.merge(truth_pairs, on=["hr_id", "kleer_id"], how="left", indicator=True)
    correct = hit["_merge"] == "both"
    tp, fp = int(correct.sum()), int((~correct).sum())
    fn = len(truth_pairs) - tp
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    wrong = hit.loc[~correct, "band"].value_counts()
    return Evaluation(precision, recall, f1, tp, fp, fn,
                      {b: int(wrong.get(b, 0)) for b in BANDS if wrong.get(b, 0)})
