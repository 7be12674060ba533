"""Code tables of the vehicle record (机动车登记信息) that the station's rules read.

Kept as data: the police platform (公安交管) sends these codes in its query answers.
"""

from __future__ import annotations

import enum


class Fuel(enum.StrEnum):
    """燃料种类 — decides the emission method (DOMAIN.md §7)."""

    GASOLINE = "gasoline"
    DIESEL = "diesel"
    ELECTRIC = "electric"
    HYBRID_GASOLINE = "hybrid_gasoline"
    HYBRID_DIESEL = "hybrid_diesel"
    NATURAL_GAS = "natural_gas"
    LPG = "lpg"


FUEL_LABELS: dict[Fuel, tuple[str, str]] = {
    Fuel.GASOLINE: ("汽油", "Gasoline"),
    Fuel.DIESEL: ("柴油", "Diesel"),
    Fuel.ELECTRIC: ("纯电动", "Battery electric"),
    Fuel.HYBRID_GASOLINE: ("汽油混合动力", "Gasoline hybrid"),
    Fuel.HYBRID_DIESEL: ("柴油混合动力", "Diesel hybrid"),
    Fuel.NATURAL_GAS: ("天然气", "Natural gas"),
    Fuel.LPG: ("液化石油气", "LPG"),
}

#: fuels whose exhaust is measured with an opacity smoke meter (不透光烟度计)
DIESEL_FUELS = frozenset({Fuel.DIESEL, Fuel.HYBRID_DIESEL})
#: fuels without an emission test
NO_EMISSION_FUELS = frozenset({Fuel.ELECTRIC})


class VehicleClass(enum.StrEnum):
    """Size class a lane accepts (小型 / 大中型)."""

    SMALL = "small"
    LARGE = "large"


VEHICLE_CLASS_LABELS: dict[VehicleClass, tuple[str, str]] = {
    VehicleClass.SMALL: ("小型车", "Small vehicle"),
    VehicleClass.LARGE: ("大中型车", "Large/medium vehicle"),
}

#: 使用性质 (GA 24.3): code → (Chinese, English, commercial?)
USE_NATURES: dict[str, tuple[str, str, bool]] = {
    "A": ("非营运", "Non-commercial", False),
    "B": ("公路客运", "Intercity passenger transport", True),
    "C": ("公交客运", "Public bus", True),
    "D": ("出租客运", "Taxi", True),
    "E": ("旅游客运", "Tourist coach", True),
    "F": ("货运", "Freight", True),
    "G": ("租赁", "Rental", True),
    "H": ("警用", "Police", False),
    "I": ("消防", "Fire service", False),
    "J": ("救护", "Ambulance", False),
    "K": ("工程救险", "Emergency engineering", False),
    "L": ("营转非", "Commercial to non-commercial", False),
    "M": ("出租转非", "Taxi to non-commercial", False),
    "N": ("教练", "Driving school", True),
    "O": ("幼儿校车", "Kindergarten school bus", True),
    "P": ("小学生校车", "Primary school bus", True),
    "Q": ("其他校车", "Other school bus", True),
    "R": ("危化品运输", "Hazardous goods transport", True),
    "Z": ("其他", "Other", False),
}

#: 车辆类型 (GA 24.4), the subset the station's rules distinguish: code → (Chinese, English, class)
VEHICLE_TYPES: dict[str, tuple[str, str, VehicleClass]] = {
    "K11": ("大型普通客车", "Large bus", VehicleClass.LARGE),
    "K21": ("中型普通客车", "Medium bus", VehicleClass.LARGE),
    "K31": ("小型普通客车", "Small passenger car", VehicleClass.SMALL),
    "K33": ("小型轿车", "Saloon car", VehicleClass.SMALL),
    "K39": ("小型面包车", "Small van", VehicleClass.SMALL),
    "K41": ("微型普通客车", "Mini passenger car", VehicleClass.SMALL),
    "K43": ("微型轿车", "Mini saloon", VehicleClass.SMALL),
    "H11": ("重型普通货车", "Heavy truck", VehicleClass.LARGE),
    "H21": ("中型普通货车", "Medium truck", VehicleClass.LARGE),
    "H31": ("轻型普通货车", "Light truck", VehicleClass.SMALL),
    "H41": ("微型普通货车", "Mini truck", VehicleClass.SMALL),
    "Q11": ("重型半挂牵引车", "Heavy tractor", VehicleClass.LARGE),
    "B11": ("重型普通半挂车", "Heavy semi-trailer", VehicleClass.LARGE),
}


def is_commercial(use_nature: str) -> bool:
    return USE_NATURES[use_nature][2]
