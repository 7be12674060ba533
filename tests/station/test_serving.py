"""``station serve`` as a station runs it: Gunicorn's threaded worker in a process of its own,
serving HTTP and WebSockets, holding the runtime, and stopping promptly on SIGTERM even with
screens connected (station/serving.py)."""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
import socketio

from station import migrate, serving
from station.config import Config
from station.db import Database
from station.models import ClientKind
from station.realtime import LOBBY
from station.services import users
from station.services.actors import Actor

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(tmp_path, clock):
    """A ``station serve`` process on a fresh SQLite station; yields its URL, a lobby display's
    token, the process and its log file."""
    url = f"sqlite:///{tmp_path / 'station.db'}"
    migrate.upgrade(url)
    db = Database(url)
    with db.write() as s:
        token = users.register_client_device(s, clock, Actor.system("t"),
                                             kind=ClientKind.LOBBY_DISPLAY, name="lobby")[1]
    db.dispose()
    port = free_port()
    env = {**os.environ, "STATION_DATABASE_URL": url, "STATION_INSTANCE_PATH": str(tmp_path),
           "STATION_PORT": str(port), "STATION_SECRET_KEY": "t", "STATION_SERVER": "gunicorn"}
    log_path = tmp_path / "server.log"
    with open(log_path, "w") as log:
        process = subprocess.Popen([sys.executable, "-m", "station.cli", "serve"], cwd=ROOT,
                                   env=env, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log_path.read_text()[-3000:]
            if _health(base) == 200:
                break
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.2)
        yield base, token, process, log_path
    finally:
        with contextlib.suppress(ProcessLookupError):  # the master and any worker left
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


def test_serve_answers_http_and_websockets_survives_a_dead_worker_and_stops_on_sigterm(served):
    base, token, process, log_path = served
    assert requests.get(base + "/").status_code == 200
    # the lobby display's WebSocket: its snapshot arrives over the socket itself
    inbox: queue.Queue = queue.Queue()
    client = socketio.Client(reconnection=False)
    client.on("snapshot", lambda m: inbox.put(m), namespace=LOBBY)
    client.connect(base, namespaces=[LOBBY], auth={"token": token}, transports=["websocket"],
                   wait_timeout=10)
    try:
        assert client.transport() == "websocket"
        assert set(inbox.get(timeout=10)) >= {"epoch", "seq", "state"}
        log = log_path.read_text()
        assert "(gunicorn)" in log and log.count("runtime started") == 1  # the worker has it
    finally:
        client.disconnect()
    # the worker dies (killed, out of memory): the master starts another, which serves and
    # takes the runtime again (the dead worker's lock went with it)
    [worker] = _children(process.pid)
    os.kill(worker, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while log_path.read_text().count("runtime started") < 2 or _health(base) != 200:
        assert time.monotonic() < deadline and process.poll() is None, log_path.read_text()[-3000:]
        time.sleep(0.2)
    assert _children(process.pid) != [worker]
    client = socketio.Client(reconnection=False)
    client.on("snapshot", lambda m: inbox.put(m), namespace=LOBBY)
    client.connect(base, namespaces=[LOBBY], auth={"token": token}, transports=["websocket"],
                   wait_timeout=10)
    try:
        assert set(inbox.get(timeout=10)) >= {"epoch", "seq", "state"}
        # told to stop with a screen still connected: the socket is closed, the runtime
        # stopped, and the process gone well within the grace period
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=60) == 0
        took = time.monotonic() - started
    finally:
        client.disconnect()
    assert "stopping the runtime" in log_path.read_text()
    # an open connection would hold the worker for the whole grace period
    assert took < serving.GRACEFUL_SECONDS, took


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # gone meanwhile
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _health(base: str) -> int | None:
    try:
        return requests.get(base + "/api/v1/health", timeout=1).status_code
    except requests.RequestException:
        return None


def test_the_server_setting_is_checked():
    with pytest.raises(ValueError, match="STATION_SERVER"):
        Config(server="uvicorn", secret_key="t")
    with pytest.raises(ValueError, match="STATION_THREADS"):
        Config(threads=2, secret_key="t")


def test_a_worker_whose_master_is_killed_closes_its_sockets_and_goes(served):
    """The master killed (the next one needs the port and the runtime lock): the worker sees
    its parent gone, closes its WebSockets and stops the runtime at once — it neither waits
    out the grace period for the open screens nor hangs on their last packets."""
    base, token, process, log_path = served
    client = socketio.Client(reconnection=False)
    client.connect(base, namespaces=[LOBBY], auth={"token": token}, transports=["websocket"],
                   wait_timeout=10)
    try:
        [worker] = _children(process.pid)
        process.kill()
        process.wait(10)
        started = time.monotonic()
        while Path(f"/proc/{worker}").exists() and _state(worker) != "Z":
            assert time.monotonic() - started < serving.GRACEFUL_SECONDS, log_path.read_text()[-3000:]
            time.sleep(0.1)
    finally:
        client.disconnect()
    assert "stopping the runtime" in log_path.read_text()


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"
