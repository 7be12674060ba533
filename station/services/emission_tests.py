"""The diesel free-acceleration test (自由加速法) at a lane station: who may start it, and what is
recorded when it ends.

The measurement itself is ``station.emissions`` (pure logic) run against the station's smoke
meter by ``station.devices.smoke_sessions``; this module decides, in the database, whether the
test may start (the blocking rule of ``services.instruments``, refusals audited) and writes the
result: an ``InspectionItemResult`` (group ``emission_diesel``) for a valid test, and always an
``EmissionTestRecord`` with the 1 Hz process data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from station.clock import Clock
from station.domain.journey import VisitState
from station.domain.vehicle_codes import DIESEL_FUELS
from station.emissions import SMOKE_LIMITS, FreeAccelerationConfig, FreeAccelerationResult
from station.errors import Conflict, NotFound, ValidationError
from station.models import InspectionItemResult, ItemOutcome, StationKind
from station.models.instrument import EmissionTestRecord, Instrument, InstrumentKind

from . import audit, inspection_items, instruments, lanes, settings, visits
from .actors import Actor
from .settings import Setting

settings.register(
    Setting("emission.smoke_limit", "gb3847_2018_a", "自由加速法烟度限值",
            "Free-acceleration smoke limit", pattern="|".join(SMOKE_LIMITS)),
    Setting("emission.governed_rpm_min", 2300, "额定转速判定下限(r/min)",
            "Governed speed an acceleration must reach (r/min)", 1300, 6000),
    Setting("emission.poll_hz", 10.0, "烟度计采样频率(Hz)", "Smoke meter poll rate (Hz)", 2.0, 20.0),
)

#: the inspection item this test decides (the lane tracking's item catalogue)
ITEM_CODE = "D01"
ITEM_NAME = (inspection_items.BY_CODE[ITEM_CODE].name_zh, inspection_items.BY_CODE[ITEM_CODE].name_en)


@dataclass(frozen=True)
class TestPlan:
    """What the runner needs to start a test (plain values: the session is closed by then)."""

    __test__ = False

    station_id: int
    visit_id: int
    instrument_id: int
    device_id: int
    plate: str
    config: FreeAccelerationConfig
    poll_hz: float


def station_meter(session: Session, station_id: int) -> Instrument:
    station = lanes.get_station(session, station_id)
    if station.kind is not StationKind.EMISSION_DIESEL:
        raise ValidationError("not_a_diesel_station", "该工位不是柴油车排放检测工位",
                              "This station is not a diesel emission station")
    meters = instruments.at_station(session, station_id, InstrumentKind.OPACITY_METER)
    meter = next((m for m in meters if m.hardware_device_id), None)
    if meter is None:
        raise NotFound("no_opacity_meter", "该工位未登记关联设备的不透光烟度计",
                       "No opacity meter linked to a device is registered at this station")
    return meter


def waiting_visits(session: Session, station_id: int) -> list[dict[str, Any]]:
    """Diesel visits on this station's lane (or any lane when none is assigned yet)."""
    station = lanes.get_station(session, station_id)
    rows = []
    for visit in visits.recent(session, state=VisitState.ON_LANE):
        if visit.vehicle.fuel not in DIESEL_FUELS:
            continue
        if visit.assigned_lane_id not in (None, station.lane_id):
            continue
        rows.append({"id": visit.id, "plate": visit.vehicle.plate, "serial": visit.inspection_serial})
    return rows


def plan(session: Session, clock: Clock, actor: Actor, station_id: int,
         visit_id: int) -> tuple[TestPlan | None, Conflict | None]:
    """Check that a test may start. An unusable instrument gives (None, error) after auditing the
    refused attempt: the caller commits, then raises the error."""
    meter = station_meter(session, station_id)
    visit = visits.get(session, visit_id)
    if visit.vehicle.fuel not in DIESEL_FUELS:
        raise ValidationError("not_diesel", "该车不是柴油车，不做自由加速法检测",
                              "This vehicle is not a diesel: no free-acceleration test")
    if visit.state is not VisitState.ON_LANE:
        raise Conflict("visit_not_on_lane", "该车不在检测线上", "The vehicle is not on a lane",
                       state=visit.state.value)
    verdict = instruments.usability(session, clock, meter)
    if not verdict.usable:
        return None, instruments.refuse_use(session, clock, actor, meter, verdict,
                                            "free_acceleration")
    config = FreeAccelerationConfig(limit=settings.get(session, "emission.smoke_limit"),
                                    governed_rpm_min=int(settings.get(session,
                                                                      "emission.governed_rpm_min")))
    audit.record(session, clock, actor, "emission.test_started", entity=visit,
                 station_id=station_id, instrument_id=meter.id)
    assert meter.hardware_device_id is not None
    return TestPlan(station_id, visit.id, meter.id, meter.hardware_device_id, visit.vehicle.plate,
                    config, float(settings.get(session, "emission.poll_hz"))), None


def _process_rows(result: FreeAccelerationResult | None,
                  process: tuple[Any, ...]) -> list[list[Any]]:
    samples = result.process_data if result is not None else process
    return [[p.second, p.at.isoformat(), round(p.n_pct, 2), round(p.k_m1, 3), p.rpm, p.step.value,
             p.stale] for p in samples]


def record_result(session: Session, clock: Clock, actor: Actor, plan_: TestPlan,
                  result: FreeAccelerationResult) -> EmissionTestRecord:
    """Write a finished test. A valid result becomes the visit's item result (pass / fail)."""
    meter = instruments.get(session, plan_.instrument_id)
    visit = visits.get(session, plan_.visit_id)
    verdict = instruments.usability(session, clock, meter)
    item = None
    reasons = [{"code": r.code, "zh": r.zh, "en": r.en} for r in result.reasons]
    outcome = "invalid"
    if result.valid and not verdict.usable:
        # the instrument ran out (e.g. midnight) during the test: the value does not count
        reasons.append({"code": "instrument_blocked", "zh": f"检测中仪器变为不可用：{verdict.reason_zh}",
                        "en": f"the instrument became unusable during the test: {verdict.reason_en}"})
    elif result.valid:
        outcome = "pass" if result.passed else "fail"
        measured = f"k={result.mean_k_m1} m⁻¹"
        fail_reason = None
        if not result.passed:
            fail_reason = (f"光吸收系数 {result.mean_k_m1} m⁻¹ 超过{result.limit.label_zh} "
                           f"{result.limit.k_max_m1} m⁻¹（{result.limit.source}）")
        item = InspectionItemResult(visit_id=visit.id, station_id=plan_.station_id,
                                    group=StationKind.EMISSION_DIESEL, item_code=ITEM_CODE,
                                    item_name_zh=ITEM_NAME[0], item_name_en=ITEM_NAME[1],
                                    outcome=ItemOutcome.PASS if result.passed else ItemOutcome.FAIL,
                                    reason=fail_reason, measured=measured, at=clock.now(),
                                    inspector_id=actor.id)
        session.add(item)
        session.flush()
    record = EmissionTestRecord(
        visit_id=visit.id, lane_station_id=plan_.station_id, instrument_id=meter.id,
        outcome=outcome, mean_k_m1=None if result.mean_k_m1 is None else str(result.mean_k_m1),
        peaks_k_m1=[str(p) for p in result.peaks_k_m1], limit_name=result.limit.name,
        limit_k_m1=result.limit.k_max_m1, limit_source=result.limit.source, reasons=reasons,
        idle_rpm=result.idle_rpm, process_data=_process_rows(result, ()),
        started_at=result.started_at, finished_at=result.finished_at, inspector_id=actor.id,
        item_result_id=item.id if item else None)
    session.add(record)
    session.flush()
    audit.record(session, clock, actor, "emission.test_recorded", entity=record,
                 visit_id=visit.id, outcome=outcome, mean_k_m1=record.mean_k_m1)
    return record


def record_aborted(session: Session, clock: Clock, actor: Actor, plan_: TestPlan, *,
                   reason_zh: str, reason_en: str, started_at: Any, limit_name: str,
                   process: tuple[Any, ...]) -> EmissionTestRecord:
    """Keep the process data of a test that was stopped (meter offline, inspector abort)."""
    limit = SMOKE_LIMITS[limit_name]
    record = EmissionTestRecord(
        visit_id=plan_.visit_id, lane_station_id=plan_.station_id,
        instrument_id=plan_.instrument_id, outcome="aborted", mean_k_m1=None, peaks_k_m1=[],
        limit_name=limit.name, limit_k_m1=limit.k_max_m1, limit_source=limit.source,
        reasons=[{"code": "aborted", "zh": reason_zh, "en": reason_en}], idle_rpm=None,
        process_data=_process_rows(None, process), started_at=started_at,
        finished_at=clock.now(), inspector_id=actor.id, item_result_id=None)
    session.add(record)
    session.flush()
    audit.record(session, clock, actor, "emission.test_aborted", entity=record,
                 visit_id=plan_.visit_id, reason=reason_zh)
    return record


def records_of_visit(session: Session, visit_id: int) -> list[EmissionTestRecord]:
    return list(session.scalars(sa.select(EmissionTestRecord)
                                .where(EmissionTestRecord.visit_id == visit_id)
                                .order_by(EmissionTestRecord.id)))
