"""The workspace file: the connection, :meth:`Workspace.atomic`, the numbered migrations and the
guard against a workspace written by a newer workbench. The tables are read and written through
one repository each (``ws.hr``, ``ws.kleer``, ``ws.links``, ``ws.suggestions``, ``ws.decisions``,
``ws.journal``, ``ws.batches``, ``ws.audit``, ``ws.settings``, ``ws.hr_loads``,
``ws.hr_mappings``, ``ws.match_models``); see :mod:`workbench.store`.
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

import pandas as pd
import sqlite_utils

from ..errors import WorkspaceError
from .audit import AuditLog
from .batches import Batches
from .decisions import Decisions
from .hr import HrRegister, field_columns
from .hr_loads import HrLoads, HrMappings
from .journal import Journal, SubjectClaims
from .kleer import KleerSnapshot
from .leaves import Leaves
from .leaves import create_table as _leaves_table
from .links import Links
from .match_models import MatchModels
from .match_models import create_table as _match_models_table
from .settings import SettingsTable
from .suggestions import Suggestions

__all__ = ["Workspace", "MIGRATIONS"]


# --------------------------------------------------------------------------- migrations

def _m001_initial(db: sqlite_utils.Database) -> None:
    db["meta"].create({"key": str, "value": str}, pk="key", if_not_exists=True)
    db["settings"].create({"key": str, "value": str, "updated_at": str, "updated_by": str},
                          pk="key")
    db["hr_employees"].create(
        {"hr_id": str, **field_columns(), "problems": str, "source": str, "source_row": int,
         "created_by_batch": str, "loaded_at": str, "updated_at": str},
        pk="hr_id")
    db["snapshots"].create(
        {"id": str, "fetched_at": str, "users": int, "contracts": int, "fingerprint": str,
         "base_url": str, "company_id": int}, pk="id")
    db["kleer_users"].create(
        {"kleer_id": int, "name": str, "email": str, **field_columns(), "hr_id": str,
         "has_contract": int, "raw": str, "fingerprint": str, "fetched_at": str,
         "snapshot_id": str},
        pk="kleer_id")
    db["links"].create(
        {"id": int, "hr_id": str, "kleer_id": int, "active": int, "method": str, "score": float,
         "created_at": str, "created_by": str, "batch_id": str, "ended_at": str,
         "ended_by": str, "ended_batch_id": str},
        pk="id")
    db.executescript("""
        CREATE UNIQUE INDEX links_active_hr ON links(hr_id) WHERE active = 1;
        CREATE UNIQUE INDEX links_active_kleer ON links(kleer_id) WHERE active = 1;
    """)
    db["suggestions"].create(
        {"kleer_id": int, "hr_id": str, "rank": int, "score": float, "band": str,
         "assigned": int, "tie": int, "contested": int, "namesake": int, "evidence": str,
         "run_id": str, "created_at": str},
        pk=("kleer_id", "hr_id"))
    db["suggestions"].create_index(["hr_id"])
    db["decisions"].create(
        {"side": str, "subject_id": str, "action": str, "hr_id": str, "kleer_id": int,
         "overrides": str, "score": float, "evidence": str, "analyst": str, "decided_at": str},
        pk=("side", "subject_id"))
    db["batches"].create(
        {"id": str, "plan_id": str, "kind": str, "analyst": str, "started_at": str,
         "finished_at": str, "status": str, "counts": str, "reverts": str, "plan": str},
        pk="id")
    db["journal"].create(
        {"id": int, "plan_id": str, "op_id": str, "batch_id": str, "seq": int, "kind": str,
         "hr_id": str, "kleer_id": int, "target": str, "status": str, "before": str,
         "after": str, "answer": str, "error": str, "started_at": str, "finished_at": str,
         "duration_ms": float, "attempts": int},
        pk="id")
    db.executescript("""
        CREATE UNIQUE INDEX journal_plan_op ON journal(plan_id, op_id);
        CREATE INDEX journal_batch ON journal(batch_id);
    """)
    db["audit"].create(
        {"id": int, "at": str, "analyst": str, "event": str, "action": str, "hr_id": str,
         "kleer_id": int, "batch_id": str, "plan_id": str, "score": float, "evidence": str,
         "before": str, "after": str, "result": str, "detail": str},
        pk="id")
    db.executescript("""
        CREATE INDEX audit_at ON audit(at);
        CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
        CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
            BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    """)


def _m002_sync(db: sqlite_utils.Database) -> None:
    """Columns the sync module needs: which side a match decision prefers, and the claim (lease)
    a running apply holds on a journal row so a second apply leaves it alone while the first
    lives and takes it over when the first died."""
    db["decisions"].add_column("prefer", str)
    db["journal"].add_column("action", str)
    db["journal"].add_column("owner", str)
    db["journal"].add_column("owner_host", str)
    db["journal"].add_column("owner_pid", int)
    db["journal"].add_column("lease_until", float)
    db["journal"].create_index(["plan_id", "status"], index_name="journal_plan_status")


def _m003_journal_once(db: sqlite_utils.Database) -> None:
    """An operation's audit row points at its journal row instead of repeating the write's
    before/after (stored once, in the journal)."""
    db["audit"].add_column("journal_id", int)


def _m004_foreign_id(db: sqlite_utils.Database) -> None:
    """``kleer_users.hr_id`` held Kleer's ``foreign-id`` (what the user carries), not a link:
    call it that."""
    db.execute("ALTER TABLE kleer_users RENAME COLUMN hr_id TO foreign_id")


def _m005_subject_claims(db: sqlite_utils.Database) -> None:
    """One live claim per employee across every plan: ``subject_claims`` holds, per subject
    (``hr:<hr_id>``, ``kleer:<user id>``, ``ssn:<12 digits>``), the journal row that an apply
    is running on it; the journal records when a create was sent (``write_started``, so a rerun
    waits out a slow write before it looks) and the personnummer it creates (``ssn_key``)."""
    db["subject_claims"].create(
        {"subject": str, "plan_id": str, "op_id": str, "batch_id": str, "owner": str,
         "owner_host": str, "owner_pid": int, "lease_until": float, "claimed_at": str},
        pk="subject")
    db["subject_claims"].create_index(["owner"], index_name="subject_claims_owner")
    db["journal"].add_column("write_started", float)
    db["journal"].add_column("ssn_key", str)
    db["journal"].create_index(["hr_id", "kind"], index_name="journal_hr_kind")
    db["journal"].create_index(["ssn_key"], index_name="journal_ssn_key")


def _m006_hr_loads(db: sqlite_utils.Database) -> None:
    """What the workbench remembers of the HR files it loads: each load with the file's shape
    (to hand HR changes back in it), and the analyst's column mapping per header signature."""
    db["hr_loads"].create(
        {"id": int, "at": str, "analyst": str, "source": str, "signature": str, "mapping": str,
         "shape": str, "rows": int, "counts": str}, pk="id")
    db["hr_mappings"].create(
        {"signature": str, "mapping": str, "source": str, "updated_at": str, "updated_by": str},
        pk="signature")


def _m007_leaves(db: sqlite_utils.Database) -> None:
    """The HR system's absences (leave export): one row per leave id (:mod:`.leaves`)."""
    _leaves_table(db)


def _m008_match_models(db: sqlite_utils.Database) -> None:
    """The trained match model per training run, with its summary (:mod:`.match_models`)."""
    _match_models_table(db)


def _m009_batch_heartbeat(db: sqlite_utils.Database) -> None:
    """A running batch's heartbeat (``heartbeat_until``, epoch seconds), renewed by its apply
    from the batch's opening to its closing: a batch whose heartbeat ran out is interrupted. The
    journal rows' leases alone left a gap (the read-back after the last operation settled holds
    no pending row), in which another process saw a live apply as interrupted."""
    db["batches"].add_column("heartbeat_until", float)


#: Numbered schema migrations. Append, never edit a released one.
MIGRATIONS: list[tuple[int, str, Callable[[sqlite_utils.Database], None]]] = [
    (1, "initial schema", _m001_initial),
    (2, "sync: decision preference, journal claims", _m002_sync),
    (3, "audit rows of operations refer to the journal", _m003_journal_once),
    (4, "kleer_users.hr_id is Kleer's foreign-id: foreign_id", _m004_foreign_id),
    (5, "one claim per employee across plans; when a create was sent", _m005_subject_claims),
    (6, "hr_loads (the HR file's shape per load) and hr_mappings (remembered per header)",
     _m006_hr_loads),
    (7, "leaves: the HR system's absences", _m007_leaves),
    (8, "match_models: the trained Fellegi–Sunter parameters per run", _m008_match_models),
    (9, "batches: the running apply's heartbeat", _m009_batch_heartbeat),
]


# --------------------------------------------------------------------------- the workspace

class Workspace:
    """A reconciliation workspace on one SQLite file (or in memory for tests).

    Safe to share between threads: every statement runs under one lock. Use :meth:`atomic` for
    writes that must land together.
    """

    def __init__(self, path: str | Path = ":memory:"):
        self.path = str(path)
        if self.path != ":memory:":
            parent = Path(self.path).expanduser().resolve().parent
            if not parent.exists():
                raise WorkspaceError(f"cannot open workspace {self.path}: folder {parent} does not exist")
        try:
            conn = sqlite3.connect(self.path, check_same_thread=False, timeout=30,
                                   isolation_level=None)
            conn.execute("PRAGMA foreign_keys = ON")
            conn.execute("PRAGMA busy_timeout = 30000")
            if self.path != ":memory:":
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as e:
            raise WorkspaceError(f"cannot open workspace {self.path}: {e}. "
                                 "Is it a workbench workspace (an SQLite file)?") from e
        self.conn = conn
        self.db = sqlite_utils.Database(conn)
        self._lock = threading.RLock()
        self._depth = 0
        self._migrate()
        self._repositories()

    @classmethod
    def memory(cls) -> "Workspace":
        return cls(":memory:")

    def __repr__(self) -> str:
        return f"Workspace({self.path!r})"

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> "Workspace":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---------------------------------------------------------------- transactions

    @contextmanager
    def atomic(self, *, immediate: bool = True) -> Iterator[sqlite_utils.Database]:
        """All writes inside land together or not at all. Nested calls join the outer one."""
        with self._lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self.db
                finally:
                    self._depth -= 1
                return
            self.conn.execute("BEGIN IMMEDIATE" if immediate else "BEGIN")
            self._depth = 1
            try:
                yield self.db
            except BaseException:
                self.conn.execute("ROLLBACK")
                raise
            else:
                self.conn.execute("COMMIT")
            finally:
                self._depth = 0

    def query(self, sql: str, params: Iterable[Any] | Mapping[str, Any] = ()) -> list[dict]:
        with self._lock:
            return list(self.db.query(sql, params))

    def frame(self, sql: str, params: Iterable[Any] | Mapping[str, Any] = ()) -> pd.DataFrame:
        with self._lock:
            cur = self.conn.execute(sql, params)
            cols = [d[0] for d in cur.description]
            return pd.DataFrame.from_records(cur.fetchall(), columns=cols)

    # ---------------------------------------------------------------- schema

    @property
    def schema_version(self) -> int:
        rows = self.query("SELECT value FROM meta WHERE key = 'schema_version'")
        return int(rows[0]["value"]) if rows else 0

    def _migrate(self) -> None:
        with self._lock:
            if "meta" not in self.db.table_names():
                self.db["meta"].create({"key": str, "value": str}, pk="key")
            current = self.schema_version
            latest = MIGRATIONS[-1][0]
            if current > latest:
                raise WorkspaceError(
                    f"workspace {self.path} was written by a newer workbench (schema {current}, "
                    f"this one knows {latest}); upgrade the workbench")
            for number, _, migrate in MIGRATIONS:
                if number <= current:
                    continue
                with self.atomic():
                    migrate(self.db)
                    self.db["meta"].upsert({"key": "schema_version", "value": str(number)}, pk="key")

    # ---------------------------------------------------------------- repositories

    def _repositories(self) -> None:
        self.hr = HrRegister(self)
        self.kleer = KleerSnapshot(self)
        self.links = Links(self)
        self.suggestions = Suggestions(self)
        self.decisions = Decisions(self)
        self.journal = Journal(self)
        self.subjects = SubjectClaims(self)
        self.batches = Batches(self)
        self.audit = AuditLog(self)
        self.settings = SettingsTable(self)
        self.hr_loads = HrLoads(self)
        self.hr_mappings = HrMappings(self)
        self.leaves = Leaves(self)
        self.match_models = MatchModels(self)

    def version(self) -> tuple[int, int]:
        """Changes whenever anything in the file changed: another connection's commits
        (``PRAGMA data_version``) or this connection's own writes. Equal twice means nothing
        changed in between (a preview still holds)."""
        with self._lock:
            return (int(self.conn.execute("PRAGMA data_version").fetchone()[0]),
                    self.conn.total_changes)

    def counts(self) -> dict[str, int]:
        """How many rows the main tables hold (the CLI's ``status`` and ``Workbench.counts``)."""
        return {"hr": self.hr.count(), "kleer": self.kleer.count(), "linked": self.links.count(),
                "suggestions": self.suggestions.count_subjects(),
                "decisions": self.decisions.count(), "audit": self.audit.count()}

    def count(self, table: str, where: str = "") -> int:
        """Rows of ``table`` (a repository's helper; ``where`` is SQL from that repository)."""
        return int(self.query(f"SELECT count(*) AS n FROM {table} {where}")[0]["n"])

    # ---------------------------------------------------------------- kept for older callers

    def audit_frame(self) -> pd.DataFrame:
        """Same as ``ws.audit.frame()`` (kept while tests/test_sources.py, owned elsewhere, uses it)."""
        return self.audit.frame()

    def hr_employee(self, hr_id: str) -> dict[str, Any] | None:
        """Same as ``ws.hr.get(hr_id)`` (kept while tests/test_sources.py, owned elsewhere, uses it)."""
        return self.hr.get(hr_id)

    def add_link(self, hr_id: str, kleer_id: int, **kw: Any) -> int:
        """Same as ``ws.links.add(...)`` (kept while tests/test_matching_cli.py, owned elsewhere, uses it)."""
        return self.links.add(hr_id, kleer_id, **kw)

    def append_audit(self, **entry: Any) -> int:
        """Same as ``ws.audit.append(...)``: the one seam every audit write passes (see there)."""
        return self.audit.insert(**entry)
