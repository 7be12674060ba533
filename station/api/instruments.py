"""Metering instruments, verifications, daily checks (量值溯源).

Read-only JSON for other screens and systems: the register with the blocking rule's verdict
per instrument. Records are written on the technician screens (``station.web.technician``).
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from station.auth import require_roles
from station.context import get_clock, get_db
from station.models import Role
from station.services import instruments

from .common import Blueprint

blp = Blueprint("instruments", __name__, url_prefix="/api/v1/instruments",
                description="Metering instruments, verifications, daily checks (量值溯源)")


class InstrumentSchema(Schema):
    id = fields.Int()
    kind = fields.Str()
    kind_label = fields.Str()
    name = fields.Str()
    make = fields.Str()
    model = fields.Str()
    serial_no = fields.Str()
    station_id = fields.Int()
    station = fields.Str()
    hardware_device_id = fields.Int(allow_none=True)
    certificate_no = fields.Str(allow_none=True)
    verifying_body = fields.Str(allow_none=True)
    verified_on = fields.Str(allow_none=True)
    valid_until = fields.Str(allow_none=True)
    conclusion = fields.Str(allow_none=True)
    days_left = fields.Int(allow_none=True)
    daily_check = fields.Str(allow_none=True)
    usable = fields.Bool(metadata={"description": "the blocking rule: may it be used now"})
    reason = fields.Str(allow_none=True, metadata={"description": "why not, in Chinese"})


@blp.route("")
@blp.response(200, InstrumentSchema(many=True))
@require_roles(Role.TECHNICIAN, Role.MANAGER, Role.INSPECTOR)
def list_instruments() -> Any:
    """The register (计量器具台账) with each instrument's usability now."""
    with get_db().read() as s:
        return instruments.overview(s, get_clock())


@blp.route("/<int:instrument_id>")
@blp.response(200, InstrumentSchema)
@require_roles(Role.TECHNICIAN, Role.MANAGER, Role.INSPECTOR)
def get_instrument(instrument_id: int) -> Any:
    with get_db().read() as s:
        instruments.get(s, instrument_id)
        return next(r for r in instruments.overview(s, get_clock()) if r["id"] == instrument_id)
