"""Appointments: public booking for owners, staff entry, check-in, walk-ins and imports."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from station.auth import current_device, public_limit, rate_limit, require_device, require_roles
from station.context import get_clock, get_config, get_db
from station.domain.masking import mask_phone, mask_plate
from station.errors import Conflict, Forbidden
from station.models import CHANNEL_LABELS, TICKET_CATEGORY_LABELS, Channel, ClientKind, Role
from station.services import appointments, calendar, queue, settings, tickets
from station.services.actors import Actor

from .common import Blueprint, current_actor

blp = Blueprint("booking", __name__, url_prefix="/api/v1", description="Appointments (预约)")


class SlotSchema(Schema):
    day = fields.Str()
    starts_at = fields.Str()
    ends_at = fields.Str()
    start = fields.Str()
    capacity = fields.Int()
    booked = fields.Int()
    free = fields.Int()
    label = fields.Str(metadata={"description": "booked / limit, as published"})


class SlotQuerySchema(Schema):
    day = fields.Date(required=True)
    plate_type = fields.Str(load_default="02", validate=validate.Length(equal=2))


class DaySchema(Schema):
    day = fields.Str()
    weekday = fields.Str()
    open = fields.Bool()
    reason = fields.Str(allow_none=True)
    free = fields.Int()
    capacity = fields.Int()


class BookingInSchema(Schema):
    plate_type = fields.Str(required=True, validate=validate.Length(equal=2))
    plate = fields.Str(required=True, validate=validate.Length(min=5, max=12))
    vin_tail = fields.Str(load_default=None, validate=validate.Length(equal=6))
    contact_name = fields.Str(required=True, validate=validate.Length(min=1, max=32))
    phone = fields.Str(required=True, validate=validate.Length(min=11, max=16))
    day = fields.Date(required=True)
    starts_at = fields.Time(required=True, format="%H:%M")


class StaffBookingInSchema(BookingInSchema):
    channel = fields.Str(load_default=Channel.PHONE.value,
                         validate=validate.OneOf([Channel.PHONE.value, Channel.COUNTER.value,
                                                  Channel.SMS.value]))


class BookingSchema(Schema):
    id = fields.Int()
    code = fields.Str()
    status = fields.Str()
    channel = fields.Str()
    channel_label = fields.Str()
    plate_type = fields.Str()
    plate = fields.Str()
    contact_name = fields.Str()
    phone = fields.Str()
    day = fields.Str()
    starts_at = fields.Str()
    slot_start = fields.Str()
    arrival = fields.Str(allow_none=True)
    visit_id = fields.Int(allow_none=True)


class OwnerProofSchema(Schema):
    phone_tail = fields.Str(required=True, validate=validate.Length(equal=4))


class RescheduleSchema(OwnerProofSchema):
    day = fields.Date(required=True)
    starts_at = fields.Time(required=True, format="%H:%M")


class StaffCancelSchema(Schema):
    reason = fields.Str(required=True, validate=validate.Length(min=1, max=200))


class CheckInSchema(Schema):
    code = fields.Str(load_default=None, validate=validate.Length(min=4, max=12))
    plate_type = fields.Str(load_default=None, validate=validate.Length(equal=2))
    plate = fields.Str(load_default=None, validate=validate.Length(min=5, max=12))
    special_needs = fields.Bool(load_default=False)


class WalkInSchema(Schema):
    plate_type = fields.Str(required=True, validate=validate.Length(equal=2))
    plate = fields.Str(required=True, validate=validate.Length(min=5, max=12))
    phone = fields.Str(load_default=None)
    special_needs = fields.Bool(load_default=False)


class ArrivalSchema(Schema):
    visit_id = fields.Int()
    booking_code = fields.Str()
    arrival = fields.Str(allow_none=True)
    queue_category = fields.Str()
    people_ahead = fields.Int()
    estimated_wait_min = fields.Int()
    reason_zh = fields.Str()
    ticket_id = fields.Int()
    ticket = fields.Str(metadata={"description": "the number as printed and called, e.g. A012"})
    ticket_category = fields.Str()
    progress_url = fields.Str()
    print_state = fields.Str()
    plate = fields.Str(metadata={"description": "masked"})
    next_step = fields.Str()


class ImportSchema(Schema):
    records = fields.List(fields.Dict(), required=True, validate=validate.Length(min=1, max=5000))


class ImportResultSchema(Schema):
    booked = fields.List(fields.Str())
    skipped = fields.List(fields.Dict())
    refused = fields.List(fields.Dict())


def booking_dict(a: Any, *, masked: bool = False) -> dict[str, Any]:
    return {"id": a.id, "code": a.code, "status": a.status.value, "channel": a.channel.value,
            "channel_label": CHANNEL_LABELS[a.channel][0], "plate_type": a.plate_type,
            "plate": a.plate, "contact_name": a.contact_name,
            "phone": mask_phone(a.phone) if masked else a.phone, "day": a.day.isoformat(),
            "starts_at": a.slot_starts_at.strftime("%H:%M"), "slot_start": a.slot_start.isoformat(),
            "arrival": a.arrival.value if a.arrival else None, "visit_id": a.visit_id}


@blp.route("/booking/days")
@rate_limit(public_limit)
@blp.arguments(SlotQuerySchema(only=("plate_type",)), location="query")
@blp.response(200, DaySchema(many=True))
def days(args: dict[str, Any]) -> list[dict[str, Any]]:
    """The days that can be booked, with free seats (public)."""
    with get_db().read() as s:
        return calendar.bookable_days(s, get_clock(),
                                      appointments.vehicle_class_for(args["plate_type"]))


@blp.route("/booking/slots")
@rate_limit(public_limit)
@blp.arguments(SlotQuerySchema, location="query")
@blp.response(200, SlotSchema(many=True))
def slots(args: dict[str, Any]) -> list[dict[str, Any]]:
    """The slots of a day, published as "booked / limit" (public)."""
    with get_db().read() as s:
        return [sl.as_dict() for sl in calendar.slots(
            s, get_clock(), args["day"], appointments.vehicle_class_for(args["plate_type"]))]


@blp.route("/booking", methods=["POST"])
@rate_limit(public_limit)
@blp.arguments(BookingInSchema)
@blp.response(201, BookingSchema)
def book_online(data: dict[str, Any]) -> dict[str, Any]:
    """Book online (the station's booking page); answers with the booking code."""
    return _book(data, Channel.WEB, Actor.owner())


@blp.route("/appointments", methods=["POST"])
@require_roles(Role.COUNTER, Role.MANAGER)
@blp.arguments(StaffBookingInSchema)
@blp.response(201, BookingSchema)
def book_by_staff(data: dict[str, Any]) -> dict[str, Any]:
    """Staff enter a booking taken by phone, SMS or at the counter."""
    return _book(data, Channel(data.pop("channel")), current_actor())


def _book(data: dict[str, Any], channel: Channel, actor: Actor) -> dict[str, Any]:
    request = appointments.BookingRequest(
        plate_type=data["plate_type"], plate=data["plate"], contact_name=data["contact_name"],
        phone=data["phone"], day=data["day"], starts_at=data["starts_at"], channel=channel,
        vin_tail=data.get("vin_tail"))
    with get_db().write() as s:
        return booking_dict(appointments.book(s, get_clock(), actor, request))


def _owned(s: Any, code: str, phone_tail: str) -> Any:
    appointment = appointments.get_by_code(s, code)
    if not appointments.owner_may_manage(appointment, phone_tail):
        raise Forbidden("phone_tail_mismatch", "手机号后四位不符", "The phone number's last 4 digits do not match")
    return appointment


@blp.route("/booking/<code>")
@rate_limit(public_limit)
@blp.arguments(OwnerProofSchema, location="query")
@blp.response(200, BookingSchema)
def show_booking(args: dict[str, Any], code: str) -> dict[str, Any]:
    """An owner's own booking (needs the phone number's last 4 digits)."""
    with get_db().read() as s:
        return booking_dict(_owned(s, code, args["phone_tail"]), masked=True)


@blp.route("/booking/<code>/cancel", methods=["POST"])
@rate_limit(public_limit)
@blp.arguments(OwnerProofSchema)
@blp.response(200, BookingSchema)
def cancel_booking(data: dict[str, Any], code: str) -> dict[str, Any]:
    with get_db().write() as s:
        appointment = _owned(s, code, data["phone_tail"])
        appointments.cancel(s, get_clock(), Actor.owner(), appointment, by_owner=True)
        return booking_dict(appointment, masked=True)


@blp.route("/booking/<code>/reschedule", methods=["POST"])
@rate_limit(public_limit)
@blp.arguments(RescheduleSchema)
@blp.response(200, BookingSchema)
def reschedule_booking(data: dict[str, Any], code: str) -> dict[str, Any]:
    with get_db().write() as s:
        appointment = _owned(s, code, data["phone_tail"])
        appointments.reschedule(s, get_clock(), Actor.owner(), appointment, data["day"],
                                data["starts_at"], by_owner=True)
        return booking_dict(appointment, masked=True)


@blp.route("/appointments/<int:appointment_id>/cancel", methods=["POST"])
@require_roles(Role.COUNTER, Role.MANAGER)
@blp.arguments(StaffCancelSchema)
@blp.response(200, BookingSchema)
def staff_cancel(data: dict[str, Any], appointment_id: int) -> dict[str, Any]:
    with get_db().write() as s:
        appointment = appointments.get(s, appointment_id)
        appointments.cancel(s, get_clock(), current_actor(), appointment, by_owner=False,
                            reason=data["reason"])
        return booking_dict(appointment)


class AppointmentQuerySchema(Schema):
    day = fields.Date(load_default=None)


@blp.route("/appointments")
@require_roles()
@blp.arguments(AppointmentQuerySchema, location="query")
@blp.response(200, BookingSchema(many=True))
def list_appointments(args: dict[str, Any]) -> list[dict[str, Any]]:
    clock = get_clock()
    with get_db().read() as s:
        return [booking_dict(a) for a in appointments.for_day(s, args["day"] or clock.today())]


def _issue(s: Any, checked: appointments.CheckIn, actor: Actor) -> dict[str, Any]:
    """Issue the ticket in the check-in's transaction; what the kiosk shows besides the place."""
    device = current_device()
    ticket = tickets.issue(s, get_clock(), actor, checked.visit, checked.queue_category,
                           kiosk_id=device.id if device is not None else None)
    return {"visit_id": checked.visit.id, "booking_code": checked.appointment.code,
            "arrival": checked.arrival.value if checked.arrival else None,
            "queue_category": checked.queue_category, "ticket_id": ticket.id,
            "ticket": ticket.label, "ticket_category": TICKET_CATEGORY_LABELS[ticket.category][0],
            "progress_url": tickets.progress_url(get_config().public_url, ticket),
            "print_state": ticket.print_state.value, "plate": mask_plate(checked.visit.vehicle.plate),
            "next_step": settings.get(s, "tickets.next_step")}


def _with_place(arrival: dict[str, Any]) -> dict[str, Any]:
    """Add the place in the queue, read after the commit (outside the write transaction)."""
    with get_db().read() as s:
        place = queue.place_of(s, get_clock(), arrival["visit_id"])
    arrival.update(people_ahead=place.people_ahead, estimated_wait_min=place.estimated_wait_min,
                   reason_zh=place.reason_zh)
    return arrival


def _require_open(s: Any) -> None:
    state = calendar.open_now(s, get_clock())
    if not state["open"]:
        raise Conflict("station_closed", state["message_zh"], state["message_en"])


def _arrival_actor() -> Actor:
    device = current_device()
    return Actor.device(device) if device is not None else current_actor()


@blp.route("/checkin", methods=["POST"])
@require_device(ClientKind.KIOSK, staff=(Role.COUNTER, Role.MANAGER))
@blp.arguments(CheckInSchema)
@blp.response(200, ArrivalSchema)
def check_in(data: dict[str, Any]) -> dict[str, Any]:
    """A booked vehicle arrives: by booking code or plate (kiosk or counter)."""
    actor = _arrival_actor()
    with get_db().read() as s:  # a check, outside the write transaction
        _require_open(s)
    with get_db().write() as s:
        checked = appointments.check_in(s, get_clock(), actor, code=data["code"],
                                        plate_type=data["plate_type"], plate=data["plate"],
                                        special_needs=data["special_needs"])
        arrival = _issue(s, checked, actor)
    return _with_place(arrival)


@blp.route("/walk-in", methods=["POST"])
@require_device(ClientKind.KIOSK, staff=(Role.COUNTER, Role.MANAGER))
@blp.arguments(WalkInSchema)
@blp.response(201, ArrivalSchema)
def walk_in(data: dict[str, Any]) -> dict[str, Any]:
    """A vehicle without a booking: recorded as an on-site booking and queued."""
    device = current_device()
    channel = Channel.KIOSK if device is not None else Channel.COUNTER
    actor = _arrival_actor()
    with get_db().read() as s:  # a check, outside the write transaction
        _require_open(s)
    with get_db().write() as s:
        checked = appointments.walk_in(s, get_clock(), actor, plate_type=data["plate_type"],
                                       plate=data["plate"], channel=channel, phone=data["phone"],
                                       special_needs=data["special_needs"])
        arrival = _issue(s, checked, actor)
    return _with_place(arrival)


@blp.route("/appointments/import", methods=["POST"])
@require_device(ClientKind.INTEGRATION, staff=(Role.MANAGER,))
@blp.arguments(ImportSchema)
@blp.response(200, ImportResultSchema)
def import_bookings(data: dict[str, Any]) -> dict[str, Any]:
    """Bookings pushed by the police platform (交管12123) or uploaded by the manager."""
    device = current_device()
    actor = Actor.device(device) if device is not None else current_actor()
    with get_db().write() as s:
        result = appointments.import_bookings(s, get_clock(), actor, data["records"])
    return {"booked": result.booked, "skipped": result.skipped, "refused": result.refused}
