"""Where Kleer is: the base URL and company id (settings), and where the token comes from.

The token is never part of a :class:`KleerConfig` and never stored: the core reads it from the
environment variable ``KLEER_TOKEN``; the UI layer reads Streamlit secrets and passes it in.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import InputError

__all__ = ["KleerConfig", "token_from_environment", "token_from_file", "TOKEN_ENV",
           "TOKEN_HELP", "is_loopback"]

TOKEN_ENV = "KLEER_TOKEN"
TOKEN_HELP = "set KLEER_TOKEN or the token in .streamlit/secrets.toml"


def token_from_environment() -> str | None:
    """The Kleer token from ``$KLEER_TOKEN`` (blank counts as unset)."""
    token = os.environ.get(TOKEN_ENV, "").strip()
    return token or None


def token_from_file(path: str | os.PathLike[str]) -> str:
    """The token in the file ``path`` (its first line, trimmed). The file must be readable by
    its owner only (mode 0600 or 0400): a token others can read is refused, as ssh refuses a
    private key. A token on a command line would be visible in ``ps`` to every local user."""
    import stat

    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"the token file {path} is not a regular file")
        if info.st_mode & 0o077:
            raise InputError(f"the token file {path} can be read by others (mode "
                             f"{stat.S_IMODE(info.st_mode):04o}): run chmod 600 {path}")
        with open(path, encoding="utf-8") as f:
            token = f.readline().strip()
    except OSError as e:
        raise InputError(f"cannot read the token file {path}: {e.strerror}") from None
    except UnicodeDecodeError:
        raise InputError(f"the token file {path} is not text") from None
    if not token:
        raise InputError(f"the token file {path} is empty")
    return token


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and loopback addresses (127.0.0.0/8, ::1)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class KleerConfig:
    """Where the Kleer API is: ``base_url`` ends in ``/v1``; ``company_id`` is Kleer's company.

    Plain ``http://`` is refused except on loopback (the local simulator): the token must not
    cross a network in clear text.
    """

    base_url: str
    company_id: int

    def __post_init__(self) -> None:
        url = str(self.base_url).strip().rstrip("/")
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InputError(f"the Kleer base URL must look like https://api.kleer.se/v1, "
                             f"not {self.base_url!r}; fix it in Settings")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise InputError(f"the Kleer base URL {url} uses plain http: use https so the token "
                             "is not sent in clear text (http is only for the local simulator)")
        try:
            company = int(self.company_id)
        except (TypeError, ValueError):
            raise InputError(f"the Kleer company id must be a whole number, not "
                             f"{self.company_id!r}; fix it in Settings") from None
        object.__setattr__(self, "base_url", url)
        object.__setattr__(self, "company_id", company)

    @property
    def company_url(self) -> str:
        return f"{self.base_url}/company/{self.company_id}"
