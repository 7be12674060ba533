"""Call outputs: each call to a counter is shown on that window's LED display (窗口屏); each
lane's LED display (检测线屏, a display configured at one of the lane's stations) says whether
the lane tests normally or what is suspended (「2号线 排放检测暂停」).

Runs in the runtime process beside the devices, on its own thread, so a slow or absent display
never delays the counter's request. A display that fails goes to ``retrying`` in the device
manager; when it comes back, it is sent the current number of its window again.
"""

from __future__ import annotations

import logging
import queue as queues
import threading
from typing import Any

import sqlalchemy as sa

from drivers.errors import DeviceError
from station import signals
from station.db import Database
from station.devices import DeviceManager, DeviceState, DeviceUnavailable
from station.models import DeviceKind, HardwareDevice, Lane, LaneStation, OpenState, StationKind

log = logging.getLogger(__name__)


def led_text(label: str, counter_number: int) -> str:
    """What a window's LED display shows for a call (short: the displays are narrow)."""
    return f"{label}号 请到{counter_number}号窗口"


#: what a suspended station is called on a lane's display
SUSPENDED_WORK = {StationKind.EMISSION_GASOLINE: "排放检测", StationKind.EMISSION_DIESEL: "排放检测",
                  StationKind.INSTRUMENT: "仪器检测", StationKind.CHASSIS_DYNAMIC: "底盘检验",
                  StationKind.CHASSIS_PIT: "底盘检验", StationKind.EXTERIOR: "外观检验",
                  StationKind.UNIQUENESS: "查验"}


def lane_led_text(lane: Lane) -> str:
    """A lane's display: suspended work first (short, the displays are narrow)."""
    if lane.state is not OpenState.OPEN:
        return f"{lane.number}号线 暂停检测"
    # in the lane's order, each kind of work once
    stopped = list(dict.fromkeys(SUSPENDED_WORK[st.kind] for st in lane.stations
                                 if st.state is not OpenState.OPEN))
    if stopped:
        return f"{lane.number}号线 {'、'.join(stopped)}暂停"
    return f"{lane.number}号线 正常检测"


#: whose display a job is for: ("counter", counter id) or ("lane", lane id)
Target = tuple[str, int]


class CallOutputs:
    def __init__(self, db: Database, devices: DeviceManager) -> None:
        self.db, self.devices = db, devices
        self._jobs: queues.Queue[tuple[Target, str] | None] = queues.Queue()
        self._shown: dict[Target, str] = {}  # what each window's / lane's display should show
        self._thread = threading.Thread(target=self._run, name="call-outputs", daemon=True)

    def start(self) -> CallOutputs:
        signals.ticket_called.connect(self._on_call, sender=self.db)
        signals.device_state_changed.connect(self._on_device, sender=self.db)
        signals.lane_state_changed.connect(self._on_lane, sender=self.db)
        self._thread.start()
        with self.db.read() as s:  # every lane display starts with its lane's state
            for lane in s.scalars(sa.select(Lane)):
                self._show(("lane", lane.id), lane_led_text(lane))
        return self

    def stop(self) -> None:
        signals.ticket_called.disconnect(self._on_call, sender=self.db)
        signals.device_state_changed.disconnect(self._on_device, sender=self.db)
        signals.lane_state_changed.disconnect(self._on_lane, sender=self.db)
        self._jobs.put(None)
        self._thread.join(timeout=10)

    def _show(self, target: Target, text: str) -> None:
        self._shown[target] = text
        self._jobs.put((target, text))

    def _on_call(self, _sender: Any, **call: Any) -> None:
        self._show(("counter", call["counter_id"]), led_text(call["label"], call["counter_number"]))

    def _on_lane(self, _sender: Any, **change: Any) -> None:
        with self.db.read() as s:
            lane = s.get(Lane, change["lane_id"])
            if lane is not None:
                self._show(("lane", lane.id), lane_led_text(lane))

    def _on_device(self, _sender: Any, **device: Any) -> None:
        """A display that comes back shows its window's current number (or its lane's state)."""
        if device["kind"] == DeviceKind.LED_DISPLAY.value and device["state"] == DeviceState.READY.value:
            target = self._target_of(device["id"])
            if target in self._shown:
                self._jobs.put((target, self._shown[target]))

    def _target_of(self, device_id: int) -> Target | None:
        with self.db.read() as s:
            counter_id, station_id = s.execute(
                sa.select(HardwareDevice.counter_id, HardwareDevice.lane_station_id)
                .where(HardwareDevice.id == device_id)).one()
            if counter_id is not None:
                return ("counter", counter_id)
            if station_id is not None:
                return ("lane", s.scalar(sa.select(LaneStation.lane_id)
                                         .where(LaneStation.id == station_id)))
        return None

    def _displays(self, target: Target) -> list[int]:
        kind, ident = target
        where = (HardwareDevice.counter_id == ident if kind == "counter" else
                 HardwareDevice.lane_station_id.in_(
                     sa.select(LaneStation.id).where(LaneStation.lane_id == ident)))
        with self.db.read() as s:
            return list(s.scalars(sa.select(HardwareDevice.id).where(
                where, HardwareDevice.enabled.is_(True), HardwareDevice.kind == DeviceKind.LED_DISPLAY)))

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            target, text = job
            for device_id in self._displays(target):
                try:
                    self.devices.handle(device_id).display.show(text)  # type: ignore[attr-defined]
                except DeviceUnavailable as exc:
                    log.info("call not shown on display %s: %s", device_id, exc.message_en)
                except DeviceError as exc:
                    self.devices.report_failure(device_id, exc)

    def drain(self, timeout: float = 10.0) -> None:
        """Wait until every queued call has been sent (tests)."""
        done = threading.Event()
        self._jobs.put((("counter", -1), ""))  # a marker job for a counter with no displays
        deadline = threading.Timer(timeout, done.set)
        deadline.start()
        while not self._jobs.empty() and not done.is_set():
            done.wait(0.02)
        deadline.cancel()
