"""The workspace: one SQLite file (through sqlite-utils) holding everything a reconciliation needs.

:class:`Workspace` (in :mod:`.workspace`) owns the connection, :meth:`~Workspace.atomic` and the
numbered migrations; each table is read and written through its repository, which owns its SQL
and decodes its JSON columns once:

  ``ws.hr``           hr_employees   the HR register: one row per ``hr_id``, canonical field
                                     columns, the row's ``problems`` (JSON), where it came from
  ``ws.kleer``        kleer_users    the last Kleer snapshot: canonical columns, ``name``/``email``
                      + snapshots    as Kleer has them, the raw JSON, a per-record fingerprint
  ``ws.links``        links          (hr_id, kleer_id); each side unique among ACTIVE links
  ``ws.suggestions``  suggestions    ranked match candidates with their evidence
  ``ws.decisions``    decisions      the analyst's current decision per subject (side + id)
  ``ws.journal``      journal        one row per operation of an applied plan, with its claim
  ``ws.batches``      batches        one row per apply or revert
  ``ws.audit``        audit          append-only: every decision and every write
  ``ws.settings``     settings       key → JSON value (never the Kleer token)
  ``ws.hr_loads``     hr_loads       one row per HR file load, with the file's shape
  ``ws.hr_mappings``  hr_mappings    the analyst's column mapping per header signature
  ``ws.match_models`` match_models   the trained match model per run (m/u, summary, labels)

No SQL lives outside this package (a test checks it).
"""

from .values import to_json, utcnow
from .workspace import MIGRATIONS, Workspace

__all__ = ["Workspace", "MIGRATIONS", "utcnow", "to_json"]
