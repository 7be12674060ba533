"""Simulators behind ``nht6sim://`` URLs.

``nht6sim://?profile=clean&warmup_s=0`` opens a private simulator for that one port;
``nht6sim://NAME?…`` opens the simulator registered under NAME, creating it on first use, so a
driver that closes and re-opens its port (a reconnect) finds the same meter in the same state,
and a test can fetch it (:meth:`SimulatorRegistry.get`) to press the pedal or flip a fault.
Creation options only apply when the simulator is created.

Query options: ``profile``, ``variant`` (nht6 | nht1l), ``warmup_s``, ``time_scale``, ``seed``,
``line_baud``, ``faults`` (see :class:`~simulators.smoke_meter.meter.Faults`), and the fault
shortcuts ``silent_after``, ``nak`` and ``delay``.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from simulators.smoke_meter.clock import ScaledClock
from simulators.smoke_meter.meter import Faults, SmokeMeterSimulator

URL_SCHEME = "nht6sim"

_CONVERTERS = {
    "profile": str,
    "variant": str,
    "warmup_s": float,
    "seed": int,
    "line_baud": int,
}
_FAULT_SHORTCUTS = ("silent_after", "nak", "delay")


class SimulatorRegistry:
    """Named simulators of this process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._simulators: dict[str, SmokeMeterSimulator] = {}

    def create(self, name: str, **options: Any) -> SmokeMeterSimulator:
        with self._lock:
            if name in self._simulators:
                raise ValueError(f"a simulator named {name!r} already exists")
            sim = self._simulators[name] = SmokeMeterSimulator(**options)
            return sim

    def add(self, name: str, sim: SmokeMeterSimulator) -> SmokeMeterSimulator:
        """Register a simulator built by the caller (with a stepped clock, say)."""
        with self._lock:
            if name in self._simulators:
                raise ValueError(f"a simulator named {name!r} already exists")
            self._simulators[name] = sim
            return sim

    def get(self, name: str) -> SmokeMeterSimulator:
        with self._lock:
            return self._simulators[name]

    def get_or_create(self, name: str, **options: Any) -> SmokeMeterSimulator:
        with self._lock:
            sim = self._simulators.get(name)
            if sim is None:
                sim = self._simulators[name] = SmokeMeterSimulator(**options)
            return sim

    def remove(self, name: str) -> None:
        with self._lock:
            self._simulators.pop(name, None)

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._simulators)


#: the simulators ``nht6sim://NAME`` URLs refer to
registry = SimulatorRegistry()


def options_from_url(url: str) -> tuple[str, dict[str, Any]]:
    """(name, simulator keyword arguments) of an ``nht6sim://`` URL; name may be empty."""
    parts = urlsplit(url)
    if parts.scheme.lower() != URL_SCHEME:
        raise ValueError(f"not an {URL_SCHEME}:// URL: {url!r}")
    options: dict[str, Any] = {}
    fault_spec: list[str] = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key in _CONVERTERS:
            options[key] = _CONVERTERS[key](value)
        elif key == "time_scale":
            options["clock"] = ScaledClock(float(value))
        elif key == "faults":
            fault_spec.append(value)
        elif key in _FAULT_SHORTCUTS:
            fault_spec.append(f"{key}={value}")
        else:
            raise ValueError(f"unknown {URL_SCHEME} option {key!r}")
    if fault_spec:
        options["faults"] = Faults.parse(",".join(fault_spec))
    return parts.netloc + parts.path.rstrip("/"), options


def simulator_from_url(url: str) -> SmokeMeterSimulator:
    name, options = options_from_url(url)
    if not name:
        return SmokeMeterSimulator(**options)
    return registry.get_or_create(name, **options)
