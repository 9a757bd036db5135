"""The background applies of the :class:`~workbench.api.Workbench` facade: start an apply or a
revert on a worker of its own and follow it through the journal (:mod:`workbench.apply.background`).

A mixin so the facade stays one class (``wb.start_apply(plan)``, ``wb.apply_status(batch)``);
it expects ``self.workspace``, ``self.analyst``, ``self._kleer``, ``self.kleer_client`` and
``self.revert_plan``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .apply import background
from .model import Plan

if TYPE_CHECKING:
    from .kleer.client import KleerClient
    from .store import Workspace

__all__ = ["BackgroundApplies"]


class BackgroundApplies:
    """Applies that outlive the script run (or cell) that started them."""

    workspace: "Workspace"
    analyst: str | None
    _kleer: Any


    def start_apply(self, plan: Plan, *, token: str | None = None, client: "KleerClient | None" = None,
                    concurrency: int | None = None,
                    what: str | None = None) -> background.ApplyStatus:
        """Start ``plan`` on a worker of its own and return at once (see
        :mod:`workbench.apply.background`): the browser's apply, which no click, page switch or
        closed tab interrupts. Follow it with :meth:`apply_status` (or :meth:`wait_apply`).
        Raises before anything starts when the plan needs Kleer and there is no token.
        ``concurrency`` as for :meth:`~workbench.api.Workbench.apply` (None: the Settings')."""
        needs_kleer = any(op.remote and not op.blocked for op in plan.operations)
        kc, close = None, False
        if needs_kleer:
            kc = client or self.kleer_client(token)
            close = kc is not client and kc is not self._kleer
        limiter = self.limiter(concurrency)  # type: ignore[attr-defined]  # Workbench's
        return background.start(plan, self.workspace, kc, self.analyst, limiter=limiter,
                                close_client=close, what=what)

    def start_revert(self, batch_id: str, *, token: str | None = None,
                     client: "KleerClient | None" = None) -> background.ApplyStatus:
        """Start reverting ``batch_id`` in the background (its preview: :meth:`revert_plan`)."""
        return self.start_apply(self.revert_plan(batch_id), token=token, client=client)

    def apply_status(self, batch_id: str) -> background.ApplyStatus:
        """Where a batch stands, read from the journal: running (done of total), done, incomplete
        or interrupted, with its result once finished."""
        return background.status(self.workspace, batch_id)

    def running_applies(self) -> list[background.ApplyStatus]:
        """The applies running in this workspace now, whoever started them."""
        return background.running(self.workspace)

    def wait_apply(self, batch_id: str, timeout: float | None = None) -> background.ApplyStatus:
        """Wait for a background apply started in this process to finish (tests, notebooks)."""
        return background.wait(self.workspace, batch_id, timeout)

    def plan_of_batch(self, batch_id: str) -> Plan | None:
        """The whole plan of a batch started in this process (what "Retry failed" runs again)."""
        return background.plan_of(batch_id)

