"""Building displays from configuration, and the shared bus they talk through."""

from __future__ import annotations

from typing import Any

import pytest
import serial

from drivers.led import (
    Bus,
    BusPool,
    Colour,
    Effect,
    Rs485FrameDisplay,
    SerialSettings,
    create_display,
    create_displays,
)


class RecordingOpener:
    """Opens ``loop://`` whatever the URL, remembering the arguments pyserial would get."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, url: str, **kwargs: Any) -> serial.SerialBase:
        self.calls.append((url, kwargs))
        return serial.serial_for_url("loop://", timeout=kwargs["timeout"])


def test_display_from_a_plain_dict() -> None:
    display = create_display(
        {
            "protocol": "rs485_frame",
            "url": "/dev/ttyUSB0",
            "address": 7,
            "baudrate": 19200,
            "timeout": 0.5,
            "ack": True,
            "ack_byte": "0x06",
            "valid": "length",
            "speed": 1,
            "modes": {"flash": 12},
            "colours": {"yellow": 3},
            "name": "3号窗口",
        }
    )
    assert isinstance(display, Rs485FrameDisplay)
    assert display.address == 7
    assert display.name == "3号窗口"
    assert display.confirms_writes
    assert display.bus.settings == SerialSettings("/dev/ttyUSB0", baudrate=19200, timeout=0.5)
    assert display.options.ack_byte == 0x06
    assert display.options.modes[Effect.FLASH] == 12
    assert display.options.modes[Effect.INSTANT] == 11  # untouched entries keep vendor numbering
    assert display.options.colours[Colour.YELLOW] == 3
    frame = display.encode_show("A", effect=Effect.FLASH, colour=Colour.YELLOW)
    assert (frame[5], frame[6], frame[8], frame[9]) == (12, 1, 3, 1)


def test_defaults_are_9600_8n1_and_no_ack() -> None:
    display = create_display(
        {"protocol": "rs485_frame", "url": "socket://10.0.0.5:4001", "address": 1}
    )
    assert isinstance(display, Rs485FrameDisplay)
    kwargs = display.bus.settings.open_kwargs()
    assert (kwargs["baudrate"], kwargs["bytesize"], kwargs["parity"], kwargs["stopbits"]) == (
        9600,
        8,
        "N",
        1,
    )
    assert display.name == "socket://10.0.0.5:4001#1"
    assert not display.confirms_writes


def test_device_paths_are_opened_exclusive_urls_are_not() -> None:
    assert SerialSettings("/dev/ttyUSB0").open_kwargs()["exclusive"] is True
    assert SerialSettings("socket://127.0.0.1:1").open_kwargs()["exclusive"] is False
    assert SerialSettings("/dev/ttyUSB0", exclusive=False).open_kwargs()["exclusive"] is False


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"protocol": "nova", "url": "loop://", "address": 1}, "protocol must be one of"),
        ({"url": "loop://", "address": 1}, "protocol must be one of"),
        (
            {"protocol": "rs485_frame", "url": "loop://", "address": 1, "baud": 9600},
            "unknown LED display setting",
        ),
        ({"protocol": "rs485_frame", "url": "loop://"}, "needs at least"),
        (
            {"protocol": "rs485_frame", "url": "loop://", "address": 1, "modes": {"zoom": 3}},
            "unknown name 'zoom'",
        ),
        (
            {"protocol": "rs485_frame", "url": "loop://", "address": 1, "ack_byte": "0x1FF"},
            "must be a byte",
        ),
        ({"protocol": "rs485_frame", "url": "loop://", "address": 1, "parity": "X"}, "parity"),
        ({"protocol": "rs485_frame", "url": "loop://", "address": 1, "timeout": 0}, "positive"),
    ],
)
def test_bad_configuration_is_refused(config: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        create_display(config)


def test_displays_on_one_url_share_a_bus() -> None:
    displays = create_displays(
        [
            {"protocol": "rs485_frame", "url": "/dev/ttyUSB0", "address": 1},
            {"protocol": "rs485_frame", "url": "/dev/ttyUSB0", "address": 2},
            {"protocol": "rs485_frame", "url": "/dev/ttyUSB1", "address": 1},
        ]
    )
    buses = [d.bus for d in displays if isinstance(d, Rs485FrameDisplay)]
    assert buses[0] is buses[1]
    assert buses[2] is not buses[0]


def test_one_bus_with_two_line_settings_is_refused() -> None:
    with pytest.raises(ValueError, match="disagree on the line settings"):
        create_displays(
            [
                {"protocol": "rs485_frame", "url": "/dev/ttyUSB0", "address": 1},
                {"protocol": "rs485_frame", "url": "/dev/ttyUSB0", "address": 2, "baudrate": 4800},
            ]
        )


def test_two_displays_at_one_address_on_one_bus_are_refused() -> None:
    with pytest.raises(ValueError, match="two displays at address 1"):
        create_displays([{"protocol": "rs485_frame", "url": "/dev/ttyUSB0", "address": 1}] * 2)


def test_bus_is_opened_once_and_closed_by_its_last_user() -> None:
    opener = RecordingOpener()
    pool = BusPool(opener=opener)
    one, two = create_displays(
        [
            {"protocol": "rs485_frame", "url": "/dev/ttyS9", "address": 1},
            {"protocol": "rs485_frame", "url": "/dev/ttyS9", "address": 2},
        ],
        buses=pool,
    )
    (bus,) = pool.buses
    one.open()
    two.open()
    one.open()  # a display counts once however often it is opened
    assert bus.users == 2
    assert len(opener.calls) == 1
    url, kwargs = opener.calls[0]
    assert url == "/dev/ttyS9"
    assert kwargs["exclusive"] is True and kwargs["baudrate"] == 9600
    one.close()
    assert bus.is_open
    two.close()
    two.close()
    assert not bus.is_open and bus.users == 0


def test_exchange_on_a_closed_bus_is_a_programming_error() -> None:
    bus = Bus(SerialSettings("loop://"))
    with pytest.raises(RuntimeError, match="not open"):
        bus.exchange(b"\x00", answer=0, device="x")


def test_exchange_returns_the_answer_and_any_junk_after_it() -> None:
    # loop:// echoes the frame: the "answer" is its first byte and the rest counts as junk.
    bus = Bus(SerialSettings("loop://", timeout=0.1))
    bus.open()
    try:
        assert bus.exchange(b"\x1b\x01\x02", answer=1, device="x") == b"\x1b\x01\x02"
        assert bus.exchange(b"\x06", answer=0, device="x") == b""
    finally:
        bus.close()
