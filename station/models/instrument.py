"""Metering instruments (计量器具): verifications, daily checks and the blocking rule.

``instruments`` is the register (计量器具台账); each instrument is installed at one lane
station (工位) and, for the opacity meter, linked to the hardware device that drives it.
Verifications (检定记录), daily checks (日常检查) and their filter points are records: append-only
(an ORM hook below and database triggers in the migration refuse UPDATE and DELETE); a
correction is a new record whose ``corrects_id`` names the record it replaces.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from .base import Base, IdMixin, str_enum


class InstrumentKind(enum.StrEnum):
    OPACITY_METER = "opacity_meter"          # 不透光烟度计
    GAS_ANALYSER = "gas_analyser"            # 排气分析仪
    BRAKE_TESTER = "brake_tester"            # 制动检验台
    SIDE_SLIP_TESTER = "side_slip_tester"    # 侧滑检验台
    SPEEDOMETER_TESTER = "speedometer_tester"  # 车速表检验台
    HEADLAMP_TESTER = "headlamp_tester"      # 前照灯检测仪
    DYNAMOMETER = "dynamometer"              # 底盘测功机
    WEATHER_STATION = "weather_station"      # 气象站
    OTHER = "other"                          # 其他


INSTRUMENT_KIND_LABELS: dict[InstrumentKind, tuple[str, str]] = {
    InstrumentKind.OPACITY_METER: ("不透光烟度计", "Opacity smoke meter"),
    InstrumentKind.GAS_ANALYSER: ("排气分析仪", "Exhaust gas analyser"),
    InstrumentKind.BRAKE_TESTER: ("制动检验台", "Brake tester"),
    InstrumentKind.SIDE_SLIP_TESTER: ("侧滑检验台", "Side-slip tester"),
    InstrumentKind.SPEEDOMETER_TESTER: ("车速表检验台", "Speedometer tester"),
    InstrumentKind.HEADLAMP_TESTER: ("前照灯检测仪", "Headlamp tester"),
    InstrumentKind.DYNAMOMETER: ("底盘测功机", "Chassis dynamometer"),
    InstrumentKind.WEATHER_STATION: ("气象站", "Weather station"),
    InstrumentKind.OTHER: ("其他计量器具", "Other instrument"),
}


class Conclusion(enum.StrEnum):
    """Conclusion of a verification certificate (检定结论)."""

    QUALIFIED = "qualified"        # 合格
    RESTRICTED = "restricted"      # 限用
    UNQUALIFIED = "unqualified"    # 不合格


CONCLUSION_LABELS: dict[Conclusion, tuple[str, str]] = {
    Conclusion.QUALIFIED: ("合格", "Qualified"),
    Conclusion.RESTRICTED: ("限用", "Restricted use"),
    Conclusion.UNQUALIFIED: ("不合格", "Not qualified"),
}


class Instrument(IdMixin, Base):
    """One metering instrument in the register (计量器具台账)."""

    __tablename__ = "instruments"
    kind: Mapped[InstrumentKind] = mapped_column(str_enum(InstrumentKind))
    name: Mapped[str] = mapped_column(sa.String(64))
    make: Mapped[str] = mapped_column(sa.String(64), default="")
    model: Mapped[str] = mapped_column(sa.String(64), default="")
    serial_no: Mapped[str] = mapped_column(sa.String(64), unique=True)
    lane_station_id: Mapped[int] = mapped_column(sa.ForeignKey("lane_stations.id"), index=True)
    #: the device that drives it (opacity meters: the smoke meter the daily check reads)
    hardware_device_id: Mapped[int | None] = mapped_column(sa.ForeignKey("hardware_devices.id"))
    #: usual verification period, to propose a valid-until date (months)
    period_months: Mapped[int] = mapped_column(default=12)
    created_at: Mapped[datetime]
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    #: the blocking rule's last verdict, kept to send a signal only when it changes
    usable: Mapped[bool] = mapped_column(default=False)
    unusable_reason: Mapped[str | None] = mapped_column(sa.String(200))
    evaluated_at: Mapped[datetime | None]


class Verification(IdMixin, Base):
    """A verification certificate (检定证书) of an instrument. Append-only."""

    __tablename__ = "instrument_verifications"
    instrument_id: Mapped[int] = mapped_column(sa.ForeignKey("instruments.id"), index=True)
    certificate_no: Mapped[str] = mapped_column(sa.String(64))
    verifying_body: Mapped[str] = mapped_column(sa.String(100))
    verified_on: Mapped[date]
    valid_until: Mapped[date]
    conclusion: Mapped[Conclusion] = mapped_column(str_enum(Conclusion, 16))
    #: scanned certificate, stored under the instance path (relative path), and its name
    certificate_file: Mapped[str | None] = mapped_column(sa.String(200))
    certificate_filename: Mapped[str | None] = mapped_column(sa.String(200))
    corrects_id: Mapped[int | None] = mapped_column(sa.ForeignKey("instrument_verifications.id"))
    note: Mapped[str | None] = mapped_column(sa.String(500))
    recorded_at: Mapped[datetime]
    recorded_by: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))


class DailyCheck(IdMixin, Base):
    """A daily check (日常检查) of an instrument on one station day. Append-only.

    For an opacity meter it is measured through the driver: zero in clean air, then each
    neutral-density filter (:class:`DailyCheckPoint`); other instruments record the outcome
    the technician found."""

    __tablename__ = "instrument_daily_checks"
    instrument_id: Mapped[int] = mapped_column(sa.ForeignKey("instruments.id"), index=True)
    day: Mapped[date] = mapped_column(index=True)
    performed_at: Mapped[datetime]
    operator_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    operator_name: Mapped[str] = mapped_column(sa.String(64))
    #: "driver" (measured through the device) or "manual" (entered by the technician)
    method: Mapped[str] = mapped_column(sa.String(16))
    zero_n_pct: Mapped[float | None]
    tolerance_pct: Mapped[float | None]
    passed: Mapped[bool]
    note: Mapped[str | None] = mapped_column(sa.String(500))
    corrects_id: Mapped[int | None] = mapped_column(sa.ForeignKey("instrument_daily_checks.id"))


class DailyCheckPoint(IdMixin, Base):
    """One neutral-density filter of a daily check: nominal, measured, error. Append-only."""

    __tablename__ = "instrument_daily_check_points"
    check_id: Mapped[int] = mapped_column(sa.ForeignKey("instrument_daily_checks.id"), index=True)
    position: Mapped[int]
    nominal_n_pct: Mapped[float]
    measured_n_pct: Mapped[float]
    error_pct: Mapped[float]
    passed: Mapped[bool]


class InstrumentAlert(IdMixin, Base):
    """A warning for the technician (expiry ahead, expired); one per kind and certificate."""

    __tablename__ = "instrument_alerts"
    __table_args__ = (sa.UniqueConstraint("instrument_id", "kind", "valid_until"),)
    instrument_id: Mapped[int] = mapped_column(sa.ForeignKey("instruments.id"), index=True)
    #: "expiry_<days>" or "expired"
    kind: Mapped[str] = mapped_column(sa.String(32))
    valid_until: Mapped[date]
    message: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(index=True)


class InstrumentStationBlock(Base):
    """A station this feature blocked (so it reopens only the stations it blocked)."""

    __tablename__ = "instrument_station_blocks"
    lane_station_id: Mapped[int] = mapped_column(sa.ForeignKey("lane_stations.id"),
                                                 primary_key=True)
    reason: Mapped[str] = mapped_column(sa.String(200))
    blocked_at: Mapped[datetime]


class EmissionTestRecord(IdMixin, Base):
    """One free-acceleration test (自由加速法) with its 1 Hz process data (过程数据).

    Written once when the test ends (complete, invalid or aborted); the visit's item result is
    an ``InspectionItemResult`` row referenced here (none for an invalid or aborted test)."""

    __tablename__ = "emission_test_records"
    visit_id: Mapped[int] = mapped_column(sa.ForeignKey("visits.id"), index=True)
    lane_station_id: Mapped[int] = mapped_column(sa.ForeignKey("lane_stations.id"))
    instrument_id: Mapped[int] = mapped_column(sa.ForeignKey("instruments.id"))
    #: "pass", "fail", "invalid" or "aborted"
    outcome: Mapped[str] = mapped_column(sa.String(16))
    mean_k_m1: Mapped[str | None] = mapped_column(sa.String(16))
    peaks_k_m1: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    limit_name: Mapped[str] = mapped_column(sa.String(32))
    limit_k_m1: Mapped[float]
    limit_source: Mapped[str] = mapped_column(sa.String(200))
    reasons: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    idle_rpm: Mapped[int | None]
    #: [[second, at (ISO), N %, k m⁻¹, rpm, step, stale], …] at 1 Hz
    process_data: Mapped[list[Any]] = mapped_column(sa.JSON, default=list)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    inspector_id: Mapped[int | None] = mapped_column(sa.ForeignKey("users.id"))
    item_result_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("inspection_item_results.id"))


#: records that are never changed or deleted
APPEND_ONLY_RECORDS: tuple[type, ...] = (Verification, DailyCheck, DailyCheckPoint,
                                         EmissionTestRecord)


class RecordChangeRefused(Exception):
    """Code tried to change or delete a verification, daily check or test record."""


@event.listens_for(Session, "before_flush")
def _refuse_record_changes(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, APPEND_ONLY_RECORDS) and (obj in session.deleted
                                                     or session.is_modified(obj)):
            raise RecordChangeRefused(f"{type(obj).__name__} rows are append-only")
