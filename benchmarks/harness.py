"""A real station server for benchmarks: a fresh database (SQLite file or a PostgreSQL schema),
migrated and seeded as the demo station, served by ``station serve`` in its own process."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa

from station import migrate
from station.clock import SystemClock
from station.db import Database
from station.services import demo

PG_URL = os.environ.get("STATION_BENCH_PG_URL", "postgresql+psycopg://root@127.0.0.1:5432/test")
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class Server:
    url: str
    db: Database
    clock: SystemClock
    demo: demo.DemoStation
    dialect: str


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def demo_database(backend: str) -> Iterator[tuple[str, str, Database, SystemClock, demo.DemoStation]]:
    """Yield (a temporary folder, the database URL, the database, a clock, the demo station)
    for a fresh database on ``backend`` ("sqlite": a file in the folder; "postgresql": a schema
    of its own), migrated and seeded as the demo station; dropped afterwards."""
    with tempfile.TemporaryDirectory(prefix="station-bench-") as tmp:
        schema = None
        if backend == "postgresql":
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            admin = sa.create_engine(PG_URL)
            with admin.begin() as c:
                c.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
            url = f"{PG_URL}?options=-csearch_path%3D{schema}"
        else:
            url = f"sqlite:///{Path(tmp) / 'station.db'}"
        try:
            migrate.upgrade(url)
            db, clock = Database(url), SystemClock()
            try:
                with db.write() as s:
                    seeded = demo.seed(s, clock)
                yield tmp, url, db, clock, seeded
            finally:
                db.dispose()
        finally:
            if schema:
                with admin.begin() as c:
                    c.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()


@contextmanager
def station_server(backend: str, *, env: dict[str, str] | None = None,
                   prepare: Callable[[Database, SystemClock], object] | None = None) -> Iterator[Server]:
    """Yield a running server on ``backend`` ("sqlite" or "postgresql"); ``prepare`` runs on
    the seeded database before the server starts."""
    with demo_database(backend) as (tmp, url, db, clock, seeded):
        if prepare is not None:
            prepare(db, clock)
        if db.dialect == "postgresql":
            # a station in service has its planner statistics kept by autovacuum; a benchmark
            # that has just loaded thousands of rows has none yet, and PostgreSQL would plan
            # for empty tables (a call's candidates: 51 ms before ANALYZE, 14 ms after)
            with db.engine.begin() as c:
                c.execute(sa.text("ANALYZE"))
        port = free_port()
        process_env = {**os.environ, "STATION_DATABASE_URL": url, "STATION_INSTANCE_PATH": tmp,
                       "STATION_PORT": str(port), "STATION_SECRET_KEY": "bench",
                       "STATION_PUBLIC_RATE_LIMIT": "100000 per minute", **(env or {})}
        # the server's log goes to a file: a pipe nobody reads fills up and stalls the server
        log = open(Path(tmp) / "server.log", "w+")  # noqa: SIM115 (closed with the server)
        process = subprocess.Popen([sys.executable, "-m", "station.cli", "serve"], cwd=ROOT,
                                   env=process_env, stdout=subprocess.DEVNULL, stderr=log)
        base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_up(base, process, log)
            yield Server(base, db, clock, seeded, db.dialect)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()


#: The start of every baseline app (``bare_server``): Flask-SocketIO in ``threading`` mode on
#: the station's server (``station.serving.StationServer``: Gunicorn's threaded worker); ``conn()``, a SQLite connection per thread (WAL,
#: ``synchronous=FULL``); ``one(sql, *params)``, one durable write under the process's writer
#: lock (the station's writers queue on one too); ``args``, what follows the port on the
#: command line; ``GET /up``.
BARE_PRELUDE = r'''
import itertools, json, sqlite3, sys, threading
from flask import Flask, request
from flask_socketio import SocketIO
path, port, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
app = Flask(__name__)
sio = SocketIO(app, async_mode="threading", cors_allowed_origins=None)
local, write = threading.local(), threading.Lock()
def conn():
    if not hasattr(local, "c"):
        local.c = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        local.c.execute("PRAGMA journal_mode=WAL"); local.c.execute("PRAGMA synchronous=FULL")
        local.c.execute("PRAGMA busy_timeout=5000")
    return local.c
def one(sql, *params):
    with write:
        c = conn(); c.execute("BEGIN IMMEDIATE")
        row = c.execute(sql, params).fetchone()
        c.execute("COMMIT")
    return row
@app.get("/up")
def up():
    return "ok"
'''
_BARE_SERVE = """
from station.serving import StationServer
StationServer("127.0.0.1", port, 512, lambda: app, ready=None).run()
"""


@contextmanager
def bare_server(source: str, *args: str) -> Iterator[str]:
    """Yield the URL of a baseline app: ``BARE_PRELUDE``, then Python ``source`` (its routes),
    served in a process of its own with ``<sqlite file> <port> *args``; stopped afterwards."""
    with tempfile.TemporaryDirectory(prefix="station-bare-") as tmp:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        process = subprocess.Popen([sys.executable, "-c", BARE_PRELUDE + source + _BARE_SERVE,
                                    str(Path(tmp) / "bare.db"), str(port), *args],
                                   stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, env=os.environ.copy())
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    if requests.get(url + "/up", timeout=1).ok:
                        break
                except requests.RequestException:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError("the baseline app did not start") from None
                    time.sleep(0.1)
            yield url
        finally:
            process.terminate()
            process.wait(timeout=10)


def _wait_until_up(base: str, process: subprocess.Popen, log: Any, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log.seek(0)
            raise RuntimeError(f"server exited: {log.read()[-4000:]}")
        try:
            if requests.get(base + "/api/v1/health", timeout=1).status_code == 200:
                return
        except requests.RequestException:
            time.sleep(0.1)
    raise RuntimeError("server did not come up")


def csrf_session(base: str, page: str = "/book/") -> requests.Session:
    """A browser-like session with its CSRF token in the default headers."""
    import re

    session = requests.Session()
    html = session.get(base + page, timeout=10).text
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)
    session.headers["X-CSRFToken"] = token
    return session


def only_devices(db: Database, *kinds: str) -> None:
    """Switch off the demo's simulated devices of other kinds. In the demo they run inside
    the server process (cameras render and analyse synthetic video), so a benchmark of
    something else would measure them too."""
    from station.models import HardwareDevice

    with db.write() as s:
        s.execute(sa.update(HardwareDevice).where(HardwareDevice.kind.not_in(kinds))
                  .values(enabled=False))


def open_around_the_clock(db: Database, clock: SystemClock) -> None:
    """Benchmarks run at any hour: every day 00:00–23:59, no lunch break."""
    from datetime import time as tod

    from station.services import calendar
    from station.services.actors import Actor

    with db.write() as s:
        for weekday in range(7):
            calendar.set_hours(s, clock, Actor.system("bench"), weekday, closed=False,
                               opens_at=tod(0, 0), closes_at=tod(23, 59))


#: a process that hosts printer simulators: prints their ports as one JSON line, runs until
#: its stdin closes
_PRINTER_HOST = r'''
import json, sys
from simulators.printer import PrinterSimulator
sims = [PrinterSimulator().start() for _ in range(int(sys.argv[1]))]
print(json.dumps([s.port for s in sims]), flush=True)
sys.stdin.read()
print(json.dumps([len(s.tickets) for s in sims]), flush=True)
for s in sims:
    s.stop()
'''


class ExternalPrinters:
    """Printer simulators in a process of their own, as real printers are devices of their
    own: the server's measured work is its driver's (render, send, read status), not the
    simulated printer's (parse the bytes, lay out the ticket)."""

    def __init__(self, count: int) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", _PRINTER_HOST, str(count)], cwd=ROOT,
                                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.ports: list[int] = json.loads(self.process.stdout.readline())
        self.printed: list[int] | None = None

    def config(self, n: int) -> dict[str, Any]:
        """The device configuration of printer ``n`` (a network printer)."""
        return {"connection": "network", "host": "127.0.0.1", "port": self.ports[n]}

    def close(self) -> list[int]:
        """Stop the simulators; returns how many tickets each printed."""
        if self.printed is None:
            self.process.stdin.close()
            self.printed = json.loads(self.process.stdout.readline() or "[]")
            self.process.wait(timeout=10)
        return self.printed
