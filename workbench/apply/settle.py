"""Settling an operation: its journal row, local effects (links, the snapshot row set aside for
a re-read) and audit row, in one transaction; and the re-read of written Kleer records at the end.

The snapshot follows the writes without a re-read per operation. Settling a remote operation
replaces its record's ``kleer_users`` row by the read it holds when it wrote nothing after that
read (an update found already applied), or else deletes the row in the same transaction; once
every operation has settled, one ``GET /user`` + ``GET /payroll/user`` puts back every record
whose row the journal says is missing (done or conflicting Kleer operations since the last
fetch), also those of an earlier apply that was interrupted before its re-read. Until then a
written record is absent, never stale: a plan built meanwhile blocks its operations with
"not in the snapshot; fetch Kleer again" instead of reporting a false conflict. A record written
again by another apply after the list was read (its audit row is newer than the read) is left for
that apply's own re-read.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from ..errors import WorkbenchError
from ..fields import mask
from ..kleer.mapping import from_kleer, records_from_kleer
from ..model import Operation, Plan
from ..duplicates import ssn_key
from ..store import Workspace, utcnow
from .claims import _Owner

KLEER_KINDS = ("kleer_create", "kleer_update", "kleer_link")


@dataclass
class _Outcome:
    status: str
    reason: str | None = None
    answer: dict[str, Any] = field(default_factory=dict)
    kleer_id: int | None = None
    refresh: tuple[dict, dict | None] | None = None  # (user, contract) read after the last write
    wrote: bool = False  # Kleer was changed (the snapshot row no longer holds what Kleer has)


def _settle(ws: Workspace, plan: Plan, op: Operation, batch_id: str, me: _Owner | None,
            outcome: _Outcome, started: float, analyst: str | None) -> _Outcome:
    """Record how ``op`` ended, with its local effects and audit row, in one transaction.
    Returns the outcome as recorded (a link that cannot be made turns ``done`` into ``conflict``)."""
    with ws.atomic():
        row = ws.journal.row(plan.id, op.op_id)
        if me is not None and (row is None or row["owner"] != me.id or row["status"] != "pending"):
            return _Outcome("lost", "another apply took this operation over")
        kleer_id = outcome.kleer_id if outcome.kleer_id is not None else op.kleer_id
        if outcome.status == "done":
            problem = _link_problem(ws, op, kleer_id)
            if problem:
                outcome = replace(outcome, status="conflict", reason=problem,
                                  answer={**outcome.answer, "link": problem})
            else:
                _link_effect(ws, op, kleer_id, batch_id, analyst)
        if op.remote and kleer_id is not None and op.kind in KLEER_KINDS:  # not leave days
            _follow_snapshot(ws, int(kleer_id), outcome, plan.salary_unit)
        if outcome.status == "conflict":
            outcome = replace(outcome, reason=with_values(outcome.reason, outcome.answer))
        if me is not None:
            ws.subjects.release(me.id, plan.id, op.op_id)
        values = {"status": outcome.status, "answer": outcome.answer,
                  "error": outcome.reason, "finished_at": utcnow(), "kleer_id": kleer_id,
                  "duration_ms": round((time.monotonic() - started) * 1000, 1),
                  "owner": None, "lease_until": None}
        if row is None:
            journal_id = ws.journal.insert({
                "plan_id": plan.id, "op_id": op.op_id, "batch_id": batch_id, "seq": op.seq,
                "kind": op.kind, "action": op.action, "hr_id": op.hr_id,
                "target": ",".join(op.targets), "before": op.before,
                "after": op.after, "attempts": 1, "started_at": values["finished_at"],
                **values})
        else:
            journal_id = row["id"]
            ws.journal.update(journal_id, values)
        # before/after are the journal row's (stored once, there): the audit row points at it
        ws.audit.append(event="operation", analyst=analyst, action=op.kind, hr_id=op.hr_id,
                        kleer_id=kleer_id, batch_id=batch_id, plan_id=plan.id, score=op.score,
                        journal_id=journal_id, result=outcome.status,
                        detail={"op_id": op.op_id, "decision": op.action, "reason": outcome.reason,
                                "answer": outcome.answer})
    return outcome


def _shown(key: str, value: Any) -> str:
    return "∅" if value is None or value == "" else str(mask(key, value))


def with_values(reason: str | None, answer: Mapping[str, Any] | None) -> str | None:
    """A conflict's reason with each field's values: the plan's (or what the batch wrote) and
    Kleer's or the register's now (personal numbers masked), e.g. "Phone: plan 070-1, now
    070-2". The CLI, the result banner and the audit show this text."""
    fields = (answer or {}).get("fields") or {}
    if not fields or not reason or "; values: " in reason:
        return reason
    parts = []
    for key, f in fields.items():
        label = f.get("label") or key
        if "written" in f:
            parts.append(f"{label}: before {_shown(key, f.get('before'))}, the batch wrote "
                         f"{_shown(key, f.get('written'))}, now {_shown(key, f.get('now'))}")
        else:
            was = f"snapshot {_shown(key, f['snapshot'])}, " if "snapshot" in f else ""
            plan = f"plan {_shown(key, f['planned'])}, " if "planned" in f else ""
            parts.append(f"{label}: {was}{plan}now {_shown(key, f.get('now'))}")
    return f"{reason}; values: " + "; ".join(parts)


def _link_problem(ws: Workspace, op: Operation, kleer_id: int | None) -> str | None:
    """Why the operation's link cannot be created or ended as planned (None: it can)."""
    by_hr = ws.links.of(hr_id=op.hr_id) if op.hr_id is not None else None
    if op.link == "create":
        if by_hr and by_hr["kleer_id"] == kleer_id:
            return None
        if by_hr:
            return f"HR employee {op.hr_id} is now linked to Kleer user {by_hr['kleer_id']}"
        by_kleer = ws.links.of(kleer_id=kleer_id)
        if by_kleer:
            return f"Kleer user {kleer_id} is now linked to HR employee {by_kleer['hr_id']}"
    elif op.link == "end" and by_hr and by_hr["kleer_id"] != kleer_id:
        return f"HR employee {op.hr_id} is now linked to Kleer user {by_hr['kleer_id']}"
    return None


def _link_effect(ws: Workspace, op: Operation, kleer_id: int | None, batch_id: str,
                 analyst: str | None) -> None:
    """Create or end the operation's link (checked by :func:`_link_problem` first)."""
    current = ws.links.of(hr_id=op.hr_id) if op.hr_id is not None else None
    if op.link == "create" and current is None:
        ws.links.add(op.hr_id, kleer_id, analyst=analyst, method=op.method or op.action,
                    score=op.score, batch_id=batch_id)
    elif op.link == "end" and current is not None:
        ws.links.end(hr_id=op.hr_id, analyst=analyst, batch_id=batch_id)


def _follow_snapshot(ws: Workspace, kleer_id: int, outcome: _Outcome,
                     salary_unit: str = "kronor") -> None:
    """The snapshot row of a settled remote operation's record: the read the operation holds
    (nothing written after it), else deleted when Kleer was or may be changed, until the
    re-read at the end of the apply (:func:`_refresh_written`) puts it back."""
    if outcome.refresh is not None:
        ws.kleer.refresh([from_kleer(*outcome.refresh, salary_unit=salary_unit)])
    elif outcome.wrote or outcome.status == "done":
        ws.kleer.set_aside(kleer_id)


def _unrefreshed(ws: Workspace) -> list[int]:
    """Kleer records that Kleer operations settled (done, or written then in conflict) since
    the last fetch and whose snapshot row is still set aside for a re-read."""
    since = (ws.kleer.last_snapshot() or {}).get("fetched_at") or ""
    return ws.journal.written_not_reread(KLEER_KINDS, since)


def _refresh_written(ws: Workspace, client: Any, *, lists: tuple[list, list] | None = None,
                     mark: int | None = None) -> tuple[int, ...]:
    """Read back every record :func:`_unrefreshed` names with one list of users and one of
    contracts (``lists``, read after ``mark``, when the caller has them); returns those still
    not read back (Kleer unreachable, or no such user).

    A record that a Kleer operation settled after the lists were requested (an audit row newer
    than the mark) may have been written after they were read: it is left for the re-read of
    the apply that wrote it."""
    wanted = _unrefreshed(ws)
    if not wanted or client is None:
        return tuple(wanted)
    if lists is None:
        mark = ws.audit.last_id()
        try:
            lists = (client.list_users(), client.list_contracts())
        except WorkbenchError:
            return tuple(wanted)
    users, contracts = lists
    with ws.atomic():
        moved = ws.audit.kleer_written_since(mark, KLEER_KINDS)
        ids = set(wanted) & set(_unrefreshed(ws)) - moved
        records = records_from_kleer([u for u in users if int(u["id"]) in ids], contracts,
                                     salary_unit=ws.settings.get("salary_unit", "kronor"))
        ws.kleer.refresh(records)
    return tuple(sorted(ids - {r["kleer_id"] for r in records}))


# --------------------------------------------------------------------------- the end of an apply

@dataclass
class _End:
    """What the end of an apply found: records not read back, duplicates, a sweep not run."""

    unrefreshed: tuple[int, ...] = ()
    duplicates: tuple[dict, ...] = ()
    sweep_error: str | None = None


def _end_of_apply(ws: Workspace, client: Any, batch_id: str, analyst: str | None,
                  since: str = "") -> _End:
    """Once every operation has settled: one ``GET /user`` + ``GET /payroll/user`` (only when
    something was written or created) to read back what was written (:func:`_refresh_written`)
    and to sweep what this batch created for duplicates (:func:`_sweep`)."""
    wanted = _unrefreshed(ws)
    created = ws.journal.created_by_batch(batch_id)
    if not wanted and not any((row.get("finished_at") or "") >= since for row in created):
        return _End()
    mark = ws.audit.last_id()
    try:
        users, contracts = client.list_users(), client.list_contracts()
    except WorkbenchError as e:
        return _End(tuple(wanted), (), f"the duplicate check after the apply could not read "
                    f"Kleer ({e}): run the apply again to check" if created else None)
    unrefreshed = _refresh_written(ws, client, lists=(users, contracts), mark=mark) if wanted else ()
    return _End(unrefreshed, _sweep(ws, batch_id, created, users, contracts, analyst))


def _sweep(ws: Workspace, batch_id: str, created: list[dict], users: list[dict],
           contracts: list[dict], analyst: str | None) -> tuple[dict, ...]:
    """Every HR employee this batch created (or linked to by its create) that more than one
    active Kleer user holds, by foreign-id or by personnummer: reported (with both ids and
    what to do) in the result and the audit; nothing is changed in Kleer."""
    active = {int(u["id"]): u for u in users if u.get("active", True) not in (False, "false", 0)}
    by_fid: dict[str, set[int]] = {}
    for uid, u in active.items():
        if u.get("foreign-id") not in (None, ""):
            by_fid.setdefault(str(u["foreign-id"]), set()).add(uid)
    by_ssn: dict[str, set[int]] = {}
    for c in contracts:
        ref = c.get("user") if isinstance(c.get("user"), Mapping) else {}
        key = ssn_key(c.get("ssn"))
        if key and ref.get("id") is not None and int(ref["id"]) in active:
            by_ssn.setdefault(key, set()).add(int(ref["id"]))
    found = []
    for row in created:
        kid = int(row["kleer_id"]) if row["kleer_id"] is not None else None
        same_fid = by_fid.get(str(row["hr_id"]), set())
        same_ssn = by_ssn.get(row.get("ssn_key") or ssn_key((row.get("after") or {}).get("ssn")) or "", set())
        extra = sorted((same_fid | same_ssn) - {kid})
        if not extra:
            continue
        how = " and ".join(w for w, ids in (("foreign-id", same_fid), ("personnummer", same_ssn))
                           if set(extra) & ids)
        message = (f"DUPLICATE in Kleer: HR employee {row['hr_id']} is Kleer user {kid} (linked) "
                   f"and also user {', '.join(map(str, extra))} (same {how}). The workbench "
                   "deletes nothing in Kleer: check which user holds payroll history, then "
                   f"deactivate the extra one through a plan (`workbench deactivate "
                   f"{' '.join(map(str, extra))}`, then `workbench apply`), or match it instead")
        found.append({"op_id": row["op_id"], "hr_id": row["hr_id"], "linked": kid,
                      "extra": extra, "by": how, "message": message})
    if found:
        with ws.atomic():
            for d in found:
                ws.audit.append(event="duplicate", analyst=analyst, action="sweep",
                                hr_id=d["hr_id"], kleer_id=d["extra"][0], batch_id=batch_id,
                                result="duplicate", detail=d)
    return tuple(found)
