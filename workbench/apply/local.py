"""Local operations: the HR register and links, checked and written inside the settle transaction."""

from __future__ import annotations

import time
from typing import Any, Mapping

from ..fields import FIELD
from ..model import FINAL, Operation, Plan
from ..store import Workspace
from .settle import _Outcome, _link_problem, _settle


def _hr_conflicts(current: Mapping[str, Any], op: Operation) -> dict[str, dict[str, Any]]:
    """Fields whose HR value is neither the planned before nor the planned after."""
    out = {}
    for c in op.changes:
        f = FIELD[c.key]
        now = current.get(c.key)
        if not f.compare(now, c.before) and not f.compare(now, c.after):
            out[c.key] = {"field": c.key, "label": c.label, "planned": c.before, "now": now}
    return out


def _local(ws: Workspace, op: Operation, batch_id: str) -> _Outcome:
    """The HR-side and link effects of a local operation (inside the settle transaction the
    checks and the writes happen together)."""
    problem = _link_problem(ws, op, op.kleer_id)
    if problem:
        return _Outcome("conflict", problem, {"link": problem})
    if op.kind in ("link", "unlink"):
        current = ws.links.of(hr_id=op.hr_id)
        if op.kind == "link" and current and current["kleer_id"] == op.kleer_id:
            return _Outcome("skipped", "already linked")
        if op.kind == "unlink" and not (current and current["kleer_id"] == op.kleer_id):
            return _Outcome("skipped", "not linked any more")
        return _Outcome("done", answer={"link": op.link})
    hr = ws.hr.get(op.hr_id)
    if op.kind == "hr_create":
        if hr is not None:
            return _Outcome("conflict", f"HR employee {op.hr_id} exists already", {"hr_id": op.hr_id})
        record = {k: v for k, v in op.after.items() if k != "hr_id"}
        ws.hr.upsert([{"hr_id": op.hr_id, **record, "created_by_batch": batch_id,
                                  "problems": {}}], source=f"Kleer user {op.kleer_id}")
        return _Outcome("done", answer={"created": op.hr_id})
    if hr is None:
        if op.kind == "hr_delete":
            return _Outcome("skipped", f"HR employee {op.hr_id} is already gone")
        return _Outcome("failed", f"HR employee {op.hr_id} is not in the HR register any more; "
                                  "load the HR file and plan again")
    if op.kind == "hr_delete":
        changed = {k: {"field": k, "label": FIELD[k].label, "planned": v, "now": hr.get(k)}
                   for k, v in op.before.items() if k != "hr_id" and not FIELD[k].compare(hr.get(k), v)}
        if changed:
            return _Outcome("conflict", "the HR employee changed since the batch created it: "
                            + ", ".join(c["label"] for c in changed.values()), {"fields": changed})
        ws.hr.delete(op.hr_id)
        return _Outcome("done", answer={"deleted": op.hr_id})
    conflicts = _hr_conflicts(hr, op)
    if conflicts:
        return _Outcome("conflict", "changed in the HR register since the plan: "
                        + ", ".join(c["label"] for c in conflicts.values()), {"fields": conflicts})
    ws.hr.update(op.hr_id, op.after)
    return _Outcome("done", answer={"updated": list(op.fields)})


def _run_local(ws: Workspace, plan: Plan, op: Operation, batch_id: str, analyst: str | None
               ) -> _Outcome | None:
    """Check, write and settle a local operation in one transaction; None when already final."""
    started = time.monotonic()
    with ws.atomic():
        row = ws.journal.row(plan.id, op.op_id)
        if row is not None and row["status"] in FINAL:
            return None
        return _settle(ws, plan, op, batch_id, None, _local(ws, op, batch_id), started, analyst)

