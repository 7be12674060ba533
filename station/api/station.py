"""The station: public facts (name, hotline, price list), lanes and stations, counters, settings."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from station.auth import require_roles
from station.context import get_clock, get_db
from station.models import OpenState, Role
from station.services import calendar, overview
from station.services import lanes as lane_service
from station.services import settings as settings_service

from .common import Blueprint, current_actor

blp = Blueprint("station", __name__, url_prefix="/api/v1", description="The station")

STATE_CHOICES = [s.value for s in OpenState]


class StationStateSchema(Schema):
    id = fields.Int()
    position = fields.Int()
    kind = fields.Str()
    kind_label = fields.Str()
    name = fields.Str()
    state = fields.Str()
    state_reason = fields.Str(allow_none=True)


class LaneSchema(Schema):
    id = fields.Int()
    number = fields.Int()
    name = fields.Str()
    vehicle_classes = fields.List(fields.Str())
    max_axle_load_kg = fields.Int()
    state = fields.Str()
    state_reason = fields.Str(allow_none=True)
    stations = fields.List(fields.Nested(StationStateSchema))


class CounterSchema(Schema):
    id = fields.Int()
    number = fields.Int()
    name = fields.Str()
    state = fields.Str()


class PriceItemSchema(Schema):
    code = fields.Str()
    name = fields.Str()
    name_zh = fields.Str()
    name_en = fields.Str()
    amount_fen = fields.Int()
    amount_yuan = fields.Str()


class PublicStationSchema(Schema):
    name = fields.Str()
    hotline = fields.Str()
    address = fields.Str()
    timezone = fields.Str(metadata={"description": "the station's IANA time zone (screens' clocks)"})
    price_list_version = fields.Int(allow_none=True)
    prices = fields.List(fields.Nested(PriceItemSchema))


class StateChangeSchema(Schema):
    state = fields.Str(required=True, validate=validate.OneOf(STATE_CHOICES))
    reason = fields.Str(load_default=None, validate=validate.Length(max=200))


class SettingValueSchema(Schema):
    value = fields.Raw(required=True)


class SettingSchema(Schema):
    key = fields.Str()
    value = fields.Raw()
    default = fields.Raw()
    label_zh = fields.Str()
    label_en = fields.Str()
    minimum = fields.Float(allow_none=True)
    maximum = fields.Float(allow_none=True)


@blp.route("/station")
@blp.response(200, PublicStationSchema)
def station_info() -> dict[str, Any]:
    """Public facts shown on the kiosk and the lobby display (明码标价, 投诉电话)."""
    with get_db().read() as s:
        return overview.public_station(s, get_clock())


class OpenNowSchema(Schema):
    open = fields.Bool()
    opens_at = fields.Str(allow_none=True)
    closes_at = fields.Str(allow_none=True)
    message_zh = fields.Str()
    message_en = fields.Str()


@blp.route("/station/open")
@blp.response(200, OpenNowSchema)
def open_now() -> dict[str, Any]:
    """Is the station serving now (the kiosk shows the closed-hours message otherwise)?"""
    with get_db().read() as s:
        return calendar.open_now(s, get_clock())


@blp.route("/lanes")
@require_roles()
@blp.response(200, LaneSchema(many=True))
def list_lanes() -> list[dict[str, Any]]:
    with get_db().read() as s:
        return [overview.lane_dict(lane) for lane in lane_service.all_lanes(s)]


@blp.route("/counters")
@require_roles()
@blp.response(200, CounterSchema(many=True))
def list_counters() -> list[Any]:
    with get_db().read() as s:
        return lane_service.all_counters(s)


@blp.route("/lanes/<int:lane_id>/state", methods=["POST"])
@require_roles(Role.MANAGER, Role.TECHNICIAN)
@blp.arguments(StateChangeSchema)
@blp.response(200, LaneSchema)
def change_lane_state(data: dict[str, Any], lane_id: int) -> dict[str, Any]:
    """Open, close or block a lane (a reason is required to close or block)."""
    with get_db().write() as s:
        lane = lane_service.get_lane(s, lane_id)
        lane_service.set_lane_state(s, get_clock(), current_actor(), lane, data["state"],
                                    data["reason"])
        return overview.lane_dict(lane)


@blp.route("/stations/<int:station_id>/state", methods=["POST"])
@require_roles(Role.MANAGER, Role.TECHNICIAN, Role.INSPECTOR)
@blp.arguments(StateChangeSchema)
@blp.response(200, StationStateSchema)
def change_station_state(data: dict[str, Any], station_id: int) -> dict[str, Any]:
    with get_db().write() as s:
        station = lane_service.get_station(s, station_id)
        lane_service.set_station_state(s, get_clock(), current_actor(), station, data["state"],
                                       data["reason"])
        return overview.station_dict(station)


@blp.route("/settings")
@require_roles(Role.MANAGER)
@blp.response(200, SettingSchema(many=True))
def list_settings() -> list[dict[str, Any]]:
    """Every station setting with its current value and default."""
    with get_db().read() as s:
        values = settings_service.all_values(s)
    return [{"key": key, "value": values[key], "default": d.default, "label_zh": d.label_zh,
             "label_en": d.label_en, "minimum": d.minimum, "maximum": d.maximum}
            for key, d in settings_service.SETTINGS.items()]


@blp.route("/settings/<key>", methods=["PUT"])
@require_roles(Role.MANAGER)
@blp.arguments(SettingValueSchema)
@blp.response(200, SettingValueSchema)
def put_setting(data: dict[str, Any], key: str) -> dict[str, Any]:
    with get_db().write() as s:
        value = settings_service.put(s, get_clock(), current_actor(), key, data["value"])
    return {"value": value}
