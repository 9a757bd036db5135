"""``hr_loads`` and ``hr_mappings``: what the workbench remembers of the HR files it loaded.

* ``hr_loads``: one row per load of an HR file: when, by whom, the file's name, its header
  signature, the column mapping used and the file's shape (headers as written, order, encoding,
  delimiter, CSV/XLSX, sheet), so the HR changes can be handed back in that shape.
* ``hr_mappings``: the analyst's column mapping per header signature, used for the next file
  with the same header (see :func:`workbench.fields.header_signature`).
"""

from __future__ import annotations

from typing import Any, Mapping

from .base import Repository
from .values import from_json, to_json, utcnow

__all__ = ["HrLoads", "HrMappings"]


class HrLoads(Repository):
    table = "hr_loads"

    def record(self, *, source: str, analyst: str | None, signature: str,
               mapping: Mapping[str, str | None], shape: Mapping[str, Any] | None, rows: int,
               counts: Mapping[str, int]) -> int:
        """A new load; returns its id."""
        with self.ws.atomic():
            return self.ws.db["hr_loads"].insert({
                "at": utcnow(), "analyst": analyst, "source": source, "signature": signature,
                "mapping": to_json(dict(mapping)),
                "shape": None if shape is None else to_json(dict(shape)), "rows": int(rows),
                "counts": to_json(dict(counts))}).last_pk

    def last(self) -> dict[str, Any] | None:
        """The latest load that kept the file's shape (JSON decoded), or None."""
        rows = self.ws.query("SELECT * FROM hr_loads WHERE shape IS NOT NULL ORDER BY id DESC LIMIT 1")
        if not rows:
            return None
        row = rows[0]
        for column in ("mapping", "shape", "counts"):
            row[column] = from_json(row[column])
        return row


class HrMappings(Repository):
    table = "hr_mappings"

    def get(self, signature: str) -> dict[str, Any] | None:
        """The mapping remembered for ``signature``: ``mapping`` (header → field key or None),
        ``source``, ``updated_at``, ``updated_by``; None when there is none."""
        rows = self.ws.query("SELECT * FROM hr_mappings WHERE signature = ?", [signature])
        if not rows:
            return None
        row = rows[0]
        row["mapping"] = from_json(row["mapping"], {})
        return row

    def remember(self, signature: str, mapping: Mapping[str, str | None], *, source: str,
                 analyst: str | None) -> None:
        """Keep ``mapping`` for the header ``signature`` (an empty one forgets it)."""
        with self.ws.atomic():
            if not mapping:
                self.ws.conn.execute("DELETE FROM hr_mappings WHERE signature = ?", [signature])
                return
            self.ws.db["hr_mappings"].upsert(
                {"signature": signature, "mapping": to_json(dict(mapping)), "source": source,
                 "updated_at": utcnow(), "updated_by": analyst}, pk="signature")
