"""Visits (一次检验业务): one pass of a vehicle through the station, and its recorded moves."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from station.domain.journey import TERMINAL, VisitState

from .base import Base, IdMixin, str_enum
from .inspection import VisitResult
from .vehicle import Vehicle


class VisitCategory(enum.StrEnum):
    """How the vehicle came: booked ahead, walk-in (recorded as an on-site booking), retest."""

    BOOKED = "booked"
    WALK_IN = "walk_in"
    RETEST = "retest"


class ActorKind(enum.StrEnum):
    USER = "user"        # a staff member
    DEVICE = "device"    # a registered kiosk, display or terminal
    SYSTEM = "system"    # a scheduled job or the server itself
    OWNER = "owner"      # the vehicle's owner on a public page


_IN_PROGRESS = "state NOT IN ({})".format(", ".join(f"'{s.value}'" for s in sorted(TERMINAL)))


class Visit(IdMixin, Base):
    __tablename__ = "visits"
    __table_args__ = (
        sa.UniqueConstraint("inspection_serial", "attempt"),
        # at most one visit in progress per vehicle, enforced by the database
        sa.Index("uq_visits_vehicle_in_progress", "vehicle_id", unique=True,
                 sqlite_where=sa.text(_IN_PROGRESS), postgresql_where=sa.text(_IN_PROGRESS)),
    )
    #: 检验流水号: one per inspection; a retest keeps it and increments ``attempt``
    inspection_serial: Mapped[str] = mapped_column(sa.String(24), index=True)
    attempt: Mapped[int] = mapped_column(default=1)
    vehicle_id: Mapped[int] = mapped_column(sa.ForeignKey("vehicles.id"), index=True)
    category: Mapped[VisitCategory] = mapped_column(str_enum(VisitCategory))
    state: Mapped[VisitState] = mapped_column(str_enum(VisitState), index=True)
    state_changed_at: Mapped[datetime]
    created_at: Mapped[datetime]
    #: when the vehicle checked in at the station (its place in the queue counts from here)
    arrived_at: Mapped[datetime | None]
    #: 绿色通道: the elderly, disabled, emergencies — served with priority
    special_needs: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    #: the lane chosen for the vehicle (lane assignment), and why, in the staff's words
    assigned_lane_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lanes.id"), index=True)
    assigned_lane_reason: Mapped[str | None] = mapped_column(sa.String(200))
    #: the overall result once tested (rows in ``inspection_item_results`` say why)
    result: Mapped[VisitResult | None] = mapped_column(str_enum(VisitResult, 8))
    result_at: Mapped[datetime | None]
    vehicle: Mapped[Vehicle] = relationship(lazy="joined")
    transitions: Mapped[list[VisitTransition]] = relationship(
        back_populates="visit", order_by="VisitTransition.id", cascade="save-update, merge",
        passive_deletes="all",
    )


class VisitTransition(IdMixin, Base):
    """One recorded move of a visit's state: who, when, from, to, why. Append-only."""

    __tablename__ = "visit_transitions"
    __table_args__ = (
        # the newest moves into and out of a state since a time (a counter's recent services,
        # read for every ticket's estimated wait): a range of the index, however long the
        # table (transitions are kept for years)
        sa.Index("ix_visit_transitions_to_state_at", "to_state", "at"),
        sa.Index("ix_visit_transitions_from_state_at", "from_state", "at"),
    )
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visits.id"), index=True)
    from_state: Mapped[VisitState | None] = mapped_column(str_enum(VisitState))
    to_state: Mapped[VisitState] = mapped_column(str_enum(VisitState))
    at: Mapped[datetime]
    actor_kind: Mapped[ActorKind] = mapped_column(str_enum(ActorKind, 16))
    actor_id: Mapped[int | None]
    actor_name: Mapped[str] = mapped_column(sa.String(64))
    reason: Mapped[str | None] = mapped_column(sa.String(500))
    visit: Mapped[Visit] = relationship(back_populates="transitions")
