"""Position events and station results: idempotent, ordered per car, never backwards; the
first arrival puts the visit ON_LANE, the last station's finish makes it TESTED with a result;
skipped items carry their rule; a retest tests only the failed items."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from station import signals
from station.domain.journey import VisitState
from station.domain.vehicle_codes import Fuel
from station.errors import Conflict, ValidationError
from station.models import StationKind, Visit, VisitCategory
from station.models.inspection import InspectionItemResult, ItemOutcome, VisitResult
from station.models.tracking import PositionEvent, PositionKind
from station.services import inspection_items, tracking, visits
from station.services.actors import Actor
from tests.station.test_lanes_assignment import lane_no, queued

SYS = Actor.system("test")


def _pass_all(s, clock, visit, station, fail=()):
    items = tracking.station_items(s, clock, visit, station)
    return [{"code": i["code"], "outcome": "fail" if i["code"] in fail else "pass",
             "reason": "制动力不足" if i["code"] in fail else None}
            for i in items if not i["skipped"]]


def _drive_through(s, clock, visit, fail=()):
    lane = s.get(type(lane_no(s, 1)), visit.assigned_lane_id)
    for st in tracking.route(s, clock, visit, lane):
        tracking.record_position(s, clock, SYS, visit, kind="arrived", source="terminal", station=st)
        clock.advance(timedelta(minutes=4))
        tracking.finish_station(s, clock, SYS, st, visit, _pass_all(s, clock, visit, st, fail))
    return lane


def test_first_arrival_puts_the_visit_on_the_lane_and_is_idempotent(db, clock, demo_station):
    moved = []
    receiver = lambda _sender, **p: moved.append(p)  # noqa: E731
    signals.vehicle_moved.connect(receiver, sender=db)
    try:
        with db.write() as s:
            visit = queued(s, clock)
            first = lane_no(s, visit.assigned_lane_id and 1).stations[0]
            m1 = tracking.record_position(s, clock, SYS, visit, kind="arrived",
                                          source="terminal", station=first)
            m2 = tracking.record_position(s, clock, SYS, visit, kind="arrived",
                                          source="terminal", station=first)
            assert visit.state is VisitState.ON_LANE
            assert m1.applied and not m1.duplicate and m2.duplicate and m2.id == m1.id
    finally:
        signals.vehicle_moved.disconnect(receiver, sender=db)
    kinds = [p["kind"] for p in moved]
    assert kinds == ["assigned", "arrived"]  # the duplicate sent nothing
    assert moved[1]["plate"] == "浙A·1**00" or "**" in moved[1]["plate"]


def test_no_source_moves_a_car_backwards(db, clock, demo_station):
    with db.write() as s:
        visit = queued(s, clock)
        lane = lane_no(s, 1)
        one, two = lane.stations[0], lane.stations[1]
        tracking.record_position(s, clock, SYS, visit, kind="arrived", source="terminal", station=two)
        late = tracking.record_position(s, clock, SYS, visit, kind="arrived", source="camera",
                                        station=one, at=clock.now() - timedelta(minutes=1))
        assert not late.applied
        back = tracking.record_position(s, clock, SYS, visit, kind="finished", source="terminal",
                                        station=one)
        assert not back.applied
        same = tracking.record_position(s, clock, SYS, visit, kind="arrived", source="camera",
                                        station=two)
        assert not same.applied and not same.duplicate  # a confirmation from another source
        pos = tracking.position_of(s, visit.id)
        assert (pos.station_id, pos.kind) == (two.id, PositionKind.ARRIVED)
        assert s.scalar(sa.select(sa.func.count()).select_from(PositionEvent)) == 4
        with pytest.raises(ValidationError):
            tracking.record_position(s, clock, SYS, visit, kind="finished", source="device",
                                     station=two, at=clock.now() + timedelta(hours=1))


def test_a_car_not_waiting_for_a_lane_cannot_be_tracked(db, clock, demo_station):
    with db.write() as s:
        visit = queued(s, clock, assign=False)
        visits.transition(s, clock, SYS, visit, VisitState.CANCELLED)
        with pytest.raises(Conflict):
            tracking.record_position(s, clock, SYS, visit, kind="arrived", source="terminal",
                                     station=lane_no(s, 1).stations[0])


def test_young_private_car_skips_chassis_and_passes(db, clock, demo_station):
    with db.write() as s:
        visit = queued(s, clock, first_registered_on=date(2021, 3, 1))
        lane = _drive_through(s, clock, visit)
        assert [st.kind for st in tracking.route(s, clock, visit, lane)] == [
            StationKind.UNIQUENESS, StationKind.EXTERIOR, StationKind.INSTRUMENT,
            StationKind.EMISSION_GASOLINE]
        assert visit.state is VisitState.TESTED and visit.result is VisitResult.PASS
        results = inspection_items.newest_results(s, visit.id)
        assert results["P01"].outcome is ItemOutcome.SKIPPED
        assert "10年内免检底盘" in results["P01"].reason
        assert results["D01"].outcome is ItemOutcome.SKIPPED
        assert set(results) >= {i.code for i in inspection_items.CATALOGUE}
        assert tracking.position_of(s, visit.id).kind is PositionKind.LEFT


def test_old_car_fails_and_the_retest_tests_only_the_failed_item(db, clock, demo_station):
    with db.write() as s:
        visit = queued(s, clock, first_registered_on=date(2010, 3, 1))
        lane = _drive_through(s, clock, visit, fail={"I01"})
        assert StationKind.CHASSIS_PIT in {st.kind for st in tracking.route(s, clock, visit, lane)}
        assert visit.result is VisitResult.FAIL
        for to in (VisitState.KEYS_RETURNED, VisitState.CLOSED):
            visits.transition(s, clock, SYS, visit, to)
        retest = Visit(inspection_serial=visit.inspection_serial, attempt=2,
                       vehicle=visit.vehicle, category=VisitCategory.RETEST,
                       state=VisitState.QUEUED_FOR_LANE, state_changed_at=clock.now(),
                       created_at=clock.now())
        s.add(retest)
        s.flush()
        from station.services import assignment
        assignment.assign(s, clock, SYS, retest)
        lane = s.get(type(lane), retest.assigned_lane_id)
        assert [st.kind for st in tracking.route(s, clock, retest, lane)] == [StationKind.INSTRUMENT]
        items = {i["code"]: i for i in tracking.station_items(s, clock, retest, lane.stations[2])}
        assert not items["I01"]["skipped"] and items["I03"]["rule"] == "复检仅检验上次不合格项目"
        _drive_through(s, clock, retest)
        assert retest.state is VisitState.TESTED and retest.result is VisitResult.PASS


def test_finish_validates_results_and_changes_nothing_on_error(db, clock, demo_station):
    with db.write() as s:
        visit = queued(s, clock)
        first = lane_no(s, 1).stations[0]
        with pytest.raises(Conflict):  # not at the station yet
            tracking.finish_station(s, clock, SYS, first, visit, [])
        tracking.record_position(s, clock, SYS, visit, kind="arrived", source="terminal", station=first)
        good = _pass_all(s, clock, visit, first)
        with pytest.raises(ValidationError, match="no result yet"):
            tracking.finish_station(s, clock, SYS, first, visit, good[:-1])
        with pytest.raises(ValidationError):
            tracking.finish_station(s, clock, SYS, first, visit,
                                    [*good[:-1], {**good[-1], "outcome": "fail", "reason": ""}])
        with pytest.raises(ValidationError):
            tracking.finish_station(s, clock, SYS, first, visit, [*good, {"code": "I01", "outcome": "pass"}])
        assert s.scalar(sa.select(sa.func.count()).select_from(InspectionItemResult)) == 0


def test_diesel_station_takes_the_emission_page_rows(db, clock, demo_station):
    with db.write() as s:
        visit = queued(s, clock, fuel=Fuel.DIESEL, first_registered_on=date(2021, 1, 1))
        lane = s.get(type(lane_no(s, 1)), visit.assigned_lane_id)
        stops = tracking.route(s, clock, visit, lane)
        assert stops[-1].kind is StationKind.EMISSION_DIESEL
        for st in stops[:-1]:
            tracking.record_position(s, clock, SYS, visit, kind="arrived", source="terminal", station=st)
            tracking.finish_station(s, clock, SYS, st, visit, _pass_all(s, clock, visit, st))
        diesel = stops[-1]
        tracking.record_position(s, clock, SYS, visit, kind="arrived", source="terminal", station=diesel)
        with pytest.raises(Conflict, match="No free-acceleration"):
            tracking.finish_station(s, clock, SYS, diesel, visit, [])
        s.add(InspectionItemResult(visit_id=visit.id, station_id=diesel.id,
                                   group=StationKind.EMISSION_DIESEL, item_code="free_accel_k",
                                   item_name_zh="光吸收系数", item_name_en="k", outcome=ItemOutcome.FAIL,
                                   reason="k=1.45 超过限值1.2", measured="k=1.45 m⁻¹", at=clock.now()))
        s.flush()
        shown = {i["code"] for i in tracking.station_items(s, clock, visit, diesel)}
        assert "free_accel_k" in shown
        tracking.finish_station(s, clock, SYS, diesel, visit, [])
        assert visit.state is VisitState.TESTED and visit.result is VisitResult.FAIL


def test_event_api_is_source_aware_and_answers_4xx(app, client, login, db, clock, demo_station):
    with db.write() as s:
        visit_id = queued(s, clock).id
        station_id = lane_no(s, 1).stations[0].id
    body = {"visit_id": visit_id, "kind": "arrived", "source": "camera", "station_id": station_id}
    assert client.post("/api/v1/tracking/events", json=body).status_code in (400, 401)
    token = login("inspector")
    h = {"X-CSRFToken": token}
    r = client.post("/api/v1/tracking/events", headers=h, json=body)
    assert r.status_code == 200 and r.get_json()["applied"] and r.get_json()["source"] == "camera"
    again = client.post("/api/v1/tracking/events", headers=h, json=body).get_json()
    assert again["duplicate"] and again["id"] == r.get_json()["id"]
    bad = client.post("/api/v1/tracking/events", headers=h, json={**body, "kind": "flew"})
    assert bad.status_code == 422
    missing = client.post("/api/v1/tracking/events", headers=h, json={**body, "station_id": 9999})
    assert missing.status_code == 404 and missing.get_json()["message"]
    view = client.get(f"/api/v1/tracking/stations/{station_id}").get_json()
    assert view["car"]["visit_id"] == visit_id and view["car"]["items"][0]["code"] == "U01"
    finish = client.post(f"/api/v1/tracking/stations/{station_id}/finish", headers=h,
                         json={"visit_id": visit_id, "results": []})
    assert finish.status_code == 422 and "尚未判定" in finish.get_json()["message_zh"]
    board = client.get("/api/v1/tracking/board").get_json()
    assert board["lanes"][0]["stations"][0]["cars"][0]["id"] == visit_id


def test_progress_page_shows_the_lane_position(db, clock, demo_station):
    from station.services import overview

    with db.write() as s:
        visit = queued(s, clock)
        waiting = overview.lane_position(s, visit)
        assert waiting["kind"] == "waiting" and waiting["lane_number"] == 1
        assert {st["status"] for st in waiting["stations"]} == {"todo"}
        lane = lane_no(s, 1)
        tracking.record_position(s, clock, SYS, visit, kind="arrived", source="camera",
                                 station=lane.stations[1])
        here = overview.lane_position(s, visit)
        assert here["station_name"] == "外观检验" and here["kind"] == "arrived"
        assert [st["status"] for st in here["stations"]][:3] == ["passed", "current", "todo"]
        assert "浙" not in str(here)  # no plate in it at all


def test_a_position_loaded_earlier_in_the_transaction_shows_the_move(db, clock, demo_station):
    """The move is written with Core statements; the ORM copy of the car's position that the
    same transaction loaded before must not go on showing the old place."""
    with db.write() as s:
        visit = queued(s, clock)
        first, second = lane_no(s, 1).stations[:2]
        tracking.record_position(s, clock, SYS, visit, kind="arrived", source="terminal",
                                 station=first)
        loaded = tracking.position_of(s, visit.id)
        assert (loaded.station_id, loaded.kind) == (first.id, PositionKind.ARRIVED)
        clock.advance(timedelta(minutes=3))
        move = tracking.record_position(s, clock, SYS, visit, kind="arrived", source="camera",
                                        station=second)
        assert move.applied
        again = tracking.position_of(s, visit.id)
        assert again is loaded and (again.station_id, again.kind) == (second.id, PositionKind.ARRIVED)
        assert again.since == clock.now()
    with db.read() as s:
        stored = s.scalars(sa.select(PositionEvent).where(PositionEvent.visit_id == visit.id)
                           .order_by(PositionEvent.id)).all()
        assert [(e.station_id, e.source.value, e.applied) for e in stored][-2:] == [
            (first.id, "terminal", True), (second.id, "camera", True)]
        assert stored[-1].id == move.id and stored[-1].at == move.at


def test_a_report_by_ids_reads_the_car_and_loads_the_visit_only_to_change_it(db, clock, demo_station):
    """``report_position`` (the event API's path): unknown ids are 404s; a car seen on another
    lane than its assigned one is moved there and put ON_LANE; leaving by lane id; a repeat is
    the earlier event."""
    from station.errors import NotFound

    with db.write() as s:
        visit = queued(s, clock, assign=False)
        visit.assigned_lane_id = lane_no(s, 1).id
        lane2 = lane_no(s, 2)
        first2 = lane2.stations[0]
        visit_id, lane2_id, first2_id = visit.id, lane2.id, first2.id
    args = {"kind": "arrived", "source": "camera", "station_id": first2_id}
    with db.write() as s:
        with pytest.raises(NotFound) as missing_visit:
            tracking.report_position(s, clock, SYS, visit_id=999_999, **args)
        assert missing_visit.value.code == "visit_not_found"
        with pytest.raises(NotFound) as missing_station:
            tracking.report_position(s, clock, SYS, visit_id=visit_id, **{**args, "station_id": 999_999})
        assert missing_station.value.code == "station_not_found"
        with pytest.raises(NotFound) as missing_lane:
            tracking.report_position(s, clock, SYS, visit_id=visit_id, kind="left",
                                     source="terminal", lane_id=999_999)
        assert missing_lane.value.code == "lane_not_found"
        with pytest.raises(ValidationError):
            tracking.report_position(s, clock, SYS, visit_id=visit_id, kind="arrived",
                                     source="terminal")
        moved = tracking.report_position(s, clock, SYS, visit_id=visit_id, **args)
        assert moved.applied and (moved.lane_id, moved.station_id) == (lane2_id, first2_id)
    with db.read() as s:
        stored = visits.get(s, visit_id)
        assert stored.state is VisitState.ON_LANE and stored.assigned_lane_id == lane2_id
        assert stored.assigned_lane_reason.startswith("2号线")
        assert tracking.position_of(s, visit_id).station_id == first2_id
    with db.write() as s:
        left = tracking.report_position(s, clock, SYS, visit_id=visit_id, kind="left",
                                        source="terminal", lane_id=lane2_id)
        again = tracking.report_position(s, clock, SYS, visit_id=visit_id, kind="left",
                                         source="terminal", lane_id=lane2_id)
        assert left.applied and left.station_id is None
        assert again.duplicate and again.id == left.id and again.applied
        # arrived again at the first station: behind the car's place, kept but not applied
        back = tracking.report_position(s, clock, SYS, visit_id=visit_id,
                                        **{**args, "source": "terminal"})
        assert not back.applied
    with db.read() as s:
        assert tracking.position_of(s, visit_id).kind is PositionKind.LEFT


def test_two_reports_of_one_car_at_once_both_count(db, clock, demo_station):
    """Two sources report the same car at the same moment, before it has any position: the
    second waits for the first (the visit is locked on PostgreSQL; SQLite has one writer) and
    then sees its position, so it moves the car on instead of inserting a second position."""
    import threading
    import time

    with db.write() as s:
        visit = queued(s, clock)
        lane = s.get(type(lane_no(s, 1)), visit.assigned_lane_id)
        first, second = lane.stations[0].id, lane.stations[1].id
        visit_id = visit.id
    reported, errors = threading.Event(), []

    def report(station_id: int, source: str, hold: bool) -> None:
        try:
            with db.write() as s:
                tracking.report_position(s, clock, SYS, visit_id=visit_id, kind="arrived",
                                         source=source, station_id=station_id)
                if hold:  # the first report's transaction stays open a while
                    reported.set()
                    time.sleep(0.3)
        except Exception as e:  # the test fails on it below
            errors.append(e)
            reported.set()

    one = threading.Thread(target=report, args=(first, "terminal", True))
    other = threading.Thread(target=lambda: (reported.wait(5), report(second, "camera", False)))
    one.start(), other.start()
    one.join(10), other.join(10)
    assert errors == []
    with db.read() as s:
        assert tracking.position_of(s, visit_id).station_id == second
        events = s.scalars(sa.select(PositionEvent).where(PositionEvent.visit_id == visit_id)
                           .order_by(PositionEvent.id)).all()
        assert [(e.station_id, e.applied) for e in events] == [(first, True), (second, True)]
