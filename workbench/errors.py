"""The workbench's exceptions, one tree, translated once at each boundary.

::

    WorkbenchError                      anything the workbench reports to a user
    ├── InputError                      bad input: a file, a column, a row, a setting
    │   ├── SourceError                 an HR file that cannot be loaded (names file/row/column)
    │   └── ReloadNotConfirmed          an HR file would change the employees: confirm first
    ├── AccessError                     the user's role may not do this
    ├── WorkspaceError                  the workspace file (SQLite) cannot be used
    ├── PlanError                       a plan that cannot be built or applied as asked
    └── KleerError                      talking to Kleer failed
        ├── KleerUnavailable            network, timeout, 5xx after retries
        ├── KleerRejected(status, msg)  Kleer refused the request (4xx)
        └── KleerAuthError              401/403: token or company id wrong

Pages turn a ``WorkbenchError`` into ``st.error(str(e))``; the CLI prints it on one line and
exits non-zero. Messages say what failed and what to do next; they never contain the token.
"""

from __future__ import annotations

__all__ = [
    "WorkbenchError",
    "InputError",
    "SourceError",
    "ReloadNotConfirmed",
    "AccessError",
    "WorkspaceError",
    "PlanError",
    "KleerError",
    "KleerUnavailable",
    "KleerRejected",
    "KleerAuthError",
]


class WorkbenchError(Exception):
    """Base of every error the workbench reports to a user."""


class InputError(WorkbenchError, ValueError):
    """Bad input from the user: a value, a setting, a decision."""


class SourceError(InputError):
    """An HR file that cannot be loaded. ``problems`` lists (row, column, message) when known;
    ``headers`` the file's column headers when it could be read that far (so a mapping editor can
    be offered for missing columns)."""

    def __init__(self, message: str, *, problems: list[tuple[int | None, str | None, str]] | None = None,
                 headers: list[str] | None = None):
        super().__init__(message)
        self.problems = problems or []
        self.headers = list(headers or [])


class ReloadNotConfirmed(InputError):
    """Loading an HR file into a workspace that has employees would change them, and the load
    was not confirmed. ``preview`` is what it would change (a ``ReloadPreview``)."""

    def __init__(self, message: str, *, preview: object = None):
        super().__init__(message)
        self.preview = preview


class AccessError(WorkbenchError):
    """The user's role may not do this (e.g. a viewer asking for real personal data)."""


class WorkspaceError(WorkbenchError):
    """The workspace (SQLite file) cannot be opened or written."""


class PlanError(WorkbenchError):
    """A plan that cannot be built or applied as asked."""


class KleerError(WorkbenchError):
    """Talking to Kleer failed."""


class KleerUnavailable(KleerError):
    """Kleer could not be reached or kept failing (network, timeout, 5xx after retries).

    ``write_may_have_landed`` is True when a write (create/update) was sent but its answer was
    lost (a dropped connection, a timeout, a 5xx): Kleer may have stored it. The caller must
    verify (a foreign-id lookup, a re-read) before writing again. ``status`` is the last HTTP
    status when there was one.
    """

    def __init__(self, message: str, *, status: int | None = None, method: str | None = None,
                 path: str | None = None, write_may_have_landed: bool = False):
        super().__init__(message)
        self.status = status
        self.method = method
        self.path = path
        self.write_may_have_landed = write_may_have_landed


class KleerRejected(KleerError):
    """Kleer answered 4xx: the request was refused (and nothing was stored)."""

    def __init__(self, status: int, message: str, *, method: str | None = None, path: str | None = None):
        self.status = status
        self.message = message
        self.method = method
        self.path = path
        where = f" ({method} {path})" if method and path else ""
        super().__init__(f"Kleer refused the request{where}: {status} {message}")


class KleerAuthError(KleerRejected):
    """401/403: the token or the company id is wrong, or the user lacks payroll rights."""
