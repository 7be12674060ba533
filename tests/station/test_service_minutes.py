"""The estimated wait's service time: the mean of the last counter services today, read from
the newest moves into and out of ``CALLED`` through their indexes."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
import sqlalchemy as sa

from station.db import insert_row
from station.domain.journey import VisitState
from station.models import VisitCategory, VisitTransition
from station.services import queue, settings, vehicles, visits
from station.services.actors import Actor

S = VisitState


@pytest.fixture
def visit_id(db, clock):
    clock.set(datetime(2026, 11, 24, 8, 0, tzinfo=clock.tz))
    with db.write() as s:
        vehicle = vehicles.register(s, clock, plate_type="02", plate="浙A24680")
        return visits.open_visit(s, clock, Actor.system("t"), vehicle,
                                 category=VisitCategory.WALK_IN, arrived_at=clock.now()).id


def _services(db, clock, visit_id, day_offset: int, starts: list[tuple[str, int]],
              called_last: str | None = None) -> None:
    """A service (call → registration) of ``minutes`` at each ``hh:mm`` of the day."""
    day = clock.today() + timedelta(days=day_offset)

    def at(hhmm: str, minutes: int = 0) -> datetime:
        hours, mins = map(int, hhmm.split(":"))
        return datetime.combine(day, time(hours, mins), clock.tz) + timedelta(minutes=minutes)

    def move(src, dst, when):
        insert_row(s, VisitTransition(visit_id=visit_id, from_state=src, to_state=dst, at=when,
                                      actor_kind="system", actor_name="t"))

    with db.write() as s:
        for hhmm, minutes in starts:
            move(S.CHECKED_IN, S.CALLED, at(hhmm))
            move(S.CALLED, S.REGISTERED, at(hhmm, minutes))
        if called_last:  # at the counter now: not a service yet
            move(S.CHECKED_IN, S.CALLED, at(called_last))


def _minutes(db, clock) -> float:
    with db.read() as s:
        return queue.average_service_minutes(s, clock)


def test_no_service_today_gives_the_configured_default(db, clock, visit_id):
    _services(db, clock, visit_id, -1, [("09:00", 30)])  # yesterday's do not count
    with db.read() as s:
        default = float(settings.get(s, "queue.default_service_minutes"))
    assert _minutes(db, clock) == default


def test_the_mean_of_todays_finished_services(db, clock, visit_id):
    _services(db, clock, visit_id, -1, [("09:00", 30), ("10:00", 40)])
    _services(db, clock, visit_id, 0, [("09:00", 4), ("09:10", 6)], called_last="09:20")
    assert _minutes(db, clock) == 5.0


def test_only_the_last_services_of_the_sample_count(db, clock, visit_id):
    early = [(f"{8 + n // 6:02d}:{n % 6 * 10:02d}", 9) for n in range(5)]
    late = [(f"{12 + n // 6:02d}:{n % 6 * 10:02d}", 3) for n in range(queue.SERVICE_SAMPLE)]
    _services(db, clock, visit_id, 0, early + late)
    assert _minutes(db, clock) == 3.0


@pytest.mark.sqlite_only
def test_the_moves_are_read_through_their_indexes(db):
    """However many transitions the station keeps (they are never deleted), the read is two
    ranges of the (state, time) indexes, not a scan of the table."""
    sql = str(queue._service_statements()[0].compile(dialect=db.engine.dialect))
    with db.engine.connect() as c:
        plan = [row[3] for row in c.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + sql, ("called", "2026-11-24 00:00:00", 80, 0) * 2)]
    assert any("USING INDEX ix_visit_transitions_to_state_at" in step for step in plan), plan
    assert any("USING INDEX ix_visit_transitions_from_state_at" in step for step in plan), plan
    assert not any(step.startswith("SCAN visit_transitions") for step in plan), plan
    assert not any("TEMP B-TREE" in step for step in plan), plan


def test_a_recall_is_counted_once(db, clock, visit_id):
    """A move from CALLED to CALLED comes back from both halves of the read."""
    _services(db, clock, visit_id, 0, [("09:00", 4)])
    day = clock.today()
    with db.write() as s:
        for hhmm, src, dst in (("10:00", S.CHECKED_IN, S.CALLED), ("10:02", S.CALLED, S.CALLED),
                               ("10:08", S.CALLED, S.REGISTERED)):
            hours, mins = map(int, hhmm.split(":"))
            insert_row(s, VisitTransition(
                visit_id=visit_id, from_state=src, to_state=dst, actor_kind="system",
                actor_name="t", at=datetime.combine(day, time(hours, mins), clock.tz)))
    # 09:00–09:04, then 10:00 → recalled 10:02 (a service of 2) → 10:02 called again, out 10:08
    assert _minutes(db, clock) == pytest.approx((4 + 2 + 6) / 3)
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(VisitTransition)) == 6  # with the opening
