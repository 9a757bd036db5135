"""Text is text: values from a file, Kleer or an analyst shown on a page without markdown or HTML
interpretation, times in the analyst's time zone, blank cells blank.

Streamlit renders markdown in many places besides ``st.markdown``: alerts, captions, titles,
widget and button labels, tab and expander labels, metric labels, radio options, toasts, help
texts. Every value that did not come from this code is passed through :func:`md` before it
reaches one of them: each ASCII punctuation character is backslash-escaped (CommonMark treats an
escaped character as itself; ``.``, ``:`` and ``@`` get an invisible word joiner before them
so that no autolink forms), so ``![b](http://…)`` stays those characters instead of becoming an image request, ``**md**`` stays asterisks, ``<img …>`` stays a less-than sign and letters, and
autolinks, ``:material/…:`` icons, ``:red[…]`` colours and ``$…$`` maths never form.
Table cells (``st.dataframe``, ``st.data_editor``, selectbox options) are drawn as text already
and need no escaping.
"""

from __future__ import annotations

import math
import os
import re
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

__all__ = ["md", "plain", "blank", "local_time", "TIMEZONE_ENV", "time_zone"]

_PUNCTUATION = re.compile(r"([!-\-/;-?\[-`{-~])")  # every ASCII punctuation but . : @
#: ``.``, ``:`` and ``@`` get an invisible word joiner (U+2060) before them: GFM turns
#: ``http://…``, ``www.…`` and ``a@b.se`` into links in the text after parsing, whatever
#: escape the source had; the joiner breaks the pattern and shows nothing.
_ENTITIES = {".": "\u2060.", ":": "\u2060:", "@": "\u2060@"}
TIMEZONE_ENV = "WORKBENCH_TIMEZONE"
DEFAULT_TIMEZONE = "Europe/Stockholm"


def plain(value: Any) -> str:
    """A value as display text: None, NaN and NA are blank, whole floats lose their ``.0``."""
    if value is None:
        return ""
    try:
        if pd.isna(value):
            return ""
    except (TypeError, ValueError):
        pass
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    return str(value)


def md(value: Any) -> str:
    """``value`` as markdown that renders exactly as its characters (one line)."""
    text = _PUNCTUATION.sub(r"\\\1", " ".join(plain(value).split()))
    return "".join(_ENTITIES.get(c, c) for c in text)


def blank(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text columns show missing values as blank cells, not "None"."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object:
            out[col] = out[col].map(lambda v: "" if v is None or (isinstance(v, float) and v != v) else v)
    return out


def time_zone() -> ZoneInfo:
    """The analyst's time zone: ``WORKBENCH_TIMEZONE``, else Europe/Stockholm."""
    try:
        return ZoneInfo(os.environ.get(TIMEZONE_ENV) or DEFAULT_TIMEZONE)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(DEFAULT_TIMEZONE)


def local_time(iso: Any, *, seconds: bool = False) -> str:
    """A stored UTC timestamp as local time a person reads: ``3 Dec 2026, 14:05``."""
    text = plain(iso)
    if not text:
        return ""
    try:
        then = datetime.fromisoformat(text)
    except ValueError:
        return text
    if then.tzinfo is None:
        then = then.replace(tzinfo=timezone.utc)
    local = then.astimezone(time_zone())
    return f"{local.day} {local:%b %Y, %H:%M}" + (f":{local:%S}" if seconds else "")
