"""Queue tickets (排队号): one per visit, numbered per day and category, and their printing."""

from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, IdMixin, str_enum
from .visit import Visit


class TicketCategory(enum.StrEnum):
    BOOKED = "booked"      # 预约 (on time or early)
    WALK_IN = "walk_in"    # 现场 (and late bookings)
    RETEST = "retest"      # 复检


TICKET_CATEGORY_LABELS: dict[TicketCategory, tuple[str, str]] = {
    TicketCategory.BOOKED: ("预约", "Booked"),
    TicketCategory.WALK_IN: ("现场", "Walk-in"),
    TicketCategory.RETEST: ("复检", "Retest"),
}


class PrintState(enum.StrEnum):
    PENDING = "pending"      # waiting for the printer worker
    PRINTED = "printed"      # the printer took it and its status was fine afterwards
    FAILED = "failed"        # the printer refused or did not answer; shown on screen instead
    NO_PRINTER = "no_printer"  # issued where no printer is configured (e.g. the counter)


class CallState(enum.StrEnum):
    """Where a ticket stands at the counters (叫号)."""

    WAITING = "waiting"    # in the queue (again, after a skip: at its end)
    CALLED = "called"      # called to a counter, being served there
    PARKED = "parked"      # set aside at the counter (owner fetching papers); out of the queue
    SERVED = "served"      # the counter is done with it


class Ticket(IdMixin, Base):
    __tablename__ = "tickets"
    __table_args__ = (
        # numbers never repeat within a day, whatever the concurrency
        sa.UniqueConstraint("day", "label"),
        sa.UniqueConstraint("visit_id"),
    )
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visits.id"))
    day: Mapped[date] = mapped_column(index=True)
    category: Mapped[TicketCategory] = mapped_column(str_enum(TicketCategory, 16))
    number: Mapped[int]
    #: as printed and called, e.g. "A012"
    label: Mapped[str] = mapped_column(sa.String(8))
    #: opens the owner's progress page (unguessable; the ticket's QR code)
    progress_token: Mapped[str] = mapped_column(sa.String(32), unique=True)
    issued_at: Mapped[datetime]
    #: the kiosk that issued it (its printer prints it); None at the counter
    kiosk_id: Mapped[int | None] = mapped_column(sa.ForeignKey("client_devices.id"))
    print_state: Mapped[PrintState] = mapped_column(str_enum(PrintState, 16))
    print_attempts: Mapped[int] = mapped_column(default=0)
    print_error: Mapped[str | None] = mapped_column(sa.String(200))
    printed_at: Mapped[datetime | None]
    call_state: Mapped[CallState] = mapped_column(str_enum(CallState, 16), default=CallState.WAITING,
                                                  server_default=CallState.WAITING.value, index=True)
    #: the counter window it is called to (or parked at, or was served at)
    counter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("counters.id"))
    called_at: Mapped[datetime | None]
    call_count: Mapped[int] = mapped_column(default=0, server_default="0")
    #: after a skip (过号): back of the queue from this time, not called again before hold_until
    requeued_at: Mapped[datetime | None]
    hold_until: Mapped[datetime | None]
    visit: Mapped[Visit] = relationship(lazy="joined")
