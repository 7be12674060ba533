"""Typed values a smoke meter (不透光烟度计) reports, independent of any vendor framing."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class Variant(enum.StrEnum):
    """Model variant of the Nanhua meter; they differ in the status command and extras."""

    NHT6 = "nht6"  # NHT-6: status A1, set status A0, manual-test result B1
    NHT1L = "nht1l"  # NHT-1L: status AD; no A0 / B1


class MeterStatus(enum.IntEnum):
    """What the meter says it is doing (status byte of A1 / AD)."""

    WARMING_UP = 0  # 预热
    MEASURING = 1  # 测量（就绪）
    CALIBRATING = 2  # 校准
    INTERNAL_FAULT = 3  # 内部通讯故障


@dataclass(frozen=True)
class Reading:
    """One real-time sample (A5): opacity, light absorption coefficient, engine speed, oil."""

    n_pct: float
    k_m1: float
    rpm: int
    #: engine oil temperature; None when no probe is connected
    oil_temp_c: int | None
    #: when the reply arrived (timezone-aware), from the driver's injected clock
    at: datetime


@dataclass(frozen=True)
class MaxValues:
    """The meter's own maximum registers since the last clear (A6 / A7)."""

    n_pct: float
    k_m1: float
    rpm: int


@dataclass(frozen=True)
class AlarmWord:
    """The 16-bit alarm field (A3). Bit meanings are the vendor manual's; we keep the bits."""

    raw: int

    @property
    def active(self) -> bool:
        return self.raw != 0

    @property
    def bits(self) -> tuple[int, ...]:
        """Numbers (0 = least significant) of the bits that are set."""
        return tuple(bit for bit in range(16) if self.raw >> bit & 1)


@dataclass(frozen=True)
class MeterTestResult:
    """The meter's own manual free-acceleration result (B1, NHT-6 only)."""

    k1_m1: float
    k2_m1: float
    k3_m1: float
    k_avg_m1: float
    #: engine speed at idle during the test (低怠速转速)
    low_rpm: int


class ControlParam(enum.IntEnum):
    """Parameter selector of B2 (our documented layout, see docs/devices/smoke_meter.md)."""

    ENGINE_STROKE = 1
    RPM_PICKUP = 2
    FILTER = 3


class EngineStroke(enum.IntEnum):
    FOUR_STROKE = 1
    TWO_STROKE = 2


class RpmPickup(enum.IntEnum):
    PIEZOELECTRIC = 1  # 压电式（油管）
    PHOTOELECTRIC = 2  # 光电式
    BATTERY = 3  # 蓄电池纹波


class FilterMode(enum.IntEnum):
    MODE_1 = 1
    MODE_2 = 2
    NONE = 3


#: which value enum belongs to which B2 selector
CONTROL_VALUE_TYPES: dict[ControlParam, type[enum.IntEnum]] = {
    ControlParam.ENGINE_STROKE: EngineStroke,
    ControlParam.RPM_PICKUP: RpmPickup,
    ControlParam.FILTER: FilterMode,
}


@dataclass(frozen=True)
class ControlParams:
    """Control-unit parameters (B3)."""

    engine_stroke: EngineStroke
    rpm_pickup: RpmPickup
    filter_mode: FilterMode
