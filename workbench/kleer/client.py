"""`KleerClient`: Kleer's REST API over httpx, with retries and one translation of errors.

Every request carries ``X-Token``, ``Accept: application/json`` and ``Content-Type:
application/json`` (without them Kleer answers XML). List answers (``{"users": [...]}``) are
unwrapped; single objects come back bare; unknown fields are passed through untouched (the
mapping ignores what it does not know).

Errors are translated once, here (see :mod:`workbench.errors`)::

    KleerError
    ├── KleerUnavailable   network, timeout, 5xx (after retries for reads);
    │                      .write_may_have_landed is True when a write's answer was lost
    └── KleerRejected      4xx (status, message)
        └── KleerAuthError 401 / 403

Retries (:class:`Retry`): reads are retried on connection errors, timeouts, 429 (honouring
``Retry-After``) and 500/502/503/504, with exponential backoff and jitter. Writes are retried
only when Kleer cannot have processed them: 429 (refused before processing) and a connection
that was never established. Any other failure of a write raises :class:`KleerUnavailable` with
``write_may_have_landed=True``: the caller verifies (``find_user_by_foreign_id``, a re-read)
instead of writing twice.

The token lives in one private attribute and in the request headers. It never appears in
``repr``, log records or exception text (any text taken from an answer is scrubbed of it).
The client is thread-safe (httpx's connection pool is); share one between worker threads.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Mapping
from urllib.parse import quote

import httpx

from ..errors import InputError, KleerAuthError, KleerError, KleerRejected, KleerUnavailable
from .config import TOKEN_HELP, KleerConfig

__all__ = ["KleerClient", "Retry", "DEFAULT_TIMEOUT", "LIST_KEYS"]

log = logging.getLogger("workbench.kleer")

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)

#: The one key of each list answer.
LIST_KEYS = {"/user": "users", "/payroll/user": "payroll-user-readables"}

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class Retry:
    """How hard to try. ``attempts`` counts the first try; waits grow ``backoff * 2**n`` up to
    ``max_backoff``, plus up to ``jitter`` (a fraction) at random. A ``Retry-After`` above
    ``max_retry_after`` seconds is not waited for (the error is raised at once)."""

    attempts: int = 5
    backoff: float = 0.25
    max_backoff: float = 4.0
    jitter: float = 0.25
    max_retry_after: float = 60.0
    statuses: frozenset[int] = frozenset({500, 502, 503, 504})

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("Retry.attempts must be at least 1")

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        base = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        if retry_after is not None:
            base = max(base, retry_after)
        return base * (1 + self.jitter * random.random())


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds (delta-seconds or an HTTP date), or None."""
    value = response.headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


class KleerClient:
    """A client of one Kleer company. Keyword-only; see the module docstring for the rules.

    ``transport`` (e.g. ``httpx.MockTransport``) or ``client`` (an ``httpx.Client`` that the
    caller owns and closes) replace the network; ``sleep`` replaces ``time.sleep`` for tests.
    """

    def __init__(self, *, base_url: str, company_id: int, token: str,
                 timeout: httpx.Timeout = DEFAULT_TIMEOUT,
                 transport: httpx.BaseTransport | None = None,
                 client: httpx.Client | None = None,
                 retries: Retry = Retry(),
                 sleep: Callable[[float], None] = time.sleep):
        if not token or not str(token).strip():
            raise InputError(f"no Kleer token: {TOKEN_HELP}")
        if not str(token).strip().isascii() or not str(token).strip().isprintable() \
                or any(ch.isspace() for ch in str(token).strip()):
            raise InputError("the Kleer token contains spaces or characters a token cannot "
                             f"have: copy it again ({TOKEN_HELP})")
        if transport is not None and client is not None:
            raise ValueError("pass either transport or client, not both")
        self.config = KleerConfig(base_url, company_id)
        self.retries = retries
        self._token = str(token).strip()
        self._sleep = sleep
        self._owns_http = client is None
        self._http = client or httpx.Client(timeout=timeout, transport=transport)
        self._headers = {"X-Token": self._token, "Accept": "application/json",
                         "Content-Type": "application/json"}

    @classmethod
    def from_config(cls, config: KleerConfig, *, token: str, **kwargs: Any) -> "KleerClient":
        return cls(base_url=config.base_url, company_id=config.company_id, token=token, **kwargs)

    @property
    def base_url(self) -> str:
        return self.config.base_url

    @property
    def company_id(self) -> int:
        return self.config.company_id

    def __repr__(self) -> str:
        return f"KleerClient(base_url={self.base_url!r}, company_id={self.company_id})"

    def close(self) -> None:
        if self._owns_http:
            self._http.close()

    def __enter__(self) -> "KleerClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # ---------------------------------------------------------------- users

    def me(self) -> dict:
        """The token's own Kleer user (what "Test connection" shows)."""
        return self._request("GET", "/user/me")

    def list_users(self) -> list[dict]:
        """Every user of the company, inactive ones included (not paged)."""
        return self._list("/user")

    def get_user(self, user_id: int) -> dict:
        """One user; :class:`KleerRejected` (404) when there is none."""
        return self._request("GET", f"/user/{int(user_id)}")

    def find_user_by_foreign_id(self, foreign_id: str) -> dict | None:
        """The user whose ``foreign-id`` is ``foreign_id``, or None (the guard before a create)."""
        return self._maybe("GET", f"/user/foreign-id/{quote(str(foreign_id), safe='')}")

    def create_user(self, user: Mapping[str, Any]) -> int:
        """Create a user (PUT); returns the new id. Not retried after it may have landed."""
        body = {k: v for k, v in user.items() if k != "id"}
        return int(self._request("PUT", "/user", body)["id"])

    def update_user(self, user_id: int, fields: Mapping[str, Any]) -> None:
        """Change the given fields of a user; absent fields are left as they are."""
        self._request("POST", f"/user/{int(user_id)}", dict(fields))

    # ---------------------------------------------------------------- payroll contracts

    def list_contracts(self) -> list[dict]:
        """Every payroll contract (``payroll-user-readable``) of the company."""
        return self._list("/payroll/user")

    def get_contract(self, user_id: int) -> dict | None:
        """A user's payroll contract, or None when the user has none."""
        return self._maybe("GET", f"/payroll/user/{int(user_id)}")

    def upsert_contract(self, user_id: int, fields: Mapping[str, Any]) -> None:
        """Change (or create) a user's payroll contract with the given fields. A create needs
        ``ssn`` and ``employment-start-date``; ``employment-end-date`` takes the wrapper."""
        self._request("POST", f"/payroll/user/{int(user_id)}", dict(fields))

    # ---------------------------------------------------------------- plumbing

    def _list(self, path: str) -> list[dict]:
        answer = self._request("GET", path)
        key = LIST_KEYS[path]
        if not isinstance(answer, dict) or not isinstance(answer.get(key, []), list):
            raise KleerError(f"Kleer's answer to GET {path} has no {key!r} list: "
                             "check the base URL in Settings")
        return answer.get(key, [])

    def _maybe(self, method: str, path: str) -> dict | None:
        try:
            return self._request(method, path)
        except KleerRejected as e:
            if e.status == 404:
                return None
            raise

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        write = method != "GET"
        url = self.config.company_url + path
        attempt = 0
        while True:
            attempt += 1
            last = attempt >= self.retries.attempts
            try:
                response = self._http.request(method, url, headers=self._headers,
                                              json=body if write else None)
            except httpx.TransportError as e:
                if write and not isinstance(e, _NOT_SENT):
                    raise KleerUnavailable(
                        f"Kleer's answer to {method} {path} was lost ({type(e).__name__}); the "
                        "change may have been saved: check before writing again",
                        method=method, path=path, write_may_have_landed=True) from None
                if last:
                    raise KleerUnavailable(
                        f"cannot reach Kleer at {self.base_url} ({type(e).__name__}, "
                        f"{attempt} tries): check the base URL in Settings and the network",
                        method=method, path=path) from None
                self._wait(method, path, attempt, type(e).__name__, None)
                continue
            status = response.status_code
            if status < 400:
                return self._json(response, method, path)
            retry_after = _retry_after(response) if status == 429 else None
            retriable = status == 429 or (not write and status in self.retries.statuses)
            if retriable and not last and (retry_after or 0) <= self.retries.max_retry_after:
                self._wait(method, path, attempt, str(status), retry_after)
                continue
            raise self._error(response, method, path, write, attempt)

    def _wait(self, method: str, path: str, attempt: int, why: str,
              retry_after: float | None) -> None:
        delay = self.retries.delay(attempt, retry_after)
        log.warning("Kleer %s %s: %s; retrying in %.2f s (try %d of %d)", method, path, why,
                    delay, attempt + 1, self.retries.attempts)
        self._sleep(delay)

    def _json(self, response: httpx.Response, method: str, path: str) -> Any:
        try:
            return response.json()
        except ValueError:
            kind = response.headers.get("content-type", "no content type")
            raise KleerError(f"Kleer answered {method} {path} with {kind}, not JSON: check the "
                             "base URL in Settings") from None

    def _message(self, response: httpx.Response) -> str:
        """Kleer's ``message`` from a JSON or XML error body, scrubbed of the token."""
        text = response.text or ""
        message = text
        try:
            data = response.json()
            if isinstance(data, dict) and data.get("message"):
                message = str(data["message"])
        except ValueError:
            start, end = text.find("<message>"), text.find("</message>")
            if 0 <= start < end:
                message = text[start + len("<message>"):end]
        message = " ".join(message.split())[:300] or response.reason_phrase
        return message.replace(self._token, "***")

    def _error(self, response: httpx.Response, method: str, path: str, write: bool,
               attempt: int) -> KleerError:
        status, message = response.status_code, self._message(response)
        if status == 401:
            return KleerAuthError(401, f"{message}; the Kleer token was refused: {TOKEN_HELP}",
                                  method=method, path=path)
        if status == 403:
            return KleerAuthError(403, f"{message}; no access to company {self.company_id}: "
                                  "check the company id and token in Settings",
                                  method=method, path=path)
        if status == 429:
            return KleerUnavailable(f"Kleer is limiting requests ({method} {path}: 429 after "
                                    f"{attempt} tries): wait a minute and try again",
                                    status=429, method=method, path=path)
        if status < 500:
            return KleerRejected(status, message, method=method, path=path)
        if write:
            return KleerUnavailable(f"Kleer answered {status} {message} to {method} {path}; the "
                                    "change may have been saved: check before writing again",
                                    status=status, method=method, path=path,
                                    write_may_have_landed=True)
        return KleerUnavailable(f"Kleer kept failing on {method} {path} ({status} {message}, "
                                f"{attempt} tries): try again later", status=status,
                                method=method, path=path)
