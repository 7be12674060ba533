"""The visit's journey (一次检验业务) as one state machine: an enum and a table of allowed moves.

booked (optional) → checked in (ticketed) → keys handed over → called to a counter →
registered → queued for a lane (paid) → on lane → tested → papers printed / keys returned →
closed; with the branches no-show, cancelled and refused (not fit to test).

"Test first, verify insurance later, print last" (先检测、再核保、后打证): after the test the
keys may go back before the papers are printed, so both orders are allowed; the guard that
papers need a passed result *and* verified insurance belongs to the service that prints.
A retest (复检) is a new visit with the same inspection serial and attempt + 1.
"""

from __future__ import annotations

import enum


class VisitState(enum.StrEnum):
    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    KEYS_HANDED_OVER = "keys_handed_over"
    CALLED = "called"
    REGISTERED = "registered"
    QUEUED_FOR_LANE = "queued_for_lane"
    ON_LANE = "on_lane"
    TESTED = "tested"
    PAPERS_PRINTED = "papers_printed"
    KEYS_RETURNED = "keys_returned"
    CLOSED = "closed"
    NO_SHOW = "no_show"
    CANCELLED = "cancelled"
    REFUSED = "refused"


S = VisitState

#: The one table of allowed transitions. Anything not listed is refused.
TRANSITIONS: dict[VisitState, frozenset[VisitState]] = {
    S.BOOKED: frozenset({S.CHECKED_IN, S.NO_SHOW, S.CANCELLED}),
    S.CHECKED_IN: frozenset({S.KEYS_HANDED_OVER, S.CALLED, S.CANCELLED, S.REFUSED}),
    S.KEYS_HANDED_OVER: frozenset({S.CALLED, S.CANCELLED, S.REFUSED}),
    # a skipped call returns the visit to where it waited before (with or without its keys)
    S.CALLED: frozenset({S.REGISTERED, S.CHECKED_IN, S.KEYS_HANDED_OVER, S.CANCELLED, S.REFUSED}),
    S.REGISTERED: frozenset({S.QUEUED_FOR_LANE, S.CANCELLED, S.REFUSED}),
    S.QUEUED_FOR_LANE: frozenset({S.ON_LANE, S.CANCELLED, S.REFUSED}),
    S.ON_LANE: frozenset({S.TESTED, S.QUEUED_FOR_LANE, S.REFUSED}),
    S.TESTED: frozenset({S.PAPERS_PRINTED, S.KEYS_RETURNED}),
    S.PAPERS_PRINTED: frozenset({S.KEYS_RETURNED, S.CLOSED}),
    S.KEYS_RETURNED: frozenset({S.PAPERS_PRINTED, S.CLOSED}),
    S.CLOSED: frozenset(),
    S.NO_SHOW: frozenset(),
    S.CANCELLED: frozenset(),
    S.REFUSED: frozenset(),
}

TERMINAL: frozenset[VisitState] = frozenset(s for s, nxt in TRANSITIONS.items() if not nxt)
#: states in which the vehicle is at the station (counted for the lobby and capacity)
ON_SITE: frozenset[VisitState] = frozenset(
    {S.CHECKED_IN, S.KEYS_HANDED_OVER, S.CALLED, S.REGISTERED, S.QUEUED_FOR_LANE, S.ON_LANE,
     S.TESTED, S.PAPERS_PRINTED, S.KEYS_RETURNED}
)
#: states in which the vehicle is waiting to be called to a counter
WAITING_FOR_COUNTER: frozenset[VisitState] = frozenset({S.CHECKED_IN, S.KEYS_HANDED_OVER})

LABELS: dict[VisitState, tuple[str, str]] = {
    S.BOOKED: ("已预约", "Booked"),
    S.CHECKED_IN: ("已取号", "Checked in"),
    S.KEYS_HANDED_OVER: ("已交钥匙", "Keys handed over"),
    S.CALLED: ("窗口办理中", "At the counter"),
    S.REGISTERED: ("已登记待缴费", "Registered, fee due"),
    S.QUEUED_FOR_LANE: ("待检", "Waiting for a lane"),
    S.ON_LANE: ("检测中", "On the lane"),
    S.TESTED: ("检测完成", "Tested"),
    S.PAPERS_PRINTED: ("已出证", "Papers printed"),
    S.KEYS_RETURNED: ("已还钥匙", "Keys returned"),
    S.CLOSED: ("已办结", "Closed"),
    S.NO_SHOW: ("未到检", "No-show"),
    S.CANCELLED: ("已取消", "Cancelled"),
    S.REFUSED: ("不予受理", "Refused"),
}

assert set(TRANSITIONS) == set(VisitState) == set(LABELS), "every state needs moves and labels"


def can_move(src: VisitState, dst: VisitState) -> bool:
    return dst in TRANSITIONS[src]


def label(state: VisitState, lang: str = "zh") -> str:
    zh, en = LABELS[state]
    return en if lang.startswith("en") else zh
