"""Coalesced work: derived figures recomputed after a burst of changes, not once per change.

A check-in, a call or a car moving each change the public waits (queues per category, lane
waits). Recomputing them inside every request would make every request pay for the whole
queue; instead the request only *asks* for a recomputation, and one thread does it — at once
when it has been idle, otherwise at most once per ``interval`` however many changes came in.
With a ``delay`` the first run of a burst waits that long too. With a ``max_share`` the pause
after a run also grows with what the run took, so the work never takes more than that share
of the time, however long it grows (the whole queue is ordered for the waits: a few ms on a
quiet day, a tenth of a second with a thousand waiting), and the requests keep the rest. The
thread starts on the first request (``create_app`` stays free of threads).

A request may name the parts of the work it needs (``request("lanes")``); the run is given
the union of the parts asked for since the last run, or ``None`` (everything) when any request
named none.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)


class Coalescer:
    def __init__(self, work: Callable[[frozenset[str] | None], None], *, interval: float, name: str,
                 delay: float = 0.0, max_share: float = 1.0) -> None:
        if not 0 < max_share <= 1:
            raise ValueError("max_share is a share of the time: more than 0, at most 1")
        self._work = work
        self._interval = interval
        #: after a run that took t seconds, the next starts no sooner than t * _pause_per_s later
        self._pause_per_s = 1 / max_share - 1
        #: wait this long after the first request before running: the change's own event is
        #: delivered first, and a burst is gathered into the run
        self._delay = delay
        self._name = name
        self._cond = threading.Condition()
        self._pending = False
        #: the parts asked for since the last run; None: everything
        self._parts: set[str] | None = set()
        self._busy = False
        self._stopped = False
        self._thread: threading.Thread | None = None
        #: the earliest time the next run may start (``interval`` and ``max_share``)
        self._next_run = float("-inf")
        #: how many times the work ran (for tests and benchmarks)
        self.runs = 0

    def request(self, *parts: str) -> None:
        """Ask for one more run (of ``parts``, or of everything); returns at once."""
        with self._cond:
            if self._stopped:
                return
            was_pending, self._pending = self._pending, True
            if not parts:
                self._parts = None
            elif self._parts is not None:
                self._parts.update(parts)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
            # a run already asked for is waiting for its time: waking the thread would only
            # have it wait again (and take the GIL from whatever the request set going)
            if not was_pending:
                self._cond.notify_all()

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until every requested run has happened; False if ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._pending or self._busy:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
        return True

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._stopped:
                    self._cond.wait()
                if self._stopped:
                    self._cond.notify_all()
                    return
                # changes arriving during the pause join this run
                wake = max(self._next_run, time.monotonic() + self._delay)
                while (pause := wake - time.monotonic()) > 0:
                    self._cond.wait(pause)
                    if self._stopped:
                        self._cond.notify_all()
                        return
                self._pending, self._busy = False, True
                parts = None if self._parts is None else frozenset(self._parts)
                self._parts = set()
            started = time.monotonic()
            try:
                self._work(parts)
            except Exception:
                log.exception("%s failed", self._name)
            finally:
                with self._cond:
                    self._busy = False
                    ended = time.monotonic()
                    self._next_run = ended + max(self._interval,
                                                 (ended - started) * self._pause_per_s)
                    self.runs += 1
                    self._cond.notify_all()
