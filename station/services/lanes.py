"""Lanes (检测线), their stations (工位) and counter windows (窗口): read and open/close/block.

A lane or station that changes state changes what the lane can test: the cars waiting for a
lane are re-assigned in the same transaction (``assignment.reassign_waiting``). The metering
instruments call ``set_station_state(..., BLOCKED, reason)`` when an instrument may not be used
and ``OPEN`` when it may again.
"""

from __future__ import annotations

import functools

import sqlalchemy as sa
from sqlalchemy.orm import Session, joinedload, selectinload

from station import signals
from station.clock import Clock
from station.errors import NotFound, ValidationError
from station.models import Counter, Lane, LaneStation, OpenState

from . import audit
from .actors import Actor


@functools.cache
def _all_lanes_query() -> sa.Select[tuple[Lane]]:
    """Built once: lane choice, the lane board and the lobby's waits all read every lane."""
    return sa.select(Lane).options(selectinload(Lane.stations)).order_by(Lane.number)


def all_lanes(session: Session) -> list[Lane]:
    return list(session.scalars(_all_lanes_query()))


def all_counters(session: Session) -> list[Counter]:
    return list(session.scalars(sa.select(Counter).order_by(Counter.number)))


def lane_not_found(lane_id: int) -> NotFound:
    return NotFound("lane_not_found", "未找到该检测线", "Lane not found", id=lane_id)


def station_not_found(station_id: int) -> NotFound:
    return NotFound("station_not_found", "未找到该工位", "Station not found", id=station_id)


def get_lane(session: Session, lane_id: int) -> Lane:
    lane = session.get(Lane, lane_id)
    if lane is None:
        raise lane_not_found(lane_id)
    return lane


@functools.cache
def _station_query() -> sa.Select[tuple[LaneStation]]:
    """A station with its lane, in one statement built once (a car's every move reads it)."""
    return (sa.select(LaneStation).options(joinedload(LaneStation.lane))
            .where(LaneStation.id == sa.bindparam("station_id")))


def get_station(session: Session, station_id: int) -> LaneStation:
    station = session.scalar(_station_query(), {"station_id": station_id})
    if station is None:
        raise station_not_found(station_id)
    return station


def _check_reason(state: OpenState, reason: str | None) -> str | None:
    reason = (reason or "").strip() or None
    if state is not OpenState.OPEN and reason is None:
        raise ValidationError("reason_required", "关闭或暂停时须填写原因",
                              "A reason is required to close or block")
    return reason


def set_lane_state(session: Session, clock: Clock, actor: Actor, lane: Lane, state: OpenState | str,
                   reason: str | None = None) -> Lane:
    state = OpenState(state)
    lane.state, lane.state_reason = state, _check_reason(state, reason)
    audit.record(session, clock, actor, "lane.state_changed", entity=lane, state=state.value,
                 reason=lane.state_reason)
    signals.send_after_commit(session, signals.lane_state_changed, lane_id=lane.id,
                              station_id=None, state=state.value, reason=lane.state_reason)
    _reassign(session, clock, actor)
    return lane


def set_station_state(session: Session, clock: Clock, actor: Actor, station: LaneStation,
                      state: OpenState | str, reason: str | None = None) -> LaneStation:
    state = OpenState(state)
    station.state, station.state_reason = state, _check_reason(state, reason)
    audit.record(session, clock, actor, "station.state_changed", entity=station,
                 state=state.value, reason=station.state_reason)
    signals.send_after_commit(session, signals.lane_state_changed, lane_id=station.lane_id,
                              station_id=station.id, state=state.value,
                              reason=station.state_reason)
    _reassign(session, clock, actor)
    return station


def _reassign(session: Session, clock: Clock, actor: Actor) -> None:
    from . import assignment  # assignment reads lanes: imported here to avoid a cycle

    session.flush()
    assignment.reassign_waiting(session, clock, actor)
