"""Vehicles (机动车) as the station knows them from the licence and the police platform."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from station.domain.vehicle_codes import Fuel

from .base import Base, IdMixin, str_enum


class Vehicle(IdMixin, Base):
    __tablename__ = "vehicles"
    __table_args__ = (sa.UniqueConstraint("plate_type", "plate"),)
    #: 号牌种类 (GA 24.7 code, e.g. "02" small car, "52" small new-energy)
    plate_type: Mapped[str] = mapped_column(sa.String(2))
    #: 号牌号码, normalised (no middle dot)
    plate: Mapped[str] = mapped_column(sa.String(10))
    #: 车辆识别代号; may be only known by its last 6 characters at booking time
    vin: Mapped[str | None] = mapped_column(sa.String(17), index=True)
    vin_tail: Mapped[str | None] = mapped_column(sa.String(6))
    #: 车辆类型 code (GA 24.4, e.g. "K33")
    vehicle_type: Mapped[str | None] = mapped_column(sa.String(4))
    #: 使用性质 code (GA 24.3, e.g. "A" non-commercial)
    use_nature: Mapped[str | None] = mapped_column(sa.String(2))
    fuel: Mapped[Fuel | None] = mapped_column(str_enum(Fuel, 20))
    seats: Mapped[int | None]
    axle_load_kg: Mapped[int | None]
    make_model: Mapped[str | None] = mapped_column(sa.String(64))
    colour: Mapped[str | None] = mapped_column(sa.String(16))
    engine_no: Mapped[str | None] = mapped_column(sa.String(32))
    first_registered_on: Mapped[date | None]
    manufactured_on: Mapped[date | None]
    #: 检验有效期至: last day of the month printed on the licence
    inspection_valid_until: Mapped[date | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
