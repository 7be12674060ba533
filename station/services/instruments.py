"""Metering instruments (计量器具) and the one blocking rule (DOMAIN.md §9).

An instrument may be used now only when all of these hold (:func:`usability`):

- its current verification (检定) is within valid-until (有效期至, the whole local day counts);
- the certificate's conclusion is 合格;
- today's daily check (日常检查) passed (setting ``instruments.daily_check_required``).

:func:`evaluate` applies the rule to every instrument: it stores the verdict, sends
``instrument_state_changed`` when it changes, and blocks (or re-opens) the lane stations this
feature blocked through ``lanes.set_station_state``. It runs after every change of a record, at
local midnight and on an interval (``station.jobs.instruments``), so an expiry takes effect at
its moment without a restart.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from station import signals
from station.clock import Clock
from station.errors import Conflict, NotFound, ValidationError
from station.models import HardwareDevice, LaneStation, OpenState
from station.models.device import DeviceKind
from station.models.instrument import (
    CONCLUSION_LABELS,
    INSTRUMENT_KIND_LABELS,
    Conclusion,
    DailyCheck,
    Instrument,
    InstrumentAlert,
    InstrumentKind,
    InstrumentStationBlock,
    Verification,
)
from station.models.station import STATION_KIND_LABELS

from . import audit, lanes, settings
from .actors import Actor
from .settings import Setting

settings.register(
    Setting("instruments.warn_days", "30,7,1", "检定到期提前提醒(天，逗号分隔)",
            "Warn this many days before a verification expires (comma list)",
            pattern=r"\d{1,3}(,\d{1,3})*"),
    Setting("instruments.daily_check_required", True, "仪器每日检查通过后方可使用",
            "An instrument needs a passing daily check each day"),
    Setting("instruments.certificate_max_bytes", 10_000_000, "检定证书扫描件大小上限(字节)",
            "Largest scanned certificate (bytes)", 10_000, 100_000_000),
)

#: file types accepted as a scanned certificate: extension → leading bytes
CERTIFICATE_TYPES: dict[str, tuple[bytes, ...]] = {
    ".pdf": (b"%PDF",), ".png": (b"\x89PNG",), ".jpg": (b"\xff\xd8",), ".jpeg": (b"\xff\xd8",),
}
#: folder under the instance path where scanned certificates are kept
CERTIFICATE_DIR = "certificates"


@dataclass(frozen=True)
class Problem:
    code: str
    zh: str
    en: str


@dataclass(frozen=True)
class Usability:
    """The blocking rule's verdict for one instrument now."""

    usable: bool
    problems: tuple[Problem, ...]
    verification: Verification | None
    daily_check: DailyCheck | None
    days_left: int | None = None

    @property
    def reason_zh(self) -> str | None:
        return "；".join(p.zh for p in self.problems) or None

    @property
    def reason_en(self) -> str | None:
        return "; ".join(p.en for p in self.problems) or None


@dataclass
class Evaluation:
    changed: list[int] = field(default_factory=list)
    blocked: list[int] = field(default_factory=list)
    reopened: list[int] = field(default_factory=list)


# -- reading ----------------------------------------------------------------------------------

def get(session: Session, instrument_id: int) -> Instrument:
    instrument = session.get(Instrument, instrument_id)
    if instrument is None:
        raise NotFound("instrument_not_found", "未找到该计量器具", "Instrument not found",
                       id=instrument_id)
    return instrument


def all_instruments(session: Session) -> list[Instrument]:
    return list(session.scalars(sa.select(Instrument).order_by(Instrument.lane_station_id,
                                                               Instrument.id)))


def at_station(session: Session, station_id: int,
               kind: InstrumentKind | None = None) -> list[Instrument]:
    stmt = sa.select(Instrument).where(Instrument.lane_station_id == station_id)
    if kind is not None:
        stmt = stmt.where(Instrument.kind == kind)
    return list(session.scalars(stmt.order_by(Instrument.id)))


def verifications(session: Session, instrument: Instrument) -> list[Verification]:
    """Every verification record of the instrument, newest first (corrected ones included)."""
    return list(session.scalars(sa.select(Verification)
                                .where(Verification.instrument_id == instrument.id)
                                .order_by(Verification.id.desc())))


def current_verification(session: Session, instrument: Instrument) -> Verification | None:
    """The verification in force: the latest-dated record that no later record corrects."""
    corrected = sa.select(Verification.corrects_id).where(Verification.corrects_id.is_not(None))
    return session.scalar(sa.select(Verification)
                          .where(Verification.instrument_id == instrument.id,
                                 Verification.id.not_in(corrected))
                          .order_by(Verification.verified_on.desc(), Verification.id.desc())
                          .limit(1))


def daily_checks(session: Session, instrument: Instrument, *, limit: int = 30) -> list[DailyCheck]:
    return list(session.scalars(sa.select(DailyCheck)
                                .where(DailyCheck.instrument_id == instrument.id)
                                .order_by(DailyCheck.id.desc()).limit(limit)))


def todays_check(session: Session, clock: Clock, instrument: Instrument) -> DailyCheck | None:
    """Today's daily check in force: the newest one of today that no later one corrects."""
    corrected = sa.select(DailyCheck.corrects_id).where(DailyCheck.corrects_id.is_not(None))
    return session.scalar(sa.select(DailyCheck)
                          .where(DailyCheck.instrument_id == instrument.id,
                                 DailyCheck.day == clock.today(),
                                 DailyCheck.id.not_in(corrected))
                          .order_by(DailyCheck.id.desc()).limit(1))


def kind_label(kind: InstrumentKind | str) -> str:
    return INSTRUMENT_KIND_LABELS[InstrumentKind(kind)][0]


def usability(session: Session, clock: Clock, instrument: Instrument) -> Usability:
    """THE rule: within valid-until, conclusion 合格, today's daily check passed."""
    problems: list[Problem] = []
    verification = current_verification(session, instrument)
    days_left = None
    if verification is None:
        problems.append(Problem("no_verification", "无检定记录", "no verification on record"))
    else:
        days_left = (verification.valid_until - clock.today()).days
        if days_left < 0:
            problems.append(Problem(
                "verification_expired", f"检定已过期（有效期至{verification.valid_until}）",
                f"verification expired (valid until {verification.valid_until})"))
        if verification.conclusion is not Conclusion.QUALIFIED:
            zh, en = CONCLUSION_LABELS[verification.conclusion]
            problems.append(Problem("not_qualified", f"检定结论为{zh}",
                                    f"verification conclusion is “{en}”"))
    check = todays_check(session, clock, instrument)
    if settings.get(session, "instruments.daily_check_required"):
        if check is None:
            problems.append(Problem("daily_check_missing", "今日未做日常检查",
                                    "no daily check today"))
        elif not check.passed:
            problems.append(Problem("daily_check_failed", "今日日常检查未通过",
                                    "today's daily check failed"))
    return Usability(not problems, tuple(problems), verification, check, days_left)


def station_reason(station: LaneStation, instrument: Instrument, verdict: Usability) -> str:
    """What the lobby and the lane show, e.g. 「柴油车排放检测暂停：不透光烟度计检定已过期」."""
    first = verdict.problems[0]
    short = {"verification_expired": "检定已过期", "no_verification": "无检定记录",
             "not_qualified": first.zh, "daily_check_missing": "今日未做日常检查",
             "daily_check_failed": "日常检查未通过"}[first.code]
    return f"{STATION_KIND_LABELS[station.kind][0]}暂停：{kind_label(instrument.kind)}{short}"[:200]


# -- writing ----------------------------------------------------------------------------------

def _text(value: Any, field_name: str, zh: str, en: str, *, max_len: int = 64,
          required: bool = True) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise ValidationError("field_required", f"请填写{zh}", f"{en} is required", field=field_name)
    if len(text) > max_len:
        raise ValidationError("field_too_long", f"{zh}过长（最多{max_len}字）",
                              f"{en} is too long (at most {max_len} characters)", field=field_name)
    return text


def _date(value: Any, field_name: str, zh: str, en: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        raise ValidationError("date_invalid", f"{zh}不是有效日期（YYYY-MM-DD）",
                              f"{en} is not a valid date (YYYY-MM-DD)", field=field_name) from None


def register_instrument(session: Session, clock: Clock, actor: Actor, *, kind: str, name: str,
                        serial_no: str, lane_station_id: int, make: str = "", model: str = "",
                        hardware_device_id: int | None = None,
                        period_months: int = 12) -> Instrument:
    """Add an instrument to the register (台账). It is unusable until verified and checked."""
    try:
        kind_ = InstrumentKind(kind)
    except ValueError:
        raise ValidationError("instrument_kind_invalid", "器具类型无效", "Unknown instrument kind",
                              kind=kind) from None
    station = lanes.get_station(session, int(lane_station_id))
    serial = _text(serial_no, "serial_no", "出厂编号", "Serial number")
    if session.scalar(sa.select(Instrument.id).where(Instrument.serial_no == serial)):
        raise Conflict("instrument_serial_taken", f"出厂编号 {serial} 已登记",
                       f"Serial number {serial} is already registered", serial_no=serial)
    if hardware_device_id:
        device = session.get(HardwareDevice, int(hardware_device_id))
        if device is None:
            raise NotFound("device_not_found", "未找到该设备", "Device not found",
                           id=hardware_device_id)
        if kind_ is not InstrumentKind.OPACITY_METER or device.kind is not DeviceKind.SMOKE_METER:
            raise ValidationError("device_kind_mismatch", "只有不透光烟度计可关联烟度计设备",
                                  "Only an opacity meter can be linked to a smoke meter device")
    if not 1 <= int(period_months) <= 120:
        raise ValidationError("period_invalid", "检定周期应在1至120个月之间",
                              "The verification period must be 1 to 120 months")
    instrument = Instrument(kind=kind_, name=_text(name, "name", "名称", "Name"),
                            make=_text(make, "make", "制造商", "Make", required=False),
                            model=_text(model, "model", "型号", "Model", required=False),
                            serial_no=serial, lane_station_id=station.id,
                            hardware_device_id=int(hardware_device_id) if hardware_device_id
                            else None, period_months=int(period_months),
                            created_at=clock.now(), created_by=actor.id, usable=False,
                            unusable_reason="无检定记录", evaluated_at=clock.now())
    session.add(instrument)
    session.flush()
    audit.record(session, clock, actor, "instrument.registered", entity=instrument,
                 kind=kind_.value, serial_no=serial, station_id=station.id)
    evaluate(session, clock, actor)
    return instrument


def store_certificate(storage_dir: Path, filename: str, data: bytes, max_bytes: int) -> str:
    """Check and store a scanned certificate; returns its path relative to ``storage_dir``.

    Files are named by their SHA-256, so a stored scan is never overwritten by another one.
    """
    ext = Path(filename or "").suffix.lower()
    if ext not in CERTIFICATE_TYPES:
        raise ValidationError("certificate_type_invalid", "证书扫描件须为 PDF、PNG 或 JPG 文件",
                              "The scanned certificate must be a PDF, PNG or JPG file")
    if not data:
        raise ValidationError("certificate_empty", "证书扫描件为空", "The scanned certificate is empty")
    if len(data) > max_bytes:
        raise ValidationError("certificate_too_large", "证书扫描件过大",
                              "The scanned certificate is too large", max_bytes=max_bytes)
    if not data.startswith(CERTIFICATE_TYPES[ext]):
        raise ValidationError("certificate_type_invalid", "文件内容与扩展名不符",
                              "The file's content does not match its extension")
    digest = hashlib.sha256(data).hexdigest()
    relative = f"{CERTIFICATE_DIR}/{digest}{'.jpg' if ext == '.jpeg' else ext}"
    target = storage_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    if not target.exists():
        tmp = target.with_suffix(target.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(target)
    return relative


def record_verification(session: Session, clock: Clock, actor: Actor, instrument: Instrument, *,
                        certificate_no: str, verifying_body: str, verified_on: Any,
                        valid_until: Any, conclusion: str, corrects_id: int | None = None,
                        note: str | None = None, certificate_file: str | None = None,
                        certificate_filename: str | None = None) -> Verification:
    """Add a verification certificate; a correction names the record it replaces."""
    number = _text(certificate_no, "certificate_no", "证书编号", "Certificate number")
    if not re.fullmatch(r"[\w\-/（）()·.]+", number):
        raise ValidationError("certificate_no_invalid", "证书编号含有无效字符",
                              "The certificate number has invalid characters", field="certificate_no")
    body = _text(verifying_body, "verifying_body", "检定机构", "Verifying body", max_len=100)
    on = _date(verified_on, "verified_on", "检定日期", "Verification date")
    until = _date(valid_until, "valid_until", "有效期至", "Valid until")
    if until < on:
        raise ValidationError("valid_until_before_verified", "有效期至不能早于检定日期",
                              "Valid-until cannot be before the verification date",
                              verified_on=on.isoformat(), valid_until=until.isoformat())
    if on > clock.today():
        raise ValidationError("verified_in_future", "检定日期不能晚于今天",
                              "The verification date cannot be in the future")
    try:
        conclusion_ = Conclusion(conclusion)
    except ValueError:
        raise ValidationError("conclusion_invalid", "检定结论无效", "Unknown conclusion") from None
    if corrects_id:
        corrected = session.get(Verification, int(corrects_id))
        if corrected is None or corrected.instrument_id != instrument.id:
            raise NotFound("verification_not_found", "要更正的检定记录不存在",
                           "The verification to correct does not exist", id=corrects_id)
        if session.scalar(sa.select(Verification.id).where(Verification.corrects_id == corrected.id)):
            raise Conflict("verification_already_corrected", "该检定记录已被更正，请更正最新记录",
                           "That record was already corrected: correct the newest one")
        if not (note or "").strip():
            raise ValidationError("correction_reason_required", "更正须填写原因",
                                  "A correction needs a reason")
    record = Verification(instrument_id=instrument.id, certificate_no=number, verifying_body=body,
                          verified_on=on, valid_until=until, conclusion=conclusion_,
                          certificate_file=certificate_file,
                          certificate_filename=(certificate_filename or None)
                          and certificate_filename[:200],
                          corrects_id=int(corrects_id) if corrects_id else None,
                          note=(note or "").strip()[:500] or None, recorded_at=clock.now(),
                          recorded_by=actor.id)
    session.add(record)
    session.flush()
    audit.record(session, clock, actor, "instrument.verification_recorded", entity=record,
                 instrument_id=instrument.id, certificate_no=number,
                 valid_until=until.isoformat(), conclusion=conclusion_.value,
                 corrects_id=record.corrects_id)
    evaluate(session, clock, actor)
    return record


def refuse_use(session: Session, clock: Clock, actor: Actor, instrument: Instrument,
               verdict: Usability, purpose: str) -> Conflict:
    """Audit a refused attempt to measure with an unusable instrument; return the error."""
    audit.record(session, clock, actor, "instrument.use_refused", entity=instrument,
                 purpose=purpose, reasons=[p.code for p in verdict.problems])
    return Conflict("instrument_blocked",
                    f"{kind_label(instrument.kind)}“{instrument.name}”不可使用：{verdict.reason_zh}",
                    f"Instrument “{instrument.name}” may not be used: {verdict.reason_en}",
                    instrument_id=instrument.id, reasons=[p.code for p in verdict.problems])


# -- the rule applied everywhere --------------------------------------------------------------

def evaluate(session: Session, clock: Clock, actor: Actor | None = None) -> Evaluation:
    """Apply the blocking rule to every instrument and the stations they are installed at."""
    actor = actor or Actor.system("instruments")
    result = Evaluation()
    now = clock.now()
    verdicts: dict[int, list[tuple[Instrument, Usability]]] = {}
    for instrument in all_instruments(session):
        verdict = usability(session, clock, instrument)
        verdicts.setdefault(instrument.lane_station_id, []).append((instrument, verdict))
        reason = verdict.reason_zh[:200] if verdict.reason_zh else None
        if verdict.usable != instrument.usable or reason != instrument.unusable_reason:
            instrument.usable, instrument.unusable_reason = verdict.usable, reason
            instrument.evaluated_at = now
            result.changed.append(instrument.id)
            audit.record(session, clock, actor, "instrument.state_changed", entity=instrument,
                         usable=verdict.usable, reason=reason)
            signals.send_after_commit(session, signals.instrument_state_changed,
                                      instrument_id=instrument.id,
                                      station_id=instrument.lane_station_id,
                                      usable=verdict.usable, reason=reason,
                                      at=now.isoformat())
    blocks = {b.lane_station_id: b for b in session.scalars(sa.select(InstrumentStationBlock))}
    for station_id in set(verdicts) | set(blocks):
        station = lanes.get_station(session, station_id)
        unusable = [(i, v) for i, v in verdicts.get(station_id, []) if not v.usable]
        block = blocks.get(station_id)
        if unusable:
            reason = station_reason(station, *unusable[0])
            if station.state is OpenState.OPEN:  # also when someone reopened it by hand
                lanes.set_station_state(session, clock, actor, station, OpenState.BLOCKED, reason)
                if block is None:
                    session.add(InstrumentStationBlock(lane_station_id=station_id, reason=reason,
                                                       blocked_at=now))
                else:
                    block.reason, block.blocked_at = reason, now
                result.blocked.append(station_id)
            elif block is not None and station.state is OpenState.BLOCKED \
                    and station.state_reason == block.reason and block.reason != reason:
                lanes.set_station_state(session, clock, actor, station, OpenState.BLOCKED, reason)
                block.reason = reason
        elif block is not None:
            if station.state is OpenState.BLOCKED and station.state_reason == block.reason:
                lanes.set_station_state(session, clock, actor, station, OpenState.OPEN)
                result.reopened.append(station_id)
            session.delete(block)
    return result


def _warn_days(session: Session) -> list[int]:
    return sorted({int(d) for d in str(settings.get(session, "instruments.warn_days")).split(",")},
                  reverse=True)


def raise_expiry_alerts(session: Session, clock: Clock) -> list[InstrumentAlert]:
    """Warn 30, 7 and 1 days (setting) before a verification expires, and when it has expired;
    each warning once per certificate."""
    made = []
    thresholds = _warn_days(session)
    for instrument in all_instruments(session):
        verification = current_verification(session, instrument)
        if verification is None:
            continue
        left = (verification.valid_until - clock.today()).days
        if left < 0:
            kind, message = "expired", (f"{instrument.name}（{instrument.serial_no}）检定已过期"
                                        f"（有效期至{verification.valid_until}），已停止使用")
        else:
            due = [d for d in thresholds if left <= d]
            if not due:
                continue
            days = min(due)
            kind = f"expiry_{days}"
            message = (f"{instrument.name}（{instrument.serial_no}）检定将于"
                       f"{verification.valid_until}到期（剩余{left}天），请安排送检")
        exists = session.scalar(sa.select(InstrumentAlert.id).where(
            InstrumentAlert.instrument_id == instrument.id, InstrumentAlert.kind == kind,
            InstrumentAlert.valid_until == verification.valid_until))
        if exists:
            continue
        alert = InstrumentAlert(instrument_id=instrument.id, kind=kind,
                                valid_until=verification.valid_until, message=message[:200],
                                created_at=clock.now())
        session.add(alert)
        made.append(alert)
    session.flush()
    return made


def recent_alerts(session: Session, clock: Clock, *, days: int = 31) -> list[InstrumentAlert]:
    since = clock.day_bounds(clock.today())[0]
    from datetime import timedelta

    return list(session.scalars(sa.select(InstrumentAlert)
                                .where(InstrumentAlert.created_at >= since - timedelta(days=days))
                                .order_by(InstrumentAlert.id.desc())))


def next_expiry_moment(session: Session, clock: Clock) -> datetime | None:
    """The next moment an instrument's verification runs out (start of the day after)."""
    upcoming = [v.valid_until for i in all_instruments(session)
                if (v := current_verification(session, i)) is not None
                and v.valid_until >= clock.today()]
    if not upcoming:
        return None
    from datetime import timedelta

    return clock.day_bounds(min(upcoming) + timedelta(days=1))[0]


def overview(session: Session, clock: Clock) -> list[dict[str, Any]]:
    """The register as the technician screen shows it."""
    rows = []
    for instrument in all_instruments(session):
        verdict = usability(session, clock, instrument)
        station = session.get(LaneStation, instrument.lane_station_id)
        v = verdict.verification
        rows.append({
            "id": instrument.id, "kind": instrument.kind.value,
            "kind_label": kind_label(instrument.kind), "name": instrument.name,
            "make": instrument.make, "model": instrument.model, "serial_no": instrument.serial_no,
            "station_id": instrument.lane_station_id,
            "station": f"{station.lane.name} · {station.name}" if station else "",
            "hardware_device_id": instrument.hardware_device_id,
            "certificate_no": v.certificate_no if v else None,
            "verifying_body": v.verifying_body if v else None,
            "verified_on": v.verified_on.isoformat() if v else None,
            "valid_until": v.valid_until.isoformat() if v else None,
            "conclusion": CONCLUSION_LABELS[v.conclusion][0] if v else None,
            "days_left": verdict.days_left,
            "daily_check": None if verdict.daily_check is None else
            ("通过" if verdict.daily_check.passed else "未通过"),
            "usable": verdict.usable, "reason": verdict.reason_zh,
        })
    return rows


#: station kind → the instruments installed at such a station in the demo
DEMO_INSTRUMENTS: dict[str, list[tuple[InstrumentKind, str, str, str]]] = {
    "emission_diesel": [(InstrumentKind.OPACITY_METER, "不透光烟度计", "南华", "NHT-6")],
    "emission_gasoline": [(InstrumentKind.GAS_ANALYSER, "五气分析仪", "南华", "NHA-506")],
    "instrument": [(InstrumentKind.BRAKE_TESTER, "制动检验台", "成都成保", "ZJ-10D"),
                   (InstrumentKind.HEADLAMP_TESTER, "前照灯检测仪", "佛山南华", "NHD-6109"),
                   (InstrumentKind.SIDE_SLIP_TESTER, "侧滑检验台", "成都成保", "HT-10"),
                   (InstrumentKind.SPEEDOMETER_TESTER, "车速表检验台", "成都成保", "SC-10")],
}


def seed_demo(session: Session, clock: Clock) -> list[Instrument]:
    """Demo station: register the instruments of every lane station with a valid certificate
    and a passed daily check for today, so the demo lanes open. The seeded checks say in their
    note that they were not measured; from the next day on the technician does them for real
    (an opacity meter's through its driver)."""
    from datetime import timedelta

    actor = Actor.system("demo")
    today = clock.today()
    made = []
    for station in session.scalars(sa.select(LaneStation).order_by(LaneStation.id)):
        for n, (kind, name, make, model) in enumerate(DEMO_INSTRUMENTS.get(station.kind.value, [])):
            device = None
            if kind is InstrumentKind.OPACITY_METER:
                device = session.scalar(sa.select(HardwareDevice.id).where(
                    HardwareDevice.kind == DeviceKind.SMOKE_METER,
                    HardwareDevice.lane_station_id == station.id))
            instrument = Instrument(
                kind=kind, name=f"{station.lane.number}号线{name}", make=make, model=model,
                serial_no=f"DEMO-{station.id:03d}-{n + 1}", lane_station_id=station.id,
                hardware_device_id=device, period_months=12, created_at=clock.now(),
                created_by=None, usable=False, unusable_reason="无检定记录")
            session.add(instrument)
            session.flush()
            session.add(Verification(
                instrument_id=instrument.id, certificate_no=f"JD{today:%Y}-{instrument.id:05d}",
                verifying_body="示范市计量检定测试院", verified_on=today - timedelta(days=90),
                valid_until=today + timedelta(days=275), conclusion=Conclusion.QUALIFIED,
                recorded_at=clock.now(), recorded_by=None))
            session.add(DailyCheck(instrument_id=instrument.id, day=today,
                                   performed_at=clock.now(), operator_id=None,
                                   operator_name="demo", method="seeded", passed=True,
                                   note="示范站初始数据（未实测）"))
            made.append(instrument)
    session.flush()
    evaluate(session, clock, actor)
    return made
