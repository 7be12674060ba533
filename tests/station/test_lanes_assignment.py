"""Lane assignment: never to a lane that cannot test the vehicle (every vehicle kind × every
lane state), balanced by expected waits, explained, and re-assigned when a lane changes."""

from __future__ import annotations

import itertools
from datetime import date

import pytest
import sqlalchemy as sa

from station.domain.journey import VisitState
from station.domain.vehicle_codes import VEHICLE_TYPES, Fuel
from station.models import Lane, OpenState, StationKind, Visit, VisitCategory
from station.services import assignment, lanes, vehicles, visits
from station.services.actors import Actor

SYS = Actor.system("test")
_plates = itertools.count(10000)


def queued(s, clock, *, vehicle_type="K33", fuel=Fuel.GASOLINE, use_nature="A",
           first_registered_on=date(2022, 5, 1), axle_load_kg=None, seats=5, plate=None,
           plate_type="02", assign=True) -> Visit:
    """A visit of a new vehicle, paid and waiting for a lane (QUEUED_FOR_LANE)."""
    v = vehicles.register(s, clock, plate_type=plate_type, plate=plate or f"浙A{next(_plates)}",
                          vehicle_type=vehicle_type, fuel=fuel, use_nature=use_nature,
                          first_registered_on=first_registered_on, axle_load_kg=axle_load_kg,
                          seats=seats)
    visit = visits.open_visit(s, clock, SYS, v, category=VisitCategory.WALK_IN)
    for to in (VisitState.CALLED, VisitState.REGISTERED, VisitState.QUEUED_FOR_LANE):
        visits.transition(s, clock, SYS, visit, to)
    if assign:
        assignment.assign(s, clock, SYS, visit)
    return visit


def lane_no(s, number: int) -> Lane:
    return s.scalar(sa.select(Lane).where(Lane.number == number))


def station_of(lane: Lane, kind: StationKind):
    return next(st for st in lane.stations if st.kind is kind)


def can_test(lane: Lane, visit: Visit, s, clock) -> bool:
    """An independent statement of the rule, to check the service against."""
    v = visit.vehicle
    large = VEHICLE_TYPES[v.vehicle_type][2].value == "large"
    if lane.state is not OpenState.OPEN:
        return False
    if ("large" if large else "small") not in lane.vehicle_classes:
        return False
    if v.axle_load_kg and v.axle_load_kg > lane.max_axle_load_kg:
        return False
    open_kinds = {st.kind for st in lane.stations if st.state is OpenState.OPEN}
    needed = {StationKind.UNIQUENESS, StationKind.EXTERIOR, StationKind.INSTRUMENT}
    if v.fuel in (Fuel.DIESEL, Fuel.HYBRID_DIESEL):
        needed.add(StationKind.EMISSION_DIESEL)
    elif v.fuel is not Fuel.ELECTRIC:
        needed.add(StationKind.EMISSION_GASOLINE)
    small_private_young = (v.vehicle_type in ("K31", "K33", "K41", "K43")
                           and v.use_nature == "A" and v.first_registered_on.year > 2017)
    if not small_private_young:
        needed |= {StationKind.CHASSIS_DYNAMIC, StationKind.CHASSIS_PIT}
    return needed <= open_kinds


#: lane states to combine: everything open; a lane closed; a diesel meter blocked; a pit blocked
SCENARIOS = {
    "all_open": [],
    "lane2_closed": [("lane", 2, None)],
    "lane3_blocked": [("lane", 3, None)],
    "diesel2_blocked": [("station", 2, StationKind.EMISSION_DIESEL)],
    "diesel_all_blocked": [("station", 2, StationKind.EMISSION_DIESEL),
                           ("station", 3, StationKind.EMISSION_DIESEL)],
    "gasoline1_blocked_lane2_closed": [("station", 1, StationKind.EMISSION_GASOLINE),
                                       ("lane", 2, None)],
    "pits_blocked": [("station", n, StationKind.CHASSIS_PIT) for n in (1, 2, 3)],
    "all_closed": [("lane", n, None) for n in (1, 2, 3)],
}


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_never_assigned_to_a_lane_that_cannot_test(db, clock, demo_station, scenario):
    with db.write() as s:
        for what, number, kind in SCENARIOS[scenario]:
            lane = lane_no(s, number)
            if what == "lane":
                lanes.set_lane_state(s, clock, SYS, lane, OpenState.BLOCKED, "测试")
            else:
                lanes.set_station_state(s, clock, SYS, station_of(lane, kind), OpenState.BLOCKED,
                                        "检定过期")
        combos = itertools.product(sorted(VEHICLE_TYPES), list(Fuel), ("A", "F"),
                                   (date(2022, 1, 1), date(2012, 1, 1)), (None, 11000))
        checked = assigned = 0
        for vtype, fuel, use, registered, axle in combos:
            visit = queued(s, clock, vehicle_type=vtype, fuel=fuel, use_nature=use,
                           first_registered_on=registered, axle_load_kg=axle)
            possible = [n for n in (1, 2, 3) if can_test(lane_no(s, n), visit, s, clock)]
            if visit.assigned_lane_id is None:
                assert possible == [], (vtype, fuel, use, registered, axle, visit.assigned_lane_reason)
                assert visit.assigned_lane_reason.startswith("暂无可检测该车的检测线")
            else:
                lane = s.get(Lane, visit.assigned_lane_id)
                assert lane.number in possible, (vtype, fuel, use, registered, axle)
                assert visit.assigned_lane_reason.startswith(f"{lane.number}号线：")
                assigned += 1
            checked += 1
            visits.transition(s, clock, SYS, visit, VisitState.CANCELLED)  # keep waits equal
        assert checked == len(VEHICLE_TYPES) * len(Fuel) * 8
        if scenario == "all_closed":
            assert assigned == 0
        else:
            assert assigned > 0


def test_reason_explains_the_diesel_lane(db, clock, demo_station):
    with db.write() as s:
        visit = queued(s, clock, fuel=Fuel.DIESEL)
        assert lane_no(s, 2).id == visit.assigned_lane_id
        assert visit.assigned_lane_reason.startswith("2号线：柴油车需不透光烟度计")


def test_waits_are_balanced(db, clock, demo_station):
    with db.write() as s:
        numbers = [s.get(Lane, queued(s, clock).assigned_lane_id).number for _ in range(6)]
    # small gasoline cars: lanes 1 and 2 can test them (lane 3 has no gasoline analyser);
    # the least equipped lane first on a tie, then the shorter wait
    assert numbers == [1, 2, 1, 2, 1, 2]


def test_waiting_cars_move_when_a_station_is_blocked_and_back_when_open(db, clock, demo_station):
    with db.write() as s:
        visit = queued(s, clock, fuel=Fuel.DIESEL)
        lane2 = lane_no(s, 2)
        assert visit.assigned_lane_id == lane2.id
        lanes.set_station_state(s, clock, SYS, station_of(lane2, StationKind.EMISSION_DIESEL),
                                OpenState.BLOCKED, "烟度计检定过期")
        assert visit.assigned_lane_id == lane_no(s, 3).id
        lanes.set_station_state(s, clock, SYS, station_of(lane_no(s, 3),
                                                          StationKind.EMISSION_DIESEL),
                                OpenState.BLOCKED, "烟度计日检未做")
        assert visit.assigned_lane_id is None
        assert "烟度计" in visit.assigned_lane_reason
        lanes.set_station_state(s, clock, SYS, station_of(lane2, StationKind.EMISSION_DIESEL),
                                OpenState.OPEN)
        assert visit.assigned_lane_id == lane2.id


def test_assignment_api_explains_each_lane(app, client, login, db, clock, demo_station):
    with db.write() as s:
        visit_id = queued(s, clock, fuel=Fuel.DIESEL, vehicle_type="H11", use_nature="F",
                          axle_load_kg=9000).id
    login("manager")
    body = client.get(f"/api/v1/tracking/visits/{visit_id}/assignment").get_json()
    assert body["lane_number"] == 3
    assert body["considered"]["1"] and body["considered"]["2"] and body["considered"]["3"] == []
    assert client.get("/api/v1/tracking/visits/999999/assignment").status_code == 404
