"""The ``ledsim://`` pyserial URL: an in-process simulated RS-485 bus of LED displays.

``ledsim://[NAME][?addresses=1,2,3][&faults=no_answer,power_off@2][&ack=0x06][&valid=flag]
[&max_text_bytes=255]``

With a NAME every port opened on that URL reaches the same :class:`LedBusSimulator` (kept in
a registry, so tests and the demo can inspect it through :func:`url_simulator`); the query
options apply only when the name is first used, so a driver re-opening its port after a link
failure finds the simulator as it left it. Without a NAME each opened port gets a private
simulator, reachable as the port's ``simulator`` attribute.
"""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import parse_qs, urlsplit

from simulators.led.model import LedBusSimulator

SCHEME = "ledsim"
_registry: dict[str, LedBusSimulator] = {}
_registry_lock = threading.Lock()


def parse_url(url: str) -> tuple[str, dict[str, Any], list[tuple[str, int | None]]]:
    """Split a ``ledsim://`` URL into (name, simulator keyword arguments, faults)."""
    parts = urlsplit(url)
    if parts.scheme.lower() != SCHEME:
        raise ValueError(f"expected a {SCHEME}:// URL, not {url!r}")
    options: dict[str, Any] = {}
    faults: list[tuple[str, int | None]] = []
    for key, values in parse_qs(parts.query, keep_blank_values=True).items():
        value = values[-1]
        if key == "addresses":
            options["addresses"] = [int(a, 0) for a in value.split(",") if a]
        elif key == "ack":
            options["ack"] = None if value.lower() in ("", "none") else int(value, 0)
        elif key == "valid":
            options["valid"] = value
        elif key == "max_text_bytes":
            options["max_text_bytes"] = int(value, 0)
        elif key == "faults":
            for item in filter(None, value.split(",")):
                fault, _, address = item.partition("@")
                faults.append((fault, int(address, 0) if address else None))
        else:
            raise ValueError(f"unknown {SCHEME}:// option {key!r}")
    return parts.netloc, options, faults


def simulator_for_url(url: str) -> LedBusSimulator:
    """The simulator a ``ledsim://`` URL names, created (and registered) if need be."""
    name, options, faults = parse_url(url)
    with _registry_lock:
        if name and name in _registry:
            return _registry[name]
        simulator = LedBusSimulator(**options)
        for fault, address in faults:
            simulator.set_fault(fault, address=address)
        if name:
            _registry[name] = simulator
        return simulator


def register_url_simulator(name: str, simulator: LedBusSimulator) -> str:
    """Make ``simulator`` reachable as ``ledsim://NAME``; returns that URL."""
    with _registry_lock:
        if name in _registry:
            raise ValueError(f"{SCHEME}://{name} is already registered")
        _registry[name] = simulator
    return f"{SCHEME}://{name}"


def url_simulator(name: str) -> LedBusSimulator:
    """The simulator registered under ``name`` (KeyError if none)."""
    with _registry_lock:
        return _registry[name]


def forget_url_simulator(name: str) -> None:
    """Drop ``name`` from the registry (ports already open keep their simulator)."""
    with _registry_lock:
        _registry.pop(name, None)
