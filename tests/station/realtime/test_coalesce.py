"""The coalescer runs the work after requests, never once per request in a burst."""

from __future__ import annotations

import threading
import time

import pytest

from station.realtime.coalesce import Coalescer


def test_runs_at_once_when_idle_and_once_for_a_burst():
    calls: list[float] = []
    started = threading.Event()
    release = threading.Event()

    def work(_parts) -> None:
        calls.append(time.monotonic())
        started.set()
        release.wait(5)

    c = Coalescer(work, interval=0.2, name="test")
    c.request()
    assert started.wait(2), "the first request runs without waiting for the interval"
    for _ in range(50):  # a burst while the first run is busy
        c.request()
    release.set()
    assert c.drain(5)
    assert c.runs == 2, "fifty requests during one run lead to exactly one more run"
    assert calls[1] - calls[0] >= 0.2, "runs are at least the interval apart"
    c.stop()


def test_a_request_after_a_run_is_not_lost():
    seen: list[int] = []
    value = [0]
    c = Coalescer(lambda _parts: seen.append(value[0]), interval=0.05, name="test")
    for n in range(1, 6):
        value[0] = n
        c.request()
        assert c.drain(5)
    assert seen[-1] == 5, "the last change is always seen by a run that starts after it"
    c.stop()


def test_failures_are_logged_and_the_thread_goes_on(caplog):
    outcomes = iter([RuntimeError("boom"), None])

    def work(_parts) -> None:
        error = next(outcomes)
        if error is not None:
            raise error

    c = Coalescer(work, interval=0.0, name="flaky")
    c.request()
    assert c.drain(5)
    c.request()
    assert c.drain(5)
    assert c.runs == 2
    assert "flaky failed" in caplog.text
    c.stop()


def test_stopped_coalescer_ignores_requests():
    c = Coalescer(lambda _parts: None, interval=0.0, name="test")
    c.stop()
    c.request()
    assert c.drain(1) and c.runs == 0


def test_a_delay_lets_the_first_run_wait_and_gathers_the_burst():
    runs: list[float] = []
    c = Coalescer(lambda _parts: runs.append(time.monotonic()), interval=0.0, delay=0.2, name="test")
    started = time.monotonic()
    for _ in range(20):
        c.request()
    assert c.drain(5)
    assert c.runs == 1 and runs[0] - started >= 0.2
    c.stop()


def test_a_run_is_given_the_parts_asked_for_since_the_last_one():
    given: list[frozenset[str] | None] = []
    c = Coalescer(given.append, interval=0.0, delay=0.1, name="test")
    c.request("lanes")
    c.request("lanes")
    c.request("queues")
    assert c.drain(5)
    c.request("lanes")
    assert c.drain(5)
    c.request("lanes")
    c.request()  # a request naming no part asks for everything
    assert c.drain(5)
    assert given == [frozenset({"lanes", "queues"}), frozenset({"lanes"}), None]
    c.stop()


def test_requests_while_a_run_waits_do_not_wake_its_thread():
    """A run asked for waits for its time; each further request only joins it. Waking the
    thread for each would have it compete for the GIL with the request's clients for nothing."""
    wakes = []

    class Counting(threading.Condition):
        def notify_all(self) -> None:
            wakes.append(1)
            super().notify_all()

    seen: list[frozenset[str] | None] = []
    c = Coalescer(seen.append, interval=0.3, delay=0.3, name="test")
    c._cond = Counting()
    for _ in range(20):
        c.request("lanes")
    c.request("queues")
    assert len(wakes) == 1
    assert c.drain(5)
    assert seen == [frozenset({"lanes", "queues"})]
    c.stop()


def test_a_long_run_pauses_the_next_one_to_keep_its_share_of_the_time():
    """With ``max_share`` the pause after a run grows with the run: work taking 0.1 s at a
    share of a quarter starts again no sooner than 0.3 s after it ended, whatever the
    interval; quick work keeps to the interval."""
    spans: list[tuple[float, float]] = []
    took = [0.1]

    def work(_parts) -> None:
        start = time.monotonic()
        time.sleep(took[0])
        spans.append((start, time.monotonic()))

    c = Coalescer(work, interval=0.05, max_share=0.25, name="test")
    for _ in range(2):
        c.request()
        time.sleep(0.01)  # the second request comes while the first run works
    assert c.drain(5)
    assert len(spans) == 2
    assert spans[1][0] - spans[0][1] >= 0.3 - 0.01
    took[0] = 0.0
    c.request()
    assert c.drain(5)
    quick_end = spans[-1][1]
    c.request()
    assert c.drain(5)
    assert 0.05 - 0.01 <= spans[-1][0] - quick_end < 0.25, "a quick run keeps to the interval"
    c.stop()


def test_max_share_must_be_a_share():
    for wrong in (0, -0.5, 1.5):
        with pytest.raises(ValueError):
            Coalescer(lambda _parts: None, interval=0.0, max_share=wrong, name="test")
