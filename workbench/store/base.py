"""The base of every repository: the workspace it belongs to.

A repository reaches its workspace (lock, connection, ``atomic``, the other repositories) only
through ``self.ws``; none imports :mod:`.workspace`, which builds them (so no import circle).
"""

from __future__ import annotations

from typing import Any


class Repository:
    """One table's SQL and JSON decoding. ``ws`` is the :class:`~workbench.store.Workspace`."""

    table: str = ""

    def __init__(self, ws: Any):
        self.ws = ws

    def __repr__(self) -> str:
        return f"<{type(self).__name__} of {self.ws.path!r}>"

    def count(self) -> int:
        return self.ws.count(self.table)
