"""Leave export: the HR system's approved absences as Kleer events, each day exactly once.

The pure core (no I/O beyond reading the file given):

* :mod:`.fields` — the leave columns and their Swedish/English header aliases;
* :mod:`.load` — :func:`read_leave`: an absence export → :class:`Leave` values + row problems;
* :mod:`.types` — the leave-type mapping (HR type → Kleer type and activity), as data;
* :mod:`.expand` — a leave → :class:`LeaveDay` values with hours from Kleer's schedule;
* :mod:`.keys` — the idempotency key ``<hr-system>:<leave id>:<date>`` (the event's foreign-id);
* :mod:`.diff` — desired days vs Kleer's events → creates/updates/deletes, conflicts, blocks;
* :mod:`.holidays` — Swedish public holidays (for the simulator's schedules);
* :mod:`.demo` — the demo leave file's generator.

Kleer's side is :mod:`workbench.kleer.leave_client` (requests) and
:mod:`workbench.kleer.leave_sim` (the simulator's event endpoints).
"""

from .diff import (OP_CREATE, OP_DELETE, OP_UPDATE, DayStatus, KleerEvent, LeaveBlocked,
                   LeaveConflict, LeaveDiff, LeaveOp, diff_leave, parse_events, parse_statuses,
                   revert_op)
from .expand import LeaveDay, ScheduleGap, expand, schedule_from_kleer
from .keys import day_key, parse_day_key
from .load import LeaveFile, LeaveProblem, read_leave
from .model import APPROVED, CANCELLED, PENDING, Leave
from .types import KLEER_TYPES, LeaveTypeMapping, LeaveTypeRule, default_mapping

__all__ = [
    "APPROVED", "CANCELLED", "PENDING", "Leave", "LeaveFile", "LeaveProblem", "read_leave",
    "KLEER_TYPES", "LeaveTypeMapping", "LeaveTypeRule", "default_mapping",
    "LeaveDay", "ScheduleGap", "expand", "schedule_from_kleer", "day_key", "parse_day_key",
    "DayStatus", "KleerEvent", "LeaveBlocked", "LeaveConflict", "LeaveDiff", "LeaveOp",
    "diff_leave", "parse_events", "parse_statuses", "revert_op",
    "OP_CREATE", "OP_UPDATE", "OP_DELETE",
]
