"""``hr_employees``: the HR register, one row per ``hr_id``, canonical field columns."""

from __future__ import annotations

from typing import Any, Mapping

import pandas as pd

from ..errors import InputError
from ..fields import FIELDS
from .base import Repository
from .values import chunks, from_json, plain, utcnow


def field_columns() -> dict[str, type]:
    """The canonical field columns (from the field table) every employee table carries."""
    return {f.key: f.sqlite_type for f in FIELDS if f.key != "hr_id"}


class HrRegister(Repository):
    table = "hr_employees"

    def upsert(self, records: list[Mapping[str, Any]], *, source: str,
               remove_missing: bool = False) -> dict[str, int]:
        """Insert or update HR employees (one atomic write). With ``remove_missing`` employees
        absent from ``records`` are removed unless linked (a linked employee is never dropped
        silently)."""
        now = utcnow()
        rows = []
        for r in records:
            row = {k: plain(v) for k, v in r.items()}
            row.setdefault("source", source)
            row["loaded_at"] = now
            row["updated_at"] = now
            rows.append(row)
        ws = self.ws
        with ws.atomic():
            existing = {r["hr_id"] for r in ws.query("SELECT hr_id FROM hr_employees")}
            incoming = {r["hr_id"] for r in rows}
            self._upsert_rows(rows)
            removed = 0
            if remove_missing:
                gone = sorted(existing - incoming - ws.links.linked_hr_ids())
                for chunk in chunks(gone, 500):
                    ws.conn.execute(
                        f"DELETE FROM hr_employees WHERE hr_id IN ({','.join('?' * len(chunk))})", chunk)
                removed = len(gone)
        return {"added": len(incoming - existing), "updated": len(incoming & existing),
                "removed": removed}

    def _upsert_rows(self, rows: list[dict[str, Any]]) -> None:
        """Insert or update HR rows, changing only the columns a row names: one ``executemany``
        per shape of row (a 50,000-row load takes a third of a generic upsert's time)."""
        known = set(self.ws.db["hr_employees"].columns_dict)
        shapes: dict[tuple[str, ...], list[list[Any]]] = {}
        for row in rows:
            shapes.setdefault(tuple(row), []).append(list(row.values()))
        for columns, values in shapes.items():
            unknown = set(columns) - known
            if unknown:
                raise InputError(f"cannot store HR employees: unknown columns {sorted(unknown)}")
            names = ", ".join(f'"{c}"' for c in columns)
            updates = ", ".join(f'"{c}" = excluded."{c}"' for c in columns if c != "hr_id")
            self.ws.conn.executemany(
                f"INSERT INTO hr_employees ({names}) VALUES ({', '.join('?' * len(columns))}) "
                f"ON CONFLICT (hr_id) DO {'UPDATE SET ' + updates if updates else 'NOTHING'}",
                values)

    def update(self, hr_id: str, values: Mapping[str, Any]) -> None:
        """Change some fields of one HR employee (the apply's HR-side writes)."""
        unknown = set(values) - set(field_columns())
        if unknown:
            raise InputError(f"cannot update HR employee {hr_id}: unknown fields {sorted(unknown)}")
        with self.ws.atomic():
            self.ws.db["hr_employees"].update(str(hr_id), {**{k: plain(v) for k, v in values.items()},
                                                           "updated_at": utcnow()})

    def delete(self, hr_id: str) -> None:
        """Remove one HR employee (reverting a batch that created it)."""
        with self.ws.atomic():
            self.ws.conn.execute("DELETE FROM hr_employees WHERE hr_id = ?", [str(hr_id)])

    def frame(self) -> pd.DataFrame:
        return self.ws.frame("SELECT * FROM hr_employees ORDER BY hr_id")

    def get(self, hr_id: str) -> dict[str, Any] | None:
        rows = self.ws.query("SELECT * FROM hr_employees WHERE hr_id = ?", [hr_id])
        return rows[0] if rows else None

    def by_id(self) -> dict[str, dict]:
        """Every HR employee by ``hr_id`` (rows as stored; ``problems`` left as JSON text)."""
        return {r["hr_id"]: r for r in self.ws.query("SELECT * FROM hr_employees")}

    def names(self) -> dict[str, tuple[Any, Any]]:
        """``hr_id`` → (first name, last name)."""
        return {r["hr_id"]: (r["first_name"], r["last_name"])
                for r in self.ws.query("SELECT hr_id, first_name, last_name FROM hr_employees")}

    def count_unlinked(self) -> int:
        return self.ws.count("hr_employees", "WHERE hr_id NOT IN "
                                             "(SELECT hr_id FROM links WHERE active = 1)")

    @staticmethod
    def problems(row: Mapping[str, Any]) -> dict[str, str]:
        """A row's ``problems`` column decoded (``{}`` when none or unreadable)."""
        value = row.get("problems")
        if isinstance(value, dict):
            return dict(value)
        decoded = from_json(value, {})
        return dict(decoded) if isinstance(decoded, dict) else {}
