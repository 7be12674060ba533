"""Daily checks (日常检查) of metering instruments (JJG 976-2010 for the opacity meter).

An opacity meter's check is measured through its driver (``station.devices.smoke_sessions``):
zero in clean air, then each neutral-density filter (中性滤光片): the meter's N is compared with
the filter's nominal value; a point passes within the tolerance (setting). This module turns
what was measured into an append-only record; it never records a value that was not measured
— the opacity meter's check can only come from the driver (``method="driver"``), other
instruments record the outcome the technician found (``method="manual"``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from station.clock import Clock
from station.errors import Conflict, NotFound, ValidationError
from station.models.instrument import DailyCheck, DailyCheckPoint, Instrument, InstrumentKind

from . import audit, instruments, settings
from .actors import Actor
from .settings import Setting

settings.register(
    Setting("instruments.filter_tolerance_pct", 2.0, "滤光片检查允许误差(±%N)",
            "Filter check tolerance (± % N)", 0.1, 10.0),
    Setting("instruments.zero_tolerance_pct", 0.5, "调零后零点允许值(±%N)",
            "Zero allowed after zeroing (± % N)", 0.1, 5.0),
    Setting("instruments.filter_far_off_pct", 10.0, "滤光片读数偏差过大判定(%N)",
            "A filter reading further off than this is refused as not inserted (% N)", 2.0, 50.0),
    Setting("instruments.min_filters", 2, "每日检查最少滤光片数", "Filters needed per daily check",
            1, 5),
    Setting("instruments.filter_nominals", "30.0,60.0", "滤光片标称值(%N，逗号分隔)",
            "Nominal opacity of the station's filters (% N, comma list)",
            pattern=r"\d{1,2}(\.\d)?(,\d{1,2}(\.\d)?)*"),
)


@dataclass(frozen=True)
class FilterPoint:
    nominal_n_pct: float
    measured_n_pct: float

    @property
    def error_pct(self) -> float:
        return round(self.measured_n_pct - self.nominal_n_pct, 2)


def filter_nominals(session: Session) -> list[float]:
    return [float(x) for x in str(settings.get(session, "instruments.filter_nominals")).split(",")]


def check_filter_reading(session: Session, nominal: float, measured: float) -> FilterPoint:
    """Validate one filter reading; a reading far off the nominal is refused, not recorded."""
    if not 0.0 < nominal < 100.0:
        raise ValidationError("filter_nominal_invalid", "滤光片标称值应在0至100%之间",
                              "The filter's nominal value must be between 0 and 100 %")
    point = FilterPoint(float(nominal), round(float(measured), 2))
    far = float(settings.get(session, "instruments.filter_far_off_pct"))
    if abs(point.error_pct) > far:
        raise ValidationError(
            "filter_reading_far_off",
            f"读数 {point.measured_n_pct:.1f}% 与标称值 {nominal:.1f}% 相差 {point.error_pct:+.1f}%，"
            f"超过 {far:.0f}%：请确认滤光片已正确插入光路且标称值无误",
            f"Reading {point.measured_n_pct:.1f} % is {point.error_pct:+.1f} % off the nominal "
            f"{nominal:.1f} %, more than {far:.0f} %: check that the filter is in the beam and "
            "its nominal value is right",
            nominal=nominal, measured=point.measured_n_pct)
    return point


def _corrects(session: Session, instrument: Instrument, corrects_id: int | None,
              note: str | None) -> int | None:
    if not corrects_id:
        return None
    corrected = session.get(DailyCheck, int(corrects_id))
    if corrected is None or corrected.instrument_id != instrument.id:
        raise NotFound("daily_check_not_found", "要更正的日常检查记录不存在",
                       "The daily check to correct does not exist", id=corrects_id)
    if session.scalar(sa.select(DailyCheck.id).where(DailyCheck.corrects_id == corrected.id)):
        raise Conflict("daily_check_already_corrected", "该记录已被更正，请更正最新记录",
                       "That record was already corrected: correct the newest one")
    if not (note or "").strip():
        raise ValidationError("correction_reason_required", "更正须填写原因",
                              "A correction needs a reason")
    return corrected.id


def record_measured_check(session: Session, clock: Clock, actor: Actor, instrument: Instrument, *,
                          zero_n_pct: float, points: Sequence[FilterPoint],
                          note: str | None = None) -> DailyCheck:
    """Record an opacity meter's check as measured through the driver."""
    if instrument.kind is not InstrumentKind.OPACITY_METER:
        raise ValidationError("not_an_opacity_meter", "只有不透光烟度计通过仪器测量做日常检查",
                              "Only an opacity meter is checked through its driver")
    needed = int(settings.get(session, "instruments.min_filters"))
    if len(points) < needed:
        raise Conflict("daily_check_incomplete", f"至少需要检查{needed}片滤光片（已检查{len(points)}片）",
                       f"At least {needed} filters must be checked ({len(points)} done)",
                       needed=needed, done=len(points))
    points = [check_filter_reading(session, p.nominal_n_pct, p.measured_n_pct) for p in points]
    tolerance = float(settings.get(session, "instruments.filter_tolerance_pct"))
    zero_ok = abs(zero_n_pct) <= float(settings.get(session, "instruments.zero_tolerance_pct"))
    results = [abs(p.error_pct) <= tolerance for p in points]
    check = DailyCheck(instrument_id=instrument.id, day=clock.today(), performed_at=clock.now(),
                       operator_id=actor.id, operator_name=actor.name, method="driver",
                       zero_n_pct=round(float(zero_n_pct), 2), tolerance_pct=tolerance,
                       passed=zero_ok and all(results), note=(note or "").strip()[:500] or None)
    session.add(check)
    session.flush()
    session.add_all(DailyCheckPoint(check_id=check.id, position=i + 1,
                                    nominal_n_pct=p.nominal_n_pct, measured_n_pct=p.measured_n_pct,
                                    error_pct=p.error_pct, passed=ok)
                    for i, (p, ok) in enumerate(zip(points, results, strict=True)))
    audit.record(session, clock, actor, "instrument.daily_check", entity=check,
                 instrument_id=instrument.id, passed=check.passed, zero_n_pct=check.zero_n_pct,
                 points=[[p.nominal_n_pct, p.measured_n_pct, p.error_pct] for p in points])
    instruments.evaluate(session, clock, actor)
    return check


def record_manual_check(session: Session, clock: Clock, actor: Actor, instrument: Instrument, *,
                        passed: bool, note: str | None = None,
                        corrects_id: int | None = None) -> DailyCheck:
    """Record the daily check of an instrument that is not read through a driver."""
    if instrument.kind is InstrumentKind.OPACITY_METER:
        raise ValidationError("measured_check_required", "不透光烟度计的日常检查须通过仪器测量完成",
                              "An opacity meter's daily check must be measured through the meter")
    corrects = _corrects(session, instrument, corrects_id, note)
    check = DailyCheck(instrument_id=instrument.id, day=clock.today(), performed_at=clock.now(),
                       operator_id=actor.id, operator_name=actor.name, method="manual",
                       passed=bool(passed), note=(note or "").strip()[:500] or None,
                       corrects_id=corrects)
    session.add(check)
    session.flush()
    audit.record(session, clock, actor, "instrument.daily_check", entity=check,
                 instrument_id=instrument.id, passed=check.passed, corrects_id=corrects)
    instruments.evaluate(session, clock, actor)
    return check


def points_of(session: Session, check: DailyCheck) -> list[DailyCheckPoint]:
    return list(session.scalars(sa.select(DailyCheckPoint).where(DailyCheckPoint.check_id == check.id)
                                .order_by(DailyCheckPoint.position)))
