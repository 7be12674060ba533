"""Helpers shared by the ratings / scorecard tests: visits walked through the journey."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from station.domain.journey import VisitState
from station.models import Channel, TicketCategory
from station.services import appointments, tickets, visits
from station.services.actors import Actor

ACTOR = Actor.system("test")
S = VisitState
#: the journey of a served visit, with the minutes each step takes
JOURNEY = [(S.KEYS_HANDED_OVER, 2), (S.CALLED, 10), (S.REGISTERED, 5), (S.QUEUED_FOR_LANE, 1),
           (S.ON_LANE, 5), (S.TESTED, 20), (S.KEYS_RETURNED, 5), (S.PAPERS_PRINTED, 1),
           (S.CLOSED, 1)]


def served_visit(db: Any, clock: Any, plate: str, *, until: VisitState = S.TESTED,
                 keys: bool = True, phone: str = "13812340000",
                 channel: Channel = Channel.KIOSK, extra_wait: int = 0) -> tuple[int, str]:
    """A walk-in visit moved along the journey up to ``until``; (visit id, progress token).
    The clock moves on by each step's minutes (``extra_wait`` more before the call)."""
    with db.write() as s:
        check_in = appointments.walk_in(s, clock, ACTOR, plate_type="02", plate=plate,
                                        phone=phone, channel=channel)
        ticket = tickets.issue(s, clock, ACTOR, check_in.visit, TicketCategory.WALK_IN)
        visit_id, token = check_in.visit.id, ticket.progress_token
    for state, minutes in JOURNEY:
        if state is S.KEYS_HANDED_OVER and not keys:
            continue
        clock.advance(timedelta(minutes=minutes + (extra_wait if state is S.CALLED else 0)))
        with db.write() as s:
            visits.transition(s, clock, ACTOR, visits.get(s, visit_id), state)
        if state is until:
            break
    return visit_id, token
