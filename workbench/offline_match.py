"""Matching two files without a workspace (``workbench match --hr FILE --kleer FILE``).

:func:`match_files` reads an HR file and a Kleer CSV and suggests matches; nothing is stored.
:func:`suggestions_csv` writes suggestions as the spreadsheet-safe CSV the CLI writes. This module
imports only what matching needs (pandas, the HR reader, :mod:`workbench.matching`), not the
whole API (Kleer client, workspace store, apply), so the command starts fast;
:meth:`workbench.Workbench.match_files` is this function.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from . import matching
from .bulk import keep_freed_memory
from .downloads import to_csv_bytes
from .matching.settings import MatchSettings
from .progress import OnProgress
from .sources import Limits, read_hr

__all__ = ["MATCH_FILE_LIMITS", "match_files", "suggestions_csv", "keep_freed_memory"]

#: Offline matching of two files (``workbench match --hr --kleer``) reads the user's own export
#: on their own machine: up to a million rows (the upload limits stay as they are).
MATCH_FILE_LIMITS = Limits(max_bytes=1 << 31, max_rows=1_000_000, max_cells=50_000_000)


def match_files(hr: Any, kleer: str | Path, settings: MatchSettings | None = None,
                on_progress: OnProgress | None = None, *, explain: str = "evidence"
                ) -> pd.DataFrame:
    """Suggestions between an HR file (CSV/XLSX, canonical or aliased headers) and a Kleer
    CSV (``kleer_id``, ``name``, ``email``, ``active``, other canonical fields), without a
    workspace: nothing is stored. ``explain="text"``: the one-line explanation per suggestion
    (column ``why``) instead of the evidence dicts (:func:`workbench.matching.suggest`)."""
    hr_frame = read_hr(hr, limits=MATCH_FILE_LIMITS).frame()  # column-wise, no dict per row
    return matching.suggest(hr_frame, matching.read_kleer_table(kleer),
                            settings or MatchSettings(), on_progress=on_progress, explain=explain)


def suggestions_csv(suggestions: pd.DataFrame, *, assigned_only: bool = False) -> bytes:
    """Suggestions (evidence dicts or ``why`` text) as :func:`workbench.matching.as_table` in a
    spreadsheet-safe CSV (:func:`workbench.downloads.to_csv_bytes`)."""
    return to_csv_bytes(matching.as_table(suggestions, assigned_only=assigned_only))
