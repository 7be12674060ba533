"""The queue order setting: the priority policy, or first come first served (the baseline the
station-day simulator measures the policy against)."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
import sqlalchemy as sa

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

    with db.write() as s:
        walk = appointments.walk_in(s, clock, Actor.system("t"), plate_type="02", plate="浙B11111")
        tickets.issue(s, clock, Actor.system("t"), walk.visit, walk.queue_category)
    # on PostgreSQL the second read sees a call committed after the first: the visit's own
    # row was waiting, the others no longer include it
    monkeypatch.setattr(priority, "rank_of", lambda *args, **kwargs: None)
    with db.read() as s, pytest.raises(NotFound) as refused:
        queue.place_of(s, clock, walk.visit.id)
    assert refused.value.code == "not_waiting"


def test_a_visit_not_waiting_has_no_place(db, clock):
    from station.errors import NotFound

    with db.read() as s, pytest.raises(NotFound) as refused:
        queue.place_of(s, clock, 424242)
    assert refused.value.code == "not_waiting"


def _book(db, clock, plate: str, starts_at: time) -> str:
    with db.write() as s:
        return appointments.book(s, clock, Actor.system("t"), appointments.BookingRequest(
            plate_type="02", plate=plate, contact_name="张", phone="13812345678",
            day=DAY, starts_at=starts_at, channel=Channel.WEB)).code


#: the day the queue forms (the bookings are made the day before)
DAY = date(2026, 11, 24)


def _arrive(db, clock, hhmm: str, *, code: str | None = None, plate: str | None = None,
            special_needs: bool = False) -> None:
    _at(clock, hhmm)
    actor = Actor.system("t")
    with db.write() as s:
        if code:
            came = appointments.check_in(s, clock, actor, code=code, special_needs=special_needs)
        else:
            came = appointments.walk_in(s, clock, actor, plate_type="02", plate=plate,
                                        special_needs=special_needs)
        tickets.issue(s, clock, actor, came.visit, came.queue_category)


def _at(clock, hhmm: str) -> None:
    hours, minutes = map(int, hhmm.split(":"))
    clock.set(datetime.combine(DAY, time(hours, minutes), clock.tz))


def _mixed_queue(db, clock):
    """Eight waiting at 09:40: bookings keyed by a later slot, a late booking, the green
    channel and a skipped ticket among walk-ins; returns the skipped ticket."""
    from station.models import Counter, OpenState
    from station.services import calling

    early, late, later = (_book(db, clock, plate, at) for plate, at in
                          (("浙A10001", time(9, 30)), ("浙A10002", time(9, 0)),
                           ("浙A10003", time(10, 0))))
    _arrive(db, clock, "09:00", plate="浙B20001")
    _arrive(db, clock, "09:05", code=early)        # on time, keyed by its slot at 09:30
    _arrive(db, clock, "09:10", plate="浙B20003")
    _arrive(db, clock, "09:20", code=late)         # late: keyed by its arrival
    _arrive(db, clock, "09:25", code=later)        # early: keyed by its slot at 10:00
    _arrive(db, clock, "09:26", plate="浙B20004")
    actor = Actor.system("t")
    with db.write() as s:  # the first in line (09:00) does not come: skipped to the end
        counter = s.scalars(sa.select(Counter).where(Counter.state == OpenState.OPEN)
                            .order_by(Counter.id)).first()
        skipped = calling.call_next(s, clock, actor, counter)
        calling.skip(s, clock, actor, counter)
    _arrive(db, clock, "09:30", plate="浙B20002", special_needs=True)
    _arrive(db, clock, "09:40", plate="浙B20005")
    return skipped


def test_each_place_is_its_rank_in_the_whole_order(db, clock):
    """``place_of`` counts those surely ahead and orders only the rest: every waiting visit's
    place equals its rank when the whole queue is ordered — bookings keyed by a later slot,
    late bookings, the green channel, a skipped ticket and escalated walk-ins included."""
    skipped = _mixed_queue(db, clock)
    for now in ("09:41", "10:01", "10:15", "10:45"):  # walk-ins escalate as the hour passes
        _at(clock, now)
        with db.read() as s:
            whole = queue.counter_queue(s, clock)
            assert len(whole) == 8 and skipped.visit_id in {p.visit_id for p in whole}
            for expected in whole:
                assert queue.place_of(s, clock, expected.visit_id) == expected, now
            # several at once (the printer's burst): each the same place as alone
            assert queue.places_of(s, clock, [p.visit_id for p in whole]) == {
                p.visit_id: p for p in whole}, now
            some = whole[2::3]
            assert queue.places_of(s, clock, [p.visit_id for p in some] + [424242]) == {
                p.visit_id: p for p in some}, now


def test_a_places_estimate_follows_the_open_windows(db, clock):
    """The estimated wait divides the work ahead among the windows open now (read with the
    visit's row): closing windows lengthens it, for one place as for the whole queue."""
    from station.models import Counter, OpenState
    from station.services import calling

    _mixed_queue(db, clock)
    actor = Actor.system("t")
    with db.write() as s:  # one service of 8 minutes: the skip before took none
        counter = s.scalars(sa.select(Counter).where(Counter.state == OpenState.OPEN)
                            .order_by(Counter.id)).first()
        _at(clock, "09:41")
        calling.call_next(s, clock, actor, counter)
        _at(clock, "09:49")
        calling.park(s, clock, actor, counter)

    def last() -> tuple[queue.QueuePlace, queue.QueuePlace]:
        with db.read() as s:
            whole = queue.counter_queue(s, clock)
            return whole[-1], queue.place_of(s, clock, whole[-1].visit_id)

    before, alone = last()
    assert before == alone and before.people_ahead >= 5 and _service_minutes(db, clock) == 4
    with db.write() as s:
        open_ones = s.scalars(sa.select(Counter).where(Counter.state == OpenState.OPEN)).all()
        assert len(open_ones) >= 2
        for counter in open_ones[1:]:
            counter.state = OpenState.CLOSED
    after, alone = last()
    assert after == alone
    assert after.estimated_wait_min == queue.estimate_wait_min(
        after.people_ahead, _service_minutes(db, clock), 1) > before.estimated_wait_min


def _service_minutes(db, clock) -> float:
    with db.read() as s:
        return queue.average_service_minutes(s, clock)


def test_the_lobbys_figures_per_category_are_those_of_the_whole_queue(db, clock):
    """``waiting_per_category`` (the lobby's waits) gives what ``counter_queue`` gives per
    category: how many, the first numbers in call order, the last one's estimated wait."""
    _mixed_queue(db, clock)
    for now in ("09:41", "10:15", "10:45"):
        _at(clock, now)
        with db.read() as s:
            whole = queue.counter_queue(s, clock)
            per_category = queue.waiting_per_category(s, clock, tickets=2)
        expected = {}
        for code in {p.category for p in whole}:
            mine = [p for p in whole if p.category == code]
            expected[code] = queue.CategoryWaiting(
                len(mine), [p.ticket for p in mine if p.ticket][:2], mine[-1].estimated_wait_min)
        assert per_category == expected, now
        assert len(expected) >= 2 and any(c.count > 2 for c in expected.values())
