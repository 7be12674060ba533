"""A newcomer's place in the queue (what a kiosk ticket, its paper and the progress page show)
on a station that has kept a long history of visit transitions (they are never deleted).

    python benchmarks/queue_history.py [--db sqlite|postgresql|both] [--transitions 300000]

The demo station, plus ``--transitions`` moves of earlier days (about 20 days of a busy station
at 300,000: 1,000 visits a day, 15 moves each) and none of today's counter services yet —
the first hour of a day, when the service time read for the estimated wait finds nothing
today. Side by side on the same database, with the (state, time) indexes and then with them
dropped (the schema before migration 3c5e9a1f7b42): the read of the newest moves into and out
of ``CALLED`` (with the indexes, as the estimate makes it: two ranges of the indexes; without
them, as it was written before: newest first by id, ``at >= today`` and either state), and
``queue.place_of`` for a walk-in who has just taken a ticket. Medians of ``--repeat`` reads.
Last line: RESULT queue_history db=<name> transitions=<n> moves_ms=<float> moves_unindexed_ms=<float> place_ms=<float> place_unindexed_ms=<float>
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script or a module
from benchmarks.harness import demo_database
from station.clock import SystemClock
from station.db import Database
from station.domain.journey import VisitState
from station.models import Channel, VisitTransition
from station.models.base import UTCDateTime
from station.services import appointments, queue, tickets
from station.services.actors import Actor

BATCH = 20_000
INDEXES = ("ix_visit_transitions_to_state_at", "ix_visit_transitions_from_state_at")


def _scan_statement() -> sa.Select:
    """The read as one filter on the table (what the indexes replaced)."""
    return (sa.select(VisitTransition.visit_id, VisitTransition.to_state,
                      VisitTransition.from_state, VisitTransition.at)
            .where(VisitTransition.at >= sa.bindparam("since", type_=UTCDateTime()),
                   sa.or_(VisitTransition.to_state == VisitState.CALLED,
                          VisitTransition.from_state == VisitState.CALLED))
            .order_by(VisitTransition.id.desc()).limit(queue.SERVICE_MOVES))


def _history(db: Database, clock: SystemClock, visit_id: int, count: int) -> None:
    """``count`` moves of earlier days: calls and the registrations that end them."""
    first = clock.now() - timedelta(days=30)
    table = VisitTransition.__table__
    with db.engine.begin() as c:
        for start in range(0, count, BATCH):
            rows = []
            for n in range(start, min(count, start + BATCH)):
                called = n % 2 == 0
                rows.append({"visit_id": visit_id, "at": first + timedelta(seconds=6 * n),
                             "from_state": VisitState.CHECKED_IN if called else VisitState.CALLED,
                             "to_state": VisitState.CALLED if called else VisitState.REGISTERED,
                             "actor_kind": "system", "actor_name": "history"})
            c.execute(sa.insert(table), rows)


def _median_ms(read, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        read()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def run(backend: str, transitions: int, repeat: int) -> str:
    with demo_database(backend) as (_, _, db, clock, _):
        actor = Actor.system("bench")
        with db.write() as s:
            came = appointments.walk_in(s, clock, actor, plate_type="02", plate="浙A13579",
                                        channel=Channel.KIOSK)
            tickets.issue(s, clock, actor, came.visit, came.queue_category)
            visit_id = came.visit.id
        _history(db, clock, visit_id, transitions)
        since = clock.day_bounds(clock.today())[0]

        def measure(moves: sa.Executable) -> tuple[float, float]:
            if backend == "postgresql":
                with db.engine.begin() as c:
                    c.execute(sa.text("ANALYZE visit_transitions"))
            with db.read() as s:
                return (_median_ms(lambda: s.execute(moves, {"since": since}).all(), repeat),
                        _median_ms(lambda: queue.place_of(s, clock, visit_id), repeat))

        moves_ms, place_ms = measure(queue._service_statements()[0])
        with db.engine.begin() as c:
            for name in INDEXES:
                c.execute(sa.text(f"DROP INDEX {name}"))
        unindexed_ms, place_unindexed_ms = measure(_scan_statement())
    print(f"{backend}: {transitions} earlier moves; the newest moves into and out of CALLED "
          f"{moves_ms:.2f} ms ({unindexed_ms:.2f} ms without the indexes); a newcomer's place "
          f"{place_ms:.2f} ms ({place_unindexed_ms:.2f} ms without; medians of {repeat})")
    return (f"RESULT queue_history db={backend} transitions={transitions} moves_ms={moves_ms:.2f} "
            f"moves_unindexed_ms={unindexed_ms:.2f} place_ms={place_ms:.2f} "
            f"place_unindexed_ms={place_unindexed_ms:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--transitions", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args()
    for backend in ["sqlite", "postgresql"] if args.db == "both" else [args.db]:
        print(run(backend, args.transitions, args.repeat), flush=True)


if __name__ == "__main__":
    main()
