"""Apply a Plan, exactly and only once per operation; revert a batch. The one place that writes
to Kleer.

* :mod:`.claims`    journal claims and leases (exactly once, also across processes)
* :mod:`.kleer_ops` Kleer creates and updates: foreign-id guard, re-read, conflicts, lost answers
* :mod:`.local`     the HR register and links
* :mod:`.settle`    one transaction per settled operation: journal, effects, audit; the re-read
* :mod:`.run`       orchestration: the batch, the pool, progress, the result; :func:`revert`
"""

from .claims import LEASE_SECONDS
from .run import FOREIGN_ID_MAX_AGE, apply, batch_id_for, limiter_for, revert

__all__ = ["apply", "revert", "batch_id_for", "limiter_for", "LEASE_SECONDS", "FOREIGN_ID_MAX_AGE"]
