"""Key handover (交钥匙) and the runner queue (引车): the chain of custody of every key.

The owner hands the key over at the handover desk (owner → desk); a runner (引车员) claims a
paid car from the runner queue (desk → runner), drives it to its lane (runner → lane), takes it
back once tested (lane → runner), parks it in the pick-up area and hangs the key in the cabinet
(runner → cabinet); the key goes back only to the verified owner (cabinet → owner).

Every change of holder goes through :func:`_move`: it checks the step is allowed now, then
changes the key's one holder row by compare-and-set (``UPDATE … WHERE id = ? AND version = ?
AND holder_kind = ?``) and appends one numbered ``KeyMovement`` (unique per key and number).
On PostgreSQL the key row is also locked (``FOR UPDATE``) before the checks, so a second
runner claiming the same car waits, then sees the key gone and is refused; on SQLite the
write transaction (``BEGIN IMMEDIATE``) already serialises writers. The database refuses what
the code might miss: one holder per key by construction, holder columns that fit its kind,
one key per tag in use, one key per runner, and no change to a recorded movement.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from station import signals
from station.clock import Clock
from station.domain import priority
from station.domain.journey import LABELS, VisitState
from station.errors import Conflict, Forbidden, NotFound, ValidationError
from station.models import (
    ActorKind,
    Appointment,
    Lane,
    OpenState,
    Role,
    Ticket,
    User,
    Vehicle,
    Visit,
    VisitCategory,
    VisitTransition,
)
from station.models.keys import (
    HOLDER_LABELS,
    STAGE_LABELS,
    STEP_LABELS,
    KeyHolderKind,
    KeyMovement,
    KeyPhoto,
    KeySlot,
    KeyStage,
    VehicleKey,
)

from . import audit, queue, settings, visits
from .actors import Actor
from .settings import Setting

H = KeyHolderKind
S = VisitState

settings.register(
    Setting("keys.overdue_minutes", 30, "钥匙未流转告警(分钟)",
            "Alert when a key out of the cabinet has not moved for (minutes)", 5, 480),
    Setting("keys.photo_max_kb", 8192, "交车照片大小上限(KB)", "Largest handover photo (KB)",
            100, 51200),
    Setting("keys.photos_per_key", 8, "每车交车照片上限", "Handover photos per car", 0, 50),
)

#: a key out of the cabinet too long (not a movement, so not ``key_moved``) — key_id, visit_id,
#: tag, holder_kind, holder_label, since, minutes, plate, at
key_overdue = signals.station_signals.signal("key-overdue")

#: where the visit may be when its key is handed over: on arrival (the visit then moves to
#: KEYS_HANDED_OVER), or later, if the owner went to the counter first (no state change)
HANDOVER_LATE_STATES = frozenset({S.CALLED, S.REGISTERED, S.QUEUED_FOR_LANE})
#: the visit states in which a runner takes a key back from a lane
COLLECT_STATES = frozenset({S.TESTED, S.PAPERS_PRINTED, S.QUEUED_FOR_LANE, S.REFUSED,
                            S.CANCELLED})
#: the visit states in which a parked car's key goes to the pick-up cabinet
PARK_STATES = frozenset({S.TESTED, S.PAPERS_PRINTED, S.REFUSED, S.CANCELLED})
#: the visit states in which the key goes back to the owner with the visit → KEYS_RETURNED
RETURN_STATES = frozenset({S.TESTED, S.PAPERS_PRINTED})
#: ended visits whose key still has to go back (no state change left to make)
RETURN_ENDED_STATES = frozenset({S.CANCELLED, S.REFUSED})
#: holders that count as "out of the cabinet" for the overdue alert
OUT_OF_CABINET = (H.RUNNER, H.LANE)

TAG_RE = re.compile(r"[A-Z0-9][A-Z0-9-]{0,11}")
PHOTO_TYPES = {"image/jpeg": ("jpg", b"\xff\xd8\xff"), "image/png": ("png", b"\x89PNG\r\n\x1a\n"),
               "image/webp": ("webp", b"RIFF")}


# -- lookups ------------------------------------------------------------------------------------

def normalise_tag(tag: str | None) -> str:
    value = (tag or "").strip().upper()
    if not TAG_RE.fullmatch(value):
        raise ValidationError("key_tag_invalid", "钥匙牌号应为1至12位字母、数字或短横线",
                              "A key tag is 1 to 12 letters, digits or dashes", tag=tag)
    return value


def _spot(value: str | None, what_zh: str, what_en: str, *, required: bool = False) -> str | None:
    text = (value or "").strip()
    if not text:
        if required:
            raise ValidationError("spot_required", f"请填写{what_zh}", f"Enter the {what_en}")
        return None
    if len(text) > 20:
        raise ValidationError("spot_too_long", f"{what_zh}最多20个字符",
                              f"The {what_en} has at most 20 characters")
    return text


def get_key(session: Session, key_id: int, *, for_update: bool = False) -> VehicleKey:
    stmt = sa.select(VehicleKey).where(VehicleKey.id == key_id)
    if for_update and session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(of=VehicleKey)
    key = session.scalar(stmt.execution_options(populate_existing=True))
    if key is None:
        raise NotFound("key_not_found", "未找到该钥匙记录", "No such key", id=key_id)
    return key


def key_of_visit(session: Session, visit_id: int) -> VehicleKey | None:
    return session.scalar(sa.select(VehicleKey).where(VehicleKey.visit_id == visit_id))


def visit_by_ticket(session: Session, clock: Clock, label: str) -> Visit:
    """Today's visit with this ticket number (e.g. ``B012``)."""
    text = (label or "").strip().upper()
    ticket = session.scalar(sa.select(Ticket).where(Ticket.day == clock.today(),
                                                    Ticket.label == text))
    if ticket is None:
        raise NotFound("ticket_not_found", f"今天没有{text or '该'}号", f"No ticket {text} today")
    return ticket.visit


def _ticket(session: Session, visit_id: int) -> Ticket | None:
    return session.scalar(sa.select(Ticket).where(Ticket.visit_id == visit_id))


def _appointment(session: Session, visit_id: int) -> Appointment | None:
    return session.scalar(sa.select(Appointment).where(Appointment.visit_id == visit_id)
                          .order_by(Appointment.id.desc()).limit(1))


def slots(session: Session) -> list[dict[str, Any]]:
    """The cabinet's slots with the key hanging there (if any)."""
    used = dict(session.execute(sa.select(VehicleKey.tag, VehicleKey.id)
                                .where(VehicleKey.holder_kind != H.OWNER)).all())
    return [{"code": slot.code, "active": slot.active, "key_id": used.get(slot.code)}
            for slot in session.scalars(sa.select(KeySlot).order_by(KeySlot.position))]


def seed_slots(session: Session, codes: list[str]) -> None:
    """Define the key cabinet's slots (the demo calls it with A01–A40)."""
    start = int(session.scalar(sa.select(sa.func.coalesce(sa.func.max(KeySlot.position), 0))))
    for i, code in enumerate(codes, start=start + 1):
        session.add(KeySlot(code=normalise_tag(code), position=i, active=True))
    session.flush()


def seed_demo_slots(session: Session, count: int = 40) -> list[str]:
    """The demo station's key cabinet: slots A01 … A40."""
    codes = [f"A{i:02d}" for i in range(1, count + 1)]
    seed_slots(session, codes)
    return codes


def _check_tag(session: Session, tag: str) -> None:
    has_slots = session.scalar(sa.select(sa.func.count()).select_from(KeySlot)) > 0
    if has_slots and session.scalar(sa.select(KeySlot.code).where(
            KeySlot.code == tag, KeySlot.active.is_(True))) is None:
        raise ValidationError("key_slot_unknown", f"钥匙柜没有柜位{tag}",
                              f"The key cabinet has no slot {tag}", tag=tag)
    holder = session.scalar(sa.select(VehicleKey).where(VehicleKey.tag == tag,
                                                        VehicleKey.holder_kind != H.OWNER))
    if holder is not None:
        raise Conflict("key_tag_in_use", f"钥匙牌{tag}正在使用中（{holder.visit.vehicle.plate}）",
                       f"Key tag {tag} is in use ({holder.visit.vehicle.plate})", tag=tag)


# -- labels and events ---------------------------------------------------------------------------

def _user_name(session: Session, user_id: int | None) -> str:
    user = session.get(User, user_id) if user_id is not None else None
    return user.display_name if user is not None else "?"


def holder_label(session: Session, kind: KeyHolderKind, *, user_id: int | None = None,
                 lane_id: int | None = None, tag: str | None = None) -> str:
    if kind is H.RUNNER:
        return f"引车员 {_user_name(session, user_id)}"
    if kind is H.LANE:
        lane = session.get(Lane, lane_id) if lane_id is not None else None
        return lane.name if lane is not None else "检测线"
    if kind in (H.DESK, H.CABINET) and tag:
        return f"{HOLDER_LABELS[kind][0]} {tag}"
    return HOLDER_LABELS[kind][0]


def current_holder_label(session: Session, key: VehicleKey) -> str:
    return holder_label(session, key.holder_kind, user_id=key.holder_user_id,
                        lane_id=key.holder_lane_id, tag=key.tag)


def progress_event(stage: KeyStage, tag: str, at: datetime) -> dict[str, Any]:
    """What the owner's progress page is told of a key step: no names, phones or plates."""
    return {"stage": stage.value, "stage_label": STAGE_LABELS[stage][0], "tag": tag,
            "at": at.isoformat()}


def progress_of_visit(session: Session, visit_id: int) -> dict[str, Any] | None:
    """The owner's view of the key's last step (as :func:`progress_event`), or None."""
    last = session.scalar(sa.select(KeyMovement).where(KeyMovement.visit_id == visit_id)
                          .order_by(KeyMovement.id.desc()).limit(1))
    if last is None:
        return None
    tag = session.scalar(sa.select(VehicleKey.tag).where(VehicleKey.id == last.key_id))
    return progress_event(last.stage, tag or "", last.at)


# -- the one way to move a key ---------------------------------------------------------------------

@dataclass(frozen=True)
class _Target:
    kind: KeyHolderKind
    user_id: int | None = None
    lane_id: int | None = None


#: what a refused step was, in "不能…" form
_VERBS = {KeyStage.HANDED_OVER: "交接", KeyStage.CLAIMED: "取钥匙", KeyStage.RELEASED: "放回",
          KeyStage.AT_LANE: "交检测线", KeyStage.COLLECTED: "取回", KeyStage.IN_CABINET: "归还钥匙柜",
          KeyStage.RETURNED: "交还车主"}


def _refuse_holder(session: Session, key: VehicleKey, wanted: str) -> Conflict:
    now_with = current_holder_label(session, key)
    return Conflict("key_not_here", f"钥匙{key.tag}现在在{now_with}处，不能{wanted}",
                    f"Key {key.tag} is with {HOLDER_LABELS[key.holder_kind][1]} now",
                    holder=key.holder_kind.value, tag=key.tag)


def _require_staff(actor: Actor) -> int:
    if actor.kind is not ActorKind.USER or actor.id is None:
        raise Forbidden("staff_only", "只有登录的工作人员可以经手钥匙",
                        "Only signed-in staff handle keys")
    return actor.id


def _runner_free(session: Session, user_id: int, key: VehicleKey) -> None:
    held = session.scalar(sa.select(VehicleKey).where(VehicleKey.holder_kind == H.RUNNER,
                                                      VehicleKey.holder_user_id == user_id,
                                                      VehicleKey.id != key.id))
    if held is not None:
        raise Conflict("runner_has_key", f"您手上已有钥匙{held.tag}，请先交出再取下一把",
                       f"You already hold key {held.tag}: hand it on first", tag=held.tag)


def _move(session: Session, clock: Clock, actor: Actor, key: VehicleKey, *,
          expect: tuple[KeyHolderKind, ...], to: _Target, stage: KeyStage, place: str,
          reason: str | None = None, **columns: Any) -> VehicleKey:
    """Change the key's holder by compare-and-set and append the movement."""
    if key.holder_kind not in expect:
        raise _refuse_holder(session, key, _VERBS[stage])
    now = clock.now()
    src_kind, version = key.holder_kind, key.version
    src_label = current_holder_label(session, key)
    to_label = holder_label(session, to.kind, user_id=to.user_id, lane_id=to.lane_id, tag=key.tag)
    values = {"holder_kind": to.kind, "holder_user_id": to.user_id, "holder_lane_id": to.lane_id,
              "holder_since": now, "version": version + 1, "overdue_alerted_at": None, **columns}
    try:
        with session.begin_nested():
            result = session.execute(
                sa.update(VehicleKey)
                .where(VehicleKey.id == key.id, VehicleKey.version == version,
                       VehicleKey.holder_kind == src_kind)
                .values(**values).execution_options(synchronize_session=False))
            if result.rowcount != 1:
                raise Conflict("key_moved_meanwhile", "钥匙刚被他人经手，请刷新后再试",
                               "Someone else just moved this key: refresh and try again",
                               tag=key.tag)
            session.add(KeyMovement(
                key_id=key.id, visit_id=key.visit_id, seq=version + 1, stage=stage,
                from_kind=src_kind, from_label=src_label[:64], to_kind=to.kind,
                to_label=to_label[:64], to_user_id=to.user_id, to_lane_id=to.lane_id,
                place=place[:64], at=now, actor_kind=actor.kind, actor_id=actor.id,
                actor_name=actor.name, reason=reason))
            session.flush()
    except IntegrityError as err:
        # the database's own guards: one key per runner, one key per tag, one movement per step
        raise Conflict("key_moved_meanwhile", "钥匙或引车员刚被他人占用，请刷新后再试",
                       "The key or the runner was just taken by someone else: refresh",
                       tag=key.tag) from err
    session.refresh(key)
    audit.record(session, clock, actor, f"key.{stage.value}", entity=key, tag=key.tag,
                 visit_id=key.visit_id, from_holder=src_label, to_holder=to_label, place=place,
                 reason=reason)
    _announce(session, key, stage, src_kind, src_label, to.kind, to_label, place, now, actor)
    return key


def _announce(session: Session, key: VehicleKey, stage: KeyStage, src: KeyHolderKind,
              src_label: str, dst: KeyHolderKind, dst_label: str, place: str, at: datetime,
              actor: Actor) -> None:
    signals.send_after_commit(
        session, signals.key_moved, visit_id=key.visit_id, key_id=key.id, tag=key.tag,
        from_holder=src.value, to_holder=dst.value, stage=stage.value, at=at.isoformat(),
        from_label=src_label, to_label=dst_label, place=place, actor=actor.name,
        plate=key.visit.vehicle.plate, stage_label=STAGE_LABELS[stage][0],
        stage_label_en=STAGE_LABELS[stage][1])


# -- the steps -----------------------------------------------------------------------------------

def hand_over(session: Session, clock: Clock, actor: Actor, visit: Visit, *, tag: str,
              parking_spot: str | None = None) -> VehicleKey:
    """The owner leaves the car in the handover area and the key at the desk (owner → desk)."""
    _require_staff(actor)
    tag = normalise_tag(tag)
    spot = _spot(parking_spot, "交车区车位", "handover parking spot")
    if visit.state is not S.CHECKED_IN and visit.state not in HANDOVER_LATE_STATES:
        raise Conflict("handover_not_now", f"车辆当前状态为“{LABELS[visit.state][0]}”，不能交钥匙",
                       f"A visit that is “{LABELS[visit.state][1]}” cannot hand over its key",
                       state=visit.state.value)
    if key_of_visit(session, visit.id) is not None:
        raise Conflict("key_already_handed_over", "该车辆的钥匙已交接",
                       "This car's key has already been handed over")
    _check_tag(session, tag)
    now = clock.now()
    key = VehicleKey(visit_id=visit.id, tag=tag, parking_spot=spot, holder_kind=H.OWNER,
                     holder_since=now, version=0, handed_over_at=now, returned_at=now)
    try:
        with session.begin_nested():
            session.add(key)
            session.flush()
    except IntegrityError as err:
        raise Conflict("key_handover_clash", "该车辆或钥匙牌刚被他人登记，请刷新后再试",
                       "This car or key tag was just registered by someone else: refresh",
                       tag=tag) from err
    place = f"交车区 {spot}" if spot else "交车区"
    _move(session, clock, actor, key, expect=(H.OWNER,), to=_Target(H.DESK),
          stage=KeyStage.HANDED_OVER, place=place, returned_at=None)
    if visit.state is S.CHECKED_IN:
        visits.transition(session, clock, actor, visit, S.KEYS_HANDED_OVER,
                          reason=f"钥匙牌{tag}" + (f"，车位{spot}" if spot else ""))
    return key


def claim(session: Session, clock: Clock, actor: Actor, key_id: int) -> VehicleKey:
    """A runner takes a paid car's key from the desk (desk → runner). One runner wins."""
    user_id = _require_staff(actor)
    key = get_key(session, key_id, for_update=True)
    if key.holder_kind is H.RUNNER:
        who = "您" if key.holder_user_id == user_id else _user_name(session, key.holder_user_id)
        raise Conflict("key_claimed", f"钥匙{key.tag}已被{who}取走",
                       f"Key {key.tag} has already been claimed", tag=key.tag)
    if key.holder_kind is H.DESK and key.visit.state is not S.QUEUED_FOR_LANE:
        raise Conflict("car_not_ready", "该车辆尚未缴费待检，不能引车",
                       "This car is not paid and waiting for a lane yet", tag=key.tag)
    _runner_free(session, user_id, key)
    lane = session.get(Lane, key.visit.assigned_lane_id) if key.visit.assigned_lane_id else None
    return _move(session, clock, actor, key, expect=(H.DESK,), to=_Target(H.RUNNER, user_id=user_id),
                 stage=KeyStage.CLAIMED, place=f"交车区 {key.parking_spot or ''}".strip(),
                 reason=f"前往{lane.name}" if lane else None)


def _held_by_me(session: Session, key: VehicleKey, user_id: int, wanted: str) -> None:
    if key.holder_kind is not H.RUNNER or key.holder_user_id != user_id:
        raise _refuse_holder(session, key, wanted)


def release(session: Session, clock: Clock, actor: Actor, key_id: int,
            reason: str | None = None) -> VehicleKey:
    """A runner hangs a claimed key back at the desk before driving off (runner → desk)."""
    user_id = _require_staff(actor)
    key = get_key(session, key_id, for_update=True)
    _held_by_me(session, key, user_id, "放回")
    if key.visit.state is not S.QUEUED_FOR_LANE:
        raise Conflict("release_not_now", "车辆已上线或已检测，不能放回交车区",
                       "The car has been on the lane: park it instead", tag=key.tag)
    return _move(session, clock, actor, key, expect=(H.RUNNER,), to=_Target(H.DESK),
                 stage=KeyStage.RELEASED, place="交车区", reason=(reason or "").strip()[:200] or None)


def deliver(session: Session, clock: Clock, actor: Actor, key_id: int,
            lane_id: int | None = None) -> VehicleKey:
    """The runner hands the car and its key over at the lane (runner → lane)."""
    user_id = _require_staff(actor)
    key = get_key(session, key_id, for_update=True)
    _held_by_me(session, key, user_id, "交检测线")
    visit = key.visit
    if visit.state not in (S.QUEUED_FOR_LANE, S.ON_LANE):
        raise Conflict("deliver_not_now", f"车辆当前状态为“{LABELS[visit.state][0]}”，不能交检测线",
                       f"A visit that is “{LABELS[visit.state][1]}” cannot go to a lane",
                       state=visit.state.value)
    target = visit.assigned_lane_id or lane_id
    if target is None:
        raise ValidationError("lane_required", "该车辆尚未派线，请选择检测线",
                              "No lane assigned yet: choose the lane")
    lane = session.get(Lane, target)
    if lane is None:
        raise NotFound("lane_not_found", "未找到该检测线", "No such lane", id=target)
    if visit.assigned_lane_id and lane_id and lane_id != visit.assigned_lane_id:
        assigned = session.get(Lane, visit.assigned_lane_id)
        raise Conflict("wrong_lane", f"该车辆已派往{assigned.name if assigned else '其他检测线'}",
                       "This car is assigned to another lane", lane_id=visit.assigned_lane_id)
    if lane.state is not OpenState.OPEN:
        raise Conflict("lane_not_open", f"{lane.name}暂停使用：{lane.state_reason or ''}",
                       f"Lane {lane.number} is not open", lane_id=lane.id)
    return _move(session, clock, actor, key, expect=(H.RUNNER,),
                 to=_Target(H.LANE, lane_id=lane.id), stage=KeyStage.AT_LANE, place=lane.name)


def collect(session: Session, clock: Clock, actor: Actor, key_id: int) -> VehicleKey:
    """After the test the runner takes the car and key back from the lane (lane → runner)."""
    user_id = _require_staff(actor)
    key = get_key(session, key_id, for_update=True)
    if key.holder_kind is H.RUNNER:
        raise Conflict("key_claimed", f"钥匙{key.tag}已被{_user_name(session, key.holder_user_id)}取走",
                       f"Key {key.tag} has already been taken", tag=key.tag)
    if key.holder_kind is not H.LANE:
        raise _refuse_holder(session, key, "从检测线取回")
    if key.visit.state not in COLLECT_STATES or (
            key.visit.state is S.QUEUED_FOR_LANE and not _sent_back(session, key)):
        raise Conflict("not_tested_yet", "车辆尚未检测完成，请等检测线放行",
                       "The car is still being tested", tag=key.tag)
    _runner_free(session, user_id, key)
    place = current_holder_label(session, key)
    return _move(session, clock, actor, key, expect=(H.LANE,),
                 to=_Target(H.RUNNER, user_id=user_id), stage=KeyStage.COLLECTED, place=place)


def _sent_back(session: Session, key: VehicleKey) -> bool:
    """Whether the lane sent the car back to the queue (on lane → queued) since it got the key."""
    return session.scalar(sa.select(VisitTransition.id).where(
        VisitTransition.visit_id == key.visit_id, VisitTransition.from_state == S.ON_LANE,
        VisitTransition.to_state == S.QUEUED_FOR_LANE,
        VisitTransition.at >= key.holder_since).limit(1)) is not None


def park(session: Session, clock: Clock, actor: Actor, key_id: int,
         pickup_spot: str | None) -> VehicleKey:
    """The runner parks the tested car in the pick-up area and hangs the key in its cabinet
    slot (runner → cabinet)."""
    user_id = _require_staff(actor)
    spot = _spot(pickup_spot, "提车区车位", "pick-up parking spot", required=True)
    key = get_key(session, key_id, for_update=True)
    _held_by_me(session, key, user_id, "归还钥匙柜")
    if key.visit.state not in PARK_STATES:
        raise Conflict("park_not_now", "车辆尚未检测完成，请先交检测线",
                       "The car has not been tested: take it to the lane first", tag=key.tag)
    return _move(session, clock, actor, key, expect=(H.RUNNER,), to=_Target(H.CABINET),
                 stage=KeyStage.IN_CABINET, place=f"提车区 {spot}", pickup_spot=spot)


def return_to_owner(session: Session, clock: Clock, actor: Actor, key_id: int, *,
                    token: str | None = None, ticket: str | None = None,
                    phone_tail: str | None = None,
                    override_reason: str | None = None) -> VehicleKey:
    """The key goes back to the verified owner (cabinet/desk → owner): the ticket (its QR
    token or number) and the last 4 digits of the booking's phone must match — or a station
    manager vouches for the owner, with a reason (audited)."""
    user_id = _require_staff(actor)
    key = get_key(session, key_id, for_update=True)
    visit = key.visit
    if key.holder_kind not in (H.DESK, H.CABINET):
        raise _refuse_holder(session, key, "交还车主")
    if visit.state not in RETURN_STATES and visit.state not in RETURN_ENDED_STATES:
        raise Conflict("return_not_now", f"车辆当前状态为“{LABELS[visit.state][0]}”，检测完成后才能交还钥匙",
                       f"A visit that is “{LABELS[visit.state][1]}” cannot get its key back yet",
                       state=visit.state.value)
    reason = (override_reason or "").strip()
    if reason:
        user = session.get(User, user_id)
        if user is None or not user.has_role(Role.MANAGER):
            raise Forbidden("override_needs_manager", "只有站长可以免核验交还钥匙",
                            "Only a station manager may return a key without verification")
        if len(reason) < 4:
            raise ValidationError("override_reason_short", "请写明免核验的原因（至少4个字）",
                                  "Give the reason for the override (4 characters or more)")
        how = f"站长授权：{reason[:180]}"
    else:
        _verify_owner(session, visit, token=token, ticket=ticket, phone_tail=phone_tail)
        how = "车主核验：取号凭证+手机尾号"
    _move(session, clock, actor, key, expect=(H.DESK, H.CABINET), to=_Target(H.OWNER),
          stage=KeyStage.RETURNED, place="提车区" if key.holder_kind is H.CABINET else "交车区",
          reason=how,
          returned_at=clock.now())
    if reason:
        audit.record(session, clock, actor, "key.return_override", entity=key, tag=key.tag,
                     visit_id=visit.id, reason=reason)
    if visit.state in RETURN_STATES:
        visits.transition(session, clock, actor, visit, S.KEYS_RETURNED, reason=how)
    return key


def _verify_owner(session: Session, visit: Visit, *, token: str | None, ticket: str | None,
                  phone_tail: str | None) -> None:
    refused = Forbidden("owner_not_verified", "核验未通过：取号凭证或手机尾号不符",
                        "Verification failed: the ticket or the phone digits do not match")
    own = _ticket(session, visit.id)
    if not (token or ticket):
        raise ValidationError("verification_required", "请扫描取号二维码或输入排队号，并输入手机尾号后4位",
                              "Scan the ticket's QR code or enter its number, and the phone's "
                              "last 4 digits")
    if own is None:
        raise refused
    if token and not secrets.compare_digest(own.progress_token, token.strip()):
        raise refused
    if ticket and own.label != ticket.strip().upper():
        raise refused
    appointment = _appointment(session, visit.id)
    phone = appointment.phone if appointment is not None else ""
    if not phone:
        raise Forbidden("no_phone_on_record", "该业务未登记手机号，请站长核验车主身份后授权交还",
                        "No phone number on record: a station manager must verify the owner")
    tail = (phone_tail or "").strip()
    if not re.fullmatch(r"\d{4}", tail):
        raise ValidationError("phone_tail_invalid", "请输入手机号后4位数字",
                              "Enter the last 4 digits of the phone number")
    if not secrets.compare_digest(phone[-4:], tail):
        raise refused


def find_for_return(session: Session, clock: Clock, *, token: str | None = None,
                    ticket: str | None = None, key_id: int | None = None) -> VehicleKey:
    """The key an owner asks for, by the ticket's QR token, today's ticket number or the key."""
    if key_id is not None:
        return get_key(session, key_id)
    if token:
        row = session.scalar(sa.select(Ticket).where(Ticket.progress_token == token.strip()))
        visit = row.visit if row is not None else None
    elif ticket:
        visit = visit_by_ticket(session, clock, ticket)
    else:
        raise ValidationError("verification_required", "请扫描取号二维码或输入排队号",
                              "Scan the ticket's QR code or enter its number")
    key = key_of_visit(session, visit.id) if visit is not None else None
    if key is None:
        raise NotFound("key_not_found", "没有找到该车辆的钥匙记录", "No key recorded for this ticket")
    return key


# -- photos -------------------------------------------------------------------------------------

def add_photo(session: Session, clock: Clock, actor: Actor, key: VehicleKey, *, data: bytes,
              filename: str, content_type: str, folder: Path, written: list[Path]) -> KeyPhoto:
    """Store a handover photo under ``folder`` and record it. The file's path is appended to
    ``written`` so the caller can remove it if the transaction does not commit."""
    user_id = _require_staff(actor)
    kind = PHOTO_TYPES.get((content_type or "").split(";")[0].strip().lower())
    if kind is None or not data.startswith(kind[1]) or (kind[0] == "webp" and data[8:12] != b"WEBP"):
        raise ValidationError("photo_type", "照片须为 JPEG、PNG 或 WebP 图片",
                              "A photo must be a JPEG, PNG or WebP image")
    limit_kb = int(settings.get(session, "keys.photo_max_kb"))
    if len(data) > limit_kb * 1024:
        raise ValidationError("photo_too_large", f"照片不能超过{limit_kb}KB",
                              f"A photo may be at most {limit_kb} KB")
    count = session.scalar(sa.select(sa.func.count()).select_from(KeyPhoto)
                           .where(KeyPhoto.key_id == key.id))
    if count >= int(settings.get(session, "keys.photos_per_key")):
        raise Conflict("too_many_photos", "该车辆的交车照片已达上限", "This car has all its photos")
    name = f"{key.visit_id}/{secrets.token_hex(12)}.{kind[0]}"
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    written.append(path)
    photo = KeyPhoto(key_id=key.id, stored_name=name, original_name=(filename or "photo")[:120],
                     content_type=content_type.split(";")[0].strip().lower(), size_bytes=len(data),
                     sha256=hashlib.sha256(data).hexdigest(), uploaded_at=clock.now(),
                     uploaded_by=user_id)
    session.add(photo)
    session.flush()
    audit.record(session, clock, actor, "key.photo", entity=photo, key_id=key.id, tag=key.tag)
    return photo


def photos(session: Session, key_id: int) -> list[KeyPhoto]:
    return list(session.scalars(sa.select(KeyPhoto).where(KeyPhoto.key_id == key_id)
                                .order_by(KeyPhoto.id)))


def get_photo(session: Session, photo_id: int) -> KeyPhoto:
    photo = session.get(KeyPhoto, photo_id)
    if photo is None:
        raise NotFound("photo_not_found", "未找到该照片", "No such photo", id=photo_id)
    return photo


# -- views: custody, the runner's board, overdue keys ----------------------------------------------

def custody(session: Session, visit_id: int) -> list[KeyMovement]:
    """Every movement of the visit's key, oldest first."""
    return list(session.scalars(sa.select(KeyMovement).where(KeyMovement.visit_id == visit_id)
                                .order_by(KeyMovement.key_id, KeyMovement.seq)))


def movement_dict(clock: Clock, m: KeyMovement) -> dict[str, Any]:
    return {"seq": m.seq, "stage": m.stage.value, "stage_label": STEP_LABELS[m.stage][0],
            "from_kind": m.from_kind.value, "from_label": m.from_label,
            "to_kind": m.to_kind.value, "to_label": m.to_label, "place": m.place,
            "at": m.at.isoformat(), "at_local": clock.local(m.at).strftime("%Y-%m-%d %H:%M:%S"),
            "actor": m.actor_name, "reason": m.reason}


def _overdue_minutes(session: Session) -> int:
    return int(settings.get(session, "keys.overdue_minutes"))


def is_overdue(session: Session, clock: Clock, key: VehicleKey) -> bool:
    return (key.holder_kind in OUT_OF_CABINET
            and clock.now() - key.holder_since >= timedelta(minutes=_overdue_minutes(session)))


def key_dict(session: Session, clock: Clock, key: VehicleKey) -> dict[str, Any]:
    visit = key.visit
    ticket = _ticket(session, visit.id)
    lane = session.get(Lane, visit.assigned_lane_id) if visit.assigned_lane_id else None
    minutes = int((clock.now() - key.holder_since) / timedelta(minutes=1))
    return {"key_id": key.id, "visit_id": visit.id, "tag": key.tag, "plate": visit.vehicle.plate,
            "ticket": ticket.label if ticket else None, "visit_state": visit.state.value,
            "visit_state_label": LABELS[visit.state][0], "holder_kind": key.holder_kind.value,
            "holder_label": current_holder_label(session, key), "holder_user_id": key.holder_user_id,
            "holder_lane_id": key.holder_lane_id, "holder_since": key.holder_since.isoformat(),
            "minutes_with_holder": minutes, "overdue": is_overdue(session, clock, key),
            "parking_spot": key.parking_spot, "pickup_spot": key.pickup_spot,
            "lane_id": lane.id if lane else None, "lane_name": lane.name if lane else None,
            "version": key.version, "photos": [p.id for p in photos(session, key.id)]}


def held(session: Session, clock: Clock) -> list[dict[str, Any]]:
    """Every key at the station now (not back with its owner), by tag."""
    keys = session.scalars(sa.select(VehicleKey).where(VehicleKey.holder_kind != H.OWNER)
                           .order_by(VehicleKey.tag))
    return [key_dict(session, clock, k) for k in keys]


def runner_queue(session: Session, clock: Clock) -> list[dict[str, Any]]:
    """The cars ready to move: paid (QUEUED_FOR_LANE) with the key at the desk.

    Cars whose assigned lane is open come first — the first of them for each lane is that
    lane's next car — then cars still waiting for a lane (none assigned, or it is closed);
    within each group the station's priority policy decides.
    """
    rows = session.execute(
        sa.select(VehicleKey, Visit, Vehicle.plate, Appointment.slot_start, Lane)
        .join(Visit, Visit.id == VehicleKey.visit_id)
        .join(Vehicle, Vehicle.id == Visit.vehicle_id)
        .outerjoin(Appointment, Appointment.visit_id == Visit.id)
        .outerjoin(Lane, Lane.id == Visit.assigned_lane_id)
        .where(VehicleKey.holder_kind == H.DESK, Visit.state == S.QUEUED_FOR_LANE)).all()
    entries, by_id = [], {}
    for key, visit, plate, slot_start, lane in rows:
        if visit.id in by_id:
            continue
        by_id[visit.id] = (key, visit, plate, lane)
        # an on-site booking has a record but no slot: only a booking made ahead has one
        slot = slot_start if visit.category is VisitCategory.BOOKED else None
        category = visit.category.value if slot or visit.category is not VisitCategory.BOOKED \
            else VisitCategory.WALK_IN.value
        entries.append(priority.Waiting(id=visit.id, category=category,
                                        arrived_at=visit.arrived_at or visit.created_at,
                                        slot_start=slot, special_needs=visit.special_needs))
    now = clock.now()
    ranked = priority.order(entries, now, queue.policy_config(session))
    labels = dict(session.execute(sa.select(Ticket.visit_id, Ticket.label)
                                  .where(Ticket.visit_id.in_(list(by_id)))).all())
    out = []
    for pos in ranked:
        key, visit, plate, lane = by_id[pos.id]
        ready = lane is not None and lane.state is OpenState.OPEN
        out.append({"key_id": key.id, "visit_id": visit.id, "tag": key.tag, "plate": plate,
                    "ticket": labels.get(visit.id), "parking_spot": key.parking_spot,
                    "lane_id": lane.id if lane else None, "lane_name": lane.name if lane else None,
                    "lane_number": lane.number if lane else None, "lane_ready": ready,
                    "rank": pos.rank, "reason": pos.reason_zh, "reason_en": pos.reason_en,
                    "special_needs": visit.special_needs,
                    "waited_min": int((now - (visit.arrived_at or visit.created_at))
                                      / timedelta(minutes=1)), "next_for_lane": False})
    out.sort(key=lambda e: (not e["lane_ready"], e["rank"]))
    seen: set[int] = set()
    for entry in out:
        if entry["lane_ready"] and entry["lane_id"] not in seen:
            entry["next_for_lane"] = True
            seen.add(entry["lane_id"])
    return out


def to_collect(session: Session, clock: Clock) -> list[dict[str, Any]]:
    """Keys at a lane whose car may be taken back (tested, or sent back or refused there)."""
    keys = session.scalars(sa.select(VehicleKey).join(Visit, Visit.id == VehicleKey.visit_id)
                           .where(VehicleKey.holder_kind == H.LANE,
                                  Visit.state.in_(COLLECT_STATES))
                           .order_by(VehicleKey.holder_since))
    return [key_dict(session, clock, k) for k in keys
            if k.visit.state is not S.QUEUED_FOR_LANE or _sent_back(session, k)]


def runner_board(session: Session, clock: Clock, user_id: int) -> dict[str, Any]:
    """Everything the runner's phone shows: the key in hand, the queue, cars to take back,
    and keys that have not moved for too long."""
    mine = session.scalar(sa.select(VehicleKey).where(VehicleKey.holder_kind == H.RUNNER,
                                                      VehicleKey.holder_user_id == user_id))
    lanes = session.scalars(sa.select(Lane).order_by(Lane.number))
    out_keys = session.scalars(sa.select(VehicleKey).where(VehicleKey.holder_kind.in_(OUT_OF_CABINET)))
    return {"mine": key_dict(session, clock, mine) if mine is not None else None,
            "queue": runner_queue(session, clock),
            "to_collect": to_collect(session, clock),
            "lanes": [{"id": lane.id, "number": lane.number, "name": lane.name,
                       "state": lane.state.value} for lane in lanes],
            "overdue": [key_dict(session, clock, k) for k in out_keys
                        if is_overdue(session, clock, k)],
            "overdue_minutes": _overdue_minutes(session)}


def flag_overdue(session: Session, clock: Clock) -> list[VehicleKey]:
    """The scheduler's check: raise one alert per holding for keys out of the cabinet that
    have not moved for ``keys.overdue_minutes``."""
    now = clock.now()
    limit = _overdue_minutes(session)
    stmt = sa.select(VehicleKey).where(VehicleKey.holder_kind.in_(OUT_OF_CABINET),
                                       VehicleKey.overdue_alerted_at.is_(None),
                                       VehicleKey.holder_since <= now - timedelta(minutes=limit))
    if session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True, of=VehicleKey)
    flagged = []
    for key in session.scalars(stmt.order_by(VehicleKey.id)).all():
        done = session.execute(sa.update(VehicleKey).where(
            VehicleKey.id == key.id, VehicleKey.version == key.version)
            .values(overdue_alerted_at=now).execution_options(synchronize_session=False))
        if done.rowcount != 1:
            continue
        session.refresh(key)
        label = current_holder_label(session, key)
        minutes = int((now - key.holder_since) / timedelta(minutes=1))
        audit.record(session, clock, Actor.system("keys.overdue"), "key.overdue", entity=key,
                     tag=key.tag, holder=label, minutes=minutes)
        signals.send_after_commit(
            session, key_overdue, key_id=key.id, visit_id=key.visit_id, tag=key.tag,
            holder_kind=key.holder_kind.value, holder_label=label,
            since=key.holder_since.isoformat(), minutes=minutes, plate=key.visit.vehicle.plate,
            at=now.isoformat())
        flagged.append(key)
    return flagged
