"""Duplicates in Kleer: one person, one payroll employee.

:func:`ssn_key` is the one way a personnummer is compared (the plan's personnummer guard, the
apply's re-check and its sweep, the claim on a personnummer); :func:`ssn_index` the snapshot's
users by it; :func:`deactivate_plan` the plan that deactivates the extra user of a duplicate
the apply reported (the workbench never deletes in Kleer).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from . import normalize as n
from .fields import FIELD
from .model import FieldChange, Operation, Plan, new_plan_id
from .state import WorkspaceState
from .store import Workspace, utcnow

__all__ = ["ssn_key", "ssn_index", "deactivate_plan"]


def ssn_key(value: Any) -> str | None:
    """A personnummer or samordningsnummer as 12 digits (``YYYYMMDDNNNC``), whatever way it
    was written (10 or 12 digits, ``-`` or ``+``), or None when it is not a valid one. Two
    Kleer users with one key are one person (the personnummer guard and the duplicate sweep)."""
    parsed = n.personnummer(value)
    return parsed.value.replace("-", "") if parsed.value else None


def ssn_index(w: WorkspaceState) -> dict[str, list[dict]]:
    """The snapshot's Kleer users by normalised personnummer (:func:`ssn_key`)."""
    out: dict[str, list[dict]] = {}
    for k in w.kleer.values():
        key = ssn_key(k.get("ssn"))
        if key:
            out.setdefault(key, []).append(k)
    return out


def deactivate_plan(workspace: Workspace, kleer_ids: list[int], *, analyst: str | None = None,
                    email_preference: str | None = None) -> Plan:
    """The plan that deactivates Kleer users (``active`` → false): the remedy for a duplicate
    the apply's sweep reported, chosen by the analyst. The workbench never deletes in Kleer.
    A linked user, or one not in the snapshot, is blocked."""
    world = WorkspaceState.load(workspace)
    pref = email_preference or workspace.settings.get("email_preference", "private")
    ops: list[Operation] = []
    for kid in dict.fromkeys(int(k) for k in kleer_ids):
        k = world.kleer.get(kid)
        blockers = []
        if k is None:
            blockers.append(f"Kleer user {kid} is not in the snapshot; fetch Kleer and plan again")
        linked = world.link_of_kleer.get(kid)
        if linked is not None:
            blockers.append(f"Kleer user {kid} is linked to HR employee {linked}: deactivate the "
                            "extra user, not the linked one (or unlink it first)")
        if k is not None and not k.get("active", True):
            continue  # inactive already
        ops.append(Operation(f"deactivate:{kid}:kleer_update", len(ops) + 1, "kleer_update",
                             "deactivate", None, kid, ("kleer",),
                             changes=(FieldChange("active", FIELD["active"].label, True, False),),
                             kleer_fingerprint=(k or {}).get("fingerprint"), method="deactivate",
                             blockers=tuple(blockers)))
    counts = Counter(f"kind:{op.kind}" for op in ops)
    counts["operations"] = len(ops)
    counts["blocked"] = sum(op.blocked for op in ops)
    snap = world.snapshot or {}
    return Plan(id=new_plan_id(), created_at=utcnow(), side="deactivate", analyst=analyst,
                email_preference=pref, snapshot_id=snap.get("id"),
                snapshot_fingerprint=snap.get("fingerprint"), operations=tuple(ops),
                counts=tuple(sorted(counts.items())), warnings=(), scope_ids=None,
                salary_unit=workspace.settings.get("salary_unit", "kronor"))
