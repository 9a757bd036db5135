"""The concurrency controller: AIMD on 429, 503 and latency; a pinned level stays pinned."""

import threading
import time

import pytest

from workbench.concurrency import AdaptiveLimiter, FixedLimiter


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def _answers(lim, n, status=200, seconds=0.05, retry_after=None):
    for _ in range(n):
        lim.acquire()
        lim.release(status, seconds, retry_after)


def test_clean_fast_answers_raise_the_level_by_about_one_per_window():
    lim = AdaptiveLimiter(8, ceiling=32)
    _answers(lim, 8)            # one full window at 8
    assert lim.level == 9
    _answers(lim, 200)
    assert 16 <= lim.level <= 32
    assert all(c.new == c.old + 1 for c in lim.changes)
    assert lim.changes[0].reason == "answers fast and clean"


def test_the_ceiling_holds():
    lim = AdaptiveLimiter(8, ceiling=10)
    _answers(lim, 500)
    assert lim.level == 10
    assert lim.summary()["peak"] == 10


def test_429_halves_at_once_and_pauses_every_request_for_retry_after():
    clock = Clock()
    lim = AdaptiveLimiter(16, ceiling=32, clock=clock)
    _answers(lim, 1, status=429, retry_after=2.0)
    assert lim.level == 8
    assert str(lim.changes[-1]) == "429 Too Many Requests (Retry-After 2 s): 16 → 8"
    # another thread's acquire waits until the clock passes the pause
    got = threading.Event()
    t = threading.Thread(target=lambda: (lim.acquire(), got.set()))
    t.start()
    assert not got.wait(0.3)            # paused: the clock has not moved
    clock.now += 2.5
    with lim._cond:
        lim._cond.notify_all()
    assert got.wait(2)
    t.join()
    assert lim.summary()["counts"]["429"] == 1


def test_503_and_lost_answers_halve_but_never_below_the_floor():
    lim = AdaptiveLimiter(8, floor=2)
    _answers(lim, 1, status=503)
    assert lim.level == 4
    _answers(lim, 1, status=None)
    assert lim.level == 2
    _answers(lim, 3, status=503)
    assert lim.level == 2
    assert lim.changes[1].reason == "no answer"


def test_rising_latency_cuts_once_per_window_then_settles_at_the_new_normal():
    lim = AdaptiveLimiter(8, ceiling=32)
    _answers(lim, 40, seconds=0.05)
    before = lim.level
    _answers(lim, 3 * before, seconds=0.5)
    cuts = [c for c in lim.changes if c.reason.startswith("latency rising")]
    assert cuts, "a tenfold latency must cut the level"
    assert cuts[0].new == int(before * 0.75) or cuts[0].new == max(1, int(before * 0.75))
    # steady at the new latency: it grows again instead of falling to the floor
    _answers(lim, 200, seconds=0.5)
    assert lim.level > cuts[-1].new


def test_in_flight_never_exceeds_the_level():
    lim = AdaptiveLimiter(3, ceiling=3)
    peak, now, lock = [0], [0], threading.Lock()

    def worker():
        for _ in range(20):
            lim.acquire()
            with lock:
                now[0] += 1
                peak[0] = max(peak[0], now[0])
            time.sleep(0.001)
            with lock:
                now[0] -= 1
            lim.release(200, 0.001)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak[0] == 3


def test_a_pinned_level_never_changes_but_honours_retry_after():
    clock = Clock()
    lim = FixedLimiter(4, clock=clock)
    _answers(lim, 100)
    _answers(lim, 1, status=429, retry_after=5)
    assert lim._paused_until == pytest.approx(clock.now + 5)
    clock.now += 6
    _answers(lim, 1, status=503)
    assert lim.level == 4 and lim.changes == []
    assert lim.summary()["mode"] == "pinned"


def test_bad_settings_are_refused():
    with pytest.raises(ValueError):
        FixedLimiter(0)
    with pytest.raises(ValueError):
        AdaptiveLimiter(4, floor=5, ceiling=4)
