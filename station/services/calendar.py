"""The station's calendar and booking slots (预约时段): opening hours per weekday, holidays
and extra working days, slots of ``booking.slot_minutes`` with a capacity per vehicle class,
published as "booked / limit"."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from station.clock import Clock
from station.db import cached_config
from station.errors import ValidationError
from station.models import CalendarException, OpeningHours, SlotCapacity, SlotLoad

from . import audit, settings
from .actors import Actor

WEEKDAYS_ZH = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")
VEHICLE_CLASSES = ("small", "large")


@dataclass(frozen=True)
class DayHours:
    opens_at: time
    closes_at: time
    lunch_from: time | None
    lunch_until: time | None


@dataclass(frozen=True)
class Slot:
    day: date
    starts_at: time
    ends_at: time
    start: datetime  # aware, UTC
    capacity: int
    booked: int

    @property
    def free(self) -> int:
        return max(0, self.capacity - self.booked)

    def as_dict(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "starts_at": self.starts_at.strftime("%H:%M"),
                "ends_at": self.ends_at.strftime("%H:%M"), "start": self.start.isoformat(),
                "capacity": self.capacity, "booked": self.booked, "free": self.free,
                "label": f"{self.booked}/{self.capacity}"}


@functools.cache
def _exception_on() -> sa.Select[tuple[CalendarException]]:
    """Built once: every ticket issued asks whether the station is open."""
    return sa.select(CalendarException).where(CalendarException.day == sa.bindparam("day"))


def hours_on(session: Session, day: date) -> DayHours | None:
    """The hours the station works on ``day``, or None when it is closed (from the process's
    configuration cache in a read session: the kiosk asks on every ticket)."""
    return cached_config(session, ("hours", day), lambda: _hours_on(session, day))


def _hours_on(session: Session, day: date) -> DayHours | None:
    exception = session.scalar(_exception_on(), {"day": day})
    weekday = day.weekday()
    if exception is not None:
        if exception.closed:
            return None
        weekday = exception.hours_of_weekday if exception.hours_of_weekday is not None else weekday
    row = session.get(OpeningHours, weekday)
    if row is None or row.closed:
        return None
    return DayHours(row.opens_at, row.closes_at, row.lunch_from, row.lunch_until)


def closed_reason(session: Session, day: date) -> str | None:
    """Why the station is closed on ``day`` (None when it is open): the kiosk's closed
    message, cached like ``hours_on``."""
    return cached_config(session, ("closed_reason", day), lambda: _closed_reason(session, day))


def _closed_reason(session: Session, day: date) -> str | None:
    exception = session.scalar(_exception_on(), {"day": day})
    if exception is not None and exception.closed:
        return exception.reason
    return None if hours_on(session, day) else f"{WEEKDAYS_ZH[day.weekday()]}不营业"


def capacity_default(session: Session, vehicle_class: str) -> int:
    return int(settings.get(session, f"booking.capacity.{vehicle_class}"))


def slot_times(session: Session, day: date) -> list[tuple[time, time]]:
    """Start and end of every slot of ``day`` (none over a lunch break the station keeps)."""
    hours = hours_on(session, day)
    if hours is None:
        return []
    length = timedelta(minutes=int(settings.get(session, "booking.slot_minutes")))
    out: list[tuple[time, time]] = []
    cursor = datetime.combine(day, hours.opens_at)
    close = datetime.combine(day, hours.closes_at)
    while cursor + length <= close:
        end = cursor + length
        in_lunch = (hours.lunch_from is not None and hours.lunch_until is not None
                    and cursor.time() < hours.lunch_until and end.time() > hours.lunch_from)
        if not in_lunch:
            out.append((cursor.time(), end.time()))
        cursor = end
    return out


def slots(session: Session, clock: Clock, day: date, vehicle_class: str) -> list[Slot]:
    """Every slot of ``day`` for ``vehicle_class`` with its capacity and current load."""
    if vehicle_class not in VEHICLE_CLASSES:
        raise ValidationError("vehicle_class_unknown", "车型类别无效", "Unknown vehicle class")
    times = slot_times(session, day)
    if not times:
        return []
    overrides = {r.starts_at: r.capacity for r in session.scalars(sa.select(SlotCapacity).where(
        SlotCapacity.day == day, SlotCapacity.vehicle_class == vehicle_class))}
    loads = {r.starts_at: r.booked for r in session.scalars(sa.select(SlotLoad).where(
        SlotLoad.day == day, SlotLoad.vehicle_class == vehicle_class))}
    default = capacity_default(session, vehicle_class)
    return [Slot(day, start, end, local_instant(clock, day, start), overrides.get(start, default),
                 loads.get(start, 0))
            for start, end in times]


def find_slot(session: Session, clock: Clock, day: date, starts_at: time,
              vehicle_class: str) -> Slot:
    for slot in slots(session, clock, day, vehicle_class):
        if slot.starts_at == starts_at:
            return slot
    raise ValidationError("slot_unknown", "该时段不可预约（不在营业时间内）",
                          "No bookable slot at that time (outside opening hours)",
                          day=day.isoformat(), starts_at=starts_at.strftime("%H:%M"))


def local_instant(clock: Clock, day: date, at: time) -> datetime:
    """A station-local date and time as an aware UTC instant."""
    return datetime.combine(day, at, tzinfo=clock.tz).astimezone(clock.now().tzinfo)


def set_hours(session: Session, clock: Clock, actor: Actor, weekday: int, *, closed: bool,
              opens_at: time | None = None, closes_at: time | None = None,
              lunch_from: time | None = None, lunch_until: time | None = None) -> OpeningHours:
    if not 0 <= weekday <= 6:
        raise ValidationError("weekday_invalid", "星期无效", "Invalid weekday")
    if not closed:
        if opens_at is None or closes_at is None or opens_at >= closes_at:
            raise ValidationError("hours_invalid", "营业时间无效：开始须早于结束",
                                  "Opening hours must start before they end")
        if (lunch_from is None) != (lunch_until is None):
            raise ValidationError("lunch_invalid", "午休须同时填写开始和结束，或都不填（中午不休）",
                                  "Give both ends of the lunch break, or neither (open over lunch)")
        if lunch_from and lunch_until and not opens_at < lunch_from < lunch_until < closes_at:
            raise ValidationError("lunch_invalid", "午休须在营业时间之内", "Lunch must lie within opening hours")
    row = session.get(OpeningHours, weekday) or OpeningHours(weekday=weekday)
    row.closed = closed
    row.opens_at, row.closes_at = opens_at or time(0), closes_at or time(0)
    row.lunch_from, row.lunch_until = lunch_from, lunch_until
    session.add(row)
    audit.record(session, clock, actor, "calendar.hours_set", entity_type="opening_hours",
                 entity_id=weekday, closed=closed,
                 hours=None if closed else f"{opens_at:%H:%M}-{closes_at:%H:%M}",
                 lunch=f"{lunch_from:%H:%M}-{lunch_until:%H:%M}" if lunch_from else None)
    return row


def set_exception(session: Session, clock: Clock, actor: Actor, day: date, *, closed: bool,
                  reason: str, hours_of_weekday: int | None = None) -> CalendarException:
    reason = reason.strip()
    if not reason:
        raise ValidationError("reason_required", "请填写原因（如节假日、调休）", "A reason is required")
    if not closed and hours_of_weekday is None:
        raise ValidationError("hours_required", "调休上班须指定按星期几的营业时间",
                              "An extra working day needs the weekday whose hours apply")
    row = session.scalar(sa.select(CalendarException).where(CalendarException.day == day))
    row = row or CalendarException(day=day)
    row.closed, row.reason, row.hours_of_weekday = closed, reason, None if closed else hours_of_weekday
    session.add(row)
    audit.record(session, clock, actor, "calendar.exception_set", entity_type="calendar_exceptions",
                 entity_id=day.isoformat(), closed=closed, reason=reason)
    return row


def set_capacity(session: Session, clock: Clock, actor: Actor, day: date, starts_at: time,
                 vehicle_class: str, capacity: int) -> Slot:
    """Change one slot's capacity; it may not drop below what is already booked."""
    slot = find_slot(session, clock, day, starts_at, vehicle_class)
    if capacity < slot.booked:
        raise ValidationError("capacity_below_booked", f"该时段已有{slot.booked}个预约，名额不能少于此数",
                              f"{slot.booked} bookings already hold this slot",
                              booked=slot.booked)
    row = session.scalar(sa.select(SlotCapacity).where(
        SlotCapacity.day == day, SlotCapacity.starts_at == starts_at,
        SlotCapacity.vehicle_class == vehicle_class))
    row = row or SlotCapacity(day=day, starts_at=starts_at, vehicle_class=vehicle_class)
    row.capacity = capacity
    session.add(row)
    audit.record(session, clock, actor, "calendar.capacity_set", entity_type="slot_capacities",
                 entity_id=f"{day} {starts_at:%H:%M} {vehicle_class}", capacity=capacity)
    return find_slot(session, clock, day, starts_at, vehicle_class)


def bookable_slots(session: Session, clock: Clock, day: date, vehicle_class: str) -> list[Slot]:
    """The slots of ``day`` that can still be booked (far enough ahead, inside the window)."""
    today = clock.today()
    if not today <= day <= today + timedelta(days=int(settings.get(session, "booking.days_ahead"))):
        return []
    lead = timedelta(minutes=int(settings.get(session, "booking.min_lead_minutes")))
    return [sl for sl in slots(session, clock, day, vehicle_class) if sl.start >= clock.now() + lead]


def bookable_days(session: Session, clock: Clock, vehicle_class: str) -> list[dict[str, Any]]:
    """Each day of the booking window with its free seats, or why it is closed."""
    today = clock.today()
    out = []
    for offset in range(int(settings.get(session, "booking.days_ahead")) + 1):
        day = today + timedelta(days=offset)
        open_slots = bookable_slots(session, clock, day, vehicle_class)
        out.append({"day": day.isoformat(), "weekday": WEEKDAYS_ZH[day.weekday()],
                    "open": bool(open_slots), "reason": closed_reason(session, day),
                    "free": sum(sl.free for sl in open_slots),
                    "capacity": sum(sl.capacity for sl in open_slots)})
    return out


def upcoming_exceptions(session: Session, since: date) -> list[CalendarException]:
    return list(session.scalars(sa.select(CalendarException).where(CalendarException.day >= since)
                                .order_by(CalendarException.day)))


def open_now(session: Session, clock: Clock) -> dict[str, Any]:
    """Is the station serving now? With the hours of today and a message for the kiosk."""
    local = clock.local()
    hours = hours_on(session, local.date())
    if hours is None:
        reason = closed_reason(session, local.date()) or "今日不营业"
        return {"open": False, "message_zh": f"今日不营业（{reason}）",
                "message_en": "The station is closed today", "opens_at": None, "closes_at": None}
    now = local.time()
    out = {"opens_at": hours.opens_at.strftime("%H:%M"), "closes_at": hours.closes_at.strftime("%H:%M")}
    if now < hours.opens_at or now >= hours.closes_at:
        return {"open": False, **out,
                "message_zh": f"营业时间 {out['opens_at']}–{out['closes_at']}，现在不能取号",
                "message_en": f"Opening hours {out['opens_at']}–{out['closes_at']}: no tickets now"}
    if hours.lunch_from and hours.lunch_until and hours.lunch_from <= now < hours.lunch_until:
        until = hours.lunch_until.strftime("%H:%M")
        return {"open": False, **out, "message_zh": f"午休中，{until}后可取号",
                "message_en": f"Lunch break: tickets again from {until}"}
    return {"open": True, **out, "message_zh": "", "message_en": ""}
