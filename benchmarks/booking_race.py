"""50 owners race through the HTTP API for the last 5 seats of one slot.

    python benchmarks/booking_race.py [--db sqlite|postgresql|both] [--attempts 50] [--seats 5]

A real ``station serve`` process on a fresh demo database; every client has its own session
(cookie + CSRF token, as a browser) and all POST at the same instant. A 409 "slot full" is the
expected answer for the losers; anything else that is not 201 counts as an error.
Last line (one per database, PostgreSQL last with --db both):
RESULT booking_race db=<name> seats=5 attempts=50 booked=<n> overbooked=<n> errors=<n>
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script or a module
from benchmarks.harness import csrf_session, station_server
from station.models import Appointment, AppointmentStatus
from station.services import calendar
from station.services.actors import Actor


def race(backend: str, attempts: int, seats: int) -> str:
    with station_server(backend) as server:
        with server.db.write() as s:
            day = next(d for d in calendar.bookable_days(s, server.clock, "small")
                       if d["open"] and d["day"] > server.clock.today().isoformat())["day"]
            slot = calendar.bookable_slots(s, server.clock, calendar.date.fromisoformat(day), "small")[0]
            calendar.set_capacity(s, server.clock, Actor.system("bench"), slot.day, slot.starts_at,
                                  "small", seats)
        sessions = [csrf_session(server.url) for _ in range(attempts)]
        barrier = threading.Barrier(attempts)
        outcomes: list[tuple[int, str]] = []
        lock = threading.Lock()

        def attempt(n: int) -> None:
            body = {"plate_type": "02", "plate": f"浙A{n:05d}", "contact_name": "车主",
                    "phone": f"138{n:08d}", "day": day, "starts_at": slot.starts_at.strftime("%H:%M")}
            barrier.wait()
            response = sessions[n].post(server.url + "/api/v1/booking", json=body, timeout=60)
            code = response.json().get("code", "") if response.status_code != 201 else ""
            with lock:
                outcomes.append((response.status_code, code))

        started = time.perf_counter()
        threads = [threading.Thread(target=attempt, args=(n,)) for n in range(attempts)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
        with server.db.read() as s:
            stored = s.scalar(sa.select(sa.func.count()).select_from(Appointment).where(
                Appointment.day == slot.day, Appointment.slot_starts_at == slot.starts_at,
                Appointment.status == AppointmentStatus.ACTIVE))
        booked = sum(1 for status, _ in outcomes if status == 201)
        errors = sum(1 for status, code in outcomes
                     if status != 201 and not (status == 409 and code == "slot_full"))
        overbooked = max(0, stored - seats)
        print(f"{backend}: slot {day} {slot.starts_at:%H:%M}, {attempts} attempts in "
              f"{elapsed * 1000:.0f} ms; 201={booked}, stored={stored}, answers="
              f"{sorted({f'{s} {c}'.strip() for s, c in outcomes})}")
        return (f"RESULT booking_race db={server.dialect} seats={seats} attempts={attempts} "
                f"booked={booked} overbooked={overbooked} errors={errors}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--attempts", type=int, default=50)
    parser.add_argument("--seats", type=int, default=5)
    args = parser.parse_args()
    backends = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    for backend in backends:
        print(race(backend, args.attempts, args.seats), flush=True)


if __name__ == "__main__":
    main()
