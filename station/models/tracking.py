"""Lane tracking (车辆位置跟踪): position events of cars at lane stations (工位) and each car's
current position on its lane.

A position event says that a car arrived at a station, finished it, or left the lane, at a
time, from a source (the lane terminal, a device result, a camera). Events are kept as
received; only those that move the car forward change its :class:`VehiclePosition`.
"""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, str_enum


class PositionKind(enum.StrEnum):
    ARRIVED = "arrived"    # the car is at the station (到位)
    FINISHED = "finished"  # the station's items are done (完成)
    LEFT = "left"          # the car left the lane (下线)


class PositionSource(enum.StrEnum):
    TERMINAL = "terminal"  # an inspector at the lane terminal
    DEVICE = "device"      # a measuring device's result (e.g. the smoke meter)
    CAMERA = "camera"      # plate recognition at a station


#: rank of "left the lane": after every station of any lane
LEFT_RANK = 10_000


def position_rank(position: int | None, kind: PositionKind) -> int:
    """Order of events on one lane: arrived at p < finished p < arrived at p+1 … < left."""
    if kind is PositionKind.LEFT or position is None:
        return LEFT_RANK
    return 2 * position - (1 if kind is PositionKind.ARRIVED else 0)


class PositionEvent(IdMixin, Base):
    """One report of a car's position. A source reports each step of a car once (the unique
    constraint makes a repeated report a no-op); ``applied`` says whether it moved the car."""

    __tablename__ = "position_events"
    __table_args__ = (sa.UniqueConstraint("visit_id", "lane_id", "rank", "source"),)
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visits.id"), index=True)
    lane_id: Mapped[int] = mapped_column(sa.ForeignKey("lanes.id"))
    #: None for "left the lane"
    station_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lane_stations.id"))
    kind: Mapped[PositionKind] = mapped_column(str_enum(PositionKind, 16))
    source: Mapped[PositionSource] = mapped_column(str_enum(PositionSource, 16))
    rank: Mapped[int]
    #: when it happened (as the source saw it); ``recorded_at`` is when the server got it
    at: Mapped[datetime] = mapped_column(index=True)
    recorded_at: Mapped[datetime]
    applied: Mapped[bool]
    actor_name: Mapped[str] = mapped_column(sa.String(64))


class VehiclePosition(Base):
    """Where a car is now (one row per visit that reached a lane)."""

    __tablename__ = "vehicle_positions"
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visits.id"), primary_key=True)
    lane_id: Mapped[int] = mapped_column(sa.ForeignKey("lanes.id"), index=True)
    station_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lane_stations.id"))
    kind: Mapped[PositionKind] = mapped_column(str_enum(PositionKind, 16))
    rank: Mapped[int]
    since: Mapped[datetime]
