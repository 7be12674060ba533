"""The signed-in staff member, staff accounts, client devices and the audit log."""

from __future__ import annotations

from typing import Any

from flask_login import current_user
from marshmallow import Schema, fields, validate

from station.auth import current_device, require_roles
from station.context import get_clock, get_db
from station.errors import Unauthorized
from station.models import ClientKind, Role
from station.services import audit, users

from .common import Blueprint, current_actor

blp = Blueprint("staff", __name__, url_prefix="/api/v1", description="Staff, devices and audit")


class MeSchema(Schema):
    id = fields.Int()
    username = fields.Str()
    display_name = fields.Str()
    roles = fields.List(fields.Str())


class UserInSchema(Schema):
    username = fields.Str(required=True, validate=validate.Length(min=2, max=64))
    password = fields.Str(required=True, load_only=True, validate=validate.Length(min=8, max=128))
    display_name = fields.Str(required=True, validate=validate.Length(min=1, max=64))
    roles = fields.List(fields.Str(validate=validate.OneOf([r.value for r in Role])), required=True)


class ClientDeviceInSchema(Schema):
    kind = fields.Str(required=True, validate=validate.OneOf([k.value for k in ClientKind]))
    name = fields.Str(required=True, validate=validate.Length(min=1, max=64))


class ClientDeviceOutSchema(Schema):
    id = fields.Int()
    kind = fields.Str()
    name = fields.Str()
    token = fields.Str(metadata={"description": "shown once; only its hash is stored"})


class AuditSchema(Schema):
    id = fields.Int()
    at = fields.DateTime()
    actor_kind = fields.Str()
    actor_name = fields.Str()
    action = fields.Str()
    entity_type = fields.Str(allow_none=True)
    entity_id = fields.Str(allow_none=True)
    details = fields.Dict()


class AuditQuerySchema(Schema):
    action = fields.Str(load_default=None)
    limit = fields.Int(load_default=100, validate=validate.Range(min=1, max=1000))


@blp.route("/me")
@require_roles()
@blp.response(200, MeSchema)
def me() -> dict[str, Any]:
    return {"id": current_user.id, "username": current_user.username,
            "display_name": current_user.display_name,
            "roles": sorted(r.value for r in current_user.roles)}


@blp.route("/users", methods=["POST"])
@require_roles(Role.ADMIN)
@blp.arguments(UserInSchema)
@blp.response(201, MeSchema)
def create_user(data: dict[str, Any]) -> dict[str, Any]:
    with get_db().write() as s:
        user = users.create_user(s, get_clock(), current_actor(), **data)
        return {"id": user.id, "username": user.username, "display_name": user.display_name,
                "roles": sorted(r.value for r in user.roles)}


@blp.route("/client-devices", methods=["POST"])
@require_roles(Role.ADMIN, Role.MANAGER)
@blp.arguments(ClientDeviceInSchema)
@blp.response(201, ClientDeviceOutSchema)
def register_client_device(data: dict[str, Any]) -> dict[str, Any]:
    """Register a kiosk or lobby display; the answer holds its token, once."""
    with get_db().write() as s:
        device, token = users.register_client_device(s, get_clock(), current_actor(), **data)
        return {"id": device.id, "kind": device.kind.value, "name": device.name, "token": token}


class DeviceMeSchema(Schema):
    id = fields.Int()
    kind = fields.Str()
    name = fields.Str()


@blp.route("/devices/me")
@blp.response(200, DeviceMeSchema)
def device_me() -> dict[str, Any]:
    """The registered device a token belongs to (kiosks and displays check theirs at start)."""
    device = current_device()
    if device is None:
        raise Unauthorized("device_token_required", "设备未授权", "A registered device token is required")
    return {"id": device.id, "kind": device.kind.value, "name": device.name}


@blp.route("/audit")
@require_roles(Role.MANAGER)
@blp.arguments(AuditQuerySchema, location="query")
@blp.response(200, AuditSchema(many=True))
def audit_log(args: dict[str, Any]) -> list[Any]:
    with get_db().read() as s:
        return audit.recent(s, limit=args["limit"], action=args["action"])
