"""Health of the server (public)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from marshmallow import Schema, fields

from station.context import get_clock, get_db

from .common import Blueprint

blp = Blueprint("meta", __name__, url_prefix="/api/v1", description="Server health")


class HealthSchema(Schema):
    status = fields.Str()
    database = fields.Str()
    time = fields.DateTime()


@blp.route("/health")
@blp.response(200, HealthSchema)
def health() -> dict[str, Any]:
    """Is the server up and the database reachable?"""
    db = get_db()
    with db.read() as s:
        s.execute(sa.text("SELECT 1"))
    return {"status": "ok", "database": db.dialect, "time": get_clock().now()}
