"""Calling tickets to the counters (叫号): next, recall, a specific ticket, skip, park, transfer.

Call next takes the first ticket in the priority policy's order. Two windows pressing "next"
at the same moment never get the same ticket: on SQLite the write transaction (BEGIN
IMMEDIATE) serialises them; on PostgreSQL each candidate row is taken with
``FOR UPDATE SKIP LOCKED``, so a window passes over a ticket another window is taking.

A call is said as 「请A012号到3号窗口办理」: the text is built here once and carried by the
``ticket_called`` signal to the lobby display, the window's LED display and the speech.
"""

from __future__ import annotations

import functools
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from station import signals
from station.clock import Clock
from station.db import flushed_connection, update_row
from station.domain import priority
from station.domain.journey import WAITING_FOR_COUNTER, VisitState
from station.domain.masking import mask_plate
from station.errors import Conflict, NotFound
from station.models import (
    Appointment,
    CallState,
    Counter,
    OpenState,
    Ticket,
    Visit,
    VisitCategory,
    VisitTransition,
)
from station.models.base import UTCDateTime

from . import audit, queue, settings, tickets, visits
from .actors import Actor


def call_text(label: str, counter_number: int) -> str:
    return f"请{label}号到{counter_number}号窗口办理"


def get_counter(session: Session, counter_id: int) -> Counter:
    counter = session.get(Counter, counter_id)
    if counter is None:
        raise NotFound("counter_not_found", "未找到该窗口", "No such counter", id=counter_id)
    return counter


def _served_at(counter: Counter) -> sa.ColumnElement[bool]:
    return sa.and_(Ticket.counter_id == counter.id, Ticket.call_state == CallState.CALLED)


def current(session: Session, counter: Counter) -> Ticket | None:
    """The ticket this window is serving now."""
    return session.scalar(sa.select(Ticket).where(_served_at(counter)))


def _require_free(session: Session, counter: Counter) -> None:
    if counter.state is not OpenState.OPEN:
        raise Conflict("counter_closed", f"{counter.name}未开放", f"{counter.name} is not open")
    busy = flushed_connection(session).scalar(sa.select(Ticket.label).where(_served_at(counter)))
    if busy is not None:
        raise Conflict("counter_busy", f"请先办结、过号或挂起当前号码{busy}",
                       f"Finish, skip or park {busy} first", ticket=busy)


def _take(session: Session, ticket_id: int) -> Ticket | None:
    """The ticket, if it is still waiting and no other window is taking it right now."""
    stmt = sa.select(Ticket).where(Ticket.id == ticket_id, Ticket.call_state == CallState.WAITING)
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=Ticket)
    return session.scalar(stmt)


def _announce(session: Session, clock: Clock, actor: Actor, ticket: Ticket, counter: Counter,
              action: str) -> None:
    text = call_text(ticket.label, counter.number)
    audit.record(session, clock, actor, f"ticket.{action}", entity=ticket, label=ticket.label,
                 counter=counter.number)
    signals.send_after_commit(
        session, signals.ticket_called, ticket_id=ticket.id, label=ticket.label,
        visit_id=ticket.visit_id, counter_id=counter.id, counter_number=counter.number,
        counter_name=counter.name, plate=mask_plate(ticket.visit.vehicle.plate), text=text,
        action=action, call_count=ticket.call_count, at=clock.now().isoformat())


def _call(session: Session, clock: Clock, actor: Actor, ticket: Ticket, counter: Counter) -> Ticket:
    update_row(session, ticket, call_state=CallState.CALLED, counter_id=counter.id,
               called_at=clock.now(), call_count=ticket.call_count + 1)
    visits.transition(session, clock, actor, ticket.visit, VisitState.CALLED,
                      reason=call_text(ticket.label, counter.number))
    _announce(session, clock, actor, ticket, counter, "called")
    return ticket


#: how many rows each candidate query takes (see ``_candidates``)
CANDIDATES_PER_RULE = 16


def _late_expr(dialect: str, bound: sa.BindParameter[float]) -> sa.ColumnElement[bool]:
    """``arrived_at > slot_start + late_min`` in the database's own date arithmetic; ``bound``
    is ``late_min`` in the unit :func:`_late_bound` gives for the dialect."""
    if dialect == "postgresql":
        return sa.func.extract("epoch", Visit.arrived_at - Appointment.slot_start) > bound
    return sa.func.julianday(Visit.arrived_at) - sa.func.julianday(Appointment.slot_start) > bound


def _late_bound(dialect: str, late_min: int) -> float:
    return late_min * 60 if dialect == "postgresql" else late_min / 1440


@functools.cache
def _candidate_statement(dialect: str) -> sa.CompoundSelect:
    """One statement for the five candidate lists of ``_candidates``, built once per dialect
    (building it cost more than running it); ``now`` and ``late`` are its parameters."""
    now = sa.bindparam("now", type_=UTCDateTime())
    effective = sa.func.coalesce(Ticket.requeued_at, Visit.arrived_at)
    base = (sa.select(Visit.id, Visit.category, Visit.arrived_at, Visit.special_needs,
                      Appointment.slot_start, Ticket.id.label("ticket_id"), Ticket.requeued_at)
            .join(Ticket, Ticket.visit_id == Visit.id)
            .outerjoin(Appointment, Appointment.visit_id == Visit.id)
            .where(Visit.state.in_(WAITING_FOR_COUNTER), Visit.arrived_at.is_not(None),
                   Ticket.call_state == CallState.WAITING,
                   sa.or_(Ticket.hold_until.is_(None), Ticket.hold_until <= now))
            .limit(CANDIDATES_PER_RULE))
    late = _late_expr(dialect, sa.bindparam("late", type_=sa.Float()))
    on_time_booking = sa.and_(Visit.category == VisitCategory.BOOKED, Ticket.requeued_at.is_(None),
                              Appointment.slot_start.is_not(None), sa.not_(late))
    fresh_retest = sa.and_(Visit.category == VisitCategory.RETEST, Ticket.requeued_at.is_(None))
    lists = [
        base.order_by(effective, Visit.id),
        base.where(Visit.special_needs.is_(True)).order_by(effective, Visit.id),
        base.where(on_time_booking).order_by(Appointment.slot_start, Visit.id),
        base.where(fresh_retest).order_by(Visit.arrived_at, Visit.id),
        base.where(sa.not_(on_time_booking), sa.not_(fresh_retest)).order_by(effective, Visit.id),
    ]
    # each list's ORDER BY and LIMIT stay inside its own subquery
    return sa.union_all(*(sa.select(*one.subquery().c) for one in lists))


def _candidates(session: Session, clock: Clock) -> list[tuple[priority.Position, int]]:
    """The callable tickets that can come first, in the policy's order, with their ticket ids.

    The whole queue (thousands of rows on a busy day) is not read for a call. Whoever comes
    first under ``station.domain.priority`` is the first row of one of five short lists, read
    in one statement: earliest (re)queue time (escalation and walk-in order), green channel,
    on-time or early bookings by slot, retests by arrival, and the rest by arrival. The policy
    then orders these few rows; its first entries are the queue's first entries.
    """
    now = clock.now()
    config = queue.policy_config(session)
    dialect = session.get_bind().dialect.name
    rows = {row.id: row for row in flushed_connection(session).execute(
        _candidate_statement(dialect), {"now": now, "late": _late_bound(dialect, config.late_min)})}
    tickets_of = {row.id: row.ticket_id for row in rows.values()}
    return [(p, tickets_of[p.id]) for p in priority.order([queue._entry(r) for r in rows.values()],
                                                           now, config)]


def call_next(session: Session, clock: Clock, actor: Actor, counter: Counter) -> Ticket | None:
    """Call the first ticket in the policy's order to ``counter``; None when nobody waits."""
    _require_free(session, counter)
    for _, ticket_id in _candidates(session, clock):
        ticket = _take(session, ticket_id)
        if ticket is not None:
            return _call(session, clock, actor, ticket, counter)
    # every candidate is being taken by another window (PostgreSQL): look at the whole queue
    now = clock.now()
    for place in queue.counter_queue(session, clock):
        if place.ticket_id is None or (place.hold_until is not None and place.hold_until > now):
            continue
        ticket = _take(session, place.ticket_id)
        if ticket is not None:
            return _call(session, clock, actor, ticket, counter)
    return None


def call_ticket(session: Session, clock: Clock, actor: Actor, counter: Counter,
                label: str) -> Ticket:
    """Call a specific ticket (also a skipped or parked one) by its number."""
    ticket = session.scalar(sa.select(Ticket).where(Ticket.day == clock.today(),
                                                    Ticket.label == label.strip().upper()))
    if ticket is None:
        raise NotFound("ticket_not_found", f"今天没有{label}号", f"No ticket {label} today")
    _require_free(session, counter)
    if ticket.call_state not in (CallState.WAITING, CallState.PARKED):
        raise Conflict("ticket_not_waiting", f"{ticket.label}号不在等候中", f"{ticket.label} is not waiting")
    if ticket.call_state is CallState.PARKED and ticket.counter_id != counter.id:
        raise Conflict("ticket_parked_elsewhere", f"{ticket.label}号挂起在其他窗口",
                       f"{ticket.label} is parked at another counter")
    ticket.hold_until = None
    return _call(session, clock, actor, ticket, counter)


def _called_here(session: Session, counter: Counter) -> Ticket:
    ticket = current(session, counter)
    if ticket is None:
        raise Conflict("counter_idle", "本窗口当前没有正在办理的号码", "This counter has no current ticket")
    return ticket


def recall(session: Session, clock: Clock, actor: Actor, counter: Counter) -> Ticket:
    """Say the current call again (重呼)."""
    ticket = _called_here(session, counter)
    ticket.call_count += 1
    _announce(session, clock, actor, ticket, counter, "recalled")
    return ticket


def _waiting_state_before_call(session: Session, ticket: Ticket) -> VisitState:
    """Where the visit waited before it was called (with its keys handed over, or not)."""
    previous = session.scalar(sa.select(VisitTransition.from_state).where(
        VisitTransition.visit_id == ticket.visit_id, VisitTransition.to_state == VisitState.CALLED)
        .order_by(VisitTransition.id.desc()).limit(1))
    return previous or VisitState.CHECKED_IN


def skip(session: Session, clock: Clock, actor: Actor, counter: Counter) -> Ticket:
    """The owner did not come (过号): back to the end of the queue, not called again for
    ``counter.skip_hold_minutes``."""
    ticket = _called_here(session, counter)
    now = clock.now()
    hold = timedelta(minutes=int(settings.get(session, "counter.skip_hold_minutes")))
    visits.transition(session, clock, actor, ticket.visit, _waiting_state_before_call(session, ticket),
                      reason=f"过号：{counter.name}")
    ticket.call_state, ticket.counter_id = CallState.WAITING, None
    ticket.requeued_at, ticket.hold_until = now, now + hold
    audit.record(session, clock, actor, "ticket.skipped", entity=ticket, counter=counter.number)
    signals.send_after_commit(session, signals.ticket_changed, **tickets.ticket_event(ticket))
    return ticket


def park(session: Session, clock: Clock, actor: Actor, counter: Counter) -> Ticket:
    """Set the current ticket aside (挂起): out of the queue until this window calls it again."""
    ticket = _called_here(session, counter)
    visits.transition(session, clock, actor, ticket.visit, _waiting_state_before_call(session, ticket),
                      reason=f"挂起：{counter.name}")
    update_row(session, ticket, call_state=CallState.PARKED)
    audit.record(session, clock, actor, "ticket.parked", entity=ticket, counter=counter.number)
    return ticket


def transfer(session: Session, clock: Clock, actor: Actor, counter: Counter,
             to_counter: Counter) -> Ticket:
    """Send the current ticket to another window (转窗口); it is called there at once."""
    ticket = _called_here(session, counter)
    if to_counter.id == counter.id:
        raise Conflict("same_counter", "不能转到本窗口", "That is this counter")
    _require_free(session, to_counter)
    ticket.counter_id, ticket.called_at = to_counter.id, clock.now()
    ticket.call_count += 1
    _announce(session, clock, actor, ticket, to_counter, "transferred")
    return ticket


def finish(session: Session, clock: Clock, actor: Actor, counter: Counter) -> Ticket:
    """The counter is done with its current ticket, whose visit has moved on (registered,
    refused or cancelled at the counter)."""
    ticket = _called_here(session, counter)
    if ticket.visit.state is VisitState.CALLED:
        raise Conflict("visit_still_at_counter", f"{ticket.label}号尚未登记，请先登记、过号或挂起",
                       f"{ticket.label} is not registered yet: register, skip or park it")
    ticket.call_state = CallState.SERVED
    audit.record(session, clock, actor, "ticket.served", entity=ticket, counter=counter.number)
    return ticket
