"""Health of the server (public)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from marshmallow import Schema, fields

from station.context import get_clock, get_config, get_db
from station.services import backup

from .common import Blueprint

blp = Blueprint("meta", __name__, url_prefix="/api/v1", description="Server health")


class LastBackupSchema(Schema):
    at = fields.Str(metadata={"description": "when the last backup was attempted"})
    ok = fields.Bool(metadata={"description": "whether it was made and verified"})


class HealthSchema(Schema):
    status = fields.Str()
    database = fields.Str()
    time = fields.DateTime()
    last_backup = fields.Nested(LastBackupSchema, allow_none=True,
                                metadata={"description": "null until the first backup"})


@blp.route("/health")
@blp.response(200, HealthSchema)
def health() -> dict[str, Any]:
    """Is the server up and the database reachable?"""
    db = get_db()
    with db.read() as s:
        s.execute(sa.text("SELECT 1"))
    last = backup.last(get_config().backup_path)
    return {"status": "ok", "database": db.dialect, "time": get_clock().now(),
            "last_backup": None if last is None else {"at": last.get("at"), "ok": bool(last.get("ok"))}}
