"""The counter queue: who waits, in which order, why, and for how long."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from station.auth import require_roles
from station.context import get_clock, get_db
from station.services import queue

from .common import Blueprint

blp = Blueprint("queue", __name__, url_prefix="/api/v1/queue", description="Queues (排队)")


class QueuePlaceSchema(Schema):
    visit_id = fields.Int()
    ticket_id = fields.Int(allow_none=True)
    ticket = fields.Str(allow_none=True)
    hold_until = fields.Str(allow_none=True, metadata={"description": "skipped: not called before"})
    rank = fields.Int()
    plate = fields.Str()
    category = fields.Str()
    arrived_at = fields.Str()
    waited_min = fields.Int()
    people_ahead = fields.Int()
    estimated_wait_min = fields.Int()
    reason_code = fields.Str()
    reason_zh = fields.Str()
    reason_en = fields.Str()


@blp.route("/counter")
@require_roles()
@blp.response(200, QueuePlaceSchema(many=True))
def counter_queue() -> list[dict[str, Any]]:
    """Everyone waiting for a counter, in call order, each with the reason for its place."""
    with get_db().read() as s:
        return [p.as_dict() for p in queue.counter_queue(s, get_clock())]
