"""The scorecard on known data: good-rate arithmetic, the seed's points rules, waits, time in
station, key handover, process order; weekly and monthly buckets."""

from __future__ import annotations

from datetime import date, timedelta
from fractions import Fraction

import pytest
import sqlalchemy as sa

from station.models import Channel, InspectionItemResult, ItemOutcome, LaneStation, StationKind
from station.services import feedback, lanes, scorecard, visits
from station.services.scorecard import good_rate_points, online_rate_points

from .feedback_helpers import ACTOR, S, served_visit

MONDAY = date(2026, 11, 23)


@pytest.mark.parametrize(("good", "total", "points"), [
    (98, 100, 15), (100, 100, 15), (99, 100, 15),
    (979, 1000, 14),    # 97.9 %: a started 0.2 % step costs a point
    (978, 1000, 14),    # 97.8 %: exactly one step
    (977, 1000, 13),
    (976, 1000, 13),
    (96, 100, 5),       # 2 % below: ten steps
    (95, 100, 0),       # 3 % below: fifteen steps, nothing left
    (50, 100, 0),       # never below zero
])
def test_good_rate_points_follow_the_seed(good, total, points):
    assert good_rate_points(good, total) == points


def test_no_ratings_no_points():
    assert good_rate_points(0, 0) is None and online_rate_points(0, 0) is None


@pytest.mark.parametrize(("online", "booked", "points"), [
    (50, 100, 8), (70, 100, 8), (49, 100, Fraction(15, 2)), (495, 1000, Fraction(15, 2)),
    (45, 100, Fraction(11, 2)), (40, 100, 3), (34, 100, 0), (0, 10, 0),
])
def test_online_booking_points_follow_the_seed(online, booked, points):
    assert online_rate_points(online, booked) == points


def _rate(db, clock, visit_id, level):
    with db.write() as s:
        feedback.rate(s, clock, ACTOR, visits.get(s, visit_id), level=level, channel="kiosk")


def test_a_day_on_known_data(db, clock, demo_station):
    # four visits: three hand over their keys, one does not; one was booked online
    a, _ = served_visit(db, clock, "浙A30001", until=S.CLOSED, channel=Channel.WEB)
    b, _ = served_visit(db, clock, "浙A30002", until=S.CLOSED)
    c, _ = served_visit(db, clock, "浙A30003", until=S.CLOSED)
    d, _ = served_visit(db, clock, "浙A30004", until=S.TESTED, keys=False)
    for visit_id, level in ((a, "very_satisfied"), (b, "satisfied"), (c, "basically_satisfied"),
                            (d, "dissatisfied")):
        _rate(db, clock, visit_id, level)
    with db.write() as s:
        kinds = {st.kind: st for st in s.scalars(sa.select(LaneStation))}
        for visit_id, order in ((a, [StationKind.UNIQUENESS, StationKind.EXTERIOR]),
                                (b, [StationKind.EXTERIOR, StationKind.UNIQUENESS])):
            for n, kind in enumerate(order):
                s.add(InspectionItemResult(
                    visit_id=visit_id, station_id=kinds[kind].id, group=kind,
                    item_code=f"{kind.value}-1", item_name_zh="项", item_name_en="item",
                    outcome=ItemOutcome.PASS, at=clock.now() + timedelta(seconds=n)))
        lanes.set_station_state(s, clock, ACTOR, kinds[StationKind.EMISSION_DIESEL], "blocked",
                                reason="烟度计检定过期")
    with db.read() as s:
        day = scorecard.period(s, clock, MONDAY, MONDAY).as_dict()
    assert (day["ratings"], day["good"], day["bad"], day["good_rate"]) == (4, 3, 1, 0.75)
    assert (day["arrivals"], day["booked"], day["online"]) == (4, 4, 1)
    assert (day["appointment_rate"], day["online_rate"]) == (1.0, 0.25)
    assert (day["served"], day["key_handover"], day["key_handover_share"]) == (4, 3, 0.75)
    # waits: keys 2 + called 10 minutes = 12 (three visits), 10 without keys → 11.5
    assert day["wait_avg_min"] == 11.5
    # time in station for the three closed visits: 50 minutes each
    assert day["stay_avg_min"] == 50.0
    assert (day["bad_cases"], day["bad_cases_late"], day["complaints"]) == (1, 0, 0)
    assert (day["blocked_events"], day["blocked_stations"]) == (1, 1)
    points = {p["code"]: p["points"] for p in day["points"]}
    assert points == {"good_rate": 0.0, "online_rate": 0.0, "bad_checked": 4.0,
                      "key_handover": 0.0, "process_order": 0.0, "instruments": 3.0,
                      "single_window": None}
    assert (day["points_scored"], day["points_possible"]) == (7.0, 40.0)
    assert day["used_past_verification"] == 0, "the demo's instruments are verified and checked"


def test_an_instrument_used_without_its_daily_check_costs_a_point(db, clock, demo_station):
    from station.models.instrument import Instrument

    visit_id, _ = served_visit(db, clock, "浙A30009", until=S.TESTED)
    with db.write() as s:
        station = s.scalar(sa.select(LaneStation).where(LaneStation.kind == StationKind.INSTRUMENT)
                           .order_by(LaneStation.id))
        instruments_there = s.scalar(sa.select(sa.func.count()).select_from(Instrument)
                                     .where(Instrument.lane_station_id == station.id))
        assert instruments_there >= 1
        # the next day: the verification still holds, but nobody did the daily check
        s.add(InspectionItemResult(visit_id=visit_id, station_id=station.id, group=station.kind,
                                   item_code="brake-1", item_name_zh="制动", item_name_en="brake",
                                   outcome=ItemOutcome.PASS, at=clock.now() + timedelta(days=1)))
    with db.read() as s:
        day = scorecard.period(s, clock, MONDAY + timedelta(days=1),
                               MONDAY + timedelta(days=1)).as_dict()
    assert day["used_past_verification"] == instruments_there
    points = {p["code"]: p["points"] for p in day["points"]}
    assert points["instruments"] == float(max(0, 3 - instruments_there))


def test_an_overdue_bad_rating_loses_the_checking_points(db, clock):
    visit_id, _ = served_visit(db, clock, "浙A30005")
    _rate(db, clock, visit_id, "very_dissatisfied")
    clock.advance(days=10)
    with db.read() as s:
        day = scorecard.period(s, clock, MONDAY, MONDAY).as_dict()
    assert day["bad_cases_late"] == 1
    assert next(p for p in day["points"] if p["code"] == "bad_checked")["points"] == 0.0


def test_weekly_and_monthly_buckets(db, clock):
    visit_id, _ = served_visit(db, clock, "浙A30006")
    _rate(db, clock, visit_id, "satisfied")
    clock.advance(days=9)  # Wednesday 2 December
    other, _ = served_visit(db, clock, "浙A30007")
    _rate(db, clock, other, "dissatisfied")
    with db.read() as s:
        weeks = scorecard.series(s, clock, "week", count=3)
        months = scorecard.series(s, clock, "month", count=2)
        days = scorecard.series(s, clock, "day", count=10)
    assert [(w.first, w.last) for w in weeks] == [
        (date(2026, 11, 16), date(2026, 11, 22)), (date(2026, 11, 23), date(2026, 11, 29)),
        (date(2026, 11, 30), date(2026, 12, 6))]
    assert [(w.ratings, w.good_rate) for w in weeks] == [(0, None), (1, 1.0), (1, 0.0)]
    assert [(m.label, m.ratings, m.good) for m in months] == [("2026-11", 1, 1),
                                                              ("2026-12", 1, 0)]
    assert [d.ratings for d in days] == [1, 0, 0, 0, 0, 0, 0, 0, 0, 1]
    assert scorecard.buckets("month", date(2026, 1, 15), 2)[0][1:] == (date(2025, 12, 1),
                                                                        date(2025, 12, 31))
