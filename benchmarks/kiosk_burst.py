"""8 kiosks issue 200 tickets at once through the HTTP API, each printing to its own printer
simulator.

    python benchmarks/kiosk_burst.py [--db sqlite|postgresql|both] [--kiosks 8] [--tickets 200]
                                     [--printers external|in-process]

A real ``station serve`` process (its runtime prints every ticket on the kiosk's ESC/POS
printer: a printer simulator in a process of its own, as a real printer is a device of its
own; ``--printers in-process`` runs the simulators inside the server, as the demo does). Each kiosk thread sends walk-ins back to back; the latency measured is that
of the issue call (the ticket exists when it answers), not of printing, which follows after
commit. Duplicates are ticket numbers handed out twice.

The demo station's other simulated devices (lane cameras rendering synthetic video, LED
displays, the smoke meter) are switched off: in the demo they run inside the server process,
and their simulators' work would be measured instead of the check-in path.
First, in the same run, the baseline (``BARE_APP``): the same server (Flask-SocketIO in
``threading`` mode on Gunicorn's threaded worker), the same kiosk threads and the same walk-in requests, each answered by
one durable SQLite write (a day counter and a ticket, unique by a constraint) and nothing
else. Its latency is the least this server and this client reach on the machine, whatever
the station does (``--no-bare`` leaves it out).
Last line: RESULT kiosk_burst db=<name> tickets=<n> duplicates=<n> p99_ms=<float>
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import requests
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script or a module
from benchmarks.harness import (
    ExternalPrinters,
    bare_server,
    only_devices,
    open_around_the_clock,
    station_server,
)
from station.models import ClientKind, DeviceKind, HardwareDevice, PrintState, Ticket
from station.services import users
from station.services.actors import Actor

PRINT_WAIT_S = 120


def _kiosks(count: int, tokens: list[str], printers: ExternalPrinters | None):
    def prepare(db, clock) -> None:
        open_around_the_clock(db, clock)
        only_devices(db, DeviceKind.TICKET_PRINTER)
        with db.write() as s:
            for n in range(count):
                device, token = users.register_client_device(
                    s, clock, Actor.system("bench"), kind=ClientKind.KIOSK, name=f"压测取号机{n + 1}")
                s.add(HardwareDevice(kind=DeviceKind.TICKET_PRINTER, name=f"压测打印机{n + 1}",
                                     simulated=printers is None,
                                     config=printers.config(n) if printers else {"connection": "network"},
                                     client_device_id=device.id, created_at=clock.now()))
                tokens.append(token)
    return prepare


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


@dataclass
class Issued:
    """What a burst's kiosks were answered."""

    kiosks: int
    wall: float
    latencies: list[float] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def duplicates(self) -> int:
        return sum(n - 1 for n in Counter(self.labels).values() if n > 1)

    @property
    def p99(self) -> float:
        return percentile(self.latencies, 0.99) if self.latencies else float("nan")

    def summary(self) -> str:
        latencies = self.latencies or [float("nan")]
        return (f"{len(self.labels)} tickets from {self.kiosks} kiosks in {self.wall:.2f} s; issue "
                f"latency median {statistics.median(latencies):.1f} ms, p99 {self.p99:.1f} ms, max "
                f"{max(latencies):.1f} ms; errors {len(self.errors)} {self.errors[:3]}")


def issue_all(url: str, tokens: list[str], total: int) -> Issued:
    """Each kiosk (one thread per token) sends walk-ins back to back until ``total`` are sent."""
    kiosks = len(tokens)
    issued = Issued(kiosks, 0.0)
    lock = threading.Lock()
    barrier = threading.Barrier(kiosks)

    def kiosk(n: int) -> None:
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {tokens[n]}"
        barrier.wait()
        for k in range(n, total, kiosks):
            body = {"plate_type": "02", "plate": f"浙{chr(ord('A') + n)}{k:05d}"}
            started = time.perf_counter()
            response = session.post(url + "/api/v1/walk-in", json=body, timeout=60)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                if response.status_code == 201:
                    issued.latencies.append(elapsed)
                    issued.labels.append(response.json()["ticket"])
                else:
                    issued.errors.append(f"{response.status_code} {response.text[:120]}")

    started = time.perf_counter()
    threads = [threading.Thread(target=kiosk, args=(n,)) for n in range(kiosks)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    issued.wall = time.perf_counter() - started
    return issued


BARE_APP = r'''
conn().execute("CREATE TABLE day_counters (prefix TEXT PRIMARY KEY, last INTEGER NOT NULL)")
conn().execute("CREATE TABLE tickets (id INTEGER PRIMARY KEY, label TEXT NOT NULL UNIQUE, "
               "plate TEXT NOT NULL UNIQUE, kiosk TEXT NOT NULL)")
@app.post("/api/v1/walk-in")
def walk_in():
    body = request.get_json()
    with write:
        c = conn(); c.execute("BEGIN IMMEDIATE")
        n = c.execute("INSERT INTO day_counters VALUES ('A', 1) ON CONFLICT (prefix) DO UPDATE "
                      "SET last = last + 1 RETURNING last").fetchone()[0]
        label = f"A{n:03d}"
        c.execute("INSERT INTO tickets (label, plate, kiosk) VALUES (?, ?, ?)",
                  (label, body["plate_type"] + body["plate"], request.headers["Authorization"]))
        c.execute("COMMIT")
    return {"ticket": label, "plate": body["plate"]}, 201
'''


def bare_run(kiosks: int, total: int) -> Issued:
    """A burst against the baseline app (``BARE_APP``)."""
    with bare_server(BARE_APP) as url:
        issued = issue_all(url, [f"bare-kiosk-{n}" for n in range(kiosks)], total)
    assert len(set(issued.labels)) == total and not issued.errors, issued.errors[:3]
    return issued


def burst(backend: str, kiosks: int, total: int, printers_where: str = "external") -> str:
    tokens: list[str] = []
    printers = ExternalPrinters(kiosks) if printers_where == "external" else None
    try:
        return _burst(backend, kiosks, total, tokens, printers)
    finally:
        if printers is not None:
            print(f"tickets printed per printer: {printers.close()}")


def _burst(backend: str, kiosks: int, total: int, tokens: list[str],
           printers: ExternalPrinters | None) -> str:
    with station_server(backend, prepare=_kiosks(kiosks, tokens, printers)) as server:
        issued = issue_all(server.url, tokens, total)
        deadline = time.monotonic() + PRINT_WAIT_S
        while time.monotonic() < deadline:  # printing follows after commit
            with server.db.read() as s:
                states = Counter(s.scalars(sa.select(Ticket.print_state)))
            if not states.get(PrintState.PENDING):
                break
            time.sleep(0.5)
        print(f"{backend}: {issued.summary()}; print states {({k.value: v for k, v in states.items()})}")
        return (f"RESULT kiosk_burst db={server.dialect} tickets={len(issued.labels)} "
                f"duplicates={issued.duplicates} p99_ms={issued.p99:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--kiosks", type=int, default=8)
    parser.add_argument("--tickets", type=int, default=200)
    parser.add_argument("--printers", choices=["external", "in-process"], default="external")
    parser.add_argument("--no-bare", dest="bare", action="store_false",
                        help="leave out the baseline app")
    args = parser.parse_args()
    if args.bare:
        print(f"baseline (one durable write a ticket): {bare_run(args.kiosks, args.tickets).summary()}",
              flush=True)
    for backend in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
        print(burst(backend, args.kiosks, args.tickets, args.printers), flush=True)


if __name__ == "__main__":
    main()
