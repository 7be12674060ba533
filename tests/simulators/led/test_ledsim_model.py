"""What the simulated displays keep and answer, and their fault switches (raw bytes in)."""

from __future__ import annotations

import threading

import pytest

from simulators.led import GARBAGE, LedBusSimulator

PROBE = {a: bytes((0xAA, a, 0xBB, 0x55, 0x55, 0xFF)) for a in (1, 2)}
ON_2 = bytes.fromhex("AA 02 BB 4F 41 0E FF")
OFF_2 = bytes.fromhex("AA 02 BB 4F 46 09 FF")
SHOW_A_1 = bytes.fromhex("AA 01 BB 51 54 0B 03 05 00 01 41 48 FF")  # "A", RAM
SAVE_HAO_2 = bytes.fromhex("AA 02 BB 51 44 01 00 0A 01 01 BA C5 61 FF")  # "号", saved
CLEAR_1 = bytes.fromhex("AA 01 BB 51 54 0B 03 05 00 00 08 FF")


@pytest.fixture
def sim() -> LedBusSimulator:
    return LedBusSimulator([1, 2])


def test_probe_is_answered_1b_by_the_addressed_display_only(sim: LedBusSimulator) -> None:
    link = sim.connect()
    assert link.feed(PROBE[1]) == b"\x1b"
    assert link.feed(bytes.fromhex("AA 03 BB 55 55 FF")) == b""
    assert [(f.address, f.accepted, f.reason) for f in sim.frames] == [
        (1, True, None),
        (3, False, "other_address"),
    ]


def test_show_keeps_text_mode_colour_and_save_flag(sim: LedBusSimulator) -> None:
    link = sim.connect()
    link.feed(SHOW_A_1 + SAVE_HAO_2)
    one, two = sim.shown(1), sim.shown(2)
    assert (one.text, one.mode_name, one.colour_name, one.speed, one.dwell, one.saved) == (
        "A",
        "立即显示",
        "红",
        3,
        5,
        False,
    )
    assert (two.text, two.mode_name, two.colour_name, two.speed, two.dwell, two.saved) == (
        "号",
        "左移",
        "绿",
        0,
        10,
        True,
    )
    assert sim.state(1).saved is None
    assert sim.state(2).saved == two
    assert "号" in sim.frames[-1].describe()


def test_screen_off_and_on(sim: LedBusSimulator) -> None:
    link = sim.connect()
    link.feed(SAVE_HAO_2 + OFF_2)
    assert sim.shown(2) is None and sim.state(2).ram is not None
    link.feed(ON_2)
    assert sim.shown(2).text == "号"


def test_clear_blanks_the_display(sim: LedBusSimulator) -> None:
    link = sim.connect()
    link.feed(SHOW_A_1 + CLEAR_1)
    assert sim.shown(1) is None


def test_ack_is_sent_for_accepted_commands_when_configured() -> None:
    sim = LedBusSimulator([1, 2], ack=0x06)
    link = sim.connect()
    assert link.feed(SHOW_A_1) == b"\x06"
    assert link.feed(OFF_2) == b"\x06"
    assert link.feed(PROBE[1]) == b"\x1b"  # the probe answer is fixed


@pytest.mark.parametrize(
    ("frame", "why"),
    [
        # mode 0C does not exist: 51^54^0C^03^05^00^01^41 = 4F
        (bytes.fromhex("AA 01 BB 51 54 0C 03 05 00 01 41 4F FF"), "bad_field"),
        # valid 00 although text follows: XOR 49
        (bytes.fromhex("AA 01 BB 51 54 0B 03 05 00 00 41 49 FF"), "bad_field"),
        # 80 is no GBK character on its own: 09 ^ 80 = 89
        (bytes.fromhex("AA 01 BB 51 54 0B 03 05 00 01 80 89 FF"), "bad_text"),
        # power command 4F 42 does not exist: 4F ^ 42 = 0D
        (bytes.fromhex("AA 01 BB 4F 42 0D FF"), "unknown_command"),
    ],
)
def test_malformed_commands_are_rejected_silently(
    sim: LedBusSimulator, frame: bytes, why: str
) -> None:
    assert sim.connect().feed(frame) == b""
    assert (sim.frames[-1].accepted, sim.frames[-1].reason) == (False, why)
    assert sim.shown(1) is None


def test_no_answer_ignores_frames_per_display(sim: LedBusSimulator) -> None:
    link = sim.connect()
    sim.set_fault("no_answer", address=1)
    assert link.feed(PROBE[1] + SHOW_A_1) == b""
    assert sim.shown(1) is None
    assert link.feed(PROBE[2]) == b"\x1b"
    assert sim.faults(1) == {"no_answer"} and sim.faults() == frozenset()


def test_bus_wide_fault_applies_to_every_display(sim: LedBusSimulator) -> None:
    link = sim.connect()
    sim.set_fault("no_answer")
    assert link.feed(PROBE[1] + PROBE[2]) == b""
    sim.clear_faults()
    assert link.feed(PROBE[1] + PROBE[2]) == b"\x1b\x1b"


def test_garbage_replaces_answers_but_the_display_still_works(sim: LedBusSimulator) -> None:
    link = sim.connect()
    sim.set_fault("garbage", address=1)
    assert link.feed(PROBE[1]) == GARBAGE
    assert link.feed(SHOW_A_1) == GARBAGE
    assert sim.shown(1).text == "A"
    assert b"\x1b" not in GARBAGE and b"\x06" not in GARBAGE


def test_noise_corrupts_frames_which_are_then_dropped(sim: LedBusSimulator) -> None:
    link = sim.connect()
    sim.set_fault("noise", address=1)
    assert link.feed(PROBE[1] + SHOW_A_1 + PROBE[2]) == b"\x1b"  # only display 2 answers
    assert sim.bad_xor_count == 2
    assert sim.shown(1) is None


def test_power_off_forgets_ram_and_power_on_restores_saved_text(sim: LedBusSimulator) -> None:
    link = sim.connect()
    link.feed(SAVE_HAO_2 + OFF_2)
    link.feed(SHOW_A_1)
    sim.set_fault("power_off")
    assert sim.state(1).ram is None and sim.state(2).ram is None
    assert not sim.state(1).powered
    assert link.feed(PROBE[1] + SHOW_A_1) == b""
    assert sim.frames[-1].reason == "power_off"
    sim.set_fault("power_off", False)
    assert sim.shown(1) is None  # RAM text gone for good
    assert sim.shown(2).text == "号"  # flash text back, screen on again after boot
    assert sim.state(2).screen_on


def test_power_stays_off_while_any_power_fault_remains(sim: LedBusSimulator) -> None:
    sim.set_fault("power_off")
    sim.set_fault("power_off", address=1)
    sim.set_fault("power_off", False)
    assert not sim.state(1).powered and sim.state(2).powered


def test_power_cycle_loses_ram_keeps_flash(sim: LedBusSimulator) -> None:
    link = sim.connect()
    link.feed(SHOW_A_1 + SAVE_HAO_2)
    sim.power_cycle()
    assert sim.shown(1) is None and sim.shown(2).text == "号"


def test_unknown_fault_and_address_are_refused(sim: LedBusSimulator) -> None:
    with pytest.raises(ValueError, match="unknown fault"):
        sim.set_fault("smoke")
    with pytest.raises(KeyError):
        sim.shown(9)
    with pytest.raises(ValueError):
        LedBusSimulator([])
    with pytest.raises(ValueError):
        LedBusSimulator([1], valid="count")


def test_wait_for_wakes_when_another_thread_shows_the_text(sim: LedBusSimulator) -> None:
    link = sim.connect()
    assert sim.wait_for(1, "A", timeout=0.01) is None
    feeder = threading.Thread(target=link.feed, args=(SHOW_A_1,))
    feeder.start()
    try:
        assert sim.wait_for(1, "A", timeout=10).text == "A"
        assert sim.wait_for_frames(1, timeout=10)
    finally:
        feeder.join(timeout=10)


def test_listeners_see_every_frame(sim: LedBusSimulator) -> None:
    seen = []
    sim.add_listener(seen.append)
    sim.connect().feed(PROBE[1] + SHOW_A_1)
    sim.remove_listener(seen.append)
    sim.connect().feed(PROBE[2])
    assert [record.command for record in seen] == ["probe", "show"]
    assert seen[0].answer == b"\x1b"
    assert seen[0].describe() == "#1 probe → 1B  [AA 01 BB 55 55 FF]"


def test_each_link_has_its_own_partial_frame(sim: LedBusSimulator) -> None:
    first, second = sim.connect(), sim.connect()
    assert first.feed(PROBE[1][:3]) == b""
    assert second.feed(PROBE[2]) == b"\x1b"  # not confused by the first link's half frame
    assert first.feed(PROBE[1][3:]) == b"\x1b"
