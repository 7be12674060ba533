"""The verification register and the ONE blocking rule: expired / not 合格 / no passing daily
check today → unusable; the station is blocked with a reason the lobby shows, the lane stops
receiving diesel cars, and it reopens when the instrument is usable again."""

from __future__ import annotations

import itertools
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from station import signals
from station.domain.journey import VisitState
from station.domain.vehicle_codes import Fuel
from station.errors import Conflict, ValidationError
from station.jobs.instruments import check_instruments, jobs
from station.models import AuditEntry, Lane, LaneStation, OpenState, StationKind, VisitCategory
from station.models.instrument import (
    DailyCheck,
    Instrument,
    InstrumentAlert,
    InstrumentKind,
    RecordChangeRefused,
    Verification,
)
from station.services import (
    assignment,
    daily_checks,
    instruments,
    lanes,
    overview,
    vehicles,
    visits,
)
from station.services.actors import Actor

TECH = Actor.system("tech")
_plates = itertools.count(20000)


def station_of(s, lane_number: int, kind: StationKind) -> LaneStation:
    return s.scalar(sa.select(LaneStation).join(Lane).where(Lane.number == lane_number,
                                                           LaneStation.kind == kind))


def lane_no(s, number: int) -> Lane:
    return s.scalar(sa.select(Lane).where(Lane.number == number))


@pytest.fixture
def seeded(db, clock, demo_station):
    """The demo station registers its instruments (valid, checked today)."""


@pytest.fixture
def lane_events(db):
    got: list[dict] = []

    def on(_sender, **p):
        got.append(p)

    signals.lane_state_changed.connect(on, sender=db, weak=False)
    yield got
    signals.lane_state_changed.disconnect(on)


@pytest.fixture
def instrument_events(db):
    got: list[dict] = []

    def on(_sender, **p):
        got.append(p)

    signals.instrument_state_changed.connect(on, sender=db, weak=False)
    yield got
    signals.instrument_state_changed.disconnect(on)


def opacity_meter(s, lane_number: int = 2) -> Instrument:
    station = station_of(s, lane_number, StationKind.EMISSION_DIESEL)
    return instruments.at_station(s, station.id, InstrumentKind.OPACITY_METER)[0]


def queued_diesel(s, clock):
    v = vehicles.register(s, clock, plate_type="02", plate=f"浙A{next(_plates)}",
                          vehicle_type="K33", fuel=Fuel.DIESEL, use_nature="A",
                          first_registered_on=date(2019, 5, 1), seats=5)
    visit = visits.open_visit(s, clock, TECH, v, category=VisitCategory.WALK_IN)
    for to in (VisitState.CALLED, VisitState.REGISTERED, VisitState.QUEUED_FOR_LANE):
        visits.transition(s, clock, TECH, visit, to)
    return visit


def test_demo_seed_keeps_every_station_open(db, clock, seeded):
    with db.read() as s:
        rows = instruments.overview(s, clock)
        assert rows and all(r["usable"] for r in rows)
        kinds = {r["kind"] for r in rows}
        assert {"opacity_meter", "gas_analyser", "brake_tester", "headlamp_tester"} <= kinds
        assert all(st.state is OpenState.OPEN for st in s.scalars(sa.select(LaneStation)))
        assert opacity_meter(s).hardware_device_id is not None  # lane 2's meter is the device


def test_expired_instrument_blocks_its_station_and_the_lane_stops_taking_diesel_cars(
        db, clock, seeded, lane_events, instrument_events, app):
    with db.write() as s:
        meter = opacity_meter(s)
        valid_until = instruments.current_verification(s, meter).valid_until
        before = queued_diesel(s, clock)
        # a diesel car would go to lane 2 or 3 (both have an opacity meter)
        assert assignment.choose(s, clock, before).lane.number in (2, 3)
    # the last valid moment: still usable
    clock.set(clock.day_bounds(valid_until)[1] - timedelta(seconds=1))
    with db.write() as s:
        for inst in instruments.all_instruments(s):  # keep the daily checks of that day
            daily_checks.record_manual_check(s, clock, TECH, inst, passed=True, note="ok") \
                if inst.kind is not InstrumentKind.OPACITY_METER else s.add(DailyCheck(
                    instrument_id=inst.id, day=clock.today(), performed_at=clock.now(),
                    operator_name="t", method="seeded", passed=True))
        s.flush()
        check_instruments(s, clock)
    with db.read() as s:
        assert station_of(s, 2, StationKind.EMISSION_DIESEL).state is OpenState.OPEN
    lane_events.clear()
    instrument_events.clear()
    # the expiry moment: the start of the day after valid-until (the job at local midnight)
    clock.set(clock.day_bounds(valid_until + timedelta(days=1))[0])
    with db.write() as s:
        check_instruments(s, clock)
    with db.write() as s:
        station = station_of(s, 2, StationKind.EMISSION_DIESEL)
        assert station.state is OpenState.BLOCKED
        assert station.state_reason == "柴油车排放检测暂停：不透光烟度计检定已过期"
        assert not opacity_meter(s).usable
        # the lobby shows the station and why
        public = overview.public_overview(s, clock)
        lane2 = next(lane for lane in public["lanes"] if lane["number"] == 2)
        shown = next(st for st in lane2["stations"] if st["kind"] == "emission_diesel")
        assert shown["state"] == "blocked" and "检定已过期" in shown["state_reason"]
        # lane 2 no longer receives diesel cars
        diesel = queued_diesel(s, clock)
        choice = assignment.choose(s, clock, diesel)
        assert choice.lane is None or choice.lane.number != 2
        assert any("检定已过期" in why for why in choice.considered[2])
    sent = [e for e in lane_events if e["station_id"] == station.id]
    assert sent and sent[-1]["state"] == "blocked"
    assert any(e["instrument_id"] == meter.id and e["usable"] is False for e in instrument_events)
    with db.read() as s:  # an expired-warning alert for the technician
        assert s.scalar(sa.select(InstrumentAlert).where(InstrumentAlert.kind == "expired"))


def test_a_new_certificate_and_todays_check_reopen_the_station(db, clock, seeded, lane_events):
    clock.advance(days=400)  # every certificate ran out, and there is no daily check today
    with db.write() as s:
        check_instruments(s, clock)
    with db.write() as s:
        meter = opacity_meter(s)
        station = station_of(s, 2, StationKind.EMISSION_DIESEL)
        assert station.state is OpenState.BLOCKED
        assert "检定已过期" in station.state_reason
        instruments.record_verification(
            s, clock, TECH, meter, certificate_no="JD2027-0001", verifying_body="省计量院",
            verified_on=clock.today(), valid_until=clock.today() + timedelta(days=365),
            conclusion="qualified")
        # verified, but today's daily check is still missing: blocked, with the new reason
        assert station.state is OpenState.BLOCKED
        assert station.state_reason == "柴油车排放检测暂停：不透光烟度计今日未做日常检查"
        daily_checks.record_measured_check(
            s, clock, TECH, meter, zero_n_pct=0.1,
            points=[daily_checks.FilterPoint(30.0, 30.6), daily_checks.FilterPoint(60.0, 59.1)])
        assert meter.usable and station.state is OpenState.OPEN
        assert station.state_reason is None
    assert lane_events[-1]["station_id"] == station.id and lane_events[-1]["state"] == "open"


def test_only_stations_this_feature_blocked_are_reopened(db, clock, seeded):
    with db.write() as s:
        station = station_of(s, 2, StationKind.EMISSION_DIESEL)
        lanes.set_station_state(s, clock, TECH, station, OpenState.CLOSED, "设备维修")
        instruments.evaluate(s, clock)
        assert station.state is OpenState.CLOSED  # a person's closure is left alone
    clock.advance(days=1)  # new day: no daily check yet
    with db.write() as s:
        check_instruments(s, clock)
        station = station_of(s, 2, StationKind.EMISSION_DIESEL)
        assert station.state is OpenState.CLOSED and station.state_reason == "设备维修"
        gasoline = station_of(s, 1, StationKind.EMISSION_GASOLINE)
        assert gasoline.state is OpenState.BLOCKED
        assert gasoline.state_reason == "汽油车排放检测暂停：排气分析仪今日未做日常检查"


def test_a_new_station_day_needs_a_new_daily_check(db, clock, seeded):
    clock.set(clock.day_bounds(clock.today() + timedelta(days=1))[0])  # local midnight
    with db.write() as s:
        check_instruments(s, clock)
        meter = opacity_meter(s)
        verdict = instruments.usability(s, clock, meter)
        assert [p.code for p in verdict.problems] == ["daily_check_missing"]
        assert station_of(s, 2, StationKind.EMISSION_DIESEL).state is OpenState.BLOCKED


def test_not_qualified_and_failed_daily_check_make_it_unusable(db, clock, seeded):
    with db.write() as s:
        meter = opacity_meter(s, 3)
        current = instruments.current_verification(s, meter)
        instruments.record_verification(
            s, clock, TECH, meter, certificate_no="JD-X1", verifying_body="省计量院",
            verified_on=clock.today(), valid_until=clock.today() + timedelta(days=365),
            conclusion="restricted")
        verdict = instruments.usability(s, clock, meter)
        assert [p.code for p in verdict.problems] == ["not_qualified"]
        assert station_of(s, 3, StationKind.EMISSION_DIESEL).state is OpenState.BLOCKED
        brake = next(i for i in instruments.all_instruments(s)
                     if i.kind is InstrumentKind.BRAKE_TESTER)
        daily_checks.record_manual_check(s, clock, TECH, brake, passed=False, note="示值超差")
        assert [p.code for p in instruments.usability(s, clock, brake).problems] == [
            "daily_check_failed"]
        assert current.conclusion.value == "qualified"  # the earlier record is unchanged


def test_bad_certificates_are_refused_and_nothing_is_recorded(db, clock, seeded):
    with db.write() as s:
        meter_id = opacity_meter(s).id
    cases = [
        (dict(valid_until="2026-01-01", verified_on="2026-06-01"), "valid_until_before_verified"),
        (dict(valid_until="2026-13-40"), "date_invalid"),
        (dict(certificate_no=""), "field_required"),
        (dict(conclusion="maybe"), "conclusion_invalid"),
        (dict(verified_on="2027-01-01", valid_until="2028-01-01"), "verified_in_future"),
    ]
    for override, code in cases:
        fields = dict(certificate_no="JD-1", verifying_body="省计量院", verified_on="2026-06-01",
                      valid_until="2027-05-31", conclusion="qualified") | override
        with pytest.raises(ValidationError) as err, db.write() as s:
            instruments.record_verification(s, clock, TECH, s.get(Instrument, meter_id), **fields)
        assert err.value.code == code and err.value.message_zh and err.value.message_en
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(Verification)
                        .where(Verification.instrument_id == meter_id)) == 1


def test_records_are_append_only_and_corrected_by_new_records(db, clock, seeded):
    with db.write() as s:
        meter = opacity_meter(s)
        first = instruments.current_verification(s, meter)
        fixed = instruments.record_verification(
            s, clock, TECH, meter, certificate_no="JD-FIX", verifying_body="省计量院",
            verified_on=first.verified_on, valid_until=first.valid_until,
            conclusion="qualified", corrects_id=first.id, note="证书编号录入错误")
        assert instruments.current_verification(s, meter).id == fixed.id
        with pytest.raises(Conflict):
            instruments.record_verification(
                s, clock, TECH, meter, certificate_no="JD-FIX2", verifying_body="省计量院",
                verified_on=first.verified_on, valid_until=first.valid_until,
                conclusion="qualified", corrects_id=first.id, note="again")
    with pytest.raises(RecordChangeRefused), db.write() as s:
        s.get(Verification, fixed.id).certificate_no = "changed"
    with pytest.raises(RecordChangeRefused), db.write() as s:
        s.delete(s.scalars(sa.select(DailyCheck)).first())
    # the database refuses it too (raw SQL bypasses the ORM hook)
    with pytest.raises(sa.exc.DatabaseError), db.write() as s:
        s.execute(sa.text("UPDATE instrument_verifications SET certificate_no = 'x'"))
    with pytest.raises(sa.exc.DatabaseError), db.write() as s:
        s.execute(sa.text("DELETE FROM instrument_daily_checks"))


def test_expiry_warnings_30_7_1_days_ahead_each_once(db, clock, seeded):
    with db.read() as s:
        valid_until = instruments.current_verification(s, opacity_meter(s)).valid_until
    kinds = []
    for days_before in (31, 30, 29, 7, 1, 0):
        clock.set(clock.day_bounds(valid_until - timedelta(days=days_before))[0]
                  + timedelta(hours=8))
        with db.write() as s:
            made = instruments.raise_expiry_alerts(s, clock)
            kinds.append(sorted({a.kind for a in made}))
    assert kinds == [[], ["expiry_30"], [], ["expiry_7"], ["expiry_1"], []]
    with db.read() as s:
        alert = s.scalar(sa.select(InstrumentAlert).where(InstrumentAlert.kind == "expiry_7"))
        assert "剩余7天" in alert.message


def test_register_refuses_bad_input(db, clock, seeded):
    with db.write() as s:
        station = station_of(s, 1, StationKind.INSTRUMENT)
        device = opacity_meter(s).hardware_device_id
    with pytest.raises(Conflict) as err, db.write() as s:
        instruments.register_instrument(s, clock, TECH, kind="brake_tester", name="x",
                                        serial_no=f"DEMO-{station.id:03d}-1",
                                        lane_station_id=station.id)
    assert err.value.code == "instrument_serial_taken"
    with pytest.raises(ValidationError) as err, db.write() as s:
        instruments.register_instrument(s, clock, TECH, kind="brake_tester", name="x",
                                        serial_no="NEW-1", lane_station_id=station.id,
                                        hardware_device_id=device)
    assert err.value.code == "device_kind_mismatch"
    with db.write() as s:  # a new instrument is unusable until verified and checked
        new = instruments.register_instrument(s, clock, TECH, kind="headlamp_tester",
                                              name="新前照灯仪", serial_no="NEW-2",
                                              lane_station_id=station.id)
        assert not new.usable
        assert s.get(LaneStation, station.id).state is OpenState.BLOCKED
        assert s.scalar(sa.select(AuditEntry).where(AuditEntry.action == "instrument.registered"))


def test_jobs_run_at_local_midnight_and_on_an_interval(db, clock):
    found = {job.id: job for job in jobs(db, clock)}
    assert set(found) == {"instruments.midnight", "instruments.evaluate"}
    midnight = found["instruments.midnight"].trigger
    fire = midnight.get_next_fire_time(None, clock.now())
    assert fire == clock.day_bounds(clock.today() + timedelta(days=1))[0]
