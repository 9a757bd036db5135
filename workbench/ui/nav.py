"""The app's pages, in menu order: one list, used by app.py's router."""

from __future__ import annotations

from pathlib import Path

__all__ = ["PAGES"]

ROOT = Path(__file__).resolve().parents[2]

#: (file under pages/, menu title, icon, url path). The url path is the file's stem: before any
#: session has run app.py, Streamlit serves a deep link from its legacy pages/ discovery, which
#: knows pages only by file name.
PAGES: list[tuple[str, str, str, str]] = [
    ("pages/overview.py", "Overview", ":material/dashboard:", "overview"),
    ("pages/sources.py", "Sources", ":material/upload_file:", "sources"),
    ("pages/import_kleer.py", "Import from Kleer", ":material/download:", "import_kleer"),
    ("pages/export_kleer.py", "Export to Kleer", ":material/upload:", "export_kleer"),
    ("pages/leave.py", "Leave", ":material/event_busy:", "leave"),
    ("pages/audit.py", "Audit", ":material/history:", "audit"),
    ("pages/settings.py", "Settings", ":material/settings:", "settings"),
]
