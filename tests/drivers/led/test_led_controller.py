"""LedController: desired state, offline reporting and recovery after an outage."""

from __future__ import annotations

import threading
from typing import Any

import pytest
import serial

from drivers.errors import DeviceNotFound, DeviceTimeout
from drivers.led import BusPool, Display, DisplayStatus, LedController, create_displays

#: bound on waits that only run out when something is broken
WAIT = 10.0


def controller_for(served, addresses=(1,), pool=None, **kwargs: Any) -> LedController:
    configs = [
        {"protocol": "rs485_frame", "url": served.url, "address": a, "timeout": served.timeout}
        for a in addresses
    ]
    return LedController(create_displays(configs, buses=pool), **kwargs)


@pytest.fixture
def controllers():
    """Controllers built in a test, closed afterwards."""
    made: list[LedController] = []

    def make(served, addresses=(1,), **kwargs: Any) -> LedController:
        controller = controller_for(served, addresses, **kwargs)
        made.append(controller)
        return controller

    yield make
    for controller in made:
        controller.close()


def test_display_off_is_reported_and_back_on_gets_its_text(serve, controllers) -> None:
    served = serve("ledsim", addresses=(1, 2))
    events: list[DisplayStatus] = []
    leds = controllers(served, (1, 2), listener=events.append)
    leds.open()
    assert events == []  # opening the ports contacts nobody
    leds.refresh()
    assert [(e.key, e.online) for e in events] == [(1, True), (2, True)]
    assert leds.show(1, "请A001号到1号窗口") is True
    assert served.sim.shown(1).text == "请A001号到1号窗口"

    served.sim.set_fault("power_off", address=1)
    assert leds.show(1, "请A002号到1号窗口") is False
    status = leds.status(1)
    assert status.online is False and not status.in_sync
    assert isinstance(status.last_error, DeviceTimeout)
    assert status.desired.text == "请A002号到1号窗口"
    assert (events[-1].key, events[-1].online) == (1, False)
    assert leds.show(2, "请A003号到2号窗口") is True  # its neighbour keeps working

    leds.refresh()
    assert leds.status(1).online is False
    served.sim.set_fault("power_off", False, address=1)
    assert served.sim.shown(1) is None  # came back blank: the text was only in RAM
    statuses = {s.key: s for s in leds.refresh()}
    assert statuses[1].online and statuses[1].in_sync and statuses[1].last_error is None
    assert served.sim.shown(1).text == "请A002号到1号窗口"
    assert (events[-1].key, events[-1].online) == (1, True)
    assert served.sim.shown(2).text == "请A003号到2号窗口"


def test_refresh_resends_power_state_and_content(serve, controllers) -> None:
    served = serve("ledsim")
    leds = controllers(served)
    leds.open()
    leds.show(1, "夜间暂停服务", save=True)
    leds.power(1, False)
    assert served.sim.state(1).screen_on is False
    served.sim.set_fault("no_answer")
    leds.refresh()
    served.sim.set_fault("no_answer", False)
    served.sim.power_cycle(1)  # boots with the screen on
    assert served.sim.state(1).screen_on is True
    leds.refresh()
    state = served.sim.state(1)
    assert state.screen_on is False
    assert state.ram.text == "夜间暂停服务"


def test_refresh_of_a_healthy_display_only_probes(serve, controllers) -> None:
    served = serve("ledsim")
    leds = controllers(served)
    leds.open()
    leds.show(1, "A")
    before = len(served.sim.frames)
    leds.refresh()
    assert [f.command for f in served.sim.frames[before:]] == ["probe"]


def test_verify_probes_after_unacknowledged_writes(serve, controllers) -> None:
    served = serve("ledsim")
    served.sim.set_fault("power_off")
    blind = controllers(served, verify=False)
    blind.open()
    assert blind.show(1, "A") is True  # without ACK or probe a dead display goes unnoticed
    checked = controllers(served)
    checked.open()
    assert checked.show(1, "A") is False
    assert [f.command for f in served.sim.frames[-2:]] == ["show", "probe"]


def test_acknowledging_displays_need_no_probe(serve) -> None:
    served = serve("ledsim", ack=0x06)
    configs = [
        {
            "protocol": "rs485_frame",
            "url": served.url,
            "address": 1,
            "ack": True,
            "timeout": served.timeout,
        }
    ]
    leds = LedController(create_displays(configs))
    with leds:
        assert leds.show(1, "A") is True
        assert [f.command for f in served.sim.frames] == ["show"]
        served.sim.set_fault("no_answer")
        assert leds.show(1, "B") is False


def test_text_the_display_cannot_take_is_raised_and_not_remembered(serve, controllers) -> None:
    served = serve("ledsim")
    leds = controllers(served)
    leds.open()
    leds.show(1, "请A001号")
    with pytest.raises(ValueError, match="GBK"):
        leds.show(1, "请王䶮")
    status = leds.status(1)
    assert status.desired.text == "请A001号" and status.in_sync
    assert served.sim.shown(1).text == "请A001号"


def test_clear_is_remembered_like_any_text(serve, controllers) -> None:
    served = serve("ledsim")
    leds = controllers(served)
    leds.open()
    leds.show(1, "A", save=True)
    assert leds.clear(1) is True
    assert served.sim.shown(1) is None
    served.sim.power_cycle(1)  # the saved text is back on the board …
    assert served.sim.shown(1).text == "A"
    served.sim.set_fault("no_answer")
    leds.refresh()
    served.sim.set_fault("no_answer", False)
    leds.refresh()  # … and recovery blanks it again, as desired
    assert served.sim.shown(1) is None


def test_keys_are_station_names_or_addresses(serve) -> None:
    served = serve("ledsim", addresses=(1, 2))
    one, two = create_displays(
        [{"protocol": "rs485_frame", "url": served.url, "address": a} for a in (1, 2)]
    )
    with LedController({"window-1": one, "lane-2": two}) as leds:
        assert leds.keys == ["window-1", "lane-2"]
        assert leds.show("lane-2", "上线检测")
        assert served.sim.shown(2).text == "上线检测"
        with pytest.raises(KeyError, match="window-9"):
            leds.show("window-9", "A")
    with pytest.raises(ValueError, match="two displays with key 1"):
        LedController([one, one])


def test_port_that_cannot_be_opened_yet_is_retried_by_refresh(serve) -> None:
    served = serve("ledsim")
    attempts: list[str] = []

    def opener(url: str, **kwargs: Any) -> serial.SerialBase:
        attempts.append(url)
        if len(attempts) == 1:
            raise serial.SerialException("converter not reachable")
        return serial.serial_for_url(url, **kwargs)

    configs = [
        {"protocol": "rs485_frame", "url": served.url, "address": 1, "timeout": served.timeout}
    ]
    leds = LedController(create_displays(configs, buses=BusPool(opener=opener)))
    try:
        (status,) = leds.open()
        assert status.online is False
        assert isinstance(status.last_error, DeviceNotFound)
        leds.show(1, "A")  # remembered, and this attempt opens the port
        assert served.sim.shown(1).text == "A"
        assert leds.status(1).online is True
    finally:
        leds.close()
    assert len(attempts) == 2


class GatedDisplay(Display):
    """An in-memory display whose show() of one chosen text waits at a gate."""

    address = 1
    name = "gated"
    confirms_writes = True

    def __init__(self) -> None:
        self.shown: str | None = None
        self.dead = False
        self.hold_text: str | None = None
        self.held = threading.Event()
        self.gate = threading.Event()

    def open(self) -> None:
        """Nothing to open: a fake display."""

    def close(self) -> None:
        """Nothing to close."""

    def show(self, text: str, **options: Any) -> None:
        if self.dead:
            raise DeviceTimeout("silent", device=self.name)
        if text == self.hold_text:
            self.held.set()
            assert self.gate.wait(WAIT)
        self.shown = text

    def power(self, on: bool) -> None:
        """Power is not part of these tests."""

    def check(self) -> None:
        if self.dead:
            raise DeviceTimeout("silent", device=self.name)


def test_refresh_resending_old_text_cannot_overtake_a_newer_show() -> None:
    display = GatedDisplay()
    leds = LedController([display])
    leds.open()
    assert leds.show(1, "old")
    display.dead = True
    leds.refresh()
    display.dead = False
    display.hold_text = "old"
    refresher = threading.Thread(target=leds.refresh)
    writer = threading.Thread(target=leds.show, args=(1, "new"))
    refresher.start()
    try:
        assert display.held.wait(WAIT)  # refresh is now re-sending "old"
        writer.start()
        # The writer must wait for the display's lock. (Were it not locked out, it would finish
        # in microseconds; a slow machine could only hide that bug, never fail a correct build.)
        writer.join(0.2)
        assert writer.is_alive()
        # Status reads never wait for a display's I/O (a status page must not hang on it).
        seen: list[DisplayStatus] = []
        reader = threading.Thread(target=lambda: seen.append(leds.status(1)))
        reader.start()
        reader.join(WAIT / 2)  # the gate would hold a blocked reader for the full WAIT
        assert seen and seen[0].desired.text == "old" and not seen[0].in_sync
    finally:
        display.gate.set()
        refresher.join(WAIT)
        if writer.ident is not None:
            writer.join(WAIT)
    assert display.shown == "new" == leds.status(1).desired.text
    assert leds.status(1).in_sync


def test_show_to_a_display_out_of_sync_sends_the_whole_desired_state(serve, controllers) -> None:
    served = serve("ledsim")
    leds = controllers(served)
    leds.open()
    leds.power(1, False)
    served.sim.set_fault("power_off")
    assert leds.show(1, "A") is False
    served.sim.set_fault("power_off", False)  # boots with the screen on
    assert leds.show(1, "B") is True  # no refresh in between
    state = served.sim.state(1)
    assert state.screen_on is False
    assert state.ram.text == "B"
    assert [f.command for f in served.sim.frames[-3:]] == ["off", "show", "probe"]
