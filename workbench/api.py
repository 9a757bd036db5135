"""`Workbench`: the public Python API over the core, used by the pages, the CLI and notebooks.

It opens a workspace and offers the workflow as methods: load the HR file, fetch Kleer, suggest
matches, decide, plan, apply, revert, audit. It holds no logic of its own beyond wiring: every
method calls one core module (``sources``, ``store``, ``kleer``, ``matching``, ``decisions``,
``planning``, ``apply``, ``audit``, ``readmodels``). The reads live in :mod:`.api_reads`, the
HR file in and the HR changes out in :mod:`.api_hr`.

>>> wb = Workbench(":memory:", analyst="Ada")
>>> wb.counts()["hr"]
0
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
import uuid
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any, Iterator, Mapping

import pandas as pd

from . import apply as applying
from . import audit, defaults, display, downloads, matching, offline_match, planning
from . import decisions as deciding
from .api_hr import HrSide, ReloadPreview
from .api_leave import LeaveApi
from .api_links import LinksInKleer
from .api_jobs import BackgroundApplies
from .api_reads import Reads
from .api_types import FetchResult, LoadResult, Settings
from .bulk import cycle_collector_paused
from .concurrency import Limiter
from .decisions import Decision
from .errors import InputError
from .fields import join_name
from .kleer.client import KleerClient
from .kleer.config import TOKEN_HELP, KleerConfig, token_from_environment
from .kleer.mapping import Snapshot
from .kleer.probe import ProbeReport
from .kleer.probe import probe as run_probe
from .matching import Evaluation, MatchSettings
from .model import ApplyResult, Plan
from .planning import Scope
from .progress import OnProgress
from .readmodels import pair_details
from .store import Workspace

from .offline_match import MATCH_FILE_LIMITS  # noqa: E402,F401 (where it was)

__all__ = ["Workbench", "Settings", "LoadResult", "FetchResult", "ReloadPreview",
           "default_workspace_path"]


default_workspace_path = defaults.workspace_path


#: The audit events the user interfaces record themselves (sign-ins, reveals, downloads).
UI_EVENTS = ("sign_in", "reveal", "download", "audit_export")


class Workbench(HrSide, Reads, LeaveApi, BackgroundApplies, LinksInKleer):
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
        self.analyst = analyst or defaults.analyst_from_environment()
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
        stored = self.workspace.settings.all()
        return Settings(**{k: stored[k] for k in Settings.keys() if k in stored})

    def update_settings(self, **changes: Any) -> Settings:
        unknown = set(changes) - set(Settings.keys())
        if unknown:
            raise InputError(f"unknown settings: {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(Settings.keys())}")
        current = self.settings
        new = Settings(**{**asdict(current), **changes})  # validates
        if new.salary_unit != current.salary_unit and "salary_unit_confirmed" not in changes:
            # a confirmation was of the old unit: the new one needs its own
            changes = {**changes, "salary_unit_confirmed": False}
            new = Settings(**{**asdict(new), "salary_unit_confirmed": False})
        with self.workspace.atomic():
            for key in changes:
                self.workspace.settings.set(key, getattr(new, key), analyst=self.analyst)
            self.workspace.audit.append(event="settings", analyst=self.analyst, action="update",
                                        after={k: getattr(new, k) for k in changes})
        return new

    # ---------------------------------------------------------------- state

    def counts(self) -> dict[str, int]:
        return self.workspace.counts()

    def hr_employees(self) -> pd.DataFrame:
        return self.workspace.hr.frame()

    def kleer_employees(self) -> pd.DataFrame:
        return self.workspace.kleer.frame()

    def links(self) -> pd.DataFrame:
        return self.workspace.links.active()

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
                                       token=token, dialect=s.kleer_dialect or "strict")

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

    def probe(self, *, production: bool = False, token: str | None = None,
              client: KleerClient | None = None) -> ProbeReport:
        """Check what the workbench assumes of Kleer against the account in the settings, with
        one throwaway user (see :mod:`workbench.kleer.probe`; a test account, e.g.
        ``https://test-api.kleer.se/v1``: a production URL is refused unless ``production``),
        and store the detected dialect in the settings (``kleer_dialect``) so the client adapts.
        The report says per point what was assumed, observed, and the consequence."""
        with self._kleer_session(token, client) as kc:
            report = run_probe(kc, production=production)
        with self.workspace.atomic():
            self.workspace.settings.set("kleer_dialect", Settings(
                kleer_dialect=report.dialect).kleer_dialect, analyst=self.analyst)
            self.workspace.audit.append(event="settings", analyst=self.analyst, action="probe",
                                        detail=report.as_dict())
        return report

    def fetch_kleer(self, *, token: str | None = None, client: KleerClient | None = None,
                    on_progress: OnProgress | None = None) -> FetchResult:
        """Fetch every Kleer user and payroll contract and store them as the Kleer snapshot
        (replacing the previous one, in one transaction). Reports ``on_progress(done, total,
        message)`` at each of its 4 steps."""
        progress = on_progress or (lambda done, total, message: None)
        started = time.perf_counter()
        with cycle_collector_paused(), self._kleer_session(token, client) as kc:
            progress(0, 4, f"fetching users and payroll contracts from {kc.base_url} "
                           f"(company {kc.company_id})")
            # The three reads at once: against a remote Kleer each is mostly waiting.
            with ThreadPoolExecutor(max_workers=2, thread_name_prefix="fetch") as pool:
                contracts_read = pool.submit(kc.list_contracts)
                me_read = pool.submit(kc.integration_user)
                users = kc.list_users()
                progress(1, 4, f"{len(users)} users; payroll contracts")
                contracts, me = contracts_read.result(), me_read.result()
            progress(2, 4, f"{len(contracts)} payroll contracts; mapping")
            unit = self.settings.salary_unit
            snap = Snapshot.build(users, contracts, base_url=kc.base_url,
                                  company_id=kc.company_id, salary_unit=unit)
            progress(3, 4, f"storing {snap.users} Kleer employees")
            with self.workspace.atomic():
                self.workspace.kleer.replace_snapshot_columns(snap.columns, snapshot=snap.meta())
                self.workspace.settings.set("kleer_me", me, analyst=self.analyst)
                self.workspace.settings.set(planning.SNAPSHOT_SALARY_UNIT, unit,
                                            analyst=self.analyst)
                self.workspace.audit.append(event="load", analyst=self.analyst,
                                            action="fetch_kleer", detail=snap.meta())
        result = FetchResult(snapshot_id=snap.id, fetched_at=snap.fetched_at, users=snap.users,
                             active=snap.active,
                             contracts=snap.contracts, fingerprint=snap.fingerprint,
                             seconds=round(time.perf_counter() - started, 3))
        progress(4, 4, str(result))
        return result

    # ---------------------------------------------------------------- load: see api_hr.HrSide

    # ---------------------------------------------------------------- match

    def match_settings(self) -> MatchSettings:
        """The workspace's match settings (weights, bands, k), else the defaults."""
        stored = self.workspace.settings.get("match_settings")
        return MatchSettings.from_dict(stored) if stored else MatchSettings()

    def update_match_settings(self, settings: MatchSettings) -> MatchSettings:
        """Store match settings for the next :meth:`suggest` (audited)."""
        with self.workspace.atomic():
            self.workspace.settings.set("match_settings", settings.to_dict(), analyst=self.analyst)
            self.workspace.audit.append(event="settings", analyst=self.analyst,
                                        action="match_settings", after=settings.to_dict())
        return settings

    def suggest(self, settings: MatchSettings | None = None,
                on_progress: OnProgress | None = None) -> pd.DataFrame:
        """Ranked, explained HR candidates for every unlinked Kleer employee, assigned one-to-one
        (:func:`workbench.matching.suggest`), stored with their evidence and the trained model.
        ``settings`` default to :meth:`match_settings`; ``on_progress(done, total, msg)`` hears each step."""
        settings = settings or self.match_settings()
        hr, kleer = self.workspace.hr.frame(), self.workspace.kleer.matching_frame()
        if hr.empty:
            raise InputError("no HR employees in the workspace: load the HR file first "
                             "(Sources page, or `workbench load-hr FILE`)")
        if kleer.empty:
            raise InputError("no Kleer employees in the workspace: fetch Kleer first "
                             "(Sources page, or `workbench fetch-kleer`)")
        frame = matching.suggest(hr, kleer, settings, links=self.workspace.links.active(),
                                 on_progress=on_progress, labels=self.workspace.match_models.labels())
        run_id = uuid.uuid4().hex
        chosen = frame[frame["assigned"].astype(bool)]
        with self.workspace.atomic():
            self.workspace.suggestions.replace(frame, run_id=run_id)
            self.workspace.match_models.save(frame.attrs.get("model"), analyst=self.analyst, run_id=run_id)
            self.workspace.audit.append(
                event="match", analyst=self.analyst, action="suggest",
                detail={"run_id": run_id, "kleer_employees": int(frame["kleer_id"].nunique()),
                        "suggestions": len(frame), "assigned": len(chosen),
                        "assigned_by_band": chosen["band"].value_counts().to_dict(),
                        "settings": settings.to_dict()})
        return frame

    def suggestions(self, *, kleer_id: int | None = None) -> pd.DataFrame:
        """The stored suggestions of the last :meth:`suggest` (only ``kleer_id``'s when given),
        evidence included."""
        return self.workspace.suggestions.frame(kleer_id=kleer_id)

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
        if kleer_id is not None and ws.kleer.get(kleer_id) is None:
            raise InputError(f"Kleer user {kleer_id} is not in the workspace: check the id, or "
                             "fetch Kleer again")
        if hr_id is not None and ws.hr.get(hr_id) is None:
            raise InputError(f"HR employee {hr_id} is not in the workspace: check the id, or "
                             "load the HR file again")
        if kleer_id is None or hr_id is None:
            hr_id, kleer_id, state = self._partner(hr_id, kleer_id)
        else:
            link = ws.links.of(kleer_id=kleer_id)
            state = "linked" if link and link["hr_id"] == hr_id else "chosen"
        hr = None if hr_id is None else ws.hr.get(hr_id)
        kleer = None if kleer_id is None else ws.kleer.get(kleer_id)
        found = ws.suggestions.pair(kleer_id, hr_id) if hr and kleer else None
        settings = self.settings
        return display.PairView(
            hr_id=hr_id, kleer_id=kleer_id, state=state,
            details=pair_details(ws, hr_id=hr_id, kleer_id=kleer_id,
                                 email_preference=settings.email_preference),
            hr_name=join_name(hr["first_name"], hr["last_name"]) if hr else None,
            kleer_name=kleer["name"] if kleer else None,
            suggestion={k: found[k] for k in ("score", "band", "evidence")} if found else None,
            hr_label=settings.hr_label, reveal=reveal)

    def _partner(self, hr_id: str | None, kleer_id: int | None
                 ) -> tuple[str | None, int | None, str]:
        """The other side of a pair given one: linked, else decided (import), else suggested."""
        ws = self.workspace
        link = ws.links.of(hr_id=hr_id, kleer_id=kleer_id)
        if link:
            return str(link["hr_id"]), int(link["kleer_id"]), "linked"
        if kleer_id is not None:
            decided = ws.decisions.matched_hr(kleer_id)
            if decided and ws.hr.get(decided):
                return decided, kleer_id, "decided"
        assigned = ws.suggestions.assigned_to(hr_id=hr_id, kleer_id=kleer_id)
        if assigned:
            return str(assigned["hr_id"]), int(assigned["kleer_id"]), "suggested"
        return hr_id, kleer_id, "unpaired"

    #: Suggestions between an HR file and a Kleer CSV, nothing stored (:mod:`.offline_match`).
    match_files = staticmethod(offline_match.match_files)

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
        return deciding.decide(self.workspace, one if decisions is None else decisions,
                               analyst=self.analyst, world=self._screen_state())

    def decisions(self, side: str) -> pd.DataFrame:
        """Every subject of ``side`` ('import': Kleer users, 'export': HR employees) with its
        saved decision, or the proposed default (``proposed`` True)."""
        return deciding.effective_decisions(self.workspace, side)

    def plan(self, side: str, ids: list[str | int] | None = None, *,
             email_preference: str | None = None, month: str | None = None,
             salary_start: str | None = None) -> Plan:
        """The plan (a dry run) for the effective decisions of ``side`` (only ``ids`` if given);
        ``side="leave"``: the leave days of ``month`` (``YYYY-MM``), only leave ``ids`` if given
        (see :meth:`plan_leave`). ``salary_start`` (``YYYY-MM-DD``): the day the salaries it
        writes to Kleer take effect (default: the first day of next month; the plan shows it)."""
        if side == "leave":
            return self.plan_leave(month, None if ids is None else [str(i) for i in ids])
        if month is not None:
            raise InputError("a month belongs to a leave plan (side 'leave') only")
        return planning.build(self.workspace, Scope(side, None if ids is None else tuple(ids)),
                              email_preference=email_preference or self.settings.email_preference,
                              analyst=self.analyst, salary_start=salary_start)

    def apply(self, plan: Plan, *, token: str | None = None, client: KleerClient | None = None,
              on_progress: OnProgress | None = None, concurrency: int | None = None,
              **options: Any) -> ApplyResult:
        """Execute ``plan`` (journaled, idempotent, conflict-checked); safe to run again.
        In a notebook, without ``on_progress``, a progress bar is drawn in the cell's output.
        ``concurrency`` pins the Kleer requests in flight (None: :meth:`limiter`, the Settings').
        ``options`` go to :func:`workbench.apply.apply` (``wait_seconds``, ``settle_seconds``)."""
        on_progress = on_progress or display.notebook_progress(
            f"Reverting {plan.reverts}" if plan.reverts else f"Applying {plan.id}",
            len(plan.operations))
        limiter = self.limiter(concurrency)
        if not any(op.remote and not op.blocked for op in plan.operations):
            return applying.apply(plan, self.workspace, None, self.analyst, on_progress,
                                  limiter=limiter, **options)
        with self._kleer_session(token, client) as kc:
            return applying.apply(plan, self.workspace, kc, self.analyst, on_progress,
                                  limiter=limiter, **options)

    def limiter(self, concurrency: int | None = None) -> Limiter:
        """An apply's limiter: ``concurrency`` pins it, else adaptive up to the Settings'
        ``concurrency_ceiling`` (or pinned at it when ``concurrency_pinned``)."""
        s = self.settings
        return applying.limiter_for(concurrency, ceiling=s.concurrency_ceiling,
                                    pinned=s.concurrency_pinned)

    def revert_plan(self, batch_id: str) -> Plan:
        """What reverting ``batch_id`` would do (a preview; nothing is written)."""
        return planning.revert_plan(self.workspace, batch_id, analyst=self.analyst)

    def revert(self, batch_id: str, *, token: str | None = None, client: KleerClient | None = None,
               on_progress: OnProgress | None = None, concurrency: int | None = None) -> ApplyResult:
        """Undo ``batch_id`` through the same apply (a batch of its own), at the same
        concurrency rules (``concurrency`` None: adaptive)."""
        return self.apply(self.revert_plan(batch_id), token=token, client=client,
                          on_progress=on_progress, concurrency=concurrency)

    def batches(self) -> pd.DataFrame:
        """Every apply and revert, newest first."""
        return audit.batches_frame(self.workspace)

    def audit(self, *, reveal: bool = False) -> pd.DataFrame:
        """The audit log, newest first; personal numbers masked unless ``reveal``."""
        return audit.audit_frame(self.workspace, reveal=reveal)

    def export_audit(self, path: str | Path, *, reveal: bool = False) -> int:
        """Write the audit log to a .csv (formula-safe) or .json file; returns the row count.
        A ``reveal`` export is itself audited."""
        return audit.export_audit(self.workspace, path, reveal=reveal, analyst=self.analyst)

    # ---------------------------------------------------------------- workflows the pages share

    def refresh_kleer(self, *, token: str | None = None, client: KleerClient | None = None,
                      on_progress: OnProgress | None = None) -> tuple[FetchResult, int]:
        """Fetch Kleer, then suggest matches when both sides have employees (the Sources page,
        the launcher's first run and the Import page's first visit). Returns the fetch and how
        many Kleer employees got suggestions (0 when there was nothing to match)."""
        fetched = self.fetch_kleer(token=token, client=client, on_progress=on_progress)
        counts = self.counts()
        if not (counts["hr"] and counts["kleer"]):
            return fetched, 0
        frame = self.suggest()
        return fetched, int(frame["kleer_id"].nunique()) if len(frame) else 0

    def suggest_if_missing(self) -> bool:
        """Suggest matches when there are none yet and some Kleer employee is unlinked (the
        Import page's first visit); returns whether it ran."""
        counts = self.counts()
        if counts["suggestions"] == 0 and counts["kleer"] > counts["linked"] and counts["hr"]:
            self.suggest()
            return True
        return False

    def plan_export(self, hr_ids: list[str]) -> Plan:
        """Decide ``export`` for ``hr_ids`` and return the plan for them (a dry run)."""
        self.decide(pd.DataFrame([{"hr_id": h, "action": "export"} for h in hr_ids]))
        return self.plan("export", list(hr_ids))

    def plan_unlink(self, hr_ids: list[str]) -> Plan:
        """Decide ``unlink`` for ``hr_ids`` and return the plan (only links; Kleer untouched)."""
        self.decide(pd.DataFrame([{"hr_id": h, "action": "unlink"} for h in hr_ids]))
        return self.plan("export", list(hr_ids))

    def unlink(self, hr_ids: list[str], *, on_progress: OnProgress | None = None) -> ApplyResult:
        """End the links of ``hr_ids`` (decided, planned and applied; Kleer is not touched)."""
        return self.apply(self.plan_unlink(hr_ids), on_progress=on_progress)

    csv_bytes = staticmethod(downloads.to_csv_bytes)
    suggestions_table = staticmethod(matching.as_table)
    editor_decisions = staticmethod(deciding.from_editor)
    editor_hr_label = staticmethod(deciding.editor_hr_label)

    def decide_pairs(self, kleer_ids: list[int], action: str, hr_ids: list[str | None]) -> list[Decision]:
        """One import action for several Kleer users (the bulk buttons)."""
        rows = [deciding.pair_decision(k, action, h) for k, h in zip(kleer_ids, hr_ids)]
        return self.decide(pd.DataFrame(rows)) if rows else []

    def record(self, event: str, *, action: str, detail: Any = None,
               analyst: str | None = None) -> int:
        """Record what a user interface did itself (a sign-in, revealing personal numbers, a
        download) in the audit log; ``analyst`` defaults to this workbench's."""
        if event not in UI_EVENTS:
            raise InputError(f"the user interfaces record only {', '.join(UI_EVENTS)}, not {event!r}")
        return self.workspace.audit.append(event=event, analyst=analyst or self.analyst,
                                           action=action, detail=detail)
