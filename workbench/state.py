"""What decisions and plans are checked against: the workspace as it is now, read once."""

from __future__ import annotations

from dataclasses import dataclass

from .store import Workspace

__all__ = ["WorkspaceState"]


@dataclass(frozen=True)
class WorkspaceState:
    """The HR register, the Kleer snapshot, the active links both ways, the suggestions (and the
    assigned one per Kleer user) and the last snapshot's description, read in one go."""

    hr: dict[str, dict]
    kleer: dict[int, dict]
    link_of_hr: dict[str, int]
    link_of_kleer: dict[int, str]
    suggestions: dict[tuple[int, str], dict]
    assigned: dict[int, dict]
    snapshot: dict | None

    @classmethod
    def load(cls, ws: Workspace) -> "WorkspaceState":
        links = ws.links.pairs()
        sugg = ws.suggestions.all()
        return cls(hr=ws.hr.by_id(), kleer=ws.kleer.by_id(),
                   link_of_hr={h: k for h, k in links},
                   link_of_kleer={k: h for h, k in links},
                   suggestions={(int(s["kleer_id"]), s["hr_id"]): s for s in sugg},
                   assigned={int(s["kleer_id"]): s for s in sugg if s["assigned"]},
                   snapshot=ws.kleer.last_snapshot())

    def suggestion(self, kleer_id: int | None, hr_id: str | None) -> dict | None:
        if kleer_id is None or hr_id is None:
            return None
        return self.suggestions.get((int(kleer_id), str(hr_id)))
