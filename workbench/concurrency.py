"""How many requests an apply keeps in flight: an adaptive limit (AIMD) or a pinned one.

Nobody knows Kleer's real rate limit, so a fixed concurrency is either too cautious (every
customer waits) or too bold (a stricter Kleer answers 429). :class:`AdaptiveLimiter` finds the
level as it goes, with the controller TCP congestion control made well known and that
Netflix's ``concurrency-limits`` and Envoy's adaptive concurrency use for the same problem:
**additive increase, multiplicative decrease** (AIMD) on the number of requests in flight.

* A full window of clean, fast answers (as many answers as the level) adds one, up to
  ``ceiling``.
* A 429 halves the limit at once and pauses *every* request for the answer's ``Retry-After``
  (the pause is the limiter's, shared by all worker threads, not one thread's sleep).
* A 503 (or a connection that failed) halves the limit.
* Rising latency — the smoothed latency above ``latency_factor`` × the best seen — cuts the
  limit by a quarter, at most once per window, before the server starts refusing.
* No answer at all, several in a row (Kleer down or restarting): besides the cut, every
  request waits a pause that doubles from ``OUTAGE_PAUSE`` to ``OUTAGE_MAX_PAUSE`` (reset by
  any answer), for at most ``OUTAGE_PATIENCE`` seconds of silence. So a Kleer that blips is
  asked by a trickle of requests while the others wait in the gate, instead of every worker
  thread burning its retries at once; a Kleer that stays away is given up on as before.

Why AIMD and not a gradient or Vegas-style controller: it needs no model of the server, it
converges to a fair share under a token bucket, and its reaction to each signal is one line that
an analyst can read in the progress ("429: 16 → 8"). Every change is kept as a
:class:`LevelChange` (when, from, to, why) for the progress display and the batch record.

:class:`FixedLimiter` pins the level (``--concurrency N``, the Settings ceiling "pinned"): it
still honours ``Retry-After`` for the whole client but never changes the level.

Both are thread-safe. The Kleer client calls :meth:`acquire` before each request and
:meth:`release` with how it went (``seconds`` None: a request whose time says nothing about
the server's load, such as a list of every user; its status still counts); the limiter knows
nothing of HTTP libraries.
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass
from typing import Callable, Protocol

__all__ = ["Limiter", "AdaptiveLimiter", "FixedLimiter", "LevelChange", "DEFAULT_START",
           "DEFAULT_CEILING", "summary_text"]

DEFAULT_START = 8
DEFAULT_CEILING = 32


@dataclass(frozen=True)
class LevelChange:
    """One change of the level: ``at`` seconds since the limiter started."""

    at: float
    old: int
    new: int
    reason: str

    def __str__(self) -> str:
        return f"{self.reason}: {self.old} → {self.new}"


class Limiter(Protocol):
    def acquire(self) -> None: ...
    def release(self, status: int | None, seconds: float | None,
                retry_after: float | None = None) -> None: ...
    @property
    def level(self) -> int: ...
    def summary(self) -> dict: ...
    def describe(self) -> str: ...


class _Gate:
    """The shared part: requests in flight under a level, and a pause all requests honour."""

    OUTAGE_PAUSE, OUTAGE_MAX_PAUSE, OUTAGE_PATIENCE = 0.25, 2.0, 30.0

    def __init__(self, level: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self._cond = threading.Condition()
        self._limit = float(level)
        self._in_flight = 0
        self._paused_until = -math.inf
        self._clock, self._sleep = clock, sleep
        self._started = clock()
        self.changes: list[LevelChange] = []
        self.counts = {"requests": 0, "429": 0, "503": 0, "failed": 0}
        self.peak = int(level)
        self._silent_since: float | None = None  # when the answers stopped (no answer at all)
        self._silent = 0                         # requests without an answer since then

    @property
    def level(self) -> int:
        return max(1, int(self._limit))

    def acquire(self) -> None:
        with self._cond:
            while True:
                wait = self._paused_until - self._clock()
                if wait > 0:
                    self._cond.wait(wait)  # woken early by a release; the loop re-checks
                    continue
                if self._in_flight < self.level:
                    self._in_flight += 1
                    return
                self._cond.wait(0.5)

    def _done(self) -> None:
        self._in_flight -= 1
        self._cond.notify_all()

    def _heard(self, status: int | None) -> None:
        """The outage pause (see the module docstring): no answer waits, any answer resets."""
        if status is not None:
            self._silent_since, self._silent = None, 0
            return
        now = self._clock()
        if self._silent_since is None:
            self._silent_since = now
        if now - self._silent_since < self.OUTAGE_PATIENCE:
            self._pause(min(self.OUTAGE_MAX_PAUSE, self.OUTAGE_PAUSE * 2 ** min(self._silent, 16)))
        self._silent += 1

    def _pause(self, seconds: float) -> None:
        self._paused_until = max(self._paused_until, self._clock() + seconds)

    def _set(self, new: float, reason: str) -> None:
        old = self.level
        self._limit = new
        if self.level != old:
            self.changes.append(LevelChange(round(self._clock() - self._started, 3), old,
                                            self.level, reason))
            self.peak = max(self.peak, self.level)

    def _count(self, status: int | None) -> None:
        self._heard(status)
        self.counts["requests"] += 1
        if status == 429:
            self.counts["429"] += 1
        elif status == 503:
            self.counts["503"] += 1
        elif status is None or status >= 500:
            self.counts["failed"] += 1

    def summary(self) -> dict:
        """What the batch record keeps: the level now, the peak, the changes and the counts."""
        with self._cond:
            return {"mode": self.mode, "level": self.level, "peak": self.peak,
                    "counts": dict(self.counts),
                    "changes": [{"at": c.at, "from": c.old, "to": c.new, "reason": c.reason}
                                for c in self.changes[-50:]],
                    "changes_total": len(self.changes)}

    def describe(self) -> str:
        """The live level in a few words, with the last change and why (the progress line):
        ``concurrency 8 (adaptive; last change 429 Too Many Requests (Retry-After 1 s): 16 → 8)``."""
        with self._cond:
            last = f"; last change {self.changes[-1]}" if self.changes else ""
            return f"concurrency {self.level} ({self.mode}{last})"

    mode = "gate"


def summary_text(summary: dict | None) -> str:
    """A :meth:`_Gate.summary` in one line (the apply's result and the batch list), e.g.
    ``concurrency adaptive, ended at 14 (peak 20); 5 changes; 3 × 429, 0 × 503``."""
    if not summary:
        return ""
    counts = summary.get("counts", {})
    text = f"concurrency {summary.get('mode')}, ended at {summary.get('level')}"
    if summary.get("mode") != "pinned":
        text += f" (peak {summary.get('peak')}); {summary.get('changes_total', 0)} changes"
    return text + f"; {counts.get('429', 0)} × 429, {counts.get('503', 0)} × 503"


class FixedLimiter(_Gate):
    """A pinned level; ``Retry-After`` still pauses every request."""

    mode = "pinned"

    def __init__(self, level: int, **kw):
        if level < 1:
            raise ValueError(f"concurrency must be at least 1, not {level}")
        super().__init__(level, **kw)

    def release(self, status: int | None, seconds: float | None,
                retry_after: float | None = None) -> None:
        with self._cond:
            self._count(status)
            if status == 429:
                self._pause(retry_after if retry_after is not None else 1.0)
            self._done()


class AdaptiveLimiter(_Gate):
    """AIMD between ``floor`` and ``ceiling``, starting at ``start`` (see the module docstring)."""

    mode = "adaptive"

    def __init__(self, start: int = DEFAULT_START, *, ceiling: int = DEFAULT_CEILING,
                 floor: int = 1, latency_factor: float = 2.0, smoothing: float = 0.2, **kw):
        if not 1 <= floor <= ceiling:
            raise ValueError(f"need 1 <= floor <= ceiling, not {floor} and {ceiling}")
        super().__init__(min(max(start, floor), ceiling), **kw)
        self.floor, self.ceiling = floor, ceiling
        self.latency_factor, self.smoothing = latency_factor, smoothing
        self._best: float | None = None       # the lowest latency seen (the no-load baseline)
        self._smoothed: float | None = None   # exponentially smoothed latency
        self._since_cut = 0                   # answers since the last decrease
        self._clean = 0                       # clean answers since the level last changed

    def _decrease(self, factor: float, reason: str) -> None:
        self._since_cut = self._clean = 0
        self._set(max(self.floor, self._limit * factor), reason)

    def release(self, status: int | None, seconds: float | None,
                retry_after: float | None = None) -> None:
        with self._cond:
            self._count(status)
            self._since_cut += 1
            if status == 429:
                self._pause(retry_after if retry_after is not None else 1.0)
                self._decrease(0.5, "429 Too Many Requests" + (
                    f" (Retry-After {retry_after:g} s)" if retry_after is not None else ""))
            elif status is None or status == 503:
                self._decrease(0.5, "503 Service Unavailable" if status == 503
                               else "no answer")
            elif status < 500 and seconds is not None:
                self._observe(seconds)
            self._done()

    def _observe(self, seconds: float) -> None:
        self._best = seconds if self._best is None else min(self._best, seconds)
        self._smoothed = seconds if self._smoothed is None else (
            self.smoothing * seconds + (1 - self.smoothing) * self._smoothed)
        slow = self._smoothed > self.latency_factor * max(self._best, 0.005)
        if slow:
            if self._since_cut >= self.level:  # at most one cut per window of answers
                self._decrease(0.75, f"latency rising ({self._smoothed * 1000:.0f} ms against "
                                     f"{self._best * 1000:.0f} ms at best)")
                # the new normal: compare the next window with what it sees now
                self._best = self._smoothed / self.latency_factor * 1.2
        elif self._limit < self.ceiling:
            self._clean += 1
            if self._clean >= self.level:
                self._clean = 0
                self._set(min(self.ceiling, self._limit + 1), "answers fast and clean")
