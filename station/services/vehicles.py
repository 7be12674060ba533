"""Vehicles: validated identity, found or registered."""

from __future__ import annotations

import functools
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from station.clock import Clock
from station.db import insert_row
from station.domain import plates
from station.domain import vin as vins
from station.domain.vehicle_codes import USE_NATURES, VEHICLE_TYPES, Fuel
from station.errors import NotFound, ValidationError
from station.models import Vehicle

#: fields a caller may set on a vehicle besides its identity
DESCRIPTIVE_FIELDS = ("vehicle_type", "use_nature", "fuel", "seats", "axle_load_kg", "make_model",
                      "colour", "engine_no", "first_registered_on", "manufactured_on",
                      "inspection_valid_until")


def _check_codes(fields: dict[str, Any]) -> dict[str, Any]:
    if fields.get("vehicle_type") and fields["vehicle_type"] not in VEHICLE_TYPES:
        raise ValidationError("vehicle_type_unknown", "车辆类型代码无效", "Unknown vehicle type code",
                              vehicle_type=fields["vehicle_type"])
    if fields.get("use_nature") and fields["use_nature"] not in USE_NATURES:
        raise ValidationError("use_nature_unknown", "使用性质代码无效", "Unknown use-nature code",
                              use_nature=fields["use_nature"])
    if fields.get("fuel") is not None:
        try:
            fields["fuel"] = Fuel(fields["fuel"])
        except ValueError:
            raise ValidationError("fuel_unknown", "燃料种类无效", "Unknown fuel type",
                                  fuel=fields["fuel"]) from None
    for key in ("seats", "axle_load_kg"):
        if fields.get(key) is not None and int(fields[key]) <= 0:
            raise ValidationError(f"{key}_invalid", "数值必须大于0", "Must be greater than 0", field=key)
    first, made = fields.get("first_registered_on"), fields.get("manufactured_on")
    if isinstance(first, date) and isinstance(made, date) and first < made:
        raise ValidationError("registration_before_manufacture", "初次登记日期早于出厂日期",
                              "First registration is before the manufacture date")
    return fields


@functools.cache
def _by_plate() -> sa.Select[tuple[Vehicle]]:
    """Built once: every arrival looks its vehicle up."""
    return sa.select(Vehicle).where(Vehicle.plate_type == sa.bindparam("plate_type"),
                                    Vehicle.plate == sa.bindparam("plate"))


def find(session: Session, plate_type: str, plate: str) -> Vehicle | None:
    plate = plates.normalise_plate(plate)
    return session.scalar(_by_plate(), {"plate_type": plate_type, "plate": plate})


def get(session: Session, vehicle_id: int) -> Vehicle:
    vehicle = session.get(Vehicle, vehicle_id)
    if vehicle is None:
        raise NotFound("vehicle_not_found", "未找到该车辆", "Vehicle not found", id=vehicle_id)
    return vehicle


def register(session: Session, clock: Clock, *, plate_type: str, plate: str,
             vin: str | None = None, vin_tail: str | None = None, **fields: Any) -> Vehicle:
    """Find the vehicle by plate or register it; identity is validated before anything is stored.

    A VIN with a wrong check digit is refused here (``vin_check_digit``); the counter screen lets
    staff confirm such a VIN explicitly by passing ``vin_check_digit_confirmed=True``.
    """
    confirmed = bool(fields.pop("vin_check_digit_confirmed", False))
    unknown = set(fields) - set(DESCRIPTIVE_FIELDS)
    if unknown:
        raise ValidationError("vehicle_field_unknown", "包含未知字段", "Unknown fields",
                              fields=sorted(unknown))
    plate = plates.validate_plate(plate_type, plate)
    if vin:
        vin = vins.validate_vin(vin, check_digit=not confirmed)
        vin_tail = vin[-6:]
    elif vin_tail:
        vin_tail = vins.validate_vin_tail(vin_tail)
    fields = _check_codes({k: v for k, v in fields.items() if v is not None})
    now = clock.now()
    vehicle = find(session, plate_type, plate)
    if vehicle is None:
        return insert_row(session, Vehicle(plate_type=plate_type, plate=plate, vin=vin,
                                           vin_tail=vin_tail, created_at=now, updated_at=now,
                                           **fields))
    if vin and vehicle.vin and vehicle.vin != vin:
        raise ValidationError("vin_mismatch", "车辆识别代号与已登记的不一致",
                              "The VIN differs from the one on record", plate=plate)
    if vin:
        vehicle.vin = vin
    if vin_tail:
        vehicle.vin_tail = vin_tail
    for key, value in fields.items():
        setattr(vehicle, key, value)
    vehicle.updated_at = now
    session.flush()
    return vehicle
