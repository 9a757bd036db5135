"""Kleer Workbench: reconcile the employees of an HR system with Kleer.

The public surface is :data:`__all__`; pages, the CLI and notebooks use :class:`Workbench`.
Importing the package never imports streamlit (only ``workbench.ui`` does), and imports little
else: each public name is imported when first used (PEP 562), so a command that needs only
matching (``workbench match --hr --kleer``) does not start up the whole API.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from .errors import (
    InputError,
    KleerAuthError,
    KleerError,
    KleerRejected,
    KleerUnavailable,
    PlanError,
    SourceError,
    WorkbenchError,
    WorkspaceError,
)

if TYPE_CHECKING:  # what the names below are, for type checkers and readers
    from .api import Workbench
    from .api_types import FetchResult, LoadResult, Settings
    from .matching.settings import MatchSettings
    from .model import ApplyResult, Operation, Plan
    from .offline_match import keep_freed_memory, match_files, suggestions_csv
    from .progress import Progress

__version__ = "0.1.0"

#: Where each lazily imported public name lives; ``match_files``, ``suggestions_csv`` and
#: ``keep_freed_memory`` (:mod:`workbench.offline_match`) are there for the CLI's ``match``
#: (not in :data:`__all__`: ``Workbench.match_files`` is the same function).
_LAZY = {
    "Workbench": ".api", "Settings": ".api_types", "LoadResult": ".api_types",
    "FetchResult": ".api_types",
    "Plan": ".model", "Operation": ".model", "ApplyResult": ".model",
    "MatchSettings": ".matching.settings", "Progress": ".progress",
    "match_files": ".offline_match", "suggestions_csv": ".offline_match",
    "keep_freed_memory": ".offline_match",
}

__all__ = [
    "Workbench",
    "Settings",
    "LoadResult",
    "FetchResult",
    "Plan",
    "Operation",
    "ApplyResult",
    "MatchSettings",
    "Progress",
    "WorkbenchError",
    "InputError",
    "SourceError",
    "WorkspaceError",
    "PlanError",
    "KleerError",
    "KleerUnavailable",
    "KleerRejected",
    "KleerAuthError",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'workbench' has no attribute {name!r}")
    value = getattr(import_module(module, __name__), name)
    globals()[name] = value  # once: later lookups are plain attribute reads
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
