"""Hardware devices the station drives (ticket printers, LED displays, smoke meters, cameras).

Each row is configuration for a driver in ``drivers/``; ``station.devices`` builds the
driver from it and keeps its live state (loading, ready, retrying, failed) in memory."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, str_enum


class DeviceKind(enum.StrEnum):
    TICKET_PRINTER = "ticket_printer"  # 取号打印机 (ESC/POS)
    LED_DISPLAY = "led_display"        # 条屏/窗口屏
    SMOKE_METER = "smoke_meter"        # 不透光烟度计
    CAMERA = "camera"                  # 工位摄像头


DEVICE_KIND_LABELS: dict[DeviceKind, tuple[str, str]] = {
    DeviceKind.TICKET_PRINTER: ("取号打印机", "Ticket printer"),
    DeviceKind.LED_DISPLAY: ("LED显示屏", "LED display"),
    DeviceKind.SMOKE_METER: ("不透光烟度计", "Opacity smoke meter"),
    DeviceKind.CAMERA: ("摄像头", "Camera"),
}


class HardwareDevice(IdMixin, Base):
    __tablename__ = "hardware_devices"
    kind: Mapped[DeviceKind] = mapped_column(str_enum(DeviceKind, 16))
    name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: driver configuration (URL, address, timeouts …) as the driver's ``from_config`` reads it
    config: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    #: run the byte-level simulator instead of the hardware (the demo station does)
    simulated: Mapped[bool] = mapped_column(default=False)
    enabled: Mapped[bool] = mapped_column(default=True)
    lane_station_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lane_stations.id"))
    counter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("counters.id"))
    client_device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("client_devices.id"))
    created_at: Mapped[datetime]
