"""A fresh demo station: 3 lanes, 4 counter windows, a price list, staff accounts, a kiosk and
a lobby display, and every hardware device simulated (``station demo``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time

import sqlalchemy as sa
from sqlalchemy.orm import Session

from station.clock import Clock
from station.models import (
    ClientKind,
    Counter,
    DeviceKind,
    HardwareDevice,
    Lane,
    LaneStation,
    Role,
    StationKind,
    User,
)

from . import calendar, instruments, keys, pickup, prices, users
from .actors import Actor

DEMO_PASSWORD = "demo1234"
#: bus addresses of the lane displays: after the window displays'
LANE_LED_ADDRESS = 20

#: (username, display name, roles)
DEMO_STAFF: list[tuple[str, str, list[Role]]] = [
    ("admin", "系统管理员", [Role.ADMIN]),
    ("manager", "王站长", [Role.MANAGER]),
    ("counter1", "李窗口", [Role.COUNTER]),
    ("counter2", "赵窗口", [Role.COUNTER]),
    ("runner1", "陈引车员", [Role.RUNNER]),
    ("inspector1", "刘检验员", [Role.INSPECTOR]),
    ("tech1", "周设备员", [Role.TECHNICIAN]),
]

K = StationKind
#: lane number → (name, vehicle classes, max axle load kg, stations in order)
DEMO_LANES: list[tuple[int, str, list[str], int, list[tuple[StationKind, str]]]] = [
    (1, "1号线 小型车(汽油)", ["small"], 3000, [
        (K.UNIQUENESS, "联网查询/唯一性"), (K.EXTERIOR, "外观检验"), (K.INSTRUMENT, "线内仪器"),
        (K.EMISSION_GASOLINE, "汽油排放"), (K.CHASSIS_DYNAMIC, "底盘动态"), (K.CHASSIS_PIT, "底盘部件")]),
    (2, "2号线 小型车(含柴油)", ["small"], 3000, [
        (K.UNIQUENESS, "联网查询/唯一性"), (K.EXTERIOR, "外观检验"), (K.INSTRUMENT, "线内仪器"),
        (K.EMISSION_DIESEL, "柴油排放(不透光)"), (K.EMISSION_GASOLINE, "汽油排放"),
        (K.CHASSIS_DYNAMIC, "底盘动态"), (K.CHASSIS_PIT, "底盘部件")]),
    (3, "3号线 大型车", ["large", "small"], 13000, [
        (K.UNIQUENESS, "联网查询/唯一性"), (K.EXTERIOR, "外观检验"), (K.INSTRUMENT, "线内仪器"),
        (K.EMISSION_DIESEL, "柴油排放(不透光)"), (K.CHASSIS_DYNAMIC, "底盘动态"), (K.CHASSIS_PIT, "底盘部件")]),
]

#: the defaults of DOMAIN.md §5, in fen
DEMO_PRICES: list[tuple[str, str, str, int]] = [
    ("safety", "安全技术检验", "Safety inspection", 10000),
    ("emission_transient", "排放检验(汽油 简易瞬态)", "Emissions (gasoline, simple transient)", 10000),
    ("emission_idle", "排放检验(汽油 双怠速)", "Emissions (gasoline, two-speed idle)", 6000),
    ("emission_diesel", "排放检验(柴油 自由加速)", "Emissions (diesel, free acceleration)", 10000),
    ("grading", "综合性能检测(营运车辆)", "Performance grading (commercial)", 15000),
    ("retest", "复检(30日内不合格项目)", "Retest of failed items (within 30 days)", 0),
]


@dataclass
class DemoStation:
    staff: list[tuple[str, str, str]] = field(default_factory=list)  # username, name, roles
    password: str = DEMO_PASSWORD
    client_tokens: dict[str, str] = field(default_factory=dict)      # kind → token


def is_seeded(session: Session) -> bool:
    return session.scalar(sa.select(sa.func.count()).select_from(Lane)) > 0


def seed(session: Session, clock: Clock) -> DemoStation:
    """Fill an empty database with the demo station. Refuses a database that has lanes."""
    if is_seeded(session):
        raise RuntimeError("the database already holds a station; the demo needs an empty one")
    actor = Actor.system("demo")
    out = DemoStation()
    for username, name, roles in DEMO_STAFF:
        users.create_user(session, clock, actor, username=username, password=DEMO_PASSWORD,
                          display_name=name, roles=roles)
        out.staff.append((username, name, ",".join(r.value for r in roles)))
    now = clock.now()
    for number, name, classes, axle, stations in DEMO_LANES:
        lane = Lane(number=number, name=name, vehicle_classes=classes, max_axle_load_kg=axle,
                    stations=[LaneStation(position=i + 1, kind=k, name=n)
                              for i, (k, n) in enumerate(stations)])
        session.add(lane)
    counters = [Counter(number=n, name=f"{n}号窗口") for n in range(1, 5)]
    session.add_all(counters)
    prices.publish(session, clock, actor, DEMO_PRICES, note="示范站价目表")
    for weekday in range(5):  # Monday–Friday, open over lunch (中午不休)
        calendar.set_hours(session, clock, actor, weekday, closed=False, opens_at=time(8, 30),
                           closes_at=time(17, 30))
    calendar.set_hours(session, clock, actor, 5, closed=False, opens_at=time(9, 0),
                       closes_at=time(16, 0), lunch_from=time(12, 0), lunch_until=time(13, 0))
    calendar.set_hours(session, clock, actor, 6, closed=True)
    kiosk, out.client_tokens["kiosk"] = users.register_client_device(
        session, clock, actor, kind=ClientKind.KIOSK, name="大厅1号取号机")
    _, out.client_tokens["lobby_display"] = users.register_client_device(
        session, clock, actor, kind=ClientKind.LOBBY_DISPLAY, name="休息区大屏")
    session.flush()
    diesel_stations = session.scalars(sa.select(LaneStation).join(Lane).where(
        LaneStation.kind == StationKind.EMISSION_DIESEL).order_by(Lane.number)).all()
    lanes = session.scalars(sa.select(Lane).order_by(Lane.number)).all()
    devices = [
        HardwareDevice(kind=DeviceKind.CAMERA, name=f"{lane.number}号线摄像头", simulated=True,
                       config=demo_camera_config(lane), lane_station_id=lane.stations[0].id,
                       created_at=now)
        for lane in lanes
    ] + [
        HardwareDevice(kind=DeviceKind.TICKET_PRINTER, name="取号机1打印机", simulated=True,
                       config={"connection": "network"}, client_device_id=kiosk.id, created_at=now),
    ] + [
        HardwareDevice(kind=DeviceKind.SMOKE_METER, name=f"{st.lane.number}号线不透光烟度计",
                       simulated=True, config={"model": "NHT-6"}, lane_station_id=st.id,
                       created_at=now)
        for st in diesel_stations
    ] + [
        HardwareDevice(kind=DeviceKind.LED_DISPLAY, name=f"{c.number}号窗口屏", simulated=True,
                       config={"protocol": "rs485_frame", "address": c.number},
                       counter_id=c.id, created_at=now)
        for c in counters
    ] + [  # a display at the entry of each lane: normal, or what is suspended
        HardwareDevice(kind=DeviceKind.LED_DISPLAY, name=f"{lane.number}号线屏", simulated=True,
                       config={"protocol": "rs485_frame", "address": LANE_LED_ADDRESS + lane.number},
                       lane_station_id=lane.stations[0].id, created_at=now)
        for lane in lanes
    ]
    session.add_all(devices)
    session.flush()
    keys.seed_demo_slots(session)
    pickup.seed_demo(session, clock)
    instruments.seed_demo(session, clock)  # certificates and today's checks: the lanes open
    return out


def demo_camera_config(lane: Lane) -> dict[str, object]:
    """A simulated lane camera watching the lane's first three stations (the simulated scene's
    S1–S3), with its privacy masks and a small lobby tile. Its simulated traffic is not the
    demo's visits, so it takes evidence photos but does not move cars in lane tracking."""
    from simulators.camera import LaneScene

    scene = LaneScene()
    stations = [{**spec, "station_id": station.id}
                for spec, station in zip(scene.stations_config(), lane.stations, strict=False)]
    return {"fps": 5, "stations": stations, "masks": scene.privacy_masks(),
            "tile": {"width": 480, "fps": 2}, "track_presence": False}


def staff_user(session: Session, username: str) -> User | None:
    return session.scalar(sa.select(User).where(User.username == username))
