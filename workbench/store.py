"""The workspace: one SQLite file (through sqlite-utils) holding everything a reconciliation needs.

Tables
  hr_employees   the HR register: one row per ``hr_id``, canonical field columns (from the field
                 table), the row's ``problems`` (JSON), where it came from
  kleer_users    the last Kleer snapshot: canonical columns, ``name``/``email`` as Kleer has them,
                 the raw JSON, a per-record ``fingerprint`` and ``fetched_at``
  snapshots      one row per fetch (when, how many, a fingerprint of the whole snapshot)
  links          (hr_id, kleer_id); each side unique among ACTIVE links (partial unique indexes)
  suggestions    ranked match candidates with their evidence (JSON), as the matcher left them
  decisions      the analyst's current decision per subject (side + id), with who and when
  batches        one row per apply or revert
  journal        one row per operation of an applied plan: pending → done|failed|conflict|skipped
  audit          append-only (triggers refuse UPDATE and DELETE): every decision and every write
  settings       key → JSON value (never the Kleer token)

Schema changes are numbered migrations (:data:`MIGRATIONS`), applied in order on open and
recorded in ``meta.schema_version``. Writes that belong together go through :meth:`Workspace.atomic`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Mapping

import pandas as pd
import sqlite_utils

from .errors import InputError, WorkspaceError
from .fields import FIELDS

__all__ = ["Workspace", "MIGRATIONS", "utcnow", "to_json"]


def utcnow() -> str:
    """Now, as ISO-8601 UTC text with seconds (what every timestamp in the workspace uses)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _default(o: Any) -> Any:
    if hasattr(o, "item"):  # numpy scalars
        return o.item()
    if hasattr(o, "isoformat"):
        return o.isoformat()
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    raise TypeError(f"cannot store {type(o).__name__} as JSON")


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=_default)


def _py(value: Any) -> Any:
    """numpy/pandas scalars and NA to plain Python for sqlite3."""
    if value is None or type(value) is str or type(value) is int:  # the common case, fast
        return value
    if isinstance(value, (dict, list)):
        return to_json(value)
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):
        return value.item()
    return value


# --------------------------------------------------------------------------- migrations

def _field_columns() -> dict[str, type]:
    return {f.key: f.sqlite_type for f in FIELDS if f.key != "hr_id"}


def _m001_initial(db: sqlite_utils.Database) -> None:
    db["meta"].create({"key": str, "value": str}, pk="key", if_not_exists=True)
    db["settings"].create({"key": str, "value": str, "updated_at": str, "updated_by": str},
                          pk="key")
    db["hr_employees"].create(
        {"hr_id": str, **_field_columns(), "problems": str, "source": str, "source_row": int,
         "created_by_batch": str, "loaded_at": str, "updated_at": str},
        pk="hr_id")
    db["snapshots"].create(
        {"id": str, "fetched_at": str, "users": int, "contracts": int, "fingerprint": str,
         "base_url": str, "company_id": int}, pk="id")
    db["kleer_users"].create(
        {"kleer_id": int, "name": str, "email": str, **_field_columns(), "hr_id": str,
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


#: Numbered schema migrations. Append, never edit a released one.
MIGRATIONS: list[tuple[int, str, Callable[[sqlite_utils.Database], None]]] = [
    (1, "initial schema", _m001_initial),
    (2, "sync: decision preference, journal claims", _m002_sync),
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

    # ---------------------------------------------------------------- settings

    def get_setting(self, key: str, default: Any = None) -> Any:
        rows = self.query("SELECT value FROM settings WHERE key = ?", [key])
        return json.loads(rows[0]["value"]) if rows else default

    def settings(self) -> dict[str, Any]:
        return {r["key"]: json.loads(r["value"]) for r in self.query("SELECT key, value FROM settings")}

    def set_setting(self, key: str, value: Any, *, analyst: str | None = None) -> None:
        if "token" in key.lower():
            raise InputError("the Kleer token is never stored in the workspace; "
                             "set KLEER_TOKEN or .streamlit/secrets.toml instead")
        with self.atomic():
            self.db["settings"].upsert({"key": key, "value": to_json(value), "updated_at": utcnow(),
                                        "updated_by": analyst}, pk="key")

    # ---------------------------------------------------------------- HR register

    def replace_hr_employees(self, records: list[Mapping[str, Any]], *, source: str,
                             remove_missing: bool = False) -> dict[str, int]:
        """Upsert HR employees (one atomic write). With ``remove_missing`` employees absent from
        ``records`` are removed unless linked (a linked employee is never dropped silently)."""
        now = utcnow()
        rows = []
        for r in records:
            row = {k: _py(v) for k, v in r.items()}
            row.setdefault("source", source)
            row["loaded_at"] = now
            row["updated_at"] = now
            rows.append(row)
        with self.atomic():
            existing = {r["hr_id"] for r in self.query("SELECT hr_id FROM hr_employees")}
            incoming = {r["hr_id"] for r in rows}
            self._upsert_hr_rows(rows)
            removed = 0
            if remove_missing:
                linked = {r["hr_id"] for r in self.query("SELECT hr_id FROM links WHERE active = 1")}
                gone = sorted(existing - incoming - linked)
                for chunk in _chunks(gone, 500):
                    self.conn.execute(
                        f"DELETE FROM hr_employees WHERE hr_id IN ({','.join('?' * len(chunk))})", chunk)
                removed = len(gone)
        return {"added": len(incoming - existing), "updated": len(incoming & existing),
                "removed": removed}

    def _upsert_hr_rows(self, rows: list[dict[str, Any]]) -> None:
        """Insert or update HR rows, changing only the columns a row names: one ``executemany``
        per shape of row (a 50,000-row load takes a third of a generic upsert's time)."""
        known = set(self.db["hr_employees"].columns_dict)
        shapes: dict[tuple[str, ...], list[list[Any]]] = {}
        for row in rows:
            shapes.setdefault(tuple(row), []).append(list(row.values()))
        for columns, values in shapes.items():
            unknown = set(columns) - known
            if unknown:
                raise InputError(f"cannot store HR employees: unknown columns {sorted(unknown)}")
            names = ", ".join(f'"{c}"' for c in columns)
            updates = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c != "hr_id")
            self.conn.executemany(
                f"INSERT INTO hr_employees ({names}) VALUES ({', '.join('?' * len(columns))}) "
                f"ON CONFLICT (hr_id) DO {'UPDATE SET ' + updates if updates else 'NOTHING'}",
                values)

    def update_hr_employee(self, hr_id: str, values: Mapping[str, Any]) -> None:
        """Change some fields of one HR employee (the sync module's HR-side writes)."""
        unknown = set(values) - set(_field_columns())
        if unknown:
            raise InputError(f"cannot update HR employee {hr_id}: unknown fields {sorted(unknown)}")
        with self.atomic():
            self.db["hr_employees"].update(str(hr_id), {**{k: _py(v) for k, v in values.items()},
                                                        "updated_at": utcnow()})

    def delete_hr_employee(self, hr_id: str) -> None:
        """Remove one HR employee (reverting a batch that created it)."""
        with self.atomic():
            self.conn.execute("DELETE FROM hr_employees WHERE hr_id = ?", [str(hr_id)])

    def hr_frame(self) -> pd.DataFrame:
        return self.frame("SELECT * FROM hr_employees ORDER BY hr_id")

    def hr_employee(self, hr_id: str) -> dict[str, Any] | None:
        rows = self.query("SELECT * FROM hr_employees WHERE hr_id = ?", [hr_id])
        return rows[0] if rows else None

    # ---------------------------------------------------------------- Kleer snapshot

    def store_kleer_snapshot(self, records: list[Mapping[str, Any]], *, snapshot: Mapping[str, Any]
                             ) -> None:
        """Replace the Kleer snapshot with ``records`` (canonical rows with kleer_id, raw,
        fingerprint) in one transaction; ``snapshot`` describes the fetch."""
        rows = [{k: _py(v) for k, v in r.items()} for r in records]
        for row in rows:
            row["snapshot_id"] = snapshot["id"]
            row["fetched_at"] = snapshot["fetched_at"]
        with self.atomic():
            self.conn.execute("DELETE FROM kleer_users")
            if rows:
                self.db["kleer_users"].insert_all(rows, pk="kleer_id", alter=False, batch_size=1000)
            self.db["snapshots"].upsert(dict(snapshot), pk="id")

    def upsert_kleer_user(self, record: Mapping[str, Any]) -> None:
        """Refresh one Kleer user in the snapshot (after a write the workbench made itself)."""
        with self.atomic():
            self.db["kleer_users"].upsert({k: _py(v) for k, v in record.items()}, pk="kleer_id",
                                          alter=False)

    def kleer_frame(self) -> pd.DataFrame:
        return self.frame("SELECT * FROM kleer_users ORDER BY kleer_id")

    def kleer_user(self, kleer_id: int) -> dict[str, Any] | None:
        rows = self.query("SELECT * FROM kleer_users WHERE kleer_id = ?", [int(kleer_id)])
        return rows[0] if rows else None

    def last_snapshot(self) -> dict[str, Any] | None:
        rows = self.query("SELECT * FROM snapshots ORDER BY fetched_at DESC, rowid DESC LIMIT 1")
        return rows[0] if rows else None

    # ---------------------------------------------------------------- links

    def add_link(self, hr_id: str, kleer_id: int, *, analyst: str | None, method: str,
                 score: float | None = None, batch_id: str | None = None) -> int:
        """Link an HR employee to a Kleer user. Refused (sqlite3.IntegrityError) when either side
        is already in an active link."""
        with self.atomic():
            return self.db["links"].insert(
                {"hr_id": str(hr_id), "kleer_id": int(kleer_id), "active": 1, "method": method,
                 "score": _py(score), "created_at": utcnow(), "created_by": analyst,
                 "batch_id": batch_id}).last_pk

    def end_link(self, *, hr_id: str | None = None, kleer_id: int | None = None,
                 analyst: str | None, batch_id: str | None = None) -> dict[str, Any] | None:
        """End the active link of ``hr_id`` or ``kleer_id``; returns it (or None if there was none)."""
        col, val = ("hr_id", str(hr_id)) if hr_id is not None else ("kleer_id", int(kleer_id))
        with self.atomic():
            rows = self.query(f"SELECT * FROM links WHERE active = 1 AND {col} = ?", [val])
            if not rows:
                return None
            self.conn.execute(
                "UPDATE links SET active = 0, ended_at = ?, ended_by = ?, ended_batch_id = ? WHERE id = ?",
                [utcnow(), analyst, batch_id, rows[0]["id"]])
            return rows[0]

    def active_links(self) -> pd.DataFrame:
        return self.frame("SELECT * FROM links WHERE active = 1 ORDER BY id")

    def link_of(self, *, hr_id: str | None = None, kleer_id: int | None = None) -> dict | None:
        col, val = ("hr_id", str(hr_id)) if hr_id is not None else ("kleer_id", int(kleer_id))
        rows = self.query(f"SELECT * FROM links WHERE active = 1 AND {col} = ?", [val])
        return rows[0] if rows else None

    # ---------------------------------------------------------------- suggestions

    def replace_suggestions(self, frame: pd.DataFrame, *, run_id: str) -> None:
        now = utcnow()
        rows = []
        for rec in frame.to_dict("records"):
            row = {k: _py(v) for k, v in rec.items() if k in _SUGGESTION_COLUMNS}
            row["run_id"], row["created_at"] = run_id, now
            rows.append(row)
        with self.atomic():
            self.conn.execute("DELETE FROM suggestions")
            if rows:
                self.db["suggestions"].insert_all(rows, pk=("kleer_id", "hr_id"), alter=False,
                                                  batch_size=1000)

    def suggestions_frame(self, *, kleer_id: int | None = None) -> pd.DataFrame:
        if kleer_id is None:
            df = self.frame("SELECT * FROM suggestions ORDER BY kleer_id, rank")
        else:
            df = self.frame("SELECT * FROM suggestions WHERE kleer_id = ? ORDER BY rank", [int(kleer_id)])
        if len(df):
            df["evidence"] = df["evidence"].map(lambda s: json.loads(s) if s else [])
        return df

    # ---------------------------------------------------------------- decisions

    def set_decision(self, *, side: str, subject_id: str | int, action: str, analyst: str | None,
                     hr_id: str | None = None, kleer_id: int | None = None,
                     overrides: Mapping[str, str] | None = None, score: float | None = None,
                     evidence: Any = None, prefer: str | None = None) -> dict[str, Any]:
        row = {"side": side, "subject_id": str(subject_id), "action": action,
               "hr_id": None if hr_id is None else str(hr_id),
               "kleer_id": None if kleer_id is None else int(kleer_id), "prefer": prefer,
               "overrides": to_json(dict(overrides or {})), "score": _py(score),
               "evidence": None if evidence is None else to_json(evidence),
               "analyst": analyst, "decided_at": utcnow()}
        with self.atomic():
            self.db["decisions"].upsert(row, pk=("side", "subject_id"))
        return row

    def clear_decision(self, *, side: str, subject_id: str | int) -> None:
        with self.atomic():
            self.conn.execute("DELETE FROM decisions WHERE side = ? AND subject_id = ?",
                              [side, str(subject_id)])

    def decisions_frame(self, side: str | None = None) -> pd.DataFrame:
        if side:
            df = self.frame("SELECT * FROM decisions WHERE side = ? ORDER BY subject_id", [side])
        else:
            df = self.frame("SELECT * FROM decisions ORDER BY side, subject_id")
        if len(df):
            df["overrides"] = df["overrides"].map(lambda s: json.loads(s) if s else {})
        return df

    # ---------------------------------------------------------------- audit

    def append_audit(self, *, event: str, analyst: str | None, action: str | None = None,
                     hr_id: str | None = None, kleer_id: int | None = None,
                     batch_id: str | None = None, plan_id: str | None = None,
                     score: float | None = None, evidence: Any = None, before: Any = None,
                     after: Any = None, result: str | None = None, detail: Any = None) -> int:
        row = {"at": utcnow(), "analyst": analyst, "event": event, "action": action,
               "hr_id": None if hr_id is None else str(hr_id),
               "kleer_id": None if kleer_id is None else int(kleer_id),
               "batch_id": batch_id, "plan_id": plan_id, "score": _py(score),
               "evidence": None if evidence is None else to_json(evidence),
               "before": None if before is None else to_json(before),
               "after": None if after is None else to_json(after),
               "result": result,
               "detail": None if detail is None else (detail if isinstance(detail, str) else to_json(detail))}
        with self.atomic():
            return self.db["audit"].insert(row).last_pk

    def audit_frame(self) -> pd.DataFrame:
        return self.frame("SELECT * FROM audit ORDER BY id DESC")

    # ---------------------------------------------------------------- counts

    def counts(self) -> dict[str, int]:
        one = lambda sql: self.query(sql)[0]["n"]  # noqa: E731
        return {
            "hr": one("SELECT count(*) AS n FROM hr_employees"),
            "kleer": one("SELECT count(*) AS n FROM kleer_users"),
            "linked": one("SELECT count(*) AS n FROM links WHERE active = 1"),
            "suggestions": one("SELECT count(DISTINCT kleer_id) AS n FROM suggestions"),
            "decisions": one("SELECT count(*) AS n FROM decisions"),
            "audit": one("SELECT count(*) AS n FROM audit"),
        }


_SUGGESTION_COLUMNS = {"kleer_id", "hr_id", "rank", "score", "band", "assigned", "tie",
                       "contested", "namesake", "evidence"}


def _chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
