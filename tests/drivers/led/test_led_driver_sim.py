"""The real driver against the byte-level simulator, over ledsim://, a pty and TCP."""

from __future__ import annotations

import pytest

from drivers.errors import DeviceNotFound, DeviceTimeout, ProtocolError
from drivers.led import BusPool, Colour, Effect

TRANSPORTS = ["ledsim", "pty", "tcp"]


@pytest.fixture(params=TRANSPORTS)
def transport(request: pytest.FixtureRequest) -> str:
    return request.param


def test_show_probe_and_power(serve, displays, transport: str) -> None:
    served = serve(transport)
    display = displays(served)
    assert display.probe() is True
    display.show(
        "请粤B12345到3号窗口", effect=Effect.SCROLL_LEFT, colour=Colour.YELLOW, speed=5, dwell=20
    )
    shown = served.sim.wait_for(1, "请粤B12345到3号窗口", served.timeout)
    assert shown is not None
    assert (shown.mode, shown.colour, shown.speed, shown.dwell, shown.saved) == (1, 2, 5, 20, False)

    display.power(False)
    display.probe()  # round trip: the power frame before it has been handled
    assert served.sim.shown(1) is None
    assert served.sim.state(1).ram == shown  # screen off keeps the text
    display.power(True)
    assert served.sim.wait_for(1, "请粤B12345到3号窗口", served.timeout)

    display.clear()
    display.probe()
    assert served.sim.shown(1) is None


def test_several_addresses_share_one_bus(serve, displays, transport: str) -> None:
    served = serve(transport, addresses=(1, 2, 3))
    pool = BusPool()
    window = {address: displays(served, address, pool=pool) for address in (1, 2, 3)}
    assert len(pool.buses) == 1
    assert pool.buses[0].users == 3
    for address, display in window.items():
        display.show(f"{address}号窗口 请A00{address}")
    for address in (1, 2, 3):
        assert served.sim.wait_for(address, f"{address}号窗口 请A00{address}", served.timeout)
    assert all(display.probe() for display in window.values())


def test_an_address_nobody_has_stays_silent(serve, displays) -> None:
    served = serve("ledsim", addresses=(1, 2))
    pool = BusPool()
    assert displays(served, 1, pool=pool).probe()
    stranger = displays(served, 9, pool=pool)
    with pytest.raises(DeviceTimeout):
        stranger.check()
    assert served.sim.frames[-1].reason == "other_address"


def test_tricky_bytes_survive_the_whole_path(serve, displays) -> None:
    served = serve("pty", addresses=(0xAA, 0xFF))
    pool = BusPool()
    for address in (0xAA, 0xFF):
        display = displays(served, address, pool=pool)
        # 亀 makes the XOR FF, 纁 makes it AA, 元 carries AA as a trail byte.
        for text in ("亀", "纁", "元旦", "亀元纁"):
            display.show(text)
            assert served.sim.wait_for(address, text, served.timeout)
    assert served.sim.bad_xor_count == 0


def test_saved_text_survives_a_power_cycle_ram_text_does_not(serve, displays) -> None:
    served = serve("ledsim")
    display = displays(served)
    display.show("暂停服务", save=True)
    display.show("请A001号")
    served.sim.power_cycle(1)
    shown = served.sim.shown(1)
    assert shown is not None and shown.text == "暂停服务" and shown.saved


def test_ack_confirms_show_and_power(serve, displays, transport: str) -> None:
    served = serve(transport, ack=0x06)
    display = displays(served, ack=True)
    assert display.confirms_writes
    display.show("检测完毕", save=True)  # returns only after the ACK came back
    assert served.sim.shown(1) is not None
    display.power(False)
    assert served.sim.state(1).screen_on is False


def test_length_variant_end_to_end(serve, displays) -> None:
    served = serve("ledsim", valid="length", ack=0x06)
    display = displays(served, valid="length", ack=True)
    display.show("亀" * 100)
    assert served.sim.shown(1).text == "亀" * 100


def test_driver_expecting_an_ack_from_a_silent_board_times_out(serve, displays) -> None:
    served = serve("ledsim")  # the board answers nothing to show
    display = displays(served, ack=True)
    with pytest.raises(DeviceTimeout):
        display.show("请A001号")
    assert served.sim.shown(1).text == "请A001号"  # it did show it, though


def test_wrong_ack_byte_is_a_protocol_error(serve, displays) -> None:
    served = serve("ledsim", ack=0x15)
    display = displays(served, ack=True)
    with pytest.raises(ProtocolError, match="expected answer 06, got 15"):
        display.show("A")


# -- fault switches ---------------------------------------------------------------------------


def test_no_answer(serve, displays, transport: str) -> None:
    served = serve(transport)
    display = displays(served)
    served.sim.set_fault("no_answer")
    with pytest.raises(DeviceTimeout) as info:
        display.check()
    assert info.value.code == "timeout"
    assert display.name in str(info.value)
    if transport == "ledsim":  # each silent answer costs a full timeout elsewhere
        assert display.probe() is False
    served.sim.set_fault("no_answer", False)
    assert display.probe() is True


def test_no_answer_ignores_show(serve, displays) -> None:
    served = serve("ledsim", ack=0x06)
    display = displays(served, ack=True)
    served.sim.set_fault("no_answer", address=1)
    with pytest.raises(DeviceTimeout):
        display.show("A")
    assert served.sim.shown(1) is None
    assert served.sim.frames[-1].reason == "no_answer"


def test_garbage(serve, displays, transport: str) -> None:
    served = serve(transport)
    display = displays(served)
    served.sim.set_fault("garbage")
    with pytest.raises(ProtocolError, match="expected answer 1B, got 3F") as info:
        display.check()
    assert info.value.code == "protocol"
    served.sim.set_fault("garbage", False)
    assert display.probe() is True


def test_junk_left_on_the_line_does_not_spoil_the_next_answer(serve, displays) -> None:
    served = serve("ledsim")
    display = displays(served)
    served.sim.set_fault("garbage")
    display.show("A")  # no ACK expected, so the junk answer stays unread in the port
    assert display.bus.is_open
    served.sim.set_fault("garbage", False)
    assert display.probe() is True


def test_garbage_instead_of_ack(serve, displays) -> None:
    served = serve("ledsim", ack=0x06)
    display = displays(served, ack=True)
    served.sim.set_fault("garbage", address=1)
    with pytest.raises(ProtocolError):
        display.power(False)


def test_noise_frames_are_dropped_and_counted(serve, displays, transport: str) -> None:
    served = serve(transport)
    display = displays(served)
    display.show("旧")
    assert served.sim.wait_for(1, "旧", served.timeout)
    served.sim.set_fault("noise")
    display.show("新")
    assert served.sim.wait_for_frames(2, served.timeout)
    assert served.sim.bad_xor_count == 1
    assert served.sim.frames[-1].reason == "bad_xor"
    assert served.sim.shown(1).text == "旧"
    if transport == "ledsim":  # each silent answer costs a full timeout elsewhere
        with pytest.raises(DeviceTimeout):  # the probe is corrupted too
            display.check()
        assert served.sim.bad_xor_count == 2
    served.sim.set_fault("noise", False)
    display.show("新")
    assert served.sim.wait_for(1, "新", served.timeout)


def test_power_off_forgets_ram_text(serve, displays) -> None:
    served = serve("ledsim", addresses=(1, 2))
    pool = BusPool()
    one, two = displays(served, 1, pool=pool), displays(served, 2, pool=pool)
    one.show("请A001号", save=False)
    two.show("请A002号")
    served.sim.set_fault("power_off", address=1)
    assert served.sim.state(1).ram is None
    with pytest.raises(DeviceTimeout):
        one.check()
    assert two.probe() is True  # the neighbour on the bus is unaffected
    served.sim.set_fault("power_off", False, address=1)
    assert served.sim.shown(1) is None  # nothing saved, so it comes back blank
    assert one.probe() is True


def test_dropped_tcp_link_is_reported_then_reopened(serve, displays) -> None:
    served = serve("tcp")
    display = displays(served)
    link = display.bus
    assert display.probe()
    tcp = served.link
    tcp.drop_clients()
    with pytest.raises(DeviceNotFound) as info:
        display.check()
    assert info.value.code == "not_found"
    assert not link.is_open
    assert display.probe() is True  # the next exchange opened a new connection
    assert tcp.connections == 2


def test_exclusive_pty_cannot_be_opened_twice(serve, displays) -> None:
    served = serve("pty")
    displays(served)  # device paths are opened exclusive by default
    with pytest.raises(DeviceNotFound, match="cannot open"):
        displays(served)  # a second BusPool, so a second port on the same path


def test_unopenable_port_is_device_not_found(serve, displays) -> None:
    served = serve("ledsim")
    served.url = "/dev/nonexistent-led-bus"
    with pytest.raises(DeviceNotFound, match="cannot open /dev/nonexistent-led-bus"):
        displays(served)
