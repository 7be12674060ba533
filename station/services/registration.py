"""Registration at the single window (受理登记): the driving licence's fields, checked, and the
police platform's record (联网查询) with what each finding means for the owner.

The online query is a network call: the HTTP layer makes it *before* the write transaction and
hands the record in, so the database is never held while the platform answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from station.clock import Clock
from station.domain.journey import VisitState
from station.domain.plates import validate_plate
from station.domain.vehicle_codes import USE_NATURES, VEHICLE_TYPES, Fuel
from station.domain.vin import validate_vin, vin_check_digit
from station.errors import Conflict, NotFound, ValidationError
from station.integrations.police_platform import Assessment, VehicleRecord, assess
from station.models import Visit
from station.models.window import INSURANCE_LABELS, InsuranceState, Registration

from . import audit, visits
from .actors import Actor


@dataclass(frozen=True)
class LicenceFields:
    """What staff type or scan from the driving licence (行驶证)."""

    plate_type: str
    plate: str
    vin: str
    vehicle_type: str | None = None
    use_nature: str | None = None
    fuel: str | None = None
    seats: int | None = None
    make_model: str | None = None
    first_registered_on: date | None = None


def assessment_dict(assessment: Assessment) -> dict[str, Any]:
    """The query's answer as the screen shows it: each finding with what the owner must do."""
    record = assessment.record
    return {
        "plate_type": record.plate_type, "plate": record.plate,
        "status_codes": record.status_codes,
        "findings": [{"code": f.code, "meaning_zh": f.meaning.zh, "meaning_en": f.meaning.en,
                      "action_zh": f.meaning.action_zh, "action_en": f.meaning.action_en,
                      "blocks_test": f.meaning.blocks_test} for f in assessment.findings],
        "may_test": assessment.may_test,
        "inspection_valid_until": (record.inspection_valid_until.isoformat()
                                   if record.inspection_valid_until else None),
        "insurance_until": record.insurance_until.isoformat() if record.insurance_until else None,
        "insurance_valid": assessment.insurance_valid,
        "insurance_note_zh": assessment.insurance_note_zh,
        "vin": record.vin, "vehicle_type": record.vehicle_type, "use_nature": record.use_nature,
        "fuel": record.fuel,
    }


def check_licence(fields: LicenceFields, *, confirm_vin: bool) -> tuple[str, str, bool]:
    """The normalised plate and VIN, and whether a wrong check digit was confirmed.

    A plate that does not fit its plate type is refused. A VIN with a wrong check digit is a
    warning (old or imported vehicles carry such VINs): refused until staff confirm they
    compared it with the vehicle.
    """
    plate = validate_plate(fields.plate_type, fields.plate)
    vin = validate_vin(fields.vin, check_digit=False)
    expected = vin_check_digit(vin)
    if expected == vin[8]:
        return plate, vin, False
    if not confirm_vin:
        raise ValidationError(
            "vin_check_digit_unconfirmed",
            f"车辆识别代号第9位校验位应为“{expected}”，录入的是“{vin[8]}”。请与车辆核对；"
            f"确认无误请勾选“已核对VIN”后再登记。",
            f"The VIN check digit should be '{expected}' but is '{vin[8]}'. Compare it with the "
            f"vehicle; if it is right, tick “VIN checked” and register again.",
            expected=expected, found=vin[8], position=9)
    return plate, vin, True


def _check_codes(fields: LicenceFields) -> None:
    if fields.vehicle_type and fields.vehicle_type not in VEHICLE_TYPES:
        raise ValidationError("vehicle_type_unknown", f"未知的车辆类型代码“{fields.vehicle_type}”",
                              f"Unknown vehicle type code {fields.vehicle_type}")
    if fields.use_nature and fields.use_nature not in USE_NATURES:
        raise ValidationError("use_nature_unknown", f"未知的使用性质代码“{fields.use_nature}”",
                              f"Unknown use nature code {fields.use_nature}")
    if fields.fuel and fields.fuel not in {f.value for f in Fuel}:
        raise ValidationError("fuel_unknown", f"未知的燃料种类“{fields.fuel}”",
                              f"Unknown fuel {fields.fuel}")


def get_registration(session: Session, visit_id: int) -> Registration | None:
    return session.scalar(sa.select(Registration).where(Registration.visit_id == visit_id))


def register(session: Session, clock: Clock, actor: Actor, visit_id: int, fields: LicenceFields,
             record: VehicleRecord | None, *, confirm_vin: bool = False,
             insurance_agency: bool = False, counter_id: int | None = None,
             offline_reason: str | None = None) -> Registration:
    """Register a called visit: licence fields, the platform's record, the insurance.

    ``record`` is the online query's answer; None only when the platform is unavailable and
    staff register by hand (``offline_reason``), in which case the insurance is unverified.
    Refused: a visit not at the counter, a plate that is not the visit's vehicle or does not
    fit its type, an unconfirmed VIN warning, a status that blocks the test.
    """
    visit = visits.get(session, visit_id, for_update=True)
    if visit.state is not VisitState.CALLED:
        raise Conflict("visit_not_at_counter", "该车辆当前不在窗口办理中，不能登记",
                       "This visit is not being served at a counter", state=visit.state.value)
    plate, vin, confirmed = check_licence(fields, confirm_vin=confirm_vin)
    _check_codes(fields)
    vehicle = visit.vehicle
    if (fields.plate_type, plate) != (vehicle.plate_type, vehicle.plate):
        raise ValidationError("plate_not_this_visit",
                              f"行驶证号牌{plate}与本号码登记的车辆{vehicle.plate}不符",
                              f"Plate {plate} is not the vehicle of this ticket ({vehicle.plate})")
    if vehicle.vin_tail and not vin.endswith(vehicle.vin_tail):
        raise ValidationError("vin_tail_mismatch",
                              f"车辆识别代号后六位与预约登记的{vehicle.vin_tail}不符",
                              f"The VIN does not end with the booked {vehicle.vin_tail}")
    today = clock.today()
    assessment: Assessment | None = None
    if record is None:
        if not offline_reason:
            raise NotFound("vehicle_not_on_platform", "联网查询未查到该车辆，不能登记",
                           "The police platform has no record of this vehicle")
    else:
        assessment = assess(record, today)
        if not assessment.may_test:
            blocking = [f for f in assessment.findings if f.meaning.blocks_test]
            raise Conflict(
                "vehicle_status_blocks_test",
                "；".join(f"{f.meaning.zh}（{f.code}）：{f.meaning.action_zh}" for f in blocking),
                "; ".join(f"{f.meaning.en} ({f.code}): {f.meaning.action_en}" for f in blocking),
                status_codes=record.status_codes)
        if record.vin and record.vin != vin:
            raise ValidationError("vin_not_platform", "车辆识别代号与联网查询的登记信息不符，请核对",
                                  "The VIN differs from the platform's record: check it")
    now = clock.now()
    vehicle.vin, vehicle.vin_tail = vin, vin[-6:]
    vehicle.vehicle_type = fields.vehicle_type or (record.vehicle_type if record else None) \
        or vehicle.vehicle_type
    vehicle.use_nature = fields.use_nature or (record.use_nature if record else None) \
        or vehicle.use_nature
    fuel = fields.fuel or (record.fuel if record else None)
    vehicle.fuel = Fuel(fuel) if fuel else vehicle.fuel
    vehicle.seats = fields.seats or vehicle.seats
    vehicle.make_model = fields.make_model or vehicle.make_model
    vehicle.first_registered_on = fields.first_registered_on or vehicle.first_registered_on
    if record is not None and record.inspection_valid_until:
        vehicle.inspection_valid_until = record.inspection_valid_until
    vehicle.updated_at = now
    if assessment is not None and assessment.insurance_valid:
        insurance, note = InsuranceState.VERIFIED, None
    elif insurance_agency:
        insurance, note = InsuranceState.AGENCY, "车主委托本站代办交强险"
    else:
        insurance, note = InsuranceState.MISSING, offline_reason
    registration = Registration(
        visit_id=visit.id, counter_id=counter_id,
        status_codes=record.status_codes if record else None, queried_at=now if record else None,
        vin_warning_confirmed=confirmed, insurance_state=insurance,
        insurance_until=record.insurance_until if record else None,
        insurance_verified_at=now if insurance is InsuranceState.VERIFIED else None,
        insurance_note=note, registered_at=now, registered_by=actor.id)
    session.add(registration)
    visits.transition(session, clock, actor, visit, VisitState.REGISTERED,
                      reason=f"窗口登记：{INSURANCE_LABELS[insurance][0]}")
    audit.record(session, clock, actor, "visit.registered", entity=visit, plate=plate,
                 status_codes=registration.status_codes, insurance=insurance.value,
                 vin_warning_confirmed=confirmed, offline_reason=offline_reason)
    session.flush()
    return registration


def verify_insurance(session: Session, clock: Clock, actor: Actor, visit: Visit,
                     record: VehicleRecord | None) -> Registration:
    """Check the insurance again (核保) after the owner bought it: verified when the platform
    now shows a policy in force today."""
    registration = get_registration(session, visit.id)
    if registration is None:
        raise Conflict("visit_not_registered", "该车辆尚未登记", "This visit is not registered")
    if registration.insurance_state is InsuranceState.VERIFIED:
        return registration
    today = clock.today()
    if record is None or record.insurance_until is None or record.insurance_until < today:
        raise Conflict("insurance_not_found", "联网核查仍未查到有效交强险，暂不能打印检验合格证明",
                       "Still no insurance in force online: the papers stay held")
    registration.insurance_state = InsuranceState.VERIFIED
    registration.insurance_until = record.insurance_until
    registration.insurance_verified_at = clock.now()
    audit.record(session, clock, actor, "insurance.verified", entity=visit,
                 insurance_until=record.insurance_until.isoformat())
    return registration
