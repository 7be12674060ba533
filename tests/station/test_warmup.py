"""The warm-up before serving (``station.warmup``): the kiosk's and the window's busiest paths
rehearsed in a transaction that is rolled back — nothing stored, nothing announced — so
that the first requests after a start compile nothing."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from station import signals, warmup
from station.models import Base, Counter, OpenState
from station.services import appointments, queue, tickets, users
from station.services.actors import Actor


@pytest.fixture(autouse=True)
def station(demo_station):
    return demo_station


def _waiting(db, clock, *plates: str) -> None:
    actor = Actor.system("t")
    for plate in plates:
        with db.write() as s:
            checked = appointments.walk_in(s, clock, actor, plate_type="02", plate=plate)
            tickets.issue(s, clock, actor, checked.visit, checked.queue_category)


def _every_table(db) -> dict[str, list[tuple]]:
    with db.read() as s:
        return {table.name: sorted(map(tuple, s.execute(sa.select(table))), key=repr)
                for table in Base.metadata.sorted_tables}


def _sent(monkeypatch) -> list[str]:
    """Every signal sent, by name."""
    sent: list[str] = []
    kind = type(signals.visit_state_changed)
    original = kind.send

    def send(self, *args, **kwargs):
        sent.append(self.name)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(kind, "send", send)
    return sent


def test_the_rehearsal_runs_every_step_and_leaves_nothing(db, clock, monkeypatch):
    _waiting(db, clock, "浙A11111", "浙A22222")
    before, sent = _every_table(db), _sent(monkeypatch)
    assert warmup.rehearse(db, clock) == ["walk_in", "ticket", "place", "call", "park", "read"]
    assert _every_table(db) == before
    assert sent == []
    _waiting(db, clock, "浙A33333")  # the spy sees what a committed check-in sends
    assert "ticket-changed" in sent


def test_after_the_rehearsal_a_kiosks_walk_in_compiles_no_statement(db, clock, station):
    """The rehearsal covers the kiosk's path: every statement of a walk-in, its ticket on
    the kiosk's printer and its place is compiled already."""
    warmup.rehearse(db, clock)
    cache = db.engine._compiled_cache
    assert cache is not None and len(cache) > 20
    compiled = set(cache.keys())
    with db.read() as s:
        kiosk = users.client_device_by_token(s, station.client_tokens["kiosk"])
    actor = Actor.system("t")
    with db.write() as s:
        checked = appointments.walk_in(s, clock, actor, plate_type="02", plate="浙A24680")
        tickets.issue(s, clock, actor, checked.visit, checked.queue_category, kiosk_id=kiosk.id)
    with db.read() as s:
        queue.place_of(s, clock, checked.visit.id)
    assert set(cache.keys()) == compiled


def test_without_an_open_window_the_rehearsal_stops_before_the_call(db, clock):
    with db.write() as s:
        for counter in s.scalars(sa.select(Counter)):
            counter.state = OpenState.CLOSED
    before = _every_table(db)
    assert warmup.rehearse(db, clock) == ["walk_in", "ticket", "place", "read"]
    assert _every_table(db) == before


def test_a_station_that_refuses_a_step_ends_the_rehearsal_there(db, clock, monkeypatch, caplog):
    _waiting(db, clock, "浙Z00042")  # the rehearsal's plate has a visit in progress
    monkeypatch.setattr(warmup.secrets, "randbelow", lambda _n: 42)
    before = _every_table(db)
    with caplog.at_level(logging.INFO, logger="station.warmup"):
        assert warmup.rehearse(db, clock) == ["read"]
    assert _every_table(db) == before
    assert "visit_in_progress" in caplog.text


def test_a_failing_warm_up_never_stops_the_server(app, monkeypatch, caplog):
    def broken(*_args):
        raise sa.exc.OperationalError("SELECT", {}, Exception("database is locked"))

    monkeypatch.setattr(warmup, "rehearse", broken)
    with caplog.at_level(logging.WARNING, logger="station.warmup"):
        warmup.warm_up(app)  # does not raise
    assert "warm-up failed" in caplog.text
