"""The appointment rate, the online share and the no-show rate, on known data."""

from __future__ import annotations

from datetime import date, time, timedelta

from station.models import Channel
from station.services import appointments, figures
from station.services.actors import Actor

ACTOR = Actor.system("test")
MONDAY = date(2026, 11, 23)


def test_figures_of_a_day(db, clock, demo_station):
    def book(plate, at, channel):
        with db.write() as s:
            return appointments.book(s, clock, ACTOR, appointments.BookingRequest(
                plate_type="02", plate=plate, contact_name="张", phone=f"1381234{plate[-4:]}",
                day=MONDAY, starts_at=at, channel=channel))

    web = book("浙A10001", time(10, 0), Channel.WEB)
    phone = book("浙A10002", time(10, 0), Channel.PHONE)
    book("浙A10003", time(10, 30), Channel.POLICE_APP)  # will not come
    cancelled = book("浙A10004", time(11, 0), Channel.WEB)
    with db.write() as s:
        appointments.cancel(s, clock, ACTOR, appointments.get(s, cancelled.id), by_owner=False,
                            reason="车主来电")
    clock.set(web.slot_start)
    with db.write() as s:
        appointments.check_in(s, clock, ACTOR, code=web.code)
        appointments.check_in(s, clock, ACTOR, code=phone.code)
        appointments.walk_in(s, clock, ACTOR, plate_type="02", plate="浙B20001")
    clock.advance(hours=3)
    with db.write() as s:
        appointments.mark_no_shows(s, clock)
    with db.read() as s:
        day = figures.day_figures(s, clock, MONDAY)
        assert (day.arrivals, day.booked, day.booked_ahead, day.online) == (3, 3, 2, 1)
        assert day.appointment_rate == 1.0 and day.online_rate == round(1 / 3, 4)
        assert (day.due, day.no_shows, day.no_show_rate) == (3, 1, round(1 / 3, 4))
        [other] = figures.figures(s, clock, MONDAY + timedelta(days=1), MONDAY + timedelta(days=1))
        assert other.appointment_rate is None and other.as_dict()["arrivals"] == 0
