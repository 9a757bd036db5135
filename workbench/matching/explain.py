"""Explanations as pictures: the data of a waterfall chart of match weights, and an Altair chart.

:func:`waterfall` is pure: from a suggestion's evidence (the prior first, then one entry per
comparison, each with its ``weight`` in bits) it returns one row per bar — where the bar starts
and ends on the running total, its weight and sentence — and a final "Match weight" bar with the
total and the match probability. :func:`waterfall_chart` draws those rows with Altair (no
Streamlit here: a page calls ``st.altair_chart(waterfall_chart(evidence))``, a notebook shows the
chart as it is).
"""

from __future__ import annotations

import math
from typing import Any, Iterable, Mapping

import pandas as pd

__all__ = ["waterfall", "waterfall_chart"]


def waterfall(evidence: Iterable[Mapping[str, Any]], *, include_missing: bool = False
              ) -> pd.DataFrame:
    """Rows ``step, label, level, weight, start, end, sentence, kind`` (kind: prior, for,
    against, neutral, total); the last row is the total match weight with its ``probability``."""
    rows: list[dict[str, Any]] = []
    total = 0.0
    for e in evidence:
        w = float(e.get("weight", e.get("contribution")) or 0.0)
        if e.get("agreement") == "missing" and not include_missing:
            continue
        kind = "prior" if e.get("signal") == "prior" else \
            "for" if w > 0 else "against" if w < 0 else "neutral"
        rows.append({"step": len(rows), "label": e.get("label"), "level": e.get("level"),
                     "weight": w, "start": total, "end": total + w,
                     "sentence": e.get("sentence"), "kind": kind})
        total += w
    probability = 1.0 / (1.0 + math.pow(2.0, -max(min(total, 1000), -1000)))
    rows.append({"step": len(rows), "label": "Match weight", "level": None, "weight": total,
                 "start": 0.0, "end": total,
                 "sentence": f"Match weight {total:+.1f} bits: probability {probability:.4%}",
                 "kind": "total"})
    out = pd.DataFrame(rows)
    out["probability"] = [None] * (len(out) - 1) + [probability]
    return out


def waterfall_chart(evidence: Iterable[Mapping[str, Any]], *, width: int = 480):
    """An Altair layered bar chart of :func:`waterfall`: one bar per comparison from the running
    total, green for, red against, grey for the prior, blue for the total."""
    import altair as alt

    data = waterfall(evidence)
    data["max_end"] = data[["start", "end"]].max(axis=1)
    order = list(data["label"])
    colour = alt.Color("kind:N", legend=None, scale=alt.Scale(
        domain=["prior", "for", "against", "neutral", "total"],
        range=["#8c959f", "#1a7f37", "#cf222e", "#d0d7de", "#0969da"]))
    base = alt.Chart(data).encode(y=alt.Y("label:N", sort=order, title=None))
    bars = base.mark_bar().encode(
        x=alt.X("start:Q", title="match weight (bits)"), x2="end:Q", color=colour,
        tooltip=["label", "level", alt.Tooltip("weight:Q", format="+.2f"), "sentence"])
    text = base.mark_text(align="left", dx=4).encode(
        x=alt.X("max_end:Q"), text=alt.Text("weight:Q", format="+.1f"))
    return alt.layer(bars, text).properties(width=width)
