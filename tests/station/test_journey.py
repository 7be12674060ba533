"""The visit's one state machine: the table, the recorded moves, and refusals that store nothing."""

from __future__ import annotations

import itertools

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from station import signals
from station.domain.journey import LABELS, TERMINAL, TRANSITIONS, VisitState, can_move
from station.errors import Conflict
from station.models import Visit, VisitCategory
from station.services import vehicles, visits
from station.services.actors import Actor

S = VisitState
ACTOR = Actor.system("test")


def _open(db, clock, plate="浙A12345", state=S.CHECKED_IN):
    with db.write() as s:
        v = vehicles.register(s, clock, plate_type="02", plate=plate)
        return visits.open_visit(s, clock, ACTOR, v, category=VisitCategory.WALK_IN, state=state).id


def test_table_covers_every_state_and_the_main_journey():
    assert set(TRANSITIONS) == set(VisitState) == set(LABELS)
    journey = [S.BOOKED, S.CHECKED_IN, S.KEYS_HANDED_OVER, S.CALLED, S.REGISTERED,
               S.QUEUED_FOR_LANE, S.ON_LANE, S.TESTED, S.PAPERS_PRINTED, S.KEYS_RETURNED, S.CLOSED]
    for src, dst in itertools.pairwise(journey):
        assert can_move(src, dst), (src, dst)
    assert {S.CLOSED, S.NO_SHOW, S.CANCELLED, S.REFUSED} == TERMINAL
    # test first, verify insurance later, print last: keys may go back before the papers
    assert can_move(S.TESTED, S.KEYS_RETURNED) and can_move(S.KEYS_RETURNED, S.PAPERS_PRINTED)
    # nothing leaves a terminal state; no state moves to itself
    assert all(not TRANSITIONS[t] for t in TERMINAL)
    assert all(s not in nxt for s, nxt in TRANSITIONS.items())


def test_every_move_is_recorded_with_who_when_from_to_why(db, clock):
    visit_id = _open(db, clock)
    manager = Actor(Actor.system().kind, None, "manager-x")
    with db.write() as s:
        visit = visits.get(s, visit_id)
        clock.advance(minutes=3)
        visits.transition(s, clock, manager, visit, S.KEYS_HANDED_OVER, reason="钥匙柜12号")
    with db.read() as s:
        hist = visits.history(s, visits.get(s, visit_id))
    assert [(h.from_state, h.to_state) for h in hist] == [(None, S.CHECKED_IN),
                                                          (S.CHECKED_IN, S.KEYS_HANDED_OVER)]
    assert hist[1].actor_name == "manager-x" and hist[1].reason == "钥匙柜12号"
    assert hist[1].at == clock.now() and hist[1].at.tzinfo is not None


def test_refused_move_changes_nothing(db, clock):
    visit_id = _open(db, clock)
    with pytest.raises(Conflict) as err, db.write() as s:
        visits.transition(s, clock, ACTOR, visits.get(s, visit_id), S.TESTED)
    assert err.value.code == "visit_transition_refused"
    assert "已取号" in err.value.message_zh and "检测完成" in err.value.message_zh
    with db.read() as s:
        assert visits.get(s, visit_id).state is S.CHECKED_IN
        assert len(visits.history(s, visits.get(s, visit_id))) == 1


def test_signal_is_sent_after_commit_only(db, clock):
    received: list[dict] = []

    def receiver(sender, **payload):
        received.append(payload)

    signals.visit_state_changed.connect(receiver, sender=db)
    try:
        visit_id = _open(db, clock)
        assert [p["to_state"] for p in received] == ["checked_in"]
        with pytest.raises(RuntimeError), db.write() as s:
            visits.transition(s, clock, ACTOR, visits.get(s, visit_id), S.CALLED)
            raise RuntimeError("the counter screen crashed before commit")
        assert [p["to_state"] for p in received] == ["checked_in"]  # rolled back: no signal
        with db.read() as s:
            assert visits.get(s, visit_id).state is S.CHECKED_IN
    finally:
        signals.visit_state_changed.disconnect(receiver, sender=db)


def test_one_visit_in_progress_per_vehicle(db, clock):
    _open(db, clock)
    with pytest.raises(Conflict) as err:
        _open(db, clock)
    assert err.value.code == "visit_in_progress"


def test_database_refuses_a_second_visit_in_progress(db, clock):
    first = _open(db, clock)
    with db.read() as s:
        vehicle_id = visits.get(s, first).vehicle_id
    with pytest.raises(sa.exc.IntegrityError), db.write() as s:
        s.add(Visit(inspection_serial="X1", attempt=1, vehicle_id=vehicle_id,
                    category=VisitCategory.WALK_IN, state=S.ON_LANE,
                    state_changed_at=clock.now(), created_at=clock.now()))
    # a closed visit does not count
    with db.write() as s:
        s.add(Visit(inspection_serial="X2", attempt=1, vehicle_id=vehicle_id,
                    category=VisitCategory.WALK_IN, state=S.CLOSED,
                    state_changed_at=clock.now(), created_at=clock.now()))


def test_inspection_serial_is_station_code_day_and_number(db, clock):
    a, b = _open(db, clock, "浙A12345"), _open(db, clock, "浙A12346")
    with db.read() as s:
        serials = [visits.get(s, a).inspection_serial, visits.get(s, b).inspection_serial]
    assert serials == ["3301001202611230001", "3301001202611230002"]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=st.lists(st.sampled_from(list(VisitState)), min_size=1, max_size=12))
def test_random_moves_follow_the_table_exactly(db, clock, moves):
    """Whatever sequence of moves is asked, the stored state and history agree with the table."""
    visit_id = _open(db, clock, plate=f"浙B{next(_plates):05d}")
    expected = [S.CHECKED_IN]
    for target in moves:
        try:
            with db.write() as s:
                visits.transition(s, clock, ACTOR, visits.get(s, visit_id), target)
            assert can_move(expected[-1], target)
            expected.append(target)
        except Conflict:
            assert not can_move(expected[-1], target)
    with db.read() as s:
        visit = visits.get(s, visit_id)
        assert visit.state is expected[-1]
        assert [h.to_state for h in visits.history(s, visit)] == expected


_plates = itertools.count(1)
