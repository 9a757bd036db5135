"""``settings``: key → JSON value, who changed it and when. Never the Kleer token."""

from __future__ import annotations

from typing import Any

from ..errors import InputError
from .base import Repository
from .values import from_json, to_json, utcnow


class SettingsTable(Repository):
    table = "settings"

    def get(self, key: str, default: Any = None) -> Any:
        rows = self.ws.query("SELECT value FROM settings WHERE key = ?", [key])
        return from_json(rows[0]["value"]) if rows else default

    def all(self) -> dict[str, Any]:
        return {r["key"]: from_json(r["value"]) for r in self.ws.query("SELECT key, value FROM settings")}

    def set(self, key: str, value: Any, *, analyst: str | None = None) -> None:
        if "token" in key.lower():
            raise InputError("the Kleer token is never stored in the workspace; "
                             "set KLEER_TOKEN or .streamlit/secrets.toml instead")
        with self.ws.atomic():
            self.ws.db["settings"].upsert({"key": key, "value": to_json(value), "updated_at": utcnow(),
                                           "updated_by": analyst}, pk="key")
