"""Visits (检验业务): open on arrival, read with their history, move through the state machine."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from station.auth import require_roles
from station.context import get_clock, get_db
from station.domain.journey import VisitState
from station.models import Role, VisitCategory
from station.services import overview
from station.services import vehicles as vehicle_service
from station.services import visits as visit_service

from .common import Blueprint, current_actor
from .vehicles import VehicleInSchema

blp = Blueprint("visits", __name__, url_prefix="/api/v1/visits", description="Visits (检验业务)")


class VisitOpenSchema(Schema):
    vehicle = fields.Nested(VehicleInSchema, required=True)
    category = fields.Str(load_default=VisitCategory.WALK_IN.value,
                          validate=validate.OneOf([c.value for c in VisitCategory]))


class TransitionSchema(Schema):
    id = fields.Int(dump_only=True)
    from_state = fields.Str(dump_only=True, allow_none=True)
    to_state = fields.Str(required=True, validate=validate.OneOf([s.value for s in VisitState]))
    at = fields.DateTime(dump_only=True)
    actor_kind = fields.Str(dump_only=True)
    actor_name = fields.Str(dump_only=True)
    reason = fields.Str(load_default=None, allow_none=True, validate=validate.Length(max=500))


class VisitSummarySchema(Schema):
    id = fields.Int()
    serial = fields.Str()
    attempt = fields.Int()
    category = fields.Str()
    state = fields.Str()
    state_label = fields.Str()
    state_changed_at = fields.DateTime()
    created_at = fields.DateTime()
    vehicle_id = fields.Int()
    plate_type = fields.Str()
    plate = fields.Str()


class VisitSchema(VisitSummarySchema):
    history = fields.List(fields.Nested(TransitionSchema))


class VisitQuerySchema(Schema):
    state = fields.Str(load_default=None, validate=validate.OneOf([s.value for s in VisitState]))
    limit = fields.Int(load_default=100, validate=validate.Range(min=1, max=500))


def _with_history(s: Any, visit: Any) -> dict[str, Any]:
    out = overview.visit_dict(visit)
    out["history"] = visit_service.history(s, visit)
    return out


@blp.route("", methods=["POST"])
@require_roles(Role.COUNTER, Role.MANAGER)
@blp.arguments(VisitOpenSchema)
@blp.response(201, VisitSchema)
def open_visit(data: dict[str, Any]) -> dict[str, Any]:
    """Open a visit for a vehicle that has arrived (checked in)."""
    clock, actor = get_clock(), current_actor()
    with get_db().write() as s:
        vehicle = vehicle_service.register(s, clock, **data["vehicle"])
        visit = visit_service.open_visit(s, clock, actor, vehicle,
                                         category=VisitCategory(data["category"]))
        return _with_history(s, visit)


@blp.route("", methods=["GET"])
@require_roles()
@blp.arguments(VisitQuerySchema, location="query")
@blp.response(200, VisitSummarySchema(many=True))
def list_visits(args: dict[str, Any]) -> list[dict[str, Any]]:
    with get_db().read() as s:
        return [overview.visit_dict(v)
                for v in visit_service.recent(s, state=args["state"], limit=args["limit"])]


@blp.route("/<int:visit_id>", methods=["GET"])
@require_roles()
@blp.response(200, VisitSchema)
def get_visit(visit_id: int) -> dict[str, Any]:
    with get_db().read() as s:
        return _with_history(s, visit_service.get(s, visit_id))


@blp.route("/<int:visit_id>/transitions", methods=["POST"])
@require_roles(Role.MANAGER)
@blp.arguments(TransitionSchema)
@blp.response(200, VisitSchema)
def move_visit(data: dict[str, Any], visit_id: int) -> dict[str, Any]:
    """Move a visit to another state by hand (manager), with a reason; the table decides."""
    with get_db().write() as s:
        visit = visit_service.get(s, visit_id, for_update=True)
        visit_service.transition(s, get_clock(), current_actor(), visit,
                                 VisitState(data["to_state"]), reason=data["reason"])
        return _with_history(s, visit)
