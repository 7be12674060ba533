"""Key handover (交钥匙): the chain of custody owner → desk → runner → lane → cabinet → owner,
one holder per key enforced by the database, concurrent claims, overdue alerts."""

from __future__ import annotations

import contextlib
import threading

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError

from station import signals
from station.db import Database
from station.domain.journey import VisitState
from station.errors import Conflict, DomainError, Forbidden, ValidationError
from station.jobs import keys as key_jobs
from station.models import AuditEntry, Channel, Lane, OpenState, Role, TicketCategory, Visit
from station.models.keys import KeyHolderKind, KeyMovement, KeyMovementChanged, KeySlot, VehicleKey
from station.services import appointments, keys, tickets, visits
from station.services.actors import Actor

S = VisitState
H = KeyHolderKind
PHONE = "13812345678"


@pytest.fixture(autouse=True)
def station(demo_station, db):
    # these tests name their own tags: a station without a defined key cabinet takes any tag
    with db.write() as s:
        s.execute(sa.delete(KeySlot))
    return demo_station


@pytest.fixture
def desk(create_user):
    return Actor.user(create_user(Role.COUNTER, display_name="交车员"))


@pytest.fixture
def runners(create_user):
    return [Actor.user(create_user(Role.RUNNER, display_name=f"引车员{i}")) for i in range(1, 5)]


@pytest.fixture
def manager(create_user):
    return Actor.user(create_user(Role.MANAGER, display_name="王站长"))


def lane_id(db, number=1):
    with db.read() as s:
        return s.scalar(sa.select(Lane.id).where(Lane.number == number))


def arrive(db, clock, plate, *, phone=PHONE):
    """A walk-in with a ticket, checked in."""
    with db.write() as s:
        actor = Actor.system("kiosk")
        visit = appointments.walk_in(s, clock, actor, plate_type="02", plate=plate,
                                     channel=Channel.KIOSK, phone=phone).visit
        ticket = tickets.issue(s, clock, actor, visit, TicketCategory.WALK_IN)
        return visit.id, ticket.label, ticket.progress_token


def move_visit(db, clock, visit_id, *states, lane=None):
    """What the counter and lane features do: paid → queued (lane assigned), on lane, tested."""
    with db.write() as s:
        visit = visits.get(s, visit_id)
        for state in states:
            visits.transition(s, clock, Actor.system("other feature"), visit, state)
        if lane is not None:
            visit.assigned_lane_id = lane


def hand_over(db, clock, actor, visit_id, tag, spot="P-01"):
    with db.write() as s:
        return keys.hand_over(s, clock, actor, visits.get(s, visit_id), tag=tag, parking_spot=spot).id


def paid_car(db, clock, desk, plate, tag, lane=None):
    visit_id, label, token = arrive(db, clock, plate)
    key_id = hand_over(db, clock, desk, visit_id, tag)
    move_visit(db, clock, visit_id, S.CALLED, S.REGISTERED, S.QUEUED_FOR_LANE, lane=lane)
    return visit_id, key_id, label, token


def step(db, clock, fn, *args, **kw):
    with db.write() as s:
        key = fn(s, clock, *args, **kw)
        return key.holder_kind, key.version


def holder(db, key_id):
    with db.read() as s:
        key = s.get(VehicleKey, key_id)
        return key.holder_kind, key.holder_user_id, key.holder_lane_id, key.version


def chain(db, visit_id):
    with db.read() as s:
        return [(m.seq, m.stage.value, m.from_kind.value, m.to_kind.value)
                for m in keys.custody(s, visit_id)]


def test_full_journey_owner_to_owner(db, clock, desk, runners, manager):
    lane = lane_id(db, 2)
    moved = []
    signals.key_moved.connect(lambda _s, **p: moved.append(p), sender=db, weak=False)
    visit_id, label, _ = arrive(db, clock, "浙A12345")
    key_id = hand_over(db, clock, desk, visit_id, "a07", spot="交车区3号")
    with db.read() as s:
        assert visits.get(s, visit_id).state is S.KEYS_HANDED_OVER
        assert s.get(VehicleKey, key_id).tag == "A07"
    move_visit(db, clock, visit_id, S.CALLED, S.REGISTERED, S.QUEUED_FOR_LANE, lane=lane)
    runner = runners[0]
    clock.advance(minutes=2)
    assert step(db, clock, keys.claim, runner, key_id) == (H.RUNNER, 2)
    clock.advance(minutes=3)
    assert step(db, clock, keys.deliver, runner, key_id) == (H.LANE, 3)
    assert holder(db, key_id)[2] == lane
    move_visit(db, clock, visit_id, S.ON_LANE, S.TESTED)
    clock.advance(minutes=15)
    other = runners[1]  # any runner may take the car back from the lane
    assert step(db, clock, keys.collect, other, key_id) == (H.RUNNER, 4)
    assert step(db, clock, keys.park, other, key_id, "提车区8号") == (H.CABINET, 5)
    clock.advance(minutes=10)
    assert step(db, clock, keys.return_to_owner, desk, key_id, ticket=label.lower(),
                phone_tail="5678") == (H.OWNER, 6)
    with db.read() as s:
        assert visits.get(s, visit_id).state is S.KEYS_RETURNED
        key = s.get(VehicleKey, key_id)
        assert key.returned_at == clock.now() and key.pickup_spot == "提车区8号"
        movements = keys.custody(s, visit_id)
        assert [m.actor_name for m in movements] == [desk.name, runner.name, runner.name,
                                                      other.name, other.name, desk.name]
        assert movements[2].to_label == "2号线 小型车(含柴油)"
        assert movements[4].place == "提车区 提车区8号"
        actions = set(s.scalars(sa.select(AuditEntry.action).where(AuditEntry.action.like("key.%"))))
    assert chain(db, visit_id) == [
        (1, "handed_over", "owner", "desk"), (2, "claimed", "desk", "runner"),
        (3, "at_lane", "runner", "lane"), (4, "collected", "lane", "runner"),
        (5, "in_cabinet", "runner", "cabinet"), (6, "returned", "cabinet", "owner")]
    assert actions >= {"key.handed_over", "key.claimed", "key.at_lane", "key.collected",
                       "key.in_cabinet", "key.returned"}
    assert [p["stage"] for p in moved] == ["handed_over", "claimed", "at_lane", "collected",
                                           "in_cabinet", "returned"]
    assert moved[0]["from_holder"] == "owner" and moved[0]["to_holder"] == "desk"
    # the tag is free again for the next car
    visit2, _, _ = arrive(db, clock, "浙A54321")
    hand_over(db, clock, desk, visit2, "A07")


def test_two_runners_claiming_at_once_one_wins(db, database_url, clock, desk, runners):
    """Real threads, each in its own write transaction on its own connection pool; on SQLite
    two Database objects so the database itself (BEGIN IMMEDIATE) serialises them."""
    _, key_id, _, _ = paid_car(db, clock, desk, "浙A11111", "B01", lane=lane_id(db))
    databases = [db, Database(database_url)]
    barrier = threading.Barrier(len(runners))
    results: list[object] = [None] * len(runners)

    def attempt(i: int) -> None:
        barrier.wait()
        try:
            with databases[i % 2].write() as s:
                results[i] = keys.claim(s, clock, runners[i], key_id).holder_user_id
        except DomainError as err:
            results[i] = err

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(len(runners))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    databases[1].dispose()
    winners = [r for r in results if isinstance(r, int)]
    losers = [r for r in results if isinstance(r, DomainError)]
    assert len(winners) == 1 and len(losers) == len(runners) - 1, results
    assert all(e.status == 409 and e.code in ("key_claimed", "key_moved_meanwhile") for e in losers)
    kind, user_id, _, version = holder(db, key_id)
    assert kind is H.RUNNER and user_id == winners[0] and version == 2
    assert [c[1] for c in chain(db, holder_visit(db, key_id))] == ["handed_over", "claimed"]


def holder_visit(db, key_id):
    with db.read() as s:
        return s.get(VehicleKey, key_id).visit_id


def test_concurrent_claims_of_many_cars_never_double_up(db, database_url, clock, desk, runners):
    """Four runners race for three cars, twice each: every car has one holder, every runner at
    most one key, and the log matches the holder rows."""
    lane = lane_id(db)
    key_ids = [paid_car(db, clock, desk, f"浙A2222{i}", f"C0{i}", lane=lane)[1] for i in range(3)]
    databases = [db, Database(database_url)]
    barrier = threading.Barrier(len(runners))

    def race(i: int) -> None:
        barrier.wait()
        for key_id in key_ids:
            with contextlib.suppress(DomainError), databases[i % 2].write() as s:
                keys.claim(s, clock, runners[i], key_id)  # losers are refused: that is the point

    threads = [threading.Thread(target=race, args=(i,)) for i in range(len(runners))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    databases[1].dispose()
    holders = [holder(db, k) for k in key_ids]
    assert all(h[0] is H.RUNNER for h in holders)
    assert len({h[1] for h in holders}) == 3  # three different runners
    with db.read() as s:
        claims = s.scalars(sa.select(KeyMovement).where(KeyMovement.stage == "claimed")).all()
    assert sorted(m.key_id for m in claims) == sorted(key_ids)


def test_bad_input_is_refused_and_custody_unchanged(db, clock, desk, runners, manager):
    lane = lane_id(db)
    visit_id, key_id, label, token = paid_car(db, clock, desk, "浙A33333", "D01", lane=lane)
    # a key tag already in use
    other_visit, _, _ = arrive(db, clock, "浙A44444")
    with pytest.raises(Conflict) as err:
        hand_over(db, clock, desk, other_visit, "d01")
    assert err.value.code == "key_tag_in_use" and "D01" in err.value.message_zh
    with pytest.raises(ValidationError):
        hand_over(db, clock, desk, other_visit, "柜 1")
    with db.read() as s:
        assert visits.get(s, other_visit).state is S.CHECKED_IN
        assert keys.key_of_visit(s, other_visit) is None
    # a second handover of the same car
    with pytest.raises(Conflict) as err:
        hand_over(db, clock, desk, visit_id, "D09")
    assert err.value.code == "key_already_handed_over"
    # out of order: to the lane before claiming, collect before the test, return before the test
    with pytest.raises(Conflict):
        step(db, clock, keys.deliver, runners[0], key_id)
    with pytest.raises(Conflict):
        step(db, clock, keys.return_to_owner, desk, key_id, ticket=label, phone_tail="5678")
    step(db, clock, keys.claim, runners[0], key_id)
    before = holder(db, key_id)
    # another runner claims a car someone holds; takes it to the lane; parks it untested
    with pytest.raises(Conflict) as err:
        step(db, clock, keys.claim, runners[1], key_id)
    assert err.value.code == "key_claimed" and "引车员1" in err.value.message_zh
    with pytest.raises(Conflict):
        step(db, clock, keys.deliver, runners[1], key_id)
    with pytest.raises(Conflict) as err:
        step(db, clock, keys.park, runners[0], key_id, "P-9")
    assert err.value.code == "park_not_now"
    # a runner can hold one key at a time
    _, key2, _, _ = paid_car(db, clock, desk, "浙A55555", "D02", lane=lane)
    with pytest.raises(Conflict) as err:
        step(db, clock, keys.claim, runners[0], key2)
    assert err.value.code == "runner_has_key"
    step(db, clock, keys.deliver, runners[0], key_id)
    with pytest.raises(Conflict) as err:
        step(db, clock, keys.collect, runners[0], key_id)
    assert err.value.code == "not_tested_yet"
    assert holder(db, key_id)[0] is H.LANE and holder(db, key_id)[3] == before[3] + 1
    move_visit(db, clock, visit_id, S.ON_LANE, S.TESTED)
    step(db, clock, keys.collect, runners[0], key_id)
    step(db, clock, keys.park, runners[0], key_id, "P-9")
    # return without verification, with wrong digits, with the wrong ticket, override by non-manager
    for kw, code in [({}, "verification_required"),
                     ({"ticket": label, "phone_tail": "0000"}, "owner_not_verified"),
                     ({"token": token + "x", "phone_tail": "5678"}, "owner_not_verified"),
                     ({"ticket": "B999", "phone_tail": "5678"}, "owner_not_verified"),
                     ({"ticket": label, "phone_tail": "56"}, "phone_tail_invalid"),
                     ({"override_reason": "车主忘带手机"}, "override_needs_manager")]:
        with pytest.raises(DomainError) as err:
            step(db, clock, keys.return_to_owner, desk, key_id, **kw)
        assert err.value.code == code and 400 <= err.value.status < 500
        assert err.value.message_zh and err.value.message_en
    assert holder(db, key_id)[0] is H.CABINET
    with db.read() as s:
        assert visits.get(s, visit_id).state is S.TESTED
    # the QR token and the phone tail do it
    step(db, clock, keys.return_to_owner, desk, key_id, token=token, phone_tail="5678")
    assert holder(db, key_id)[0] is H.OWNER


def test_manager_override_is_audited(db, clock, desk, runners, manager):
    visit_id, label, _ = arrive(db, clock, "浙A66666", phone=None)  # no phone on record
    key_id = hand_over(db, clock, desk, visit_id, "E01")
    move_visit(db, clock, visit_id, S.CALLED, S.REGISTERED, S.QUEUED_FOR_LANE)
    step(db, clock, keys.claim, runners[0], key_id)
    step(db, clock, keys.deliver, runners[0], key_id, lane_id(db, 3))  # no lane assigned: chosen
    move_visit(db, clock, visit_id, S.ON_LANE, S.TESTED, S.PAPERS_PRINTED)
    step(db, clock, keys.collect, runners[0], key_id)
    step(db, clock, keys.park, runners[0], key_id, "P-1")
    with pytest.raises(Forbidden) as err:
        step(db, clock, keys.return_to_owner, desk, key_id, ticket=label, phone_tail="1234")
    assert err.value.code == "no_phone_on_record"
    with pytest.raises(ValidationError):
        step(db, clock, keys.return_to_owner, manager, key_id, override_reason="无")
    step(db, clock, keys.return_to_owner, manager, key_id, override_reason="车主出示身份证与行驶证")
    with db.read() as s:
        assert visits.get(s, visit_id).state is S.KEYS_RETURNED
        entry = s.scalar(sa.select(AuditEntry).where(AuditEntry.action == "key.return_override"))
        assert entry.actor_name == manager.name and entry.details["reason"] == "车主出示身份证与行驶证"
        assert keys.custody(s, visit_id)[-1].reason.startswith("站长授权")


def test_refused_car_key_goes_back_without_a_state_change(db, clock, desk, runners):
    visit_id, key_id, label, _ = paid_car(db, clock, desk, "浙A77777", "F01")
    move_visit(db, clock, visit_id, S.REFUSED)
    step(db, clock, keys.return_to_owner, desk, key_id, ticket=label, phone_tail="5678")
    with db.read() as s:
        assert visits.get(s, visit_id).state is S.REFUSED
    assert holder(db, key_id)[0] is H.OWNER


def test_the_database_keeps_one_holder_and_the_log_append_only(db, clock, desk, runners):
    lane = lane_id(db)
    _, key_id, _, _ = paid_car(db, clock, desk, "浙A88888", "G01", lane=lane)
    _, key2, _, _ = paid_car(db, clock, desk, "浙A99999", "G02", lane=lane)
    step(db, clock, keys.claim, runners[0], key_id)
    # a holder that does not fit its kind, two keys for one runner, one tag twice in use
    bad_updates = [
        sa.update(VehicleKey).where(VehicleKey.id == key2).values(holder_kind=H.RUNNER),
        sa.update(VehicleKey).where(VehicleKey.id == key2).values(
            holder_kind=H.LANE, holder_lane_id=lane, holder_user_id=runners[1].id),
        sa.update(VehicleKey).where(VehicleKey.id == key2).values(
            holder_kind=H.RUNNER, holder_user_id=runners[0].id),
        sa.update(VehicleKey).where(VehicleKey.id == key2).values(tag="G01"),
        sa.update(VehicleKey).where(VehicleKey.id == key2).values(holder_kind=H.OWNER),
    ]
    for stmt in bad_updates:
        with pytest.raises(IntegrityError), db.write() as s:
            s.execute(stmt)
    # the movement log: no updates, no deletes, no second movement with the same number
    for raw in ("UPDATE key_movements SET actor_name = 'x'", "DELETE FROM key_movements"):
        with pytest.raises(DBAPIError), db.write() as s:
            s.execute(sa.text(raw))
    with pytest.raises(KeyMovementChanged), db.write() as s:
        s.scalars(sa.select(KeyMovement)).first().place = "elsewhere"
    with pytest.raises(IntegrityError), db.write() as s:
        first = s.scalars(sa.select(KeyMovement).where(KeyMovement.key_id == key_id)).first()
        s.add(KeyMovement(key_id=key_id, visit_id=first.visit_id, seq=2, stage="claimed",
                          from_kind="desk", from_label="x", to_kind="runner", to_label="y",
                          place="z", at=clock.now(), actor_kind="user", actor_name="x"))
    assert holder(db, key_id)[:2] == (H.RUNNER, runners[0].id)
    assert holder(db, key2)[0] is H.DESK


def test_stale_compare_and_set_is_refused(db, clock, desk, runners):
    """A holder change computed from a version that is no longer current changes nothing,
    even when the holder's kind looks the same again (desk → runner → desk)."""
    _, key_id, _, _ = paid_car(db, clock, desk, "浙B12121", "H01", lane=lane_id(db))
    with db.read() as s:
        stale = keys.get_key(s, key_id)
    step(db, clock, keys.claim, runners[0], key_id)
    step(db, clock, keys.release, runners[0], key_id, "拿错车")
    with pytest.raises(Conflict) as err, db.write() as s:
        keys._move(s, clock, runners[1], stale, expect=(H.DESK,),
                   to=keys._Target(H.RUNNER, user_id=runners[1].id),
                   stage=keys.KeyStage.CLAIMED, place="x")
    assert err.value.code == "key_moved_meanwhile" and stale.version == 1
    assert holder(db, key_id)[0] is H.DESK and holder(db, key_id)[3] == 3
    assert [c[1] for c in chain(db, stale.visit_id)] == ["handed_over", "claimed", "released"]


def test_runner_queue_follows_priority_and_lanes(db, clock, desk, runners):
    lane1, lane2 = lane_id(db, 1), lane_id(db, 2)
    first = paid_car(db, clock, desk, "浙C00001", "J01")  # no lane yet
    clock.advance(minutes=1)
    second = paid_car(db, clock, desk, "浙C00002", "J02", lane=lane1)
    clock.advance(minutes=1)
    paid_car(db, clock, desk, "浙C00003", "J03", lane=lane1)
    clock.advance(minutes=1)
    fourth = paid_car(db, clock, desk, "浙C00004", "J04", lane=lane2)
    with db.write() as s:  # a green-channel car
        visits.get(s, fourth[0]).special_needs = True
    with db.read() as s:
        board = keys.runner_board(s, clock, runners[0].id)
    order = [e["tag"] for e in board["queue"]]
    assert order == ["J04", "J02", "J03", "J01"]
    assert [e["next_for_lane"] for e in board["queue"]] == [True, True, False, False]
    assert board["queue"][0]["reason"] == "绿色通道" and board["queue"][3]["lane_ready"] is False
    with db.write() as s:
        s.get(Lane, lane2).state = OpenState.BLOCKED
    with db.read() as s:
        assert [e["tag"] for e in keys.runner_queue(s, clock)] == ["J02", "J03", "J04", "J01"]
    step(db, clock, keys.claim, runners[0], second[1])
    with db.read() as s:
        board = keys.runner_board(s, clock, runners[0].id)
    assert board["mine"]["tag"] == "J02" and "J02" not in [e["tag"] for e in board["queue"]]
    assert first[0] in [e["visit_id"] for e in board["queue"]]


def test_overdue_alert_from_the_scheduler_job(db, clock, desk, runners):
    with db.write() as s:
        from station.services import settings
        settings.put(s, clock, Actor.system("t"), "keys.overdue_minutes", 20)
    _, key_id, _, _ = paid_car(db, clock, desk, "浙D10001", "K01", lane=lane_id(db))
    _, idle_key, _, _ = paid_car(db, clock, desk, "浙D10002", "K02", lane=lane_id(db))
    alerts = []
    keys.key_overdue.connect(lambda _s, **p: alerts.append(p), sender=db, weak=False)
    step(db, clock, keys.claim, runners[0], key_id)
    (job,) = key_jobs.jobs(db, clock)
    assert job.id == "keys.overdue"
    clock.advance(minutes=19)
    job.func()
    assert alerts == []
    clock.advance(minutes=1)
    job.func()
    assert len(alerts) == 1 and alerts[0]["tag"] == "K01" and alerts[0]["minutes"] == 20
    assert alerts[0]["holder_label"] == "引车员 引车员1"
    with db.read() as s:
        board = keys.runner_board(s, clock, runners[1].id)
        assert [k["tag"] for k in board["overdue"]] == ["K01"]  # a key at the desk is not overdue
    clock.advance(minutes=30)
    job.func()  # one alert per holding
    assert len(alerts) == 1
    step(db, clock, keys.deliver, runners[0], key_id)  # moved: a new holding, a new clock
    clock.advance(minutes=25)
    job.func()
    assert len(alerts) == 2 and alerts[1]["holder_kind"] == "lane"
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                        .where(AuditEntry.action == "key.overdue")) == 2
    assert holder(db, idle_key)[0] is H.DESK


def test_handover_refused_in_the_wrong_state_and_cabinet_slots(db, clock, desk):
    visit_id, _, _ = arrive(db, clock, "浙E10001")
    move_visit(db, clock, visit_id, S.CANCELLED)
    with pytest.raises(Conflict) as err:
        hand_over(db, clock, desk, visit_id, "L01")
    assert err.value.code == "handover_not_now"
    with db.write() as s:
        assert keys.seed_demo_slots(s, 2) == ["A01", "A02"]
    later, _, _ = arrive(db, clock, "浙E10002")
    with pytest.raises(ValidationError) as err:
        hand_over(db, clock, desk, later, "L01")
    assert err.value.code == "key_slot_unknown"
    # handed over late (owner went to the counter first): no state change
    move_visit(db, clock, later, S.CALLED, S.REGISTERED)
    hand_over(db, clock, desk, later, "A02")
    with db.read() as s:
        assert visits.get(s, later).state is S.REGISTERED
        assert [(x["code"], bool(x["key_id"])) for x in keys.slots(s)] == [("A01", False), ("A02", True)]
        assert s.scalar(sa.select(Visit.state).where(Visit.id == later)) is S.REGISTERED
