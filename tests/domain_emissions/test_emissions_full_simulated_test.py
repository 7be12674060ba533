"""Whole free-acceleration tests: procedure ← real driver ← nht6sim:// ← simulated vehicle.

The simulator's test clock is stepped by hand (0.1 s per reading), so a test of ~40 s of engine
time runs in a fraction of a second while every reading is a real byte-level exchange.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from drivers.errors import DeviceReportedError
from drivers.smoke_meter import MeterStatus, Nht6Meter, SmokeMeterConfig
from simulators.smoke_meter import SmokeMeterSimulator, SteppedClock, registry
from station.clock import ManualClock
from station.emissions import EnginePhase, FreeAccelerationConfig, FreeAccelerationTest, TestStep

START = datetime(2026, 11, 22, 1, 30, tzinfo=UTC)
POLL_S = 0.1
#: idle between two accelerations (s of test time)
IDLE_GAP_S = 2.0
_names = itertools.count()


@pytest.fixture
def bench() -> Iterator[tuple[SmokeMeterSimulator, SteppedClock, str]]:
    name = f"full-test-{next(_names)}"
    clock = SteppedClock()
    yield name, clock
    registry.remove(name)


def drive_test(name: str, clock: SteppedClock, profile: str, limit: str = "gb3847_2018_a"):
    sim = registry.add(
        name, SmokeMeterSimulator(profile=profile, warmup_s=30, clock=clock, line_baud=0, seed=7)
    )
    meter = Nht6Meter(
        SmokeMeterConfig(url=f"nht6sim://{name}", reply_timeout_s=1.0),
        clock=lambda: START + timedelta(seconds=clock.now()),
    )
    test = FreeAccelerationTest(FreeAccelerationConfig(limit=limit), clock=ManualClock(START))
    with meter:
        assert meter.status() is MeterStatus.WARMING_UP
        with pytest.raises(DeviceReportedError) as refused:
            meter.zero()  # not while warming up
        assert refused.value.device_code == 0x03
        clock.advance(30)
        assert meter.status() is MeterStatus.MEASURING

        sim.remove_probe()
        before_zero = meter.read_realtime()
        assert not test.confirm_zero(warmed_up=True, zero_n_pct=before_zero.n_pct)  # drifted
        meter.zero()
        clock.advance(1.0)
        assert test.confirm_zero(
            warmed_up=meter.status() is MeterStatus.MEASURING, zero_n_pct=meter.read_realtime().n_pct
        )
        sim.insert_probe()
        meter.clear_max()

        next_press = clock.now() + IDLE_GAP_S
        for _ in range(int(120 / POLL_S)):  # far more than a test needs
            if test.step is TestStep.COMPLETE:
                break
            if test.engine_phase is EnginePhase.IDLE and clock.now() >= next_press:
                next_press = sim.free_acceleration().end + IDLE_GAP_S
            clock.advance(POLL_S)
            test.feed(meter.read_realtime())
        clock.advance(sim.busy_until - clock.now())
        meter_result, meter_max = meter.result(), meter.read_max()
    assert test.step is TestStep.COMPLETE
    return test.result, meter_result, meter_max


def test_clean_vehicle_passes(bench) -> None:
    result, meter_result, meter_max = drive_test(*bench, "clean")
    assert result.valid and result.passed
    assert result.verdict_zh == "合格"
    assert 0.25 <= result.mean_k_m1 <= 0.45
    # the meter's own registers saw the same accelerations, sampled 10x as often
    meter_peaks = (meter_result.k1_m1, meter_result.k2_m1, meter_result.k3_m1)
    for ours, theirs in zip(result.peaks_k_m1, meter_peaks, strict=True):
        assert float(ours) == pytest.approx(theirs, abs=0.02)
    assert meter_result.k_avg_m1 == pytest.approx(float(result.mean_k_m1), abs=0.02)
    assert 700 <= meter_result.low_rpm <= 800
    assert 700 <= result.idle_rpm <= 800
    assert meter_max.k_m1 >= max(float(p) for p in result.peaks_k_m1)
    assert meter_max.rpm >= 2990
    # 1 Hz process data over the whole purge + measurement
    assert len(result.process_data) == pytest.approx(
        (result.runs[-1].ended_at - result.runs[0].started_at).total_seconds(), abs=6
    )


def test_failing_vehicle_fails(bench) -> None:
    result, meter_result, _ = drive_test(*bench, "failing")
    assert result.valid and result.passed is False
    assert result.verdict_zh == "不合格"
    assert result.mean_k_m1 > 1.2
    assert meter_result.k_avg_m1 > 1.2


def test_erratic_vehicle_is_invalid(bench) -> None:
    result, _, _ = drive_test(*bench, "erratic")
    assert not result.valid and result.passed is None
    assert [reason.code for reason in result.reasons] == ["inconsistent_peaks"]


@pytest.mark.parametrize(("limit", "passed"), [("gb3847_2018_a", True), ("gb3847_2018_b", False)])
def test_borderline_vehicle_depends_on_the_limit(bench, limit: str, passed: bool) -> None:
    result, _, _ = drive_test(*bench, "borderline", limit)
    assert result.valid and result.passed is passed
    assert 0.7 < result.mean_k_m1 <= 1.2
