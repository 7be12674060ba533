"""The simulated meter at the byte level: frames in, frames out, state and fault switches."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from simulators.smoke_meter import (
    Faults,
    MeterStatusCode,
    NakCode,
    SmokeMeterSimulator,
    SteppedClock,
)
from simulators.smoke_meter.meter import REQUEST_LENGTHS
from station.emissions import k_from_n, n_from_k


def frame(*body: int) -> bytes:
    return bytes(body) + bytes((-sum(body) & 0xFF,))


def new_sim(**options) -> SmokeMeterSimulator:
    options.setdefault("warmup_s", 0)
    options.setdefault("line_baud", 0)
    return SmokeMeterSimulator(clock=SteppedClock(), **options)


def ask(sim: SmokeMeterSimulator, *body: int) -> bytes:
    out = sim.respond(frame(*body))
    assert out is not None
    return out.data


def realtime(sim: SmokeMeterSimulator) -> tuple[float, float, int, int]:
    data = ask(sim, 0xA5)
    assert len(data) == 10 and sum(data) % 256 == 0
    cmd, n, k, rpm, oil = struct.unpack(">BHHHH", data[:-1])
    assert cmd == 0xA5
    return n / 10, k / 100, rpm, oil


@pytest.mark.parametrize(
    ("body", "length"),
    [((0xA0, 1), 2), ((0xA1,), 3), ((0xA2,), 2), ((0xA3,), 4), ((0xA4,), 2), ((0xA5,), 10), ((0xA6,), 8),
     ((0xA7,), 2), ((0xB1,), 12), ((0xB2, 1, 1), 2), ((0xB3,), 5), ((0xC1,), 2), ((0xC3,), 2)],
)
def test_every_answer_has_its_length_checksum_and_echo(body: tuple[int, ...], length: int) -> None:
    data = ask(new_sim(), *body)
    assert (len(data), data[0], sum(data) % 256) == (length, body[0], 0)


def test_realtime_values_are_consistent() -> None:
    sim = new_sim()
    n, k, rpm, oil = realtime(sim)
    assert k == pytest.approx(k_from_n(n), abs=0.01)
    assert n == pytest.approx(n_from_k(sim.profile.idle_k_m1) + 0.8, abs=0.1)
    assert 740 <= rpm <= 760
    assert oil == 85 + 273
    assert realtime(new_sim(profile="erratic"))[3] == 0xFFFF  # no oil probe


@pytest.mark.parametrize(
    ("request_bytes", "code"),
    [
        (bytes((0x99, 0x67)), NakCode.UNKNOWN_COMMAND),
        (bytes((0xA5, 0x00)), NakCode.BAD_CHECKSUM),
        (frame(0xAD), NakCode.UNKNOWN_COMMAND),  # NHT-1L only
        (frame(0xC2, 0x01, 0x2C), NakCode.NOT_NOW),  # filter value outside filter calibration
        (frame(0xA0, 9), NakCode.BAD_PARAMETER),
        (frame(0xB2, 1, 3), NakCode.BAD_PARAMETER),  # there is no three-stroke engine
    ],
)
def test_refusals(request_bytes: bytes, code: NakCode) -> None:
    out = new_sim().respond(request_bytes)
    assert out is not None and out.data == bytes((0x15, code))


def test_nht1l_knows_ad_but_not_a1_a0_b1() -> None:
    sim = new_sim(variant="nht1l")
    assert ask(sim, 0xAD) == frame(0xAD, MeterStatusCode.MEASURING)
    for body in ((0xA1,), (0xA0, 1), (0xB1,)):
        assert ask(sim, *body) == bytes((0x15, NakCode.UNKNOWN_COMMAND))


def test_warm_up_zero_and_calibration_states() -> None:
    sim = new_sim(warmup_s=100)
    clock: SteppedClock = sim.clock  # type: ignore[assignment]
    assert ask(sim, 0xA1)[1] == MeterStatusCode.WARMING_UP
    assert ask(sim, 0xA4) == bytes((0x15, NakCode.NOT_NOW))
    assert ask(sim, 0xC1) == bytes((0x15, NakCode.NOT_NOW))
    ask(sim, 0xA2)
    assert ask(sim, 0xA1)[1] == MeterStatusCode.MEASURING
    sim.remove_probe()
    assert realtime(sim)[0] == 0.8  # clean air, but the zero has drifted
    ask(sim, 0xA4)
    assert ask(sim, 0xA1)[1] == MeterStatusCode.CALIBRATING
    assert realtime(sim)[0] == 0.0
    clock.advance(1.0)
    assert ask(sim, 0xA1)[1] == MeterStatusCode.MEASURING
    sim.set_internal_fault(True)
    assert ask(sim, 0xA1)[1] == MeterStatusCode.INTERNAL_FAULT


def test_filter_calibration_scales_the_optics() -> None:
    sim = new_sim()
    sim.remove_probe()
    ask(sim, 0xA4)
    sim.insert_filter(50.0)
    assert realtime(sim)[0] == 50.0
    ask(sim, 0xC1)
    assert ask(sim, 0xA1)[1] == MeterStatusCode.CALIBRATING
    ask(sim, 0xC2, *struct.pack(">H", 520))  # the filter's certificate says 52.0 %
    assert realtime(sim)[0] == 52.0
    ask(sim, 0xC3)
    sim.insert_filter(25.0)
    assert realtime(sim)[0] == 26.0  # the new gain applies to every opacity
    sim.remove_filter()
    ask(sim, 0xC1)
    assert ask(sim, 0xC2, *struct.pack(">H", 300)) == bytes((0x15, NakCode.BAD_PARAMETER))  # no filter


def test_max_registers_and_result_follow_the_accelerations() -> None:
    sim = new_sim(profile="failing")
    clock: SteppedClock = sim.clock  # type: ignore[assignment]
    # nothing measured yet; the idle speed at t = 0 has no ripple: 780 r/min
    assert ask(sim, 0xB1) == frame(0xB1, *([0] * 8), *struct.pack(">H", 780))
    ask(sim, 0xA4)  # zeroed, so the reported k is the smoke's own
    clock.advance(1.0)
    ask(sim, 0xA7)
    peaks = []
    for _ in range(4):
        acceleration = sim.free_acceleration()
        peaks.append(acceleration.peak_k_m1)
        clock.advance(acceleration.end - clock.now() + 0.5)  # the host does not poll meanwhile
    _, n, k, rpm = struct.unpack(">BHHH", ask(sim, 0xA6)[:-1])
    assert k / 100 == pytest.approx(max(peaks), abs=0.01)  # the meter's own sampling saw the peaks
    assert rpm >= sim.profile.governed_rpm
    assert n / 10 == pytest.approx(n_from_k(max(peaks)), abs=0.2)
    _, k1, k2, k3, k_avg, low = struct.unpack(">BHHHHH", ask(sim, 0xB1)[:-1])
    assert [k1 / 100, k2 / 100, k3 / 100] == pytest.approx(peaks[1:], abs=0.011)
    assert list(sim.completed_peaks) == [k1 / 100, k2 / 100, k3 / 100]
    assert k_avg / 100 == pytest.approx((k1 + k2 + k3) / 300, abs=0.006)
    assert abs(low - sim.profile.idle_rpm) <= sim.profile.rpm_ripple + 1
    ask(sim, 0xA7)
    assert ask(sim, 0xA6) == frame(0xA6, 0, 0, 0, 0, 0, 0)


def test_control_parameters_and_alarms() -> None:
    sim = new_sim()
    assert ask(sim, 0xB3) == frame(0xB3, 1, 1, 1)
    ask(sim, 0xB2, 2, 3)
    ask(sim, 0xB2, 3, 2)
    assert ask(sim, 0xB3) == frame(0xB3, 1, 3, 2)
    sim.set_alarms(0x1_0203)
    assert ask(sim, 0xA3) == frame(0xA3, 0x02, 0x03)
    ask(sim, 0xA0, 4)
    assert sim.status_code_set == 4


def test_fault_switches() -> None:
    sim = new_sim()
    sim.set_faults(Faults(no_answer=True))
    assert sim.respond(frame(0xA5)) is None
    sim.set_faults("silent_after=2")
    assert sim.respond(frame(0xA1)) and sim.respond(frame(0xA1))
    assert sim.respond(frame(0xA1)) is None
    sim.set_faults("garbled")
    garbled = ask(sim, 0xA5)
    assert len(garbled) == 10 and garbled[0] not in (0xA5, 0x15)
    sim.set_faults("bad_checksum")
    bad = ask(sim, 0xA5)
    assert bad[0] == 0xA5 and sum(bad) % 256 != 0
    sim.set_faults("nak=0x2a")
    assert ask(sim, 0xA5) == b"\x15\x2a"
    sim.update_faults(nak=None, delay_s=0.3)
    out = sim.respond(frame(0xA5))
    assert out is not None and out.delay_s == 0.3
    sim.clear_faults()
    assert sim.faults == Faults()
    assert sim.requests == 8 and sim.answers == 6


def test_stuck_warm_up_ignores_time_and_a2() -> None:
    sim = new_sim(faults=Faults(stuck_warmup=True))
    ask(sim, 0xA2)
    sim.clock.advance(10_000)  # type: ignore[attr-defined]
    assert ask(sim, 0xA1)[1] == MeterStatusCode.WARMING_UP


def test_wire_time_follows_the_baud_rate() -> None:
    out = SmokeMeterSimulator(warmup_s=0, clock=SteppedClock()).respond(frame(0xA5))
    assert out is not None and out.delay_s == pytest.approx(10 * 10 / 9600)


@pytest.mark.parametrize(
    ("spec", "faults"),
    [
        ("", Faults()),
        ("none", Faults()),
        ("timeout", Faults(no_answer=True)),
        ("no_answer,garbled", Faults(no_answer=True, garbled=True)),
        ("silent_after=20,nak=0x03,delay=0.2", Faults(silent_after=20, nak=3, delay_s=0.2)),
        ("stuck_warmup, bad_checksum", Faults(stuck_warmup=True, bad_checksum=True)),
    ],
)
def test_fault_spec_parsing(spec: str, faults: Faults) -> None:
    assert Faults.parse(spec) == faults


@pytest.mark.parametrize("spec", ["explode", "nak", "garbled=2", "delay=soon"])
def test_bad_fault_specs_fail(spec: str) -> None:
    with pytest.raises(ValueError):
        Faults.parse(spec)


@given(
    st.builds(
        Faults,
        no_answer=st.booleans(),
        silent_after=st.none() | st.integers(1, 1000),
        garbled=st.booleans(),
        bad_checksum=st.booleans(),
        nak=st.none() | st.integers(0, 255),
        delay_s=st.sampled_from([0.0, 0.05, 0.25, 1.5]),
        stuck_warmup=st.booleans(),
    )
)
def test_fault_spec_round_trip(faults: Faults) -> None:
    assert Faults.parse(faults.describe()) == faults


@given(st.sampled_from(sorted(REQUEST_LENGTHS)), st.binary(min_size=0, max_size=3))
def test_any_well_formed_request_gets_a_well_formed_answer(command: int, params: bytes) -> None:
    sim = new_sim()
    body = bytes((command,)) + params
    out = sim.respond(body + bytes((-sum(body) & 0xFF,)))
    assert out is not None
    data = out.data
    assert (data[0] == 0x15 and len(data) == 2) or (data[0] == command and sum(data) % 256 == 0)


def test_options_are_checked() -> None:
    with pytest.raises(ValueError, match="unknown vehicle profile"):
        SmokeMeterSimulator(profile="tractor")
    with pytest.raises(ValueError):
        SmokeMeterSimulator(variant="nht9")
