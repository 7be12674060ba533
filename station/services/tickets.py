"""Tickets (取号): issued at check-in, numbered per day and category, printed afterwards.

A ticket exists before anything is printed: the printer worker (``station.printing``) picks up
tickets whose ``print_state`` is pending, after the issuing transaction has committed; a
printer that fails leaves the ticket issued and marked ``failed`` (the kiosk shows the number
and QR code on screen, staff see an alert) and it can be printed again.
"""

from __future__ import annotations

import functools
import secrets

import sqlalchemy as sa
from sqlalchemy.orm import Session

from drivers.printer import TicketPrintout
from station import signals
from station.clock import Clock
from station.db import cached_config, flushed_connection, insert_row, inserted_here
from station.domain.masking import mask_plate
from station.errors import Conflict, NotFound
from station.models import (
    TICKET_CATEGORY_LABELS,
    DeviceKind,
    HardwareDevice,
    PrintState,
    Ticket,
    TicketCategory,
    Visit,
)

from . import audit, sequences, settings
from .actors import Actor


@functools.cache
def _statements() -> tuple[sa.Select[tuple[int]], sa.Select[tuple[int]]]:
    """Built once (every ticket issued runs both): a kiosk's printer, a visit's ticket id."""
    printer = sa.select(HardwareDevice.id).where(
        HardwareDevice.client_device_id == sa.bindparam("kiosk_id"),
        HardwareDevice.enabled.is_(True),
        HardwareDevice.kind == DeviceKind.TICKET_PRINTER).order_by(HardwareDevice.id).limit(1)
    return printer, sa.select(Ticket.id).where(Ticket.visit_id == sa.bindparam("visit_id"))


def kiosk_printer_id(session: Session, kiosk_id: int | None) -> int | None:
    """The id of the kiosk's enabled ticket printer, if it has one (configuration: kept by the
    process's cache, ``station.db.cached_config``, as the settings are)."""
    if kiosk_id is None:
        return None
    return cached_config(session, ("kiosk_printer", kiosk_id), lambda: flushed_connection(
        session).scalar(_statements()[0], {"kiosk_id": kiosk_id}))


def issue(session: Session, clock: Clock, actor: Actor, visit: Visit, category: TicketCategory | str,
          *, kiosk_id: int | None = None) -> Ticket:
    """Number and store a ticket for ``visit``; printing follows after commit."""
    category = TicketCategory(category)
    if not inserted_here(session, visit) and (  # a visit opened just now has no ticket
            flushed_connection(session).scalar(_statements()[1], {"visit_id": visit.id}) is not None):
        raise Conflict("ticket_exists", "该车辆已取号", "This vehicle already has a ticket")
    day = clock.today()
    prefix = str(settings.get(session, f"tickets.prefix.{category.value}"))
    number = sequences.next_value(session, f"ticket:{prefix}", day)
    printer_id = kiosk_printer_id(session, kiosk_id)
    ticket = insert_row(session, Ticket(
        visit_id=visit.id, day=day, category=category, number=number, label=f"{prefix}{number:03d}",
        progress_token=secrets.token_urlsafe(18), issued_at=clock.now(), kiosk_id=kiosk_id,
        print_state=PrintState.PENDING if printer_id else PrintState.NO_PRINTER))
    audit.record(session, clock, actor, "ticket.issued", entity=ticket, label=ticket.label)
    signals.send_after_commit(session, signals.ticket_changed, **ticket_event(ticket))
    return ticket


def ticket_event(ticket: Ticket) -> dict[str, object]:
    return {"ticket_id": ticket.id, "label": ticket.label, "visit_id": ticket.visit_id,
            "kiosk_id": ticket.kiosk_id, "print_state": ticket.print_state.value,
            "print_error": ticket.print_error}


def get(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise NotFound("ticket_not_found", "未找到该排队号", "Ticket not found", id=ticket_id)
    return ticket


def get_many(session: Session, ticket_ids: list[int]) -> list[Ticket]:
    """Tickets in the order of ``ticket_ids``, with their visits and vehicles, in one
    statement (the printer takes a burst's tickets a batch at a time)."""
    found = {t.id: t for t in session.scalars(sa.select(Ticket).where(Ticket.id.in_(ticket_ids)))}
    missing = [ticket_id for ticket_id in ticket_ids if ticket_id not in found]
    if missing:
        raise NotFound("ticket_not_found", "未找到该排队号", "Ticket not found", id=missing[0])
    return [found[ticket_id] for ticket_id in ticket_ids]


def by_token(session: Session, token: str) -> Ticket:
    ticket = session.scalar(sa.select(Ticket).where(Ticket.progress_token == token))
    if ticket is None:
        raise NotFound("progress_not_found", "链接无效或已过期", "This link is not valid")
    return ticket


def for_visit(session: Session, visit_id: int) -> Ticket:
    ticket = session.scalar(sa.select(Ticket).where(Ticket.visit_id == visit_id))
    if ticket is None:
        raise NotFound("ticket_not_found", "该车辆尚未取号", "This visit has no ticket", visit_id=visit_id)
    return ticket


def for_day(session: Session, clock: Clock, day: object = None) -> list[Ticket]:
    return list(session.scalars(sa.select(Ticket).where(Ticket.day == (day or clock.today()))
                                .order_by(Ticket.id)))


def reprint(session: Session, clock: Clock, actor: Actor, ticket: Ticket) -> Ticket:
    """Print again (a printer that was out of paper, or an owner who lost the paper)."""
    if kiosk_printer_id(session, ticket.kiosk_id) is None:
        raise Conflict("no_printer", "该号码没有可用的取号打印机", "No ticket printer for this ticket")
    ticket.print_state, ticket.print_error = PrintState.PENDING, None
    audit.record(session, clock, actor, "ticket.reprint", entity=ticket, label=ticket.label)
    signals.send_after_commit(session, signals.ticket_changed, **ticket_event(ticket))
    return ticket


def record_print(session: Session, clock: Clock, ticket_id: int, *, printed: bool,
                 error: str | None = None) -> Ticket:
    ticket = get(session, ticket_id)
    ticket.print_attempts += 1
    ticket.print_state = PrintState.PRINTED if printed else PrintState.FAILED
    ticket.print_error = None if printed else (error or "打印失败")[:200]
    ticket.printed_at = clock.now() if printed else ticket.printed_at
    signals.send_after_commit(session, signals.ticket_changed, **ticket_event(ticket))
    return ticket


def pending(session: Session, clock: Clock) -> list[int]:
    return list(session.scalars(sa.select(Ticket.id).where(
        Ticket.day == clock.today(), Ticket.print_state == PrintState.PENDING).order_by(Ticket.id)))


def progress_url(public_url: str, ticket: Ticket) -> str:
    return f"{public_url}/p/{ticket.progress_token}"


def printout(session: Session, clock: Clock, ticket: Ticket, public_url: str, *,
             people_ahead: int, estimated_wait_min: int) -> TicketPrintout:
    """What goes on the paper, as the printer driver takes it."""
    return TicketPrintout(
        station_name=str(settings.get(session, "station.name")), number=ticket.label,
        category=TICKET_CATEGORY_LABELS[ticket.category][0],
        plate=mask_plate(ticket.visit.vehicle.plate), issued_at=clock.local(ticket.issued_at),
        people_ahead=people_ahead, estimated_wait_min=estimated_wait_min,
        progress_url=progress_url(public_url, ticket),
        hotline=str(settings.get(session, "station.hotline")),
        window_hint=str(settings.get(session, "tickets.next_step")))
