"""Fixtures for the LED display driver tests: simulators on every transport, displays that close.

The simulator answers ``ledsim://`` writes synchronously, so there a short timeout is safe both
ways; over a pty or TCP the simulator runs on its own thread, so the answer timeout is generous
(it only costs time in tests that expect silence).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from drivers.led import BusPool, Rs485FrameDisplay, create_display
from simulators.led import (
    LedBusSimulator,
    PtyLink,
    TcpLink,
    forget_url_simulator,
    register_url_scheme,
    register_url_simulator,
)

#: answer timeout for the in-process scheme (answers are there before read() starts)
INPROCESS_TIMEOUT = 0.1
#: answer timeout across a thread boundary (pty, TCP): generous for a loaded CI machine
THREADED_TIMEOUT = 1.0


@dataclass
class Served:
    """A simulator and how a driver reaches it."""

    transport: str
    url: str
    sim: LedBusSimulator
    timeout: float
    link: PtyLink | TcpLink | None = None


@pytest.fixture
def serve() -> Iterator[Callable[..., Served]]:
    """``serve(transport, addresses=(1,), **simulator_options)`` -> :class:`Served`."""
    register_url_scheme()
    names: list[str] = []
    links: list[PtyLink | TcpLink] = []

    def make(transport: str, addresses: tuple[int, ...] = (1,), **options: Any) -> Served:
        sim = LedBusSimulator(addresses, **options)
        if transport == "ledsim":
            name = f"t{uuid.uuid4().hex}"
            names.append(name)
            return Served(transport, register_url_simulator(name, sim), sim, INPROCESS_TIMEOUT)
        if transport == "pty":
            pty = PtyLink(sim)
            links.append(pty)
            pty.open()
            return Served(transport, pty.port, sim, THREADED_TIMEOUT, pty)
        if transport == "tcp":
            tcp = TcpLink(sim)
            links.append(tcp)
            tcp.open()
            return Served(transport, tcp.url, sim, THREADED_TIMEOUT, tcp)
        raise ValueError(transport)

    yield make
    for link in links:
        link.close()
    for name in names:
        forget_url_simulator(name)


@pytest.fixture
def displays(serve: Callable[..., Served]) -> Iterator[Callable[..., Rs485FrameDisplay]]:
    """``displays(served, address=1, pool=None, **config)``: an opened display, closed afterwards."""
    opened: list[Rs485FrameDisplay] = []

    def make(
        served: Served, address: int = 1, pool: BusPool | None = None, **config: Any
    ) -> Rs485FrameDisplay:
        settings = {"protocol": "rs485_frame", "url": served.url, "address": address}
        settings["timeout"] = served.timeout
        settings.update(config)
        display = create_display(settings, buses=pool)
        assert isinstance(display, Rs485FrameDisplay)
        display.open()
        opened.append(display)
        return display

    yield make
    for display in reversed(opened):
        display.close()
