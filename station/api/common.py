"""Helpers shared by the API views: who is acting, and the error schema."""

from __future__ import annotations

from flask_login import current_user
from marshmallow import Schema, fields

from station.auth import current_device
from station.errors import Forbidden
from station.services.actors import Actor


def current_actor() -> Actor:
    if current_user.is_authenticated:
        return Actor.user(current_user)
    device = current_device()
    if device is not None:
        return Actor.device(device)
    raise Forbidden("actor_unknown", "未识别的操作者", "Unknown actor")


class ErrorSchema(Schema):
    code = fields.Str(required=True)
    status = fields.Int()
    message = fields.Str(required=True)
    message_zh = fields.Str()
    message_en = fields.Str()
    details = fields.Dict()
    errors = fields.Dict()
