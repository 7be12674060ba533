"""The queue order setting: the priority policy, or first come first served (the baseline the
station-day simulator measures the policy against)."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from station.models import Channel
from station.services import appointments, queue, settings, tickets
from station.services.actors import Actor


@pytest.fixture(autouse=True)
def station(demo_station):
    return demo_station


def _arrivals(db, clock):
    """A booking for 09:00 that checks in at 09:10 (on time), after a walk-in at 09:05."""
    actor = Actor.system("t")
    with db.write() as s:
        code = appointments.book(s, clock, actor, appointments.BookingRequest(
            plate_type="02", plate="浙A22222", contact_name="张", phone="13812345678",
            day=date(2026, 11, 24), starts_at=time(9, 0), channel=Channel.WEB)).code
    clock.set(datetime.combine(date(2026, 11, 24), time(9, 5), clock.tz))
    with db.write() as s:
        walk = appointments.walk_in(s, clock, actor, plate_type="02", plate="浙B11111")
        tickets.issue(s, clock, actor, walk.visit, walk.queue_category)
    clock.set(datetime.combine(date(2026, 11, 24), time(9, 10), clock.tz))
    with db.write() as s:
        booked = appointments.check_in(s, clock, actor, code=code)
        tickets.issue(s, clock, actor, booked.visit, booked.queue_category)


@pytest.mark.parametrize(("policy", "expected"), [
    ("priority", ["A001", "B001"]),  # the on-time booking is keyed by its slot, 09:00
    ("fifo", ["B001", "A001"]),      # the baseline: by arrival only
])
def test_the_policy_setting_decides_the_order(db, clock, policy, expected):
    with db.write() as s:
        settings.put(s, clock, Actor.system("t"), "queue.policy", policy)
    _arrivals(db, clock)
    with db.read() as s:
        assert [p.ticket for p in queue.counter_queue(s, clock)] == expected


def test_an_unknown_policy_is_refused(db, clock):
    with db.write() as s, pytest.raises(Exception) as err:
        settings.put(s, clock, Actor.system("t"), "queue.policy", "random")
    assert err.value.code == "setting_invalid"


def test_a_visit_called_between_the_two_reads_of_its_place_is_not_waiting(db, clock, station,
                                                                          monkeypatch):
    from station.domain import priority
    from station.errors import NotFound

    # on PostgreSQL the second read sees a call committed after the first: the order still
    # had the visit, its own row is no longer waiting
    gone = priority.Position(424242, 1, priority.Tier.QUEUE, clock.now(),
                             priority.ReasonCode.WALK_IN, "现场排队", "Walk-in")
    monkeypatch.setattr(priority, "rank_of", lambda *args, **kwargs: gone)
    with db.read() as s, pytest.raises(NotFound) as refused:
        queue.place_of(s, clock, 424242)
    assert refused.value.code == "not_waiting"
