"""The trained match model, shown: one expander with the one-line summary (when trained, on how
many pairs, iterations, convergence, the prior) and a table of every comparison level's m, u and
weight in bits. The page calls :func:`model_expander`; :func:`model_rows` is the pure part."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from .text import local_time, md

__all__ = ["model_expander", "model_rows"]


def model_rows(model: dict[str, Any]) -> pd.DataFrame:
    """The levels of a stored model (``Workbench.match_model()``) as a table for the page."""
    levels = model.get("levels")
    if levels is None or len(levels) == 0:
        return pd.DataFrame(columns=["Comparison", "Level", "m", "u", "Weight (bits)"])
    return pd.DataFrame({"Comparison": levels["label"], "Level": levels["level"],
                         "m": levels["m"].round(5), "u": levels["u"].map(lambda v: float(f"{v:.3g}")),
                         "Weight (bits)": levels["weight"].round(2)})


def model_expander(wb: Any) -> None:
    """The expander "Match model" (closed): what the last matching run learned."""
    model = wb.match_model()
    with st.expander("Match model (learned from this workspace)", expanded=False):
        if model is None:
            st.info("No model trained yet: run matching on Import from Kleer.")
            return
        who = f" by {model['trained_by']}" if model.get("trained_by") else ""
        st.caption(md(f"Trained {local_time(model['trained_at'])}{who}. {model['description']}."))
        st.dataframe(model_rows(model), hide_index=True, width="stretch")
