"""The links-in-Kleer part of the :class:`~workbench.api.Workbench` facade: rebuild a lost
workspace's links from Kleer's foreign-ids (:mod:`workbench.relink`), and plan the deactivation
of a duplicate's extra user (:func:`workbench.duplicates.deactivate_plan`; applied with the
ordinary ``wb.apply``).

A mixin so the facade stays one class; it expects ``self.workspace``, ``self.settings``,
``self.analyst`` and ``self._kleer_session``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .duplicates import deactivate_plan
from .model import Plan
from .relink import RelinkResult, relink

if TYPE_CHECKING:
    from .kleer.client import KleerClient

__all__ = ["LinksInKleer"]


class LinksInKleer:
    workspace: Any
    settings: Any
    analyst: str | None

    def plan_deactivate(self, kleer_ids: list[int]) -> Plan:
        """The plan that deactivates Kleer users (the remedy for a duplicate an apply reported;
        the workbench never deletes in Kleer). Apply it with :meth:`apply`."""
        return deactivate_plan(self.workspace, list(kleer_ids), analyst=self.analyst,
                               email_preference=self.settings.email_preference)

    def relink(self, *, token: str | None = None, client: "KleerClient | None" = None) -> RelinkResult:
        """Rebuild the links from the foreign-ids Kleer's users carry (after a workspace was
        lost: load the HR file first). Writes nothing to Kleer; reports what it found, what it
        could not match and what disagrees."""
        with self._kleer_session(token, client) as kc:  # type: ignore[attr-defined]
            users = kc.list_users()
        return relink(self.workspace, users, analyst=self.analyst)
