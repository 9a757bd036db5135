"""Relink: rebuild the workspace's links from the foreign-ids Kleer's users carry.

Every link the workbench makes is also written to Kleer (the user's ``foreign-id`` is the HR
id; see :mod:`workbench.apply`), so a workspace that was lost or deleted can get its links back:
load the HR file, then :func:`relink` reads every Kleer user (one ``GET /user``) and links each
user whose foreign-id is an HR employee of the register, when neither side is linked yet.

It reports what it *found* (linked now), what was *already* linked so, what it could *not match*
(a foreign-id that is no HR employee of the register), and what *disagrees* (the HR employee or
the Kleer user is linked to someone else, or several active Kleer users carry one foreign-id:
a duplicate to resolve). It writes nothing to Kleer; links and one audit row per link land in
one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .store import Workspace

__all__ = ["RelinkResult", "relink"]


@dataclass(frozen=True)
class RelinkResult:
    """``found``: (hr_id, kleer_id) linked now; ``already``: pairs that were linked so;
    ``unmatched``: (kleer_id, foreign-id) of users whose foreign-id is no HR employee here;
    ``disagreeing``: one text per pair that disagrees with a link or another Kleer user."""

    found: tuple[tuple[str, int], ...] = ()
    already: tuple[tuple[str, int], ...] = ()
    unmatched: tuple[tuple[int, str], ...] = ()
    disagreeing: tuple[str, ...] = field(default=())
    without_foreign_id: int = 0

    def __str__(self) -> str:
        lines = [f"relink: {len(self.found)} linked from Kleer's foreign-ids, "
                 f"{len(self.already)} already linked, {len(self.unmatched)} foreign-id(s) "
                 f"not in the HR register, {len(self.disagreeing)} disagreeing, "
                 f"{self.without_foreign_id} Kleer user(s) without foreign-id"]
        lines += [f"  not matched: Kleer user {k} carries foreign-id {f}" for k, f in self.unmatched[:20]]
        lines += [f"  disagrees: {d}" for d in self.disagreeing[:20]]
        return "\n".join(lines)


def _active(user: dict) -> bool:
    return user.get("active", True) not in (False, "false", 0)


def relink(ws: Workspace, users: list[dict[str, Any]], *, analyst: str | None) -> RelinkResult:
    """Link the HR employees of ``ws`` to the Kleer ``users`` (``GET /user``, read just now)
    that carry their HR id as foreign-id (see the module docstring)."""
    carriers: dict[str, list[dict]] = {}
    bare = 0
    for u in sorted(users, key=lambda u: int(u["id"])):
        fid = u.get("foreign-id")
        if fid in (None, ""):
            bare += 1
            continue
        carriers.setdefault(str(fid), []).append(u)
    found, already, unmatched, disagreeing = [], [], [], []
    with ws.atomic():
        for fid, carrying in sorted(carriers.items()):
            if ws.hr.get(fid) is None:
                unmatched += [(int(u["id"]), fid) for u in carrying]
                continue
            live = [u for u in carrying if _active(u)]
            if len(live) > 1:
                ids = ", ".join(str(u["id"]) for u in live)
                disagreeing.append(f"HR employee {fid} is carried by several active Kleer users "
                                   f"({ids}): a duplicate; link one on Import and deactivate the other")
                continue
            user = (live or carrying)[0]
            kid = int(user["id"])
            by_hr, by_kleer = ws.links.of(hr_id=fid), ws.links.of(kleer_id=kid)
            if by_hr and int(by_hr["kleer_id"]) == kid:
                already.append((fid, kid))
            elif by_hr:
                disagreeing.append(f"HR employee {fid} is linked to Kleer user {by_hr['kleer_id']}, "
                                   f"but Kleer user {kid} carries its HR id")
            elif by_kleer:
                disagreeing.append(f"Kleer user {kid} carries foreign-id {fid}, but is linked to "
                                   f"HR employee {by_kleer['hr_id']}")
            else:
                ws.links.add(fid, kid, analyst=analyst, method="relink")
                ws.audit.append(event="link", analyst=analyst, action="relink", hr_id=fid,
                                kleer_id=kid, result="done",
                                detail={"from": "Kleer foreign-id"})
                found.append((fid, kid))
        ws.audit.append(event="relink", analyst=analyst, action="relink", result="done",
                        detail={"found": len(found), "already": len(already),
                                "unmatched": len(unmatched), "disagreeing": len(disagreeing)})
    return RelinkResult(tuple(found), tuple(already), tuple(unmatched), tuple(disagreeing), bare)
