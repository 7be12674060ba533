"""Adapters run the real drivers against the simulators, as the demo station does."""

from __future__ import annotations

from station.devices import DeviceManager, DeviceState
from station.devices.adapters import default_factories
from station.models import DeviceKind, HardwareDevice


def _manager(db, clock, on_stop):
    return DeviceManager(db, clock, default_factories(simulate=True, on_stop=on_stop),
                         backoff_initial_s=1)


def test_simulated_printer_comes_up_and_follows_its_faults(db, clock):
    with db.write() as s:
        s.add(HardwareDevice(kind=DeviceKind.TICKET_PRINTER, name="取号机1打印机", simulated=True,
                             config={"connection": "network"}, created_at=clock.now()))
    on_stop: list = []
    manager = _manager(db, clock, on_stop)
    try:
        manager.load()
        [status] = manager.statuses()
        assert status.state is DeviceState.READY and status.message is None
        [stop] = on_stop
        simulator = stop.__self__  # the simulator behind its stop callback
        simulator.faults.paper_near_end = True
        manager.tick()
        assert manager.statuses()[0].message == "纸将尽"
        simulator.faults.paper_out = True
        manager.tick()
        status = manager.statuses()[0]
        assert status.state is DeviceState.RETRYING and "缺纸" in status.message
        simulator.faults.paper_out = False
        clock.advance(seconds=2)
        manager.tick()
        assert manager.statuses()[0].state is DeviceState.READY
        assert len(on_stop) == 1  # the same simulator, not a new one per retry
    finally:
        manager.stop()
        for stop in on_stop:
            stop()


def test_simulated_led_displays_come_up_and_show_text(db, clock):
    with db.write() as s:
        for n in (1, 2):
            s.add(HardwareDevice(kind=DeviceKind.LED_DISPLAY, name=f"{n}号窗口屏", simulated=True,
                                 config={"protocol": "rs485_frame", "address": n},
                                 created_at=clock.now()))
    on_stop: list = []
    manager = _manager(db, clock, on_stop)
    try:
        manager.load()
        assert [st.state for st in manager.statuses()] == [DeviceState.READY] * 2
        first = manager.statuses()[0]
        manager.handle(first.id).display.show("请A012号到1号窗口")
        link = on_stop[0].__self__
        assert link.simulator.wait_for(1, "请A012号到1号窗口", timeout=5) is not None
        link.simulator.set_fault("no_answer")
        manager.tick()
        assert manager.status(first.id).state is DeviceState.RETRYING
    finally:
        manager.stop()
        for stop in on_stop:
            stop()


def test_bad_led_configuration_fails(db, clock):
    with db.write() as s:
        s.add(HardwareDevice(kind=DeviceKind.LED_DISPLAY, name="坏屏", simulated=True,
                             config={"protocol": "nonsense", "address": 1}, created_at=clock.now()))
    on_stop: list = []
    manager = _manager(db, clock, on_stop)
    manager.load()
    assert manager.statuses()[0].state is DeviceState.FAILED
    for stop in on_stop:
        stop()


def test_simulated_camera_comes_live_and_goes_offline(db, clock):
    with db.write() as s:
        s.add(HardwareDevice(kind=DeviceKind.CAMERA, name="1号线摄像头", simulated=True,
                             config={"fps": 10}, created_at=clock.now()))
    on_stop: list = []
    manager = _manager(db, clock, on_stop)
    try:
        manager.load()
        [status] = manager.statuses()
        assert status.state is DeviceState.READY
        camera = manager.handle(status.id).camera
        assert camera.wait_frame(timeout=10) is not None
        camera.config.source.faults.offline = True  # the simulated camera drops off
        assert camera.wait_state(camera.state.__class__.OFFLINE, timeout=15)
        manager.tick()
        assert manager.status(status.id).state is DeviceState.RETRYING
    finally:
        manager.stop()


def test_simulated_smoke_meter_comes_up_through_the_real_driver(db, clock):
    with db.write() as s:
        s.add(HardwareDevice(kind=DeviceKind.SMOKE_METER, name="2号线不透光烟度计", simulated=True,
                             config={"model": "NHT-6"}, created_at=clock.now()))
    on_stop: list = []
    manager = _manager(db, clock, on_stop)
    try:
        manager.load()
        [status] = manager.statuses()
        assert status.state is DeviceState.READY, status.message
        reading = manager.handle(status.id).meter.read_realtime()
        assert 0 <= reading.n_pct < 100 and reading.rpm > 0
        server = on_stop[0].__self__
        server.sim.set_faults("no_answer")  # the meter drops off the line
        manager.tick()
        assert manager.status(status.id).state is DeviceState.RETRYING
    finally:
        manager.stop()
        for stop in on_stop:
            stop()
