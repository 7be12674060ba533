"""The lane wait figures: station times measured today (the newest few per station, arrival →
finish), the default of the station's kind where none is measured, and the cars waiting per
lane — read for every lane at once, and the same as reading one lane at a time."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from station.models import LaneStation
from station.models.tracking import PositionEvent, PositionKind, PositionSource, position_rank
from station.services import assignment, lanes, overview, settings, tracking
from station.services.actors import Actor
from tests.station.test_lanes_assignment import lane_no, queued


def _event(s, visit, station: LaneStation, kind: PositionKind, at, *, applied=True,
           source=PositionSource.TERMINAL) -> None:
    s.add(PositionEvent(visit_id=visit.id, lane_id=station.lane_id, station_id=station.id,
                        kind=kind, source=source, rank=position_rank(station.position, kind),
                        at=at, recorded_at=at, applied=applied, actor_name="test"))


def _reference_minutes(rows, sample: int) -> float | None:
    """The rule stated plainly: pair each arrival with the next finish of the same car in time
    order; the mean of the newest ``sample`` pairs."""
    arrived, durations = {}, []
    for visit_id, kind, at in sorted(rows, key=lambda r: r[2]):
        if kind is PositionKind.ARRIVED:
            arrived[visit_id] = at
        elif visit_id in arrived:
            durations.append((at - arrived.pop(visit_id)) / timedelta(minutes=1))
    durations = durations[-sample:]
    return sum(durations) / len(durations) if durations else None


def test_station_times_are_the_newest_measured_today_else_the_default(db, clock, demo_station):
    now = clock.now()
    with db.write() as s:
        lane = lane_no(s, 1)
        first, second = lane.stations[0], lane.stations[1]
        rows = []
        # 25 cars at the first station, 1..25 minutes each, finishing one after another
        for n in range(25):
            visit = queued(s, clock, assign=False)
            began = now - timedelta(hours=5) + timedelta(minutes=10 * n)
            _event(s, visit, first, PositionKind.ARRIVED, began)
            _event(s, visit, first, PositionKind.FINISHED, began + timedelta(minutes=n + 1))
            rows += [(visit.id, PositionKind.ARRIVED, began),
                     (visit.id, PositionKind.FINISHED, began + timedelta(minutes=n + 1))]
        # not counted: yesterday's car, a finish without an arrival, events not applied
        old = queued(s, clock, assign=False)
        _event(s, old, first, PositionKind.ARRIVED, now - timedelta(days=1))
        _event(s, old, first, PositionKind.FINISHED, now - timedelta(days=1, minutes=-50))
        lost = queued(s, clock, assign=False)
        _event(s, lost, first, PositionKind.FINISHED, now - timedelta(minutes=1))
        ignored = queued(s, clock, assign=False)
        _event(s, ignored, first, PositionKind.ARRIVED, now - timedelta(minutes=30), applied=False)
        _event(s, ignored, first, PositionKind.FINISHED, now - timedelta(minutes=2), applied=False)
    with db.read() as s:
        lane = lane_no(s, 1)
        minutes = assignment.stations_minutes(s, clock, lanes.all_lanes(s))
        # the newest 20 of 1..25 minutes: 6..25, mean 15.5
        assert minutes[first.id] == 15.5 == _reference_minutes(rows, assignment.STATION_SAMPLE)
        default = settings.get(s, f"lanes.minutes.{second.kind.value}")
        assert minutes[second.id] == float(default)
        # every station of every lane is there, and one lane alone reads the same
        every = {st.id for ln in lanes.all_lanes(s) for st in ln.stations}
        assert set(minutes) == every
        assert assignment.station_minutes(s, clock, lane) == {
            st.id: minutes[st.id] for st in lane.stations}


def test_lane_waits_count_cars_assigned_and_not_yet_on_the_lane(db, clock, demo_station):
    with db.write() as s:
        cars = [queued(s, clock) for _ in range(7)]
        s.flush()
        on_lane = cars[0]
        station = s.scalar(sa.select(LaneStation).where(
            LaneStation.lane_id == on_lane.assigned_lane_id).order_by(LaneStation.position))
        tracking.record_position(s, clock, Actor.system("test"), on_lane, kind="arrived",
                                 source="terminal", station=station)
        waiting_lanes = [c.assigned_lane_id for c in cars[1:]]
    with db.read() as s:
        waits = {w["lane_id"]: w for w in assignment.lane_waits(s, clock)}
        counts = assignment.waiting_counts(s)
        assert sum(w["waiting"] for w in waits.values()) == 6
        for lane in lanes.all_lanes(s):
            expected = waiting_lanes.count(lane.id)
            assert waits[lane.id]["waiting"] == counts.get(lane.id, 0) == expected
            assert assignment.waiting_on(s, lane.id) == expected
            assert waits[lane.id]["estimated_wait_min"] == assignment.expected_wait_min(
                s, clock, lane)


def test_the_public_waits_read_again_only_the_parts_asked_for(db, clock, demo_station):
    with db.read() as s:
        before = overview.waits(s, clock)
    assert set(before) == set(overview.WAIT_PARTS)
    with db.write() as s:
        queued(s, clock)  # one more car waiting for a lane; the counter queue is unchanged
    stale = {"queues": "kept", "lanes": before["lanes"]}
    with db.read() as s:
        fresh = overview.waits(s, clock)
        lanes_only = overview.waits(s, clock, parts={"lanes"}, previous=stale)
        queues_only = overview.waits(s, clock, parts={"queues"}, previous=stale)
        missing = overview.waits(s, clock, parts={"lanes"}, previous={"lanes": before["lanes"]})
    assert fresh["lanes"] != before["lanes"] and fresh["queues"] == before["queues"]
    assert lanes_only == {"queues": "kept", "lanes": fresh["lanes"]}
    assert queues_only == {"queues": fresh["queues"], "lanes": before["lanes"]}
    assert missing == fresh, "a part never read is read whatever was asked"
    with db.read() as s, pytest.raises(ValueError, match="lane"):
        overview.waits(s, clock, parts={"lane"}, previous=fresh)
