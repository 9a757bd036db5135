"""The waterfall chart of a pair's match weights, for the Import page's detail and the notebook.

:func:`chart` turns a suggestion's evidence (the prior first, then one entry per comparison, each
with its ``weight`` in bits, as :mod:`workbench.matching` stores it) into an Altair layered bar
chart: one bar per comparison starting where the running total stands, green for, red against,
grey for the prior, and a last blue bar for the total match weight (the score is
``100 / (1 + 2 ** -total)``). The bars come from :func:`workbench.matching.waterfall`; this module
only draws them.

Every label is data: the y axis shows each comparison's sentence ("First name Karl ~ Kalle:
nickname") as a Vega-Lite field value, drawn as plain text, never markdown or HTML, so a name
from a file cannot format or inject anything. The tooltip adds the level and the weight.

Altair ships with Streamlit; nothing here imports Streamlit (a page calls
``st.altair_chart(chart(evidence))``, a notebook shows the chart object as it is).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

import pandas as pd

from ..matching import waterfall

__all__ = ["COLOURS", "bars", "chart"]

#: Bar colour per kind of bar (the ``kind`` column of :func:`workbench.matching.waterfall`).
COLOURS: dict[str, str] = {"prior": "#8c959f", "for": "#1a7f37", "against": "#cf222e",
                           "neutral": "#d0d7de", "total": "#0969da"}


def bars(evidence: Iterable[Mapping[str, Any]] | None) -> pd.DataFrame:
    """The chart's rows: :func:`workbench.matching.waterfall` with a unique, ordered ``bar``
    label (the sentence; a repeated sentence gets its step number so no two bars merge) and
    ``lo``/``hi`` (the bar's left and right ends)."""
    data = waterfall(list(evidence or []))
    sentence = data["sentence"].fillna(data["label"]).fillna("").astype(str)
    repeated = sentence.duplicated(keep=False)
    data["bar"] = sentence.where(~repeated, sentence + " (" + data["step"].astype(str) + ")")
    data["lo"] = data[["start", "end"]].min(axis=1)
    data["hi"] = data[["start", "end"]].max(axis=1)
    data["level"] = data["level"].astype(object).where(data["level"].notna(), "")
    return data


def chart(evidence: Iterable[Mapping[str, Any]] | None, *, width: int | str = "container"):
    """The Altair chart (a layer of bars and their weights as numbers) of ``evidence``."""
    import altair as alt

    data = bars(evidence)
    colour = alt.Color("kind:N", legend=None, scale=alt.Scale(
        domain=list(COLOURS), range=list(COLOURS.values())))
    base = alt.Chart(data[["step", "bar", "label", "level", "kind", "weight", "start", "end",
                           "lo", "hi"]]).encode(
        y=alt.Y("bar:N", sort=alt.EncodingSortField("step", order="ascending"), title=None,
                axis=alt.Axis(labelLimit=360)))
    drawn = base.mark_bar().encode(
        x=alt.X("start:Q", title="match weight (bits)"), x2="end:Q", color=colour,
        tooltip=[alt.Tooltip("bar:N", title="comparison"), alt.Tooltip("level:N", title="level"),
                 alt.Tooltip("weight:Q", title="weight (bits)", format="+.2f")])
    numbers = base.mark_text(align="left", dx=4).encode(
        x="hi:Q", text=alt.Text("weight:Q", format="+.1f"))
    return alt.layer(drawn, numbers).properties(width=width, height=alt.Step(22))
