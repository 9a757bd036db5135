"""A faithful local Kleer API: HTTP on 127.0.0.1, state in SQLite, seedable, with faults.

The demo and every test talk to this instead of Kleer; the client cannot tell the difference.
It serves the endpoints of ``KLEER_API.md`` under ``/v1/company/{company-id}``:

=======  ===============================  ==============================================
GET      /user                            ``{"users": [user, ...]}`` (inactive included)
GET      /user/{id}                       user, or 404
GET      /user/me                         the token's own user
GET      /user/foreign-id/{foreign-id}    user (the lowest id when several), or 404
PUT      /user                            create → the dialect's created answer
POST     /user/{id}                       update (whole user when strict) → its saved answer
GET      /payroll/user                    ``{"payroll-user-readables": [contract, ...]}``
GET      /payroll/user/{user-id}          contract, or 404 when the user has none
POST     /payroll/user/{user-id}          partial update, creates when missing → saved answer
=======  ===============================  ==============================================

Answers and rules, as Kleer has them (:func:`apply_user_write`, :func:`apply_contract_write`;
every schema fact comes from the one sourced table :data:`workbench.kleer.schema.FACTS`):

- ``X-Token`` must be the token (else 401); the company id must be this company (else 403);
  ids are ASCII digits within SQLite's range (``/user/١`` or ``/company/²`` is 404, never a
  crash); unknown paths 404; other methods (there is no DELETE) 405. Bodies above
  ``MAX_BODY_BYTES`` are 413, JSON nested deeper than ``MAX_JSON_DEPTH`` 400. Any unexpected
  error is ``500 {"message": ...}``, logged once, never a traceback.
- **Dialects** (:class:`~workbench.kleer.schema.Dialect`; ``dialect=`` of :func:`make_app`,
  :func:`serve`, :class:`RunningSimulator`, ``--dialect``, ``POST /_admin/dialect``): where
  Kleer is undocumented it speaks one variant of each: a create answered ``{"id": n}`` /
  ``{"created": {"id": n}}`` / XML ``<created>``; an update answered ``{"id": n}`` / empty /
  ``{"saved": {"id": n}}`` / ``{"ok": true}``; "no payroll contract" as 404 or another status.
  ``strict`` dialects enforce the XSD: required fields on every write (a create: name, email,
  active; an update: the whole user), nulls ignored, every readable field present on reads
  (``""``/``0``), ssn/country code/email validated, JSON chosen by ``Content-Type`` (XML
  otherwise); a violation is ``500 Tekniskt fel`` (``<error><message>`` in XML). ``lenient``
  (:data:`DEFAULT_DIALECT` is ``strict``) is the older simulator: partial updates merged, ``null``
  clears, ``active`` defaults true, only a name required (400), JSON chosen by ``Accept``.
- Writes change only the fields sent. A list that is sent replaces the stored list.
  ``employment-end-date`` takes the wrapper: ``{"employment-end-date": "2025-06-30"}`` sets it,
  ``{}`` clears it, absent leaves it; contracts are read back with a plain date.
- Creating a contract requires ``ssn`` and ``employment-start-date``.
- A value of the wrong type (a malformed date, text where a number belongs) is answered
  ``500 {"message": "Tekniskt fel"}`` and nothing is stored, as Kleer does.
- A write body must be ``Content-Type: application/json`` (415) and valid JSON (400).

Faults (:class:`Faults`; flags of ``workbench kleer-sim``, or ``POST /_admin/faults`` at run
time), applied before the token check, in this order: ``latency_ms`` before every answer;
``rate_limit`` with ``rate_burst`` (a token bucket per company: ``rate_burst`` requests at once,
default ``rate_limit``, refilled at ``rate_limit`` per second; when empty ``429`` with
``Retry-After``); ``fail_next`` (the next N requests answer ``fail_status``); ``error_rate``
(that share answers 500 or 503); ``write_then_fail`` (that share of successful writes is
stored, then answered 500 or, with ``write_fail_mode="drop"``, the connection is dropped
mid-answer). Injected 500s say "Internal Server Error", not "Tekniskt fel" (which the client
reads as a deterministic rejection). Random choices come from ``random.Random(seed)``: the
same faults and requests give the same answers.

Admin endpoints (JSON, need the token too, never faulted): ``GET /_admin/state`` (counts and
the write counters; ``max_in_flight``: the most API requests it answered at once), ``GET|POST
/_admin/faults``, ``GET|POST /_admin/dialect``, ``POST
/_admin/reset`` (optional body ``{"seed": {...}, "dialect": ...}``; else the seed the simulator
started with; a seed with duplicate ids is refused, 400), ``GET /_admin/dump`` (every user and
contract as stored).

The leave endpoints (:mod:`.leave_sim`: activities, time-report events, day statuses, schedules,
payroll events) are served from the same state, with the same faults; a seed's ``"leave"`` key
seeds them, a reset clears them, ``GET|POST /_admin/leave`` lists every event with the write
counts and sets schedules and locked days (:meth:`RunningSimulator.leave`).

The token reaches ``workbench kleer-sim`` through ``$KLEER_TOKEN`` or ``--token-file`` (mode
0600), never the command line.

Seed (e.g. ``data/demo/kleer_seed.json``): ``{"company": {"id": 1, "name": ...}, "me": <user
id>, "users": [user, ...], "payroll-user-readables": [contract, ...]}``. A database that already
holds state is not re-seeded (state survives a restart) unless ``reset=True`` (``--reset``).

Run it with ``workbench kleer-sim`` (:func:`serve`), or in-process with
:class:`RunningSimulator` (what the ``kleer_sim`` test fixture and the benchmark use).
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import logging
import math
import random
import re
import signal
import socket
import sqlite3
import threading
import time
from dataclasses import asdict, dataclass, fields, replace
from datetime import date
from pathlib import Path
from typing import Any, AsyncIterator, Callable, Mapping
from xml.sax.saxutils import escape

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import InputError
from ..normalize import make_personnummer
from .client import KleerClient, Retry
from .config import is_loopback
from .leave_sim import LeaveRefused, LeaveStore
from .schema import (
    DEFAULT_DIALECT,
    MAX_BODY_BYTES,
    MAX_ID,
    MAX_JSON_DEPTH,
    TECHNICAL_ERROR,
    Dialect,
    fact,
    valid_country,
    valid_email,
    valid_ssn,
)

__all__ = [
    "Faults",
    "Refused",
    "SimState",
    "make_app",
    "serve",
    "RunningSimulator",
    "apply_user_write",
    "apply_contract_write",
    "load_seed",
    "sample_seed",
    "TECHNICAL_ERROR",
    "Dialect",
    "DEFAULT_DIALECT",
]

log = logging.getLogger("workbench.kleer.simulator")
#: What an injected server failure says (not "Tekniskt fel", which is Kleer's deterministic
#: answer to an invalid write: the client must be able to tell them apart).
SERVER_ERROR = "Internal Server Error"
API_PREFIX = "/v1/company/"
_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


# --------------------------------------------------------------------------- faults

@dataclass(frozen=True)
class Faults:
    """Fault switches; all off by default. See the module docstring for what each does."""

    latency_ms: float = 0.0
    error_rate: float = 0.0
    rate_limit: int = 0
    rate_burst: int = 0
    write_then_fail: float = 0.0
    write_fail_mode: str = "500"
    fail_next: int = 0
    fail_status: int = 503
    seed: int = 0

    def __post_init__(self) -> None:
        if min(self.latency_ms, self.rate_limit, self.rate_burst, self.fail_next) < 0:
            raise ValueError("latency_ms, rate_limit, rate_burst and fail_next cannot be negative")
        for name in ("error_rate", "write_then_fail"):
            if not 0 <= getattr(self, name) <= 1:
                raise ValueError(f"{name} is a share between 0 and 1, not {getattr(self, name)}")
        if self.write_fail_mode not in ("500", "drop"):
            raise ValueError(f"write_fail_mode is '500' or 'drop', not {self.write_fail_mode!r}")
        if not 400 <= self.fail_status <= 599:
            raise ValueError(f"fail_status must be an HTTP error status, not {self.fail_status}")

    @classmethod
    def parse(cls, base: "Faults", changes: Mapping[str, Any]) -> "Faults":
        """``base`` with ``changes`` (from JSON or keyword arguments), each coerced to the type
        of its default."""
        casts = {f.name: type(f.default) for f in fields(cls)}
        unknown = set(changes) - set(casts)
        if unknown:
            raise ValueError(f"unknown faults: {', '.join(sorted(unknown))}; known: {', '.join(casts)}")
        try:
            return replace(base, **{k: casts[k](v) for k, v in changes.items()})
        except (TypeError, ValueError) as e:
            raise ValueError(f"bad fault setting: {e}") from None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Refused(Exception):
    """An error answer: ``status``, Kleer's ``message`` and any extra headers."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


# --------------------------------------------------------------------------- write rules

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_USER_TYPES: dict[str, str] = fact("user.types")
_CONTRACT_TYPES: dict[str, str] = fact("contract.types")
END_DATE = fact("contract.end_date_wrapper")
CONTRACT_REQUIRED = fact("contract.required_on_create")


def _valid(kind: str, value: Any) -> bool:
    if kind == "text":
        return isinstance(value, str)
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool) and abs(value) <= MAX_ID
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool) \
            and math.isfinite(value)
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "date":
        return isinstance(value, str) and _is_date(value)
    if kind == "ref":
        return isinstance(value, dict) and _valid("int", value.get("id"))
    return True


def _is_date(value: str) -> bool:
    if not _ISO_DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _rejected(strict: bool, lenient_status: int, message: str) -> Refused:
    """A refused write: Kleer's ``500 Tekniskt fel`` when strict (``answer.validation``), else
    the simulator's older, more talkative answer."""
    return Refused(500, TECHNICAL_ERROR) if strict else Refused(lenient_status, message)


def _apply(doc: dict[str, Any], changes: Mapping[str, Any], types: Mapping[str, str], *,
           strict: bool) -> None:
    """Set each field sent (a list replaces the stored list). ``null``: ignored when strict
    (``contract.nulls_ignored``), else it removes the field (the older, assumed rule)."""
    for key, value in changes.items():
        if value is None:
            if not strict:
                doc.pop(key, None)
        elif key in types and not _valid(types[key], value):
            raise Refused(500, TECHNICAL_ERROR)
        else:
            doc[key] = value


def _check_object(changes: Any) -> None:
    if not isinstance(changes, Mapping):
        raise Refused(400, "the body must be a JSON object")


def apply_user_write(existing: Mapping[str, Any] | None, changes: Mapping[str, Any], *,
                     user_id: int, dialect: Dialect | str | None = None) -> dict[str, Any]:
    """The user after a create (``existing`` None) or an update. Pure.

    Strict (``user.required``): a create must carry name, email and active, an update the whole
    user (id, name, email, active) unless the dialect merges partial updates; the email must look
    like one (``user.email_syntax``). Lenient: only a name is needed, ``active`` defaults true."""
    d = Dialect.parse(dialect)
    _check_object(changes)
    if d.strict:
        required = fact("user.required_on_create") if existing is None else (
            fact("user.required") if d.user_update == "full" else ())
        if any(changes.get(k) is None for k in required):
            raise Refused(500, TECHNICAL_ERROR)
        if existing is not None and changes.get("id") is not None and changes["id"] != user_id:
            raise Refused(500, TECHNICAL_ERROR)
        if changes.get("email") is not None and not valid_email(changes["email"]):
            raise Refused(500, TECHNICAL_ERROR)
    doc = dict(existing) if existing is not None else {"id": user_id, "active": True}
    _apply(doc, {k: v for k, v in changes.items() if k != "id"}, _USER_TYPES, strict=d.strict)
    if not str(doc.get("name") or "").strip():
        raise _rejected(d.strict, 400, "a user needs a name")
    return doc


def apply_contract_write(existing: Mapping[str, Any] | None, changes: Mapping[str, Any], *,
                         user_id: int, dialect: Dialect | str | None = None
                         ) -> dict[str, Any]:
    """The payroll contract after a write (``existing`` None: a create). Pure.

    Strict: ssn (``contract.ssn``) and country code (``contract.country_code``) are validated,
    nulls are ignored; a create without ssn and employment-start-date is ``500 Tekniskt fel``
    (``contract.required_on_create``)."""
    d = Dialect.parse(dialect)
    _check_object(changes)
    doc = dict(existing) if existing is not None else {}
    changes = {k: v for k, v in changes.items() if k != "user"}
    wrapper = changes.pop(END_DATE, None)
    if d.strict:
        if changes.get("ssn") is not None and not valid_ssn(changes["ssn"]):
            raise Refused(500, TECHNICAL_ERROR)
        if changes.get("country-code") not in (None, "") and \
                not valid_country(changes["country-code"]):
            raise Refused(500, TECHNICAL_ERROR)
    _apply(doc, changes, _CONTRACT_TYPES, strict=d.strict)
    if wrapper is not None:
        if not isinstance(wrapper, dict):
            raise Refused(500, TECHNICAL_ERROR)
        end = wrapper.get(END_DATE)
        if end is None:
            doc.pop(END_DATE, None)
        elif _valid("date", end):
            doc[END_DATE] = end
        else:
            raise Refused(500, TECHNICAL_ERROR)
    missing = [k for k in CONTRACT_REQUIRED if not doc.get(k)]
    if existing is None and missing:
        raise _rejected(d.strict, 400, "a payroll contract needs ssn and employment-start-date; "
                        "missing: " + ", ".join(missing))
    return {"user": {"id": user_id}, **{k: v for k, v in doc.items() if k != "user"}}


def readable_contract(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A stored contract as a strict Kleer reads it back: every readable field present, empty
    ones as ``""`` / ``0`` / ``false`` (``contract.readable_defaults``)."""
    return _filled(doc, fact("contract.readable_defaults"))


def readable_user(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A stored user as a strict Kleer reads it back: id, name, email, active always present."""
    return _filled(doc, {"name": "", "email": "", "active": False})


def _filled(doc: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    """``doc`` in its own order, then each default it lacks (or holds as null)."""
    out = {k: v for k, v in doc.items() if v is not None or k not in defaults}
    out.update({k: v for k, v in defaults.items() if out.get(k) is None})
    return out


# --------------------------------------------------------------------------- state

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, foreign_id TEXT, doc TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS users_foreign_id ON users(foreign_id);
CREATE TABLE IF NOT EXISTS contracts (user_id INTEGER PRIMARY KEY, doc TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL);
"""
_INTEGRATION_USER = {"id": 0, "name": "Kleer API integration", "active": True}


def _dumps(doc: Any) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def _foreign_id(user: Mapping[str, Any]) -> str | None:
    value = user.get("foreign-id")
    return value if isinstance(value, str) else None


def load_seed(seed: Mapping[str, Any] | str | Path | None) -> dict[str, Any] | None:
    """A seed as a dict (read from a JSON file when a path is given), checked."""
    if seed is None:
        return None
    name = "the seed"
    if isinstance(seed, (str, Path)):
        name = str(seed)
        try:
            seed = json.loads(Path(seed).read_text(encoding="utf-8"))
        except OSError as e:
            raise InputError(f"cannot read the Kleer seed {name}: {e.strerror}") from None
        except ValueError as e:
            raise InputError(f"the Kleer seed {name} is not valid JSON: {e}") from None
    if not isinstance(seed, Mapping) or not isinstance(seed.get("users", []), list):
        raise InputError(f"{name} must be an object with a 'users' list")
    if not isinstance(seed.get("payroll-user-readables", []), list):
        raise InputError(f"{name}: 'payroll-user-readables' must be a list")
    ids: set[int] = set()
    for i, user in enumerate(seed.get("users", [])):
        if not isinstance(user, Mapping) or not _valid("int", user.get("id")) or user["id"] < 0:
            raise InputError(f"{name}: users[{i}] has no whole-number id")
        if user["id"] in ids:
            raise InputError(f"{name}: users[{i}] repeats the id {user['id']}; ids are unique")
        ids.add(user["id"])
    with_contract: set[int] = set()
    for i, contract in enumerate(seed.get("payroll-user-readables", [])):
        ref = contract.get("user") if isinstance(contract, Mapping) else None
        if not _valid("ref", ref) or ref["id"] not in ids:
            raise InputError(f"{name}: payroll-user-readables[{i}] does not refer to a seeded user")
        if ref["id"] in with_contract:
            raise InputError(f"{name}: payroll-user-readables[{i}] is a second contract of user "
                             f"{ref['id']}; a user has one")
        with_contract.add(ref["id"])
    me = seed.get("me")
    if me is not None and not _valid("int", me):
        raise InputError(f"{name}: 'me' must be a user id")
    return dict(seed)


class SimState:
    """The simulator's company in one SQLite file. Use from one thread (the server's loop)."""

    def __init__(self, db_path: str | Path, *, seed: Mapping[str, Any] | None = None,
                 reset: bool = False, dialect: Dialect | str | None = None):
        self.path = str(db_path)
        self.dialect = Dialect.parse(dialect)
        self.conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode = WAL")
        self.conn.execute("PRAGMA synchronous = NORMAL")
        self.conn.executescript(_SCHEMA)
        self.leave = LeaveStore(self.conn)  # the leave endpoints' tables (workbench/kleer/leave_sim.py)
        #: list key → stored doc text → its strict read-back JSON (see :meth:`_readable`)
        self._filled: dict[str, dict[str, str]] = {}
        if reset or self._meta("seeded_at") is None:
            self.load(seed)

    def close(self) -> None:
        self.conn.close()

    def _meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchone()
        return row[0] if row else None

    def load(self, seed: Mapping[str, Any] | None) -> None:
        """Replace the whole state with ``seed`` (None: an empty company)."""
        seed = seed or {}
        users = seed.get("users", [])
        with self.conn:
            self.conn.execute("BEGIN")
            for table in ("meta", "users", "contracts", "counters"):
                self.conn.execute(f"DELETE FROM {table}")
            self.conn.executemany(
                "INSERT INTO users (id, foreign_id, doc) VALUES (?, ?, ?)",
                [(u["id"], _foreign_id(u), _dumps(u)) for u in users])
            self.conn.executemany(
                "INSERT INTO contracts (user_id, doc) VALUES (?, ?)",
                [(c["user"]["id"], _dumps(c)) for c in seed.get("payroll-user-readables", [])])
            me = seed.get("me", users[0]["id"] if users else None)
            company = seed.get("company") or {}
            self.conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", [
                ("seeded_at", time.strftime("%Y-%m-%dT%H:%M:%S")),
                ("me", None if me is None else str(me)),
                ("company_name", str(company.get("name") or ""))])
        self.leave.load(seed.get("leave"))  # events, statuses, schedules: reset with the company
        if self.dialect.strict:  # fill the read-back rows now, not in the first list's time
            self.users_json()
            self.contracts_json()

    # ---------------------------------------------------------------- reads

    def _list_json(self, key: str, sql: str, fill: Callable[[Any], Any] | None = None) -> str:
        docs = [row[0] for row in self.conn.execute(sql)]
        if fill is not None and self.dialect.strict:
            docs = self._readable(key, docs, fill)
        return f'{{"{key}":[{",".join(docs)}]}}'

    def _readable(self, key: str, docs: list[str], fill: Callable[[Any], Any]) -> list[str]:
        """Each stored doc as a strict read answers it, filled once per distinct stored text:
        the filled JSON is remembered by the stored text itself, so a write (or a change made
        to the file from outside) is seen at once, and only the rows that changed are filled
        again. The answer is the same as filling every row on every list; only faster (a
        10,000-contract list in a few milliseconds instead of ~0.15 s of loads/fill/dumps).
        Only the rows of this list are kept (no growth with writes)."""
        known = self._filled.get(key, {})
        fresh = {doc: known.get(doc) or _dumps(fill(json.loads(doc))) for doc in docs}
        self._filled[key] = fresh
        return [fresh[doc] for doc in docs]

    def users_json(self, *, as_read: bool = True) -> str:
        return self._list_json("users", "SELECT doc FROM users ORDER BY id",
                               readable_user if as_read else None)

    def contracts_json(self, *, as_read: bool = True) -> str:
        return self._list_json("payroll-user-readables",
                               "SELECT doc FROM contracts ORDER BY user_id",
                               readable_contract if as_read else None)

    def _doc(self, sql: str, params: list[Any]) -> dict[str, Any] | None:
        row = self.conn.execute(sql, params).fetchone()
        return json.loads(row[0]) if row else None

    def user(self, user_id: int) -> dict[str, Any] | None:
        return self._doc("SELECT doc FROM users WHERE id = ?", [user_id])

    def read_user(self, user_id: int) -> dict[str, Any] | None:
        """The user as an API read shows it (filled when strict)."""
        doc = self.user(user_id)
        return readable_user(doc) if doc is not None and self.dialect.strict else doc

    def read_contract(self, user_id: int) -> dict[str, Any] | None:
        doc = self.contract(user_id)
        return readable_contract(doc) if doc is not None and self.dialect.strict else doc

    def user_by_foreign_id(self, foreign_id: str) -> dict[str, Any] | None:
        doc = self._doc("SELECT doc FROM users WHERE foreign_id = ? ORDER BY id LIMIT 1",
                        [foreign_id])
        return readable_user(doc) if doc is not None and self.dialect.strict else doc

    def me(self) -> dict[str, Any]:
        me = self._meta("me")
        return (self.read_user(int(me)) if me else None) or dict(_INTEGRATION_USER)

    def contract(self, user_id: int) -> dict[str, Any] | None:
        return self._doc("SELECT doc FROM contracts WHERE user_id = ?", [user_id])

    def counts(self) -> dict[str, Any]:
        one = lambda sql: self.conn.execute(sql).fetchone()[0]  # noqa: E731
        return {"users": one("SELECT count(*) FROM users"),
                "active_users": one("SELECT count(*) FROM users "
                                    "WHERE json_extract(doc, '$.active') IS NOT 0"),
                "contracts": one("SELECT count(*) FROM contracts"),
                "writes": dict(self.conn.execute("SELECT name, n FROM counters ORDER BY name")),
                "company_name": self._meta("company_name")}

    def dump(self) -> dict[str, Any]:
        return {"users": json.loads(self.users_json(as_read=False))["users"],
                "payroll-user-readables": json.loads(
                    self.contracts_json(as_read=False))["payroll-user-readables"]}

    # ---------------------------------------------------------------- writes

    def _count(self, name: str) -> None:
        self.conn.execute("INSERT INTO counters (name, n) VALUES (?, 1) "
                          "ON CONFLICT(name) DO UPDATE SET n = n + 1", [name])

    def create_user(self, changes: Mapping[str, Any]) -> int:
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            new_id = self.conn.execute("SELECT coalesce(max(id), 0) + 1 FROM users").fetchone()[0]
            doc = apply_user_write(None, changes, user_id=new_id, dialect=self.dialect)
            self.conn.execute("INSERT INTO users (id, foreign_id, doc) VALUES (?, ?, ?)",
                              [new_id, _foreign_id(doc), _dumps(doc)])
            self._count("create_user")
        return new_id

    def update_user(self, user_id: int, changes: Mapping[str, Any]) -> None:
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            existing = self.user(user_id)
            if existing is None:
                raise Refused(404, f"User {user_id} not found")
            doc = apply_user_write(existing, changes, user_id=user_id, dialect=self.dialect)
            self.conn.execute("UPDATE users SET foreign_id = ?, doc = ? WHERE id = ?",
                              [_foreign_id(doc), _dumps(doc), user_id])
            self._count("update_user")

    def upsert_contract(self, user_id: int, changes: Mapping[str, Any]) -> None:
        with self.conn:
            self.conn.execute("BEGIN IMMEDIATE")
            if self.user(user_id) is None:
                raise Refused(404, f"User {user_id} not found")
            existing = self.contract(user_id)
            doc = apply_contract_write(existing, changes, user_id=user_id, dialect=self.dialect)
            self.conn.execute("INSERT OR REPLACE INTO contracts (user_id, doc) VALUES (?, ?)",
                              [user_id, _dumps(doc)])
            self._count("upsert_contract")
            if existing is None:
                self._count("create_contract")


# --------------------------------------------------------------------------- answers

def _xml(tag: str, value: Any) -> str:
    if isinstance(value, dict):
        inner = "".join(_xml(k, v) for k, v in value.items())
    elif isinstance(value, list):
        child = tag[:-1] if tag.endswith("s") else "item"
        inner = "".join(_xml(child, v) for v in value)
    elif value is None:
        return f"<{tag}/>"
    elif isinstance(value, bool):
        inner = "true" if value else "false"
    else:
        inner = escape(str(value))
    return f"<{tag}>{inner}</{tag}>"


def _wants_json(request: Request, dialect: Dialect) -> bool:
    """JSON or XML: by ``Content-Type`` as live Kleer chooses (``answer.json_by``), or by
    ``Accept`` in the lenient dialect; XML otherwise (``answer.default_format``)."""
    header = "content-type" if dialect.negotiate == "content-type" else "accept"
    return "application/json" in request.headers.get(header, "").lower()


def _answer(request: Request, status: int, payload: Any = None, *, root: str = "error",
            text: str | None = None, headers: Mapping[str, str] | None = None,
            dialect: Dialect | None = None, xml: bool | None = None) -> Response:
    """JSON when the client asked for it (see :func:`_wants_json`), else XML under the element
    ``root`` (a list answer ``{root: [...]}`` becomes ``<root><item/>...</root>``)."""
    if xml is None:
        xml = not _wants_json(request, dialect or Dialect.parse(DEFAULT_DIALECT))
    if not xml:
        body = text if text is not None else _dumps(payload)
        return Response(body, status, headers=headers, media_type="application/json")
    data = json.loads(text) if text is not None else payload
    if isinstance(data, dict) and list(data) == [root]:
        data = data[root]
    return Response('<?xml version="1.0" encoding="UTF-8"?>\n' + _xml(root, data), status,
                    headers=headers, media_type="application/xml")


class _DroppedConnection(Response):
    """Starts a 200 answer, sends part of it and stops: the server closes the connection."""

    def __init__(self) -> None:
        super().__init__(b"", 200)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", b"64")]})
        await send({"type": "http.response.body", "body": b'{"id":', "more_body": True})


_ID = r"[0-9]+"  # ASCII digits only: re's \d would accept "١" and "²"
#: path (after ``/v1/company/{id}/``) → method → (handler, XML root of its answer)
_ROUTES: list[tuple[re.Pattern[str], dict[str, tuple[str, str]]]] = [
    (re.compile(r"user"), {"GET": ("list_users", "users"), "PUT": ("create_user", "created")}),
    (re.compile(r"user/me"), {"GET": ("me", "user")}),
    (re.compile(r"user/foreign-id/(?P<fid>.+)"), {"GET": ("by_foreign_id", "user")}),
    (re.compile(rf"user/(?P<id>{_ID})"),
     {"GET": ("get_user", "user"), "POST": ("update_user", "saved")}),
    (re.compile(r"payroll/user"), {"GET": ("list_contracts", "payroll-user-readables")}),
    (re.compile(rf"payroll/user/(?P<id>{_ID})"),
     {"GET": ("get_contract", "payroll-user-readable"), "POST": ("upsert_contract", "saved")}),
]


def _an_id(text: str) -> int:
    """A path id (ASCII digits, matched by the route) that can exist, else 404."""
    value = int(text)
    if value > MAX_ID:
        raise Refused(404, "Not found")
    return value


def _depth(value: Any) -> int:
    """How deeply ``value`` nests (iteratively: no recursion limit to hit)."""
    deepest, todo = 0, [(value, 1)]
    while todo:
        item, level = todo.pop()
        if isinstance(item, (dict, list)):
            deepest = max(deepest, level)
            todo.extend((child, level + 1)
                        for child in (item.values() if isinstance(item, dict) else item))
    return deepest


class TokenBucket:
    """A token bucket: ``burst`` requests at once, refilled at ``rate`` per second. :meth:`take`
    is None when a request may pass, else the seconds until one token is back."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self.rate, self.burst, self.clock = float(rate), max(1, int(burst)), clock
        self.tokens = float(self.burst)
        self.last = clock()

    def take(self) -> float | None:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return (1 - self.tokens) / self.rate


class _Simulator:
    """The request handling: faults, auth, routing, write rules (over a :class:`SimState`)."""

    def __init__(self, state: SimState, *, token: str, company_id: int, faults: Faults,
                 seed: Mapping[str, Any] | None):
        if not token:
            raise InputError("the simulator needs a token ($KLEER_TOKEN or --token-file)")
        self.state = state
        self.token = token
        self.company_id = int(company_id)
        self.seed = seed
        self.requests = 0
        self.fault_answers = 0
        self.in_flight = self.max_in_flight = 0  # API requests being answered at once (its peak)
        self.set_faults(faults)

    @property
    def dialect(self) -> Dialect:
        return self.state.dialect

    def set_dialect(self, dialect: Dialect | str | Mapping[str, Any] | None) -> None:
        self.state.dialect = Dialect.parse(dialect)

    def set_faults(self, faults: Faults) -> None:
        self.faults = faults
        self.rng = random.Random(faults.seed)
        self.fail_next = faults.fail_next
        self.buckets: dict[str, TokenBucket] = {}

    def _token_ok(self, request: Request) -> bool:
        return hmac.compare_digest(request.headers.get("x-token", "").encode(), self.token.encode())

    def _answer(self, request: Request, status: int, payload: Any = None, **kw: Any) -> Response:
        return _answer(request, status, payload, dialect=self.dialect, **kw)

    # ---------------------------------------------------------------- the API

    async def api(self, request: Request) -> Response:
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return await self._api(request)
        except Exception as e:  # the simulator never answers with a traceback
            log.exception("Kleer simulator: unexpected error on %s %s", request.method,
                          request.url.path)
            return self._answer(request, 500, {"message": f"{SERVER_ERROR} ({type(e).__name__})"})
        finally:
            self.in_flight -= 1

    async def _api(self, request: Request) -> Response:
        self.requests += 1
        f = self.faults
        if f.latency_ms:
            # the request has arrived: a client that stops waiting does not undo it (its write
            # still lands, as on a server that is slow to answer), so read the body first
            try:
                await self._raw(request)
            except Refused:
                pass  # answered below, once the latency has passed
            await asyncio.sleep(f.latency_ms / 1000)
        fault = self._fault(request)
        if fault is not None:
            self.fault_answers += 1
            status, message, headers = fault
            return self._answer(request, status, {"message": message}, headers=headers)
        try:
            return await self._handle(request)
        except Refused as e:
            return self._answer(request, e.status, {"message": e.message}, headers=e.headers)

    def _fault(self, request: Request) -> tuple[int, str, dict[str, str] | None] | None:
        f = self.faults
        if f.rate_limit:
            company = request.url.path[len(API_PREFIX):].partition("/")[0]
            bucket = self.buckets.get(company)
            if bucket is None:
                bucket = self.buckets[company] = TokenBucket(f.rate_limit,
                                                             f.rate_burst or f.rate_limit)
            wait = bucket.take()
            if wait is not None:
                return 429, "Too many requests", {"Retry-After": str(max(1, math.ceil(wait)))}
        if self.fail_next > 0:
            self.fail_next -= 1
            return f.fail_status, SERVER_ERROR if f.fail_status == 500 else "Service unavailable", None
        if f.error_rate and self.rng.random() < f.error_rate:
            status = self.rng.choice((500, 503))
            return status, SERVER_ERROR if status == 500 else "Service unavailable", None
        return None

    async def _handle(self, request: Request) -> Response:
        if not self._token_ok(request):
            raise Refused(401, "Invalid or missing X-Token")
        company, _, rest = request.url.path[len(API_PREFIX):].partition("/")
        if not re.fullmatch(_ID, company) or int(company) > MAX_ID:
            raise Refused(404, "Not found")
        if int(company) != self.company_id:
            raise Refused(403, f"No access to company {company}")
        leave = await self._leave(request, rest)
        if leave is not None:
            return leave
        for pattern, methods in _ROUTES:
            match = pattern.fullmatch(rest.rstrip("/"))
            if match:
                break
        else:
            raise Refused(404, "Not found")
        if request.method not in methods:
            raise Refused(405, "Method Not Allowed", {"Allow": ", ".join(methods)})
        action, root = methods[request.method]
        write = request.method in ("PUT", "POST")
        body = await self._body(request) if write else None
        result = getattr(self, "_" + action)(body=body, **match.groupdict())
        if isinstance(result, str):  # a list, already JSON
            return self._answer(request, 200, root=root, text=result)
        if write and self.faults.write_then_fail \
                and self.rng.random() < self.faults.write_then_fail:
            self.fault_answers += 1
            if self.faults.write_fail_mode == "drop":
                return _DroppedConnection()
            return self._answer(request, 500, {"message": SERVER_ERROR})
        if write:
            return self._written(request, action, result)
        return self._answer(request, 200, result, root=root)

    async def _leave(self, request: Request, rest: str) -> Response | None:
        """The leave endpoints (:mod:`.leave_sim`): None for any other path. Faults, latency
        and XML apply as to the rest; write-then-fail also to ``DELETE /event/{id}``."""
        write = request.method in ("PUT", "POST", "DELETE")
        body = await self._body(request) if request.method in ("PUT", "POST") else None
        try:
            handled = self.state.leave.handle(request.method, rest, dict(request.query_params), body)
        except LeaveRefused as e:
            raise Refused(e.status, e.message) from None
        if handled is None:
            return None
        if write and self.faults.write_then_fail and self.rng.random() < self.faults.write_then_fail:
            self.fault_answers += 1
            if self.faults.write_fail_mode == "drop":
                return _DroppedConnection()
            return self._answer(request, 500, {"message": SERVER_ERROR})
        return self._answer(request, 200, handled[1], root=handled[0])

    def _written(self, request: Request, action: str, new_id: int) -> Response:
        """The answer to a write, in the dialect's shape (``answer.created``, ``answer.saved``)."""
        d = self.dialect
        if action == "create_user":
            if d.created == "xml":
                return _answer(request, 200, {"id": new_id}, root="created", xml=True)
            payload = {"id": new_id} if d.created == "id" else {"created": {"id": new_id}}
            return self._answer(request, 200, payload, root="created")
        if d.updated == "empty":
            return Response(b"", 200)
        payload = {"id": new_id} if d.updated == "id" else \
            {"saved": {"id": new_id}} if d.updated == "saved" else {"ok": True}
        return self._answer(request, 200, payload, root="saved")

    async def _raw(self, request: Request) -> bytes:
        """The request body, at most ``MAX_BODY_BYTES`` (413 above), read once."""
        cached = getattr(request.state, "raw_body", None)
        if cached is not None:
            return cached
        length = request.headers.get("content-length", "")
        if length.isascii() and length.isdigit() and int(length) > MAX_BODY_BYTES:
            raise Refused(413, f"The body is larger than {MAX_BODY_BYTES} bytes")
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise Refused(413, f"The body is larger than {MAX_BODY_BYTES} bytes")
            chunks.append(chunk)
        request.state.raw_body = b"".join(chunks)
        return request.state.raw_body

    async def _body(self, request: Request) -> Any:
        if "application/json" not in request.headers.get("content-type", "").lower():
            raise Refused(415, "Send the body as JSON (Content-Type: application/json)")
        return _parse_json(await self._raw(request) or b"null")

    def _found(self, doc: dict[str, Any] | None, what: str, status: int = 404) -> dict[str, Any]:
        if doc is None:
            raise Refused(status, f"{what} not found" if status != 500 else TECHNICAL_ERROR)
        return doc

    def _list_users(self, body: Any) -> str:
        return self.state.users_json()

    def _create_user(self, body: Any) -> int:
        return self.state.create_user(body)

    def _me(self, body: Any) -> dict[str, Any]:
        return self.state.me()

    def _by_foreign_id(self, body: Any, fid: str) -> dict[str, Any]:
        return self._found(self.state.user_by_foreign_id(fid), f"User with foreign-id {fid}")

    def _get_user(self, body: Any, id: str) -> dict[str, Any]:
        return self._found(self.state.read_user(_an_id(id)), f"User {id}")

    def _update_user(self, body: Any, id: str) -> int:
        self.state.update_user(_an_id(id), body)
        return int(id)

    def _list_contracts(self, body: Any) -> str:
        return self.state.contracts_json()

    def _get_contract(self, body: Any, id: str) -> dict[str, Any]:
        user_id = _an_id(id)
        contract = self.state.read_contract(user_id)
        if contract is None and self.state.user(user_id) is not None:
            # the user exists without a contract: the dialect's status (``answer.no_contract``)
            return self._found(None, f"Payroll user {id}", self.dialect.no_contract_status)
        return self._found(contract, f"Payroll user {id}")

    def _upsert_contract(self, body: Any, id: str) -> int:
        self.state.upsert_contract(_an_id(id), body)
        return int(id)

    # ---------------------------------------------------------------- admin

    async def admin(self, request: Request) -> Response:
        try:
            return await self._admin(request)
        except Refused as e:
            return Response(_dumps({"message": e.message}), e.status, media_type="application/json")
        except Exception as e:
            log.exception("Kleer simulator: unexpected error on %s %s", request.method,
                          request.url.path)
            return Response(_dumps({"message": f"{SERVER_ERROR} ({type(e).__name__})"}), 500,
                            media_type="application/json")

    async def _admin(self, request: Request) -> Response:
        if not self._token_ok(request):
            return Response(_dumps({"message": "Invalid or missing X-Token"}), 401,
                            media_type="application/json")
        what = request.path_params["what"]
        try:
            body = _parse_json(await self._raw(request) or b"{}") \
                if request.method == "POST" else {}
            if not isinstance(body, dict):
                raise ValueError("send a JSON object")
            if what == "state" and request.method == "GET":
                payload = self.admin_state()
            elif what == "faults" and request.method == "POST":
                self.set_faults(Faults.parse(self.faults, body))
                payload = self.faults.as_dict()
            elif what == "faults":
                payload = self.faults.as_dict()
            elif what == "dialect" and request.method == "POST":
                self.set_dialect(body)
                payload = self.dialect.as_dict()
            elif what == "dialect":
                payload = self.dialect.as_dict()
            elif what == "reset" and request.method == "POST":
                seed = load_seed(body["seed"]) if body.get("seed") is not None else self.seed
                if body.get("dialect") is not None:
                    self.set_dialect(body["dialect"])
                self.state.load(seed)
                self.requests = self.fault_answers = self.max_in_flight = 0
                payload = self.admin_state()
            elif what == "dump" and request.method == "GET":
                payload = self.state.dump()
            elif what == "leave":  # GET: events and write counts; POST: schedules, locks
                payload = self.state.leave.admin(body if request.method == "POST" else None)
            else:
                return Response(_dumps({"message": "Not found"}), 404, media_type="application/json")
        except (ValueError, TypeError, InputError) as e:
            return Response(_dumps({"message": str(e)}), 400, media_type="application/json")
        return Response(_dumps(payload), 200, media_type="application/json")

    def admin_state(self) -> dict[str, Any]:
        return {"company_id": self.company_id, **self.state.counts(), "requests": self.requests,
                "fault_answers": self.fault_answers, "max_in_flight": self.max_in_flight,
                "faults": self.faults.as_dict(),
                "dialect": self.dialect.as_dict()}


def _parse_json(raw: bytes) -> Any:
    """JSON, or 400: not JSON, or nested deeper than ``MAX_JSON_DEPTH``."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise Refused(400, f"The body is nested deeper than {MAX_JSON_DEPTH} levels") from None
    except ValueError:
        raise Refused(400, "The body is not valid JSON") from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise Refused(400, f"The body is nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def make_app(db_path: str | Path, *, token: str, company_id: int = 1, faults: Faults = Faults(),
             seed: Mapping[str, Any] | str | Path | None = None, reset: bool = False,
             dialect: Dialect | str | Mapping[str, Any] | None = None) -> Starlette:
    """The simulator as a Starlette app over the SQLite file ``db_path`` (seeded when it holds
    no state yet, or when ``reset``), speaking ``dialect`` (default :data:`DEFAULT_DIALECT`).
    ``app.state.simulator`` is the request handler."""
    seed = load_seed(seed)
    state = SimState(db_path, seed=seed, reset=reset, dialect=dialect)
    sim = _Simulator(state, token=token,
                     company_id=company_id, faults=faults, seed=seed)
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        sim.state.close()

    app = Starlette(routes=[
        Route(API_PREFIX + "{rest:path}", sim.api, methods=_METHODS),
        Route("/_admin/{what}", sim.admin, methods=["GET", "POST"]),
    ], lifespan=lifespan)
    app.state.simulator = sim
    return app


# --------------------------------------------------------------------------- running it

def _bind(host: str, port: int) -> socket.socket:
    if not is_loopback(host):
        raise InputError(f"the Kleer simulator binds to loopback only (127.0.0.1), not {host!r}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP_NODELAY follows
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        raise InputError(f"cannot serve the Kleer simulator on {host}:{port} ({e.strerror}): "
                         "choose another port with --port") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


class _QuietDrops(logging.Filter):
    """Hide uvicorn's error line for the connections the simulator drops on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "without completing response" not in record.getMessage()


def _server(app: Starlette, *, log: bool) -> uvicorn.Server:
    uv_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _QuietDrops) for f in uv_log.filters):
        uv_log.addFilter(_QuietDrops())
    config = uvicorn.Config(app, http="h11", lifespan="on", access_log=False,
                            log_level="info" if log else "warning",
                            **({} if log else {"log_config": None}))
    return uvicorn.Server(config)


def serve(port: int, db_path: str | Path, seed: Mapping[str, Any] | str | Path | None = None, *,
          token: str, company_id: int = 1, host: str = "127.0.0.1", faults: Faults = Faults(),
          reset: bool = False, dialect: Dialect | str | Mapping[str, Any] | None = None,
          announce: Callable[[str], None] = print) -> None:
    """Serve the simulator in the foreground until Ctrl-C or SIGTERM (loopback only)."""
    sock = _bind(host, port)
    app = make_app(db_path, token=token, company_id=company_id, faults=faults, seed=seed,
                   reset=reset, dialect=dialect)
    counts = app.state.simulator.state.counts()
    shown = f"[{host}]" if ":" in host else host
    announce(f"Kleer simulator: http://{shown}:{sock.getsockname()[1]}/v1 (company {company_id}, "
             f"{counts['users']} users, {counts['contracts']} contracts; state in {db_path}; "
             f"dialect {app.state.simulator.dialect.name}). "
             "Ctrl-C stops it.")
    if threading.current_thread() is threading.main_thread():
        # uvicorn shuts down cleanly on SIGINT/SIGTERM, then re-raises the signal: make that
        # SIGTERM a KeyboardInterrupt like Ctrl-C, so both end here with a normal return
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        _server(app, log=True).run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()


class RunningSimulator:
    """The simulator in a background thread on 127.0.0.1 (port 0: a free one).

    ``base_url`` ends in ``/v1``; :meth:`client` gives a ready :class:`KleerClient` (fast
    retries by default); :meth:`set_faults`, :meth:`state`, :meth:`dump` and :meth:`reset` go
    through the admin endpoints. :meth:`stop` then :meth:`start` restarts it on the same port
    over the same state file.
    """

    def __init__(self, db_path: str | Path, *, seed: Mapping[str, Any] | str | Path | None = None,
                 token: str = "sim-token", company_id: int = 1, faults: Faults = Faults(),
                 port: int = 0, reset: bool = False,
                 dialect: Dialect | str | Mapping[str, Any] | None = None):
        self.db_path = str(db_path)
        self.dialect = Dialect.parse(dialect)
        self.seed = seed
        self.token = token
        self.company_id = int(company_id)
        self.port = port
        self._initial = dict(faults=faults, reset=reset)
        self._thread: threading.Thread | None = None
        self._server: uvicorn.Server | None = None
        self._admin: httpx.Client | None = None

    def __repr__(self) -> str:
        return f"RunningSimulator({self.base_url!r}, company_id={self.company_id})"

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/v1"

    def start(self) -> "RunningSimulator":
        if self.running:
            return self
        sock = _bind("127.0.0.1", self.port)
        self.port = sock.getsockname()[1]
        app = make_app(self.db_path, token=self.token, company_id=self.company_id,
                       seed=self.seed, dialect=self.dialect, **self._initial)
        self._initial["reset"] = False  # a restart keeps the state
        self._server = _server(app, log=False)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]},
                                        name=f"kleer-sim:{self.port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the Kleer simulator did not start on {self.url}")
            time.sleep(0.005)
        self._admin = httpx.Client(base_url=self.url, headers={"X-Token": self.token},
                                   timeout=10.0)
        return self

    def stop(self) -> None:
        if self._admin is not None:
            self._admin.close()
            self._admin = None
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
            self._server = self._thread = None

    def __enter__(self) -> "RunningSimulator":
        return self if self.running else self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def _call(self, method: str, what: str, body: Any = None) -> Any:
        if self._admin is None:
            raise RuntimeError("the Kleer simulator is not running; call start()")
        response = self._admin.request(method, f"/_admin/{what}", json=body)
        if response.status_code != 200:
            raise ValueError(response.json().get("message", response.text))
        return response.json()

    def set_faults(self, **changes: Any) -> dict[str, Any]:
        """Change fault switches (see :class:`Faults`); returns all of them."""
        return self._call("POST", "faults", changes)

    def clear_faults(self) -> dict[str, Any]:
        return self._call("POST", "faults", Faults().as_dict())

    def state(self) -> dict[str, Any]:
        """Counts: users, active_users, contracts, writes per kind, requests, faults."""
        return self._call("GET", "state")

    def dump(self) -> dict[str, Any]:
        """Every user and contract, as stored (bypasses faults)."""
        return self._call("GET", "dump")

    def reset(self, seed: Mapping[str, Any] | str | Path | None = None, *,
              dialect: Dialect | str | Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Wipe the state and load ``seed`` (default: the seed it started with); the dialect
        goes back to the one it started with unless ``dialect`` names another."""
        chosen = self.dialect if dialect is None else Dialect.parse(dialect)
        return self._call("POST", "reset", {"seed": load_seed(seed),
                                            "dialect": chosen.as_dict()})

    def leave(self, **setup: Any) -> dict[str, Any]:
        """The leave state (every event, the write counts); with ``schedules=[{"user", "level",
        "hours-per-day", "weekdays"}]`` / ``statuses=[{"user", "from", "to", "type"}]`` set
        those first (see :meth:`workbench.kleer.leave_sim.LeaveStore.admin`)."""
        return self._call("POST", "leave", setup) if setup else self._call("GET", "leave")

    def set_dialect(self, dialect: Dialect | str | Mapping[str, Any]) -> dict[str, Any]:
        """Speak another dialect from now on (until the next :meth:`reset`)."""
        body = {"name": dialect} if isinstance(dialect, str) else Dialect.parse(dialect).as_dict()
        return self._call("POST", "dialect", body)

    def client(self, **kwargs: Any) -> KleerClient:
        """A :class:`KleerClient` for this simulator; keyword arguments override the defaults
        (token, company_id, the dialect it starts with, and fast retries so tests stay
        quick)."""
        options = {"base_url": self.base_url, "company_id": self.company_id, "token": self.token,
                   "retries": Retry(backoff=0.01, max_backoff=0.05, jitter=0.1),
                   "dialect": self.dialect, **kwargs}
        return KleerClient(**options)


# --------------------------------------------------------------------------- a sample company

_FIRST = ("Anna", "Erik", "Maria", "Lars", "Karin", "Johan", "Eva", "Anders", "Sara", "Per",
          "Lena", "Mikael", "Emma", "Nils", "Ingrid", "Oskar", "Sofia", "Gustav", "Elin", "Carl")
_LAST = ("Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson",
         "Persson", "Svensson", "Gustafsson", "Pettersson", "Jonsson", "Lindberg", "von Essen",
         "Lindqvist", "Berg", "Holm", "Åström", "Björk", "Ek")
_CITIES = (("Stockholm", "11122"), ("Göteborg", "41101"), ("Malmö", "21120"),
           ("Uppsala", "75310"), ("Umeå", "90326"))


def sample_seed(n: int = 6, *, company_id: int = 1, company_name: str = "Exempel AB") -> dict:
    """A small, deterministic Kleer company in the seed format (for tests, benchmarks, trying
    the simulator). Every 7th user is inactive, every 5th has no payroll contract, and users
    and contracts carry fields the workbench does not know (``dimensions``, ``provision``)."""
    users, contracts = [], []
    for i in range(1, n + 1):
        first, last = _FIRST[i % len(_FIRST)], _LAST[(i * 7) % len(_LAST)]
        users.append({"id": i, "foreign-id": f"E{i:05d}", "internal-id": 1000 + i,
                      "name": f"{first} {last}",
                      "email": f"{first}.{last}.{i}".lower().replace(" ", "") + "@example.se",
                      "active": i % 7 != 0, "dimensions": []})
        if i % 5 == 0:
            continue
        born = date(1960 + i % 40, 1 + i % 12, 1 + i % 28)
        city, zip_code = _CITIES[i % len(_CITIES)]
        contract = {"user": {"id": i}, "ssn": make_personnummer(born, i),
                    "address2": f"Storgatan {i % 90 + 1}", "zip-code": zip_code, "state": city,
                    "country-code": "SE", "phone": f"+4670{i:07d}", "tax-table": 30 + i % 8,
                    "tax-table-column": 1 + i % 6, "clearing-nr": "8327",
                    "account-nr": f"{9_000_000 + i}", "employment-start-date":
                    f"{2010 + i % 14}-{1 + i % 12:02d}-01", "monthly-salary": 30_000 + 100 * i,
                    "provision": False}
        if i % 11 == 0:
            contract["employment-end-date"] = "2025-06-30"
        contracts.append(contract)
    return {"company": {"id": company_id, "name": company_name}, "me": 1 if n else None,
            "users": users, "payroll-user-readables": contracts}
