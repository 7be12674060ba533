"""The simulator's test clock: seconds of simulated time, scalable or stepped by hand.

Only the simulated *test* (engine, smoke, warm-up, calibration) runs on this clock. Reply delays
(wire time at the line's baud rate, the ``delay`` fault) are real time: the driver's timeouts are
real, so a slow meter must be slow in real seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Protocol


class SimClock(Protocol):
    def now(self) -> float:
        """Simulated seconds since an arbitrary origin; never goes backwards."""


class ScaledClock:
    """Simulated time running ``time_scale`` times as fast as real time (1.0 = real time)."""

    def __init__(self, time_scale: float = 1.0, *, monotonic: Callable[[], float] = time.monotonic) -> None:
        if time_scale <= 0:
            raise ValueError(f"time_scale must be positive, not {time_scale!r}")
        self.time_scale = time_scale
        self._monotonic = monotonic
        self._origin = monotonic()

    def now(self) -> float:
        return (self._monotonic() - self._origin) * self.time_scale

    def real_seconds(self, simulated: float) -> float:
        """How long ``simulated`` seconds of test time take in real time."""
        return simulated / self.time_scale


class SteppedClock:
    """Simulated time that moves only when a test calls :meth:`advance`."""

    def __init__(self, start: float = 0.0) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("a clock does not go backwards")
        with self._lock:
            self._now += seconds
            return self._now
