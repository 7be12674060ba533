"""Call next reads only a few candidates, not the whole queue: it must still call exactly the
first ticket of the priority policy's full order, whatever the mix of who waits."""

from __future__ import annotations

import random
from datetime import date, time

import pytest

from station.models import Channel, Counter
from station.services import appointments, calling, queue, tickets
from station.services.actors import Actor

ACTOR = Actor.system("test")


@pytest.fixture(autouse=True)
def station(demo_station):
    return demo_station


def _book_ahead(s, clock, count):
    """Bookings made before the morning, for slots from 10:00 to 11:30."""
    codes = []
    for k in range(count):
        slot = time(10 + (k % 4) // 2, 30 if k % 2 else 0)
        codes.append(appointments.book(s, clock, ACTOR, appointments.BookingRequest(
            plate_type="02", plate=f"浙A{k:05d}", contact_name="张", phone=f"1381234{k:04d}",
            day=date(2026, 11, 23), starts_at=slot, channel=Channel.WEB)).code)
    return codes


def _arrive(s, clock, n, rng, codes):
    if codes and rng.random() < 0.35:
        checked = appointments.check_in(s, clock, ACTOR, code=codes.pop())
    else:
        checked = appointments.walk_in(s, clock, ACTOR, plate_type="02", plate=f"浙C{n:05d}",
                                       special_needs=rng.random() < 0.08)
    tickets.issue(s, clock, ACTOR, checked.visit, checked.queue_category)


def _first_callable(s, clock):
    now = clock.now()
    for place in queue.counter_queue(s, clock):
        if place.ticket_id is not None and (place.hold_until is None or place.hold_until <= now):
            return place.ticket
    return None


@pytest.mark.parametrize("seed", [1, 2])
def test_call_next_calls_the_policys_first_ticket(db, clock, seed):
    rng = random.Random(seed)
    with db.write() as s:
        codes = _book_ahead(s, clock, 10)
    rng.shuffle(codes)
    n = 0
    for _ in range(8):  # arrivals spread over the morning, some booked early or late
        with db.write() as s:
            for _ in range(rng.randrange(4, 9)):
                _arrive(s, clock, n, rng, codes)
                n += 1
        clock.advance(minutes=rng.choice([5, 15, 25, 40]))
    with db.write() as s:
        counter = s.query(Counter).filter_by(number=1).one()
        skipped = 0
        while True:
            expected = _first_callable(s, clock)
            ticket = calling.call_next(s, clock, ACTOR, counter)
            assert (ticket.label if ticket else None) == expected
            if ticket is None:
                break
            if skipped < 3 and rng.random() < 0.2:  # some go to the back of the queue
                calling.skip(s, clock, ACTOR, counter)
                skipped += 1
            else:
                calling.park(s, clock, ACTOR, counter)
            clock.advance(minutes=rng.choice([0, 1, 3]))
