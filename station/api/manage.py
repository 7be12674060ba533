"""The manager's booking administration: calendar, slot capacity, figures, outbox, phone blocks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from marshmallow import Schema, fields, validate

from station.auth import require_roles
from station.context import get_clock, get_db
from station.models import Role
from station.services import appointments, calendar, figures, notify

from .common import Blueprint, current_actor

blp = Blueprint("manage", __name__, url_prefix="/api/v1", description="Booking administration")


class HoursSchema(Schema):
    closed = fields.Bool(required=True)
    opens_at = fields.Time(load_default=None, format="%H:%M")
    closes_at = fields.Time(load_default=None, format="%H:%M")
    lunch_from = fields.Time(load_default=None, format="%H:%M")
    lunch_until = fields.Time(load_default=None, format="%H:%M")


class ExceptionSchema(Schema):
    day = fields.Date(required=True)
    closed = fields.Bool(required=True)
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=100))
    hours_of_weekday = fields.Int(load_default=None, validate=validate.Range(min=0, max=6))


class CapacitySchema(Schema):
    day = fields.Date(required=True)
    starts_at = fields.Time(required=True, format="%H:%M")
    vehicle_class = fields.Str(required=True, validate=validate.OneOf(calendar.VEHICLE_CLASSES))
    capacity = fields.Int(required=True, validate=validate.Range(min=0, max=200))


class SlotOutSchema(Schema):
    day = fields.Str()
    starts_at = fields.Str()
    capacity = fields.Int()
    booked = fields.Int()
    free = fields.Int()
    label = fields.Str()


class FiguresQuerySchema(Schema):
    days = fields.Int(load_default=7, validate=validate.Range(min=1, max=92))


class FiguresSchema(Schema):
    day = fields.Str()
    arrivals = fields.Int()
    booked = fields.Int()
    booked_ahead = fields.Int()
    online = fields.Int()
    due = fields.Int()
    no_shows = fields.Int()
    appointment_rate = fields.Float(allow_none=True)
    online_rate = fields.Float(allow_none=True)
    no_show_rate = fields.Float(allow_none=True)


class OutboxSchema(Schema):
    id = fields.Int()
    kind = fields.Str()
    phone = fields.Str()
    body = fields.Str()
    status = fields.Str()
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    attempts = fields.Int()
    last_error = fields.Str(allow_none=True)


class LiftSchema(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=200))


@blp.route("/calendar/hours/<int:weekday>", methods=["PUT"])
@require_roles(Role.MANAGER)
@blp.arguments(HoursSchema)
@blp.response(200, HoursSchema)
def put_hours(data: dict[str, Any], weekday: int) -> Any:
    """Opening hours of a weekday (0 = Monday); no lunch break given: open over lunch."""
    with get_db().write() as s:
        return calendar.set_hours(s, get_clock(), current_actor(), weekday, **data)


@blp.route("/calendar/exceptions", methods=["POST"])
@require_roles(Role.MANAGER)
@blp.arguments(ExceptionSchema)
@blp.response(201, ExceptionSchema)
def add_exception(data: dict[str, Any]) -> Any:
    """A holiday, or a weekend working day (调休) with the hours of another weekday."""
    with get_db().write() as s:
        return calendar.set_exception(s, get_clock(), current_actor(), **data)


@blp.route("/calendar/capacity", methods=["PUT"])
@require_roles(Role.MANAGER)
@blp.arguments(CapacitySchema)
@blp.response(200, SlotOutSchema)
def put_capacity(data: dict[str, Any]) -> dict[str, Any]:
    with get_db().write() as s:
        return calendar.set_capacity(s, get_clock(), current_actor(), **data).as_dict()


@blp.route("/figures/appointments")
@require_roles(Role.MANAGER)
@blp.arguments(FiguresQuerySchema, location="query")
@blp.response(200, FiguresSchema(many=True))
def appointment_figures(args: dict[str, Any]) -> list[dict[str, Any]]:
    """Appointment rate, online share and no-show rate for the last ``days`` days."""
    clock = get_clock()
    last = clock.today()
    with get_db().read() as s:
        return [f.as_dict() for f in figures.figures(s, clock, last - timedelta(days=args["days"] - 1), last)]


@blp.route("/outbox")
@require_roles(Role.MANAGER)
@blp.response(200, OutboxSchema(many=True))
def outbox() -> list[Any]:
    with get_db().read() as s:
        return notify.outbox(s)


@blp.route("/phone-blocks/<int:block_id>/lift", methods=["POST"])
@require_roles(Role.MANAGER)
@blp.arguments(LiftSchema)
@blp.response(204)
def lift_block(data: dict[str, Any], block_id: int) -> None:
    with get_db().write() as s:
        appointments.lift_block(s, get_clock(), current_actor(), block_id, data["reason"])
