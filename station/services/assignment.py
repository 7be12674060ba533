"""Lane assignment (分配检测线): from the vehicle's characteristics and the lanes' working
equipment, balancing the expected waits, with a reason the staff can read
(「2号线：柴油车需不透光烟度计」).

A vehicle is never assigned to a lane that cannot test it: the lane must be open, accept the
vehicle's size class and axle load, and have an open station of every kind the vehicle's items
need. When a lane or station changes state (``lanes.set_lane_state`` / ``set_station_state``,
e.g. an instrument's calibration lapsed), the cars still waiting are re-assigned.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from station import signals
from station.clock import Clock
from station.domain.journey import VisitState
from station.domain.masking import mask_plate
from station.domain.vehicle_codes import (
    NO_EMISSION_FUELS,
    VEHICLE_TYPES,
    VehicleClass,
)
from station.models import STATION_KIND_LABELS, Lane, OpenState, StationKind, Vehicle, Visit
from station.models.tracking import PositionEvent, PositionKind, VehiclePosition

from . import audit, inspection_items, lanes, settings
from .actors import Actor

K = StationKind
#: default minutes a car spends at a station of each kind (DOMAIN.md §7), until measured
DEFAULT_MINUTES = {K.UNIQUENESS: 3, K.EXTERIOR: 4, K.INSTRUMENT: 4, K.CHASSIS_DYNAMIC: 2,
                   K.CHASSIS_PIT: 3, K.EMISSION_GASOLINE: 7, K.EMISSION_DIESEL: 5}
settings.register(*[
    settings.Setting(f"lanes.minutes.{kind.value}", minutes,
                     f"{STATION_KIND_LABELS[kind][0]}默认时长(分钟)",
                     f"Default time at a station: {STATION_KIND_LABELS[kind][1]} (minutes)", 1, 60)
    for kind, minutes in DEFAULT_MINUTES.items()
])
#: how many recent station times the rolling mean takes
STATION_SAMPLE = 20
#: plate type codes of large vehicles when the vehicle type is not known (GA 24.7)
LARGE_PLATE_TYPES = frozenset({"01", "15", "51"})


def vehicle_class(vehicle: Vehicle) -> VehicleClass:
    known = VEHICLE_TYPES.get(vehicle.vehicle_type or "")
    if known:
        return known[2]
    return VehicleClass.LARGE if vehicle.plate_type in LARGE_PLATE_TYPES else VehicleClass.SMALL


@dataclass
class Needs:
    """What testing the vehicle needs, with the words that explain it."""

    vehicle_class: VehicleClass
    axle_load_kg: int | None
    kinds: set[StationKind]
    why: list[str] = field(default_factory=list)


def needs(session: Session, clock: Clock, visit: Visit) -> Needs:
    v = visit.vehicle
    planned = inspection_items.plan(session, visit, clock.today())
    kinds = inspection_items.kinds_needed(planned)
    why = []
    if v.fuel is None and visit.attempt <= 1:
        # fuel not known yet: only a lane able to test either fuel is safe
        kinds |= {K.EMISSION_GASOLINE, K.EMISSION_DIESEL}
        why.append("燃料种类未知，需汽油和柴油排放设备")
    elif K.EMISSION_DIESEL in kinds:
        why.append("柴油车需不透光烟度计")
    elif K.EMISSION_GASOLINE in kinds:
        why.append("汽油车需汽油排放检测设备")
    elif v.fuel in NO_EMISSION_FUELS:
        why.append("纯电动车不检排放")
    cls = vehicle_class(v)
    if cls is VehicleClass.LARGE:
        why.insert(0, "大中型车需大型车检测线")
    if K.CHASSIS_PIT in kinds:
        why.append("需底盘部件检验(地沟)")
    return Needs(cls, v.axle_load_kg, kinds, why)


def unable(lane: Lane, need: Needs) -> list[str]:
    """Why ``lane`` cannot test a vehicle with ``need`` (empty: it can)."""
    out = []
    if lane.state is not OpenState.OPEN:
        out.append(f"{lane.name}{'关闭' if lane.state is OpenState.CLOSED else '暂停'}"
                   f"：{lane.state_reason or ''}")
    if need.vehicle_class.value not in lane.vehicle_classes:
        out.append("不接受大中型车" if need.vehicle_class is VehicleClass.LARGE else "不接受小型车")
    if need.axle_load_kg is not None and need.axle_load_kg > lane.max_axle_load_kg:
        out.append(f"轴荷{need.axle_load_kg}kg超过{lane.max_axle_load_kg}kg")
    for kind in sorted(need.kinds):
        stations = [st for st in lane.stations if st.kind is kind]
        if not stations:
            out.append(f"无{STATION_KIND_LABELS[kind][0]}工位")
        elif not any(st.state is OpenState.OPEN for st in stations):
            st = stations[0]
            out.append(f"{st.name}暂停：{st.state_reason or ''}")
    return out


def stations_minutes(session: Session, clock: Clock, of_lanes: list[Lane]) -> dict[int, float]:
    """Mean minutes a car spends at each station of ``of_lanes`` (station id → minutes): the
    last ``STATION_SAMPLE`` measured times of today (arrived → finished), else the default of
    the station's kind. One query for every station: the day's finished events, each with the
    car's arrival at that station, the newest ``STATION_SAMPLE`` per station."""
    stations = [st for lane in of_lanes for st in lane.stations]
    if not stations:
        return {}
    start, _ = clock.day_bounds(clock.today())
    durations: dict[int, list[float]] = {}
    for station_id, finished_at, began in session.execute(
            _station_times_query(), {"start": start, "ids": [st.id for st in stations]}):
        durations.setdefault(station_id, []).append(
            (finished_at - began) / timedelta(minutes=1))
    return {st.id: (sum(durations[st.id]) / len(durations[st.id]) if st.id in durations
                    else float(settings.get(session, f"lanes.minutes.{st.kind.value}")))
            for st in stations}


@functools.cache
def _station_times_query() -> sa.Select:
    """(station id, finished at, arrived at) of the newest ``STATION_SAMPLE`` measured cars per
    station since ``:start``, for the stations ``:ids``. Built once: building it costs more
    than running it."""
    start = sa.bindparam("start", type_=PositionEvent.at.type)
    finished, arrived = aliased(PositionEvent), aliased(PositionEvent)
    arrived_at = (sa.select(sa.func.max(arrived.at))
                  .where(arrived.visit_id == finished.visit_id,
                         arrived.station_id == finished.station_id,
                         arrived.kind == PositionKind.ARRIVED, arrived.applied.is_(True),
                         arrived.at >= start, arrived.at <= finished.at)
                  .scalar_subquery())
    pairs = (sa.select(finished.station_id, finished.id, finished.at.label("finished_at"),
                       arrived_at.label("arrived_at"))
             .where(finished.station_id.in_(sa.bindparam("ids", expanding=True)),
                    finished.kind == PositionKind.FINISHED, finished.applied.is_(True),
                    finished.at >= start)
             .subquery())
    ranked = (sa.select(pairs.c.station_id, pairs.c.finished_at, pairs.c.arrived_at,
                        sa.func.row_number().over(
                            partition_by=pairs.c.station_id,
                            order_by=(pairs.c.finished_at.desc(), pairs.c.id.desc())).label("n"))
              .where(pairs.c.arrived_at.is_not(None))
              .subquery())
    return (sa.select(ranked.c.station_id, ranked.c.finished_at, ranked.c.arrived_at)
            .where(ranked.c.n <= STATION_SAMPLE))


def station_minutes(session: Session, clock: Clock, lane: Lane) -> dict[int, float]:
    """Mean minutes a car spends at each station of ``lane`` (see ``stations_minutes``)."""
    return stations_minutes(session, clock, [lane])


def waiting_counts(session: Session) -> dict[int, int]:
    """Lane id → cars assigned to it and not on it yet, for every lane in one query."""
    rows = session.execute(
        sa.select(Visit.assigned_lane_id, sa.func.count()).select_from(Visit)
        .outerjoin(VehiclePosition, VehiclePosition.visit_id == Visit.id)
        .where(Visit.assigned_lane_id.is_not(None), Visit.state == VisitState.QUEUED_FOR_LANE,
               VehiclePosition.visit_id.is_(None))
        .group_by(Visit.assigned_lane_id))
    return {lane_id: int(count) for lane_id, count in rows}


def waiting_on(session: Session, lane_id: int) -> int:
    """Cars assigned to the lane and not on it yet."""
    return waiting_counts(session).get(lane_id, 0)


def expected_wait_min(session: Session, clock: Clock, lane: Lane, *,
                      ahead: int | None = None, minutes: dict[int, float] | None = None) -> int:
    """Minutes until a car joining the lane's queue now reaches its first station: the cars
    ahead, one per cycle of the lane's slowest station. ``minutes`` (from
    ``stations_minutes``) saves reading the station times again."""
    if not lane.stations:
        return 0
    if minutes is None:
        minutes = station_minutes(session, clock, lane)
    cycle = max(minutes[st.id] for st in lane.stations)
    ahead = waiting_on(session, lane.id) if ahead is None else ahead
    return math.ceil(ahead * cycle)


def lane_waits(session: Session, clock: Clock) -> list[dict[str, object]]:
    """Per lane: cars waiting and the expected wait for one more (public figures)."""
    every = lanes.all_lanes(session)
    counts, minutes = waiting_counts(session), stations_minutes(session, clock, every)
    return [{"lane_id": lane.id, "number": lane.number, "waiting": counts.get(lane.id, 0),
             "estimated_wait_min": expected_wait_min(session, clock, lane,
                                                     ahead=counts.get(lane.id, 0),
                                                     minutes=minutes)}
            for lane in every]


@dataclass(frozen=True)
class Choice:
    lane: Lane | None
    reason: str
    #: lane number → why it cannot test the vehicle (empty list: it can)
    considered: dict[int, list[str]]
    wait_min: int | None


def choose(session: Session, clock: Clock, visit: Visit, *,
           exclude_visit_from_wait: bool = True) -> Choice:
    """The lane with the shortest expected wait among those that can test the vehicle; on a
    tie, the least equipped one (keeps the large-vehicle lane free), then the lowest number."""
    need = needs(session, clock, visit)
    considered, able = {}, []
    for lane in lanes.all_lanes(session):
        problems = unable(lane, need)
        considered[lane.number] = problems
        if not problems:
            able.append(lane)
    counts, minutes = waiting_counts(session), stations_minutes(session, clock, able)
    candidates = []
    for lane in able:
        ahead = counts.get(lane.id, 0)
        if exclude_visit_from_wait and visit.assigned_lane_id == lane.id:
            ahead = max(ahead - 1, 0)
        wait = expected_wait_min(session, clock, lane, ahead=ahead, minutes=minutes)
        equipment = len(lane.vehicle_classes) + len({st.kind for st in lane.stations})
        candidates.append((wait, equipment, lane.number, lane))
    if not candidates:
        detail = "；".join(f"{n}号线{'、'.join(p)}" for n, p in considered.items())
        return Choice(None, f"暂无可检测该车的检测线（{detail}）"[:200], considered, None)
    wait, _, _, lane = min(candidates, key=lambda c: c[:3])
    why = "，".join(need.why) if need.why else "常规检验"
    others = len(candidates) - 1
    tail = f"；预计等候约{wait}分钟" + ("，等候最短" if others else "，唯一可检测线")
    return Choice(lane, f"{lane.number}号线：{why}{tail}"[:200], considered, wait)


def assign(session: Session, clock: Clock, actor: Actor, visit: Visit) -> Lane | None:
    """Assign the visit to a lane (call when it becomes QUEUED_FOR_LANE). Returns the lane, or
    None when no lane can test the vehicle now (the reason says why; it is assigned as soon as
    a lane that can test it opens)."""
    choice = choose(session, clock, visit)
    previous = visit.assigned_lane_id
    visit.assigned_lane_id = choice.lane.id if choice.lane else None
    visit.assigned_lane_reason = choice.reason
    audit.record(session, clock, actor, "visit.lane_assigned", entity=visit,
                 lane_id=visit.assigned_lane_id, previous_lane_id=previous, reason=choice.reason)
    if choice.lane is not None and choice.lane.id != previous:
        signals.send_after_commit(
            session, signals.vehicle_moved, visit_id=visit.id, lane_id=choice.lane.id,
            station_id=None, kind="assigned", source="system", at=clock.now().isoformat(),
            plate=mask_plate(visit.vehicle.plate))
    return choice.lane


def reassign_waiting(session: Session, clock: Clock, actor: Actor) -> list[Visit]:
    """After a lane or station changed state: every car waiting for a lane (not on one yet)
    whose lane can no longer test it, or that has no lane, gets a new assignment."""
    waiting = list(session.scalars(
        sa.select(Visit).outerjoin(VehiclePosition, VehiclePosition.visit_id == Visit.id)
        .where(Visit.state == VisitState.QUEUED_FOR_LANE, VehiclePosition.visit_id.is_(None))
        .order_by(Visit.state_changed_at, Visit.id)))
    by_id = {lane.id: lane for lane in lanes.all_lanes(session)}
    moved = []
    for visit in waiting:
        lane = by_id.get(visit.assigned_lane_id) if visit.assigned_lane_id else None
        if lane is not None and not unable(lane, needs(session, clock, visit)):
            continue
        before = visit.assigned_lane_id
        assign(session, clock, actor, visit)
        session.flush()  # the next car's waits count this one
        if visit.assigned_lane_id != before:
            moved.append(visit)
    return moved
