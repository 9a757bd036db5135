"""How values cross into and out of SQLite: JSON text, plain Python scalars, UTC timestamps."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any, Iterator

import pandas as pd

__all__ = ["utcnow", "to_json", "from_json", "plain", "chunks"]


def utcnow() -> str:
    """Now, as ISO-8601 UTC text with seconds (what every timestamp in the workspace uses)."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _default(o: Any) -> Any:
    if hasattr(o, "item"):  # numpy scalars
        return o.item()
    if hasattr(o, "isoformat"):
        return o.isoformat()
    if isinstance(o, (set, frozenset)):
        return sorted(o)
    raise TypeError(f"cannot store {type(o).__name__} as JSON")


def to_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=_default)


def from_json(text: Any, default: Any = None) -> Any:
    """A JSON column's value decoded (``default`` when empty); text that is not JSON comes back
    as it is (old free-text details)."""
    if not isinstance(text, str) or not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return text


def plain(value: Any) -> Any:
    """numpy/pandas scalars and NA to plain Python for sqlite3; dicts and lists to JSON text."""
    kind = type(value)
    if value is None or kind is str or kind is int or kind is bool:  # the common case, fast
        return value
    if kind is float:
        return None if value != value else value  # NaN is missing
    if isinstance(value, (dict, list)):
        return to_json(value)
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    if hasattr(value, "item"):
        return value.item()
    return value


def chunks(items: list, size: int) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i:i + size]
