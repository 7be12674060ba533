"""Fault switches of the printer simulator and the status bytes they produce.

The ``DLE EOT n`` reply bytes follow the Epson ESC/POS reference: every byte has bit 1 and
bit 4 set and bits 0 and 7 clear; the other bits come from the printer's state.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

STATUS_FIXED_BITS = 0x12  # bit 1 and bit 4 of every DLE EOT reply
# n = 1, printer status
PRINTER_OFFLINE = 0x08
# n = 2, offline cause
COVER_OPEN = 0x04
STOPPED_BY_PAPER_END = 0x20
ERROR_OCCURRED = 0x40
# n = 3, error cause
AUTOCUTTER_ERROR = 0x08
# n = 4, roll paper sensor
PAPER_NEAR_END = 0x0C
PAPER_END = 0x60


@dataclass(frozen=True)
class Faults:
    """The simulator's fault switches (a snapshot; :class:`FaultSwitches` changes them live)."""

    #: the near-end sensor sees the end of the roll: prints normally, status warns
    paper_near_end: bool = False
    #: no paper: the printer is offline, answers status, discards every job
    paper_out: bool = False
    #: cover open: offline, answers status, discards every job
    cover_open: bool = False
    #: autocutter jammed: offline with an error, discards every job
    cutter_error: bool = False
    #: takes bytes but never answers DLE EOT (a hung printer, or one whose back channel is dead)
    no_answer: bool = False
    #: close the connection (RST) once a job reaches this many bytes, losing the job
    drop_mid_job: int | None = None
    #: seconds to wait before each status reply
    slow_reply: float = 0.0

    def __post_init__(self) -> None:
        if self.drop_mid_job is not None and self.drop_mid_job < 1:
            raise ValueError("drop_mid_job must be a positive byte count or None")
        if self.slow_reply < 0:
            raise ValueError("slow_reply cannot be negative")

    @property
    def offline(self) -> bool:
        return self.paper_out or self.cover_open or self.cutter_error

    @property
    def blocks_printing(self) -> bool:
        return self.offline

    def status_byte(self, n: int) -> int:
        """The reply to ``DLE EOT n`` (n = 1..4) for this state."""
        value = STATUS_FIXED_BITS
        if n == 1:
            if self.offline:
                value |= PRINTER_OFFLINE
        elif n == 2:
            if self.cover_open:
                value |= COVER_OPEN
            if self.paper_out:
                value |= STOPPED_BY_PAPER_END
            if self.cutter_error:
                value |= ERROR_OCCURRED
        elif n == 3:
            if self.cutter_error:
                value |= AUTOCUTTER_ERROR
        elif n == 4:
            # the near-end sensor sits before the end sensor: an empty roll trips both
            if self.paper_near_end or self.paper_out:
                value |= PAPER_NEAR_END
            if self.paper_out:
                value |= PAPER_END
        else:
            raise ValueError(f"DLE EOT n must be 1-4, got {n}")
        return value

    def active(self) -> dict[str, Any]:
        """The switches that are not at their default."""
        defaults = Faults()
        return {k: v for k, v in asdict(self).items() if getattr(defaults, k) != v}


FAULT_NAMES = tuple(f.name for f in fields(Faults))


class FaultSwitches:
    """Live, thread-safe fault switches: ``sim.faults.paper_out = True`` takes effect at once."""

    def __init__(self, initial: Faults | Mapping[str, Any] | None = None) -> None:
        object.__setattr__(self, "_lock", threading.Lock())
        object.__setattr__(self, "_faults", _as_faults(initial))

    def snapshot(self) -> Faults:
        with self._lock:
            return self._faults

    def set(self, **changes: Any) -> Faults:
        """Change several switches at once; returns the new state."""
        unknown = set(changes) - set(FAULT_NAMES)
        if unknown:
            raise AttributeError(f"unknown fault switch(es): {', '.join(sorted(unknown))}")
        with self._lock:
            faults = replace(self._faults, **changes)
            object.__setattr__(self, "_faults", faults)
            return faults

    def replace_all(self, faults: Faults | Mapping[str, Any] | None) -> None:
        with self._lock:
            object.__setattr__(self, "_faults", _as_faults(faults))

    def clear(self) -> None:
        self.replace_all(None)

    def __getattr__(self, name: str) -> Any:
        if name in FAULT_NAMES:
            return getattr(self.snapshot(), name)
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        self.set(**{name: value})

    def __repr__(self) -> str:
        return f"FaultSwitches({self.snapshot().active()})"


def _as_faults(value: Faults | Mapping[str, Any] | None) -> Faults:
    if value is None:
        return Faults()
    if isinstance(value, Faults):
        return value
    return Faults(**dict(value))
