"""Appointments (预约): the station's calendar, slot capacity and load, bookings, phone
blocks against scalpers and no-shows, and the outbox of owner notifications."""

from __future__ import annotations

import enum
from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, IdMixin, str_enum
from .visit import Visit


class OpeningHours(Base):
    """Opening hours of one weekday (0 = Monday). No row, or ``closed``: no service that day."""

    __tablename__ = "opening_hours"
    weekday: Mapped[int] = mapped_column(primary_key=True)
    closed: Mapped[bool] = mapped_column(default=False)
    opens_at: Mapped[time]
    closes_at: Mapped[time]
    #: lunch break; both None when the station keeps serving over lunch
    lunch_from: Mapped[time | None]
    lunch_until: Mapped[time | None]


class CalendarException(IdMixin, Base):
    """A date that differs from its weekday: a holiday (closed) or a working day on a weekend
    (调休), with the hours of another weekday."""

    __tablename__ = "calendar_exceptions"
    day: Mapped[date] = mapped_column(unique=True)
    closed: Mapped[bool]
    #: for an extra working day: the weekday whose hours apply
    hours_of_weekday: Mapped[int | None]
    reason: Mapped[str] = mapped_column(sa.String(100))


class SlotCapacity(IdMixin, Base):
    """Capacity of one slot on one date for one vehicle class, overriding the default."""

    __tablename__ = "slot_capacities"
    __table_args__ = (sa.UniqueConstraint("day", "starts_at", "vehicle_class"),)
    day: Mapped[date]
    starts_at: Mapped[time]
    vehicle_class: Mapped[str] = mapped_column(sa.String(16))
    capacity: Mapped[int]


class SlotLoad(Base):
    """How many active bookings a slot holds. Incremented only by a conditional UPDATE that
    checks the capacity, so concurrent bookings can never overbook."""

    __tablename__ = "slot_loads"
    day: Mapped[date] = mapped_column(primary_key=True)
    starts_at: Mapped[time] = mapped_column(primary_key=True)
    vehicle_class: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    booked: Mapped[int] = mapped_column(default=0)


class Channel(enum.StrEnum):
    """How a booking was made; online channels count toward the seeds' ≥ 50 % target."""

    POLICE_APP = "police_app"  # 交管12123 (imported)
    WEB = "web"                # the station's booking page / WeChat
    PHONE = "phone"            # entered by staff from a phone call
    SMS = "sms"
    COUNTER = "counter"        # entered at the counter or consulting desk
    KIOSK = "kiosk"            # 现场预约 at the kiosk


ONLINE_CHANNELS = frozenset({Channel.POLICE_APP, Channel.WEB})
CHANNEL_LABELS: dict[Channel, tuple[str, str]] = {
    Channel.POLICE_APP: ("交管12123", "Police app (12123)"),
    Channel.WEB: ("网上预约", "Station website"),
    Channel.PHONE: ("电话预约", "Phone"),
    Channel.SMS: ("短信预约", "SMS"),
    Channel.COUNTER: ("窗口预约", "At the counter"),
    Channel.KIOSK: ("现场预约", "On site (kiosk)"),
}


class AppointmentStatus(enum.StrEnum):
    ACTIVE = "active"          # booked, not yet arrived
    CHECKED_IN = "checked_in"  # arrived (on time, early, or late → walk-in queue)
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class Arrival(enum.StrEnum):
    """When a booked vehicle checked in, relative to its slot's check-in window."""

    ON_TIME = "on_time"
    EARLY = "early"
    LATE = "late"      # dropped into the walk-in queue


class Appointment(IdMixin, Base):
    __tablename__ = "appointments"
    __table_args__ = (
        # one active booking per plate, enforced by the database
        sa.Index("uq_appointments_active_plate", "plate_type", "plate", unique=True,
                 sqlite_where=sa.text("status = 'active'"),
                 postgresql_where=sa.text("status = 'active'")),
        sa.Index("ix_appointments_phone_day", "phone", "day"),
        sa.Index("ix_appointments_day_status", "day", "status"),
    )
    #: the code the owner shows at the kiosk (unguessable, no look-alike characters)
    code: Mapped[str] = mapped_column(sa.String(12), unique=True)
    channel: Mapped[Channel] = mapped_column(str_enum(Channel, 16))
    status: Mapped[AppointmentStatus] = mapped_column(str_enum(AppointmentStatus, 16))
    plate_type: Mapped[str] = mapped_column(sa.String(2))
    plate: Mapped[str] = mapped_column(sa.String(10))
    vin_tail: Mapped[str | None] = mapped_column(sa.String(6))
    contact_name: Mapped[str] = mapped_column(sa.String(32))
    phone: Mapped[str] = mapped_column(sa.String(11))
    vehicle_class: Mapped[str] = mapped_column(sa.String(16))
    day: Mapped[date]
    slot_starts_at: Mapped[time]
    #: the slot's start as an instant (UTC), for ordering and the check-in window
    slot_start: Mapped[datetime]
    visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visits.id"), index=True)
    #: for imported bookings: the police platform's own reference
    external_ref: Mapped[str | None] = mapped_column(sa.String(40), unique=True)
    arrival: Mapped[Arrival | None] = mapped_column(str_enum(Arrival, 16))
    created_at: Mapped[datetime]
    checked_in_at: Mapped[datetime | None]
    cancelled_at: Mapped[datetime | None]
    reminded_day_before_at: Mapped[datetime | None]
    reminded_soon_at: Mapped[datetime | None]
    visit: Mapped[Visit | None] = relationship()


class PhoneBlock(IdMixin, Base):
    """A phone number barred from booking until a date (no-shows, scalping)."""

    __tablename__ = "phone_blocks"
    phone: Mapped[str] = mapped_column(sa.String(11), index=True)
    blocked_until: Mapped[datetime]
    reason: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime]
    lifted_at: Mapped[datetime | None]
    lifted_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class OutboxMessage(IdMixin, Base):
    """A message to an owner (reminders …): written first, delivered by the notifier."""

    __tablename__ = "outbox_messages"
    kind: Mapped[str] = mapped_column(sa.String(32), index=True)
    phone: Mapped[str] = mapped_column(sa.String(11))
    body: Mapped[str] = mapped_column(sa.String(500))
    appointment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("appointments.id"))
    status: Mapped[OutboxStatus] = mapped_column(str_enum(OutboxStatus, 16))
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.String(200))
