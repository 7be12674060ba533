"""The inspection item catalogue (检验项目), grouped as GB 38900-2020 groups them, and which
items apply to a vehicle.

Order follows the standard: online query and uniqueness check first (联网查询、唯一性检查),
then exterior (外观), instrument tests (线内仪器), chassis dynamic (底盘动态) and chassis parts
(底盘部件) — exterior and chassis are each inspected once — and the emission test of the fuel.
An item that does not apply to a vehicle is skipped with the rule that excludes it; a retest
(复检, attempt > 1) tests only the items that failed on the previous attempt.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from station.domain.vehicle_codes import (
    DIESEL_FUELS,
    NO_EMISSION_FUELS,
    USE_NATURES,
    VEHICLE_TYPES,
    VehicleClass,
)
from station.models import StationKind, Vehicle, Visit
from station.models.inspection import InspectionItemResult, ItemOutcome

from . import settings

settings.register(
    settings.Setting("lanes.chassis_exempt_years", 10, "免检底盘的非营运小型客车车龄(年)",
                     "Chassis checks skipped for non-commercial small cars under (years)", 0, 30),
)

K = StationKind
#: a rule: (applies?, the rule in Chinese when it does not)
Rule = Callable[[Vehicle, date, int], bool]


@dataclass(frozen=True)
class Item:
    code: str
    kind: StationKind
    name_zh: str
    name_en: str
    #: None: applies to every vehicle; else a predicate and the rule's text when it fails
    applies: Rule | None = None
    rule_zh: str = ""


def _small_passenger(v: Vehicle) -> bool:
    vt = VEHICLE_TYPES.get(v.vehicle_type or "")
    return bool(vt and vt[2] is VehicleClass.SMALL and (v.vehicle_type or "").startswith("K")
                and v.vehicle_type != "K39" and (v.seats or 0) <= 9)


def _commercial(v: Vehicle) -> bool:
    return bool(v.use_nature and USE_NATURES.get(v.use_nature, ("", "", False))[2])


def _age_years(v: Vehicle, today: date) -> int | None:
    if v.first_registered_on is None:
        return None
    d = v.first_registered_on
    return today.year - d.year - ((today.month, today.day) < (d.month, d.day))


def chassis_needed(v: Vehicle, today: date, exempt_years: int) -> bool:
    """Non-commercial small/mini passenger cars (vans excluded) younger than the exempt age
    skip both chassis checks (the station has no record of injury accidents here: an inspector
    who learns of one records the chassis items at the terminal anyway)."""
    age = _age_years(v, today)
    exempt = (_small_passenger(v) and v.use_nature == "A" and age is not None
              and age < exempt_years)
    return not exempt


def _gasoline_like(v: Vehicle, *_: object) -> bool:
    return v.fuel is not None and v.fuel not in DIESEL_FUELS and v.fuel not in NO_EMISSION_FUELS


def _diesel(v: Vehicle, *_: object) -> bool:
    return v.fuel in DIESEL_FUELS


def _chassis(v: Vehicle, today: date, exempt_years: int) -> bool:
    return chassis_needed(v, today, exempt_years)


CHASSIS_RULE = "非营运小型、微型载客汽车（面包车除外）注册登记10年内免检底盘（发生人员伤亡事故的除外）"


def _truck(v: Vehicle, *_: object) -> bool:
    return (v.vehicle_type or "")[:1] in ("H", "Q", "B")


def _large(v: Vehicle, *_: object) -> bool:
    vt = VEHICLE_TYPES.get(v.vehicle_type or "")
    return bool(vt and vt[2] is VehicleClass.LARGE)


def _commercial_rule(v: Vehicle, *_: object) -> bool:
    return _commercial(v)


CATALOGUE: tuple[Item, ...] = (
    Item("U01", K.UNIQUENESS, "联网查询", "Online query of the vehicle record"),
    Item("U02", K.UNIQUENESS, "号牌号码/号牌种类", "Plate number and type"),
    Item("U03", K.UNIQUENESS, "车辆品牌/型号", "Make and model"),
    Item("U04", K.UNIQUENESS, "车辆识别代号", "VIN"),
    Item("U05", K.UNIQUENESS, "发动机号码", "Engine number"),
    Item("U06", K.UNIQUENESS, "车辆颜色和外形", "Colour and shape"),
    Item("E01", K.EXTERIOR, "外廓尺寸", "Overall dimensions"),
    Item("E02", K.EXTERIOR, "轮胎", "Tyres"),
    Item("E03", K.EXTERIOR, "号牌及号牌安装", "Plates and their mounting"),
    Item("E04", K.EXTERIOR, "灯光信号装置", "Lamps and signals"),
    Item("E05", K.EXTERIOR, "安全带", "Seat belts"),
    Item("E06", K.EXTERIOR, "三角警告牌", "Warning triangle"),
    Item("E07", K.EXTERIOR, "灭火器", "Fire extinguisher", _commercial_rule,
         "仅营运车辆检验灭火器"),
    Item("E08", K.EXTERIOR, "行驶记录装置", "Tachograph", _commercial_rule,
         "仅营运车辆检验行驶记录装置"),
    Item("E09", K.EXTERIOR, "车身反光标识", "Reflective markings", _truck,
         "仅货车、牵引车和挂车检验车身反光标识"),
    Item("E10", K.EXTERIOR, "后下部防护", "Rear underrun protection", _truck,
         "仅货车、牵引车和挂车检验后下部防护"),
    Item("I01", K.INSTRUMENT, "行车制动", "Service brake (per axle)"),
    Item("I02", K.INSTRUMENT, "驻车制动", "Parking brake"),
    Item("I03", K.INSTRUMENT, "前照灯", "Headlamps"),
    Item("I04", K.INSTRUMENT, "转向轮横向侧滑", "Side-slip"),
    Item("I05", K.INSTRUMENT, "车速表", "Speedometer", _large, "仅大中型车辆检验车速表"),
    Item("C01", K.CHASSIS_DYNAMIC, "转向系", "Steering (dynamic)", _chassis, CHASSIS_RULE),
    Item("C02", K.CHASSIS_DYNAMIC, "传动系", "Transmission (dynamic)", _chassis, CHASSIS_RULE),
    Item("C03", K.CHASSIS_DYNAMIC, "制动系", "Brakes (dynamic)", _chassis, CHASSIS_RULE),
    Item("C04", K.CHASSIS_DYNAMIC, "仪表和指示器", "Gauges and indicators", _chassis, CHASSIS_RULE),
    Item("P01", K.CHASSIS_PIT, "转向系部件", "Steering parts", _chassis, CHASSIS_RULE),
    Item("P02", K.CHASSIS_PIT, "传动系部件", "Transmission parts", _chassis, CHASSIS_RULE),
    Item("P03", K.CHASSIS_PIT, "行驶系部件", "Running gear", _chassis, CHASSIS_RULE),
    Item("P04", K.CHASSIS_PIT, "制动系部件", "Brake parts", _chassis, CHASSIS_RULE),
    Item("G01", K.EMISSION_GASOLINE, "排气污染物(汽油)", "Exhaust emissions (gasoline)",
         _gasoline_like, "仅汽油、燃气及汽油混合动力车检验汽油车排放（纯电动车不检排放）"),
    # written by the free-acceleration test page (/emission/station/<id>); any row of this
    # group for the visit counts as the diesel station's result
    Item("D01", K.EMISSION_DIESEL, "自由加速法烟度", "Free-acceleration smoke", _diesel,
         "仅柴油及柴油混合动力车检验自由加速烟度（纯电动车不检排放）"),
)
BY_CODE: dict[str, Item] = {i.code: i for i in CATALOGUE}
RETEST_RULE = "复检仅检验上次不合格项目"


@dataclass(frozen=True)
class PlannedItem:
    item: Item
    #: None: to be tested; else why it is skipped
    skip_reason: str | None

    def as_dict(self) -> dict[str, object]:
        i = self.item
        return {"code": i.code, "kind": i.kind.value, "name": i.name_zh, "name_en": i.name_en,
                "skipped": self.skip_reason is not None, "rule": self.skip_reason}


def newest_results(session: Session, visit_id: int) -> dict[str, InspectionItemResult]:
    """The result row in force per item code (the newest row of an item counts)."""
    rows = session.scalars(sa.select(InspectionItemResult)
                           .where(InspectionItemResult.visit_id == visit_id)
                           .order_by(InspectionItemResult.at, InspectionItemResult.id))
    return {r.item_code: r for r in rows}


def failed_on_previous_attempt(session: Session, visit: Visit) -> set[str] | None:
    """Item codes that failed on the attempt before this one (None for a first attempt)."""
    if visit.attempt <= 1:
        return None
    previous = session.scalar(sa.select(Visit.id).where(
        Visit.inspection_serial == visit.inspection_serial, Visit.attempt == visit.attempt - 1))
    if previous is None:
        return set()
    return {code for code, r in newest_results(session, previous).items()
            if r.outcome is ItemOutcome.FAIL}


def plan(session: Session, visit: Visit, today: date) -> list[PlannedItem]:
    """Every catalogue item for this visit: tested, or skipped with its rule."""
    exempt_years = int(settings.get(session, "lanes.chassis_exempt_years"))
    retest = failed_on_previous_attempt(session, visit)
    out = []
    for item in CATALOGUE:
        reason = None
        if item.applies is not None and not item.applies(visit.vehicle, today, exempt_years):
            reason = item.rule_zh
        elif retest is not None and item.code not in retest:
            # the diesel page writes its own item codes: a failed row of the group counts
            reason = RETEST_RULE
        out.append(PlannedItem(item, reason))
    if retest is not None:  # emission groups: retest when any item of the group failed
        failed_kinds = {BY_CODE[c].kind for c in retest if c in BY_CODE}
        failed_kinds |= {_kind_of_code(session, visit, c) for c in retest if c not in BY_CODE}
        out = [p if not (p.skip_reason == RETEST_RULE and p.item.kind in failed_kinds
                         and p.item.kind in (K.EMISSION_DIESEL, K.EMISSION_GASOLINE))
               else PlannedItem(p.item, None) for p in out]
    return out


def _kind_of_code(session: Session, visit: Visit, code: str) -> StationKind | None:
    return session.scalar(sa.select(InspectionItemResult.group).join(
        Visit, Visit.id == InspectionItemResult.visit_id).where(
        Visit.inspection_serial == visit.inspection_serial, InspectionItemResult.item_code == code)
        .limit(1))


def kinds_needed(planned: list[PlannedItem]) -> set[StationKind]:
    """The station kinds that have at least one item to test."""
    return {p.item.kind for p in planned if p.skip_reason is None}
