"""The simulator's leave endpoints: time-report events, day statuses, activities, schedules and
payroll events, over SQLite. Self-contained: plain functions over a ``sqlite3`` connection
(:class:`LeaveStore`) plus a small Starlette app (:func:`make_leave_app`) to run them alone.

Endpoints (paths relative to ``/v1/company/{company-id}``; JSON):

=======  ===============================================  =====================================
GET      /activity                                        ``{"activity-readables": [...]}``
GET      /event?userId&startDate&endDate                  ``{"event-readables": [...]}``
GET      /event/{id}                                      event-readable, or 404
PUT      /event                                           create → ``{"id": n}``
POST     /event/{id}                                      replace → ``{"id": n}``
DELETE   /event/{id}                                      → ``{"id": n}``
GET      /event/statuses?userId&fromDate&toDate           ``{"event-restriction-readables": [...]}``
GET      /payroll/user/{uid}/schedule/{start}/to/{end}    ``{"payroll-user-schedule-metadatas": [...]}``
GET      /payroll/user/{uid}/event/from/{d}/to/{d}        ``{"payroll-events": [...]}``
=======  ===============================================  =====================================

Sources (cited as the facts they back):

* DeviesDevelopment/Kleer ``Kleer/doc.xsd``: ``event-writable`` (foreign-id, user, activity,
  client-project?, child?, date, hours, comment, internal-comment?); ``event-readable`` (adds
  ``id`` as a reference, invoiceable, invoiced-hours, invoiced-price, approved (deprecated),
  status); ``event-status`` (type, registration-user, registration-date) with
  ``event-status-type`` Open | Approved | Certified; ``event-restriction-readable`` (status with
  type, registration-user, event-date); ``activity-readable`` (id, name, description,
  mandatory-child-when-reporting); ``payroll-event`` (id ignored on write, date, hours, type,
  child?, comment) with ``payroll-event-type``; ``payroll-user-schedule-metadata`` (date,
  level-of-employment, gross-hours, net-hours, actual-hours).
* ponbac/toki2 ``kleer/src/client.rs`` (paths and query names: ``event`` with ``userId``,
  ``startDate``, ``endDate``; ``event/statuses`` with ``userId``, ``fromDate``, ``toDate``;
  ``PUT event``, ``POST event/{id}``, ``DELETE event/{id}`` answering ``{"id": n}``),
  ``kleer/src/types.rs`` (list keys ``event-readables``, ``event-restriction-readables``,
  ``activity-readables``, ``payroll-events``, ``payroll-user-schedule-metadatas``; status types
  upper case ``"OPEN"``/``"APPROVED"``; payroll event types ``"VACATION"``, ``"SICK"`` beside
  ``"WorkHour"``) and ``.docs/kleer.md`` (a PUT without ``foreign-id`` answered 500 "Tekniskt
  fel"; only Open entries are editable; ``actual-hours`` accounts for employment rate and bank
  holidays). ``toki-api/src/adapters/outbound/kleer/mod.rs``: a schedule or payroll-event read for
  a user without a payroll contract is a 500 whose body names ``PayrollUserDoesNotExistException``.

(assumed), kept here only: a write on a locked (non-Open) day answers 400 with a message naming
the day and its status; missing required fields answer 400, values of the wrong type 500
"Tekniskt fel"; an unknown activity 400; an activity with ``mandatory-child-when-reporting``
refuses a day without ``child`` (400); ``level-of-employment`` is a fraction (1.0 = full time,
as in toki2's tests); ``gross-hours`` is the full-time day of the weekday, ``net-hours`` =
gross × level, ``actual-hours`` = net, or 0 on Swedish public holidays and outside employment.
Kleer does not refuse a second event with the same foreign-id (nothing says it does), so a
client must guard against duplicates itself.

Mounting into the main simulator (``workbench/kleer/simulator.py``), a few lines:

1. in ``_Simulator.__init__``: ``self.leave = LeaveStore(state.conn)`` — same SQLite file; its
   tables are ``leave_*`` and created if missing; it reads the simulator's ``users`` and
   ``contracts`` tables when they exist (unknown user → 404; no contract → the 500 above;
   employment dates bound the schedule);
2. in ``_Simulator._handle``, after the token and company checks and before the ``_ROUTES``
   loop::

       body = await self._body(request) if request.method in ("PUT", "POST") else None
       try:
           handled = self.leave.handle(request.method, rest, dict(request.query_params), body)
       except LeaveRefused as e:
           raise Refused(e.status, e.message) from None
       if handled is not None:
           return _answer(request, 200, handled[1], root=handled[0])

   (faults, latency, write-then-fail and XML then apply to these endpoints too; ``handle``
   returns ``(xml root, payload)`` or None for a path that is not a leave path; count writes
   with ``LeaveStore.writes``);
3. ``SimState.load`` (reset) should also call ``LeaveStore(conn).reset()``; seed schedules,
   locks and activities with :meth:`LeaveStore.set_schedule`, :meth:`LeaveStore.set_status`,
   :meth:`LeaveStore.seed_activities` (or a ``"leave"`` key in the seed: :meth:`LeaveStore.load`).
"""

from __future__ import annotations

import contextlib
import hmac
import json
import re
import sqlite3
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, AsyncIterator, Iterable, Mapping

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..leave.holidays import is_holiday
from ..leave.types import ACTIVITY_NAMES, parse_kleer_type

__all__ = ["LeaveStore", "LeaveRefused", "make_leave_app", "DEFAULT_ACTIVITIES",
           "TECHNICAL_ERROR", "NO_PAYROLL_USER"]

TECHNICAL_ERROR = "Tekniskt fel"
NO_PAYROLL_USER = "PayrollUserDoesNotExistException"
_METHODS = ["GET", "PUT", "POST", "DELETE"]

#: (name, payroll type, mandatory child) — absence activities plus one for worked time
DEFAULT_ACTIVITIES: tuple[tuple[str, str, bool], ...] = (
    ("Arbete", "WorkHour", False),
    *((name, kleer_type, kleer_type == "Childcare") for kleer_type, name in ACTIVITY_NAMES.items()),
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS leave_events (id INTEGER PRIMARY KEY AUTOINCREMENT, foreign_id TEXT,
    user_id INTEGER NOT NULL, date TEXT NOT NULL, doc TEXT NOT NULL, created TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS leave_events_user_date ON leave_events(user_id, date);
CREATE INDEX IF NOT EXISTS leave_events_foreign_id ON leave_events(foreign_id);
CREATE TABLE IF NOT EXISTS leave_day_status (user_id INTEGER NOT NULL, date TEXT NOT NULL,
    type TEXT NOT NULL, registration_user INTEGER, registration_date TEXT,
    PRIMARY KEY (user_id, date));
CREATE TABLE IF NOT EXISTS leave_schedules (user_id INTEGER PRIMARY KEY, level REAL NOT NULL,
    hours_per_day REAL NOT NULL, weekdays TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS leave_activities (id INTEGER PRIMARY KEY, name TEXT NOT NULL,
    payroll_type TEXT NOT NULL, mandatory_child INTEGER NOT NULL, description TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS leave_counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL);
"""
_TABLES = ("leave_events", "leave_day_status", "leave_schedules", "leave_activities", "leave_counters")
_STATUS_TYPES = ("Open", "Approved", "Certified")
_ISO = re.compile(r"\d{4}-\d{2}-\d{2}")


class LeaveRefused(Exception):
    """An error answer (``status``, Kleer's ``message``)."""

    def __init__(self, status: int, message: str):
        super().__init__(f"{status} {message}")
        self.status = status
        self.message = message
        self.headers: dict[str, str] = {}


def _dumps(doc: Any) -> str:
    return json.dumps(doc, ensure_ascii=False, separators=(",", ":"))


def _date(value: Any, what: str) -> date:
    if not isinstance(value, str) or not _ISO.fullmatch(value):
        raise LeaveRefused(500, TECHNICAL_ERROR)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise LeaveRefused(500, TECHNICAL_ERROR) from None


def _query_date(query: Mapping[str, str], name: str, required: bool) -> date | None:
    value = query.get(name)
    if value is None:
        if required:
            raise LeaveRefused(400, f"the query parameter {name} is required")
        return None
    if not _ISO.fullmatch(value):
        raise LeaveRefused(400, f"{name} must be a date YYYY-MM-DD")
    return date.fromisoformat(value)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LeaveRefused(500, TECHNICAL_ERROR)
    return float(value)


def _ref_id(value: Any) -> int:
    if not isinstance(value, Mapping) or isinstance(value.get("id"), bool) \
            or not isinstance(value.get("id"), int):
        raise LeaveRefused(500, TECHNICAL_ERROR)
    return value["id"]


def _screaming(kleer_type: str) -> str:
    """``ParentalLeave`` → ``PARENTAL_LEAVE`` (``WorkHour`` stays, as Kleer sends it)."""
    if kleer_type == "WorkHour":
        return kleer_type
    return re.sub(r"(?<!^)(?=[A-Z])", "_", kleer_type).upper()


class LeaveStore:
    """The leave state in a SQLite connection (the main simulator's, or its own). Use from one
    thread (the server's loop), like the simulator's state."""

    def __init__(self, conn: sqlite3.Connection, *, me: int = 0, today: date | None = None):
        self.conn = conn
        self.me = me
        self.today = today
        self.conn.executescript(_SCHEMA)
        if self.conn.execute("SELECT count(*) FROM leave_activities").fetchone()[0] == 0:
            self.seed_activities(DEFAULT_ACTIVITIES)

    # ---------------------------------------------------------------- setup

    def _has_table(self, name: str) -> bool:
        return self.conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                                 [name]).fetchone() is not None

    def reset(self) -> None:
        """Forget every event, status and schedule; the default activities again."""
        with self.conn:
            for table in _TABLES:
                self.conn.execute(f"DELETE FROM {table}")
        self.seed_activities(DEFAULT_ACTIVITIES)

    def load(self, seed: Mapping[str, Any] | None) -> None:
        """Reset, then apply ``{"activities": [[name, type, mandatory child]...],
        "schedules": [{"user", "level", "hours-per-day", "weekdays"}], "statuses": [{"user",
        "from", "to", "type"}]}`` (each optional)."""
        self.reset()
        seed = seed or {}
        if seed.get("activities"):
            with self.conn:
                self.conn.execute("DELETE FROM leave_activities")
            self.seed_activities([tuple(a) for a in seed["activities"]])
        for s in seed.get("schedules", []):
            self.set_schedule(s["user"], level=s.get("level", 1.0),
                              hours_per_day=s.get("hours-per-day", 8.0),
                              weekdays=s.get("weekdays", "12345"))
        for s in seed.get("statuses", []):
            self.set_status(s["user"], date.fromisoformat(s["from"]),
                            date.fromisoformat(s.get("to", s["from"])), s.get("type", "Approved"))

    def seed_activities(self, activities: Iterable[tuple[str, str, bool]]) -> dict[str, int]:
        with self.conn:
            start = self.conn.execute("SELECT coalesce(max(id), 100) FROM leave_activities").fetchone()[0]
            for i, (name, kleer_type, child) in enumerate(activities, start=start + 1):
                canonical = parse_kleer_type(kleer_type)
                if canonical is None:
                    raise ValueError(f"{kleer_type!r} is not a payroll-event type")
                self.conn.execute("INSERT INTO leave_activities VALUES (?, ?, ?, ?, ?)",
                                  [i, name, canonical, int(bool(child)), ""])
        return self.activity_ids()

    def activity_ids(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT name, id FROM leave_activities ORDER BY id"))

    def set_schedule(self, user_id: int, *, level: float = 1.0, hours_per_day: float = 8.0,
                     weekdays: str = "12345") -> None:
        """The user's schedule: ``level`` of employment (0–1), full-time hours per working
        day, the working weekdays (ISO: 1 = Monday)."""
        if not 0 <= level <= 1 or not set(weekdays) <= set("1234567"):
            raise ValueError("level is 0–1; weekdays are digits 1–7")
        with self.conn:
            self.conn.execute("INSERT OR REPLACE INTO leave_schedules VALUES (?, ?, ?, ?)",
                              [int(user_id), float(level), float(hours_per_day), weekdays])

    def set_status(self, user_id: int, start: date, end: date, status: str = "Approved", *,
                   by: int | None = None) -> None:
        """Lock (Approved, Certified) or reopen (Open) the user's days ``start``..``end``."""
        if status not in _STATUS_TYPES:
            raise ValueError(f"status is one of {_STATUS_TYPES}")
        day = start
        with self.conn:
            while day <= end:
                self.conn.execute("INSERT OR REPLACE INTO leave_day_status VALUES (?, ?, ?, ?, ?)",
                                  [int(user_id), day.isoformat(), status,
                                   self.me if by is None else by, self._today().isoformat()])
                day += timedelta(days=1)

    def _today(self) -> date:
        return self.today or date.today()

    # ---------------------------------------------------------------- reads

    def _user_known(self, user_id: int) -> bool:
        if not self._has_table("users"):
            return True
        return self.conn.execute("SELECT 1 FROM users WHERE id = ?", [user_id]).fetchone() is not None

    def _contract(self, user_id: int) -> dict[str, Any] | None:
        if self._has_table("contracts"):
            row = self.conn.execute("SELECT doc FROM contracts WHERE user_id = ?", [user_id]).fetchone()
            return json.loads(row[0]) if row else None
        return {}

    def _status(self, user_id: int, day: str) -> tuple[str, int | None, str | None] | None:
        return self.conn.execute("SELECT type, registration_user, registration_date FROM "
                                 "leave_day_status WHERE user_id = ? AND date = ?",
                                 [user_id, day]).fetchone()

    def _readable(self, event_id: int, doc: Mapping[str, Any], created: str) -> dict[str, Any]:
        user_id, day = doc["user"]["id"], doc["date"]
        stored = self._status(user_id, day)
        status, by, on = stored if stored else ("Open", self.me, created)
        out = {"id": {"id": event_id}, "foreign-id": doc.get("foreign-id", ""),
               "user": {"id": user_id}, "activity": dict(doc["activity"])}
        if doc.get("client-project"):
            out["client-project"] = doc["client-project"]
        if doc.get("child"):
            out["child"] = doc["child"]
        out.update({"date": day, "hours": doc["hours"], "comment": doc.get("comment", ""),
                    "internal-comment": doc.get("internal-comment", ""), "invoiceable": False,
                    "invoiced-hours": 0, "invoiced-price": 0, "approved": status != "Open",
                    "status": {"type": status.upper(), "registration-user": {"id": by},
                               "registration-date": on}})
        return out

    def event(self, event_id: int) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT id, doc, created FROM leave_events WHERE id = ?",
                                [event_id]).fetchone()
        return self._readable(row[0], json.loads(row[1]), row[2]) if row else None

    def events(self, user_id: int | None = None, start: date | None = None,
               end: date | None = None) -> list[dict[str, Any]]:
        sql, args = "SELECT id, doc, created FROM leave_events WHERE 1 = 1", []
        if user_id is not None:
            sql, args = sql + " AND user_id = ?", args + [user_id]
        if start is not None:
            sql, args = sql + " AND date >= ?", args + [start.isoformat()]
        if end is not None:
            sql, args = sql + " AND date <= ?", args + [end.isoformat()]
        rows = self.conn.execute(sql + " ORDER BY date, id", args).fetchall()
        return [self._readable(r[0], json.loads(r[1]), r[2]) for r in rows]

    def statuses(self, user_id: int, start: date, end: date) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            "SELECT date, type, registration_user FROM leave_day_status WHERE user_id = ? AND "
            "date BETWEEN ? AND ? ORDER BY date", [user_id, start.isoformat(), end.isoformat()])
        return [{"status": {"type": t.upper(), "registration-user": {"id": by}, "event-date": d}}
                for d, t, by in rows]

    def activities(self) -> list[dict[str, Any]]:
        return [{"id": {"id": i}, "name": n, "description": d,
                 "mandatory-child-when-reporting": bool(c)}
                for i, n, d, c in self.conn.execute(
                    "SELECT id, name, description, mandatory_child FROM leave_activities ORDER BY id")]

    def _payroll_user(self, user_id: int) -> dict[str, Any]:
        contract = self._contract(user_id)
        if contract is None:
            raise LeaveRefused(500, f"{NO_PAYROLL_USER}: user {user_id} has no payroll contract")
        return contract

    def schedule(self, user_id: int, start: date, end: date) -> list[dict[str, Any]]:
        contract = self._payroll_user(user_id)
        row = self.conn.execute("SELECT level, hours_per_day, weekdays FROM leave_schedules "
                                "WHERE user_id = ?", [user_id]).fetchone()
        level, full_day, weekdays = row if row else (1.0, 8.0, "12345")
        employed_from = contract.get("employment-start-date") or None
        employed_to = contract.get("employment-end-date") or None
        if isinstance(employed_to, Mapping):
            employed_to = employed_to.get("employment-end-date")
        out, day = [], start
        while day <= end:
            gross = Decimal(str(full_day)) if str(day.isoweekday()) in weekdays else Decimal(0)
            net = (gross * Decimal(str(level))).quantize(Decimal("0.01"))
            employed = (not employed_from or day.isoformat() >= employed_from) and \
                       (not employed_to or day.isoformat() <= employed_to)
            actual = Decimal(0) if is_holiday(day) or not employed else net
            out.append({"date": day.isoformat(), "level-of-employment": float(level),
                        "gross-hours": float(gross), "net-hours": float(net),
                        "actual-hours": float(actual)})
            day += timedelta(days=1)
        return out

    def payroll_events(self, user_id: int, start: date, end: date) -> list[dict[str, Any]]:
        self._payroll_user(user_id)
        types = {i: t for i, t in self.conn.execute("SELECT id, payroll_type FROM leave_activities")}
        out = []
        for event in self.events(user_id, start, end):
            kleer_type = types.get(event["activity"]["id"])
            if kleer_type is None:
                continue
            item = {"id": event["id"]["id"], "date": event["date"], "hours": event["hours"],
                    "type": _screaming(kleer_type), "comment": event["comment"]}
            if event.get("child"):
                item["child"] = event["child"]
            out.append(item)
        return out

    # ---------------------------------------------------------------- writes

    def _count(self, name: str) -> None:
        self.conn.execute("INSERT INTO leave_counters VALUES (?, 1) "
                          "ON CONFLICT(name) DO UPDATE SET n = n + 1", [name])

    @property
    def writes(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT name, n FROM leave_counters ORDER BY name"))

    def _check_open(self, user_id: int, day: str) -> None:
        stored = self._status(user_id, day)
        if stored and stored[0] != "Open":
            raise LeaveRefused(400, f"The event date {day} is {stored[0]} for user {user_id} and "
                                    "cannot be changed")

    def _writable(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, Mapping):
            raise LeaveRefused(400, "the body must be a JSON object")
        if not str(body.get("foreign-id") or "").strip():
            raise LeaveRefused(500, TECHNICAL_ERROR)  # toki2 .docs/kleer.md, 2026-04-21
        for key in ("user", "activity", "date", "hours", "comment"):
            if body.get(key) is None:
                raise LeaveRefused(400, f"{key} is required")
        user_id, activity_id = _ref_id(body["user"]), _ref_id(body["activity"])
        _date(body["date"], "date")
        hours = _number(body["hours"])
        if not isinstance(body["comment"], str) or not isinstance(body["foreign-id"], str):
            raise LeaveRefused(500, TECHNICAL_ERROR)
        if body.get("child") is not None and not isinstance(body["child"], str):
            raise LeaveRefused(500, TECHNICAL_ERROR)
        if not 0 <= hours <= 24:
            raise LeaveRefused(400, f"hours must be between 0 and 24, not {hours}")
        if not self._user_known(user_id):
            raise LeaveRefused(404, f"User {user_id} not found")
        activity = self.conn.execute("SELECT mandatory_child, name FROM leave_activities "
                                     "WHERE id = ?", [activity_id]).fetchone()
        if activity is None:
            raise LeaveRefused(400, f"Activity {activity_id} not found")
        if activity[0] and not body.get("child"):
            raise LeaveRefused(400, f"The activity {activity[1]} requires a child")
        keep = ("foreign-id", "user", "activity", "client-project", "child", "date", "hours",
                "comment", "internal-comment")
        return {k: body[k] for k in keep if body.get(k) is not None}

    def create_event(self, body: Any) -> int:
        doc = self._writable(body)
        with self.conn:
            self._check_open(doc["user"]["id"], doc["date"])
            cursor = self.conn.execute(
                "INSERT INTO leave_events (foreign_id, user_id, date, doc, created) VALUES (?, ?, ?, ?, ?)",
                [doc["foreign-id"], doc["user"]["id"], doc["date"], _dumps(doc), self._today().isoformat()])
            self._count("create_event")
        return int(cursor.lastrowid)

    def update_event(self, event_id: int, body: Any) -> int:
        row = self.conn.execute("SELECT doc FROM leave_events WHERE id = ?", [event_id]).fetchone()
        if row is None:
            raise LeaveRefused(404, f"Event {event_id} not found")
        old = json.loads(row[0])
        doc = self._writable(body)
        with self.conn:
            self._check_open(old["user"]["id"], old["date"])
            self._check_open(doc["user"]["id"], doc["date"])
            self.conn.execute("UPDATE leave_events SET foreign_id = ?, user_id = ?, date = ?, "
                              "doc = ? WHERE id = ?", [doc["foreign-id"], doc["user"]["id"],
                                                        doc["date"], _dumps(doc), event_id])
            self._count("update_event")
        return event_id

    def delete_event(self, event_id: int) -> int:
        row = self.conn.execute("SELECT doc FROM leave_events WHERE id = ?", [event_id]).fetchone()
        if row is None:
            raise LeaveRefused(404, f"Event {event_id} not found")
        old = json.loads(row[0])
        with self.conn:
            self._check_open(old["user"]["id"], old["date"])
            self.conn.execute("DELETE FROM leave_events WHERE id = ?", [event_id])
            self._count("delete_event")
        return event_id

    def admin(self, setup: Mapping[str, Any] | None) -> dict[str, Any]:
        """The main simulator's ``/_admin/leave``: apply ``setup`` (``{"schedules": [...],
        "statuses": [...]}`` as in :meth:`load`, without a reset) when given; answer every
        event as read and the write counts."""
        for s in (setup or {}).get("schedules", []):
            self.set_schedule(s["user"], level=s.get("level", 1.0),
                              hours_per_day=s.get("hours-per-day", 8.0),
                              weekdays=s.get("weekdays", "12345"))
        for s in (setup or {}).get("statuses", []):
            self.set_status(s["user"], date.fromisoformat(s["from"]),
                            date.fromisoformat(s.get("to", s["from"])), s.get("type", "Approved"))
        return {"events": self.events(), "writes": self.writes}

    # ---------------------------------------------------------------- routing

    def handle(self, method: str, path: str, query: Mapping[str, str], body: Any
               ) -> tuple[str, Any] | None:
        """Answer one request: ``(xml root, payload)``; None when ``path`` (relative to the
        company, with or without a leading ``/``) is not a leave endpoint. Raises
        :class:`LeaveRefused` for error answers."""
        path = path.strip("/")
        parts = path.split("/")
        if path == "activity":
            self._allow(method, "GET")
            return "activity-readables", {"activity-readables": self.activities()}
        if path == "event":
            self._allow(method, "GET", "PUT")
            if method == "PUT":
                return "created", {"id": self.create_event(body)}
            user = query.get("userId")
            if user is not None and not user.isdigit():
                raise LeaveRefused(400, "userId must be a number")
            return "event-readables", {"event-readables": self.events(
                int(user) if user else None, _query_date(query, "startDate", False),
                _query_date(query, "endDate", False))}
        if path == "event/statuses":
            self._allow(method, "GET")
            user = query.get("userId")
            if not user or not user.isdigit():
                raise LeaveRefused(400, "the query parameter userId is required")
            return "event-restriction-readables", {"event-restriction-readables": self.statuses(
                int(user), _query_date(query, "fromDate", True), _query_date(query, "toDate", True))}
        if len(parts) == 2 and parts[0] == "event" and parts[1].isdigit():
            self._allow(method, "GET", "POST", "DELETE")
            event_id = int(parts[1])
            if method == "GET":
                event = self.event(event_id)
                if event is None:
                    raise LeaveRefused(404, f"Event {event_id} not found")
                return "event-readable", event
            if method == "POST":
                return "saved", {"id": self.update_event(event_id, body)}
            return "deleted", {"id": self.delete_event(event_id)}
        m = re.fullmatch(r"payroll/user/(\d+)/(schedule|event/from)/([^/]+)/to/([^/]+)", path)
        if m:
            self._allow(method, "GET")
            user_id, what = int(m[1]), m[2]
            try:
                start, end = date.fromisoformat(m[3]), date.fromisoformat(m[4])
            except ValueError:
                raise LeaveRefused(500, TECHNICAL_ERROR) from None
            if end < start:
                raise LeaveRefused(400, "the end date is before the start date")
            if not self._user_known(user_id):
                raise LeaveRefused(404, f"User {user_id} not found")
            if what == "schedule":
                return "payroll-user-schedule-metadatas", {
                    "payroll-user-schedule-metadatas": self.schedule(user_id, start, end)}
            return "payroll-events", {"payroll-events": self.payroll_events(user_id, start, end)}
        return None

    @staticmethod
    def _allow(method: str, *allowed: str) -> None:
        if method not in allowed:
            raise LeaveRefused(405, "Method Not Allowed")


def make_leave_app(db_path: str | Path, *, token: str, company_id: int = 1,
                   seed: Mapping[str, Any] | None = None, me: int = 0,
                   today: date | None = None) -> Starlette:
    """The leave endpoints alone under ``/v1/company/{company-id}`` (for tests and trying them):
    ``X-Token`` checked (401), the company checked (403), JSON answers, errors as
    ``{"message": ...}``. ``app.state.leave`` is the :class:`LeaveStore`."""
    conn = sqlite3.connect(str(db_path), check_same_thread=False, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    store = LeaveStore(conn, me=me, today=today)
    if seed is not None:
        store.load(seed)

    def answer(status: int, payload: Any) -> Response:
        return Response(_dumps(payload), status, media_type="application/json")

    async def api(request: Request) -> Response:
        if not hmac.compare_digest(request.headers.get("x-token", "").encode(), token.encode()):
            return answer(401, {"message": "Invalid or missing X-Token"})
        company = request.path_params["company"]
        if not company.isdigit():
            return answer(404, {"message": "Not found"})
        if int(company) != int(company_id):
            return answer(403, {"message": f"No access to company {company}"})
        body = None
        if request.method in ("PUT", "POST"):
            if "application/json" not in request.headers.get("content-type", "").lower():
                return answer(415, {"message": "Send the body as JSON (Content-Type: application/json)"})
            try:
                body = json.loads(await request.body() or b"null")
            except ValueError:
                return answer(400, {"message": "The body is not valid JSON"})
        try:
            handled = store.handle(request.method, request.path_params["rest"],
                                   dict(request.query_params), body)
        except LeaveRefused as e:
            return answer(e.status, {"message": e.message})
        if handled is None:
            return answer(404, {"message": "Not found"})
        return answer(200, handled[1])

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        conn.close()

    app = Starlette(routes=[Route("/v1/company/{company}/{rest:path}", api, methods=_METHODS)],
                    lifespan=lifespan)
    app.state.leave = store
    return app
