"""Frame encoding of the RS-485 LED protocol, byte for byte, with the XOR worked out by hand."""

from __future__ import annotations

import pytest

from drivers.led import (
    Colour,
    Effect,
    Rs485FrameDisplay,
    Rs485FrameOptions,
    SerialSettings,
    UnencodableText,
)
from drivers.led.bus import Bus
from drivers.led.rs485_frame import (
    VENDOR_MODES,
    checksum,
    encode_power,
    encode_probe,
    encode_show,
    encode_text,
)


def display(**options: object) -> Rs485FrameDisplay:
    """A display that is never opened: only its encoder is used."""
    options.setdefault("address", 1)
    return Rs485FrameDisplay(Bus(SerialSettings("loop://")), Rs485FrameOptions(**options))  # type: ignore[arg-type]


def test_checksum_is_xor_of_all_bytes() -> None:
    assert checksum(b"") == 0
    assert checksum(b"\x51\x54") == 0x05
    assert checksum(b"\xff\x0f") == 0xF0
    assert checksum(b"\xaa\xaa") == 0


def test_show_ascii_in_ram() -> None:
    # data = 51 54 | mode 0B (instant) | speed 03 | dwell 05 | colour 00 (red) | valid 01 | 41 ("A")
    # XOR: 51^54=05, ^0B=0E, ^03=0D, ^05=08, ^00=08, ^01=09, ^41=48
    assert display().encode_show("A") == bytes.fromhex("AA 01 BB 51 54 0B 03 05 00 01 41 48 FF")


def test_show_and_save_gbk_text() -> None:
    # 号 = BA C5 in GBK. data = 51 44 | 01 (scroll left) | 00 | 0A | 01 (green) | 01 | BA C5
    # XOR: 51^44=15, ^01=14, ^00=14, ^0A=1E, ^01=1F, ^01=1E, ^BA=A4, ^C5=61
    frame = display(address=2).encode_show(
        "号", effect=Effect.SCROLL_LEFT, speed=0, dwell=10, colour=Colour.GREEN, save=True
    )
    assert frame == bytes.fromhex("AA 02 BB 51 44 01 00 0A 01 01 BA C5 61 FF")


def test_length_variant_puts_text_length_in_valid_byte() -> None:
    # as above but valid = 02 (two text bytes): ... ^01 (green) = 1F, ^02 = 1D, ^BA = A7, ^C5 = 62
    frame = display(address=2, valid="length").encode_show(
        "号", effect=Effect.SCROLL_LEFT, speed=0, dwell=10, colour=Colour.GREEN, save=True
    )
    assert frame == bytes.fromhex("AA 02 BB 51 44 01 00 0A 01 02 BA C5 62 FF")


def test_clear_is_an_empty_show_with_valid_zero() -> None:
    # data = 51 54 0B 03 05 00 00; XOR 05, 0E, 0D, 08, 08, 08
    assert display().encode_show("") == bytes.fromhex("AA 01 BB 51 54 0B 03 05 00 00 08 FF")


def test_power_and_probe_frames_carry_only_the_command() -> None:
    assert encode_power(1, True) == bytes.fromhex("AA 01 BB 4F 41 0E FF")  # 4F^41 = 0E
    assert encode_power(1, False) == bytes.fromhex("AA 01 BB 4F 46 09 FF")  # 4F^46 = 09
    assert encode_probe(3) == bytes.fromhex("AA 03 BB 55 55 FF")  # XOR of the lone 55


def test_aa_inside_text_is_plain_data() -> None:
    # 元 = D4 AA: the trail byte is the start byte. No escaping: 09 ^ D4 = DD, ^ AA = 77.
    assert display().encode_show("元") == bytes.fromhex("AA 01 BB 51 54 0B 03 05 00 01 D4 AA 77 FF")


def test_xor_byte_may_be_ff_or_aa() -> None:
    # Up to the valid byte the XOR is 09 (see test_show_ascii_in_ram).
    # 亀 = 81 77: 09 ^ 81 ^ 77 = FF, so the frame ends FF FF.
    assert display().encode_show("亀") == bytes.fromhex("AA 01 BB 51 54 0B 03 05 00 01 81 77 FF FF")
    # 纁 = C0 63: 09 ^ C0 ^ 63 = AA.
    assert display().encode_show("纁") == bytes.fromhex("AA 01 BB 51 54 0B 03 05 00 01 C0 63 AA FF")


def test_address_may_be_any_byte_even_the_delimiters() -> None:
    assert encode_probe(0xAA) == bytes.fromhex("AA AA BB 55 55 FF")
    assert encode_probe(0xFF) == bytes.fromhex("AA FF BB 55 55 FF")
    with pytest.raises(ValueError):
        encode_probe(256)


def test_every_effect_maps_to_the_vendor_mode_table() -> None:
    assert [VENDOR_MODES[effect] for effect in Effect] == [11, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
    for effect, mode in VENDOR_MODES.items():
        assert display().encode_show("A", effect=effect)[5] == mode
    for colour, code in ((Colour.RED, 0), (Colour.GREEN, 1), (Colour.YELLOW, 2)):
        assert display().encode_show("A", colour=colour)[8] == code


def test_configured_mode_table_replaces_the_vendor_numbering() -> None:
    frame = display(modes={Effect.INSTANT: 0x20}).encode_show("A")
    assert frame[5] == 0x20
    with pytest.raises(ValueError, match="no mode for effect 'flash'"):
        display(modes={Effect.INSTANT: 0x20}).encode_show("A", effect=Effect.FLASH)


def test_defaults_for_speed_and_dwell_come_from_configuration() -> None:
    frame = display(speed=7, dwell=99).encode_show("A")
    assert (frame[6], frame[7]) == (7, 99)
    assert display().encode_show("A", speed=0, dwell=0)[6:8] == b"\x00\x00"


@pytest.mark.parametrize(("speed", "dwell"), [(8, 5), (-1, 5), (3, 100), (3, -1)])
def test_out_of_range_speed_or_dwell_is_refused(speed: int, dwell: int) -> None:
    with pytest.raises(ValueError):
        display().encode_show("A", speed=speed, dwell=dwell)


def test_gbk_never_produces_ff_so_text_cannot_end_a_frame_early() -> None:
    # The framing relies on this: check every character the codec can encode.
    for code_point in range(0x10000):
        if 0xD800 <= code_point < 0xE000:
            continue
        try:
            encoded = chr(code_point).encode("gbk")
        except UnicodeEncodeError:
            continue
        assert 0xFF not in encoded, hex(code_point)


def test_unencodable_text_is_refused_with_the_culprit() -> None:
    with pytest.raises(UnencodableText) as info:
        display().encode_show("请王䶮到3号窗口")  # 䶮 (U+4DAE) is in GB18030 only
    assert info.value.character == "䶮"
    assert info.value.position == 2
    assert "U+4DAE" in str(info.value)
    assert isinstance(info.value, ValueError)


def test_gb2312_boards_refuse_gbk_only_characters() -> None:
    assert display().encode_show("亀")  # GBK has it
    with pytest.raises(UnencodableText):
        display(encoding="gb2312").encode_show("亀")


def test_replace_policy_shows_a_placeholder() -> None:
    assert encode_text("王䶮", "gbk", on_unencodable="replace", replacement="?") == b"\xcd\xf5?"
    frame = display(on_unencodable="replace", replacement="*").encode_show("䶮")
    assert frame[10:-2] == b"*"


def test_control_characters_are_refused() -> None:
    with pytest.raises(ValueError, match="U\\+000A"):
        display().encode_show("第一行\n第二行")


def test_text_longer_than_the_board_buffer_is_refused() -> None:
    assert display(max_text_bytes=4).encode_show("号号")
    with pytest.raises(ValueError, match="5 bytes"):
        display(max_text_bytes=4).encode_show("号号A")


def test_only_line_zero_exists_in_this_protocol() -> None:
    with pytest.raises(ValueError, match="no line addressing"):
        display().encode_show("A", line=1)


def test_encode_show_refuses_text_bytes_containing_the_terminator() -> None:
    with pytest.raises(ValueError):
        encode_show(1, b"\xff", mode=11, speed=3, dwell=5, colour=0)
    with pytest.raises(ValueError):
        encode_show(1, b"A" * 256, mode=11, speed=3, dwell=5, colour=0, valid="length")


@pytest.mark.parametrize(
    "options",
    [
        {"address": 256},
        {"address": 1, "valid": "count"},
        {"address": 1, "encoding": "gb18030"},
        {"address": 1, "on_unencodable": "skip"},
        {"address": 1, "replacement": "䶮"},
        {"address": 1, "valid": "length", "max_text_bytes": 256},
        {"address": 1, "speed": 8},
        {"address": 1, "ack_byte": 0x100},
        {"address": 1, "modes": {Effect.INSTANT: 300}},
    ],
)
def test_invalid_options_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Rs485FrameOptions(**options)  # type: ignore[arg-type]
