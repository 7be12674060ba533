"""Who waits for a counter, in which order, and for how long (叫号队列).

The order is the priority policy's (``station.domain.priority``): this module only gathers
the waiting visits and the station's settings, and estimates waits from rolling measured
service times and the counters that are open.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from station.clock import Clock
from station.db import flushed_connection
from station.domain import priority
from station.domain.journey import WAITING_FOR_COUNTER, VisitState
from station.domain.masking import mask_plate
from station.errors import NotFound
from station.models import (
    Appointment,
    CallState,
    Counter,
    OpenState,
    Ticket,
    Vehicle,
    Visit,
    VisitCategory,
    VisitTransition,
)
from station.models.base import UTCDateTime

from . import settings

#: how many recent counter services the rolling average takes
SERVICE_SAMPLE = 20


def policy_config(session: Session) -> priority.PolicyConfig:
    return priority.PolicyConfig(
        early_min=int(settings.get(session, "checkin.early_minutes")),
        late_min=int(settings.get(session, "checkin.late_minutes")),
        max_wait_min=int(settings.get(session, "queue.max_wait_minutes")),
        special_needs_priority=bool(settings.get(session, "queue.special_needs_priority")),
        first_come_first_served=settings.get(session, "queue.policy") == "fifo",
    )


@dataclass(frozen=True)
class QueuePlace:
    visit_id: int
    ticket_id: int | None
    ticket: str | None
    #: a skipped ticket is not called again before this time
    hold_until: datetime | None
    rank: int
    plate: str
    category: str
    arrived_at: datetime
    waited_min: int
    people_ahead: int
    estimated_wait_min: int
    reason_code: str
    reason_zh: str
    reason_en: str

    def as_dict(self, *, public: bool = False) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__dataclass_fields__}
        out["arrived_at"] = self.arrived_at.isoformat()
        out["hold_until"] = self.hold_until.isoformat() if self.hold_until else None
        if public:
            out["plate"] = mask_plate(self.plate)
        return out


def _waiting_query(*columns: Any) -> sa.Select[Any]:
    """The visits waiting for a counter (checked in, with no ticket or a waiting one)."""
    return (sa.select(*columns).select_from(Visit)
            .outerjoin(Appointment, Appointment.visit_id == Visit.id)
            .outerjoin(Ticket, Ticket.visit_id == Visit.id)
            .where(Visit.state.in_(WAITING_FOR_COUNTER), Visit.arrived_at.is_not(None),
                   sa.or_(Ticket.id.is_(None), Ticket.call_state == CallState.WAITING)))


#: what the policy orders by
_ORDER_COLUMNS = (Visit.id, Visit.category, Visit.arrived_at, Visit.special_needs,
                  Appointment.slot_start, Ticket.requeued_at)
#: and what a place shows
_PLACE_COLUMNS = (Vehicle.plate, Ticket.id.label("ticket_id"), Ticket.label, Ticket.hold_until)


def _places_query() -> sa.Select[Any]:
    """The waiting visits with everything a place shows."""
    return (_waiting_query(*_ORDER_COLUMNS, *_PLACE_COLUMNS)
            .join(Vehicle, Vehicle.id == Visit.vehicle_id))


def _waiting(session: Session) -> list[sa.Row[Any]]:
    """The waiting visits as plain rows (no ORM objects: this runs on every check-in)."""
    return list(session.execute(_places_query()))


#: the newest moves into and out of ``CALLED`` read for the average (enough for its sample)
SERVICE_MOVES = 4 * SERVICE_SAMPLE


@functools.cache
def _service_statements() -> tuple[sa.CompoundSelect, sa.Select[tuple[int]]]:
    """Built once (every place in the queue reads both): the newest moves into ``CALLED`` and
    the newest out of it since a time, each a backward range of its index (state, time), and
    the open counters."""
    since = sa.bindparam("since", type_=UTCDateTime())

    def newest(state_column: Any) -> sa.Subquery:
        return (sa.select(VisitTransition.id, VisitTransition.visit_id, VisitTransition.to_state,
                          VisitTransition.from_state, VisitTransition.at)
                .where(state_column == VisitState.CALLED, VisitTransition.at >= since)
                .order_by(VisitTransition.at.desc(), VisitTransition.id.desc())
                .limit(SERVICE_MOVES).subquery())

    recent = sa.union_all(sa.select(newest(VisitTransition.to_state)),
                          sa.select(newest(VisitTransition.from_state)))
    counters = sa.select(sa.func.count()).select_from(Counter).where(Counter.state == OpenState.OPEN)
    return recent, counters


def average_service_minutes(session: Session, clock: Clock) -> float:
    """Mean of the last counter services today (call → leaving the counter), else the default.

    Reads only the newest moves into and out of ``CALLED`` (enough for ``SERVICE_SAMPLE``
    services) through their indexes, so the cost stays the same all day long, and from one
    day to the next however many transitions the station keeps."""
    start, _ = clock.day_bounds(clock.today())
    moves = {row.id: row for row in
             flushed_connection(session).execute(_service_statements()[0], {"since": start})}
    # a move out of CALLED into CALLED (a recall) came back from both halves: once is enough
    rows = sorted(moves.values(), key=lambda row: (row.at, row.id))[-SERVICE_MOVES:]
    called_at: dict[int, datetime] = {}
    durations: list[float] = []
    for _, visit_id, to_state, from_state, at in rows:
        if from_state is VisitState.CALLED and visit_id in called_at:
            durations.append((at - called_at.pop(visit_id)).total_seconds() / 60)
        if to_state is VisitState.CALLED:
            called_at[visit_id] = at
    if not durations:
        return float(settings.get(session, "queue.default_service_minutes"))
    recent = durations[-SERVICE_SAMPLE:]
    return sum(recent) / len(recent)


def open_counters(session: Session) -> int:
    return int(session.scalar(_service_statements()[1]) or 0)


def estimate_wait_min(people_ahead: int, service_min: float, counters: int) -> int:
    """Whole minutes until a counter is free for someone with ``people_ahead`` before them."""
    return math.ceil(people_ahead * service_min / max(counters, 1))


def _entry(row: sa.Row[Any]) -> priority.Waiting:
    if row.requeued_at is not None:  # skipped (过号): back of the queue, in arrival order
        return priority.Waiting(id=row.id, category="walk_in", arrived_at=row.requeued_at,
                                special_needs=row.special_needs)
    return priority.Waiting(
        id=row.id, category=row.category.value, arrived_at=row.arrived_at,
        # an on-site booking has a record but no slot: only a booking made ahead has one
        slot_start=row.slot_start if row.category is VisitCategory.BOOKED else None,
        special_needs=row.special_needs)


def _ordered(session: Session, clock: Clock
             ) -> tuple[dict[int, sa.Row[Any]], list[priority.Position], float, int]:
    rows = _waiting(session)
    by_id = {row.id: row for row in rows}
    positions = priority.order([_entry(row) for row in rows], clock.now(), policy_config(session))
    return by_id, positions, average_service_minutes(session, clock), open_counters(session)


def _place(row: sa.Row[Any], position: priority.Position, now: datetime, service: float,
           counters: int) -> QueuePlace:
    ahead = position.rank - 1
    return QueuePlace(
        visit_id=row.id, ticket_id=row.ticket_id, ticket=row.label,
        hold_until=row.hold_until if row.hold_until and row.hold_until > now else None,
        rank=position.rank, plate=row.plate,
        category=row.category.value, arrived_at=row.arrived_at,
        waited_min=int((now - row.arrived_at) / timedelta(minutes=1)), people_ahead=ahead,
        estimated_wait_min=estimate_wait_min(ahead, service, counters),
        reason_code=position.reason_code.value, reason_zh=position.reason_zh,
        reason_en=position.reason_en)


@dataclass(frozen=True)
class CategoryWaiting:
    """Who waits in one visit category (booked, walk-in, retest)."""
    count: int
    #: the first ticket numbers, in the order they will be called
    tickets: list[str]
    #: of the last in line: what a newcomer of the category can expect
    estimated_wait_min: int


def waiting_per_category(session: Session, clock: Clock, *, tickets: int) -> dict[str, CategoryWaiting]:
    """The counter queue per visit category (only the categories someone waits in), as
    ``counter_queue`` would give it, without building everyone's place (the lobby's waits
    read it after every change)."""
    by_id, positions, service, counters = _ordered(session, clock)
    count: dict[str, int] = {}
    labels: dict[str, list[str]] = {}
    last_ahead: dict[str, int] = {}
    for position in positions:
        row = by_id[position.id]
        code = row.category.value
        count[code] = count.get(code, 0) + 1
        mine = labels.setdefault(code, [])
        if row.label and len(mine) < tickets:
            mine.append(row.label)
        last_ahead[code] = position.rank - 1
    return {code: CategoryWaiting(n, labels[code], estimate_wait_min(last_ahead[code], service, counters))
            for code, n in count.items()}


def counter_queue(session: Session, clock: Clock) -> list[QueuePlace]:
    """Everyone waiting for a counter, in the order they will be called."""
    now = clock.now()
    by_id, positions, service, counters = _ordered(session, clock)
    return [_place(by_id[p.id], p, now, service, counters) for p in positions]


def _keyed_before(bound: sa.BindParameter[datetime]) -> sa.ColumnElement[bool]:
    """The row's entry (``_entry``) has a ``priority.latest_key`` before ``bound``: a skipped
    ticket is keyed by when it was skipped, a booking by its slot start when that is later
    than its arrival, anyone else by their arrival. Never NULL (a booking without a slot is
    not before anything, and ``_entry`` refuses it when it is read)."""
    arrival = sa.func.coalesce(Ticket.requeued_at, Visit.arrived_at)
    return sa.case((sa.and_(arrival < bound, sa.or_(
        Ticket.requeued_at.is_not(None), Visit.category != VisitCategory.BOOKED,
        Appointment.slot_start < bound)), True), else_=False)


@functools.cache
def _place_statements() -> tuple[sa.Select[Any], sa.Select[Any], sa.Select[Any]]:
    """Built once (building a statement costs about as much as running it): the visits' rows,
    each with the number of open counters; the order columns of those not keyed before a
    bound, each row with the count of those that are (one statement, so both come from one
    snapshot on PostgreSQL too); and the order columns of everyone."""
    bound = sa.bindparam("bound", type_=UTCDateTime())
    ahead = (_waiting_query(sa.func.count()).where(_keyed_before(bound))
             .scalar_subquery().correlate(None).label("ahead"))
    counters = _service_statements()[1].scalar_subquery().correlate(None).label("open_counters")
    return (_places_query().add_columns(counters)
            .where(Visit.id.in_(sa.bindparam("visit_ids", expanding=True))),
            _waiting_query(*_ORDER_COLUMNS, ahead).where(sa.not_(_keyed_before(bound))),
            _waiting_query(*_ORDER_COLUMNS))


def place_of(session: Session, clock: Clock, visit_id: int) -> QueuePlace:
    """One visit's place in the counter queue (what its ticket and progress page show)."""
    place = places_of(session, clock, [visit_id]).get(visit_id)
    if place is None:
        raise NotFound("not_waiting", "该车辆不在等候队列中",
                       "This vehicle is not waiting for a counter", visit_id=visit_id)
    return place


def places_of(session: Session, clock: Clock, visit_ids: Collection[int]) -> dict[int, QueuePlace]:
    """The places of some visits in the counter queue, by visit id; a visit not waiting has
    none.

    Everyone keyed before the earliest of the visits' ``priority.ahead_bound`` is ahead of
    each of them whatever the rest of the order, so the database only counts them; the policy
    orders the visits among the others. For a newcomer those are the few bookings whose slots
    start later: a kiosk issuing a ticket turns a handful of rows into Python objects, however
    long the queue. The printer, behind the kiosks in a burst, places the tickets it has to
    print together: the others are those issued since the first of them, ordered once."""
    now = clock.now()
    config = policy_config(session)
    one, rest, everyone = _place_statements()
    connection = flushed_connection(session)  # plain rows: the ORM's execution adds nothing
    rows = connection.execute(one, {"visit_ids": list(visit_ids)}).all()
    if not rows:
        return {}
    bounds = [priority.ahead_bound(_entry(row), now, config) for row in rows]
    known = [bound for bound in bounds if bound is not None]
    ahead = 0
    if len(known) < len(bounds):  # escalated or green channel: among everyone
        others = connection.execute(everyone).all()
    else:
        others = connection.execute(rest, {"bound": min(known)}).all()
        ahead = others[0].ahead if others else 0
    entries = [_entry(r) for r in others]
    if len(rows) == 1:  # one visit: counted past, not sorted
        found = priority.rank_of(entries, rows[0].id, now, config)
        positions = {found.id: found} if found is not None else {}
    else:
        positions = {p.id: p for p in priority.order(entries, now, config)}
    service, counters = average_service_minutes(session, clock), rows[0].open_counters
    # (on PostgreSQL each statement sees the newest commits: a visit may have been called
    # between the reads, and is then not among the others)
    return {row.id: _place(row, dataclasses.replace(positions[row.id],
                                                    rank=ahead + positions[row.id].rank),
                           now, service, counters)
            for row in rows if row.id in positions}
