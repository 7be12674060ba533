"""The device lifecycle: loading → ready | retrying (backoff) | failed; health checks; signals."""

from __future__ import annotations

from datetime import timedelta

import pytest

from drivers.errors import DeviceReportedError, DeviceTimeout
from station import signals
from station.devices import DeviceConfig, DeviceManager, DeviceState, DeviceUnavailable
from station.models import DeviceKind, HardwareDevice


class FakeDriver:
    """A driver whose behaviour the test scripts: each open/check pops the next outcome."""

    def __init__(self, config: DeviceConfig, script: dict[str, list]) -> None:
        self.config, self.script, self.closed = config, script, 0

    def _next(self, what: str):
        outcome = self.script[what].pop(0) if self.script[what] else None
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def open(self) -> None:
        self._next("open")

    def check(self) -> str | None:
        return self._next("check")

    def close(self) -> None:
        self.closed += 1


@pytest.fixture
def add_device(db, clock):
    def add(name: str, kind=DeviceKind.TICKET_PRINTER, **config) -> int:
        with db.write() as s:
            device = HardwareDevice(kind=kind, name=name, config=config, created_at=clock.now())
            s.add(device)
            s.flush()
            return device.id
    return add


def test_offline_device_retries_with_backoff_then_comes_up(db, clock, add_device):
    device_id = add_device("打印机1")
    script = {"open": [DeviceTimeout("no answer"), DeviceTimeout("no answer"), None], "check": ["纸将尽"]}
    events: list[dict] = []

    def on_change(_sender, **payload):
        events.append(payload)

    signals.device_state_changed.connect(on_change, sender=db)
    manager = DeviceManager(db, clock, {DeviceKind.TICKET_PRINTER: lambda c: FakeDriver(c, script)},
                            backoff_initial_s=2, backoff_max_s=60)
    manager.load()
    status = manager.status(device_id)
    assert status.state is DeviceState.RETRYING and status.attempts == 1
    assert status.next_retry_at == clock.now() + timedelta(seconds=2)
    with pytest.raises(DeviceUnavailable) as err:
        manager.handle(device_id)
    assert "打印机1" in err.value.message_zh
    manager.tick()  # too early: nothing happens
    assert manager.status(device_id).attempts == 1
    clock.advance(seconds=2)
    manager.tick()
    assert manager.status(device_id).attempts == 2
    assert manager.status(device_id).next_retry_at == clock.now() + timedelta(seconds=4)
    clock.advance(seconds=4)
    manager.tick()
    status = manager.status(device_id)
    assert status.state is DeviceState.READY and status.message == "纸将尽" and status.attempts == 0
    assert manager.handle(device_id) is not None
    # a signal per visible change (state or message), not per retry
    assert [e["state"] for e in events] == ["retrying", "ready"]
    signals.device_state_changed.disconnect(on_change, sender=db)


def test_health_check_failure_takes_a_ready_device_offline(db, clock, add_device):
    device_id = add_device("烟度计", kind=DeviceKind.SMOKE_METER)
    script = {"open": [None], "check": [None, DeviceReportedError("paper out", device_code=2)]}
    drivers: list[FakeDriver] = []

    def factory(config):
        drivers.append(FakeDriver(config, script))
        return drivers[-1]

    manager = DeviceManager(db, clock, {DeviceKind.SMOKE_METER: factory})
    manager.load()
    assert manager.status(device_id).state is DeviceState.READY
    manager.tick()
    assert manager.status(device_id).state is DeviceState.RETRYING
    assert drivers[0].closed == 1


def test_bad_configuration_fails_without_retrying(db, clock, add_device):
    device_id = add_device("LED", kind=DeviceKind.LED_DISPLAY)

    def factory(config):
        raise ValueError("address must be 1..254")

    manager = DeviceManager(db, clock, {DeviceKind.LED_DISPLAY: factory})
    manager.load()
    status = manager.status(device_id)
    assert status.state is DeviceState.FAILED and "address must be" in status.message
    clock.advance(minutes=5)
    manager.tick()
    assert manager.status(device_id).state is DeviceState.FAILED


def test_disabled_and_driverless_devices(db, clock, add_device):
    off = add_device("停用打印机")
    with db.write() as s:
        s.get(HardwareDevice, off).enabled = False
    cam = add_device("摄像头", kind=DeviceKind.CAMERA)
    manager = DeviceManager(db, clock, {})
    manager.load()
    assert manager.status(off).state is DeviceState.DISABLED
    assert manager.status(cam).state is DeviceState.FAILED


def test_report_failure_from_a_caller(db, clock, add_device):
    device_id = add_device("打印机2")
    script = {"open": [None], "check": [None]}
    manager = DeviceManager(db, clock, {DeviceKind.TICKET_PRINTER: lambda c: FakeDriver(c, script)})
    manager.load()
    manager.report_failure(device_id, DeviceTimeout("printer did not answer after the job"))
    assert manager.status(device_id).state is DeviceState.RETRYING
    manager.stop()
