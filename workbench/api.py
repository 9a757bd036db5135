"""`Workbench`: the public Python API over the core, used by the pages, the CLI and notebooks.

It opens a workspace and offers the workflow as methods: load the HR file, fetch Kleer, suggest
matches, decide, plan, apply, revert, audit. It holds no logic of its own beyond wiring: every
method calls one core module (``sources``, ``store``, ``kleer``, ``matching``, ``plan``, ``sync``).

>>> wb = Workbench(":memory:", analyst="Ada")
>>> wb.counts()["hr"]
0
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields as dc_fields
from pathlib import Path
from typing import Any, Mapping

import pandas as pd

from .errors import InputError
from .fields import EMAIL_PREFERENCES
from .sources import HrFile, read_hr
from .store import Workspace

__all__ = ["Workbench", "Settings", "LoadResult", "default_workspace_path"]


def default_workspace_path() -> str:
    """``$WORKBENCH_WORKSPACE``, else ``data/workspace.db``."""
    return os.environ.get("WORKBENCH_WORKSPACE") or "data/workspace.db"


@dataclass(frozen=True)
class Settings:
    """Workspace settings an analyst can change (Settings page, ``workbench settings``).

    The Kleer token is deliberately not here: it comes from ``KLEER_TOKEN`` or Streamlit secrets.
    """

    kleer_base_url: str = "http://127.0.0.1:8765/v1"
    kleer_company_id: int = 1
    email_preference: str = "private"
    hr_label: str = "HR"
    mask_personal_data: bool = True

    def __post_init__(self) -> None:
        if self.email_preference not in EMAIL_PREFERENCES:
            raise InputError(f"email preference must be 'private' or 'work', not {self.email_preference!r}")
        if not str(self.hr_label).strip():
            raise InputError("the HR system label cannot be empty")
        try:
            int(self.kleer_company_id)
        except (TypeError, ValueError):
            raise InputError(f"the Kleer company id must be a whole number, not {self.kleer_company_id!r}") from None

    @classmethod
    def keys(cls) -> list[str]:
        return [f.name for f in dc_fields(cls)]


@dataclass(frozen=True)
class LoadResult:
    """What a load of an HR file did."""

    source: str
    rows: int
    added: int
    updated: int
    removed: int
    problems: pd.DataFrame = field(repr=False)
    file: HrFile = field(repr=False)

    def __str__(self) -> str:
        text = f"{self.source}: {self.rows} employees loaded ({self.added} new, {self.updated} updated"
        text += f", {self.removed} removed)" if self.removed else ")"
        if len(self.problems):
            text += f"; {len(self.problems)} problems in {self.problems['row'].nunique()} rows"
        return text


class Workbench:
    """One reconciliation workspace and the workflow over it.

    ``workspace`` is a path to the SQLite file (created when missing), ``":memory:"``, or an open
    :class:`~workbench.store.Workspace`. ``analyst`` is who decisions and writes are recorded for.
    """

    def __init__(self, workspace: str | Path | Workspace | None = None, *, analyst: str | None = None):
        if isinstance(workspace, Workspace):
            self.workspace = workspace
        else:
            self.workspace = Workspace(workspace if workspace is not None else default_workspace_path())
        self.analyst = analyst or os.environ.get("WORKBENCH_ANALYST") or None

    def __repr__(self) -> str:
        c = self.counts()
        return (f"Workbench({self.workspace.path!r}, analyst={self.analyst!r}, hr={c['hr']}, "
                f"kleer={c['kleer']}, linked={c['linked']})")

    def close(self) -> None:
        self.workspace.close()

    def __enter__(self) -> "Workbench":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---------------------------------------------------------------- settings

    @property
    def settings(self) -> Settings:
        stored = self.workspace.settings()
        return Settings(**{k: stored[k] for k in Settings.keys() if k in stored})

    def update_settings(self, **changes: Any) -> Settings:
        unknown = set(changes) - set(Settings.keys())
        if unknown:
            raise InputError(f"unknown settings: {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(Settings.keys())}")
        new = Settings(**{**asdict(self.settings), **changes})  # validates
        with self.workspace.atomic():
            for key in changes:
                self.workspace.set_setting(key, getattr(new, key), analyst=self.analyst)
            self.workspace.append_audit(event="settings", analyst=self.analyst, action="update",
                                        after={k: getattr(new, k) for k in changes})
        return new

    # ---------------------------------------------------------------- state

    def counts(self) -> dict[str, int]:
        return self.workspace.counts()

    def hr_employees(self) -> pd.DataFrame:
        return self.workspace.hr_frame()

    def kleer_employees(self) -> pd.DataFrame:
        return self.workspace.kleer_frame()

    def links(self) -> pd.DataFrame:
        return self.workspace.active_links()

    # ---------------------------------------------------------------- load

    def read_hr(self, source: Any, *, name: str | None = None,
                mapping: Mapping[str, str | None] | None = None, sheet: str | int | None = None
                ) -> HrFile:
        """Read and validate an HR file without touching the workspace (a preview)."""
        return read_hr(source, name=name, mapping=mapping, sheet=sheet)

    def load_hr(self, source: Any, *, name: str | None = None,
                mapping: Mapping[str, str | None] | None = None, sheet: str | int | None = None,
                remove_missing: bool = False) -> LoadResult:
        """Load an HR export (CSV or XLSX) into the workspace in one transaction.

        Raises :class:`~workbench.errors.SourceError` (and leaves the workspace as it was) when the
        file cannot be used; row problems are reported in the result and kept with the rows.
        """
        hr = source if isinstance(source, HrFile) else read_hr(source, name=name, mapping=mapping,
                                                              sheet=sheet)
        with self.workspace.atomic():
            counts = self.workspace.replace_hr_employees(hr.records, source=hr.name,
                                                         remove_missing=remove_missing)
            self.workspace.append_audit(
                event="load", analyst=self.analyst, action="load_hr",
                detail={"source": hr.name, "rows": len(hr.records), **counts,
                        "problems": len(hr.problems)})
        return LoadResult(source=hr.name, rows=len(hr.records), problems=hr.problems_frame(),
                          file=hr, **counts)
