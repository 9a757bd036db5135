"""Kleer operations: create (guarded by foreign-id and personnummer, reconciled when its answer
was lost), update (re-read, conflict check, finish what is left), the foreign-id write that keeps
a link in Kleer, and the checks before a write (stale HR, a revert's every field).

A create first looks Kleer up (:class:`_Directory`: one ``GET /user`` and one ``GET
/payroll/user`` for all the plan's creates, read when the first create needs it, again once
older than ``FOREIGN_ID_MAX_AGE`` seconds, and again for a create whose claim says another row
tried it since): a user carrying the HR id as foreign-id is linked, not created again (and given
its payroll contract when it has none); a user holding the personnummer without that foreign-id
is a conflict ("already in Kleer as user N (name): match them on Import instead"). A create whose
answer never came is looked for by foreign-id until the write could have committed
(``settle_seconds`` after it was sent; at once when Kleer answered an error), then by
personnummer, before it may be sent again; one that an earlier attempt (a dead apply's, a lost
answer's) may still land waits out that window first (:func:`_kleer_create`).

An update first re-reads the Kleer user + contract: a fingerprint that differs from the plan's is
a ``conflict`` (nothing written); an update whose every field is either still as planned
*before* or already as planned *after* finishes what is left. The foreign-id write
(:func:`_kleer_link`) re-reads the user and sends it whole with the HR id; another foreign-id
already there is a conflict.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping

from ..errors import KleerUnavailable, WorkbenchError
from ..fields import FIELD, diff, email_field
from ..kleer.mapping import fingerprint as kleer_fingerprint
from ..kleer.mapping import from_kleer, to_kleer
from ..model import Operation
from ..duplicates import ssn_key
from .settle import _Outcome

log = logging.getLogger("workbench.apply")


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


@dataclass
class _Found:
    """What Kleer holds for one create: the user carrying its foreign-id, the users whose
    payroll contract holds its personnummer, and whether the personnummer could be checked."""

    by_foreign_id: dict | None
    by_ssn: list[dict] = field(default_factory=list)
    ssn_checked: bool = True
    why: str | None = None  # why the personnummer could not be checked

    def others(self, hr_id: str) -> list[dict]:
        """The users holding the personnummer without carrying this HR id (another person in
        the workspace's eyes, the same person in Kleer's)."""
        return [u for u in self.by_ssn if str(u.get("foreign-id") or "") != str(hr_id)]


class _Directory:
    """Kleer's users by foreign-id and by personnummer, from one ``GET /user`` and one
    ``GET /payroll/user`` (lists are not paged), read when first asked, again once older than
    ``max_age`` seconds, and again when a caller needs a read that started after a given time
    (``fresh_after``: its claim, so a create another apply settled before it is seen). Thread-safe:
    callers waiting on the lock share one read. When the users cannot be listed, each question
    goes to ``GET /user/foreign-id/{id}``; when the contracts cannot, the personnummer is
    unchecked (the create does not run)."""

    def __init__(self, client: Any, max_age: float):
        self._client, self._max_age = client, max_age
        self._lock = threading.Lock()
        self._users: dict[str, dict] | None = None
        self._by_ssn: dict[str, list[dict]] | None = None
        self._read_at = -math.inf       # monotonic, for max_age
        self._read_started = -math.inf  # epoch, for fresh_after
        self._why: str | None = None

    def _read(self) -> None:
        self._read_at, self._read_started = time.monotonic(), time.time()
        try:
            users = self._client.list_users()
        except WorkbenchError as e:
            self._users, self._by_ssn, self._why = None, None, str(e)
            return
        self._users = _by_foreign_id(users)
        try:
            contracts = self._client.list_contracts()
        except WorkbenchError as e:
            self._by_ssn, self._why = None, str(e)
            return
        self._by_ssn, self._why = _by_ssn(users, contracts), None

    def find(self, hr_id: str, ssn: str | None, *, fresh_after: float | None = None) -> _Found:
        with self._lock:
            stale = time.monotonic() - self._read_at > self._max_age
            if stale or (fresh_after is not None and self._read_started < fresh_after):
                self._read()
            users, by_ssn, why = self._users, self._by_ssn, self._why
        if users is None:
            return _Found(self._client.find_user_by_foreign_id(hr_id), ssn_checked=ssn is None,
                          why=why)
        return _Found(users.get(str(hr_id)), list((by_ssn or {}).get(ssn, ())) if ssn else [],
                      ssn_checked=ssn is None or by_ssn is not None, why=why)


def _by_foreign_id(users: list[dict]) -> dict[str, dict]:
    """Every user by foreign-id (the lowest id when several carry one, as the lookup answers)."""
    out: dict[str, dict] = {}
    for user in sorted(users, key=lambda u: int(u["id"])):
        if user.get("foreign-id") not in (None, ""):
            out.setdefault(str(user["foreign-id"]), user)
    return out


def _by_ssn(users: list[dict], contracts: list[dict]) -> dict[str, list[dict]]:
    """Every user by the normalised personnummer of its payroll contract (:func:`ssn_key`)."""
    by_id = {int(u["id"]): u for u in users}
    out: dict[str, list[dict]] = {}
    for c in contracts:
        ref = c.get("user") if isinstance(c.get("user"), Mapping) else {}
        key = ssn_key(c.get("ssn"))
        if key and ref.get("id") is not None:
            uid = int(ref["id"])
            out.setdefault(key, []).append(by_id.get(uid, {"id": uid}))
    return out


def _who(user: Mapping[str, Any]) -> str:
    name = user.get("name")
    return f"user {user['id']}" + (f" ({name})" if name else "")


@dataclass
class _Create:
    """What a create needs besides the operation: how to look Kleer up, when an earlier
    attempt that may still land was sent, how long a slow write may take to commit, and how
    to record (in the journal) that the create is being sent."""

    find: Callable[..., _Found]
    ssn: str | None = None
    uncertain_since: float | None = None
    settle_seconds: float = 15.0
    mark_sent: Callable[[float], None] = lambda at: None
    poll_seconds: float = 0.25


def _landed(client: Any, op: Operation, ctx: _Create, until: float) -> dict | None:
    """The user a create of ``op`` made, asked by foreign-id until ``until`` (epoch seconds),
    so a write still on its way (slow, not lost) is waited for. None: not there by then."""
    while True:
        try:
            user = client.find_user_by_foreign_id(op.hr_id)
        except WorkbenchError:
            user = None  # cannot ask now: ask again until the window ends
        if user is not None or time.time() >= until:
            return user
        time.sleep(min(ctx.poll_seconds, max(0.0, until - time.time())))


def _kleer_create(client: Any, op: Operation, pref: str, ctx: _Create, *,
                  salary_unit: str = "kronor", salary_start: str | None = None) -> _Outcome:
    """Create (or find by foreign-id), give a payroll contract, report. Never beside a create
    that may still land: an earlier attempt's window is waited out first, and a lost answer is
    reconciled (foreign-id, then personnummer) before the apply may try again."""
    user_fields, contract_fields = to_kleer(op.after, email_preference=pref,
                                            salary_unit=salary_unit, salary_start=salary_start)
    answer: dict[str, Any] = {}
    found: _Found | None = None
    if ctx.uncertain_since is not None:  # an earlier attempt may still land: wait it out
        user = _landed(client, op, ctx, ctx.uncertain_since + ctx.settle_seconds)
        if user is not None:
            found = _Found(user)
            answer["recovered"] = True
        else:
            found = ctx.find(op.hr_id, ctx.ssn, fresh_after=time.time())
    if found is None:
        found = ctx.find(op.hr_id, ctx.ssn)
    existing = found.by_foreign_id
    if existing is None:
        others = found.others(op.hr_id)
        if others:
            who = ", ".join(_who(u) for u in others)
            return _Outcome("conflict", f"already in Kleer as {who}: match them on Import instead "
                            "(nothing created)", {"already_in_kleer": [int(u["id"]) for u in others]})
        if not found.ssn_checked:
            return _Outcome("failed", "cannot check in Kleer whether the personnummer already "
                            f"belongs to a user (the payroll list could not be read: {found.why}); "
                            "nothing created: re-run the apply", {"status": None})
        new_id = _send_create(client, op, ctx, user_fields, answer)
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


def _send_create(client: Any, op: Operation, ctx: _Create, user_fields: dict,
                 answer: dict[str, Any]) -> int:
    """``PUT /user`` once, journaled as sent first; a lost answer is reconciled: Kleer is asked
    by foreign-id until the write could have committed (at once when Kleer answered an error,
    up to ``settle_seconds`` when the answer never came), then by personnummer. Raises the
    write's error when the user is not there (the caller may try again after that)."""
    sent = time.time()
    ctx.mark_sent(sent)
    try:
        new_id = client.create_user(user_fields)
    except KleerUnavailable as e:
        if not e.write_may_have_landed:
            raise
        answered = e.status is not None  # Kleer answered (5xx): the write is over either way
        until = time.time() if answered else sent + ctx.settle_seconds
        user = _landed(client, op, ctx, until)
        if user is None:
            try:
                late = ctx.find(op.hr_id, ctx.ssn, fresh_after=time.time())
            except WorkbenchError:
                raise e from None
            other = next(iter(late.others(op.hr_id)), None)
            user = late.by_foreign_id
            if user is None and other is not None:
                raise KleerUnavailable(
                    f"{e}; Kleer now holds the personnummer as {_who(other)}, not this HR id: "
                    "check it before running again", status=e.status, method=e.method,
                    path=e.path, write_may_have_landed=True) from None
        if user is None:
            raise
        answer["recovered"] = True
        return int(user["id"])
    if new_id is None:  # the create landed although its answer carried no id
        new_id = int(client.find_user_by_foreign_id(op.hr_id)["id"])
        answer["recovered"] = True
    return int(new_id)


def _kleer_link(client: Any, op: Operation) -> _Outcome:
    """Write the HR id into a linked Kleer user's ``foreign-id`` (the link kept in Kleer):
    from a fresh read, the whole user sent back with it. A user that already carries another
    foreign-id is a conflict, not an overwrite."""
    kleer_id = int(op.kleer_id)
    user = client.get_user(kleer_id)
    now = user.get("foreign-id")
    if str(now or "") == str(op.hr_id):
        return _Outcome("done", answer={"already": True}, kleer_id=kleer_id)
    if now not in (None, ""):
        fields = {"hr_id": {"field": "hr_id", "label": FIELD["hr_id"].label,
                            "snapshot": op.before.get("hr_id"), "planned": op.hr_id, "now": now}}
        return _Outcome("conflict", f"Kleer user {kleer_id} carries foreign-id {now}, not "
                        f"{op.hr_id}: not overwritten; check which HR employee it is",
                        {"fields": fields}, kleer_id)
    _verified(lambda: client.update_user_full(user, {"foreign-id": op.hr_id}),
              lambda: str(client.get_user(kleer_id).get("foreign-id") or "") == str(op.hr_id))
    return _Outcome("done", answer={"written": {"user": ["foreign-id"]}}, kleer_id=kleer_id,
                    wrote=True)


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
            snapshot: Mapping[str, Any] | None, create: "_Create | None", *,
            salary_unit: str = "kronor", salary_start: str | None = None) -> _Outcome:
    wire = {"salary_unit": salary_unit, "salary_start": salary_start}
    try:
        if op.kind == "kleer_create":
            return _kleer_create(client, op, pref, create, **wire)
        if op.kind == "kleer_link":
            return _kleer_link(client, op)
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


# --------------------------------------------------------------------------- checks before a write

def _hr_moved(current: Mapping[str, Any] | None, op: Operation) -> _Outcome | None:
    """An export operation whose HR values changed since the plan was built (the HR file was
    loaded again): a conflict naming each field with the plan's value and the register's now,
    never the stale value written. None when the register still holds what the plan writes."""
    if current is None:
        return _Outcome("failed", f"HR employee {op.hr_id} is not in the HR register any more; "
                        "load the HR file and plan again")
    moved = {c.key: {"field": c.key, "label": c.label, "planned": c.after, "now": current.get(c.key)}
             for c in op.changes if c.key != "hr_id" and c.key in FIELD
             and not _planned_default(c, current)
             and not FIELD[c.key].compare(current.get(c.key), c.after)}
    if not moved:
        return None
    return _Outcome("conflict", "changed in the HR register since the plan ("
                    + ", ".join(m["label"] for m in moved.values())
                    + "); not written to Kleer: plan again", {"fields": moved, "source": "hr"},
                    op.kleer_id)


def _planned_default(c: Any, current: Mapping[str, Any]) -> bool:
    """A value the plan gave a create itself, not from HR: ``active`` true when the HR file
    has no active value (Kleer requires one)."""
    return c.key == "active" and c.before is None and c.after is True and current.get("active") is None


def _revert_fields(client: Any, op: Operation, pref: str, salary_unit: str = "kronor"
                   ) -> tuple[Operation | None, dict[str, dict], tuple[dict, dict | None]]:
    """Check every field a revert would restore against Kleer now (re-read): it must still
    hold what the batch wrote (``c.before`` of the revert), or already the value the revert
    restores. Returns (the operation narrowed to the fields it may restore, expecting Kleer's
    current fingerprint, or None when none is left to write; the fields in conflict with the
    three values: before the batch, what it wrote, now; the read)."""
    user, contract = _read(client, int(op.kleer_id))
    current = from_kleer(user, contract, salary_unit=salary_unit)
    written = {c.key: c.before for c in op.changes}
    restore = {c.key: c.after for c in op.changes}
    not_written = {d.key for d in diff(written, current, email_preference=pref)}
    not_restored = {d.key for d in diff(restore, current, email_preference=pref)}
    conflicts, keep = {}, []
    for c in op.changes:
        if c.key not in not_restored:
            continue  # already holds the value before the batch
        if c.key in not_written:
            conflicts[c.key] = {"field": c.key, "label": c.label, "before": c.after,
                                "written": c.before, "now": _kleer_value(current, c.key)}
        else:
            keep.append(c)
    if not keep:
        return None, conflicts, (user, contract)
    narrowed = replace(op, changes=tuple(keep), kleer_fingerprint=kleer_fingerprint(user, contract))
    return narrowed, conflicts, (user, contract)
