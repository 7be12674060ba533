"""8 counter windows call the next ticket at once, through the HTTP API, until 2,000 waiting
tickets have been called.

    python benchmarks/call_next.py [--db sqlite|postgresql|both] [--counters 8] [--tickets 2000]
                                   [--no-bare]

A real ``station serve`` process. The waiting tickets are seeded before the server starts,
through the same services the kiosk uses (walk-in + ticket), in one transaction. Each window
thread signs in as its own counter clerk and loops: ``call-next`` then ``park`` (which frees
the window for its next call), until the queue answers ``queue_empty``. A call is counted when
``call-next`` answers 200; duplicates are tickets called twice; lock errors are answers that
are neither 200 nor ``queue_empty`` (a database lock or deadlock surfaces as a 5xx/409).

First, in the same run, the baseline (``BARE_APP``): the same server (Flask-SocketIO in
``threading`` mode on Gunicorn's threaded worker), the same client threads and the same two requests per call, answered by
one durable SQLite write each and nothing else. Its rate is the most this server and this
client reach on the machine, whatever the station does.
Last line: RESULT call_next db=<name> counters=<n> calls=<n> duplicates=<n> lock_errors=<n> per_s=<float>
"""

from __future__ import annotations

import argparse
import re
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script or a module
from benchmarks.harness import bare_server, only_devices, open_around_the_clock, station_server
from station.models import Counter as Window
from station.models import DeviceKind, Role
from station.services import appointments, tickets, users
from station.services.actors import Actor

PASSWORD = "bench-pass-1234"


def _seed(counters: int, total: int):
    def prepare(db, clock) -> None:
        open_around_the_clock(db, clock)
        only_devices(db, DeviceKind.LED_DISPLAY)  # calls go to the windows' displays
        actor = Actor.system("bench")
        with db.write() as s:
            have = s.query(Window).count()
            s.add_all(Window(number=n, name=f"{n}号窗口") for n in range(have + 1, counters + 1))
            for n in range(counters):
                users.create_user(s, clock, actor, username=f"bench{n}", password=PASSWORD,
                                  display_name=f"压测窗口{n}", roles=[Role.COUNTER])
            for k in range(total):
                checked = appointments.walk_in(s, clock, actor, plate_type="02",
                                               plate=f"浙{'ABCDEFGH'[k % 8]}{k:05d}")
                tickets.issue(s, clock, actor, checked.visit, checked.queue_category)
    return prepare


def _login(base: str, username: str) -> requests.Session:
    session = requests.Session()
    html = session.get(base + "/login", timeout=10).text
    token = re.search(r'<meta name="csrf-token" content="([^"]+)"', html).group(1)
    response = session.post(base + "/login", data={"username": username, "password": PASSWORD,
                                                   "csrf_token": token}, timeout=10,
                            allow_redirects=False)
    assert response.status_code == 302, response.text[:200]
    html = session.get(base + "/staff/", timeout=10).text
    session.headers["X-CSRFToken"] = re.search(
        r'<meta name="csrf-token" content="([^"]+)"', html).group(1)
    return session


def _call_until_empty(url: str, sessions: list[requests.Session], counter_ids: list[int]
                      ) -> tuple[list[str], list[str], float]:
    """Every window calls next then parks, until the queue is empty: (tickets called, errors,
    wall seconds)."""
    labels: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(sessions))

    def window(session: requests.Session, counter: int) -> None:
        barrier.wait()
        while True:
            response = session.post(f"{url}/api/v1/counters/{counter}/call-next", timeout=300)
            if response.status_code == 404 and response.json().get("code") == "queue_empty":
                return
            if response.status_code != 200:
                with lock:
                    errors.append(f"{response.status_code} {response.text[:120]}")
                continue
            with lock:
                labels.append(response.json()["ticket"])
            park = session.post(f"{url}/api/v1/counters/{counter}/park", timeout=300)
            if park.status_code != 200:
                with lock:
                    errors.append(f"park {park.status_code} {park.text[:120]}")

    started = time.perf_counter()
    threads = [threading.Thread(target=window, args=pair) for pair in zip(sessions, counter_ids, strict=True)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return labels, errors, time.perf_counter() - started


def run(backend: str, windows: int, total: int) -> str:
    with station_server(backend, prepare=_seed(windows, total)) as server:
        ids = [c["id"] for c in _login(server.url, "bench0").get(
            server.url + "/api/v1/counters", timeout=10).json()][:windows]
        sessions = [_login(server.url, f"bench{n}") for n in range(windows)]
        labels, errors, wall = _call_until_empty(server.url, sessions, ids)
        duplicates = sum(n - 1 for n in Counter(labels).values() if n > 1)
        per_s = len(labels) / wall if wall else 0.0
        print(f"{backend}: {len(labels)} calls from {windows} windows in {wall:.2f} s "
              f"(each call followed by a park); errors {len(errors)} {errors[:3]}")
        return (f"RESULT call_next db={server.dialect} counters={windows} calls={len(labels)} "
                f"duplicates={duplicates} lock_errors={len(errors)} per_s={per_s:.1f}")


#: The baseline: the same HTTP server (as ``station serve``), the same client and
#: the same two requests, with the least a call and a park can do: one durable SQLite write
#: (WAL, synchronous=FULL) each, no sign-in, no policy, no record, no event.
BARE_APP = r'''
total = int(args[0])
conn().execute("CREATE TABLE tickets (id INTEGER PRIMARY KEY, label TEXT, state TEXT, counter INTEGER)")
conn().execute("CREATE INDEX ix_tickets_state ON tickets (state, id)")
conn().executemany("INSERT INTO tickets (label, state) VALUES (?, 'waiting')",
                   [(f"B{k:04d}",) for k in range(1, total + 1)])
@app.post("/api/v1/counters/<int:counter>/call-next")
def call_next(counter):
    row = one("UPDATE tickets SET state = 'called', counter = ? WHERE id = (SELECT id FROM tickets "
              "WHERE state = 'waiting' ORDER BY id LIMIT 1) RETURNING id, label", counter)
    if row is None:
        return {"code": "queue_empty"}, 404
    return {"ticket_id": row[0], "ticket": row[1], "counter_id": counter}
@app.post("/api/v1/counters/<int:counter>/park")
def park(counter):
    row = one("UPDATE tickets SET state = 'parked' WHERE counter = ? AND state = 'called' "
              "RETURNING id, label", counter)
    return {"ticket_id": row[0], "ticket": row[1], "counter_id": counter}
'''


def bare_run(windows: int, total: int) -> float:
    """Calls a second of the baseline app (``BARE_APP``)."""
    with bare_server(BARE_APP, str(total)) as url:
        labels, errors, wall = _call_until_empty(url, [requests.Session() for _ in range(windows)],
                                                 list(range(1, windows + 1)))
    assert len(labels) == len(set(labels)) == total and not errors, errors[:3]
    return len(labels) / wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--counters", type=int, default=8)
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--no-bare", dest="bare", action="store_false",
                        help="skip the baseline app (the same server and client, no work)")
    args = parser.parse_args()
    if args.bare:
        print(f"bare: {bare_run(args.counters, args.tickets):.1f} calls/s (the same server, "
              f"client and requests; one SQLite write each, nothing else)", flush=True)
    for backend in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
        print(run(backend, args.counters, args.tickets), flush=True)


if __name__ == "__main__":
    main()
