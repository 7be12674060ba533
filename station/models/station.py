"""The station itself: settings, lanes with their stations (工位), counter windows (窗口),
day counters and the published price list (明码标价)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .base import Base, IdMixin, str_enum


class StationSetting(Base):
    """One configurable rule or fact of the station; defaults live in ``services.settings``."""

    __tablename__ = "station_settings"
    key: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    value: Mapped[Any] = mapped_column(sa.JSON)
    updated_at: Mapped[datetime]
    updated_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class OpenState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"
    BLOCKED = "blocked"  # e.g. an instrument past its verification (see DOMAIN.md §9)


class StationKind(enum.StrEnum):
    """What a lane station (工位) does; a lane's capabilities follow from its working stations."""

    UNIQUENESS = "uniqueness"            # 联网查询 + 唯一性检查
    EXTERIOR = "exterior"                # 外观检验
    INSTRUMENT = "instrument"            # 线内仪器: brake, headlamp, side-slip, speedometer
    CHASSIS_DYNAMIC = "chassis_dynamic"  # 底盘动态
    CHASSIS_PIT = "chassis_pit"          # 底盘部件 (地沟)
    EMISSION_GASOLINE = "emission_gasoline"  # 汽油车排放 (简易瞬态/双怠速, 五气分析仪)
    EMISSION_DIESEL = "emission_diesel"      # 柴油车排放 (自由加速, 不透光烟度计)


STATION_KIND_LABELS: dict[StationKind, tuple[str, str]] = {
    StationKind.UNIQUENESS: ("联网查询及唯一性检查", "Online query and uniqueness check"),
    StationKind.EXTERIOR: ("外观检验", "Exterior inspection"),
    StationKind.INSTRUMENT: ("线内仪器检验", "Instrument tests"),
    StationKind.CHASSIS_DYNAMIC: ("底盘动态检验", "Chassis dynamic check"),
    StationKind.CHASSIS_PIT: ("底盘部件检验", "Chassis parts (pit)"),
    StationKind.EMISSION_GASOLINE: ("汽油车排放检测", "Gasoline emissions"),
    StationKind.EMISSION_DIESEL: ("柴油车排放检测", "Diesel smoke (free acceleration)"),
}


class Lane(IdMixin, Base):
    """A lane (检测线): an ordered series of stations."""

    __tablename__ = "lanes"
    number: Mapped[int] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    #: size classes the lane accepts (values of ``VehicleClass``)
    vehicle_classes: Mapped[list[str]] = mapped_column(sa.JSON)
    max_axle_load_kg: Mapped[int]
    state: Mapped[OpenState] = mapped_column(str_enum(OpenState), default=OpenState.OPEN)
    state_reason: Mapped[str | None] = mapped_column(sa.String(200))
    stations: Mapped[list[LaneStation]] = relationship(
        back_populates="lane", order_by="LaneStation.position", cascade="all, delete-orphan"
    )


class LaneStation(IdMixin, Base):
    """A station (工位) on a lane."""

    __tablename__ = "lane_stations"
    __table_args__ = (sa.UniqueConstraint("lane_id", "position"),)
    lane_id: Mapped[int] = mapped_column(sa.ForeignKey("lanes.id", ondelete="CASCADE"), index=True)
    position: Mapped[int]
    kind: Mapped[StationKind] = mapped_column(str_enum(StationKind))
    name: Mapped[str] = mapped_column(sa.String(64))
    state: Mapped[OpenState] = mapped_column(str_enum(OpenState), default=OpenState.OPEN)
    state_reason: Mapped[str | None] = mapped_column(sa.String(200))
    lane: Mapped[Lane] = relationship(back_populates="stations")


class Counter(IdMixin, Base):
    """A counter window (窗口) of the single window (一窗通办)."""

    __tablename__ = "counters"
    number: Mapped[int] = mapped_column(unique=True)
    name: Mapped[str] = mapped_column(sa.String(64))
    state: Mapped[OpenState] = mapped_column(str_enum(OpenState), default=OpenState.OPEN)


class DayCounter(Base):
    """A number sequence per station day (inspection serials, ticket numbers per category).

    Incremented with one ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` inside a write
    transaction, so two concurrent callers can never get the same number.
    """

    __tablename__ = "day_counters"
    name: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    value: Mapped[int]


class PriceList(IdMixin, Base):
    """A version of the published price list (明码标价); the newest effective one applies."""

    __tablename__ = "price_lists"
    version: Mapped[int] = mapped_column(unique=True)
    effective_from: Mapped[datetime]
    published_at: Mapped[datetime]
    published_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    note: Mapped[str | None] = mapped_column(sa.String(200))
    items: Mapped[list[PriceItem]] = relationship(
        back_populates="price_list", order_by="PriceItem.position", cascade="all, delete-orphan"
    )


class PriceItem(IdMixin, Base):
    __tablename__ = "price_items"
    __table_args__ = (sa.UniqueConstraint("price_list_id", "code"),)
    price_list_id: Mapped[int] = mapped_column(sa.ForeignKey("price_lists.id", ondelete="CASCADE"))
    position: Mapped[int]
    code: Mapped[str] = mapped_column(sa.String(32))
    name_zh: Mapped[str] = mapped_column(sa.String(64))
    name_en: Mapped[str] = mapped_column(sa.String(64))
    #: amount in fen (分); money is never a float
    amount_fen: Mapped[int]
    price_list: Mapped[PriceList] = relationship(back_populates="items")
