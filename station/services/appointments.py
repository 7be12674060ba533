"""Bookings (预约): make, cancel, reschedule, check in, mark no-shows, import.

Rules (DOMAIN.md §3; every number is a station setting):
- one active booking per plate (also a partial unique index);
- at most ``booking.max_per_phone_per_day`` bookings per phone for one inspection day;
- a phone with ``booking.no_show_limit`` no-shows within ``booking.no_show_window_days`` is
  blocked for ``booking.block_months``;
- owners cancel at least ``booking.cancel_cutoff_hours`` before the slot;
- a slot is never overbooked: its seat is claimed by one conditional UPDATE of ``slot_loads``
  (``booked < capacity``) inside the write transaction — atomic on SQLite and PostgreSQL.
- an on-site walk-in is recorded as an on-site booking (现场预约), so the appointment rate is true.
"""

from __future__ import annotations

import functools
import secrets
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from station.clock import Clock
from station.db import flushed_connection, insert_row
from station.domain import eligibility, plates, priority
from station.domain import phone as phones
from station.domain import vin as vins
from station.domain.journey import VisitState
from station.errors import Conflict, NotFound, ValidationError
from station.models import (
    Appointment,
    AppointmentStatus,
    Arrival,
    Channel,
    PhoneBlock,
    SlotLoad,
    Vehicle,
    Visit,
    VisitCategory,
)

from . import audit, calendar, queue, settings, vehicles, visits
from .actors import Actor

CODE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: read aloud and typed on a kiosk
CODE_LENGTH = 8
#: plate types of vehicles that need a large-vehicle lane (大型汽车, 大型新能源, 挂车)
LARGE_PLATE_TYPES = frozenset({"01", "51", "15"})


def vehicle_class_for(plate_type: str) -> str:
    return "large" if plate_type in LARGE_PLATE_TYPES else "small"


@dataclass(frozen=True)
class BookingRequest:
    plate_type: str
    plate: str
    contact_name: str
    phone: str
    day: date
    starts_at: time
    channel: Channel
    vin_tail: str | None = None
    external_ref: str | None = None
    #: 检验有效期至 as printed on the driving licence (the last day of that month), if given
    inspection_valid_until: date | None = None


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not 1 <= len(name) <= 32:
        raise ValidationError("name_invalid", "请填写联系人姓名（1至32个字）",
                              "Enter the contact's name (1 to 32 characters)")
    return name


def get_by_code(session: Session, code: str) -> Appointment:
    appointment = session.scalar(sa.select(Appointment).where(
        Appointment.code == (code or "").strip().upper()))
    if appointment is None:
        raise NotFound("booking_not_found", "未找到该预约号，请核对后重试",
                       "No booking with that code; check it and try again")
    return appointment


def get(session: Session, appointment_id: int) -> Appointment:
    appointment = session.get(Appointment, appointment_id)
    if appointment is None:
        raise NotFound("booking_not_found", "未找到该预约", "Booking not found", id=appointment_id)
    return appointment


def for_day(session: Session, day: date) -> list[Appointment]:
    return list(session.scalars(sa.select(Appointment).where(Appointment.day == day)
                                .order_by(Appointment.slot_start, Appointment.id)))


@functools.cache
def _active_for_plate(only_id: bool) -> sa.Select[Any]:
    """Built once: every check-in and walk-in asks (for the booking, or whether there is one)."""
    return sa.select(Appointment.id if only_id else Appointment).where(
        Appointment.plate_type == sa.bindparam("plate_type"),
        Appointment.plate == sa.bindparam("plate"), Appointment.status == AppointmentStatus.ACTIVE)


def active_for_plate(session: Session, plate_type: str, plate: str) -> Appointment | None:
    return session.scalar(_active_for_plate(False), {"plate_type": plate_type, "plate": plate})


def has_active_booking(session: Session, plate_type: str, plate: str) -> bool:
    return flushed_connection(session).scalar(
        _active_for_plate(True), {"plate_type": plate_type, "plate": plate}) is not None


def phone_block(session: Session, clock: Clock, phone: str) -> PhoneBlock | None:
    return session.scalar(sa.select(PhoneBlock).where(
        PhoneBlock.phone == phone, PhoneBlock.lifted_at.is_(None),
        PhoneBlock.blocked_until > clock.now()).order_by(PhoneBlock.blocked_until.desc()).limit(1))


def _check_day_and_slot(session: Session, clock: Clock, day: date, starts_at: time,
                        vehicle_class: str) -> calendar.Slot:
    today = clock.today()
    ahead = int(settings.get(session, "booking.days_ahead"))
    if day < today or day > today + timedelta(days=ahead):
        raise ValidationError("day_out_of_range", f"只能预约今天起{ahead}天内的时段",
                              f"Slots can be booked from today up to {ahead} days ahead",
                              day=day.isoformat())
    reason = calendar.closed_reason(session, day)
    if reason:
        raise ValidationError("station_closed", f"该日不营业：{reason}", f"The station is closed that day: {reason}",
                              day=day.isoformat())
    slot = calendar.find_slot(session, clock, day, starts_at, vehicle_class)
    lead = timedelta(minutes=int(settings.get(session, "booking.min_lead_minutes")))
    if slot.start < clock.now() + lead:
        raise ValidationError("slot_too_soon", "该时段已开始或即将开始，请选择更晚的时段",
                              "That slot has started or starts too soon; choose a later one")
    return slot


def _claim_seat(session: Session, slot: calendar.Slot, vehicle_class: str) -> None:
    """Take one seat of ``slot`` or refuse: one conditional UPDATE, so it cannot overbook."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(SlotLoad).values(day=slot.day, starts_at=slot.starts_at,
                                            vehicle_class=vehicle_class, booked=0)
                    .on_conflict_do_nothing())
    taken = session.execute(sa.update(SlotLoad).where(
        SlotLoad.day == slot.day, SlotLoad.starts_at == slot.starts_at,
        SlotLoad.vehicle_class == vehicle_class, SlotLoad.booked < slot.capacity,
    ).values(booked=SlotLoad.booked + 1).execution_options(synchronize_session=False)).rowcount
    if taken != 1:
        raise Conflict("slot_full", "该时段已约满，请选择其他时段", "That slot is full; choose another",
                       day=slot.day.isoformat(), starts_at=slot.starts_at.strftime("%H:%M"))


def _release_seat(session: Session, appointment: Appointment) -> None:
    session.execute(sa.update(SlotLoad).where(
        SlotLoad.day == appointment.day, SlotLoad.starts_at == appointment.slot_starts_at,
        SlotLoad.vehicle_class == appointment.vehicle_class, SlotLoad.booked > 0,
    ).values(booked=SlotLoad.booked - 1).execution_options(synchronize_session=False))


def _check_phone(session: Session, clock: Clock, phone: str, day: date) -> None:
    block = phone_block(session, clock, phone)
    if block is not None:
        until = clock.local(block.blocked_until).date()
        raise Conflict("phone_blocked", f"该手机号因{block.reason}，{until:%Y年%m月%d日}前不能预约",
                       f"This phone may not book until {until:%Y-%m-%d} ({block.reason})",
                       until=until.isoformat())
    limit = int(settings.get(session, "booking.max_per_phone_per_day"))
    count = session.scalar(sa.select(sa.func.count()).select_from(Appointment).where(
        Appointment.phone == phone, Appointment.day == day,
        Appointment.status.in_([AppointmentStatus.ACTIVE, AppointmentStatus.CHECKED_IN])))
    if count >= limit:
        raise Conflict("phone_limit", f"同一手机号每天最多预约{limit}辆车", f"A phone may book at most {limit} vehicles a day",
                       limit=limit)


def vehicle_facts(vehicle: Vehicle, valid_until: date | None = None) -> eligibility.VehicleFacts | None:
    """What the eligibility rules need, when the station's record of the vehicle has it."""
    if not (vehicle.vehicle_type and vehicle.use_nature and vehicle.seats is not None
            and vehicle.first_registered_on):
        return None
    return eligibility.VehicleFacts(
        vehicle_type=vehicle.vehicle_type, use_nature=vehicle.use_nature, seats=vehicle.seats,
        first_registered_on=vehicle.first_registered_on, manufactured_on=vehicle.manufactured_on,
        inspection_valid_until=valid_until or vehicle.inspection_valid_until)


def check_eligibility(session: Session, clock: Clock, vehicle: Vehicle | None,
                      valid_until: date | None, day: date) -> None:
    """Refuse a booking the rules do not allow: a vehicle that only claims its mark online
    (免检申领), or a day outside the booking window before the inspection expiry."""
    facts = vehicle_facts(vehicle, valid_until) if vehicle is not None else None
    if facts is not None:
        assessment = eligibility.assess(facts, clock.today())
        if assessment.action is eligibility.Action.ONLINE_CLAIM:
            raise Conflict("online_claim_only", assessment.action_reason.zh,
                           assessment.action_reason.en, due_date=assessment.due_date.isoformat())
        if not eligibility.is_bookable(assessment, day):
            opens = assessment.booking_opens_on
            raise Conflict("not_yet_bookable", f"检验有效期至{assessment.due_date:%Y年%m月}，"
                           f"{opens:%Y年%m月%d日}起才能预约", f"Bookable from {opens:%Y-%m-%d} "
                           f"(inspection valid until {assessment.due_date:%Y-%m})",
                           opens=opens.isoformat())
        return
    valid_until = valid_until or (vehicle.inspection_valid_until if vehicle else None)
    if valid_until is not None:
        opens, _ = eligibility.booking_window(eligibility.month_end(valid_until))
        if day < opens:
            raise Conflict("not_yet_bookable", f"检验有效期至{valid_until:%Y年%m月}，"
                           f"{opens:%Y年%m月%d日}起才能预约",
                           f"Bookable from {opens:%Y-%m-%d} (inspection valid until {valid_until:%Y-%m})",
                           opens=opens.isoformat())


def _vehicle_free(session: Session, vehicle: Vehicle) -> None:
    current = visits.active_visit_id(session, vehicle)
    if current is not None:
        raise Conflict("visit_in_progress", "该车辆已有预约或正在检验中",
                       "This vehicle already has a booking or a visit in progress", visit_id=current)


def book(session: Session, clock: Clock, actor: Actor, req: BookingRequest) -> Appointment:
    """Book a slot. Every rule is checked before anything is written; a refusal stores nothing."""
    plate = plates.validate_plate(req.plate_type, req.plate)
    phone = phones.validate_phone(req.phone)
    name = _clean_name(req.contact_name)
    vin_tail = vins.validate_vin_tail(req.vin_tail) if req.vin_tail else None
    vehicle_class = vehicle_class_for(req.plate_type)
    if req.external_ref and session.scalar(sa.select(Appointment.id).where(
            Appointment.external_ref == req.external_ref)):
        raise Conflict("booking_duplicate", "该预约已导入", "That booking was imported already",
                       external_ref=req.external_ref)
    slot = _check_day_and_slot(session, clock, req.day, req.starts_at, vehicle_class)
    if session.get_bind().dialect.name == "postgresql":  # serialise bookings of one phone
        session.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(phone))))
    if has_active_booking(session, req.plate_type, plate):
        raise Conflict("plate_has_booking", "该号牌已有一个有效预约，请先取消或改约",
                       "This plate already has an active booking; cancel or change it first")
    _check_phone(session, clock, phone, req.day)
    existing = vehicles.find(session, req.plate_type, plate)
    if existing is not None:
        _vehicle_free(session, existing)
    check_eligibility(session, clock, existing, req.inspection_valid_until, slot.day)
    _claim_seat(session, slot, vehicle_class)
    vehicle = vehicles.register(session, clock, plate_type=req.plate_type, plate=plate,
                                vin_tail=vin_tail,
                                inspection_valid_until=eligibility.month_end(req.inspection_valid_until)
                                if req.inspection_valid_until else None)
    visit = visits.open_visit(session, clock, actor, vehicle, category=VisitCategory.BOOKED,
                              state=VisitState.BOOKED, reason=f"预约 {req.channel.value}")
    appointment = Appointment(
        code=_unique_code(session), channel=req.channel, status=AppointmentStatus.ACTIVE,
        plate_type=req.plate_type, plate=plate, vin_tail=vin_tail, contact_name=name, phone=phone,
        vehicle_class=vehicle_class, day=slot.day, slot_starts_at=slot.starts_at,
        slot_start=slot.start, visit_id=visit.id, external_ref=req.external_ref,
        created_at=clock.now())
    session.add(appointment)
    session.flush()
    audit.record(session, clock, actor, "appointment.booked", entity=appointment,
                 channel=req.channel.value, day=slot.day.isoformat(),
                 slot=slot.starts_at.strftime("%H:%M"))
    return appointment


def _unique_code(session: Session) -> str:
    """A fresh code. 32⁸ ≈ 10¹² codes: a clash is left to the unique constraint (the request
    then fails as a conflict and is retried) rather than costing a query every time."""
    return new_code()


def _require_active(appointment: Appointment) -> None:
    if appointment.status is not AppointmentStatus.ACTIVE:
        raise Conflict("booking_not_active", "该预约已签到、取消或过期，不能再更改",
                       "This booking was checked in, cancelled or has lapsed", status=appointment.status.value)


def _check_cutoff(session: Session, clock: Clock, appointment: Appointment) -> None:
    hours = int(settings.get(session, "booking.cancel_cutoff_hours"))
    if clock.now() > appointment.slot_start - timedelta(hours=hours):
        raise Conflict("cancel_too_late", f"预约时段前{hours}小时内不能在线取消或改约，请致电检测站",
                       f"Bookings cannot be changed online within {hours} h of the slot; call the station")


def cancel(session: Session, clock: Clock, actor: Actor, appointment: Appointment, *,
           by_owner: bool, reason: str | None = None) -> Appointment:
    """Cancel a booking. Owners must respect the cut-off; staff may cancel later, with a reason."""
    _require_active(appointment)
    if by_owner:
        _check_cutoff(session, clock, appointment)
    elif not (reason or "").strip():
        raise ValidationError("reason_required", "工作人员取消预约须填写原因", "Staff must give a reason")
    _release_seat(session, appointment)
    appointment.status, appointment.cancelled_at = AppointmentStatus.CANCELLED, clock.now()
    if appointment.visit is not None:
        visits.transition(session, clock, actor, appointment.visit, VisitState.CANCELLED,
                          reason=reason or "车主取消预约")
    audit.record(session, clock, actor, "appointment.cancelled", entity=appointment,
                 by_owner=by_owner, reason=reason)
    return appointment


def reschedule(session: Session, clock: Clock, actor: Actor, appointment: Appointment,
               day: date, starts_at: time, *, by_owner: bool) -> Appointment:
    """Move a booking to another slot (the new seat is claimed before the old one is freed)."""
    _require_active(appointment)
    if by_owner:
        _check_cutoff(session, clock, appointment)
    slot = _check_day_and_slot(session, clock, day, starts_at, appointment.vehicle_class)
    if (slot.day, slot.starts_at) == (appointment.day, appointment.slot_starts_at):
        return appointment
    if day != appointment.day:
        _check_phone(session, clock, appointment.phone, day)
    _claim_seat(session, slot, appointment.vehicle_class)
    _release_seat(session, appointment)
    old = f"{appointment.day} {appointment.slot_starts_at:%H:%M}"
    appointment.day, appointment.slot_starts_at, appointment.slot_start = slot.day, slot.starts_at, slot.start
    appointment.reminded_day_before_at = appointment.reminded_soon_at = None
    audit.record(session, clock, actor, "appointment.rescheduled", entity=appointment, old=old,
                 new=f"{slot.day} {slot.starts_at:%H:%M}")
    return appointment


def owner_may_manage(appointment: Appointment, phone_tail: str) -> bool:
    """Owners prove a booking is theirs with the last 4 digits of its phone number."""
    return bool(phone_tail) and secrets.compare_digest(appointment.phone[-4:], phone_tail.strip())


# -- arrival ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CheckIn:
    visit: Visit
    appointment: Appointment
    arrival: Arrival | None  # None for a walk-in

    @property
    def queue_category(self) -> str:
        """Which queue the vehicle joins: a late booking joins the walk-ins."""
        if self.arrival is None or self.arrival is Arrival.LATE:
            return VisitCategory.WALK_IN.value
        return self.visit.category.value


def arrival_for(session: Session, appointment: Appointment, at: datetime) -> Arrival:
    """On time, early or late against the slot's check-in window (the priority policy's rule)."""
    timing = priority.check_in_timing(at, appointment.slot_start, queue.policy_config(session))
    return Arrival(timing.value)


def check_in(session: Session, clock: Clock, actor: Actor, *, code: str | None = None,
             plate_type: str | None = None, plate: str | None = None,
             special_needs: bool = False) -> CheckIn:
    """A booked vehicle arrives (by booking code or by plate) and joins the queue."""
    if code:
        appointment = get_by_code(session, code)
    elif plate_type and plate:
        appointment = active_for_plate(session, plate_type, plates.validate_plate(plate_type, plate))
        if appointment is None:
            raise NotFound("booking_not_found", "该号牌今天没有有效预约，可现场取号",
                           "No active booking for this plate; take a walk-in ticket")
    else:
        raise ValidationError("checkin_needs_code_or_plate", "请输入预约号或号牌",
                              "Enter a booking code or a plate")
    _require_active(appointment)
    today = clock.today()
    if appointment.day != today:
        raise Conflict("booking_other_day", f"您的预约日期是{appointment.day:%m月%d日}，不是今天",
                       f"Your booking is for {appointment.day:%Y-%m-%d}, not today",
                       day=appointment.day.isoformat())
    now = clock.now()
    arrival = arrival_for(session, appointment, now)
    visit = appointment.visit or visits.get(session, appointment.visit_id)
    visit.arrived_at, visit.special_needs = now, special_needs
    visits.transition(session, clock, actor, visit, VisitState.CHECKED_IN,
                      reason={Arrival.ON_TIME: "预约签到", Arrival.EARLY: "预约提前到达",
                              Arrival.LATE: "预约迟到，按现场排队"}[arrival])
    appointment.status, appointment.arrival, appointment.checked_in_at = (
        AppointmentStatus.CHECKED_IN, arrival, now)
    audit.record(session, clock, actor, "appointment.checked_in", entity=appointment,
                 arrival=arrival.value)
    return CheckIn(visit, appointment, arrival)


def walk_in(session: Session, clock: Clock, actor: Actor, *, plate_type: str, plate: str,
            channel: Channel = Channel.KIOSK, contact_name: str = "现场车主",
            phone: str | None = None, special_needs: bool = False) -> CheckIn:
    """A vehicle without a booking: recorded as an on-site booking (现场预约) and checked in."""
    plate = plates.validate_plate(plate_type, plate)
    if has_active_booking(session, plate_type, plate):
        raise Conflict("plate_has_booking", "该号牌有预约，请用预约号签到",
                       "This plate has a booking: check in with its code")
    phone = phones.validate_phone(phone) if phone else ""
    vehicle = vehicles.register(session, clock, plate_type=plate_type, plate=plate)
    now = clock.now()
    # open_visit refuses a vehicle with a visit in progress (and the database would too)
    visit = visits.open_visit(session, clock, actor, vehicle, category=VisitCategory.WALK_IN,
                              reason=f"现场预约 {channel.value}", arrived_at=now,
                              special_needs=special_needs)
    local = clock.local(now)
    appointment = insert_row(session, Appointment(
        code=_unique_code(session), channel=channel, status=AppointmentStatus.CHECKED_IN,
        plate_type=plate_type, plate=plate, contact_name=_clean_name(contact_name), phone=phone,
        vehicle_class=vehicle_class_for(plate_type), day=local.date(),
        slot_starts_at=local.time().replace(second=0, microsecond=0), slot_start=now,
        visit_id=visit.id, created_at=now, checked_in_at=now))
    audit.record(session, clock, actor, "appointment.walk_in", entity=appointment,
                 channel=channel.value)
    return CheckIn(visit, appointment, None)


# -- no-shows -----------------------------------------------------------------------------------

def mark_no_shows(session: Session, clock: Clock) -> list[Appointment]:
    """Bookings not checked in by the end of their slot plus the grace period become no-shows;
    a phone that reaches the no-show limit is blocked. A scheduled job calls this."""
    length = timedelta(minutes=int(settings.get(session, "booking.slot_minutes")))
    grace = timedelta(minutes=int(settings.get(session, "booking.no_show_grace_minutes")))
    now = clock.now()
    lapsed = list(session.scalars(sa.select(Appointment).where(
        Appointment.status == AppointmentStatus.ACTIVE,
        Appointment.slot_start < now - length - grace).order_by(Appointment.id)))
    actor = Actor.system("no-show job")
    for appointment in lapsed:
        appointment.status = AppointmentStatus.NO_SHOW
        if appointment.visit is not None:
            visits.transition(session, clock, actor, appointment.visit, VisitState.NO_SHOW,
                              reason="预约未到检")
        audit.record(session, clock, actor, "appointment.no_show", entity=appointment)
    session.flush()
    for phone in sorted({a.phone for a in lapsed}):
        _block_if_over_limit(session, clock, phone)
    return lapsed


def _block_if_over_limit(session: Session, clock: Clock, phone: str) -> PhoneBlock | None:
    if phone_block(session, clock, phone) is not None:
        return None
    now = clock.now()
    window = timedelta(days=int(settings.get(session, "booking.no_show_window_days")))
    last_block_end = session.scalar(sa.select(sa.func.max(PhoneBlock.blocked_until))
                                    .where(PhoneBlock.phone == phone)) or (now - window)
    since = max(now - window, last_block_end)
    count = session.scalar(sa.select(sa.func.count()).select_from(Appointment).where(
        Appointment.phone == phone, Appointment.status == AppointmentStatus.NO_SHOW,
        Appointment.slot_start >= since))
    limit = int(settings.get(session, "booking.no_show_limit"))
    if count < limit:
        return None
    months = int(settings.get(session, "booking.block_months"))
    block = PhoneBlock(phone=phone, blocked_until=_add_months(now, months),
                       reason=f"爽约{count}次", created_at=now)
    session.add(block)
    audit.record(session, clock, Actor.system("no-show job"), "phone.blocked",
                 entity_type="phone_blocks", entity_id=phones.phone_tail(phone), no_shows=count,
                 months=months)
    return block


def _add_months(at: datetime, months: int) -> datetime:
    month = at.month - 1 + months
    year, month = at.year + month // 12, month % 12 + 1
    return at.replace(year=year, month=month, day=min(at.day, monthrange(year, month)[1]))


def lift_block(session: Session, clock: Clock, actor: Actor, block_id: int, reason: str) -> None:
    block = session.get(PhoneBlock, block_id)
    if block is None or block.lifted_at is not None:
        raise NotFound("block_not_found", "未找到有效的限制记录", "No such active block")
    if not reason.strip():
        raise ValidationError("reason_required", "请填写解除原因", "A reason is required")
    block.lifted_at, block.lifted_by = clock.now(), actor.id
    audit.record(session, clock, actor, "phone.unblocked", entity=block, reason=reason)


# -- import from the police platform ------------------------------------------------------------

@dataclass
class ImportResult:
    booked: list[str]
    skipped: list[dict[str, Any]]
    refused: list[dict[str, Any]]


def import_bookings(session: Session, clock: Clock, actor: Actor,
                    records: list[dict[str, Any]]) -> ImportResult:
    """Import bookings made on the police platform (交管12123): each record either becomes a
    booking or is refused with its reason; a record already imported is skipped (idempotent).
    Each record runs in its own savepoint, so one bad record leaves the others intact."""
    result = ImportResult([], [], [])
    for index, record in enumerate(records):
        ref = str(record.get("external_ref") or "").strip() or None
        try:
            request = BookingRequest(
                plate_type=str(record["plate_type"]), plate=str(record["plate"]),
                contact_name=str(record.get("contact_name") or ""), phone=str(record["phone"]),
                day=date.fromisoformat(str(record["day"])),
                starts_at=time.fromisoformat(str(record["starts_at"])),
                channel=Channel.POLICE_APP, vin_tail=record.get("vin_tail") or None,
                external_ref=ref)
        except (KeyError, ValueError) as exc:
            result.refused.append({"index": index, "external_ref": ref, "code": "record_invalid",
                                   "message": f"记录格式无效：{exc}"})
            continue
        try:
            with session.begin_nested():
                appointment = book(session, clock, actor, request)
            result.booked.append(appointment.code)
        except Conflict as err:
            target = result.skipped if err.code == "booking_duplicate" else result.refused
            target.append({"index": index, "external_ref": ref, "code": err.code,
                           "message": err.message_zh})
        except (ValidationError, NotFound) as err:
            result.refused.append({"index": index, "external_ref": ref, "code": err.code,
                                   "message": err.message_zh})
    return result


#: columns of an import file, in the police platform's export order (header names accepted too)
IMPORT_COLUMNS = ("external_ref", "plate_type", "plate", "vin_tail", "contact_name", "phone",
                  "day", "starts_at")
#: the Chinese headers of the platform's export, mapped to our field names
IMPORT_HEADERS_ZH = {"预约编号": "external_ref", "号牌种类": "plate_type", "号牌号码": "plate",
                     "车辆识别代号后6位": "vin_tail", "联系人": "contact_name", "手机号码": "phone",
                     "预约日期": "day", "预约时段": "starts_at"}


def parse_import_file(data: bytes) -> list[dict[str, Any]]:
    """Rows of a CSV export (UTF-8 with or without BOM, or GB18030) as import records."""
    import csv
    import io

    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationError("import_encoding", "文件编码无法识别（应为UTF-8或GB18030的CSV）",
                              "Unknown file encoding (expected CSV in UTF-8 or GB18030)")
    reader = csv.DictReader(io.StringIO(text))
    fields = [IMPORT_HEADERS_ZH.get((f or "").strip(), (f or "").strip()) for f in reader.fieldnames or []]
    missing = set(IMPORT_COLUMNS) - {"vin_tail"} - set(fields)
    if missing:
        raise ValidationError("import_columns", f"文件缺少列：{', '.join(sorted(missing))}",
                              f"Missing columns: {', '.join(sorted(missing))}")
    records = []
    for row in reader:
        values = {name: (value or "").strip() for name, value in zip(fields, row.values(), strict=False)}
        if any(values.values()):
            starts = values.get("starts_at", "")
            values["starts_at"] = starts.split("-")[0].strip()  # "09:00-09:30" → "09:00"
            records.append(values)
    return records
