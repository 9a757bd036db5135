"""The "why" text of kept pairs, straight from the levels and values (no evidence dicts).

:func:`~workbench.matching.as_table` turns a suggestion's evidence (a list of dicts, see
:func:`~workbench.matching.scoring.evidence`) into one line: every comparison's sentence with its
weight ("Personnummer identical (+16.6 bits); First name Karl ~ Kalle: nickname (+3.1 bits)"),
the prior left out. When the only use of the evidence is that line (``workbench match --hr
--kleer`` writing a CSV), building hundreds of thousands of dicts to take them apart again is
most of the time of explaining. :func:`why_texts` builds the same lines comparison by comparison
over arrays, with the very sentence functions the evidence uses, so the text is exactly what
``as_table`` makes of the evidence (tests/test_matching_why.py holds the two paths equal).
"""

from __future__ import annotations

import numpy as np

from .scoring import Scores, _column_values, _gc_paused, _hr_emails, _sentences
from .prepare import Side

__all__ = ["why_texts"]


def _bits(weights: np.ndarray) -> list[str]:
    """`` (+1.2 bits)`` of every weight, "" for a zero weight (as ``_why`` writes them), once per
    distinct weight."""
    distinct, inverse = np.unique(weights, return_inverse=True)
    text = np.array([f" ({w:+.1f} bits)" if w else "" for w in distinct.tolist()], dtype=object)
    return text[inverse.reshape(-1)].tolist()


def why_texts(scores: Scores, rows: np.ndarray, hr: Side, kleer: Side) -> list[str]:
    """Per pair at ``rows``: ``_why`` of its :func:`~workbench.matching.scoring.evidence`."""
    rows = np.asarray(rows, dtype=np.int64)
    n = len(rows)
    if n == 0:
        return []
    with _gc_paused():
        h, k = scores.h[rows].astype(np.int64), scores.k[rows].astype(np.int64)
        email_key = _hr_emails(hr, kleer, h, k) if "email" in scores.comparisons else None
        columns = []
        levels, weights = scores.levels[rows], scores.weights[rows]
        for j, c in enumerate(scores.comparisons):
            li = levels[:, j].astype(np.int64)
            hv, kv = _column_values(c, hr, kleer, h, k, email_key)
            shown = (kv != "") if c == "foreign_id" else ((hv != "") | (kv != ""))
            todo = np.flatnonzero(shown | (li != 0))
            if not len(todo):
                continue
            every = len(todo) == n  # the usual case: no indexing needed
            pick = (lambda a: a) if every else (lambda a: a[todo])  # noqa: E731
            sentences = _sentences(c, pick(li), pick(hv), pick(kv), pick(h), pick(k), hr, kleer,
                                   pick(email_key) if email_key is not None else None)
            pieces = [s + b for s, b in zip(sentences, _bits(pick(weights[:, j])))]
            if not every:
                column = [""] * n
                for i, piece in zip(todo.tolist(), pieces):
                    column[i] = piece
                pieces = column
            columns.append(pieces)
        if not columns:
            return [""] * n
        return ["; ".join(filter(None, row)) for row in zip(*columns)]

