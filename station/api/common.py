"""Helpers shared by the API views: who is acting, and the error schema."""

from __future__ import annotations

from typing import Any

import flask_smorest
from flask_login import current_user
from marshmallow import Schema, fields

from station.auth import current_device
from station.errors import Forbidden
from station.services.actors import Actor


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's blueprint, with each arguments schema made once: given a class, webargs
    makes a new instance (copying every field) on every request."""

    def arguments(self, schema: type[Schema] | Schema, *args: Any, **kwargs: Any) -> Any:
        return super().arguments(schema() if isinstance(schema, type) else schema,
                                 *args, **kwargs)


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
