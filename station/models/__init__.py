"""Typed SQLAlchemy 2 models, one module per aggregate. Import from here."""

from . import evidence, feedback, instrument, keys, tracking, window  # noqa: F401  (feature models)
from . import guard as _guard  # noqa: F401  (installs the append-only guard)
from .appointment import (
    CHANNEL_LABELS,
    ONLINE_CHANNELS,
    Appointment,
    AppointmentStatus,
    Arrival,
    CalendarException,
    Channel,
    OpeningHours,
    OutboxMessage,
    OutboxStatus,
    PhoneBlock,
    SlotCapacity,
    SlotLoad,
)
from .audit import AuditEntry
from .base import Base
from .device import DEVICE_KIND_LABELS, DeviceKind, HardwareDevice
from .inspection import (
    ITEM_OUTCOME_LABELS,
    VISIT_RESULT_LABELS,
    InspectionItemResult,
    ItemOutcome,
    VisitResult,
)
from .station import (
    STATION_KIND_LABELS,
    Counter,
    DayCounter,
    Lane,
    LaneStation,
    OpenState,
    PriceItem,
    PriceList,
    StationKind,
    StationSetting,
)
from .ticket import TICKET_CATEGORY_LABELS, CallState, PrintState, Ticket, TicketCategory
from .user import ROLE_LABELS, ClientDevice, ClientKind, Role, User, UserRole
from .vehicle import Vehicle
from .visit import ActorKind, Visit, VisitCategory, VisitTransition

__all__ = [
    "CHANNEL_LABELS",
    "DEVICE_KIND_LABELS",
    "ITEM_OUTCOME_LABELS",
    "ONLINE_CHANNELS",
    "ROLE_LABELS",
    "STATION_KIND_LABELS",
    "TICKET_CATEGORY_LABELS",
    "VISIT_RESULT_LABELS",
    "ActorKind",
    "Appointment",
    "AppointmentStatus",
    "Arrival",
    "AuditEntry",
    "Base",
    "CalendarException",
    "CallState",
    "Channel",
    "ClientDevice",
    "ClientKind",
    "Counter",
    "DayCounter",
    "DeviceKind",
    "HardwareDevice",
    "InspectionItemResult",
    "ItemOutcome",
    "Lane",
    "LaneStation",
    "OpenState",
    "OpeningHours",
    "OutboxMessage",
    "OutboxStatus",
    "PhoneBlock",
    "PriceItem",
    "PriceList",
    "PrintState",
    "Role",
    "SlotCapacity",
    "SlotLoad",
    "StationKind",
    "StationSetting",
    "Ticket",
    "TicketCategory",
    "User",
    "UserRole",
    "Vehicle",
    "Visit",
    "VisitCategory",
    "VisitResult",
    "VisitTransition",
]
