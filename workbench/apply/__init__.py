"""Apply a Plan, exactly and only once per operation; revert a batch. The one place that writes
to Kleer.

* :mod:`.claims`    journal claims, leases and one claim per employee across plans
* :mod:`.kleer_ops` Kleer creates (foreign-id + personnummer guard, reconciled lost answers),
                    updates, the foreign-id write, the checks before a write
* :mod:`.local`     the HR register and links
* :mod:`.settle`    one transaction per settled operation: journal, effects, audit; the re-read
                    and the duplicate sweep at the end
* :mod:`.run`       orchestration: the batch, the pool, progress, the result; :func:`revert`
"""

from .claims import LEASE_SECONDS
from .run import (FOREIGN_ID_MAX_AGE, WAIT_SECONDS, apply, batch_id_for, limiter_for, revert,
                  settle_window)

__all__ = ["apply", "revert", "batch_id_for", "limiter_for", "LEASE_SECONDS", "FOREIGN_ID_MAX_AGE",
           "WAIT_SECONDS", "settle_window"]
