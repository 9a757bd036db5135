"""What decisions and plans are checked against: the workspace as it is now, read once."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .store import Workspace
from .store.values import from_json

__all__ = ["WorkspaceState"]


@dataclass(frozen=True)
class WorkspaceState:
    """The HR register, the Kleer snapshot, the active links both ways, the suggestions (and the
    assigned one per Kleer user) and the last snapshot's description, read in one go.

    Read with ``evidence=False`` (what the screens do), the suggestions' ``evidence`` is None and
    each pair's evidence is decoded only when asked for (:meth:`evidence_of`): decoding all of
    it is most of the read at 10,000 employees, and a screen shows the reasons of a page of rows."""

    hr: dict[str, dict]
    kleer: dict[int, dict]
    link_of_hr: dict[str, int]
    link_of_kleer: dict[int, str]
    suggestions: dict[tuple[int, str], dict]
    assigned: dict[int, dict]
    snapshot: dict | None
    #: the evidence of each pair as its JSON text, when read with ``evidence=False``
    raw_evidence: dict[tuple[int, str], str] | None = field(default=None, repr=False)

    @classmethod
    def load(cls, ws: Workspace, *, evidence: bool = True) -> "WorkspaceState":
        links = ws.links.pairs()
        sugg = ws.suggestions.all(decode=evidence)
        raw = None
        if not evidence:
            raw = {}
            for s in sugg:
                raw[(int(s["kleer_id"]), s["hr_id"])] = s["evidence"]
                s["evidence"] = None
        return cls(hr=ws.hr.by_id(), kleer=ws.kleer.by_id(),
                   link_of_hr={h: k for h, k in links},
                   link_of_kleer={k: h for h, k in links},
                   suggestions={(int(s["kleer_id"]), s["hr_id"]): s for s in sugg},
                   assigned={int(s["kleer_id"]): s for s in sugg if s["assigned"]},
                   snapshot=ws.kleer.last_snapshot(), raw_evidence=raw)

    def suggestion(self, kleer_id: int | None, hr_id: str | None) -> dict | None:
        if kleer_id is None or hr_id is None:
            return None
        return self.suggestions.get((int(kleer_id), str(hr_id)))

    def evidence_of(self, kleer_id: int | None, hr_id: str | None) -> Any:
        """The decoded evidence of the pair's suggestion (None without one), however it was read."""
        s = self.suggestion(kleer_id, hr_id)
        if s is None:
            return None
        if self.raw_evidence is None:
            return s["evidence"]
        return from_json(self.raw_evidence.get((int(kleer_id), str(hr_id))), [])
