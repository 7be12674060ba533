"""Driver adapters: turn a configured device into a :class:`DeviceHandle` for the manager.

In demo mode (``simulated`` devices) the byte-level simulator of each device is started once
per device and kept in the runtime's ``extras`` (stopped with the runtime), and the real
driver is pointed at it — the same code path as with hardware.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from drivers.camera import Camera, CameraState
from drivers.errors import DeviceReportedError, DeviceTimeout
from drivers.led import Display
from drivers.led.factory import BusPool, create_display
from drivers.printer import TicketPrinter
from drivers.smoke_meter import MeterStatus, Nht6Meter, SmokeMeter
from station.models import DeviceKind

from . import DeviceConfig, DeviceHandle, Factory


class Simulators:
    """One running simulator per simulated device, created on first use and kept across the
    device's retries; its stop callback goes to the runtime."""

    def __init__(self, on_stop: list[Callable[[], None]]) -> None:
        self._on_stop = on_stop
        self._by_device: dict[int, Any] = {}
        self._lock = threading.Lock()

    def get(self, device_id: int, create: Callable[[], tuple[Any, Callable[[], None]]]) -> Any:
        """``create`` starts a simulator and returns it with the function that stops it."""
        with self._lock:
            if device_id not in self._by_device:
                simulator, stop = create()
                self._by_device[device_id] = simulator
                self._on_stop.append(stop)
            return self._by_device[device_id]


class LedHandle:
    """An LED window or lane display (条屏/窗口屏): healthy when it answers a probe."""

    def __init__(self, display: Display) -> None:
        self.display = display

    def open(self) -> None:
        self.display.open()

    def check(self) -> str | None:
        self.display.check()
        return None

    def close(self) -> None:
        self.display.close()


class CameraHandle:
    """A lane camera (工位摄像头): healthy while frames arrive."""

    #: how long opening waits for the first frame
    OPEN_TIMEOUT_S = 10.0

    def __init__(self, camera: Camera) -> None:
        self.camera = camera

    def open(self) -> None:
        self.camera.start()
        if not self.camera.wait_state(CameraState.LIVE, timeout=self.OPEN_TIMEOUT_S):
            raise DeviceTimeout(f"no picture: {self.camera.last_error or 'timeout'}",
                                device=self.camera.config.name)

    def check(self) -> str | None:
        if self.camera.state is not CameraState.LIVE:
            raise DeviceTimeout(f"no picture: {self.camera.last_error or self.camera.state.value}",
                                device=self.camera.config.name)
        return None

    def close(self) -> None:
        self.camera.stop()


class SmokeMeterHandle:
    """An opacity smoke meter (不透光烟度计): healthy when it answers its status.

    Whether the instrument may be *used* (verification, daily check) is a separate rule of the
    verification register; this is only whether it is on the line.
    """

    def __init__(self, meter: SmokeMeter, simulator: Any | None = None) -> None:
        self.meter = meter
        #: the byte-level simulator behind it in demo mode (the screens' "simulate" buttons
        #: press its pedal and insert its filters); None on hardware
        self.simulator = simulator

    def open(self) -> None:
        self.meter.open()

    def check(self) -> str | None:
        status = self.meter.status()
        if status is MeterStatus.INTERNAL_FAULT:
            raise DeviceReportedError("仪器内部通讯故障", device_code=int(status))
        return {MeterStatus.WARMING_UP: "预热中", MeterStatus.CALIBRATING: "校准中"}.get(status)

    def close(self) -> None:
        self.meter.close()


class PrinterHandle:
    """A ticket printer (取号打印机): healthy when its status says it can print."""

    def __init__(self, printer: TicketPrinter) -> None:
        self.printer = printer

    def open(self) -> None:
        self.printer.open()

    def check(self) -> str | None:
        status = self.printer.status()
        if not status.can_print:
            raise DeviceReportedError(status.description, device=self.printer.name,
                                      device_code=status.condition.value)
        return "；".join(w.description for w in status.warnings) or None

    def close(self) -> None:
        self.printer.close()


#: keys of a camera's configuration that are the server's, not the driver's
CAMERA_SERVER_KEYS = frozenset({"stations", "masks", "tile", "presence", "track_presence"})


def default_factories(*, simulate: bool,
                      on_stop: list[Callable[[], None]]) -> dict[DeviceKind, Factory]:
    """The factories of every device kind. ``simulate`` forces simulators for all devices."""
    simulators = Simulators(on_stop)
    led_buses = BusPool()  # displays sharing an RS-485 line share one port

    def printer(config: DeviceConfig) -> DeviceHandle:
        settings = dict(config.config)
        if simulate or config.simulated:
            from simulators.printer import PrinterSimulator

            def start() -> tuple[Any, Callable[[], None]]:
                sim = PrinterSimulator().start()
                return sim, sim.stop

            sim = simulators.get(config.id, start)
            settings.update(connection="network", host="127.0.0.1", port=sim.port)
        settings.setdefault("name", config.name)
        return PrinterHandle(TicketPrinter.from_config(settings))

    def led(config: DeviceConfig) -> DeviceHandle:
        settings = dict(config.config)
        settings.setdefault("name", config.name)
        if simulate or config.simulated:
            from simulators.led import LedBusSimulator, TcpLink

            address = int(settings.get("address", 1))

            def start() -> tuple[Any, Callable[[], None]]:
                link = TcpLink(LedBusSimulator([address])).open()
                return link, link.close

            link = simulators.get(config.id, start)
            settings["url"] = link.url
        return LedHandle(create_display(settings, buses=led_buses))

    def camera(config: DeviceConfig) -> DeviceHandle:
        # the server's own keys (which stations it sees, privacy masks, the lobby tile) are
        # read by ``station.cameras``; the driver gets the rest
        settings = {"name": config.name, **{k: v for k, v in config.config.items()
                                            if k not in CAMERA_SERVER_KEYS}}
        if simulate or config.simulated:
            from simulators.camera import LaneScene, LaneSimulator, named_script

            scene = LaneScene()
            duration = float(settings.pop("sim_duration_s", 600))
            seed = int(settings.pop("sim_seed", config.id))
            lane = LaneSimulator(scene, named_script("demo", scene, duration, seed),
                                 duration=duration, seed=seed)
            settings["source"] = lane.source(float(settings.get("fps", 10)), loop=True,
                                             realtime=True)
        return CameraHandle(Camera(settings))

    def smoke_meter(config: DeviceConfig) -> DeviceHandle:
        settings = {k: v for k, v in config.config.items() if k != "model"}
        if simulate or config.simulated:
            from simulators.smoke_meter import SmokeMeterSimulator, TcpServer

            def start() -> tuple[Any, Callable[[], None]]:
                server = TcpServer(SmokeMeterSimulator(profile="clean", warmup_s=0)).start()
                return server, server.stop

            server = simulators.get(config.id, start)
            settings["url"] = server.url
            return SmokeMeterHandle(Nht6Meter.from_config(settings), simulator=server.sim)
        return SmokeMeterHandle(Nht6Meter.from_config(settings))

    return {DeviceKind.TICKET_PRINTER: printer, DeviceKind.LED_DISPLAY: led,
            DeviceKind.CAMERA: camera, DeviceKind.SMOKE_METER: smoke_meter}
