"""Position tracking on the lanes (车辆位置) and the results of each station (工位).

Position events come from the lane terminal, from device results and (later) from cameras:
``record_position`` takes the source with each event. Rules:

* idempotent: a source reporting the same step of a car twice changes nothing (a database
  constraint on visit, lane, step and source);
* ordered per car: on its lane a car only moves forward (arrived at a station < finished it <
  arrived at a later station < left the lane); an event that would move it back is kept,
  marked not applied, and moves nothing — no source alone can move a car backwards;
* each event has its own time (``at``, as the source saw it); station times (arrived →
  finished) feed the estimated waits (``assignment.station_minutes``);
* the first arrival on a lane moves the visit QUEUED_FOR_LANE → ON_LANE; finishing the last
  station of its route sets the result and moves it ON_LANE → TESTED.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from station import signals
from station.clock import Clock
from station.domain.journey import VisitState
from station.domain.masking import mask_plate
from station.errors import Conflict, ValidationError
from station.models import STATION_KIND_LABELS, Lane, LaneStation, StationKind, Vehicle, Visit
from station.models.inspection import InspectionItemResult, ItemOutcome, VisitResult
from station.models.tracking import (
    PositionEvent,
    PositionKind,
    PositionSource,
    VehiclePosition,
    position_rank,
)

from . import audit, inspection_items, lanes, visits
from .actors import Actor

#: how far ahead of the server's clock a source's time may be (clock skew of a device)
MAX_FUTURE = timedelta(minutes=1)


@dataclass(frozen=True)
class Move:
    """One report of a car's position as recorded (``PositionEvent``'s columns) and whether
    it moved the car or repeated an earlier report."""

    id: int
    visit_id: int
    lane_id: int
    station_id: int | None
    kind: PositionKind
    source: PositionSource
    at: datetime
    applied: bool
    duplicate: bool

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "visit_id": self.visit_id, "lane_id": self.lane_id,
                "station_id": self.station_id, "kind": self.kind.value,
                "source": self.source.value, "at": self.at, "applied": self.applied,
                "duplicate": self.duplicate}


@functools.cache
def _position_query(lock: bool) -> sa.Select[tuple[VehiclePosition]]:
    stmt = sa.select(VehiclePosition).where(VehiclePosition.visit_id == sa.bindparam("visit_id"))
    return stmt.with_for_update() if lock else stmt


def position_of(session: Session, visit_id: int, *, for_update: bool = False) -> VehiclePosition | None:
    lock = for_update and session.get_bind().dialect.name == "postgresql"
    return session.scalar(_position_query(lock), {"visit_id": visit_id})


def _reported(visit_id: int, lane_id: int, rank: int, source: PositionSource) -> sa.ColumnElement[bool]:
    return sa.and_(PositionEvent.visit_id == visit_id, PositionEvent.lane_id == lane_id,
                   PositionEvent.rank == rank, PositionEvent.source == source)


@dataclass(frozen=True)
class Place:
    """Where a report puts the car: a station of a lane (arrived, finished) or a lane (left)."""

    lane_id: int
    lane_number: int
    lane_name: str
    station_id: int | None = None
    station_position: int | None = None
    station_name: str | None = None

    @classmethod
    def of(cls, lane: Lane, station: LaneStation | None = None) -> Place:
        if station is None:
            return cls(lane.id, lane.number, lane.name)
        return cls(lane.id, lane.number, lane.name, station.id, station.position, station.name)

    @staticmethod
    def reported(kind: PositionKind, station: Place | None, lane: Place | None) -> Place | None:
        """The place a report of ``kind`` names: a station for arrived / finished; for left,
        the lane given, or else the station's lane. None when the report lacks it."""
        if kind is not PositionKind.LEFT:
            return station
        if lane is None and station is not None:
            return Place(station.lane_id, station.lane_number, station.lane_name)
        return lane


@dataclass(frozen=True)
class _Car:
    """What a move reads of the car: its visit's columns and its position (if any)."""

    visit_id: int
    state: VisitState
    assigned_lane_id: int | None
    plate: str
    at_lane_id: int | None = None
    at_kind: PositionKind | None = None
    at_rank: int | None = None


_VISITS, _VEHICLES = Visit.__table__, Vehicle.__table__
_EVENTS, _POSITIONS = PositionEvent.__table__, VehiclePosition.__table__
_STATIONS, _LANES = LaneStation.__table__, Lane.__table__
_CAR_COLUMNS = (_VISITS.c.id, _VISITS.c.state, _VISITS.c.assigned_lane_id, _VEHICLES.c.plate)
_AT_COLUMNS = (_POSITIONS.c.lane_id, _POSITIONS.c.kind, _POSITIONS.c.rank)


@functools.cache
def _car_queries(dialect: str) -> tuple[sa.Select[Any], ...]:
    """The car and its position, built once per dialect (a car's every move reads them).

    On PostgreSQL the visit row is locked first and the position read by a later statement:
    a statement that waited for the lock would still see the position as it was before the
    move that held it. On SQLite the write transaction is the lock: one statement reads both.
    """
    car = sa.select(*_CAR_COLUMNS).join_from(_VISITS, _VEHICLES,
                                             _VEHICLES.c.id == _VISITS.c.vehicle_id)
    by_id = _VISITS.c.id == sa.bindparam("visit_id")
    if dialect == "postgresql":
        return (car.where(by_id).with_for_update(of=_VISITS),
                sa.select(*_AT_COLUMNS).where(_POSITIONS.c.visit_id == sa.bindparam("visit_id")))
    return (car.add_columns(*_AT_COLUMNS)
            .outerjoin(_POSITIONS, _POSITIONS.c.visit_id == _VISITS.c.id).where(by_id),)


def _read_car(session: Session, visit_id: int) -> _Car:
    """The car of ``visit_id`` (the visit locked on PostgreSQL); NotFound if there is none.
    Read through the session, so changes of the visit not yet flushed are in it."""
    statements = _car_queries(session.get_bind().dialect.name)
    row = session.execute(statements[0], {"visit_id": visit_id}).one_or_none()
    if row is None:
        raise visits.not_found(visit_id)
    if len(statements) == 1:
        return _Car(*row)
    at = session.execute(statements[1], {"visit_id": visit_id}).one_or_none()
    return _Car(*row, *(at or ()))


_PLACE_COLUMNS = (_LANES.c.id, _LANES.c.number, _LANES.c.name)
_STATION_PLACE = (sa.select(*_PLACE_COLUMNS, _STATIONS.c.id, _STATIONS.c.position,
                            _STATIONS.c.name)
                  .join_from(_STATIONS, _LANES, _LANES.c.id == _STATIONS.c.lane_id)
                  .where(_STATIONS.c.id == sa.bindparam("station_id")))
_LANE_PLACE = sa.select(*_PLACE_COLUMNS).where(_LANES.c.id == sa.bindparam("lane_id"))


@functools.cache
def _insert_event(dialect: str) -> sa.Insert:
    """A report written unless its source already reported this step (the unique constraint
    on visit, lane, step and source decides): then no row comes back."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return (insert(_EVENTS)
            .on_conflict_do_nothing(index_elements=["visit_id", "lane_id", "rank", "source"])
            .returning(_EVENTS.c.id))


_INSERT_POSITION = sa.insert(_POSITIONS)
_UPDATE_POSITION = (sa.update(_POSITIONS).where(_POSITIONS.c.visit_id == sa.bindparam("car"))
                    .values({c: sa.bindparam(c) for c in ("lane_id", "station_id", "kind", "rank",
                                                          "since")}))
#: an earlier report read back as a ``Move``: every field of it but ``duplicate`` is a column
_EVENT_COLUMNS = sa.select(*(_EVENTS.c[f.name] for f in dataclasses.fields(Move)
                             if f.name != "duplicate"))


def record_position(session: Session, clock: Clock, actor: Actor, visit: Visit, *,
                    kind: PositionKind | str, source: PositionSource | str,
                    station: LaneStation | None = None, lane: Lane | None = None,
                    at: datetime | None = None) -> Move:
    """Record that the car of ``visit`` arrived at / finished ``station`` or left ``lane``."""
    kind, source = PositionKind(kind), PositionSource(source)
    place = Place.reported(kind, Place.of(station.lane, station) if station else None,
                           Place.of(lane) if lane else None)
    return _record(session, clock, actor, _read_car(session, visit.id), place, kind, source, at,
                   visit=visit)


def report_position(session: Session, clock: Clock, actor: Actor, *, visit_id: int,
                    kind: PositionKind | str, source: PositionSource | str,
                    station_id: int | None = None, lane_id: int | None = None,
                    at: datetime | None = None) -> Move:
    """``record_position`` for a report that names the car and the place by their ids (the
    lane terminal's and the devices' events): the car, its position and the place are read as
    columns, and the visit is loaded only when the move changes it."""
    kind, source = PositionKind(kind), PositionSource(source)
    car = _read_car(session, visit_id)
    station = lane = None
    if station_id is not None:
        row = session.execute(_STATION_PLACE, {"station_id": station_id}).one_or_none()
        if row is None:
            raise lanes.station_not_found(station_id)
        station = Place(*row)
    if lane_id is not None:
        row = session.execute(_LANE_PLACE, {"lane_id": lane_id}).one_or_none()
        if row is None:
            raise lanes.lane_not_found(lane_id)
        lane = Place(*row)
    return _record(session, clock, actor, car, Place.reported(kind, station, lane), kind, source,
                   at, visit=None)


def _record(session: Session, clock: Clock, actor: Actor, car: _Car, place: Place | None,
            kind: PositionKind, source: PositionSource, at: datetime | None, *,
            visit: Visit | None) -> Move:
    now = clock.now()
    at = at or now
    if at.tzinfo is None:
        raise ValidationError("time_naive", "时间须带时区", "The time needs a time zone")
    if at > now + MAX_FUTURE:
        raise ValidationError("time_in_future", "事件时间晚于当前时间", "The event time is in the future")
    if place is None:
        if kind is PositionKind.LEFT:
            raise ValidationError("lane_required", "须指明检测线", "A lane is required")
        raise ValidationError("station_required", "须指明工位", "A station is required")
    if car.state not in (VisitState.QUEUED_FOR_LANE, VisitState.ON_LANE, VisitState.TESTED):
        raise Conflict("visit_not_on_lane", "该车辆不在待检或检测中", "This vehicle is not waiting "
                       "for or on a lane", visit_id=car.visit_id, state=car.state.value)
    rank = position_rank(place.station_position, kind)
    if car.at_lane_id is None:  # no position yet
        applied = kind is not PositionKind.LEFT and car.state is not VisitState.TESTED
    elif car.at_lane_id == place.lane_id:
        applied = rank > car.at_rank
    else:  # another lane: only a car that left its lane can be seen on a new one
        applied = car.at_kind is PositionKind.LEFT and car.state is VisitState.QUEUED_FOR_LANE
    connection = session.connection()
    event_id = connection.execute(_insert_event(connection.dialect.name), {
        "visit_id": car.visit_id, "lane_id": place.lane_id, "station_id": place.station_id,
        "kind": kind, "source": source, "rank": rank, "at": at, "recorded_at": now,
        "applied": applied, "actor_name": actor.name[:64]}).scalar()
    if event_id is None:  # this source reported this step before: nothing changes
        earlier = connection.execute(_EVENT_COLUMNS.where(_reported(
            car.visit_id, place.lane_id, rank, source))).one()
        return Move(**earlier._asdict(), duplicate=True)
    if applied:
        _move(session, clock, actor, car, place, kind, source, rank, at, visit)
    return Move(event_id, car.visit_id, place.lane_id, place.station_id, kind, source, at,
                applied, False)


def _move(session: Session, clock: Clock, actor: Actor, car: _Car, place: Place,
          kind: PositionKind, source: PositionSource, rank: int, at: datetime,
          visit: Visit | None) -> None:
    """The car is where the report says: its position, its visit's lane and state, the event."""
    connection = session.connection()
    spot = {"lane_id": place.lane_id, "station_id": place.station_id, "kind": kind, "rank": rank,
            "since": at}
    if car.at_lane_id is None:
        connection.execute(_INSERT_POSITION, {"visit_id": car.visit_id, **spot})
    else:
        connection.execute(_UPDATE_POSITION, {"car": car.visit_id, **spot})
    # a copy of the position this transaction loaded before is read again when next used
    loaded = session.identity_map.get(session.identity_key(VehiclePosition, car.visit_id))
    if loaded is not None:
        session.expire(loaded)
    lane_changed = car.assigned_lane_id != place.lane_id
    enters = kind is PositionKind.ARRIVED and car.state is VisitState.QUEUED_FOR_LANE
    if lane_changed or enters:
        visit = visit or visits.get(session, car.visit_id)
        if lane_changed:
            visit.assigned_lane_id = place.lane_id
            visit.assigned_lane_reason = f"{place.lane_number}号线：车辆实际驶入该线"
        if enters:
            visits.transition(session, clock, actor, visit, VisitState.ON_LANE,
                              reason=f"到达{place.lane_name} {place.station_name or ''}")
    signals.send_after_commit(
        session, signals.vehicle_moved, visit_id=car.visit_id, lane_id=place.lane_id,
        station_id=place.station_id, kind=kind.value, source=source.value,
        at=at.isoformat(), plate=mask_plate(car.plate))


# -- the route of a car on its lane and the stations' results ---------------------------------

def route(session: Session, clock: Clock, visit: Visit, lane: Lane) -> list[LaneStation]:
    """The stations of ``lane`` the car stops at, in order: one per kind it has items for."""
    needed = inspection_items.kinds_needed(inspection_items.plan(session, visit, clock.today()))
    out, seen = [], set()
    for st in lane.stations:
        if st.kind in needed and st.kind not in seen:
            seen.add(st.kind)
            out.append(st)
    return out


def next_station(session: Session, clock: Clock, visit: Visit, lane: Lane,
                 position: VehiclePosition | None) -> LaneStation | None:
    """Where the car goes next: the first route station after the one it is at."""
    stops = route(session, clock, visit, lane)
    if position is None or position.lane_id != lane.id:
        return stops[0] if stops else None
    if position.kind is PositionKind.LEFT:
        return None
    here = next((st for st in lane.stations if st.id == position.station_id), None)
    after = here.position if here else 0
    return next((st for st in stops if st.position > after), None)


def car_at(session: Session, station: LaneStation) -> Visit | None:
    """The car at the station now (arrived and not finished)."""
    return session.scalar(sa.select(Visit).join(VehiclePosition,
                                                VehiclePosition.visit_id == Visit.id)
                          .where(VehiclePosition.station_id == station.id,
                                 VehiclePosition.kind == PositionKind.ARRIVED)
                          .order_by(VehiclePosition.since).limit(1))


def incoming(session: Session, clock: Clock, station: LaneStation) -> list[Visit]:
    """Cars whose next stop is this station: waiting for the lane (first stop) or done at an
    earlier station of it, longest waiting first."""
    lane = station.lane
    rows = session.execute(
        sa.select(Visit, VehiclePosition).outerjoin(VehiclePosition,
                                                    VehiclePosition.visit_id == Visit.id)
        .where(sa.or_(
            sa.and_(Visit.state == VisitState.QUEUED_FOR_LANE, Visit.assigned_lane_id == lane.id,
                    VehiclePosition.visit_id.is_(None)),
            sa.and_(Visit.state == VisitState.ON_LANE, VehiclePosition.lane_id == lane.id,
                    VehiclePosition.kind == PositionKind.FINISHED)))
        .order_by(sa.func.coalesce(VehiclePosition.since, Visit.state_changed_at), Visit.id)).all()
    return [v for v, pos in rows
            if (nxt := next_station(session, clock, v, lane, pos)) is not None
            and nxt.id == station.id]


def station_items(session: Session, clock: Clock, visit: Visit,
                  station: LaneStation) -> list[dict[str, Any]]:
    """The station's items for this car: to test, or skipped with their rule; with any result
    already recorded (the newest row of an item counts)."""
    results = inspection_items.newest_results(session, visit.id)
    out = []
    for p in inspection_items.plan(session, visit, clock.today()):
        if p.item.kind is not station.kind:
            continue
        d = p.as_dict()
        r = results.get(p.item.code)
        d["outcome"] = r.outcome.value if r else None
        d["reason"] = r.reason if r else None
        d["measured"] = r.measured if r else None
        out.append(d)
    if station.kind is StationKind.EMISSION_DIESEL:  # rows the free-acceleration page wrote
        known = {d["code"] for d in out}
        for code, r in results.items():
            if r.group is StationKind.EMISSION_DIESEL and code not in known:
                out.append({"code": code, "kind": r.group.value, "name": r.item_name_zh,
                            "name_en": r.item_name_en, "skipped": False, "rule": None,
                            "outcome": r.outcome.value, "reason": r.reason,
                            "measured": r.measured})
    return out


def _row(visit: Visit, station: LaneStation | None, item: inspection_items.Item,
         outcome: ItemOutcome, reason: str | None, measured: str | None, at: datetime,
         actor: Actor) -> InspectionItemResult:
    return InspectionItemResult(
        visit_id=visit.id, station_id=station.id if station else None, group=item.kind,
        item_code=item.code, item_name_zh=item.name_zh, item_name_en=item.name_en,
        outcome=outcome, reason=reason, measured=measured, at=at,
        inspector_id=actor.id if actor.kind.value == "user" else None)


def finish_station(session: Session, clock: Clock, actor: Actor, station: LaneStation,
                   visit: Visit, results: list[dict[str, Any]]) -> Move:
    """Record the station's item results for the car at it and finish the station; after the
    last station of its route the visit gets its result and is TESTED.

    ``results``: ``[{code, outcome: pass|fail, reason, measured}]`` for every item to test
    here (a fail needs a reason). At a diesel emission station the results are the rows the
    free-acceleration page wrote; ``results`` must then be empty.
    """
    position = position_of(session, visit.id, for_update=True)
    if not _arrived_not_finished(session, visit, station, position):
        raise Conflict("car_not_at_station", "该车辆不在本工位", "This car is not at this station",
                       visit_id=visit.id, station_id=station.id)
    now = clock.now()
    planned = [p for p in inspection_items.plan(session, visit, clock.today())
               if p.item.kind is station.kind]
    to_test = {p.item.code: p.item for p in planned if p.skip_reason is None}
    if station.kind is StationKind.EMISSION_DIESEL:
        if results:
            raise ValidationError("results_from_device", "柴油排放结果由自由加速检测页面写入",
                                  "Diesel smoke results come from the free-acceleration page")
        written = [r for r in inspection_items.newest_results(session, visit.id).values()
                   if r.group is StationKind.EMISSION_DIESEL]
        if to_test and not written:
            raise Conflict("emission_result_missing", "尚无自由加速烟度检测结果",
                           "No free-acceleration result yet", visit_id=visit.id)
    else:
        given = {}
        for r in results:
            code = str(r.get("code", ""))
            if code not in to_test:
                raise ValidationError("item_not_here", f"项目{code}不在本工位检验",
                                      f"Item {code} is not tested at this station", item_code=code)
            if code in given:
                raise ValidationError("item_twice", f"项目{code}重复", f"Item {code} given twice")
            outcome = str(r.get("outcome", ""))
            if outcome not in (ItemOutcome.PASS.value, ItemOutcome.FAIL.value):
                raise ValidationError("outcome_invalid", "结果须为合格或不合格",
                                      "The outcome must be pass or fail", item_code=code)
            reason = (r.get("reason") or "").strip() or None
            if outcome == ItemOutcome.FAIL.value and reason is None:
                raise ValidationError("fail_reason_required", f"“{to_test[code].name_zh}”不合格须填写原因",
                                      f"A failed item needs a reason: {to_test[code].name_en}",
                                      item_code=code)
            given[code] = (ItemOutcome(outcome), reason, (r.get("measured") or None))
        missing = [to_test[c].name_zh for c in to_test if c not in given]
        if missing:
            raise ValidationError("items_missing", "以下项目尚未判定：" + "、".join(missing),
                                  f"{len(missing)} item(s) have no result yet", missing=missing)
        for code, (outcome, reason, measured) in given.items():
            session.add(_row(visit, station, to_test[code], outcome, reason, measured, now, actor))
    for p in planned:
        if p.skip_reason is not None:
            session.add(_row(visit, station, p.item, ItemOutcome.SKIPPED, p.skip_reason, None,
                             now, actor))
    audit.record(session, clock, actor, "station.finished", entity=visit, station_id=station.id)
    move = record_position(session, clock, actor, visit, kind=PositionKind.FINISHED,
                           source=PositionSource.TERMINAL, station=station, at=now)
    if _route_finished(session, clock, visit, station.lane):
        complete(session, clock, actor, visit, station.lane)
    return move


def _events_at(session: Session, visit: Visit, station: LaneStation,
               kind: PositionKind) -> bool:
    """Some source reported this step (whether or not it moved the car: a finish reported
    after a camera saw the car at the next station is kept, not applied)."""
    return session.scalar(sa.select(PositionEvent.id).where(
        PositionEvent.visit_id == visit.id, PositionEvent.station_id == station.id,
        PositionEvent.kind == kind).limit(1)) is not None


def _arrived_not_finished(session: Session, visit: Visit, station: LaneStation,
                          position: VehiclePosition | None) -> bool:
    """The car reached this station (reported by any source) and its items are not done yet.
    A camera may already have seen it at a later station: the inspector can still finish
    this one (the car does not move back)."""
    if position is None or position.lane_id != station.lane_id or position.kind is PositionKind.LEFT:
        return False
    if position.station_id == station.id:
        return position.kind is PositionKind.ARRIVED
    return (position.rank > position_rank(station.position, PositionKind.ARRIVED)
            and _events_at(session, visit, station, PositionKind.ARRIVED)
            and not _events_at(session, visit, station, PositionKind.FINISHED))


def _route_finished(session: Session, clock: Clock, visit: Visit, lane: Lane) -> bool:
    """Every station of the car's route on this lane has been finished."""
    session.flush()
    return all(_events_at(session, visit, st, PositionKind.FINISHED)
               for st in route(session, clock, visit, lane))


def expected_at(session: Session, clock: Clock, station: LaneStation) -> list[Visit]:
    """Cars that may be seen arriving at ``station`` next, longest waiting first: waiting for
    its lane with it as their first stop, or on the lane at the route stop before it —
    finished there, or not yet (a camera sees a car move on before the inspector's tap)."""
    lane = station.lane
    rows = session.execute(
        sa.select(Visit, VehiclePosition).outerjoin(VehiclePosition,
                                                    VehiclePosition.visit_id == Visit.id)
        .where(sa.or_(
            sa.and_(Visit.state == VisitState.QUEUED_FOR_LANE, Visit.assigned_lane_id == lane.id),
            sa.and_(Visit.state == VisitState.ON_LANE, VehiclePosition.lane_id == lane.id)))
        .order_by(sa.func.coalesce(VehiclePosition.since, Visit.state_changed_at), Visit.id)).all()
    out = []
    for visit, pos in rows:
        stops = route(session, clock, visit, lane)
        ids = [st.id for st in stops]
        if station.id not in ids:
            continue
        index = ids.index(station.id)
        if pos is None or pos.lane_id != lane.id:
            if index == 0 and visit.state is VisitState.QUEUED_FOR_LANE:
                out.append(visit)
        elif index > 0 and pos.station_id == ids[index - 1] and pos.kind is not PositionKind.LEFT:
            out.append(visit)
    return out


def complete(session: Session, clock: Clock, actor: Actor, visit: Visit, lane: Lane) -> Visit:
    """The last station is done: skipped rows for every item not tested on the lane, the
    visit's result (fail if any item in force failed) and ON_LANE → TESTED."""
    session.flush()
    now = clock.now()
    results = inspection_items.newest_results(session, visit.id)
    groups = {r.group for r in results.values()}  # the diesel page writes its own item codes
    for p in inspection_items.plan(session, visit, clock.today()):
        if p.item.code not in results and not (
                p.item.kind is StationKind.EMISSION_DIESEL and p.item.kind in groups):
            reason = p.skip_reason or f"本线未设{STATION_KIND_LABELS[p.item.kind][0]}工位"
            session.add(_row(visit, None, p.item, ItemOutcome.SKIPPED, reason, None, now, actor))
    session.flush()
    failed = [r for r in inspection_items.newest_results(session, visit.id).values()
              if r.outcome is ItemOutcome.FAIL]
    visit.result = VisitResult.FAIL if failed else VisitResult.PASS
    visit.result_at = now
    visits.transition(session, clock, actor, visit, VisitState.TESTED,
                      reason="检验结论：" + ("不合格" if failed else "合格"))
    record_position(session, clock, actor, visit, kind=PositionKind.LEFT,
                    source=PositionSource.TERMINAL, lane=lane, at=now)
    return visit


# -- read models -------------------------------------------------------------------------------

def board(session: Session) -> dict[int, list[dict[str, Any]]]:
    """Cars on the lanes now: lane id → [{visit_id, station_id, kind, since, plate}] (full
    plates: callers that publish it mask them)."""
    rows = session.execute(
        sa.select(VehiclePosition, Vehicle.plate)
        .join(Visit, Visit.id == VehiclePosition.visit_id)
        .join(Vehicle, Vehicle.id == Visit.vehicle_id)
        .where(VehiclePosition.kind != PositionKind.LEFT, Visit.state == VisitState.ON_LANE)
        .order_by(VehiclePosition.rank.desc())).all()
    out: dict[int, list[dict[str, Any]]] = {}
    for pos, plate in rows:
        out.setdefault(pos.lane_id, []).append(
            {"visit_id": pos.visit_id, "station_id": pos.station_id, "kind": pos.kind.value,
             "since": pos.since, "plate": plate})
    return out


def lane_queue(session: Session) -> dict[int, list[dict[str, Any]]]:
    """Cars assigned to each lane and not on it yet, in order of waiting."""
    rows = session.execute(
        sa.select(Visit.id, Visit.assigned_lane_id, Vehicle.plate, Visit.state_changed_at)
        .join(Vehicle, Vehicle.id == Visit.vehicle_id)
        .outerjoin(VehiclePosition, VehiclePosition.visit_id == Visit.id)
        .where(Visit.state == VisitState.QUEUED_FOR_LANE, Visit.assigned_lane_id.is_not(None),
               VehiclePosition.visit_id.is_(None))
        .order_by(Visit.state_changed_at, Visit.id)).all()
    out: dict[int, list[dict[str, Any]]] = {}
    for visit_id, lane_id, plate, since in rows:
        out.setdefault(lane_id, []).append({"visit_id": visit_id, "plate": plate, "since": since})
    return out


def station_of(session: Session, station_id: int) -> LaneStation:
    return lanes.get_station(session, station_id)
