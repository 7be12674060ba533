"""A server process rehearses its busiest requests before it takes any.

The first time a process runs a statement, SQLAlchemy compiles it and caches the result; the
ORM, the schemas and the rest do their first-time work likewise. A kiosk's first walk-in
after a start costs about 30 ms of the process's time, the next ones about 5 ms. When the
kiosks and windows come in together after a (re)start, each of their first requests does
that work side by side, and the first tickets of the morning wait several times as long
as the rest (docs/BENCHMARKS.md, kiosk burst).

So before it serves, the process runs the hot paths of the kiosk and the window through
the station's own services — a walk-in with its ticket, its place in the queue, a call and
a park at a window — in a write transaction that is always rolled back: nothing is stored
and no signal is sent (signals go out after a commit only). On PostgreSQL the rows' ids
drawn from sequences are skipped, as after any rolled-back transaction. The rehearsal is
best effort: a station that refuses a step (no window, a vehicle with the same plate
in progress) ends it there, and a failure is logged and never stops the server.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import time

import sqlalchemy as sa
from flask import Flask

from station.clock import Clock
from station.db import Database
from station.errors import DomainError
from station.models import Channel, ClientDevice, ClientKind, Counter, OpenState
from station.services import appointments, calendar, calling, queue, tickets, users
from station.services.actors import Actor

log = logging.getLogger(__name__)


class _Rehearsed(Exception):
    """Raised at the end of the rehearsal so that its transaction rolls back."""


def rehearse(db: Database, clock: Clock) -> list[str]:
    """Rehearse the hot paths in a transaction that is rolled back, then a kiosk's reads;
    returns the steps that ran (a station that refuses one ends the rehearsal there)."""
    done: list[str] = []
    actor = Actor.system("warm-up")
    try:
        with contextlib.suppress(_Rehearsed), db.write() as s:
            _steps(s, clock, actor, done)
            raise _Rehearsed
    except DomainError as exc:
        log.info("warm-up ended after %s: %s (%s)", done, exc.code, exc)
    try:
        with db.read() as s:  # what a kiosk's request reads outside its write
            users.client_device_by_token(s, secrets.token_urlsafe(18))  # a token nobody holds
            calendar.open_now(s, clock)
        done.append("read")
    except Exception:  # never stops the server
        log.warning("warm-up read failed", exc_info=True)
    return done


def _steps(s: sa.orm.Session, clock: Clock, actor: Actor, done: list[str]) -> None:
    # a plate no vehicle is likely to have: one that has a visit in progress ends the rehearsal
    plate = f"浙Z{secrets.randbelow(100_000):05d}"
    checked = appointments.walk_in(s, clock, actor, plate_type="02", plate=plate,
                                   channel=Channel.KIOSK)
    done.append("walk_in")
    kiosk = s.scalar(sa.select(ClientDevice.id).where(ClientDevice.kind == ClientKind.KIOSK,
                                                      ClientDevice.active.is_(True)).limit(1))
    tickets.issue(s, clock, actor, checked.visit, checked.queue_category, kiosk_id=kiosk)
    done.append("ticket")
    queue.places_of(s, clock, [checked.visit.id])
    done.append("place")
    window = s.scalar(sa.select(Counter).where(Counter.state == OpenState.OPEN)
                      .order_by(Counter.number).limit(1))
    if window is None or calling.current(s, window) is not None:
        return  # no free window to rehearse the call on
    if calling.call_next(s, clock, actor, window) is not None:
        done.append("call")
        calling.park(s, clock, actor, window)
        done.append("park")


def warm_up(app: Flask) -> None:
    """Rehearse before serving (``station serve``); logs what it did and how long it took."""
    started = time.perf_counter()
    try:
        done = rehearse(app.extensions["station.db"], app.extensions["station.clock"])
    except Exception:  # never stops the server
        log.warning("warm-up failed", exc_info=True)
        return
    log.info("warmed up (%s) in %.0f ms", ", ".join(done), (time.perf_counter() - started) * 1000)
