"""Key handover and the runner queue (交钥匙)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import request as flask_request
from flask import send_from_directory
from flask_login import current_user
from marshmallow import Schema, fields, validate

from station.auth import require_roles
from station.context import get_clock, get_config, get_db
from station.errors import ValidationError
from station.models import Role
from station.services import keys, visits

from .common import Blueprint, current_actor

blp = Blueprint("keys", __name__, url_prefix="/api/v1/keys",
                description="Key handover and the runner queue (交钥匙)")

DESK = (Role.COUNTER, Role.RUNNER, Role.MANAGER)
RUNNER = (Role.RUNNER,)


def photo_folder() -> Path:
    """Handover photos live under the instance folder."""
    return Path(get_config().instance_path) / "key_photos"


class KeySchema(Schema):
    key_id = fields.Int()
    visit_id = fields.Int()
    tag = fields.Str()
    plate = fields.Str()
    ticket = fields.Str(allow_none=True)
    visit_state = fields.Str()
    visit_state_label = fields.Str()
    holder_kind = fields.Str(metadata={"description": "owner | desk | runner | lane | cabinet"})
    holder_label = fields.Str()
    holder_user_id = fields.Int(allow_none=True)
    holder_lane_id = fields.Int(allow_none=True)
    holder_since = fields.Str()
    minutes_with_holder = fields.Int()
    overdue = fields.Bool()
    parking_spot = fields.Str(allow_none=True)
    pickup_spot = fields.Str(allow_none=True)
    lane_id = fields.Int(allow_none=True)
    lane_name = fields.Str(allow_none=True)
    version = fields.Int()
    photos = fields.List(fields.Int())


class HandoverSchema(Schema):
    ticket = fields.Str(validate=validate.Length(min=2, max=8),
                        metadata={"description": "today's ticket number, e.g. B012"})
    visit_id = fields.Int()
    tag = fields.Str(required=True, metadata={"description": "key tag = cabinet slot, e.g. A07"})
    parking_spot = fields.Str(allow_none=True, validate=validate.Length(max=20))


class DeliverSchema(Schema):
    lane_id = fields.Int(allow_none=True,
                         metadata={"description": "needed only when no lane is assigned"})


class ParkSchema(Schema):
    pickup_spot = fields.Str(allow_none=True, metadata={"description": "required: where it is parked"})


class ReleaseSchema(Schema):
    reason = fields.Str(allow_none=True, validate=validate.Length(max=200))


class ReturnSchema(Schema):
    token = fields.Str(metadata={"description": "the ticket's QR (progress) token"})
    ticket = fields.Str(metadata={"description": "or today's ticket number"})
    key_id = fields.Int(metadata={"description": "with a manager override only"})
    phone_tail = fields.Str(metadata={"description": "last 4 digits of the booking's phone"})
    override_reason = fields.Str(metadata={"description": "manager override: why (audited)"})


class MovementSchema(Schema):
    seq = fields.Int()
    stage = fields.Str()
    stage_label = fields.Str()
    from_kind = fields.Str()
    from_label = fields.Str()
    to_kind = fields.Str()
    to_label = fields.Str()
    place = fields.Str()
    at = fields.Str()
    at_local = fields.Str()
    actor = fields.Str()
    reason = fields.Str(allow_none=True)


class PhotoSchema(Schema):
    id = fields.Int()
    key_id = fields.Int()
    original_name = fields.Str()
    content_type = fields.Str()
    size_bytes = fields.Int()
    url = fields.Str()


def _key(s: Any, key: Any) -> dict[str, Any]:
    return keys.key_dict(s, get_clock(), key)


def _step(action: Any, key_id: int, *args: Any) -> dict[str, Any]:
    with get_db().write() as s:
        key = action(s, get_clock(), current_actor(), key_id, *args)
        return _key(s, key)


@blp.route("/handover", methods=["POST"])
@require_roles(*DESK)
@blp.arguments(HandoverSchema)
@blp.response(201, KeySchema)
def handover(data: dict[str, Any]) -> dict[str, Any]:
    """The owner hands over the car and its key at the desk (owner → desk); the visit moves to
    keys handed over. 409 key_tag_in_use when the tag hangs elsewhere."""
    clock = get_clock()
    with get_db().write() as s:
        if data.get("visit_id"):
            visit = visits.get(s, data["visit_id"])
        elif data.get("ticket"):
            visit = keys.visit_by_ticket(s, clock, data["ticket"])
        else:
            raise ValidationError("visit_required", "请输入排队号", "Enter the ticket number")
        key = keys.hand_over(s, clock, current_actor(), visit, tag=data["tag"],
                             parking_spot=data.get("parking_spot"))
        return _key(s, key)


@blp.route("/lookup")
@require_roles(*DESK)
@blp.response(200, KeySchema)
def lookup() -> dict[str, Any]:
    """The key of today's ticket (``?ticket=B012``) or of a QR token (``?token=…``)."""
    with get_db().read() as s:
        key = keys.find_for_return(s, get_clock(), token=flask_request.args.get("token"),
                                   ticket=flask_request.args.get("ticket"))
        return _key(s, key)


@blp.route("/<int:key_id>/photos", methods=["POST"])
@require_roles(*DESK)
@blp.response(201, PhotoSchema(many=True))
@blp.doc(requestBody={"content": {"multipart/form-data": {"schema": {
    "type": "object", "properties": {"photo": {"type": "array", "items": {
        "type": "string", "format": "binary"}}}}}}})
def add_photos(key_id: int) -> list[dict[str, Any]]:
    """Photos of the car at the handover (JPEG/PNG/WebP, field ``photo``, one or more)."""
    files = flask_request.files.getlist("photo")
    if not files:
        raise ValidationError("photo_required", "请选择照片", "Choose a photo")
    written: list[Path] = []
    try:
        with get_db().write() as s:
            key = keys.get_key(s, key_id)
            out = []
            for upload in files:
                photo = keys.add_photo(s, get_clock(), current_actor(), key, data=upload.read(),
                                       filename=upload.filename or "photo",
                                       content_type=upload.mimetype or "", folder=photo_folder(),
                                       written=written)
                out.append(_photo(photo))
            return out
    except BaseException:
        for path in written:  # nothing was recorded: leave no file behind
            path.unlink(missing_ok=True)
        raise


def _photo(photo: Any) -> dict[str, Any]:
    return {"id": photo.id, "key_id": photo.key_id, "original_name": photo.original_name,
            "content_type": photo.content_type, "size_bytes": photo.size_bytes,
            "url": f"/api/v1/keys/photos/{photo.id}"}


@blp.route("/photos/<int:photo_id>")
@require_roles()
def photo_file(photo_id: int) -> Any:
    """The stored photo (staff only: it shows the plate)."""
    with get_db().read() as s:
        photo = keys.get_photo(s, photo_id)
    return send_from_directory(photo_folder(), photo.stored_name, mimetype=photo.content_type)


@blp.route("/held")
@require_roles()
@blp.response(200, KeySchema(many=True))
def held() -> list[dict[str, Any]]:
    """Every key at the station now, with its holder and whether it is overdue."""
    with get_db().read() as s:
        return keys.held(s, get_clock())


@blp.route("/slots")
@require_roles()
def slot_list() -> list[dict[str, Any]]:
    """The key cabinet's slots and the key on each."""
    with get_db().read() as s:
        return keys.slots(s)


@blp.route("/runner")
@require_roles(*RUNNER, Role.MANAGER)
def runner_board() -> dict[str, Any]:
    """The runner's phone: ``mine`` (the key in hand), ``queue`` (cars ready to move, in order),
    ``to_collect`` (tested cars at a lane), ``lanes``, ``overdue``."""
    with get_db().read() as s:
        return keys.runner_board(s, get_clock(), current_user.id)


@blp.route("/<int:key_id>/claim", methods=["POST"])
@require_roles(*RUNNER)
@blp.response(200, KeySchema)
def claim(key_id: int) -> dict[str, Any]:
    """Take a car's key from the desk (desk → runner). Two runners at once: one wins, the
    other gets 409 key_claimed."""
    return _step(keys.claim, key_id)


@blp.route("/<int:key_id>/release", methods=["POST"])
@require_roles(*RUNNER)
@blp.arguments(ReleaseSchema)
@blp.response(200, KeySchema)
def release(data: dict[str, Any], key_id: int) -> dict[str, Any]:
    """Hang a claimed key back at the desk before driving off (runner → desk)."""
    return _step(keys.release, key_id, data.get("reason"))


@blp.route("/<int:key_id>/deliver", methods=["POST"])
@require_roles(*RUNNER)
@blp.arguments(DeliverSchema)
@blp.response(200, KeySchema)
def deliver(data: dict[str, Any], key_id: int) -> dict[str, Any]:
    """Hand the car over at its lane (runner → lane)."""
    return _step(keys.deliver, key_id, data.get("lane_id"))


@blp.route("/<int:key_id>/collect", methods=["POST"])
@require_roles(*RUNNER)
@blp.response(200, KeySchema)
def collect(key_id: int) -> dict[str, Any]:
    """Take the tested car back from the lane (lane → runner)."""
    return _step(keys.collect, key_id)


@blp.route("/<int:key_id>/park", methods=["POST"])
@require_roles(*RUNNER)
@blp.arguments(ParkSchema)
@blp.response(200, KeySchema)
def park(data: dict[str, Any], key_id: int) -> dict[str, Any]:
    """Park in the pick-up area and hang the key in its cabinet slot (runner → cabinet)."""
    return _step(keys.park, key_id, data.get("pickup_spot"))


@blp.route("/return", methods=["POST"])
@require_roles(*DESK)
@blp.arguments(ReturnSchema)
@blp.response(200, KeySchema)
def return_key(data: dict[str, Any]) -> dict[str, Any]:
    """Give the key back to the verified owner (cabinet → owner): ``token`` or ``ticket`` plus
    ``phone_tail``; or a manager's ``override_reason`` (with ``key_id`` or ``ticket``)."""
    clock = get_clock()
    with get_db().write() as s:
        key = keys.find_for_return(s, clock, token=data.get("token"), ticket=data.get("ticket"),
                                   key_id=data.get("key_id") if data.get("override_reason") else None)
        key = keys.return_to_owner(s, clock, current_actor(), key.id, token=data.get("token"),
                                   ticket=data.get("ticket"), phone_tail=data.get("phone_tail"),
                                   override_reason=data.get("override_reason"))
        return _key(s, key)


@blp.route("/visits/<int:visit_id>/custody")
@require_roles(Role.MANAGER)
@blp.response(200, MovementSchema(many=True))
def custody(visit_id: int) -> list[dict[str, Any]]:
    """The chain of custody of a visit's key, oldest first (managers)."""
    clock = get_clock()
    with get_db().read() as s:
        visits.get(s, visit_id)
        return [keys.movement_dict(clock, m) for m in keys.custody(s, visit_id)]
