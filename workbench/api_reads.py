"""The reads of the :class:`~workbench.api.Workbench` facade: what the pages, the CLI and
notebooks show, each one call into :mod:`workbench.readmodels` or :mod:`workbench.audit`.

A mixin so the facade stays one class (``wb.import_rows()``, ``wb.audit_view()``) while api.py
keeps the workflows; it expects ``self.workspace`` and ``self.settings``.
"""

from __future__ import annotations

from datetime import date, tzinfo
from typing import TYPE_CHECKING, Any, Iterable

import pandas as pd

from . import audit, readmodels
from .decisions import editor_hr_label
from .errors import InputError
from .fields import FIELDS, Field, suggest_mapping
from .state import WorkspaceState

if TYPE_CHECKING:
    from .store import Workspace

__all__ = ["Reads"]

#: audit events that change no part of :class:`WorkspaceState`
_NOT_STATE_EVENTS = ("decision", "sign_in", "reveal", "download", "audit_export")


class Reads:
    """Read-only views over the workspace (masked where they hold personal numbers)."""

    workspace: "Workspace"

    # ---------------------------------------------------------------- the field table

    @staticmethod
    def fields() -> tuple[Field, ...]:
        """THE field table (labels, keys) for mapping screens."""
        return tuple(FIELDS)

    @staticmethod
    def suggest_mapping(headers: Iterable[str]) -> dict[str, str | None]:
        """The canonical field each file header most likely means (None: ignore it)."""
        return suggest_mapping(list(headers))

    # ---------------------------------------------------------------- the match model

    def match_model(self) -> dict[str, Any] | None:
        """The match model the last :meth:`suggest` trained, or None before the first: when and
        by whom, on how many candidate and labelled pairs, iterations, convergence, the prior,
        ``description`` (one line) and ``levels`` (one row per comparison level: m, u, weight
        in bits). See :mod:`workbench.store.match_models`."""
        from .matching import FSModel  # the matching engine loads only when asked
        row = self.workspace.match_models.latest()
        if row is None:
            return None
        data = row.pop("model")
        try:
            row["description"] = FSModel.from_dict(data).describe()
        except (InputError, KeyError, TypeError, ValueError) as e:  # another version's model
            row["description"] = f"stored model not readable by this version ({e})"
        row["u_pairs"] = int(data.get("u_pairs", 0))
        row["levels"] = pd.DataFrame(data.get("summary", []))
        return row

    # ---------------------------------------------------------------- the snapshot

    def last_snapshot(self) -> dict[str, Any] | None:
        """The last Kleer fetch (id, when, counts, fingerprint), or None before the first."""
        return self.workspace.kleer.last_snapshot()

    # ---------------------------------------------------------------- Import / Export

    def version(self) -> int:
        """A number that changes whenever the workspace does (every change appends an audit
        row): what a screen keys its caches by."""
        return self.workspace.audit.last_id()

    def state_version(self) -> int:
        """A number that changes whenever the HR register, the Kleer snapshot, the links or the
        suggestions may have (every such change appends an audit row that is not a decision,
        sign-in, reveal or download): what caches of those, not of decisions, are keyed by."""
        return self.workspace.audit.last_id_except(_NOT_STATE_EVENTS)

    def _screen_state(self) -> WorkspaceState:
        """The workspace state read again only when :meth:`state_version` moved (evidence decoded
        per pair on demand): the screens' fast path, also what their decisions are checked
        against (a decision does not change it)."""
        mark = self.state_version()
        cached = getattr(self, "_world_cache", None)
        if cached is None or cached[0] != mark:
            cached = self._world_cache = (mark, WorkspaceState.load(self.workspace, evidence=False))
        return cached[1]

    def hr_editor_labels(self) -> dict[str, str]:
        """Every HR employee's label for the Import table's HR column (``"Anna Svensson · E1"``),
        from the screen's kept state (no second read of the register)."""
        return {h: editor_hr_label(f"{r.get('first_name') or ''} {r.get('last_name') or ''}".strip(), h)
                for h, r in self._screen_state().hr.items()}

    def import_rows(self, *, only: Iterable[int] | None = None, details: Iterable[int] | None = None,
                    reuse: bool = False) -> pd.DataFrame:
        """One row per Kleer employee for the Import screen (see :func:`readmodels.import_rows`;
        ``only`` and ``details`` narrow what is computed). ``reuse``: read the HR register,
        snapshot, links and suggestions again only when something other than a decision (or a
        sign-in, reveal or download) changed since the last call: the screen's fast path."""
        world = self._screen_state() if reuse else None
        return readmodels.import_rows(self.workspace, email_preference=self.settings.email_preference,
                                      world=world, only=only, details=details)

    def export_rows(self) -> pd.DataFrame:
        """One row per HR employee for the Export screen (see :func:`readmodels.export_rows`)."""
        return readmodels.export_rows(self.workspace, email_preference=self.settings.email_preference)

    def pair_details(self, *, hr_id: str | None, kleer_id: int | None) -> pd.DataFrame:
        """Every Kleer field of a pair, HR value beside Kleer value (the detail view)."""
        return readmodels.pair_details(self.workspace, hr_id=hr_id, kleer_id=kleer_id,
                                       email_preference=self.settings.email_preference)

    filter_rows = staticmethod(readmodels.filter_rows)

    def integration_user(self) -> int | None:
        """The Kleer id of the token's own user (``GET /user/me`` at the last fetch), if known."""
        return self.workspace.settings.get("kleer_me")

    def batch_choices(self) -> pd.DataFrame:
        """Every batch described for choosing one: side, when, who, counts, first names."""
        return readmodels.batch_choices(self.workspace)

    # ---------------------------------------------------------------- Overview

    def outstanding(self) -> pd.DataFrame:
        """The employees the latest apply left in conflict or blocked."""
        return readmodels.outstanding(self.workspace)

    def state_counts(self) -> readmodels.StateCounts:
        return readmodels.state_counts(self.workspace)

    def link_scores(self) -> pd.DataFrame:
        return readmodels.link_scores(self.workspace)

    weakest_links = staticmethod(readmodels.weakest_links)

    def next_step(self, counts: readmodels.StateCounts | None = None) -> readmodels.NextStep:
        return readmodels.next_step(counts or self.state_counts(), hr_label=self.settings.hr_label)

    # ---------------------------------------------------------------- Audit

    def audit_view(self, *, reveal: bool = False) -> pd.DataFrame:
        """The audit log, newest first, with the employee's name (masked unless ``reveal``)."""
        return audit.audit_view(audit.audit_frame(self.workspace, reveal=reveal), self.workspace)

    @staticmethod
    def filter_audit(log: pd.DataFrame, *, text: str = "", actions: Iterable[str] = (),
                     analysts: Iterable[str] = (), start: date | None = None,
                     end: date | None = None, results: Iterable[str] = (),
                     tz: tzinfo | None = None) -> pd.DataFrame:
        return audit.filter_audit(log, text=text, actions=actions, analysts=analysts, start=start,
                                  end=end, results=results, tz=tz)

    what_happened = staticmethod(audit.what_happened)

    audit_changes = staticmethod(audit.audit_changes)
    audit_download = staticmethod(audit.audit_download)

    def evidence_at(self, entry_id: int) -> audit.Evidence:
        return audit.evidence_at(self.workspace, entry_id)
