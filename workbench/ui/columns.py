"""Table columns for the pages, derived from the field table (labels, help, masking)."""

from __future__ import annotations

from typing import Iterable

import pandas as pd
import streamlit as st

from ..display import cell_text
from ..fields import FIELD, mask
from . import access

__all__ = ["field_columns", "masked", "masked_pairs", "reveal"]


def reveal() -> bool:
    """Whether this session shows personal data unmasked (the sidebar toggle; audited). Never
    for a viewer, whatever the session state says."""
    return access.can("analyst") and bool(st.session_state.get("reveal_personal_data"))


def masked(frame: pd.DataFrame, *, show: bool | None = None) -> pd.DataFrame:
    """A copy of ``frame`` with sensitive field columns masked unless revealed."""
    if show if show is not None else reveal():
        return frame
    out = frame.copy()
    for col in out.columns:
        f = FIELD.get(col)
        if f is not None and f.masked:
            out[col] = out[col].map(lambda v, k=col: mask(k, v))
    return out


def masked_pairs(details: pd.DataFrame, *, show: bool | None = None) -> pd.DataFrame:
    """A pair-details frame (one row per field: ``field``, ``hr``, ``kleer``) as display text,
    sensitive values masked unless revealed."""
    keep = show if show is not None else reveal()
    out = details.copy()
    for side in ("hr", "kleer"):
        out[side] = [cell_text(v if keep else mask(k, v)) for k, v in zip(out["field"], out[side])]
    return out


def field_columns(keys: Iterable[str], *, hr_label: str = "HR") -> dict[str, st.column_config.Column]:
    """``st.column_config`` entries for field columns: the field's label and help text."""
    config: dict[str, st.column_config.Column] = {}
    for key in keys:
        f = FIELD.get(key)
        if f is None:
            continue
        help_text = f.help or None
        if f.kind == "int":
            config[key] = st.column_config.NumberColumn(f.label, help=help_text, format="%d")
        elif f.kind == "bool":
            config[key] = st.column_config.CheckboxColumn(f.label, help=help_text)
        else:
            config[key] = st.column_config.TextColumn(f.label, help=help_text)
    return config
