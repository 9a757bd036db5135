"""``kleer_users`` and ``snapshots``: the last Kleer snapshot, one canonical row per Kleer user.

A canonical Kleer record (:func:`workbench.kleer.mapping.from_kleer`) names Kleer's ``foreign-id``
by its field key, ``hr_id``; the table calls it ``foreign_id`` (what the Kleer user carries, not
a link), and so do the rows read back. Matching takes the Kleer side with ``hr_id``
(:meth:`KleerSnapshot.matching_frame`).
"""

from __future__ import annotations

from itertools import repeat
from typing import Any, Mapping

import pandas as pd

from .base import Repository
from .values import plain, utcnow


def _row(record: Mapping[str, Any]) -> dict[str, Any]:
    """A canonical record as a table row (``hr_id`` → ``foreign_id``)."""
    return {("foreign_id" if k == "hr_id" else k): plain(v) for k, v in record.items()}


#: Values sqlite3 takes as they are (everything else goes through :func:`plain`).
_AS_IS = frozenset({str, int, bool, type(None)})


def _quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


class KleerSnapshot(Repository):
    table = "kleer_users"

    def replace_snapshot(self, records: list[Mapping[str, Any]], *, snapshot: Mapping[str, Any]) -> None:
        """Replace the Kleer snapshot with ``records`` (canonical rows with kleer_id, raw,
        fingerprint) in one transaction; ``snapshot`` describes the fetch."""
        keys = list(dict.fromkeys(k for r in records for k in r))
        self.replace_snapshot_columns({k: [r.get(k) for r in records] for k in keys},
                                      snapshot=snapshot)

    def replace_snapshot_columns(self, columns: Mapping[str, list[Any]], *,
                                 snapshot: Mapping[str, Any]) -> None:
        """:meth:`replace_snapshot` with the records a column at a time (``{column: [value of
        each record]}``, all of one length: what ``Snapshot.columns`` holds), in one
        transaction."""
        # one prepared INSERT and executemany over the columns zipped into rows: no dict per
        # row, and a value is converted (plain) only in a column that holds something sqlite3
        # does not take as it is
        names = [("foreign_id" if k == "hr_id" else k) for k in columns]
        values = [col if set(map(type, col)) <= _AS_IS else
                  [v if type(v) in _AS_IS else plain(v) for v in col]
                  for col in columns.values()]
        count = len(values[0]) if values else 0
        if any(len(col) != count for col in values):
            raise ValueError("replace_snapshot_columns: the columns differ in length")
        rows = zip(*values, repeat(snapshot["id"], count), repeat(snapshot["fetched_at"], count))
        sql = (f"INSERT INTO kleer_users ({', '.join(_quoted(c) for c in names)}, snapshot_id, "
               f"fetched_at) VALUES ({', '.join('?' * (len(names) + 2))})")
        with self.ws.atomic():
            self.ws.conn.execute("DELETE FROM kleer_users")
            if count:
                self.ws.conn.executemany(sql, rows)
            self.ws.db["snapshots"].upsert(dict(snapshot), pk="id")

    def upsert(self, record: Mapping[str, Any]) -> None:
        """Refresh one Kleer user in the snapshot (after a write the workbench made itself)."""
        self.refresh([record])

    def refresh(self, records: list[Mapping[str, Any]]) -> None:
        """Put canonical Kleer records read just now into the snapshot, in one transaction."""
        snap, now = self.last_snapshot() or {}, utcnow()
        rows = [{**_row(r), "fetched_at": now, "snapshot_id": snap.get("id")} for r in records]
        with self.ws.atomic():
            self.ws.db["kleer_users"].upsert_all(rows, pk="kleer_id", alter=False)

    def set_aside(self, kleer_id: int) -> None:
        """Drop one record from the snapshot until it is read again (it was written)."""
        self.ws.conn.execute("DELETE FROM kleer_users WHERE kleer_id = ?", [int(kleer_id)])

    def frame(self) -> pd.DataFrame:
        return self.ws.frame("SELECT * FROM kleer_users ORDER BY kleer_id")

    def matching_frame(self) -> pd.DataFrame:
        """The snapshot as the matcher reads it (the foreign-id under its field key ``hr_id``)."""
        return self.frame().rename(columns={"foreign_id": "hr_id"})

    def get(self, kleer_id: int) -> dict[str, Any] | None:
        rows = self.ws.query("SELECT * FROM kleer_users WHERE kleer_id = ?", [int(kleer_id)])
        return rows[0] if rows else None

    def by_id(self) -> dict[int, dict]:
        return {int(r["kleer_id"]): r for r in self.ws.query("SELECT * FROM kleer_users")}

    def names(self) -> dict[int, Any]:
        return {int(r["kleer_id"]): r["name"] for r in self.ws.query("SELECT kleer_id, name FROM kleer_users")}

    def ids(self) -> set[int]:
        return {int(r["kleer_id"]) for r in self.ws.query("SELECT kleer_id FROM kleer_users")}

    def last_snapshot(self) -> dict[str, Any] | None:
        rows = self.ws.query("SELECT * FROM snapshots ORDER BY fetched_at DESC, rowid DESC LIMIT 1")
        return rows[0] if rows else None

    def count_unlinked(self) -> int:
        return self.ws.count("kleer_users", "WHERE kleer_id NOT IN "
                                            "(SELECT kleer_id FROM links WHERE active = 1)")
