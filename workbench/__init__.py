"""Kleer Workbench: reconcile the employees of an HR system with Kleer.

The public surface is :data:`__all__`; pages, the CLI and notebooks use :class:`Workbench`.
Importing the package never imports streamlit (only ``workbench.ui`` does).
"""

from .api import FetchResult, LoadResult, Settings, Workbench
from .matching import MatchSettings
from .model import ApplyResult, Operation, Plan
from .progress import Progress
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

__version__ = "0.1.0"

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
