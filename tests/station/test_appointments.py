"""Booking rules, seat claims that never overbook, check-in windows, no-shows and imports."""

from __future__ import annotations

import threading
from datetime import date, time, timedelta

import pytest
import sqlalchemy as sa

from station.domain.journey import VisitState
from station.errors import Conflict, NotFound, ValidationError
from station.models import (
    Appointment,
    AppointmentStatus,
    Arrival,
    Channel,
    PhoneBlock,
    Visit,
    VisitCategory,
)
from station.services import appointments, calendar, settings
from station.services.actors import Actor

ACTOR = Actor.system("test")
TOMORROW = date(2026, 11, 24)  # a Tuesday; the clock starts Monday 2026-11-23 09:00


def request(plate="浙A12345", phone="13812345678", day=TOMORROW, at=time(9, 0), **kw):
    return appointments.BookingRequest(plate_type=kw.pop("plate_type", "02"), plate=plate,
                                       contact_name=kw.pop("name", "张三"), phone=phone, day=day,
                                       starts_at=at, channel=kw.pop("channel", Channel.WEB), **kw)


def book(db, clock, **kw) -> Appointment:
    with db.write() as s:
        return appointments.book(s, clock, ACTOR, request(**kw))


def count(db, model, *where) -> int:
    with db.read() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(model).where(*where))


@pytest.fixture(autouse=True)
def station(demo_station):
    return demo_station


def test_slots_follow_the_calendar(db, clock):
    with db.read() as s:
        monday = calendar.slots(s, clock, date(2026, 11, 23), "small")
        saturday = calendar.slots(s, clock, date(2026, 11, 28), "small")
        sunday = calendar.slots(s, clock, date(2026, 11, 29), "small")
    assert (monday[0].starts_at, monday[-1].ends_at, len(monday)) == (time(8, 30), time(17, 30), 18)
    assert time(12, 0) not in [sl.starts_at for sl in saturday]  # lunch break kept on Saturday
    assert len(saturday) == 12 and sunday == []
    assert monday[0].as_dict()["label"] == "0/6"
    assert monday[0].start.isoformat() == "2026-11-23T00:30:00+00:00"  # 08:30 Asia/Shanghai


def test_holiday_and_extra_working_day(db, clock):
    with db.write() as s:
        calendar.set_exception(s, clock, ACTOR, TOMORROW, closed=True, reason="设备年检")
        calendar.set_exception(s, clock, ACTOR, date(2026, 11, 29), closed=False,
                               hours_of_weekday=0, reason="调休上班")
    with db.read() as s:
        assert calendar.slots(s, clock, TOMORROW, "small") == []
        assert len(calendar.slots(s, clock, date(2026, 11, 29), "small")) == 18
    with pytest.raises(ValidationError) as err:
        book(db, clock)
    assert err.value.code == "station_closed" and "设备年检" in err.value.message_zh


def test_booking_creates_a_booked_visit_and_takes_a_seat(db, clock):
    appointment = book(db, clock, vin_tail="183294")
    assert len(appointment.code) == 8 and appointment.status is AppointmentStatus.ACTIVE
    with db.read() as s:
        visit = s.get(Visit, appointment.visit_id)
        assert visit.state is VisitState.BOOKED and visit.category is VisitCategory.BOOKED
        assert visit.vehicle.vin_tail == "183294"
        assert calendar.find_slot(s, clock, TOMORROW, time(9, 0), "small").booked == 1


@pytest.mark.parametrize(("kw", "code"), [
    ({"plate": "浙A1234"}, "plate_invalid"),
    ({"phone": "12345"}, "phone_invalid"),
    ({"name": " "}, "name_invalid"),
    ({"day": date(2026, 12, 31)}, "day_out_of_range"),
    ({"day": date(2026, 11, 22)}, "day_out_of_range"),
    ({"day": date(2026, 11, 23), "at": time(9, 0)}, "slot_too_soon"),
    ({"at": time(7, 0)}, "slot_unknown"),
    ({"at": time(9, 10)}, "slot_unknown"),
    ({"vin_tail": "12O456"}, "vin_invalid"),
])
def test_bad_requests_are_refused_and_store_nothing(db, clock, kw, code):
    with pytest.raises(ValidationError) as err:
        book(db, clock, **kw)
    assert err.value.code == code and err.value.message_zh
    assert count(db, Appointment) == 0 and count(db, Visit) == 0


def test_one_active_booking_per_plate(db, clock):
    book(db, clock)
    with pytest.raises(Conflict) as err:
        book(db, clock, at=time(10, 0), phone="13900000000")
    assert err.value.code == "plate_has_booking"
    assert count(db, Appointment) == 1


def test_phone_limit_per_day(db, clock):
    for n in range(6):
        book(db, clock, plate=f"浙A1000{n}")
    with pytest.raises(Conflict) as err:
        book(db, clock, plate="浙A10009")
    assert err.value.code == "phone_limit" and "6" in err.value.message_zh
    book(db, clock, plate="浙A10009", day=TOMORROW + timedelta(days=1))  # another day is fine


def test_full_slot_is_refused(db, clock):
    for n in range(6):
        book(db, clock, plate=f"浙B1000{n}", phone=f"1390000000{n}")
    with pytest.raises(Conflict) as err:
        book(db, clock, plate="浙B10009", phone="13900000009")
    assert err.value.code == "slot_full"
    assert count(db, Visit) == 6


def test_concurrent_bookings_never_overbook(db, clock):
    """30 threads race for the 6 seats of one slot: exactly 6 win, the rest hear "full"."""
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(30)

    def attempt(n: int) -> None:
        barrier.wait(timeout=30)
        try:
            book(db, clock, plate=f"浙C{n:05d}", phone=f"137{n:08d}")
            result = "booked"
        except Conflict as err:
            result = err.code
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(n,)) for n in range(30)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert outcomes.count("booked") == 6 and outcomes.count("slot_full") == 24
    with db.read() as s:
        assert calendar.find_slot(s, clock, TOMORROW, time(9, 0), "small").booked == 6
    assert count(db, Appointment, Appointment.status == AppointmentStatus.ACTIVE) == 6


def test_large_vehicles_have_their_own_capacity(db, clock):
    book(db, clock, plate_type="01", plate="浙A12345")
    with db.read() as s:
        assert calendar.find_slot(s, clock, TOMORROW, time(9, 0), "large").booked == 1
        assert calendar.find_slot(s, clock, TOMORROW, time(9, 0), "small").booked == 0


def test_cancel_frees_the_seat_and_respects_the_cutoff(db, clock):
    appointment = book(db, clock)
    with db.write() as s:
        appointments.cancel(s, clock, ACTOR, appointments.get_by_code(s, appointment.code),
                            by_owner=True)
    with db.read() as s:
        assert calendar.find_slot(s, clock, TOMORROW, time(9, 0), "small").booked == 0
        assert s.get(Visit, appointment.visit_id).state is VisitState.CANCELLED
    late = book(db, clock)  # the plate may book again
    clock.advance(hours=1)  # now 10:00 Monday: 23 h before the slot
    with pytest.raises(Conflict) as err, db.write() as s:
        appointments.cancel(s, clock, ACTOR, appointments.get_by_code(s, late.code), by_owner=True)
    assert err.value.code == "cancel_too_late"
    with db.write() as s:  # staff may, with a reason
        appointments.cancel(s, clock, ACTOR, appointments.get_by_code(s, late.code),
                            by_owner=False, reason="车主来电取消")


def test_reschedule_moves_the_seat(db, clock):
    appointment = book(db, clock)
    with db.write() as s:
        appointments.reschedule(s, clock, ACTOR, appointments.get_by_code(s, appointment.code),
                                TOMORROW, time(14, 0), by_owner=True)
    with db.read() as s:
        assert calendar.find_slot(s, clock, TOMORROW, time(9, 0), "small").booked == 0
        assert calendar.find_slot(s, clock, TOMORROW, time(14, 0), "small").booked == 1
        moved = appointments.get_by_code(s, appointment.code)
        assert moved.slot_starts_at == time(14, 0)


def test_owner_proves_the_booking_with_the_phone_tail(db, clock):
    appointment = book(db, clock)
    assert appointments.owner_may_manage(appointment, "5678")
    assert not appointments.owner_may_manage(appointment, "0000")
    assert not appointments.owner_may_manage(appointment, "")


@pytest.mark.parametrize(("minutes", "arrival", "queue"), [
    (-45, Arrival.EARLY, "booked"), (-30, Arrival.ON_TIME, "booked"), (0, Arrival.ON_TIME, "booked"),
    (15, Arrival.ON_TIME, "booked"), (16, Arrival.LATE, "walk_in"),
])
def test_check_in_window(db, clock, minutes, arrival, queue):
    appointment = book(db, clock)
    clock.set(appointment.slot_start + timedelta(minutes=minutes))
    with db.write() as s:
        checked = appointments.check_in(s, clock, ACTOR, code=appointment.code.lower())
        assert checked.arrival is arrival and checked.queue_category == queue
        assert checked.visit.state is VisitState.CHECKED_IN
        assert checked.visit.arrived_at == clock.now()


def test_check_in_by_plate_and_on_the_wrong_day(db, clock):
    appointment = book(db, clock)
    with pytest.raises(Conflict) as err, db.write() as s:
        appointments.check_in(s, clock, ACTOR, plate_type="02", plate="浙A12345")
    assert err.value.code == "booking_other_day" and "11月24日" in err.value.message_zh
    clock.set(appointment.slot_start)
    with db.write() as s:
        assert appointments.check_in(s, clock, ACTOR, plate_type="02", plate="浙 A·12345").arrival is Arrival.ON_TIME
    with pytest.raises(NotFound), db.write() as s:
        appointments.check_in(s, clock, ACTOR, code="NOPE2345")


def test_walk_in_is_recorded_as_an_on_site_booking(db, clock):
    with db.write() as s:
        checked = appointments.walk_in(s, clock, ACTOR, plate_type="52", plate="浙AD12345")
        assert checked.queue_category == "walk_in"
        assert checked.appointment.channel is Channel.KIOSK
        assert checked.appointment.status is AppointmentStatus.CHECKED_IN
    with pytest.raises(Conflict), db.write() as s:  # one visit in progress per vehicle
        appointments.walk_in(s, clock, ACTOR, plate_type="52", plate="浙AD12345")


def test_no_shows_are_marked_and_block_the_phone(db, clock):
    first = book(db, clock, plate="浙A11111")
    second = book(db, clock, plate="浙A22222", day=TOMORROW + timedelta(days=1))
    clock.set(first.slot_start + timedelta(minutes=59))  # slot end + 29 min: not yet
    with db.write() as s:
        assert appointments.mark_no_shows(s, clock) == []
    clock.advance(minutes=2)
    with db.write() as s:
        assert [a.code for a in appointments.mark_no_shows(s, clock)] == [first.code]
    assert count(db, PhoneBlock) == 0  # one no-show is not enough
    clock.set(second.slot_start + timedelta(hours=2))
    with db.write() as s:
        appointments.mark_no_shows(s, clock)
        block = appointments.phone_block(s, clock, "13812345678")
        assert block is not None and block.reason == "爽约2次"
        assert clock.local(block.blocked_until).date() == date(2026, 5, 25) + timedelta(days=365)
        assert s.get(Visit, second.visit_id).state is VisitState.NO_SHOW
    with pytest.raises(Conflict) as err:
        book(db, clock, plate="浙A33333", day=date(2026, 11, 27))
    assert err.value.code == "phone_blocked" and "2027年05月25日" in err.value.message_zh


def test_import_is_idempotent_and_reports_each_record(db, clock):
    records = [
        {"external_ref": "12123-1", "plate_type": "02", "plate": "浙A12345", "phone": "13812345678",
         "contact_name": "张三", "day": "2026-11-24", "starts_at": "09:00"},
        {"external_ref": "12123-2", "plate_type": "02", "plate": "浙A1234", "phone": "13812345678",
         "contact_name": "李四", "day": "2026-11-24", "starts_at": "09:00"},
        {"external_ref": "12123-3", "plate_type": "02", "plate": "浙A54321"},
    ]
    with db.write() as s:
        result = appointments.import_bookings(s, clock, ACTOR, records)
    assert len(result.booked) == 1
    assert [r["code"] for r in result.refused] == ["plate_invalid", "record_invalid"]
    with db.write() as s:
        again = appointments.import_bookings(s, clock, ACTOR, records[:1])
    assert again.booked == [] and again.skipped[0]["code"] == "booking_duplicate"
    assert count(db, Appointment, Appointment.channel == Channel.POLICE_APP) == 1


def test_capacity_cannot_drop_below_bookings(db, clock):
    book(db, clock)
    book(db, clock, plate="浙A54321", phone="13900000001")
    with pytest.raises(ValidationError), db.write() as s:
        calendar.set_capacity(s, clock, ACTOR, TOMORROW, time(9, 0), "small", 1)
    with db.write() as s:
        slot = calendar.set_capacity(s, clock, ACTOR, TOMORROW, time(9, 0), "small", 2)
        assert (slot.capacity, slot.free) == (2, 0)
        settings.put(s, clock, ACTOR, "booking.capacity.small", 10)
        assert calendar.find_slot(s, clock, TOMORROW, time(10, 0), "small").capacity == 10


def test_online_claim_vehicle_is_told_instead_of_booked(db, clock):
    from station.services import vehicles

    with db.write() as s:  # a private car registered 4 years ago: year 4 is claimed online
        vehicles.register(s, clock, plate_type="02", plate="浙A12345", vehicle_type="K33",
                          use_nature="A", seats=5, first_registered_on=date(2022, 12, 10),
                          inspection_valid_until=date(2026, 12, 31))
    with pytest.raises(Conflict) as err:
        book(db, clock)
    assert err.value.code == "online_claim_only" and "12123" in err.value.message_zh
    assert count(db, Appointment) == 0


def test_booking_window_before_the_expiry_month(db, clock):
    with pytest.raises(Conflict) as err:
        book(db, clock, inspection_valid_until=date(2027, 3, 1))
    assert err.value.code == "not_yet_bookable" and "2027年01月01日" in err.value.message_zh
    appointment = book(db, clock, inspection_valid_until=date(2027, 1, 15))
    with db.read() as s:
        assert s.get(Visit, appointment.visit_id).vehicle.inspection_valid_until == date(2027, 1, 31)
