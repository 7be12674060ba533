"""The single window (一窗通办): registration, insurance, payment, pick-up.

Network calls (the police platform's query, the payment provider) are made by the adapters
the app holds: ``app.extensions["window.police_query"]`` (a ``VehicleQuery``) and
``app.extensions["window.payment_gateway"]`` (a ``PaymentGateway``). Without them, a station
with ``config.extra["police_platform_url"]``/``["police_platform_token"]`` uses the HTTP
adapter, and a demo station (simulated devices) starts the simulators in-process.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import current_app
from marshmallow import Schema, fields, validate

from station.auth import require_roles
from station.context import get_clock, get_config, get_db
from station.errors import Conflict
from station.integrations.payments import PaymentGateway
from station.integrations.police_platform import (
    HttpPolicePlatform,
    QueryUnavailable,
    VehicleQuery,
    VehicleRecord,
    assess,
)
from station.models import Role
from station.models.window import PaymentMethod
from station.services import calling, payments, pickup, registration, visits

from .common import Blueprint, current_actor

blp = Blueprint("window", __name__, url_prefix="/api/v1/window",
                description="The single window (一窗通办): registration, insurance, payment, pick-up")
STAFF = (Role.COUNTER, Role.MANAGER)
_adapters_lock = threading.Lock()


def police_query() -> VehicleQuery:
    app = current_app
    with _adapters_lock:
        query = app.extensions.get("window.police_query")
        if query is None:
            config = get_config()
            if config.police_platform_url:
                query = HttpPolicePlatform(config.police_platform_url,
                                           config.police_platform_token)
            elif config.simulate_devices:
                from simulators.police_platform import PolicePlatformSimulator

                sim = PolicePlatformSimulator().start()
                app.extensions["window.police_simulator"] = sim
                query = HttpPolicePlatform(sim.url, sim.token)
            else:
                raise QueryUnavailable("未配置联网查询平台")
            app.extensions["window.police_query"] = query
    return query


def payment_gateway() -> PaymentGateway | None:
    app = current_app
    with _adapters_lock:
        gateway = app.extensions.get("window.payment_gateway")
        if gateway is None and get_config().simulate_devices:
            from simulators.payment_gateway import PaymentGatewaySimulator

            gateway = app.extensions["window.payment_gateway"] = PaymentGatewaySimulator()
    return gateway


class QuerySchema(Schema):
    plate_type = fields.Str(required=True, validate=validate.Length(equal=2))
    plate = fields.Str(required=True, validate=validate.Length(min=5, max=12))


class RegisterSchema(QuerySchema):
    vin = fields.Str(required=True, validate=validate.Length(min=17, max=17))
    vehicle_type = fields.Str(load_default=None)
    use_nature = fields.Str(load_default=None)
    fuel = fields.Str(load_default=None)
    seats = fields.Int(load_default=None, validate=validate.Range(min=1, max=99))
    make_model = fields.Str(load_default=None, validate=validate.Length(max=64))
    first_registered_on = fields.Date(load_default=None)
    confirm_vin = fields.Bool(load_default=False)
    insurance_agency = fields.Bool(load_default=False)
    counter_id = fields.Int(load_default=None)
    #: register by hand when the platform does not answer (insurance stays unverified)
    offline_reason = fields.Str(load_default=None, validate=validate.Length(min=2, max=200))


class PaySchema(Schema):
    method = fields.Str(required=True, validate=validate.OneOf([m.value for m in PaymentMethod]))
    payer_code = fields.Str(load_default=None, validate=validate.Length(max=64))
    counter_id = fields.Int(load_default=None)
    expected_total_fen = fields.Int(load_default=None)


class CancelSchema(Schema):
    refund = fields.Bool(load_default=False)
    reason = fields.Str(required=True, validate=validate.Length(min=2, max=200))


class AtCounterSchema(Schema):
    counter_id = fields.Int(load_default=None)


class FindSchema(Schema):
    q = fields.Str(required=True, validate=validate.Length(min=2, max=16))


def _query(plate_type: str, plate: str) -> VehicleRecord | None:
    return police_query().query(plate_type, plate)


def _card(visit_id: int) -> dict[str, Any]:
    with get_db().read() as s:
        return pickup.visit_card(s, get_clock(), visits.get(s, visit_id))


@blp.route("/query", methods=["POST"])
@require_roles(*STAFF)
@blp.arguments(QuerySchema)
def query_vehicle(data: dict[str, Any]) -> dict[str, Any]:
    """联网查询: the platform's record with each status finding and what the owner must do."""
    from station.domain.plates import validate_plate

    plate = validate_plate(data["plate_type"], data["plate"])
    record = _query(data["plate_type"], plate)
    if record is None:
        raise Conflict("vehicle_not_on_platform", "联网查询未查到该车辆，请核对号牌种类和号码",
                       "The police platform has no record of this vehicle: check the plate")
    return registration.assessment_dict(assess(record, get_clock().today()))


@blp.route("/visits/<int:visit_id>")
@require_roles(*STAFF)
def visit_card(visit_id: int) -> dict[str, Any]:
    """The visit as the counter shows it: vehicle, registration, items due, payment, result."""
    return _card(visit_id)


@blp.route("/find")
@require_roles(*STAFF)
@blp.arguments(FindSchema, location="query")
def find(args: dict[str, Any]) -> dict[str, Any]:
    """The pick-up window finds a visit by today's ticket number or by plate."""
    with get_db().read() as s:
        return pickup.visit_card(s, get_clock(), pickup.find_visit(s, get_clock(), args["q"]))


@blp.route("/visits/<int:visit_id>/register", methods=["POST"])
@require_roles(*STAFF)
@blp.arguments(RegisterSchema)
def register(data: dict[str, Any], visit_id: int) -> dict[str, Any]:
    """Register the called visit from the licence fields and the online query."""
    fields_ = registration.LicenceFields(
        plate_type=data["plate_type"], plate=data["plate"], vin=data["vin"],
        vehicle_type=data["vehicle_type"] or None, use_nature=data["use_nature"] or None,
        fuel=data["fuel"] or None, seats=data["seats"], make_model=data["make_model"] or None,
        first_registered_on=data["first_registered_on"])
    plate, _, _ = registration.check_licence(fields_, confirm_vin=data["confirm_vin"])
    record = None
    try:  # the query runs before the write transaction: the database is not held meanwhile
        record = _query(data["plate_type"], plate)
    except QueryUnavailable:
        if not data["offline_reason"]:
            raise
    with get_db().write() as s:
        registration.register(s, get_clock(), current_actor(), visit_id, fields_, record,
                              confirm_vin=data["confirm_vin"],
                              insurance_agency=data["insurance_agency"],
                              counter_id=data["counter_id"], offline_reason=data["offline_reason"])
    return _card(visit_id)


@blp.route("/visits/<int:visit_id>/pay", methods=["POST"])
@require_roles(*STAFF)
@blp.arguments(PaySchema)
def pay(data: dict[str, Any], visit_id: int) -> dict[str, Any]:
    """Take the one payment; the visit then waits for a lane and the receipt prints."""
    with get_db().write() as s:
        counter = calling.get_counter(s, data["counter_id"]) if data["counter_id"] else None
        payments.pay(s, get_clock(), current_actor(), visit_id, data["method"], payment_gateway(),
                     payer_code=data["payer_code"], counter=counter,
                     expected_total_fen=data["expected_total_fen"])
    return _card(visit_id)


@blp.route("/payments/<int:payment_id>/cancel", methods=["POST"])
@require_roles(Role.MANAGER)
@blp.arguments(CancelSchema)
def cancel_payment(data: dict[str, Any], payment_id: int) -> dict[str, Any]:
    """Void (same day) or refund a payment: managers only, with a reason; audited."""
    with get_db().write() as s:
        payment = payments.cancel(s, get_clock(), current_actor(), payment_id,
                                  refund=data["refund"], reason=data["reason"],
                                  gateway=payment_gateway())
        visit_id = payment.visit_id
    return _card(visit_id)


@blp.route("/visits/<int:visit_id>/insurance/verify", methods=["POST"])
@require_roles(*STAFF)
def verify_insurance(visit_id: int) -> dict[str, Any]:
    """核保: query the platform again; verified when a policy is now in force."""
    with get_db().read() as s:
        vehicle = visits.get(s, visit_id).vehicle
        plate_type, plate = vehicle.plate_type, vehicle.plate
    record = _query(plate_type, plate)
    with get_db().write() as s:
        registration.verify_insurance(s, get_clock(), current_actor(), visits.get(s, visit_id),
                                      record)
    return _card(visit_id)


@blp.route("/visits/<int:visit_id>/papers", methods=["POST"])
@require_roles(*STAFF)
@blp.arguments(AtCounterSchema)
def print_papers(data: dict[str, Any], visit_id: int) -> dict[str, Any]:
    """Print the inspection report (passed, insurance verified)."""
    with get_db().write() as s:
        pickup.print_papers(s, get_clock(), current_actor(), visit_id, data["counter_id"])
    return _card(visit_id)


@blp.route("/visits/<int:visit_id>/retest", methods=["POST"])
@require_roles(*STAFF)
@blp.arguments(AtCounterSchema)
def book_retest(data: dict[str, Any], visit_id: int) -> dict[str, Any]:
    """Book the retest of a failed visit (same serial, attempt + 1)."""
    with get_db().write() as s:
        booking = pickup.book_retest(s, get_clock(), current_actor(), visit_id, data["counter_id"])
        retest_id = booking.retest_visit_id
    out = _card(visit_id)
    out["retest_visit"] = _card(retest_id)
    return out


@blp.route("/documents/<int:document_id>/reprint", methods=["POST"])
@require_roles(*STAFF)
def reprint(document_id: int) -> dict[str, Any]:
    """Print a receipt, report or retest notice again (e.g. after the printer ran out of paper)."""
    with get_db().write() as s:
        visit_id = pickup.reprint(s, get_clock(), current_actor(), document_id).visit_id
    return _card(visit_id)
