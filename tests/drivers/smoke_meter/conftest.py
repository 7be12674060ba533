"""A simulated meter behind each of its three transports, for the real driver."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from drivers.smoke_meter import Nht6Meter, SmokeMeterConfig
from simulators.smoke_meter import PtyServer, SmokeMeterSimulator, SteppedClock, TcpServer, registry

TRANSPORTS = ("pty", "tcp", "url")
_names = itertools.count()


@pytest.fixture
def sim() -> SmokeMeterSimulator:
    """A warmed-up clean vehicle on a stepped test clock, answering without wire time."""
    return SmokeMeterSimulator(profile="clean", warmup_s=0, clock=SteppedClock(), line_baud=0, seed=3)


@contextmanager
def _serve(kind: str, sim: SmokeMeterSimulator) -> Iterator[tuple[str, PtyServer | TcpServer | None]]:
    """(url the driver opens, the server object or None for the URL scheme)."""
    if kind == "pty":
        with PtyServer(sim) as pty:
            yield pty.path, pty
    elif kind == "tcp":
        with TcpServer(sim) as server:
            yield server.url, server
    else:
        name = f"driver-test-{next(_names)}"
        registry.add(name, sim)
        try:
            yield f"nht6sim://{name}", None
        finally:
            registry.remove(name)


def _make_meter(url: str, **settings) -> Nht6Meter:
    settings.setdefault("reply_timeout_s", 1.0)
    return Nht6Meter(SmokeMeterConfig(url=url, **settings))


@pytest.fixture
def serve():
    """``serve(kind, sim)``: a context manager yielding (url, server) for "pty", "tcp", "url"."""
    return _serve


@pytest.fixture
def make_meter():
    """``make_meter(url, **settings)``: an unopened driver with a 1 s reply timeout by default."""
    return _make_meter


@pytest.fixture(params=TRANSPORTS)
def served(request, sim) -> Iterator[tuple[str, PtyServer | TcpServer | None]]:
    with _serve(request.param, sim) as pair:
        yield pair


@pytest.fixture(params=("pty", "url"))
def fast_served(request, sim) -> Iterator[tuple[str, PtyServer | TcpServer | None]]:
    """pty and URL only: pyserial's socket:// close() sleeps 0.3 s, too slow for many tests."""
    with _serve(request.param, sim) as pair:
        yield pair
