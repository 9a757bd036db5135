"""The base of every repository: the workspace it belongs to."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .workspace import Workspace


class Repository:
    """One table's SQL and JSON decoding. ``ws`` is the workspace (its lock, connection, atomic)."""

    table: str = ""

    def __init__(self, ws: "Workspace"):
        self.ws = ws

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self.ws.path!r}>"

    def count(self) -> int:
        return self.ws.count(self.table)
