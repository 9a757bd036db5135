"""`Workbench`: the public Python API over the core, used by the pages, the CLI and notebooks.

It opens a workspace and offers the workflow as methods: load the HR file, fetch Kleer, suggest
matches, decide, plan, apply, revert, audit. It holds no logic of its own beyond wiring: every
method calls one core module (``sources``, ``store``, ``kleer``, ``matching``, ``plan``, ``sync``).

>>> wb = Workbench(":memory:", analyst="Ada")
>>> wb.counts()["hr"]
0
"""

from __future__ import annotations

import json
import os
import time
import uuid
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields as dc_fields
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import pandas as pd

from .errors import InputError
from .fields import EMAIL_PREFERENCES, join_name
from .kleer.client import KleerClient
from .kleer.config import TOKEN_HELP, KleerConfig, token_from_environment
from .kleer.mapping import Snapshot
from . import display
from . import matching
from .matching import Evaluation, MatchSettings
from . import plan as planning
from . import sync
from .plan import Decision, Plan, Scope
from .sources import DEFAULT_MAX_BYTES, HrFile, Limits, read_hr
from .sources import Progress as LoadProgress  # progress(fraction, message) while reading a file
from .store import Workspace
from .sync import ApplyResult
from .views import pair_details

#: Offline matching of two files (``workbench match --hr --kleer``) reads the user's own export
#: on their own machine: up to a million rows (the upload limits stay as they are).
MATCH_FILE_LIMITS = Limits(max_bytes=1 << 31, max_rows=1_000_000, max_cells=50_000_000)

__all__ = ["Workbench", "Settings", "LoadResult", "FetchResult", "default_workspace_path"]


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
        kleer = KleerConfig(self.kleer_base_url, self.kleer_company_id)  # https, a whole company id
        object.__setattr__(self, "kleer_base_url", kleer.base_url)
        object.__setattr__(self, "kleer_company_id", kleer.company_id)

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
        skipped = [p.row for p in self.file.skipped]
        if skipped:
            rows = ", ".join(map(str, skipped[:10])) + (" …" if len(skipped) > 10 else "")
            text += f"; {len(skipped)} rows NOT loaded (no HR id): rows {rows}"
        return text


@dataclass(frozen=True)
class FetchResult:
    """What a fetch of Kleer did: the snapshot stored and its counts."""

    snapshot_id: str
    fetched_at: str
    users: int
    active: int
    contracts: int
    fingerprint: str
    seconds: float

    def __str__(self) -> str:
        return (f"Kleer: {self.users} users ({self.active} active), {self.contracts} payroll "
                f"contracts fetched in {self.seconds:.1f} s")


#: ``on_progress(done, total, message)``: how long operations report where they are.
Progress = Callable[[int, int, str], None]


class Workbench:
    """One reconciliation workspace and the workflow over it.

    ``workspace`` is a path to the SQLite file (created when missing), ``":memory:"``, or an open
    :class:`~workbench.store.Workspace`. ``analyst`` is who decisions and writes are recorded for.
    ``kleer_client`` (or :meth:`connect`) injects a :class:`KleerClient` (tests, notebooks); the
    caller keeps owning it. Without one, a client is built from the settings and ``KLEER_TOKEN``.
    """

    def __init__(self, workspace: str | Path | Workspace | None = None, *, analyst: str | None = None,
                 kleer_client: KleerClient | None = None):
        if isinstance(workspace, Workspace):
            self.workspace = workspace
        else:
            self.workspace = Workspace(workspace if workspace is not None else default_workspace_path())
        self.analyst = analyst or os.environ.get("WORKBENCH_ANALYST") or None
        self._kleer = kleer_client

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

    # ---------------------------------------------------------------- Kleer

    def connect(self, client: KleerClient | None) -> None:
        """Use ``client`` for every Kleer call from now on (None: back to settings + token)."""
        self._kleer = client

    def kleer_client(self, token: str | None = None) -> KleerClient:
        """A Kleer client: the injected one when no ``token`` is given, else a new one for the
        base URL and company id in the settings and ``token`` (default ``$KLEER_TOKEN``).
        Close a new one when done (it is a context manager)."""
        if token is None and self._kleer is not None:
            return self._kleer
        token = token or token_from_environment()
        if not token:
            raise InputError(f"no Kleer token: {TOKEN_HELP}")
        s = self.settings
        return KleerClient.from_config(KleerConfig(s.kleer_base_url, s.kleer_company_id),
                                       token=token)

    @contextmanager
    def _kleer_session(self, token: str | None, client: KleerClient | None
                       ) -> Iterator[KleerClient]:
        """``client``, else :meth:`kleer_client`; closed afterwards only when built here."""
        kc = client or self.kleer_client(token)
        try:
            yield kc
        finally:
            if kc is not client and kc is not self._kleer:
                kc.close()

    def test_connection(self, token: str | None = None) -> dict[str, Any]:
        """Kleer's answer to ``GET /user/me`` (the token's own user); raises a
        :class:`~workbench.errors.KleerError` saying what to fix when it fails."""
        with self._kleer_session(token, None) as kc:
            return kc.me()

    def fetch_kleer(self, *, token: str | None = None, client: KleerClient | None = None,
                    on_progress: Progress | None = None) -> FetchResult:
        """Fetch every Kleer user and payroll contract and store them as the Kleer snapshot
        (replacing the previous one, in one transaction). Reports ``on_progress(done, total,
        message)`` at each of its 4 steps."""
        progress = on_progress or (lambda done, total, message: None)
        started = time.perf_counter()
        with self._kleer_session(token, client) as kc:
            progress(0, 4, f"fetching users from {kc.base_url} (company {kc.company_id})")
            users = kc.list_users()
            progress(1, 4, f"{len(users)} users; fetching payroll contracts")
            contracts = kc.list_contracts()
            progress(2, 4, f"{len(contracts)} payroll contracts; mapping")
            snap = Snapshot.build(users, contracts, base_url=kc.base_url,
                                  company_id=kc.company_id)
        progress(3, 4, f"storing {len(snap.records)} Kleer employees")
        with self.workspace.atomic():
            self.workspace.store_kleer_snapshot(snap.records, snapshot=snap.meta())
            self.workspace.append_audit(event="load", analyst=self.analyst, action="fetch_kleer",
                                        detail=snap.meta())
        result = FetchResult(snapshot_id=snap.id, fetched_at=snap.fetched_at, users=snap.users,
                             active=sum(1 for r in snap.records if r["active"] is not False),
                             contracts=snap.contracts, fingerprint=snap.fingerprint,
                             seconds=round(time.perf_counter() - started, 3))
        progress(4, 4, str(result))
        return result

    # ---------------------------------------------------------------- load

    def read_hr(self, source: Any, *, name: str | None = None,
                mapping: Mapping[str, str | None] | None = None, sheet: str | int | None = None,
                max_bytes: int = DEFAULT_MAX_BYTES, progress: LoadProgress | None = None) -> HrFile:
        """Read and validate an HR file without touching the workspace (a preview)."""
        return read_hr(source, name=name, mapping=mapping, sheet=sheet, max_bytes=max_bytes,
                       progress=progress)

    def load_hr(self, source: Any, *, name: str | None = None,
                mapping: Mapping[str, str | None] | None = None, sheet: str | int | None = None,
                remove_missing: bool = False, max_bytes: int = DEFAULT_MAX_BYTES,
                progress: LoadProgress | None = None) -> LoadResult:
        """Load an HR export (CSV or XLSX) into the workspace in one transaction.

        Raises :class:`~workbench.errors.SourceError` (and leaves the workspace as it was) when the
        file cannot be used; row problems are reported in the result and kept with the rows.
        ``progress(fraction, message)`` hears how far reading and writing have come.
        """
        report = progress or (lambda fraction, message: None)
        hr = source if isinstance(source, HrFile) else read_hr(
            source, name=name, mapping=mapping, sheet=sheet, max_bytes=max_bytes,
            progress=lambda fraction, message: report(0.8 * fraction, message))
        report(0.8, f"writing {len(hr.records)} employees to the workspace")
        with self.workspace.atomic():
            counts = self.workspace.replace_hr_employees(hr.records, source=hr.name,
                                                         remove_missing=remove_missing)
            self.workspace.append_audit(
                event="load", analyst=self.analyst, action="load_hr",
                detail={"source": hr.name, "rows": len(hr.records), **counts,
                        "problems": len(hr.problems), "not_loaded": len(hr.skipped),
                        "detected": hr.detected})
        report(1.0, f"{len(hr.records)} employees loaded")
        return LoadResult(source=hr.name, rows=len(hr.records), problems=hr.problems_frame(),
                          file=hr, **counts)

    # ---------------------------------------------------------------- match

    def match_settings(self) -> MatchSettings:
        """The workspace's match settings (weights, bands, k), else the defaults."""
        stored = self.workspace.get_setting("match_settings")
        return MatchSettings.from_dict(stored) if stored else MatchSettings()

    def update_match_settings(self, settings: MatchSettings) -> MatchSettings:
        """Store match settings for the next :meth:`suggest` (audited)."""
        with self.workspace.atomic():
            self.workspace.set_setting("match_settings", settings.to_dict(), analyst=self.analyst)
            self.workspace.append_audit(event="settings", analyst=self.analyst,
                                        action="match_settings", after=settings.to_dict())
        return settings

    def suggest(self, settings: MatchSettings | None = None,
                on_progress: Callable[[int, int, str], None] | None = None) -> pd.DataFrame:
        """Ranked, explained HR candidates for every unlinked Kleer employee, assigned one-to-one
        (see :func:`workbench.matching.suggest`), stored with their evidence so "why?" never
        needs a re-run. ``settings`` default to :meth:`match_settings`; ``on_progress(done,
        total, message)`` hears each step."""
        settings = settings or self.match_settings()
        hr, kleer = self.workspace.hr_frame(), self.workspace.kleer_frame()
        if hr.empty:
            raise InputError("no HR employees in the workspace: load the HR file first "
                             "(Sources page, or `workbench load-hr FILE`)")
        if kleer.empty:
            raise InputError("no Kleer employees in the workspace: fetch Kleer first "
                             "(Sources page, or `workbench fetch-kleer`)")
        frame = matching.suggest(hr, kleer, settings, links=self.workspace.active_links(),
                                 on_progress=on_progress)
        run_id = uuid.uuid4().hex
        chosen = frame[frame["assigned"].astype(bool)]
        with self.workspace.atomic():
            self.workspace.replace_suggestions(frame, run_id=run_id)
            self.workspace.append_audit(
                event="match", analyst=self.analyst, action="suggest",
                detail={"run_id": run_id, "kleer_employees": int(frame["kleer_id"].nunique()),
                        "suggestions": len(frame), "assigned": len(chosen),
                        "assigned_by_band": chosen["band"].value_counts().to_dict(),
                        "settings": settings.to_dict()})
        return frame

    def suggestions(self, *, kleer_id: int | None = None) -> pd.DataFrame:
        """The stored suggestions of the last :meth:`suggest` (only ``kleer_id``'s when given),
        evidence included."""
        return self.workspace.suggestions_frame(kleer_id=kleer_id)

    def show_suggestions(self, frame: pd.DataFrame | None = None, *, limit: int = 50
                         ) -> display.SuggestionsView:
        """Suggestions as an HTML table in Jupyter (bands coloured, evidence in words): ``frame``
        (e.g. a pandas filter of what :meth:`suggest` returned), else the stored ones."""
        return display.suggestions(self.suggestions() if frame is None else frame, limit=limit)

    def pair(self, *, kleer_id: int | None = None, hr_id: str | None = None,
             reveal: bool = False) -> display.PairView:
        """An HR employee beside a Kleer user, field by field, differences marked (HTML in
        Jupyter). Give one side and the other is the linked one, else the decided one, else the
        suggested one; give both to compare any two. Personal numbers masked unless ``reveal``."""
        ws = self.workspace
        if kleer_id is None and hr_id is None:
            raise InputError("give the kleer_id or the hr_id (or both) of the pair to show")
        kleer_id = None if kleer_id is None else int(kleer_id)
        hr_id = None if hr_id is None else str(hr_id)
        if kleer_id is not None and ws.kleer_user(kleer_id) is None:
            raise InputError(f"Kleer user {kleer_id} is not in the workspace: check the id, or "
                             "fetch Kleer again")
        if hr_id is not None and ws.hr_employee(hr_id) is None:
            raise InputError(f"HR employee {hr_id} is not in the workspace: check the id, or "
                             "load the HR file again")
        if kleer_id is None or hr_id is None:
            hr_id, kleer_id, state = self._partner(hr_id, kleer_id)
        else:
            link = ws.link_of(kleer_id=kleer_id)
            state = "linked" if link and link["hr_id"] == hr_id else "chosen"
        hr = None if hr_id is None else ws.hr_employee(hr_id)
        kleer = None if kleer_id is None else ws.kleer_user(kleer_id)
        found = ws.query("SELECT score, band, evidence FROM suggestions WHERE kleer_id = ? AND "
                         "hr_id = ?", [kleer_id, hr_id]) if hr and kleer else []
        settings = self.settings
        return display.PairView(
            hr_id=hr_id, kleer_id=kleer_id, state=state,
            details=pair_details(ws, hr_id=hr_id, kleer_id=kleer_id,
                                 email_preference=settings.email_preference),
            hr_name=join_name(hr["first_name"], hr["last_name"]) if hr else None,
            kleer_name=kleer["name"] if kleer else None,
            suggestion={**found[0], "evidence": json.loads(found[0]["evidence"] or "[]")}
            if found else None,
            hr_label=settings.hr_label, reveal=reveal)

    def _partner(self, hr_id: str | None, kleer_id: int | None
                 ) -> tuple[str | None, int | None, str]:
        """The other side of a pair given one: linked, else decided (import), else suggested."""
        ws = self.workspace
        link = ws.link_of(hr_id=hr_id, kleer_id=kleer_id)
        if link:
            return str(link["hr_id"]), int(link["kleer_id"]), "linked"
        if kleer_id is not None:
            decided = ws.query("SELECT hr_id FROM decisions WHERE side = 'import' AND "
                               "subject_id = ? AND action IN ('prefer_hr', 'prefer_kleer', "
                               "'match_manually')", [str(kleer_id)])
            if decided and decided[0]["hr_id"] and ws.hr_employee(decided[0]["hr_id"]):
                return decided[0]["hr_id"], kleer_id, "decided"
        column, value = ("kleer_id", kleer_id) if kleer_id is not None else ("hr_id", hr_id)
        rows = ws.query(f"SELECT hr_id, kleer_id FROM suggestions WHERE {column} = ? "
                        "AND assigned = 1", [value])
        if rows:
            return str(rows[0]["hr_id"]), int(rows[0]["kleer_id"]), "suggested"
        return hr_id, kleer_id, "unpaired"

    @staticmethod
    def match_files(hr: Any, kleer: str | Path, settings: MatchSettings | None = None,
                    on_progress: Callable[[int, int, str], None] | None = None) -> pd.DataFrame:
        """Suggestions between an HR file (CSV/XLSX, canonical or aliased headers) and a Kleer
        CSV (``kleer_id``, ``name``, ``email``, ``active``, other canonical fields), without a
        workspace: nothing is stored."""
        hr_frame = pd.DataFrame(read_hr(hr, limits=MATCH_FILE_LIMITS).records)
        return matching.suggest(hr_frame, matching.read_kleer_table(kleer),
                                settings or MatchSettings(), on_progress=on_progress)

    def evaluate(self, truth: str | Path | pd.DataFrame,
                 suggestions: pd.DataFrame | None = None) -> Evaluation:
        """Precision, recall and F1 of the assigned pairs (the stored suggestions unless given)
        against a ground truth: a CSV or frame with ``hr_id`` and ``kleer_id``."""
        if not isinstance(truth, pd.DataFrame):
            try:
                truth = pd.read_csv(truth, dtype={"hr_id": str})
            except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as e:
                raise InputError(f"cannot read the ground truth {truth}: {e}") from None
        if suggestions is None:
            suggestions = self.suggestions()
            if suggestions.empty:
                raise InputError("no suggestions in the workspace to evaluate: run "
                                 "`workbench match` (or Workbench.suggest) first")
        return matching.evaluate(suggestions, truth)

    # ---------------------------------------------------------------- decide, plan, apply

    def decide(self, decisions: pd.DataFrame | list[Mapping[str, Any]] | None = None, /,
               **one: Any) -> list[Decision]:
        """Save decisions, all or none: one as keyword arguments
        (``wb.decide(kleer_id=17, action="prefer_hr", hr_id="E1")``) or many as a DataFrame or
        list of mappings (columns ``kleer_id``|``hr_id``, ``action``, optional ``hr_id``,
        ``prefer``, ``overrides``). Raises :class:`InputError` naming every bad row."""
        if decisions is not None and one:
            raise InputError("pass either a table of decisions or one decision as keywords, not both")
        return planning.decide(self.workspace, one if decisions is None else decisions,
                               analyst=self.analyst)

    def decisions(self, side: str) -> pd.DataFrame:
        """Every subject of ``side`` ('import': Kleer users, 'export': HR employees) with its
        saved decision, or the proposed default (``proposed`` True)."""
        return planning.effective_decisions(self.workspace, side)

    def plan(self, side: str, ids: list[str | int] | None = None, *,
             email_preference: str | None = None) -> Plan:
        """The plan (a dry run) for the effective decisions of ``side`` (only ``ids`` if given)."""
        return planning.build(self.workspace, Scope(side, None if ids is None else tuple(ids)),
                              email_preference=email_preference or self.settings.email_preference,
                              analyst=self.analyst)

    def apply(self, plan: Plan, *, token: str | None = None, client: KleerClient | None = None,
              on_progress: Callable[[int, int, Any], None] | None = None,
              concurrency: int = 4) -> ApplyResult:
        """Execute ``plan`` (journaled, idempotent, conflict-checked); safe to run again.
        In a notebook, without ``on_progress``, a progress bar is drawn in the cell's output."""
        on_progress = on_progress or display.notebook_progress(
            f"Reverting {plan.reverts}" if plan.reverts else f"Applying {plan.id}",
            len(plan.operations))
        if not any(op.remote and not op.blocked for op in plan.operations):
            return sync.apply(plan, self.workspace, None, self.analyst, on_progress, concurrency)
        with self._kleer_session(token, client) as kc:
            return sync.apply(plan, self.workspace, kc, self.analyst, on_progress, concurrency)

    def revert_plan(self, batch_id: str) -> Plan:
        """What reverting ``batch_id`` would do (a preview; nothing is written)."""
        return sync.revert_plan(self.workspace, batch_id, analyst=self.analyst)

    def revert(self, batch_id: str, *, token: str | None = None, client: KleerClient | None = None,
               on_progress: Callable[[int, int, Any], None] | None = None) -> ApplyResult:
        """Undo ``batch_id`` through the same apply (a batch of its own)."""
        return self.apply(self.revert_plan(batch_id), token=token, client=client,
                          on_progress=on_progress)

    def batches(self) -> pd.DataFrame:
        """Every apply and revert, newest first."""
        return sync.batches_frame(self.workspace)

    def audit(self, *, reveal: bool = False) -> pd.DataFrame:
        """The audit log, newest first; personal numbers masked unless ``reveal``."""
        return sync.audit_frame(self.workspace, reveal=reveal)

    def export_audit(self, path: str | Path, *, reveal: bool = False) -> int:
        """Write the audit log to a .csv (formula-safe) or .json file; returns the row count.
        A ``reveal`` export is itself audited."""
        return sync.export_audit(self.workspace, path, reveal=reveal, analyst=self.analyst)
