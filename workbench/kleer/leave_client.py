"""Kleer's leave endpoints, as functions over a :class:`~workbench.kleer.client.KleerClient`.

Each function takes the client first and goes through its one request method
(``client._request(method, path, body)``: headers, retries, the error tree and the token rules
are the client's), so nothing here opens a connection of its own. The client's retry rule holds:
a write whose answer was lost raises ``KleerUnavailable(write_may_have_landed=True)``; before
writing that day again, call :func:`find_events_by_key` (the duplicate guard: the event's
``foreign-id`` is the day's key).

Paths, query names and answers (ponbac/toki2 ``kleer/src/client.rs`` and ``kleer/src/types.rs``;
DeviesDevelopment/Kleer ``Kleer/doc.xsd``): ``GET /activity`` → ``activity-readables``;
``GET /event?userId&startDate&endDate`` → ``event-readables``; ``GET /event/statuses?userId&
fromDate&toDate`` → ``event-restriction-readables``; ``PUT /event`` / ``POST /event/{id}`` /
``DELETE /event/{id}`` → ``{"id": n}``; ``GET /payroll/user/{uid}/schedule/{start}/to/{end}``
→ ``payroll-user-schedule-metadatas``; ``GET /payroll/user/{uid}/event/from/{d}/to/{d}`` →
``payroll-events``. A schedule read for a user without a payroll contract is a 500 naming
``PayrollUserDoesNotExistException`` (toki2 ``toki-api/src/adapters/outbound/kleer/mod.rs``):
:func:`schedule` turns it into a clear :class:`~workbench.errors.KleerRejected` (404).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any, Mapping, Protocol
from urllib.parse import urlencode

from ..errors import KleerError, KleerRejected, KleerUnavailable
from ..leave.diff import DayStatus, KleerEvent, parse_events, parse_statuses
from ..leave.expand import schedule_from_kleer

__all__ = ["Requester", "list_activities", "activity_ids", "list_events", "find_events_by_key",
           "event_statuses", "create_event", "update_event", "delete_event", "schedule",
           "payroll_events"]

NO_PAYROLL_USER = "PayrollUserDoesNotExistException"


class Requester(Protocol):
    def _request(self, method: str, path: str, body: Any = None) -> Any: ...


def _get_list(client: Requester, path: str, key: str) -> list[dict]:
    answer = client._request("GET", path)
    if not isinstance(answer, Mapping) or not isinstance(answer.get(key, []), list):
        raise KleerError(f"Kleer's answer to GET {path.split('?')[0]} has no {key!r} list: "
                         "check the base URL in Settings")
    return list(answer.get(key, []))


def _saved_id(answer: Any, what: str) -> int:
    value = answer.get("id") if isinstance(answer, Mapping) else None
    if isinstance(value, Mapping):
        value = value.get("id")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise KleerError(f"Kleer's answer to {what} has no event id ({answer!r})")


def list_activities(client: Requester) -> list[dict]:
    return _get_list(client, "/activity", "activity-readables")


def activity_ids(client: Requester) -> dict[str, int]:
    """Activity name → id (the first of a name), to find the absence activities by name."""
    out: dict[str, int] = {}
    for item in list_activities(client):
        ref = item.get("id")
        ident = ref.get("id") if isinstance(ref, Mapping) else ref
        if isinstance(ident, int) and item.get("name"):
            out.setdefault(" ".join(str(item["name"]).split()), ident)
    return out


def list_events(client: Requester, user_id: int, start: date, end: date) -> list[KleerEvent]:
    query = urlencode({"userId": int(user_id), "startDate": start.isoformat(),
                       "endDate": end.isoformat()})
    return parse_events(_get_list(client, f"/event?{query}", "event-readables"))


def find_events_by_key(client: Requester, user_id: int, day: date, key: str) -> list[KleerEvent]:
    """The events of that user and day whose foreign-id is ``key`` (the guard before a create)."""
    return [e for e in list_events(client, user_id, day, day) if e.foreign_id == key]


def event_statuses(client: Requester, user_id: int, start: date, end: date) -> dict[date, DayStatus]:
    query = urlencode({"userId": int(user_id), "fromDate": start.isoformat(),
                       "toDate": end.isoformat()})
    return parse_statuses(_get_list(client, f"/event/statuses?{query}", "event-restriction-readables"))


def create_event(client: Requester, body: Mapping[str, Any]) -> int:
    """``PUT /event``; the new event's id. The body must carry its ``foreign-id``."""
    if not str(body.get("foreign-id") or "").strip():
        raise ValueError("an event needs its foreign-id (Kleer answers 500 without one)")
    return _saved_id(client._request("PUT", "/event", dict(body)), "PUT /event")


def update_event(client: Requester, event_id: int, body: Mapping[str, Any]) -> int:
    """``POST /event/{id}`` with the whole writable event."""
    return _saved_id(client._request("POST", f"/event/{int(event_id)}", dict(body)),
                     f"POST /event/{event_id}")


def delete_event(client: Requester, event_id: int) -> None:
    client._request("DELETE", f"/event/{int(event_id)}")


def schedule(client: Requester, user_id: int, start: date, end: date) -> dict[date, Decimal]:
    """Date → actual hours for the user (employment rate and holidays accounted for)."""
    path = f"/payroll/user/{int(user_id)}/schedule/{start.isoformat()}/to/{end.isoformat()}"
    try:
        answer = client._request("GET", path)
    except KleerUnavailable as e:
        if NO_PAYROLL_USER in str(e):
            raise KleerRejected(404, f"Kleer user {user_id} has no payroll contract, so it has no "
                                     "schedule: add the contract (export the employee) first",
                                method="GET", path=path) from None
        raise
    if not isinstance(answer, Mapping) or not isinstance(answer.get("payroll-user-schedule-metadatas", []), list):
        raise KleerError(f"Kleer's answer to GET {path} has no schedule list")
    return schedule_from_kleer(answer)


def payroll_events(client: Requester, user_id: int, start: date, end: date) -> list[dict]:
    """The user's payroll events (absences as Kleer's payroll sees them)."""
    path = f"/payroll/user/{int(user_id)}/event/from/{start.isoformat()}/to/{end.isoformat()}"
    return _get_list(client, path, "payroll-events")
