"""The simulator's frame parser, fed hand-written bytes (not the driver's encoder)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.led.rs485_frame import encode_show, encode_text
from simulators.led import FrameParser, LedBusSimulator

# Worked out by hand (see tests/drivers/led/test_led_frames.py for the XOR arithmetic).
SHOW_A = bytes.fromhex("AA 01 BB 51 54 0B 03 05 00 01 41 48 FF")
SHOW_YUAN = bytes.fromhex("AA 01 BB 51 54 0B 03 05 00 01 D4 AA 77 FF")  # 元: AA inside text
SHOW_XOR_FF = bytes.fromhex("AA 01 BB 51 54 0B 03 05 00 01 81 77 FF FF")  # 亀: XOR is FF
SHOW_XOR_AA = bytes.fromhex("AA 01 BB 51 54 0B 03 05 00 01 C0 63 AA FF")  # 纁: XOR is AA
SAVE_HAO = bytes.fromhex("AA 02 BB 51 44 01 00 0A 01 01 BA C5 61 FF")
SAVE_HAO_LENGTH = bytes.fromhex("AA 02 BB 51 44 01 00 0A 01 02 BA C5 62 FF")
PROBE_1 = bytes.fromhex("AA 01 BB 55 55 FF")
ON_1 = bytes.fromhex("AA 01 BB 4F 41 0E FF")
OFF_1 = bytes.fromhex("AA 01 BB 4F 46 09 FF")
CLEAR_1 = bytes.fromhex("AA 01 BB 51 54 0B 03 05 00 00 08 FF")


def parse(
    data: bytes, *, valid: str = "flag", chunk: int | None = None
) -> list[tuple[bytes, str | None]]:
    parser = FrameParser(valid=valid, max_text_bytes=255)
    if chunk is None:
        return parser.feed(data)
    frames = []
    for i in range(0, len(data), chunk):
        frames += parser.feed(data[i : i + chunk])
    return frames


@pytest.mark.parametrize(
    "frame", [SHOW_A, SHOW_YUAN, SHOW_XOR_FF, SHOW_XOR_AA, SAVE_HAO, PROBE_1, ON_1, OFF_1, CLEAR_1]
)
@pytest.mark.parametrize("chunk", [None, 1, 3])
def test_each_frame_is_delimited_exactly_however_it_arrives(
    frame: bytes, chunk: int | None
) -> None:
    assert parse(frame + PROBE_1, chunk=chunk) == [(frame, None), (PROBE_1, None)]


def test_frames_back_to_back_with_line_noise_between() -> None:
    stream = b"\x00\x13" + SHOW_XOR_FF + b"\xfe" + SHOW_YUAN + b"\xbb\xff" + PROBE_1
    assert [raw for raw, _ in parse(stream)] == [SHOW_XOR_FF, SHOW_YUAN, PROBE_1]


def test_xor_ff_frame_waits_for_its_real_terminator() -> None:
    parser = FrameParser(valid="flag", max_text_bytes=255)
    assert parser.feed(SHOW_XOR_FF[:-1]) == []  # the FF seen so far may be the XOR byte
    assert parser.feed(SHOW_XOR_FF[-1:]) == [(SHOW_XOR_FF, None)]


def test_length_variant_uses_the_valid_byte() -> None:
    assert parse(SAVE_HAO_LENGTH + PROBE_1, valid="length", chunk=2) == [
        (SAVE_HAO_LENGTH, None),
        (PROBE_1, None),
    ]


def test_false_start_is_skipped_and_the_real_frame_found() -> None:
    # AA 01 followed by something other than BB is no frame start.
    assert parse(b"\xaa\x01\x02" + PROBE_1) == [(PROBE_1, None)]


def test_bad_terminator_is_reported_and_the_next_frame_still_found() -> None:
    broken = PROBE_1[:-1] + b"\x00"
    assert parse(broken + ON_1) == [(broken, "bad_terminator"), (ON_1, None)]


def test_unknown_command_is_reported() -> None:
    assert parse(b"\xaa\x01\xbb\x99" + PROBE_1) == [
        (b"\xaa\x01\xbb\x99", "unknown_command"),
        (PROBE_1, None),
    ]


def test_runaway_show_without_terminator_is_dropped() -> None:
    parser = FrameParser(valid="flag", max_text_bytes=4)
    runaway = SHOW_A[:10] + b"\x41" * 6  # longer than 4 text bytes + XOR + FF, no FF in sight
    frames = parser.feed(runaway + PROBE_1)
    assert frames == [(runaway, "no_terminator"), (PROBE_1, None)]


def test_bad_xor_is_counted_and_dropped() -> None:
    sim = LedBusSimulator()
    link = sim.connect()
    corrupted = SHOW_A[:-2] + b"\x49\xff"
    assert link.feed(corrupted + SHOW_YUAN) == b""
    assert sim.bad_xor_count == 1
    assert [(f.command, f.reason) for f in sim.frames] == [("show", "bad_xor"), ("show", None)]
    assert sim.shown(1).text == "元"


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(st.characters(codec="gbk", exclude_categories=("Cc", "Cs")), max_size=120),
    address=st.integers(0, 255),
    mode=st.integers(1, 11),
    speed=st.integers(0, 7),
    dwell=st.integers(0, 99),
    colour=st.integers(0, 2),
    save=st.booleans(),
    valid=st.sampled_from(["flag", "length"]),
)
def test_any_driver_frame_is_understood(
    text: str, address: int, mode: int, speed: int, dwell: int, colour: int, save: bool, valid: str
) -> None:
    frame = encode_show(
        address,
        encode_text(text),
        mode=mode,
        speed=speed,
        dwell=dwell,
        colour=colour,
        save=save,
        valid=valid,
    )
    sim = LedBusSimulator([address], valid=valid)
    link = sim.connect()
    for i in range(0, len(frame), 5):
        link.feed(frame[i : i + 5])
    (record,) = sim.frames
    assert record.accepted, record.describe()
    assert record.content is not None
    assert (record.content.text, record.content.mode, record.content.speed) == (text, mode, speed)
    assert (record.content.dwell, record.content.colour, record.content.saved) == (
        dwell,
        colour,
        save,
    )


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300), st.sampled_from(["flag", "length"]))
def test_arbitrary_bytes_never_break_the_simulator(junk: bytes, valid: str) -> None:
    sim = LedBusSimulator([1, 0xAA, 0xFF], valid=valid)
    link = sim.connect()
    link.feed(junk)
    # Whatever partial frame the junk left is ended by enough FF (longer than any frame);
    # the parser then hunts for AA again and clean frames are answered.
    link.feed(b"\xff" * 300)
    assert link.feed(PROBE_1 * 3) == b"\x1b" * 3
