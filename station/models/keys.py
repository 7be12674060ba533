"""Key handover (交钥匙): key tags, cabinet slots and the append-only chain of custody of every key.

One ``VehicleKey`` row per visit's key carries its *current holder* (the owner, the handover desk,
a runner, a lane, the key cabinet). Because the holder lives in that one row, a key has exactly
one holder at any moment; the database checks that the holder's columns fit its kind, that a
tag (cabinet slot) is used by one key at a time and that a runner holds one key at a time.
Services change the holder only by compare-and-set on ``version`` (``station.services.keys``).

Every change of holder is one ``KeyMovement`` row — who, when, where, from, to — numbered
per key (``seq`` = the key's ``version`` after the move, unique), append-only: the ORM refuses
updates and deletes (below) and so do database triggers (the migration).
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from .base import Base, IdMixin, str_enum
from .visit import ActorKind, Visit


class KeyHolderKind(enum.StrEnum):
    """Who holds a key: the chain owner → desk → runner → lane → runner → cabinet → owner."""

    OWNER = "owner"      # 车主 (before the handover and after the return)
    DESK = "desk"        # 交车区钥匙柜 (handed over, waiting for a runner)
    RUNNER = "runner"    # 引车员 (driving the car)
    LANE = "lane"        # 检测线 (the car is being tested)
    CABINET = "cabinet"  # 提车区钥匙柜 (tested, parked in the pick-up area)


HOLDER_LABELS: dict[KeyHolderKind, tuple[str, str]] = {
    KeyHolderKind.OWNER: ("车主", "Owner"),
    KeyHolderKind.DESK: ("交车区钥匙柜", "Handover desk"),
    KeyHolderKind.RUNNER: ("引车员", "Runner"),
    KeyHolderKind.LANE: ("检测线", "Lane"),
    KeyHolderKind.CABINET: ("提车区钥匙柜", "Key cabinet (pick-up)"),
}


class KeyStage(enum.StrEnum):
    """The step a movement stands for (shown on the owner's progress page)."""

    HANDED_OVER = "handed_over"    # owner → desk
    CLAIMED = "claimed"            # desk → runner
    RELEASED = "released"          # runner → desk (claim given back before the lane)
    AT_LANE = "at_lane"            # runner → lane
    COLLECTED = "collected"        # lane → runner (tested)
    IN_CABINET = "in_cabinet"      # runner → cabinet (parked in the pick-up area)
    RETURNED = "returned"          # desk/cabinet → owner


STAGE_LABELS: dict[KeyStage, tuple[str, str]] = {
    KeyStage.HANDED_OVER: ("钥匙已交接，请到休息区等候", "Key handed over: please wait in the lounge"),
    KeyStage.CLAIMED: ("引车员已取钥匙，车辆前往检测线", "A runner took the key and drives to the lane"),
    KeyStage.RELEASED: ("钥匙已放回钥匙柜，等候引车", "Key back at the desk, waiting for a runner"),
    KeyStage.AT_LANE: ("车辆已交检测线", "The car is at the lane"),
    KeyStage.COLLECTED: ("检测完成，引车员正在停车", "Tested: a runner is parking the car"),
    KeyStage.IN_CABINET: ("车辆已停入提车区，钥匙已入柜", "Parked in the pick-up area, key in the cabinet"),
    KeyStage.RETURNED: ("钥匙已交还车主", "Key returned to the owner"),
}

#: the step as staff read it in the chain of custody
STEP_LABELS: dict[KeyStage, tuple[str, str]] = {
    KeyStage.HANDED_OVER: ("车主交钥匙", "Owner handed over"),
    KeyStage.CLAIMED: ("引车员取钥匙", "Runner claimed"),
    KeyStage.RELEASED: ("放回交车区", "Put back at the desk"),
    KeyStage.AT_LANE: ("交检测线", "Handed to the lane"),
    KeyStage.COLLECTED: ("从检测线取回", "Taken back from the lane"),
    KeyStage.IN_CABINET: ("停车入柜", "Parked, key in the cabinet"),
    KeyStage.RETURNED: ("交还车主", "Returned to the owner"),
}

_HOLDER_FITS = (
    "(holder_kind = 'runner' AND holder_user_id IS NOT NULL AND holder_lane_id IS NULL) OR "
    "(holder_kind = 'lane' AND holder_lane_id IS NOT NULL AND holder_user_id IS NULL) OR "
    "(holder_kind IN ('owner', 'desk', 'cabinet') AND holder_user_id IS NULL "
    "AND holder_lane_id IS NULL)"
)
_RETURNED_FITS = ("(holder_kind = 'owner' AND returned_at IS NOT NULL) OR "
                  "(holder_kind <> 'owner' AND returned_at IS NULL)")
_IN_USE = "holder_kind <> 'owner'"


class KeySlot(Base):
    """A hook of the key cabinet (钥匙柜柜位), e.g. ``A01``. When the station has defined its
    slots, a key's tag must be one of the active ones."""

    __tablename__ = "key_slots"
    code: Mapped[str] = mapped_column(sa.String(12), primary_key=True)
    position: Mapped[int]
    active: Mapped[bool] = mapped_column(default=True)


class VehicleKey(IdMixin, Base):
    """The key of one visit's car and who holds it now."""

    __tablename__ = "vehicle_keys"
    __table_args__ = (
        sa.UniqueConstraint("visit_id"),
        # a runner drives one car at a time: at most one key per runner
        sa.UniqueConstraint("holder_user_id"),
        sa.CheckConstraint(_HOLDER_FITS, name="holder_fits_kind"),
        sa.CheckConstraint(_RETURNED_FITS, name="returned_fits_holder"),
        # a tag (cabinet slot) belongs to one key until that key is back with its owner
        sa.Index("uq_vehicle_keys_tag_in_use", "tag", unique=True,
                 sqlite_where=sa.text(_IN_USE), postgresql_where=sa.text(_IN_USE)),
    )
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visits.id"))
    #: 钥匙牌号 = the cabinet slot the key hangs on while at the station
    tag: Mapped[str] = mapped_column(sa.String(12), index=True)
    #: where the owner left the car in the handover area (交车区车位)
    parking_spot: Mapped[str | None] = mapped_column(sa.String(20))
    #: where the runner parked it in the pick-up area (提车区车位)
    pickup_spot: Mapped[str | None] = mapped_column(sa.String(20))
    holder_kind: Mapped[KeyHolderKind] = mapped_column(str_enum(KeyHolderKind, 16), index=True)
    holder_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    holder_lane_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lanes.id"))
    holder_since: Mapped[datetime]
    #: compare-and-set counter: every change of holder increments it
    version: Mapped[int] = mapped_column(default=1)
    handed_over_at: Mapped[datetime]
    returned_at: Mapped[datetime | None]
    #: when the overdue alert of the current holding was raised (None: not yet)
    overdue_alerted_at: Mapped[datetime | None]
    visit: Mapped[Visit] = relationship(lazy="joined")


class KeyMovement(IdMixin, Base):
    """One change of a key's holder: who handed it to whom, when and where. Append-only."""

    __tablename__ = "key_movements"
    __table_args__ = (sa.UniqueConstraint("key_id", "seq"),)
    key_id: Mapped[int] = mapped_column(sa.ForeignKey("vehicle_keys.id"), index=True)
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visits.id"), index=True)
    #: the key's version after this move (1 = the handover)
    seq: Mapped[int]
    stage: Mapped[KeyStage] = mapped_column(str_enum(KeyStage, 16))
    from_kind: Mapped[KeyHolderKind] = mapped_column(str_enum(KeyHolderKind, 16))
    from_label: Mapped[str] = mapped_column(sa.String(64))
    to_kind: Mapped[KeyHolderKind] = mapped_column(str_enum(KeyHolderKind, 16))
    to_label: Mapped[str] = mapped_column(sa.String(64))
    to_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    to_lane_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lanes.id"))
    #: where it happened, in the staff's words (交车区 A-12, 2号线, 提车区 P-03 …)
    place: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[datetime]
    actor_kind: Mapped[ActorKind] = mapped_column(str_enum(ActorKind, 16))
    actor_id: Mapped[int | None]
    actor_name: Mapped[str] = mapped_column(sa.String(64))
    reason: Mapped[str | None] = mapped_column(sa.String(200))


class KeyPhoto(IdMixin, Base):
    """A photo of the car taken at the handover; the file lives under the instance folder."""

    __tablename__ = "key_photos"
    key_id: Mapped[int] = mapped_column(sa.ForeignKey("vehicle_keys.id"), index=True)
    #: file name inside the photo folder (``<visit_id>/<random>.<ext>``)
    stored_name: Mapped[str] = mapped_column(sa.String(80), unique=True)
    original_name: Mapped[str] = mapped_column(sa.String(120))
    content_type: Mapped[str] = mapped_column(sa.String(32))
    size_bytes: Mapped[int]
    sha256: Mapped[str] = mapped_column(sa.String(64))
    uploaded_at: Mapped[datetime]
    uploaded_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class KeyMovementChanged(Exception):
    """Code tried to change or delete a recorded key movement."""


@event.listens_for(Session, "before_flush")
def _refuse_movement_changes(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, KeyMovement) and (obj in session.deleted or session.is_modified(obj)):
            raise KeyMovementChanged("KeyMovement rows are append-only")
