"""Background polling of one meter: real-time readings at a steady rate, and the meter's state.

One thread per meter asks for real-time data (A5) on a drift-free schedule — the n-th poll is
due at ``start + n · period``, never "sleep a period after the last one" — and the status every
``status_interval_s``. Readings go to subscribers and to a latest-value slot; the typed
:class:`MeterState` goes to state subscribers. Timeouts or a vanished port make the meter
OFFLINE: the port is closed and re-opened with exponential backoff until it answers again.

Callbacks run on the poller thread and must be quick; an exception in one is logged and does
not stop polling.
"""

from __future__ import annotations

import enum
import logging
import math
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from drivers.errors import (
    DeviceError,
    DeviceNotFound,
    DeviceReportedError,
    DeviceTimeout,
    ProtocolError,
)
from drivers.smoke_meter.config import SmokeMeterConfig
from drivers.smoke_meter.interface import SmokeMeter
from drivers.smoke_meter.types import MeterStatus, Reading

log = logging.getLogger(__name__)


class MeterState(enum.StrEnum):
    STOPPED = "stopped"  # 未启动
    CONNECTING = "connecting"  # 连接中
    WARMING_UP = "warming_up"  # 预热中
    READY = "ready"  # 就绪（测量）
    CALIBRATING = "calibrating"  # 校准中
    OFFLINE = "offline"  # 离线（重连中）
    FAULT = "fault"  # 故障


_ONLINE = frozenset(
    {MeterState.WARMING_UP, MeterState.READY, MeterState.CALIBRATING, MeterState.FAULT}
)
#: allowed moves; anything else is a bug in the poller
STATE_TRANSITIONS: dict[MeterState, frozenset[MeterState]] = {
    MeterState.STOPPED: frozenset({MeterState.CONNECTING}),
    MeterState.CONNECTING: _ONLINE | {MeterState.OFFLINE, MeterState.STOPPED},
    MeterState.OFFLINE: _ONLINE | {MeterState.STOPPED},
    **{state: _ONLINE - {state} | {MeterState.OFFLINE, MeterState.STOPPED} for state in _ONLINE},
}
#: the meter answers: the states a screen shows as "connected"
ONLINE_STATES = _ONLINE

_STATE_OF_STATUS = {
    MeterStatus.WARMING_UP: MeterState.WARMING_UP,
    MeterStatus.MEASURING: MeterState.READY,
    MeterStatus.CALIBRATING: MeterState.CALIBRATING,
    MeterStatus.INTERNAL_FAULT: MeterState.FAULT,
}


@dataclass(frozen=True)
class StateChange:
    previous: MeterState
    state: MeterState
    #: why, in English, for logs (screens map ``state`` to Chinese)
    reason: str


@dataclass(frozen=True)
class PollerStats:
    #: poll slots in which a real-time request was sent
    polls: int = 0
    #: readings delivered
    readings: int = 0
    #: polls that failed (timeout, protocol error, refusal)
    failures: int = 0
    #: poll slots skipped because an exchange overran its period
    missed: int = 0
    #: successful re-connections after the meter was offline
    reconnects: int = 0


class PollSchedule:
    """Drift-free deadlines: slot n is ``[start + n·period, start + (n+1)·period)``."""

    def __init__(self, period: float, start: float) -> None:
        if period <= 0:
            raise ValueError("period must be positive")
        self.period = period
        self.start = start
        self.slot = 0

    @property
    def deadline(self) -> float:
        return self.start + self.slot * self.period

    def advance(self, now: float) -> int:
        """Move past the slot just polled; return how many later slots were skipped.

        If the poll overran into later slots, those that have fully passed are skipped (counted
        as missed) and the next poll runs at once, late within the current slot, rather than in
        a burst that would catch up old slots.
        """
        self.slot += 1
        current = math.floor((now - self.start) / self.period)
        if current <= self.slot:
            return 0
        skipped = current - self.slot
        self.slot = current
        return skipped


Subscriber = Callable[[Reading], None]
StateSubscriber = Callable[[StateChange], None]


class MeterPoller:
    """Polls one :class:`SmokeMeter` on its own thread."""

    def __init__(
        self,
        meter: SmokeMeter,
        config: SmokeMeterConfig | None = None,
        *,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.meter = meter
        self.config = config or getattr(meter, "config", None) or SmokeMeterConfig()
        self._monotonic = monotonic
        self._subscribers: list[Subscriber] = []
        self._state_subscribers: list[StateSubscriber] = []
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._state = MeterState.STOPPED
        self._latest: Reading | None = None
        self._sequence = 0
        self._stats = PollerStats()
        self._meter_status: MeterStatus | None = None

    # -- wiring -----------------------------------------------------------------------------

    def subscribe(self, callback: Subscriber) -> Callable[[], None]:
        """Call ``callback(reading)`` for every reading; returns the unsubscribe function."""
        return self._add(self._subscribers, callback)

    def subscribe_state(self, callback: StateSubscriber) -> Callable[[], None]:
        """Call ``callback(change)`` on every state change; returns the unsubscribe function."""
        return self._add(self._state_subscribers, callback)

    def _add(self, subscribers: list, callback: Callable) -> Callable[[], None]:
        with self._changed:
            subscribers.append(callback)

        def unsubscribe() -> None:
            with self._changed:
                if callback in subscribers:
                    subscribers.remove(callback)

        return unsubscribe

    # -- what others read -------------------------------------------------------------------

    @property
    def state(self) -> MeterState:
        with self._changed:
            return self._state

    @property
    def stats(self) -> PollerStats:
        with self._changed:
            return self._stats

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def latest(self) -> Reading | None:
        """The most recent reading (a slot of one, never a growing queue)."""
        with self._changed:
            return self._latest

    def wait_for_reading(self, after: int = 0, timeout: float | None = None) -> tuple[int, Reading] | None:
        """Block until reading number ``after + 1`` or later exists; return (number, reading)."""
        with self._changed:
            if not self._changed.wait_for(lambda: self._sequence > after, timeout):
                return None
            assert self._latest is not None
            return self._sequence, self._latest

    def wait_for_state(self, states: MeterState | Iterable[MeterState], timeout: float | None = None) -> bool:
        wanted = {states} if isinstance(states, MeterState) else set(states)
        with self._changed:
            return self._changed.wait_for(lambda: self._state in wanted, timeout)

    # -- life -------------------------------------------------------------------------------

    def start(self) -> None:
        if self.running:
            raise RuntimeError("the poller is already running")
        self._stop.clear()
        with self._changed:
            self._stats = PollerStats()
        self._thread = threading.Thread(
            target=self._run, name=f"smoke-meter-poller:{self.config.name}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop polling and close the port; waits for the thread."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():
                raise RuntimeError("the poller thread did not stop in time")

    # -- the thread -------------------------------------------------------------------------

    def _run(self) -> None:
        cfg = self.config
        backoff = cfg.backoff_initial_s
        self._set_state(MeterState.CONNECTING, "starting")
        try:
            while not self._stop.is_set():
                was_offline = self.state is MeterState.OFFLINE
                if not self._connect():
                    if self._stop.wait(backoff):
                        break
                    backoff = min(backoff * cfg.backoff_factor, cfg.backoff_max_s)
                    continue
                if was_offline:
                    self._bump(reconnects=1)
                backoff = cfg.backoff_initial_s
                self._poll_until_offline()
        finally:
            self.meter.close()
            self._set_state(MeterState.STOPPED, "stopped")

    def _connect(self) -> bool:
        """Open the port and ask the status; False (and OFFLINE) if the meter is not there."""
        self.meter.close()
        try:
            self.meter.open()
            self._apply_status(self.meter.status(), "connected")
        except (DeviceTimeout, DeviceNotFound) as exc:
            self.meter.close()
            self._set_state(MeterState.OFFLINE, f"no answer: {exc}")
            return False
        except (ProtocolError, DeviceReportedError) as exc:
            self._set_state(MeterState.FAULT, f"answers, but wrongly: {exc}")
        return True

    def _poll_until_offline(self) -> None:
        cfg = self.config
        schedule = PollSchedule(cfg.poll_period_s, self._monotonic())
        next_status = schedule.start + cfg.status_interval_s
        timeouts = errors = 0
        while not self._stop.is_set():
            if self._stop.wait(max(0.0, schedule.deadline - self._monotonic())):
                return
            self._bump(polls=1)
            try:
                reading = self.meter.read_realtime()
                self._deliver(reading)
                if self._monotonic() >= next_status:
                    next_status = self._monotonic() + cfg.status_interval_s
                    self._apply_status(self.meter.status(), "status")
                elif self.state is MeterState.FAULT and errors:
                    self._restore_after_errors()
                timeouts = errors = 0
            except (DeviceTimeout, DeviceNotFound) as exc:
                timeouts += 1
                self._bump(failures=1)
                if isinstance(exc, DeviceNotFound) or timeouts >= cfg.offline_after_failures:
                    self.meter.close()
                    self._set_state(MeterState.OFFLINE, f"no answer: {exc}")
                    return
            except (ProtocolError, DeviceReportedError) as exc:
                errors += 1
                self._bump(failures=1)
                if errors >= cfg.fault_after_errors:
                    self._set_state(MeterState.FAULT, str(exc))
            except DeviceError as exc:  # a driver bug or unsupported command: not recoverable here
                log.error("smoke meter %s: %s", cfg.name, exc)
                self._set_state(MeterState.FAULT, str(exc))
            self._bump(missed=schedule.advance(self._monotonic()))

    def _restore_after_errors(self) -> None:
        if self._meter_status is not None and self._meter_status is not MeterStatus.INTERNAL_FAULT:
            self._set_state(_STATE_OF_STATUS[self._meter_status], "answers correctly again")

    def _apply_status(self, status: MeterStatus, reason: str) -> None:
        self._meter_status = status
        self._set_state(_STATE_OF_STATUS[status], f"{reason}: meter status {status.name}")

    def _deliver(self, reading: Reading) -> None:
        with self._changed:
            self._latest = reading
            self._sequence += 1
            self._stats = replace(self._stats, readings=self._stats.readings + 1)
            subscribers = list(self._subscribers)
            self._changed.notify_all()
        for callback in subscribers:
            try:
                callback(reading)
            except Exception:
                log.exception("smoke meter %s: reading subscriber failed", self.config.name)

    def _bump(self, **counts: int) -> None:
        if not any(counts.values()):
            return
        with self._changed:
            self._stats = replace(
                self._stats, **{name: getattr(self._stats, name) + n for name, n in counts.items()}
            )

    def _set_state(self, state: MeterState, reason: str) -> None:
        with self._changed:
            previous = self._state
            if state is previous:
                return
            if state not in STATE_TRANSITIONS[previous]:
                raise RuntimeError(f"smoke meter poller cannot go from {previous} to {state}")
            self._state = state
            subscribers = list(self._state_subscribers)
            self._changed.notify_all()
        change = StateChange(previous, state, reason)
        log.info("smoke meter %s: %s → %s (%s)", self.config.name, previous, state, reason)
        for callback in subscribers:
            try:
                callback(change)
            except Exception:
                log.exception("smoke meter %s: state subscriber failed", self.config.name)
