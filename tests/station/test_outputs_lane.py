"""Each lane's LED display says whether the lane tests normally or what is suspended, and
follows a station being blocked and reopened (an instrument past its verification)."""

from __future__ import annotations

import sqlalchemy as sa

from station.devices import DeviceManager
from station.devices.adapters import default_factories
from station.models import Lane, LaneStation, OpenState, StationKind
from station.outputs import CallOutputs, lane_led_text
from station.services import lanes
from station.services.actors import Actor
from station.services.demo import LANE_LED_ADDRESS


def test_lane_text_names_what_is_suspended(db, clock, demo_station):
    with db.write() as s:
        lane = s.scalar(sa.select(Lane).where(Lane.number == 2))
        assert lane_led_text(lane) == "2号线 正常检测"
        diesel = next(st for st in lane.stations if st.kind is StationKind.EMISSION_DIESEL)
        diesel.state = OpenState.BLOCKED
        assert lane_led_text(lane) == "2号线 排放检测暂停"
        next(st for st in lane.stations if st.kind is StationKind.INSTRUMENT).state = OpenState.CLOSED
        assert lane_led_text(lane) == "2号线 仪器检测、排放检测暂停"
        lane.state = OpenState.CLOSED
        assert lane_led_text(lane) == "2号线 暂停检测"
        s.rollback()


def test_a_blocked_station_shows_on_its_lanes_display_and_clears(db, clock, demo_station):
    on_stop: list = []
    devices = DeviceManager(db, clock, default_factories(simulate=True, on_stop=on_stop))
    devices.load()
    outputs = CallOutputs(db, devices).start()
    try:
        led = next(stop.__self__ for stop in on_stop
                   if type(stop.__self__).__name__ == "TcpLink"
                   and stop.__self__.simulator.addresses == [LANE_LED_ADDRESS + 2])
        assert led.simulator.wait_for(LANE_LED_ADDRESS + 2, "2号线 正常检测", timeout=10)
        with db.write() as s:
            station = s.scalar(sa.select(LaneStation).join(Lane).where(
                Lane.number == 2, LaneStation.kind == StationKind.EMISSION_DIESEL))
            lanes.set_station_state(s, clock, Actor.system("t"), station, OpenState.BLOCKED,
                                    "排放检测暂停：不透光烟度计检定已过期")
        assert led.simulator.wait_for(LANE_LED_ADDRESS + 2, "2号线 排放检测暂停", timeout=10)
        with db.write() as s:
            station = s.get(LaneStation, station.id)
            lanes.set_station_state(s, clock, Actor.system("t"), station, OpenState.OPEN)
        assert led.simulator.wait_for(LANE_LED_ADDRESS + 2, "2号线 正常检测", timeout=10)
    finally:
        outputs.stop()
        devices.stop()
        for stop in on_stop:
            stop()
