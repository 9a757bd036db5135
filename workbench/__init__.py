"""Kleer Workbench: reconcile the employees of an HR system with Kleer.

The public surface is :data:`__all__`; pages, the CLI and notebooks use :class:`Workbench`.
Importing the package never imports streamlit (only ``workbench.ui`` does).
"""

from .api import LoadResult, Settings, Workbench
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
