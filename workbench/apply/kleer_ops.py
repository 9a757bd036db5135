"""Kleer operations: create (guarded by a foreign-id lookup) and update (re-read, conflict check,
finish what is left), with a lost answer checked before it is reported.

A create first looks up ``foreign-id``: an existing user is linked, not created again (and given
its payroll contract when it has none), so a create whose answer was lost, or a crash after it,
never makes a duplicate. The lookup is one ``GET /user`` (not paged) for all the plan's creates
(:class:`_ForeignIds`), read when the first create needs it and again once it is older than
``FOREIGN_ID_MAX_AGE`` seconds. An update first re-reads the Kleer user + contract: a fingerprint
that differs from the plan's is a ``conflict`` (nothing written); an update whose every field is
either still as planned *before* or already as planned *after* finishes what is left.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from typing import Any, Callable, Mapping

from ..errors import KleerUnavailable, WorkbenchError
from ..fields import FIELD, diff, email_field
from ..kleer.mapping import fingerprint as kleer_fingerprint
from ..kleer.mapping import from_kleer, to_kleer
from ..model import Operation
from .settle import _Outcome

log = logging.getLogger("workbench.apply")

Lookup = Callable[[str], "dict | None"]  # foreign-id -> the Kleer user carrying it, or None


def _kleer_conflicts(op: Operation, current: Mapping[str, Any], email_preference: str
                     ) -> tuple[dict[str, dict], list[str]]:
    """(fields neither before nor after, fields still before) — compared as the diff does."""
    before = {c.key: c.before for c in op.changes}
    after = {c.key: c.after for c in op.changes}
    at_after = {d.key for d in diff(after, current, email_preference=email_preference)}
    at_before = {d.key for d in diff(before, current, email_preference=email_preference)}
    neither, remaining = {}, []
    for c in op.changes:
        if c.key not in at_after:
            continue  # already as planned after
        if c.key in at_before:
            neither[c.key] = {"field": c.key, "label": c.label, "snapshot": c.before,
                              "now": _kleer_value(current, c.key), "planned": c.after}
        else:
            remaining.append(c.key)
    return neither, remaining


def _merged(current: Mapping[str, Any], op: Operation, email_preference: str) -> dict[str, Any]:
    """The record Kleer should hold: its current values with the operation's after-values."""
    record = {f.key: current.get(f.kleer_side_key) for f in FIELD.values() if f.kleer}
    record[email_field(email_preference)] = current.get("email")
    record.update(op.after)
    return record


def _verified(write: Callable[[], Any], landed: Callable[[], bool]) -> Any:
    """Run a write; when its answer was lost, ``landed()`` decides whether it took effect."""
    try:
        return write()
    except KleerUnavailable as e:
        if not e.write_may_have_landed:
            raise
        try:
            if landed():
                return None
        except WorkbenchError:
            pass  # cannot tell: report the write's own error (it may have landed)
        raise


def _read(client: Any, kleer_id: int) -> tuple[dict, dict | None]:
    return client.get_user(kleer_id), client.get_contract(kleer_id)


class _ForeignIds:
    """Kleer's users by foreign-id from one ``GET /user`` (lists are not paged), read when
    first asked and again once older than ``max_age`` seconds; thread-safe. When the list
    cannot be read, each question goes to ``GET /user/foreign-id/{id}`` until the next try."""

    def __init__(self, client: Any, max_age: float):
        self._client, self._max_age = client, max_age
        self._lock = threading.Lock()
        self._users: dict[str, dict] | None = None
        self._read_at = -math.inf

    def find(self, foreign_id: str) -> dict | None:
        with self._lock:
            if time.monotonic() - self._read_at > self._max_age:
                self._read_at = time.monotonic()
                self._users = _by_foreign_id(self._client)
            users = self._users
        if users is None:
            return self._client.find_user_by_foreign_id(foreign_id)
        return users.get(str(foreign_id))


def _by_foreign_id(client: Any) -> dict[str, dict] | None:
    """Every user by foreign-id (the lowest id when several carry one, as the lookup answers),
    or None when Kleer cannot give the list now."""
    try:
        users = client.list_users()
    except WorkbenchError:
        return None
    out: dict[str, dict] = {}
    for user in sorted(users, key=lambda u: int(u["id"])):
        if user.get("foreign-id") not in (None, ""):
            out.setdefault(str(user["foreign-id"]), user)
    return out


def _kleer_create(client: Any, op: Operation, pref: str, lookup: Lookup, *,
                  salary_unit: str = "kronor", salary_start: str | None = None) -> _Outcome:
    """Create (or find by foreign-id, through ``lookup``), give a payroll contract, report."""
    user_fields, contract_fields = to_kleer(op.after, email_preference=pref,
                                            salary_unit=salary_unit, salary_start=salary_start)
    existing = lookup(op.hr_id)
    answer: dict[str, Any] = {}
    if existing is None:
        new_id = _verified(lambda: client.create_user(user_fields),
                           lambda: client.find_user_by_foreign_id(op.hr_id) is not None)
        if new_id is None:  # the create landed although its answer was lost
            new_id = int(client.find_user_by_foreign_id(op.hr_id)["id"])
            answer["recovered"] = True
        kleer_id, answer["created"] = int(new_id), True
        has_contract = False
    else:
        kleer_id, answer["created"] = int(existing["id"]), False
        has_contract = client.get_contract(kleer_id) is not None
    if contract_fields and not has_contract:
        _verified(lambda: client.upsert_contract(kleer_id, contract_fields),
                  lambda: client.get_contract(kleer_id) is not None)
        answer["contract_created"] = True
    answer["kleer_id"] = kleer_id
    return _Outcome("done", answer=answer, kleer_id=kleer_id,
                    wrote=answer["created"] or "contract_created" in answer)


#: (column, label, field) of every Kleer-held value in a canonical Kleer record, once each.
_KLEER_COLUMNS = (("name", "Name", FIELD["first_name"]),) + tuple({
    f.kleer_side_key: (f.kleer_side_key, "Email" if f.kleer_side_key == "email" else f.label, f)
    for f in FIELD.values() if f.kleer is not None and f.key not in ("first_name", "last_name")
}.values())


def _changed_in_kleer(snapshot: Mapping[str, Any] | None, current: Mapping[str, Any]
                      ) -> dict[str, dict]:
    """The values that differ between the snapshot row and Kleer now, with both values."""
    return {column: {"field": column, "label": label,
                     "snapshot": snapshot.get("foreign_id" if column == "hr_id" else column),
                     "now": current.get(column)}
            for column, label, f in _KLEER_COLUMNS
            if not f.compare(snapshot.get("foreign_id" if column == "hr_id" else column),
                             current.get(column))} if snapshot else {}


def _kleer_update(client: Any, op: Operation, pref: str, retried: bool,
                  snapshot: Mapping[str, Any] | None, *, salary_unit: str = "kronor",
                  salary_start: str | None = None) -> _Outcome:
    kleer_id = int(op.kleer_id)
    user, contract = _read(client, kleer_id)
    current = from_kleer(user, contract, salary_unit=salary_unit)
    keys = list(op.fields)
    if kleer_fingerprint(user, contract) != op.kleer_fingerprint:
        neither, remaining = _kleer_conflicts(op, current, pref)
        if neither or not retried:
            changed = neither or _changed_in_kleer(snapshot, current) or {
                c.key: {"field": c.key, "label": c.label, "snapshot": c.before,
                        "now": _kleer_value(current, c.key)} for c in op.changes}
            what = ", ".join(v["label"] for v in changed.values())
            return _Outcome("conflict", f"changed in Kleer since the snapshot ({what}); not "
                            "written: fetch Kleer and plan again", {"fields": changed}, kleer_id)
        keys = remaining
    if not keys:
        return _Outcome("done", answer={"already_applied": list(op.fields)}, kleer_id=kleer_id,
                        refresh=(user, contract))
    user_keys = [k for k in keys if FIELD[k].kleer.obj == "user"]
    contract_keys = [k for k in keys if FIELD[k].kleer.obj == "contract"]
    merged = _merged(current, op, pref)

    def landed(written: list[str]) -> bool:
        now = from_kleer(*_read(client, kleer_id), salary_unit=salary_unit)
        neither, remaining = _kleer_conflicts(op, now, pref)
        return not (set(neither) | set(remaining)) & set(written)

    user_fields = to_kleer(merged, email_preference=pref, only=user_keys)[0] if user_keys else {}
    contract_fields = to_kleer(merged, email_preference=pref, only=contract_keys,
                               salary_unit=salary_unit, salary_start=salary_start)[1] \
        if contract_keys else {}
    if user_fields:  # the whole user: the XSD requires id, name, email and active on a write
        _verified(lambda: client.update_user_full(user, user_fields), lambda: landed(user_keys))
    if contract_fields:
        _verified(lambda: client.upsert_contract(kleer_id, contract_fields),
                  lambda: landed(contract_keys))
    return _Outcome("done", answer={"written": {"user": sorted(user_fields),
                                                "contract": sorted(contract_fields)}},
                    kleer_id=kleer_id, wrote=bool(user_fields or contract_fields))


def _kleer_value(current: Mapping[str, Any], key: str) -> Any:
    """A field's value in a canonical Kleer record (the name for either name part)."""
    if key in ("first_name", "last_name"):
        return current.get("name")
    return current.get(FIELD[key].kleer_side_key)


def _remote(client: Any, op: Operation, pref: str, retried: bool,
            snapshot: Mapping[str, Any] | None, lookup: Lookup, *, salary_unit: str = "kronor",
            salary_start: str | None = None) -> _Outcome:
    wire = {"salary_unit": salary_unit, "salary_start": salary_start}
    try:
        if op.kind == "kleer_create":
            return _kleer_create(client, op, pref, lookup, **wire)
        return _kleer_update(client, op, pref, retried, snapshot, **wire)
    except KleerUnavailable as e:
        return _Outcome("failed", str(e) + ("; re-run the apply: it looks before it writes, so "
                                            "nothing is done twice" if e.write_may_have_landed else ""),
                        {"status": e.status, "write_may_have_landed": e.write_may_have_landed})
    except WorkbenchError as e:
        return _Outcome("failed", str(e), {"status": getattr(e, "status", None)})
    except (KeyError, TypeError, ValueError) as e:  # an answer of a shape nobody foresaw
        log.exception("operation %s: unexpected answer from Kleer", op.op_id)
        return _Outcome("failed", f"Kleer's answer could not be used ({type(e).__name__}: "
                        f"{' '.join(str(e).split())[:200]}); nothing more was written for this "
                        "operation: run the probe from Settings, then re-run the apply",
                        {"status": None})

