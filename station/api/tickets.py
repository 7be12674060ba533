"""Tickets: print status for the kiosk, reprints at the counter, the owner's progress."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from station.auth import current_device, public_limit, rate_limit, require_device, require_roles
from station.context import get_clock, get_db
from station.errors import Forbidden
from station.models import TICKET_CATEGORY_LABELS, ClientKind, Role
from station.services import overview, tickets

from .common import Blueprint, current_actor

blp = Blueprint("tickets", __name__, url_prefix="/api/v1", description="Tickets (取号)")


class TicketSchema(Schema):
    id = fields.Int()
    label = fields.Str()
    category = fields.Str()
    category_label = fields.Str()
    visit_id = fields.Int()
    issued_at = fields.Str()
    kiosk_id = fields.Int(allow_none=True)
    print_state = fields.Str()
    print_error = fields.Str(allow_none=True)
    print_attempts = fields.Int()


class StepSchema(Schema):
    label = fields.Str()
    label_en = fields.Str()
    status = fields.Str(metadata={"description": "done | current | todo"})


class ProgressSchema(Schema):
    ticket = fields.Str()
    plate = fields.Str(metadata={"description": "masked"})
    state = fields.Str()
    state_label = fields.Str()
    steps = fields.List(fields.Nested(StepSchema))
    issued_at = fields.Str()
    people_ahead = fields.Int(allow_none=True)
    estimated_wait_min = fields.Int(allow_none=True)
    station_name = fields.Str()
    hotline = fields.Str()


def ticket_dict(t: Any) -> dict[str, Any]:
    return {"id": t.id, "label": t.label, "category": t.category.value,
            "category_label": TICKET_CATEGORY_LABELS[t.category][0], "visit_id": t.visit_id,
            "issued_at": t.issued_at.isoformat(), "kiosk_id": t.kiosk_id,
            "print_state": t.print_state.value, "print_error": t.print_error,
            "print_attempts": t.print_attempts}


@blp.route("/tickets/<int:ticket_id>")
@require_device(ClientKind.KIOSK)
@blp.response(200, TicketSchema)
def get_ticket(ticket_id: int) -> dict[str, Any]:
    """A ticket and its print state (a kiosk sees only its own tickets)."""
    device = current_device()
    with get_db().read() as s:
        ticket = tickets.get(s, ticket_id)
        if device is not None and ticket.kiosk_id != device.id:
            raise Forbidden("not_your_ticket", "不是本机发出的号码", "Not issued by this kiosk")
        return ticket_dict(ticket)


@blp.route("/tickets")
@require_roles()
@blp.response(200, TicketSchema(many=True))
def list_tickets() -> list[dict[str, Any]]:
    """Today's tickets."""
    with get_db().read() as s:
        return [ticket_dict(t) for t in tickets.for_day(s, get_clock())]


@blp.route("/tickets/<int:ticket_id>/reprint", methods=["POST"])
@require_roles(Role.COUNTER, Role.MANAGER)
@blp.response(200, TicketSchema)
def reprint(ticket_id: int) -> dict[str, Any]:
    with get_db().write() as s:
        ticket = tickets.reprint(s, get_clock(), current_actor(), tickets.get(s, ticket_id))
        return ticket_dict(ticket)


@blp.route("/progress/<token>")
@rate_limit(public_limit)
@blp.response(200, ProgressSchema)
def progress(token: str) -> dict[str, Any]:
    """The owner's progress (public, masked; the token is the ticket's QR code)."""
    with get_db().read() as s:
        return overview.progress(s, get_clock(), tickets.by_token(s, token))
