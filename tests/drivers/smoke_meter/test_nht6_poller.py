"""The background poller: drift-free schedule, readings, states, offline and reconnect."""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import serial

from drivers.smoke_meter import (
    STATE_TRANSITIONS,
    MeterPoller,
    MeterState,
    Nht6Meter,
    PollSchedule,
    SmokeMeterConfig,
    StateChange,
)
from simulators.smoke_meter import SmokeMeterSimulator, SteppedClock

#: generous bound for anything a test waits for (a loaded 2-core CI machine)
WAIT_S = 10.0
#: settings that make offline detection and reconnects quick
QUICK = {
    "reply_timeout_s": 0.3,
    "offline_after_failures": 3,
    "fault_after_errors": 3,
    "backoff_initial_s": 0.05,
    "backoff_factor": 2.0,
    "backoff_max_s": 0.2,
    "status_interval_s": 0.2,
}


class Changes(list):
    """State changes as the poller reports them; a test can wait for one that went by."""

    def __init__(self) -> None:
        super().__init__()
        self._arrived = threading.Condition()

    def __call__(self, change: StateChange) -> None:
        with self._arrived:
            self.append(change)
            self._arrived.notify_all()

    def wait_for(self, state: MeterState, count: int = 1) -> bool:
        """Block until ``count`` changes into ``state`` happened, even if already left again."""
        with self._arrived:
            return self._arrived.wait_for(lambda: [c.state for c in self].count(state) >= count, WAIT_S)


@pytest.fixture
def pollers() -> Iterator[Callable[..., MeterPoller]]:
    """``start(meter)``: a running poller recording its state changes, stopped after the test."""
    started: list[MeterPoller] = []

    def start(meter: Nht6Meter) -> MeterPoller:
        poller = MeterPoller(meter)
        poller.changes = Changes()  # type: ignore[attr-defined]
        poller.subscribe_state(poller.changes)  # type: ignore[attr-defined]
        started.append(poller)
        poller.start()
        return poller

    yield start
    for poller in started:
        poller.stop()


def meter_for(url: str, **settings) -> Nht6Meter:
    return Nht6Meter(SmokeMeterConfig(url=url, **{**QUICK, **settings}))


def path(changes: list[StateChange]) -> list[MeterState]:
    return [changes[0].previous, *(change.state for change in changes)] if changes else []


def wait_for_count(poller: MeterPoller, count: int) -> int:
    """Block until ``count`` readings were delivered; return the reading number."""
    got = poller.wait_for_reading(count - 1, WAIT_S)
    assert got is not None, f"fewer than {count} readings within {WAIT_S} s"
    return got[0]


def test_schedule_is_drift_free() -> None:
    schedule = PollSchedule(0.1, 100.0)
    for i in range(1000):
        # every poll finishes a little late within its slot: no slot is skipped …
        assert schedule.advance(schedule.deadline + 0.003 * (i % 7)) == 0
    # … and the lateness never adds up
    assert schedule.deadline == 100.0 + 1000 * 0.1


def test_schedule_skips_slots_an_overrun_has_passed() -> None:
    schedule = PollSchedule(0.1, 0.0)
    assert schedule.advance(0.35) == 2  # slots 1 and 2 went by during the poll of slot 0
    assert schedule.deadline == pytest.approx(0.3)  # poll at once, late within slot 3
    assert schedule.advance(0.31) == 0
    assert schedule.deadline == pytest.approx(0.4)
    with pytest.raises(ValueError):
        PollSchedule(0.0, 0.0)


def test_readings_arrive_at_the_poll_rate(sim: SmokeMeterSimulator, serve, pollers) -> None:
    got = []
    with serve("url", sim) as (url, _):
        meter = meter_for(url, poll_hz=20.0)
        poller = MeterPoller(meter)
        poller.subscribe(got.append)
        poller.start()
        try:
            assert poller.wait_for_state(MeterState.READY, WAIT_S)
            first = wait_for_count(poller, 1)
            started = time.monotonic()
            wait_for_count(poller, first + 10)
            elapsed = time.monotonic() - started
            assert poller.latest() in got
        finally:
            poller.stop()
    # ten more readings need ten more slots of 50 ms: never faster than the schedule
    assert 0.4 <= elapsed < WAIT_S
    assert len(got) >= 11
    assert poller.state is MeterState.STOPPED
    assert not meter.is_open
    stats = poller.stats
    assert stats.readings == len(got) and stats.polls >= stats.readings


def test_a_slow_meter_costs_missed_slots(sim, serve, pollers) -> None:
    sim.set_faults("delay=0.25")
    with serve("url", sim) as (url, _):
        poller = pollers(meter_for(url, reply_timeout_s=1.0, status_interval_s=60.0))
        wait_for_count(poller, 3)
        # each exchange takes ≥ 0.25 s of a 0.1 s period: at least one whole slot goes by
        assert poller.stats.missed >= 2
        assert poller.state is MeterState.READY


def test_warm_up_then_ready(serve, pollers) -> None:
    sim = SmokeMeterSimulator(warmup_s=1000, clock=SteppedClock(), line_baud=0)
    with serve("url", sim) as (url, _):
        meter = meter_for(url)
        poller = pollers(meter)
        assert poller.wait_for_state(MeterState.WARMING_UP, WAIT_S)
        meter.stop_warmup()  # from another thread than the poller's: exchanges are serialised
        assert poller.wait_for_state(MeterState.READY, WAIT_S)
        assert path(poller.changes) == [
            MeterState.STOPPED,
            MeterState.CONNECTING,
            MeterState.WARMING_UP,
            MeterState.READY,
        ]


def test_a_meter_going_silent_is_offline_until_it_answers_again(sim, serve, pollers) -> None:
    with serve("pty", sim) as (url, _):
        poller = pollers(meter_for(url))
        assert poller.wait_for_state(MeterState.READY, WAIT_S)
        before = wait_for_count(poller, 2)
        sim.set_faults("silent_after=3")  # goes silent in the middle of a test
        assert poller.wait_for_state(MeterState.OFFLINE, WAIT_S)
        offline_change = poller.changes[-1]
        assert "no answer" in offline_change.reason
        requests = sim.requests
        sim.clear_faults()
        assert poller.wait_for_state(MeterState.READY, WAIT_S)
        wait_for_count(poller, before + 5)
        assert sim.requests > requests
        stats = poller.stats
        assert stats.reconnects == 1
        assert stats.failures >= QUICK["offline_after_failures"]
        assert path(poller.changes)[-3:] == [MeterState.READY, MeterState.OFFLINE, MeterState.READY]


def test_a_dropped_converter_is_offline_at_once_and_reconnected(sim, serve, pollers) -> None:
    with serve("tcp", sim) as (url, server):
        poller = pollers(meter_for(url))
        assert poller.wait_for_state(MeterState.READY, WAIT_S)
        server.drop_connection()
        # offline may last only a moment: wait for the changes, not for the current state
        assert poller.changes.wait_for(MeterState.OFFLINE)
        assert poller.changes.wait_for(MeterState.READY, count=2)
        assert server.connections == 2
        assert poller.stats.reconnects == 1


def test_a_missing_port_is_retried_with_exponential_backoff(pollers) -> None:
    attempts: list[float] = []
    enough = threading.Event()

    def opener(url: str, **kwargs) -> serial.SerialBase:
        attempts.append(time.monotonic())
        if len(attempts) >= 5:
            enough.set()
        raise serial.SerialException(f"could not open port {url}")

    meter = Nht6Meter(SmokeMeterConfig(url="/dev/ttyUSB9", **QUICK), opener=opener)
    poller = pollers(meter)
    assert enough.wait(WAIT_S)
    assert poller.state is MeterState.OFFLINE
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    expected = [0.05, 0.1, 0.2, 0.2]  # doubling from 50 ms, capped at 200 ms
    assert all(gap >= want * 0.9 for gap, want in zip(gaps, expected, strict=False))
    assert path(poller.changes) == [MeterState.STOPPED, MeterState.CONNECTING, MeterState.OFFLINE]


def test_garbled_answers_are_a_fault_until_they_are_right_again(sim, serve, pollers) -> None:
    with serve("url", sim) as (url, _):
        poller = pollers(meter_for(url))
        assert poller.wait_for_state(MeterState.READY, WAIT_S)
        sim.set_faults("garbled")
        assert poller.wait_for_state(MeterState.FAULT, WAIT_S)
        sim.clear_faults()
        assert poller.wait_for_state(MeterState.READY, WAIT_S)


def test_the_meter_reporting_an_internal_fault(sim, serve, pollers) -> None:
    with serve("url", sim) as (url, _):
        poller = pollers(meter_for(url))
        assert poller.wait_for_state(MeterState.READY, WAIT_S)
        sim.set_internal_fault(True)
        assert poller.wait_for_state(MeterState.FAULT, WAIT_S)
        assert "INTERNAL_FAULT" in poller.changes[-1].reason
        sim.set_internal_fault(False)
        assert poller.wait_for_state(MeterState.READY, WAIT_S)


def test_a_failing_subscriber_does_not_stop_polling(sim, serve, pollers, caplog) -> None:
    calls = []

    def broken(reading) -> None:
        calls.append(reading)
        raise RuntimeError("screen went away")

    with serve("url", sim) as (url, _), caplog.at_level(logging.ERROR):
        meter = meter_for(url)
        poller = MeterPoller(meter)
        unsubscribe = poller.subscribe(broken)
        poller.start()
        try:
            seen = wait_for_count(poller, 3)
            unsubscribe()
            after = len(calls)
            wait_for_count(poller, seen + 3)
        finally:
            poller.stop()
    assert after >= 3
    assert len(calls) <= after + 1  # at most the reading in flight while unsubscribing
    assert "reading subscriber failed" in caplog.text


def test_start_stop_and_restart(sim, serve) -> None:
    with serve("url", sim) as (url, _):
        poller = MeterPoller(meter_for(url))
        poller.start()
        try:
            with pytest.raises(RuntimeError):
                poller.start()
            assert poller.wait_for_state(MeterState.READY, WAIT_S)
            last = wait_for_count(poller, 1)
        finally:
            poller.stop()
        assert poller.state is MeterState.STOPPED and not poller.running
        poller.start()
        try:
            assert poller.wait_for_reading(last, WAIT_S) is not None  # polling again
            assert poller.state is MeterState.READY
        finally:
            poller.stop()


def test_state_table() -> None:
    assert STATE_TRANSITIONS[MeterState.STOPPED] == {MeterState.CONNECTING}
    for state in (MeterState.WARMING_UP, MeterState.READY, MeterState.CALIBRATING, MeterState.FAULT):
        assert {MeterState.OFFLINE, MeterState.STOPPED} <= STATE_TRANSITIONS[state]
        assert state not in STATE_TRANSITIONS[state]
    assert MeterState.CONNECTING not in STATE_TRANSITIONS[MeterState.OFFLINE]
