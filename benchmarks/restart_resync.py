"""50 lobby displays stay correct across a server crash: SIGKILL mid-day, restart, re-sync.

    python benchmarks/restart_resync.py [--clients 50] [--moves 20]

A real ``station serve`` process (SQLite, WAL, synchronous=FULL) with cars on the lanes and
50 Socket.IO clients on ``/lobby`` (reconnecting by themselves like the display's browser
client: 0.5 s first delay, at most 5 s). Cars are moved through the HTTP API; right after the
last answered move the server is killed with SIGKILL, then started again on the same port and
database. Each client must receive a new snapshot (new epoch) whose lane board holds every
move the server answered before the kill. ``max_s`` is the longest time from the port
reopening to a client's correct snapshot; ``lost_events`` counts answered moves missing from
any client's snapshot.
Last line: RESULT restart_resync clients=<n> resynced=<n> max_s=<float> lost_events=<n>
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import requests
import socketio

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script or a module
from benchmarks.harness import ROOT, _wait_until_up, free_port
from station import migrate
from station.clock import SystemClock
from station.db import Database
from station.models import ClientKind
from station.services import demo, lanes, tracking, users
from station.services.actors import Actor

WAIT_S = 30


def _prepare(db: Database, clock: SystemClock, cars: int) -> tuple[dict[str, str], list[int], int]:
    from tests.station.test_lanes_assignment import queued

    actor = Actor.system("bench")
    with db.write() as s:
        seeded = demo.seed(s, clock)
        terminal = users.register_client_device(s, clock, actor, kind=ClientKind.LANE_TERMINAL,
                                                name="压测工位终端")[1]
        first = lanes.all_lanes(s)[0].stations[0]
        ids = []
        for _ in range(cars):
            visit = queued(s, clock, first_registered_on=date(2022, 1, 1), assign=False)
            visit.assigned_lane_id = first.lane_id
            tracking.record_position(s, clock, actor, visit, kind="arrived", source="terminal",
                                     station=first)
            ids.append(visit.id)
    return {**seeded.client_tokens, "terminal": terminal}, ids, first.id


def _serve(env: dict[str, str], log) -> subprocess.Popen:
    """``station serve`` in a process group of its own (Gunicorn's master and its worker), so
    that a crash takes the whole server down, as a service manager would see it."""
    return subprocess.Popen([sys.executable, "-m", "station.cli", "serve"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=log, text=True,
                            start_new_session=True)


def _wait_gone(group: int, timeout: float = 10) -> None:
    """Until no process of the process group ``group`` is left."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)
    raise RuntimeError("the killed server's processes did not go")


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


class Display:
    """One lobby client keeping the board state from snapshots (events are not needed here:
    what counts is the snapshot after the restart)."""

    def __init__(self, url: str, token: str) -> None:
        self.snapshots: list[tuple[float, dict]] = []
        self.cond = threading.Condition()
        self.client = socketio.Client(reconnection=True, reconnection_delay=0.5,
                                      reconnection_delay_max=5, randomization_factor=0.5)
        self.client.on("snapshot", self._on_snapshot, namespace="/lobby")
        self.client.connect(url, namespaces=["/lobby"], auth={"token": token},
                            transports=["websocket"], wait_timeout=WAIT_S)

    def _on_snapshot(self, msg: dict) -> None:
        with self.cond:
            self.snapshots.append((time.perf_counter(), msg))
            self.cond.notify_all()

    def first_with_epoch_not(self, epoch: str, timeout: float) -> tuple[float, dict] | None:
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for at, snap in self.snapshots:
                    if snap["epoch"] != epoch:
                        return at, snap
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(left)


def finished_at(snapshot: dict, station_id: int) -> set[int]:
    return {c["id"] for lane in snapshot["state"]["lanes"] for st in lane["stations"]
            if st["id"] == station_id for c in st["cars"] if c["kind"] == "finished"}


def run(n_clients: int, moves: int) -> str:
    with tempfile.TemporaryDirectory(prefix="station-restart-") as tmp:
        url_db = f"sqlite:///{Path(tmp) / 'station.db'}"
        migrate.upgrade(url_db)
        db, clock = Database(url_db), SystemClock()
        tokens, cars, station_id = _prepare(db, clock, moves)
        db.dispose()
        port = free_port()
        env = {**os.environ, "STATION_DATABASE_URL": url_db, "STATION_INSTANCE_PATH": tmp,
               "STATION_PORT": str(port), "STATION_SECRET_KEY": "bench",
               "STATION_PUBLIC_RATE_LIMIT": "100000 per minute"}
        base = f"http://127.0.0.1:{port}"
        log = open(Path(tmp) / "server.log", "w+")  # noqa: SIM115 (closed with the server)
        process = _serve(env, log)
        displays: list[Display] = []
        try:
            _wait_until_up(base, process, log)
            displays = [Display(base, tokens["lobby_display"]) for _ in range(n_clients)]
            epoch = displays[0].first_with_epoch_not("", WAIT_S)[1]["epoch"]
            http = requests.Session()
            http.headers["Authorization"] = f"Bearer {tokens['terminal']}"
            answered = []
            for visit_id in cars:  # mid-day: cars finish their first station
                r = http.post(base + "/api/v1/tracking/events", timeout=30,
                              json={"visit_id": visit_id, "kind": "finished", "source": "device",
                                    "station_id": station_id})
                if r.status_code == 200:
                    answered.append(visit_id)
            os.killpg(process.pid, signal.SIGKILL)  # the master and its worker
            process.wait(timeout=10)
            _wait_gone(process.pid)  # the worker too: until then its socket may still answer
            process = _serve(env, log)
            while not _port_open(port):
                if process.poll() is not None:
                    raise RuntimeError("the server did not restart")
                time.sleep(0.01)
            reopened = time.perf_counter()
            resynced, worst, lost = 0, 0.0, 0
            for d in displays:
                got = d.first_with_epoch_not(epoch, WAIT_S)
                if got is None:
                    continue
                at, snap = got
                missing = set(answered) - finished_at(snap, station_id)
                lost = max(lost, len(missing))
                if not missing:
                    resynced += 1
                    worst = max(worst, at - reopened)
            return (f"RESULT restart_resync clients={n_clients} resynced={resynced} "
                    f"max_s={worst:.2f} lost_events={lost}")
        finally:
            for d in displays:
                d.client.disconnect()
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
            log.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--moves", type=int, default=20)
    args = parser.parse_args()
    print(run(args.clients, args.moves), flush=True)


if __name__ == "__main__":
    main()
