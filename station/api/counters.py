"""Counter windows (窗口): call next, recall, call a number, skip, park, transfer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import Schema, fields, validate

from station.auth import require_roles
from station.context import get_clock, get_db
from station.errors import NotFound
from station.models import Role
from station.services import calling

from .common import Blueprint, current_actor

blp = Blueprint("counters", __name__, url_prefix="/api/v1/counters",
                description="Counter windows (窗口叫号)")
STAFF = (Role.COUNTER, Role.MANAGER)


class CallSchema(Schema):
    ticket_id = fields.Int()
    ticket = fields.Str()
    visit_id = fields.Int()
    counter_id = fields.Int(allow_none=True)
    call_state = fields.Str()
    call_count = fields.Int()
    text = fields.Str(metadata={"description": "the call as said and shown: 请A012号到3号窗口办理"})
    plate = fields.Str()


class LabelSchema(Schema):
    ticket = fields.Str(required=True, validate=validate.Length(min=2, max=8))


class TransferSchema(Schema):
    to_counter_id = fields.Int(required=True)


def _call_dict(ticket: Any, counter: Any | None) -> dict[str, Any]:
    number = counter.number if counter is not None else None
    return {"ticket_id": ticket.id, "ticket": ticket.label, "visit_id": ticket.visit_id,
            "counter_id": ticket.counter_id, "call_state": ticket.call_state.value,
            "call_count": ticket.call_count, "plate": ticket.visit.vehicle.plate,
            "text": calling.call_text(ticket.label, number) if number else ""}


def _act(counter_id: int, action: Callable[..., Any], *args: Any) -> dict[str, Any]:
    with get_db().write() as s:
        counter = calling.get_counter(s, counter_id)
        ticket = action(s, get_clock(), current_actor(), counter, *args)
        if ticket is None:
            raise NotFound("queue_empty", "当前没有等候的号码", "Nobody is waiting")
        served_at = calling.get_counter(s, ticket.counter_id) if ticket.counter_id else None
        return _call_dict(ticket, served_at)


@blp.route("/<int:counter_id>/call-next", methods=["POST"])
@require_roles(*STAFF)
@blp.response(200, CallSchema)
def call_next(counter_id: int) -> dict[str, Any]:
    """Call the next ticket in the priority order (404 queue_empty when nobody waits)."""
    return _act(counter_id, calling.call_next)


@blp.route("/<int:counter_id>/call", methods=["POST"])
@require_roles(*STAFF)
@blp.arguments(LabelSchema)
@blp.response(200, CallSchema)
def call_ticket(data: dict[str, Any], counter_id: int) -> dict[str, Any]:
    """Call a given number (also a skipped or parked one)."""
    return _act(counter_id, calling.call_ticket, data["ticket"])


@blp.route("/<int:counter_id>/recall", methods=["POST"])
@require_roles(*STAFF)
@blp.response(200, CallSchema)
def recall(counter_id: int) -> dict[str, Any]:
    return _act(counter_id, calling.recall)


@blp.route("/<int:counter_id>/skip", methods=["POST"])
@require_roles(*STAFF)
@blp.response(200, CallSchema)
def skip(counter_id: int) -> dict[str, Any]:
    """过号: to the end of the queue, not called again for a few minutes."""
    return _act(counter_id, calling.skip)


@blp.route("/<int:counter_id>/park", methods=["POST"])
@require_roles(*STAFF)
@blp.response(200, CallSchema)
def park(counter_id: int) -> dict[str, Any]:
    return _act(counter_id, calling.park)


@blp.route("/<int:counter_id>/finish", methods=["POST"])
@require_roles(*STAFF)
@blp.response(200, CallSchema)
def finish(counter_id: int) -> dict[str, Any]:
    """办结: the counter is done with its ticket (the visit was registered, refused or
    cancelled here; paying finishes it by itself)."""
    return _act(counter_id, calling.finish)


@blp.route("/<int:counter_id>/transfer", methods=["POST"])
@require_roles(*STAFF)
@blp.arguments(TransferSchema)
@blp.response(200, CallSchema)
def transfer(data: dict[str, Any], counter_id: int) -> dict[str, Any]:
    with get_db().write() as s:
        counter = calling.get_counter(s, counter_id)
        to_counter = calling.get_counter(s, data["to_counter_id"])
        ticket = calling.transfer(s, get_clock(), current_actor(), counter, to_counter)
        return _call_dict(ticket, to_counter)


@blp.route("/<int:counter_id>/current")
@require_roles(*STAFF)
@blp.response(200, CallSchema)
def current(counter_id: int) -> dict[str, Any]:
    with get_db().read() as s:
        counter = calling.get_counter(s, counter_id)
        ticket = calling.current(s, counter)
        if ticket is None:
            raise NotFound("counter_idle", "本窗口当前没有正在办理的号码", "No current ticket")
        return _call_dict(ticket, counter)
