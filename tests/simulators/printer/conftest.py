"""Fixtures of the printer simulator tests: a running simulator and clients that get closed."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator

import pytest
from escpos.printer import Network

from simulators.printer import PrinterSimulator

CLIENT_TIMEOUT = 5.0


@pytest.fixture
def simulator() -> Iterator[PrinterSimulator]:
    with PrinterSimulator() as sim:
        yield sim


@pytest.fixture
def network(simulator) -> Iterator[Callable[[], Network]]:
    """Opens python-escpos Network connections to the simulator; closes them after the test."""
    opened: list[Network] = []

    def connect() -> Network:
        printer = Network("127.0.0.1", simulator.port, timeout=CLIENT_TIMEOUT, profile="NT-80-V-UL")
        printer.open()
        opened.append(printer)
        return printer

    yield connect
    for printer in opened:
        printer.close()


@pytest.fixture
def raw_client(simulator) -> Iterator[Callable[[], socket.socket]]:
    """Plain TCP sockets to the simulator, for byte-level checks."""
    sockets: list[socket.socket] = []

    def connect() -> socket.socket:
        sock = socket.create_connection(("127.0.0.1", simulator.port), timeout=CLIENT_TIMEOUT)
        sockets.append(sock)
        return sock

    yield connect
    for sock in sockets:
        sock.close()
