"""Vehicles: register from the driving licence fields, look up by plate."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from station.auth import require_roles
from station.context import get_clock, get_db
from station.domain.vehicle_codes import Fuel
from station.errors import NotFound
from station.models import Role
from station.services import vehicles as vehicle_service

from .common import Blueprint

blp = Blueprint("vehicles", __name__, url_prefix="/api/v1/vehicles", description="Vehicles (机动车)")


class VehicleInSchema(Schema):
    plate_type = fields.Str(required=True, validate=validate.Length(equal=2),
                            metadata={"description": "号牌种类 code, e.g. 02 small car, 52 small new-energy"})
    plate = fields.Str(required=True, validate=validate.Length(min=5, max=12))
    vin = fields.Str(load_default=None, validate=validate.Length(min=17, max=20))
    vin_tail = fields.Str(load_default=None, validate=validate.Length(equal=6))
    vin_check_digit_confirmed = fields.Bool(load_default=False)
    vehicle_type = fields.Str(load_default=None)
    use_nature = fields.Str(load_default=None)
    fuel = fields.Str(load_default=None, validate=validate.OneOf([f.value for f in Fuel]))
    seats = fields.Int(load_default=None, validate=validate.Range(min=1, max=200))
    axle_load_kg = fields.Int(load_default=None, validate=validate.Range(min=1, max=100000))
    make_model = fields.Str(load_default=None, validate=validate.Length(max=64))
    colour = fields.Str(load_default=None, validate=validate.Length(max=16))
    engine_no = fields.Str(load_default=None, validate=validate.Length(max=32))
    first_registered_on = fields.Date(load_default=None)
    manufactured_on = fields.Date(load_default=None)
    inspection_valid_until = fields.Date(load_default=None)


class VehicleSchema(Schema):
    id = fields.Int()
    plate_type = fields.Str()
    plate = fields.Str()
    vin = fields.Str(allow_none=True)
    vin_tail = fields.Str(allow_none=True)
    vehicle_type = fields.Str(allow_none=True)
    use_nature = fields.Str(allow_none=True)
    fuel = fields.Str(allow_none=True)
    seats = fields.Int(allow_none=True)
    axle_load_kg = fields.Int(allow_none=True)
    make_model = fields.Str(allow_none=True)
    colour = fields.Str(allow_none=True)
    engine_no = fields.Str(allow_none=True)
    first_registered_on = fields.Date(allow_none=True)
    manufactured_on = fields.Date(allow_none=True)
    inspection_valid_until = fields.Date(allow_none=True)


class LookupSchema(Schema):
    plate_type = fields.Str(required=True)
    plate = fields.Str(required=True)


@blp.route("", methods=["POST"])
@require_roles(Role.COUNTER, Role.MANAGER)
@blp.arguments(VehicleInSchema)
@blp.response(201, VehicleSchema)
def register_vehicle(data: dict[str, Any]) -> Any:
    """Register a vehicle or update its record; plate and VIN are validated first."""
    with get_db().write() as s:
        return vehicle_service.register(s, get_clock(), **data)


@blp.route("", methods=["GET"])
@require_roles()
@blp.arguments(LookupSchema, location="query")
@blp.response(200, VehicleSchema)
def lookup_vehicle(args: dict[str, Any]) -> Any:
    with get_db().read() as s:
        vehicle = vehicle_service.find(s, args["plate_type"], args["plate"])
        if vehicle is None:
            raise NotFound("vehicle_not_found", "未找到该车辆", "Vehicle not found")
        return vehicle
