"""`KleerClient`: Kleer's REST API over httpx, with retries and one translation of errors.

Every request carries ``X-Token``, ``Accept: application/json`` and ``Content-Type:
application/json`` (without them Kleer answers XML). List answers (``{"users": [...]}``) are
unwrapped; single objects come back bare; unknown fields are passed through untouched (the
mapping ignores what it does not know).

Errors are translated once, here (see :mod:`workbench.errors`)::

    KleerError
    ├── KleerUnavailable   network, timeout, 5xx (after retries for reads);
    │                      .write_may_have_landed is True when a write's answer was lost
    ├── KleerRejected      4xx (status, message), and 500 "Tekniskt fel" on a write: Kleer's
    │   │                  deterministic answer to an invalid write (nothing was stored)
    │   └── KleerAuthError 401 / 403
    └── KleerBadAnswer     a 2xx answer the client cannot read (not JSON, no list, an item
                           without a whole-number id, nested too deeply): one line naming the
                           endpoint and what was wrong; never a KeyError or a traceback

Answer shapes (see :mod:`workbench.kleer.schema` for the sources): a create may answer
``{"id": n}``, ``{"created": {"id": n}}`` or XML ``<created><id>n</id></created>``; an
update ``{"id": n}``, ``{"saved": {"id": n}}``, ``{"ok": true}`` or an empty body (all success).
"No payroll contract" is 404 or the status of the ``dialect`` the client was given (the probe
detects it: :mod:`workbench.kleer.probe`).

Retries (:class:`Retry`): reads are retried on connection errors, timeouts, 429 (honouring
``Retry-After``) and 500/502/503/504, with exponential backoff and jitter (slept outside the
``limiter``'s gate, holding no place in it). Writes are retried
only when Kleer cannot have processed them: 429 (refused before processing) and a connection
that was never established. A write answered ``500 Tekniskt fel`` is :class:`KleerRejected`
(Kleer's validation answer, per the live notes: it did not land). Any other failure of a write
(a lost answer, a timeout, another 5xx) raises :class:`KleerUnavailable` with
``write_may_have_landed=True``: the caller verifies (``find_user_by_foreign_id``, a re-read)
instead of writing twice.

A ``limiter`` (:mod:`workbench.concurrency`: what an apply passes) gates every HTTP attempt:
``limiter.acquire()`` before it, ``limiter.release(status or None, seconds, retry_after)``
after it (``seconds`` None for the list reads, whose size, not Kleer's load, sets their time).
With a limiter a 429 pauses the *whole client* for its ``Retry-After`` (the limiter's pause,
shared by every thread), so the refused request waits in the gate instead of sleeping the
same ``Retry-After`` again on its own; and as the limiter slows down on it, a 429 does not use
up one of ``Retry.attempts`` (a 429 was refused before it was processed: retrying is safe)
but one of ``Retry.rate_limited`` (default 30).

The token lives in one private attribute and in the request headers. It never appears in
``repr``, log records or exception text (any text taken from an answer is scrubbed of it).
The client is thread-safe (httpx's connection pool is); share one between worker threads.

It is longer than 500 lines on purpose: it is the one translation of Kleer's answers (every
shape, every error, the retry and limiter rules), which split over files would be harder to
check as the one contract it is.
"""

from __future__ import annotations

import copy
import email.utils
import json
import logging
import random
import re
import time
from dataclasses import dataclass
from itertools import chain
from datetime import datetime, timezone
from typing import Any, Callable, Mapping
from urllib.parse import quote

import httpx

from ..concurrency import Limiter
from ..errors import InputError, KleerAuthError, KleerError, KleerRejected, KleerUnavailable
from .config import TOKEN_HELP, KleerConfig
from .schema import MAX_ID, MAX_JSON_DEPTH, TECHNICAL_ERROR, Dialect, fact

__all__ = ["KleerClient", "KleerBadAnswer", "Retry", "DEFAULT_TIMEOUT", "LIST_KEYS",
           "full_user"]

log = logging.getLogger("workbench.kleer")

DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=5.0)

#: The one key of each list answer.
LIST_KEYS = {"/user": "users", "/payroll/user": "payroll-user-readables"}

_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_DIGITS = re.compile(r"[0-9]+")
_XML_ID = re.compile(r"<(created|saved)>\s*<id>\s*([0-9]+)\s*</id>")


class KleerBadAnswer(KleerError):
    """Kleer answered 2xx with something the client cannot read. ``method`` and ``path`` name
    the request; the message says what was wrong, in one line."""

    def __init__(self, method: str, path: str, problem: str):
        self.method, self.path, self.problem = method, path, problem
        super().__init__(f"Kleer's answer to {method} {path} cannot be read: {problem} "
                         "(check the base URL in Settings; if it is right, Kleer changed its "
                         "answers: run the probe)")


def _id_of(value: Any) -> int | None:
    """A whole-number id (an int, or a string of ASCII digits) within range, else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 <= value <= MAX_ID else None
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        number = int(value.strip())
        return number if number <= MAX_ID else None
    return None


def _depth(value: Any) -> int:
    """How deeply ``value``'s lists and objects nest (0 for a scalar), a level at a time: a
    10,000-user answer is mostly scalars, each looked at once by one comprehension per level
    (over the level's children chained together, not one per object)."""
    level, layer = 0, [value] if type(value) in _CONTAINERS else []
    while layer:
        level += 1
        objects = [item for item in layer if type(item) is dict]
        arrays = [item for item in layer if type(item) is not dict]
        children = chain(chain.from_iterable(map(dict.values, objects)),
                         chain.from_iterable(arrays))
        layer = [child for child in children if type(child) in _CONTAINERS]
    return level


_CONTAINERS = (dict, list)  # what json.loads makes of objects and arrays (never a subclass)


def full_user(current: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """The whole user to send to ``POST /user/{id}``: ``current`` (a fresh re-read) with
    ``changes`` on top, ``None`` values in ``changes`` dropped (Kleer ignores nulls, so a null
    cannot clear anything), and the fields the XSD requires (``user.required``: id, name,
    email, active) present. Fields a user write cannot carry (``dimension-entry``, read-only)
    are left out. :class:`ValueError` when a required field has no value on either side."""
    merged = {k: v for k, v in current.items() if k != "dimension-entry"}
    merged.update({k: v for k, v in changes.items() if v is not None})
    missing = [k for k in fact("user.required") if merged.get(k) is None]
    if missing:
        raise ValueError(f"a user update must carry {', '.join(missing)}: re-read the user")
    return merged


@dataclass(frozen=True)
class Retry:
    """How hard to try. ``attempts`` counts the first try; waits grow ``backoff * 2**n`` up to
    ``max_backoff``, plus up to ``jitter`` (a fraction) at random. A ``Retry-After`` above
    ``max_retry_after`` seconds is not waited for (the error is raised at once). With a
    limiter, 429s are retried up to ``rate_limited`` times besides the ``attempts``."""

    attempts: int = 5
    backoff: float = 0.25
    max_backoff: float = 4.0
    jitter: float = 0.25
    max_retry_after: float = 60.0
    statuses: frozenset[int] = frozenset({500, 502, 503, 504})
    rate_limited: int = 30

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("Retry.attempts must be at least 1")
        if self.rate_limited < 0:
            raise ValueError("Retry.rate_limited cannot be negative")

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
    caller owns and closes) replace the network; ``sleep`` replaces ``time.sleep`` for tests;
    ``limiter`` gates every request (see the module docstring; :meth:`with_limiter`).
    """

    def __init__(self, *, base_url: str, company_id: int, token: str,
                 timeout: httpx.Timeout = DEFAULT_TIMEOUT,
                 transport: httpx.BaseTransport | None = None,
                 client: httpx.Client | None = None,
                 retries: Retry = Retry(),
                 sleep: Callable[[float], None] = time.sleep,
                 dialect: Dialect | str | Mapping[str, Any] | None = None,
                 limiter: Limiter | None = None):
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
        # the client reads every answer shape whatever the dialect; it uses the dialect only
        # for what cannot be told from an answer: which status means "no payroll contract"
        self.dialect = Dialect.parse(dialect if dialect is not None else "lenient")
        self.no_contract_statuses = frozenset({fact("answer.no_contract"),
                                               self.dialect.no_contract_status})
        self._token = str(token).strip()
        self._sleep = sleep
        self._owns_http = client is None
        self._http = client or httpx.Client(timeout=timeout, transport=transport)
        self._headers = {"X-Token": self._token, "Accept": "application/json",
                         "Content-Type": "application/json"}
        self.limiter = limiter

    def with_limiter(self, limiter: Limiter | None) -> "KleerClient":
        """This client with ``limiter`` gating its requests (an apply's): the same connection
        pool, which stays this client's to close."""
        gated = copy.copy(self)
        gated.limiter, gated._owns_http = limiter, False
        return gated

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
        return self._object("GET", "/user/me", "user")

    def integration_user(self) -> int | None:
        """The token's own Kleer user id (``GET /user/me``), the integration user: marked on the
        Import screen and left out of its bulk actions. None when Kleer does not say."""
        try:
            me = self.me()
        except Exception:  # noqa: BLE001 - only a marker; a fetch succeeds without it
            return None
        return me.get("id") if isinstance(me, dict) and isinstance(me.get("id"), int) else None

    def list_users(self) -> list[dict]:
        """Every user of the company, inactive ones included (not paged). Each item is an
        object with a whole-number ``id`` (an id sent as digits in a string is made an int);
        anything else is :class:`KleerBadAnswer`."""
        return self._list("/user")

    def get_user(self, user_id: int) -> dict:
        """One user; :class:`KleerRejected` (404) when there is none."""
        return self._object("GET", f"/user/{int(user_id)}", "user")

    def find_user_by_foreign_id(self, foreign_id: str) -> dict | None:
        """The user whose ``foreign-id`` is ``foreign_id``, or None (the guard before a create)."""
        path = f"/user/foreign-id/{quote(str(foreign_id), safe='')}"
        found = self._request("GET", path, absent=frozenset({404}))
        return None if found is None else self._check("GET", path, found, "user")

    def create_user(self, user: Mapping[str, Any]) -> int | None:
        """Create a user (PUT) and return the new id, read from any answer shape Kleer is known
        or suspected to give (``{"id": n}``, ``{"created": {"id": n}}``, XML ``<created>``).

        The contract: never a KeyError. When the answer is a success but carries no readable
        id (an empty body, ``{}``, another shape) the return is **None**: the user was created,
        and the caller finds its id by ``find_user_by_foreign_id`` (send a ``foreign-id``).
        Not retried after it may have landed (:class:`KleerUnavailable`)."""
        body = {k: v for k, v in user.items() if k != "id"}
        return self._written_id(self._request("PUT", "/user", body), "created")

    def update_user(self, user_id: int, fields: Mapping[str, Any]) -> None:
        """Send ``fields`` to ``POST /user/{id}`` as they are. Kleer's XSD wants the *whole*
        user (``user.required``: id, name, email, active): a strict Kleer answers a partial
        body ``500 Tekniskt fel`` (:class:`KleerRejected`). Prefer :meth:`update_user_full`.
        Any success body (empty, ``{"saved": ...}``, ``{"ok": true}``) is success."""
        self._request("POST", f"/user/{int(user_id)}", dict(fields))

    def update_user_full(self, current: Mapping[str, Any], changes: Mapping[str, Any]) -> None:
        """Update a user the way the XSD wants: the whole object, ``current`` (a fresh re-read
        of the user) with ``changes`` merged on top (see :func:`full_user`; nulls are dropped,
        as Kleer would ignore them). ``current["id"]`` says which user."""
        user_id = _id_of(current.get("id"))
        if user_id is None:
            raise ValueError("update_user_full needs the re-read user, with its id")
        self._request("POST", f"/user/{user_id}", full_user({**current, "id": user_id}, changes))

    # ---------------------------------------------------------------- payroll contracts

    def list_contracts(self) -> list[dict]:
        """Every payroll contract (``payroll-user-readable``) of the company."""
        return self._list("/payroll/user")

    def get_contract(self, user_id: int) -> dict | None:
        """A user's payroll contract, or None when the user has none (404, or the
        dialect's "no contract" status)."""
        path = f"/payroll/user/{int(user_id)}"
        found = self._request("GET", path, absent=self.no_contract_statuses)
        return None if found is None else self._check("GET", path, found, "contract")

    def upsert_contract(self, user_id: int, fields: Mapping[str, Any]) -> None:
        """Change (or create) a user's payroll contract with the given fields. A create needs
        ``ssn`` and ``employment-start-date``; ``employment-end-date`` takes the wrapper."""
        self._request("POST", f"/payroll/user/{int(user_id)}", dict(fields))

    # ---------------------------------------------------------------- for the probe

    def send_raw(self, method: str, path: str, *, body: Any = None,
                 headers: Mapping[str, str | None] | None = None) -> httpx.Response:
        """One request exactly as given, no retries and no translation of the answer (for
        :mod:`workbench.kleer.probe`, which needs to see what Kleer really answers). ``headers``
        replace the client's own (a None value removes one); the token is always sent.
        Network errors still become :class:`KleerUnavailable`."""
        sent = {**self._headers, **(headers or {})}
        sent = {k: v for k, v in sent.items() if v is not None}
        sent["X-Token"] = self._token
        try:
            return self._http.request(method, self.config.company_url + path, headers=sent,
                                      json=body if body is not None else None)
        except httpx.TransportError as e:
            raise KleerUnavailable(f"cannot reach Kleer at {self.base_url} "
                                   f"({type(e).__name__})", method=method, path=path) from None

    def written_id(self, response: httpx.Response, element: str = "created") -> int | None:
        """The id in a write's raw answer (any shape :meth:`create_user` reads), or None."""
        try:
            answer = self._body(response, response.request.method, response.request.url.path, True)
        except KleerBadAnswer:
            return None
        return self._written_id(answer, element)

    # ---------------------------------------------------------------- plumbing

    def _list(self, path: str) -> list[dict]:
        return self._read_list(path, self._request("GET", path, timed=False))

    def _read_list(self, path: str, answer: Any) -> list[dict]:
        """The items of a list answer (parsed JSON), each checked (:meth:`_check`)."""
        key = LIST_KEYS[path]
        wrong_wrapper = isinstance(answer, dict) and answer and key not in answer
        if not isinstance(answer, dict) or not isinstance(answer.get(key, []), list) \
                or wrong_wrapper:  # {} is an empty list; {"user": [...]} is not ours
            got = type(answer).__name__ if not isinstance(answer, dict) else \
                f"keys {', '.join(sorted(map(str, answer))[:5]) or 'none'}"
            raise KleerBadAnswer("GET", path, f"no {key!r} list ({got})")
        kind = "user" if path == "/user" else "contract"
        return [self._check("GET", path, item, kind, f"{key}[{i}]")
                for i, item in enumerate(answer.get(key, []))]

    def _object(self, method: str, path: str, kind: str) -> dict:
        return self._check(method, path, self._request(method, path), kind)

    def _check(self, method: str, path: str, item: Any, kind: str,
               where: str = "the answer") -> dict:
        """``item`` as a user (a whole-number ``id``) or a contract (``user.id``), else
        :class:`KleerBadAnswer`. An id written as digits in a string becomes an int."""
        if not isinstance(item, dict):
            raise KleerBadAnswer(method, path, f"{where} is {_kind(item)}, not an object")
        if kind == "user":
            user_id = _id_of(item.get("id"))
            if user_id is None:
                raise KleerBadAnswer(method, path, f"{where} has {_what_id(item, 'id')}")
            return item if item["id"] == user_id else {**item, "id": user_id}
        ref = item.get("user")
        user_id = _id_of(ref.get("id")) if isinstance(ref, dict) else None
        if ref is not None and user_id is None:
            raise KleerBadAnswer(method, path, f"{where} has a 'user' without a whole-number id")
        if user_id is not None and ref["id"] != user_id:
            return {**item, "user": {**ref, "id": user_id}}
        return item

    def _written_id(self, answer: Any, element: str) -> int | None:
        """The id in a write's answer, whatever its shape; None when there is none."""
        if isinstance(answer, dict):
            for candidate in (answer.get("id"), (answer.get(element) or {}).get("id")
                              if isinstance(answer.get(element), dict) else None):
                found = _id_of(candidate)
                if found is not None:
                    return found
        elif isinstance(answer, str):
            match = _XML_ID.search(answer)
            if match:
                return _id_of(match.group(2))
        elif not isinstance(answer, bool) and isinstance(answer, int):
            return _id_of(answer)
        return None

    def _send(self, method: str, url: str, body: Any, timed: bool) -> httpx.Response:
        """One HTTP attempt, through the limiter's gate when there is one."""
        limiter = self.limiter
        if limiter is None:
            return self._http.request(method, url, headers=self._headers, json=body)
        limiter.acquire()
        started = time.monotonic()
        status = retry_after = None
        try:
            response = self._http.request(method, url, headers=self._headers, json=body)
            status = response.status_code
            retry_after = _retry_after(response) if status == 429 else None
            return response
        finally:  # exactly one release per acquire, whatever happened (None: no answer)
            limiter.release(status, time.monotonic() - started if timed else None, retry_after)

    def _request(self, method: str, path: str, body: Any = None,
                 absent: frozenset[int] = frozenset(), timed: bool = True) -> Any:
        write = method != "GET"
        url = self.config.company_url + path
        attempt = rate_limited = 0
        while True:
            attempt += 1
            last = attempt >= self.retries.attempts
            try:
                response = self._send(method, url, body if write else None, timed)
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
                return self._body(response, method, path, write)
            if status in absent:
                return None
            retry_after = _retry_after(response) if status == 429 else None
            if status == 429 and self.limiter is not None \
                    and rate_limited < self.retries.rate_limited \
                    and (retry_after or 0) <= self.retries.max_retry_after:
                # the limiter has paused every request for Retry-After and slowed down: wait
                # in its gate (no sleep of our own on top), and keep the attempts for failures
                rate_limited += 1
                attempt -= 1
                log.info("Kleer %s %s: 429; retrying after the client's pause (%d of %d)",
                         method, path, rate_limited, self.retries.rate_limited)
                continue
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

    def _body(self, response: httpx.Response, method: str, path: str, write: bool) -> Any:
        """The answer's JSON. A write may also answer an empty body (success, None) or XML
        (the text, for :meth:`_written_id`); a read must answer JSON."""
        content = response.content
        if write and not content.strip():
            return None
        try:
            value = json.loads(content)
        except RecursionError:
            raise KleerBadAnswer(method, path, f"JSON nested deeper than {MAX_JSON_DEPTH} "
                                 "levels") from None
        except ValueError:
            if write and content.lstrip().startswith(b"<"):
                return response.text
            kind = response.headers.get("content-type", "no content type")
            raise KleerBadAnswer(method, path, f"{kind}, not JSON") from None
        if _depth(value) > MAX_JSON_DEPTH:
            raise KleerBadAnswer(method, path, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
        return value

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
        if status < 500 or (write and status == 500 and message.strip().lower()
                            == TECHNICAL_ERROR.lower()):
            # 500 "Tekniskt fel" is Kleer's answer to an invalid write (answer.validation):
            # deterministic, nothing stored; sending it again would only fail again
            return KleerRejected(status, message, method=method, path=path)
        if write:
            return KleerUnavailable(f"Kleer answered {status} {message} to {method} {path}; the "
                                    "change may have been saved: check before writing again",
                                    status=status, method=method, path=path,
                                    write_may_have_landed=True)
        return KleerUnavailable(f"Kleer kept failing on {method} {path} ({status} {message}, "
                                f"{attempt} tries): try again later", status=status,
                                method=method, path=path)


def _kind(value: Any) -> str:
    return "null" if value is None else {list: "a list", str: "text", bool: "a boolean"}.get(
        type(value), f"a {type(value).__name__}")


def _what_id(item: Mapping[str, Any], key: str) -> str:
    if key not in item:
        return f"no {key!r}"
    shown = json.dumps(item[key], ensure_ascii=False)
    return f"{key!r} {shown[:40]}, not a whole number"
