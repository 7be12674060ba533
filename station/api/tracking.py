"""Lanes, assignment, position events, the lane terminal."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from station.auth import require_device, require_roles
from station.context import get_clock, get_db
from station.domain.masking import mask_plate
from station.domain.vehicle_codes import FUEL_LABELS, VEHICLE_TYPES
from station.models import ClientKind, Role
from station.models.tracking import PositionKind, PositionSource
from station.services import assignment, lanes, overview, tracking, visits

from .common import Blueprint, current_actor

blp = Blueprint("tracking", __name__, url_prefix="/api/v1/tracking",
                description="Lanes, assignment, position events, the lane terminal")

LANE_STAFF = (Role.INSPECTOR, Role.RUNNER, Role.MANAGER, Role.TECHNICIAN)


class PositionEventSchema(Schema):
    visit_id = fields.Int(required=True)
    kind = fields.Str(required=True, validate=validate.OneOf([k.value for k in PositionKind]))
    source = fields.Str(load_default=PositionSource.TERMINAL.value,
                        validate=validate.OneOf([s.value for s in PositionSource]))
    #: the station for arrived / finished; the lane (or a station of it) for left
    station_id = fields.Int(load_default=None)
    lane_id = fields.Int(load_default=None)
    #: when it happened, as the source saw it (ISO 8601 with a zone); default: now
    at = fields.AwareDateTime(load_default=None)


class MoveSchema(Schema):
    id = fields.Int()
    visit_id = fields.Int()
    lane_id = fields.Int()
    station_id = fields.Int(allow_none=True)
    kind = fields.Str()
    source = fields.Str()
    at = fields.DateTime()
    applied = fields.Bool()
    duplicate = fields.Bool()


class VisitRefSchema(Schema):
    visit_id = fields.Int(required=True)


class ItemResultSchema(Schema):
    code = fields.Str(required=True, validate=validate.Length(max=32))
    outcome = fields.Str(required=True, validate=validate.OneOf(["pass", "fail"]))
    reason = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=500))
    measured = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=100))


class FinishSchema(Schema):
    visit_id = fields.Int(required=True)
    results = fields.List(fields.Nested(ItemResultSchema), load_default=list)


@blp.route("/events", methods=["POST"])
@require_device(ClientKind.LANE_TERMINAL, ClientKind.INTEGRATION, staff=LANE_STAFF)
@blp.arguments(PositionEventSchema)
@blp.response(200, MoveSchema)
def post_event(data: dict[str, Any]) -> dict[str, Any]:
    """A car arrived at a station, finished it or left the lane — from the lane terminal, a
    device result or a camera. Idempotent per source; an event that would move the car
    backwards is recorded with ``applied: false``."""
    with get_db().write() as s:
        return tracking.report_position(s, get_clock(), current_actor(), **data).as_dict()


@blp.route("/board")
@require_roles()
def get_board() -> dict[str, Any]:
    """Every lane with its stations, the cars at them and the cars waiting for it (staff)."""
    with get_db().read() as s:
        return overview.lane_board(s, get_clock(), public=False)


@blp.route("/stations/<int:station_id>")
@require_roles(*LANE_STAFF)
def get_station(station_id: int) -> dict[str, Any]:
    """The lane terminal's view of one station: the car at it with its items, and the cars
    coming next."""
    clock = get_clock()
    with get_db().read() as s:
        station = lanes.get_station(s, station_id)
        car = tracking.car_at(s, station)
        return {
            "station": overview.station_dict(station),
            "lane": {"id": station.lane.id, "number": station.lane.number,
                     "name": station.lane.name},
            "car": None if car is None else {
                **_car(car), "items": tracking.station_items(s, clock, car, station)},
            "incoming": [_car(v) for v in tracking.incoming(s, clock, station)],
            "emission_page": (f"/emission/station/{station.id}"
                              if station.kind.value == "emission_diesel" else None),
        }


def _car(visit: Any) -> dict[str, Any]:
    v = visit.vehicle
    vehicle_type = VEHICLE_TYPES.get(v.vehicle_type or "")
    return {"visit_id": visit.id, "plate": v.plate, "plate_masked": mask_plate(v.plate),
            "plate_type": v.plate_type, "vehicle_type": v.vehicle_type, "fuel": v.fuel,
            # what the inspector reads (Chinese first, the codes for the record)
            "vehicle_type_label": vehicle_type[0] if vehicle_type else v.vehicle_type,
            "fuel_label": FUEL_LABELS[v.fuel][0] if v.fuel else None,
            "use_nature": v.use_nature, "attempt": visit.attempt, "state": visit.state.value,
            "assigned_lane_reason": visit.assigned_lane_reason}


@blp.route("/stations/<int:station_id>/arrive", methods=["POST"])
@require_roles(*LANE_STAFF)
@blp.arguments(VisitRefSchema)
@blp.response(200, MoveSchema)
def arrive(data: dict[str, Any], station_id: int) -> dict[str, Any]:
    """The inspector takes the car at the station (到位)."""
    with get_db().write() as s:
        visit = visits.get(s, data["visit_id"], for_update=True)
        station = lanes.get_station(s, station_id)
        return tracking.record_position(s, get_clock(), current_actor(), visit,
                                        kind=PositionKind.ARRIVED,
                                        source=PositionSource.TERMINAL, station=station).as_dict()


@blp.route("/stations/<int:station_id>/finish", methods=["POST"])
@require_roles(*LANE_STAFF)
@blp.arguments(FinishSchema)
@blp.response(200, MoveSchema)
def finish(data: dict[str, Any], station_id: int) -> dict[str, Any]:
    """Record the station's item results and finish it; the car moves on to its next
    station (after the last one the visit is TESTED with its result)."""
    with get_db().write() as s:
        visit = visits.get(s, data["visit_id"], for_update=True)
        station = lanes.get_station(s, station_id)
        return tracking.finish_station(s, get_clock(), current_actor(), station, visit,
                                       data["results"]).as_dict()


@blp.route("/visits/<int:visit_id>/assignment")
@require_roles()
def get_assignment(visit_id: int) -> dict[str, Any]:
    """Which lane the vehicle would go to now, and why each lane can or cannot test it."""
    with get_db().read() as s:
        visit = visits.get(s, visit_id)
        choice = assignment.choose(s, get_clock(), visit)
        return {"visit_id": visit.id, "assigned_lane_id": visit.assigned_lane_id,
                "assigned_lane_reason": visit.assigned_lane_reason,
                "lane_id": choice.lane.id if choice.lane else None,
                "lane_number": choice.lane.number if choice.lane else None,
                "reason": choice.reason, "estimated_wait_min": choice.wait_min,
                "considered": {str(n): p for n, p in choice.considered.items()}}


@blp.route("/visits/<int:visit_id>/assign", methods=["POST"])
@require_roles(Role.COUNTER, Role.RUNNER, Role.MANAGER, Role.INSPECTOR)
def post_assign(visit_id: int) -> dict[str, Any]:
    """(Re-)assign a car waiting for a lane."""
    from station.domain.journey import VisitState
    from station.errors import Conflict

    with get_db().write() as s:
        visit = visits.get(s, visit_id, for_update=True)
        if visit.state is not VisitState.QUEUED_FOR_LANE:
            raise Conflict("visit_not_waiting_for_lane", "该车辆不在待检状态",
                           "This vehicle is not waiting for a lane", state=visit.state.value)
        lane = assignment.assign(s, get_clock(), current_actor(), visit)
        return {"visit_id": visit.id, "lane_id": lane.id if lane else None,
                "reason": visit.assigned_lane_reason}
