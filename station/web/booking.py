"""The owners' booking pages (网上预约): choose a day and a slot, book, get a code and QR;
look a booking up with its code and the phone's last 4 digits to cancel or change it.
Server-rendered forms with CSRF; they work on any phone browser, without scripts."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from flask import Blueprint, abort, redirect, render_template, request, url_for

from station.auth import public_limit, rate_limit
from station.context import get_clock, get_db
from station.domain.masking import mask_phone
from station.domain.plates import PLATE_TYPES
from station.errors import DomainError
from station.models import Channel
from station.qr import qr_svg
from station.services import appointments, calendar, settings
from station.services.actors import Actor

bp = Blueprint("book", __name__, url_prefix="/book", template_folder="templates")

#: the plate types an owner chooses from on the booking page, most common first
BOOKABLE_PLATE_TYPES = ("02", "52", "01", "51", "15", "16")


def _plate_types() -> list[tuple[str, str]]:
    return [(code, PLATE_TYPES[code].name_zh) for code in BOOKABLE_PLATE_TYPES]


def _plate_type_arg() -> str:
    plate_type = request.values.get("plate_type", "02")
    return plate_type if plate_type in BOOKABLE_PLATE_TYPES else "02"


def _day_arg(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        abort(404)


@bp.route("/")
def choose_day() -> str:
    plate_type = _plate_type_arg()
    with get_db().read() as s:
        days = calendar.bookable_days(s, get_clock(), appointments.vehicle_class_for(plate_type))
        hotline = settings.get(s, "station.hotline")
    return render_template("booking/days.html", days=days, plate_type=plate_type,
                           plate_types=_plate_types(), hotline=hotline)


def _slot_page(day: date, plate_type: str, form: dict[str, Any], error: DomainError | None,
               status: int = 200) -> tuple[str, int]:
    with get_db().read() as s:
        slots = calendar.bookable_slots(s, get_clock(), day, appointments.vehicle_class_for(plate_type))
    return render_template("booking/slots.html", day=day, slots=slots, plate_type=plate_type,
                           plate_types=_plate_types(), form=form, error=error), status


@bp.route("/<day>", methods=["GET", "POST"])
@rate_limit(public_limit, methods=["POST"])
def book(day: str) -> Any:
    on = _day_arg(day)
    plate_type = _plate_type_arg()
    if request.method == "GET":
        return _slot_page(on, plate_type, {}, None)
    form = request.form.to_dict()
    try:
        starts_at = time.fromisoformat(form.get("starts_at", ""))
    except ValueError:
        starts_at = None
    if starts_at is None:
        error = DomainError("slot_required", "请选择预约时段", "Choose a slot")
        return _slot_page(on, plate_type, form, error, 422)
    req = appointments.BookingRequest(
        plate_type=plate_type, plate=form.get("plate", ""), contact_name=form.get("contact_name", ""),
        phone=form.get("phone", ""), day=on, starts_at=starts_at, channel=Channel.WEB,
        vin_tail=form.get("vin_tail") or None)
    try:
        with get_db().write() as s:
            appointment = appointments.book(s, get_clock(), Actor.owner(), req)
    except DomainError as err:
        return _slot_page(on, plate_type, form, err, err.status)
    return redirect(url_for("book.done", code=appointment.code))


@bp.route("/done/<code>")
def done(code: str) -> str:
    with get_db().read() as s:
        appointment = appointments.get_by_code(s, code)
        early = settings.get(s, "checkin.early_minutes")
        late = settings.get(s, "checkin.late_minutes")
    return render_template("booking/done.html", a=appointment, phone=mask_phone(appointment.phone),
                           qr=qr_svg(appointment.code), early=early, late=late)


@bp.route("/manage", methods=["GET", "POST"])
@rate_limit(public_limit, methods=["POST"])
def manage() -> Any:
    """Look up a booking (code + phone tail), then cancel it or move it to another slot."""
    if request.method == "GET":
        return render_template("booking/manage.html", a=None, form={}, error=None)
    form = request.form.to_dict()
    action = form.get("action", "show")
    error: DomainError | None = None
    appointment = None
    slots: list[calendar.Slot] = []
    try:
        with get_db().write() as s:
            clock = get_clock()
            appointment = appointments.get_by_code(s, form.get("code", ""))
            if not appointments.owner_may_manage(appointment, form.get("phone_tail", "")):
                raise DomainError("phone_tail_mismatch", "预约号或手机号后四位不正确",
                                  "Wrong booking code or phone digits")
            if action == "cancel":
                appointments.cancel(s, clock, Actor.owner(), appointment, by_owner=True)
            elif action == "reschedule":
                new_day = date.fromisoformat(form.get("day", ""))
                appointments.reschedule(s, clock, Actor.owner(), appointment, new_day,
                                        time.fromisoformat(form.get("starts_at", "")), by_owner=True)
            on = date.fromisoformat(form["day"]) if form.get("day") else appointment.day
            slots = calendar.bookable_slots(s, clock, on, appointment.vehicle_class)
    except DomainError as err:
        error = err
        appointment = None if err.code in ("booking_not_found", "phone_tail_mismatch") else appointment
    except ValueError:
        error = DomainError("slot_required", "请选择日期和时段", "Choose a day and a slot")
    status = error.status if error else 200
    return render_template("booking/manage.html", a=appointment, form=form, error=error,
                           slots=slots, phone=mask_phone(appointment.phone) if appointment else "",
                           action=action), status
