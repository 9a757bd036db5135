"""Check what the workbench assumes of Kleer against a real test account, with one throwaway user.

:func:`probe` walks the assumptions of :mod:`workbench.kleer.schema` that no public source
settles: who the token is, the two lists, the answer to a create (which shape), a partial and a
full ``POST /user``, a ``null`` in an update, a foreign-id miss, a user without a payroll
contract (which status), the salary read back as sent, and how JSON is chosen. It creates one
user (``foreign-id`` ``workbench-probe-…``, inactive at the end: Kleer has no DELETE) and gives
it a payroll contract with a synthetic personnummer, so run it against a **test account**
(``https://test-api.kleer.se/v1``, isolated from production). A production URL
(``api.kleer.se`` and the legacy hosts) is refused unless ``production=True``.

The :class:`ProbeReport` says per point what was assumed, what was observed and the
consequence, and ``dialect``: a JSON-able dict that :class:`~workbench.kleer.client.KleerClient`
takes (``KleerClient(..., dialect=report.dialect)``) and the simulator can speak
(``RunningSimulator(..., dialect=report.dialect)``).
"""

from __future__ import annotations

import json
import secrets
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Callable
from urllib.parse import urlsplit

from ..errors import InputError, KleerError
from ..normalize import make_personnummer
from .client import KleerClient, full_user
from .schema import Dialect, fact

__all__ = ["probe", "ProbeReport", "ProbePoint", "PRODUCTION_HOSTS"]

#: Hosts of real customer data: the probe writes, so it refuses them unless told.
PRODUCTION_HOSTS = frozenset({"api.kleer.se", "api.accounting.pe", "my.accounting.pe"})


@dataclass(frozen=True)
class ProbePoint:
    """One assumption: what the workbench ``assumed``, what Kleer ``observed``ly did, and the
    ``consequence`` for the workbench. ``as_assumed`` is None when it could not be checked."""

    name: str
    assumed: str
    observed: str
    consequence: str
    as_assumed: bool | None


@dataclass
class ProbeReport:
    base_url: str
    points: list[ProbePoint] = field(default_factory=list)
    dialect: dict[str, Any] = field(default_factory=dict)
    throwaway_user_id: int | None = None
    deactivated: bool = False

    def point(self, name: str) -> ProbePoint:
        return next(p for p in self.points if p.name == name)

    def as_dict(self) -> dict[str, Any]:
        return {"base_url": self.base_url, "dialect": self.dialect,
                "throwaway_user_id": self.throwaway_user_id, "deactivated": self.deactivated,
                "points": [asdict(p) for p in self.points]}

    def lines(self) -> list[str]:
        """The report as text, one point per line (for the CLI)."""
        mark = {True: "ok", False: "DIFFERS", None: "unchecked"}
        return [f"{p.name}: {mark[p.as_assumed]} - assumed {p.assumed}; observed {p.observed}; "
                f"{p.consequence}" for p in self.points]


def _refuse_production(client: KleerClient, production: bool) -> None:
    host = (urlsplit(client.base_url).hostname or "").lower()
    if host in PRODUCTION_HOSTS and not production:
        raise InputError(f"the probe writes a throwaway user and would do so in production "
                         f"({host}): point it at https://test-api.kleer.se/v1, or pass "
                         "production=True (--production) if you really mean it")


def _shape(response: Any) -> tuple[str, Any]:
    """(``"empty"`` | ``"xml"`` | ``"json"`` | ``"other"``, the decoded body)."""
    text = response.text or ""
    if not text.strip():
        return "empty", None
    if text.lstrip().startswith("<"):
        return "xml", text
    try:
        return "json", json.loads(text)
    except ValueError:
        return "other", text


def _message(response: Any) -> str:
    kind, body = _shape(response)
    if kind == "json" and isinstance(body, dict) and body.get("message"):
        return str(body["message"])
    if kind == "xml" and "<message>" in body:
        return body.split("<message>", 1)[1].split("</message>", 1)[0]
    return ""


def probe(client: KleerClient, *, production: bool = False,
          today: Callable[[], date] = date.today) -> ProbeReport:
    """Check the assumptions against the account behind ``client`` (see the module docstring).
    Never raises for what Kleer answers (every point records it); :class:`InputError` for a
    production URL without ``production=True``."""
    _refuse_production(client, production)
    report = ProbeReport(base_url=client.base_url)
    found: dict[str, Any] = {}
    add = report.points.append

    def check(name: str, assumed: str, step: Callable[[], tuple[str, str, bool | None]]) -> None:
        try:
            observed, consequence, as_assumed = step()
        except KleerError as e:
            observed, consequence, as_assumed = f"failed: {e}", "could not be checked", None
        add(ProbePoint(name, assumed, observed, consequence, as_assumed))

    # -- reads
    def me() -> tuple[str, str, bool | None]:
        user = client.me()
        return (f"user {user['id']} ({user.get('name', '')!s})", "Test connection works", True)

    def lists() -> tuple[str, str, bool | None]:
        users, contracts = client.list_users(), client.list_contracts()
        return (f"{len(users)} users, {len(contracts)} payroll contracts, every item with an id",
                "fetch reads both lists", True)

    def negotiation() -> tuple[str, str, bool | None]:
        r = client.send_raw("GET", "/user/me", headers={"Content-Type": None})
        kind, _ = _shape(r)
        found["negotiate"] = "accept" if kind == "json" else "content-type"
        return (f"with Accept only: {kind.upper()} ({r.headers.get('content-type', '?')})",
                "the client sends both headers on every request, so either works",
                found["negotiate"] == "content-type")

    check("user/me", "GET /user/me answers the token's user", me)
    check("lists", "GET /user and /payroll/user answer one-key lists", lists)
    check("content negotiation", "JSON is chosen by Content-Type (live notes), XML otherwise",
          negotiation)

    # -- the throwaway user
    foreign_id = f"workbench-probe-{secrets.token_hex(4)}"
    email = f"{foreign_id}@example.invalid"

    def create() -> tuple[str, str, bool | None]:
        r = client.send_raw("PUT", "/user", body={"name": "Workbench Probe", "email": email,
                                                   "active": True, "foreign-id": foreign_id})
        if r.status_code >= 300:
            return (f"{r.status_code} {_message(r)}", "creates fail: report this", False)
        kind, body = _shape(r)
        if kind == "xml":
            found["created"] = "xml"
        elif isinstance(body, dict) and isinstance(body.get("created"), dict):
            found["created"] = "created"
        elif isinstance(body, dict) and "id" in body:
            found["created"] = "id"
        new_id = client.written_id(r)
        how = "read from the answer"
        if new_id is None:
            user = client.find_user_by_foreign_id(foreign_id)
            new_id = None if user is None else user["id"]
            how = "found by foreign-id (the answer had no readable id)"
        report.throwaway_user_id = new_id
        shown = body if kind == "json" else (body or "")[:80] if kind != "empty" else "empty"
        return (f"{r.status_code} {kind}: {shown}; id {new_id} {how}",
                "the client reads every create shape; an unreadable one is resolved by "
                "foreign-id", found.get("created") in ("id", "created", "xml"))

    check("create", "PUT /user answers created{id} in some form", create)
    uid = report.throwaway_user_id

    def miss() -> tuple[str, str, bool | None]:
        r = client.send_raw("GET", f"/user/foreign-id/{foreign_id}-missing")
        return (f"{r.status_code} {_message(r)}".strip(),
                "the duplicate guard reads a miss as 'no such user'" if r.status_code == 404
                else "a miss is not 404: the duplicate guard must be adapted",
                r.status_code == 404)

    check("foreign-id miss", "GET /user/foreign-id/{unknown} answers 404", miss)

    if uid is None:
        add(ProbePoint("throwaway user", "a created user can be found", "no id",
                       "the remaining points were not checked", None))
        report.dialect = _dialect(found)
        return report

    def partial() -> tuple[str, str, bool | None]:
        r = client.send_raw("POST", f"/user/{uid}", body={"name": "Workbench Probe Partial"})
        if r.status_code < 300:
            found["user_update"] = "merge"
            found.setdefault("updated", _updated(r))
            kept = client.get_user(uid).get("email") == email
            return (f"{r.status_code}: accepted; the email was {'kept' if kept else 'LOST'}",
                    "partial updates work, but the workbench sends whole users anyway", False)
        found["user_update"] = "full"
        return (f"{r.status_code} {_message(r)}",
                "partial user updates are refused: the sync must send the whole user "
                "(KleerClient.update_user_full)", True)

    def full() -> tuple[str, str, bool | None]:
        current = client.get_user(uid)
        r = client.send_raw("POST", f"/user/{uid}",
                            body=full_user(current, {"name": "Workbench Probe Full"}))
        if r.status_code >= 300:
            return (f"{r.status_code} {_message(r)}", "whole-user updates fail: report this",
                    False)
        found["updated"] = _updated(r)
        return (f"{r.status_code}, answer {found['updated']}",
                "the client treats every success body as success", True)

    def null() -> tuple[str, str, bool | None]:
        current = client.get_user(uid)
        r = client.send_raw("POST", f"/user/{uid}", body={**full_user(current, {}),
                                                          "foreign-id": None})
        after = client.get_user(uid)
        if r.status_code >= 300:
            return (f"{r.status_code} {_message(r)}", "a null is refused: never send one", False)
        ignored = after.get("foreign-id") == foreign_id
        found["nulls_ignored"] = ignored
        return ("the value was kept (null ignored)" if ignored else "the value was cleared",
                "a field cannot be cleared with null: clearing needs an explicit value"
                if ignored else "null clears, unlike the XSD says", ignored)

    def no_contract() -> tuple[str, str, bool | None]:
        r = client.send_raw("GET", f"/payroll/user/{uid}")
        found["no_contract_status"] = r.status_code
        return (f"{r.status_code} {_message(r)}".strip(),
                "the client reads this status as 'no contract' (dialect no_contract_status)",
                r.status_code == fact("answer.no_contract"))

    def salary() -> tuple[str, str, bool | None]:
        sent = 12345
        ssn = make_personnummer(date(1990, 1, 1), 2 + secrets.randbelow(900))
        start = today().replace(day=1).isoformat()
        client.upsert_contract(uid, {"ssn": ssn, "employment-start-date": start,
                                     "monthly-salary": sent})
        contract = client.get_contract(uid) or {}
        back = contract.get("monthly-salary")
        empty = {k: contract.get(k) for k in ("phone", "tax-table") if k in contract}
        return (f"monthly-salary {back!r} read back for {sent}; empty fields read as {empty}",
                "the number round-trips; its unit is not shown by the API: open the probe "
                "user in Kleer and see whether it shows 12 345 kr or 123,45 kr, then set the "
                "salary unit in Settings", None if back == sent else False)

    check("partial POST /user", "refused: the XSD requires id, name, email, active", partial)
    check("full POST /user", "accepted; the success body is undocumented", full)
    check("null in POST /user", "ignored ('Only non-null fields will be updated/set')", null)
    check("missing contract", "GET /payroll/user/{id} answers 404 without a contract",
          no_contract)
    check("salary unit", "unknown (xs:long, other amounts are in cent)", salary)

    def deactivate() -> tuple[str, str, bool | None]:
        client.update_user_full(client.get_user(uid), {"active": False})
        report.deactivated = client.get_user(uid).get("active") is False
        return (f"user {uid} {'inactive' if report.deactivated else 'STILL ACTIVE'}",
                "Kleer has no DELETE: the probe user stays listed, inactive",
                report.deactivated)

    check("deactivate", "POST /user/{id} with active false deactivates", deactivate)
    report.dialect = _dialect(found)
    return report


def _updated(response: Any) -> str:
    kind, body = _shape(response)
    if kind == "empty":
        return "empty"
    if isinstance(body, dict):
        if isinstance(body.get("saved"), dict):
            return "saved"
        if "ok" in body:
            return "ok"
        if "id" in body:
            return "id"
    if kind == "xml" and "<saved>" in body:
        return "saved"
    return "empty"  # unreadable: the client treats any 2xx body of an update as success


def _dialect(found: dict[str, Any]) -> dict[str, Any]:
    """What was observed, as a :class:`Dialect` dict (unobserved knobs keep the strict preset's
    values)."""
    base = Dialect.parse("strict")
    strict = found.get("user_update", "full") == "full" or found.get("nulls_ignored", True)
    return Dialect(name="probed", strict=bool(strict),
                   created=found.get("created", base.created),
                   updated=found.get("updated", base.updated),
                   no_contract_status=int(found.get("no_contract_status",
                                                    base.no_contract_status)) if
                   400 <= int(found.get("no_contract_status", 404)) <= 599 else 404,
                   user_update=found.get("user_update", base.user_update),
                   negotiate=found.get("negotiate", base.negotiate)).as_dict()

