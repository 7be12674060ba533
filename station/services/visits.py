"""Visits and their one state machine (see ``station.domain.journey``)."""

from __future__ import annotations

import functools
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from station import signals
from station.clock import Clock
from station.db import flushed_connection, insert_row, inserted_here, update_row
from station.domain.journey import TERMINAL, VisitState, can_move, label
from station.errors import Conflict, NotFound
from station.models import Vehicle, Visit, VisitCategory, VisitTransition

from . import sequences
from .actors import Actor


@functools.cache
def _by_id(lock: bool) -> sa.Select[tuple[Visit]]:
    """Built once: on the hot paths (a car moving, a call) building a statement costs as
    much as running it."""
    stmt = sa.select(Visit).where(Visit.id == sa.bindparam("visit_id"))
    return stmt.with_for_update(of=Visit) if lock else stmt


def not_found(visit_id: int) -> NotFound:
    return NotFound("visit_not_found", "未找到该检验业务", "Visit not found", id=visit_id)


def get(session: Session, visit_id: int, *, for_update: bool = False) -> Visit:
    lock = for_update and session.get_bind().dialect.name == "postgresql"
    visit = session.scalar(_by_id(lock), {"visit_id": visit_id})
    if visit is None:
        raise not_found(visit_id)
    return visit


@functools.cache
def _active_for_vehicle() -> sa.Select[tuple[int]]:
    return sa.select(Visit.id).where(Visit.vehicle_id == sa.bindparam("vehicle_id"),
                                     Visit.state.not_in(TERMINAL))


def active_visit_id(session: Session, vehicle: Vehicle) -> int | None:
    """The id of the vehicle's visit in progress, if it has one."""
    return flushed_connection(session).scalar(_active_for_vehicle(), {"vehicle_id": vehicle.id})


def open_visit(session: Session, clock: Clock, actor: Actor, vehicle: Vehicle, *,
               category: VisitCategory, state: VisitState = VisitState.CHECKED_IN,
               reason: str | None = None, arrived_at: datetime | None = None,
               special_needs: bool = False) -> Visit:
    """Start a visit for a vehicle — booked ahead (``BOOKED``) or on arrival (``CHECKED_IN``,
    with ``arrived_at``, its place in the queue).

    A vehicle has at most one visit in progress.
    """
    if state not in (VisitState.BOOKED, VisitState.CHECKED_IN):
        raise ValueError("a visit starts booked or checked in")
    if not inserted_here(session, vehicle):  # a vehicle registered just now has no visit
        if session.get_bind().dialect.name == "postgresql":  # serialise openings per vehicle
            session.execute(sa.select(Vehicle.id).where(Vehicle.id == vehicle.id).with_for_update())
        current = active_visit_id(session, vehicle)
        if current is not None:
            raise Conflict("visit_in_progress", "该车辆已有正在办理的检验业务",
                           "This vehicle already has a visit in progress", visit_id=current)
    now = clock.now()
    visit = insert_row(session, Visit(
        inspection_serial=sequences.new_inspection_serial(session, clock), attempt=1,
        vehicle_id=vehicle.id, category=category, state=state, state_changed_at=now,
        created_at=now, arrived_at=arrived_at, special_needs=special_needs))
    _record(session, clock, actor, visit, None, state, reason)
    return visit


def transition(session: Session, clock: Clock, actor: Actor, visit: Visit, to: VisitState, *,
               reason: str | None = None) -> Visit:
    """Move a visit to ``to`` if the table allows it; record who, when, from, to and why."""
    to = VisitState(to)
    src = visit.state
    if not can_move(src, to):
        raise Conflict("visit_transition_refused",
                       f"当前状态“{label(src)}”不能转为“{label(to)}”",
                       f"A visit that is “{label(src, 'en')}” cannot become “{label(to, 'en')}”",
                       from_state=src.value, to_state=to.value)
    update_row(session, visit, state=to, state_changed_at=clock.now())
    _record(session, clock, actor, visit, src, to, reason)
    return visit


def history(session: Session, visit: Visit) -> list[VisitTransition]:
    return list(session.scalars(sa.select(VisitTransition)
                                .where(VisitTransition.visit_id == visit.id)
                                .order_by(VisitTransition.id)))


def _record(session: Session, clock: Clock, actor: Actor, visit: Visit,
            src: VisitState | None, dst: VisitState, reason: str | None) -> None:
    at = clock.now()
    insert_row(session, VisitTransition(visit_id=visit.id, from_state=src, to_state=dst, at=at,
                                        actor_kind=actor.kind, actor_id=actor.id,
                                        actor_name=actor.name, reason=reason))
    signals.send_after_commit(
        session, signals.visit_state_changed, visit_id=visit.id,
        serial=visit.inspection_serial, attempt=visit.attempt,
        from_state=src.value if src else None, to_state=dst.value, at=at.isoformat(),
        actor=actor.name, plate=visit.vehicle.plate, plate_type=visit.vehicle.plate_type)


def recent(session: Session, *, state: VisitState | str | None = None,
           limit: int = 100) -> list[Visit]:
    stmt = sa.select(Visit).order_by(Visit.id.desc()).limit(limit)
    if state:
        stmt = stmt.where(Visit.state == VisitState(state))
    return list(session.scalars(stmt))
