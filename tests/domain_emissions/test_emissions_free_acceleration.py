"""The free-acceleration procedure on synthetic reading streams: detection, arithmetic, validity."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import pairwise

import pytest

from station.clock import ManualClock
from station.emissions import (
    STEP_TRANSITIONS,
    EnginePhase,
    FreeAccelerationConfig,
    FreeAccelerationTest,
    RunKind,
    TestStep,
    n_from_k,
)

START = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
DT = 0.1
IDLE_RPM = 750
IDLE_K = 0.05


@dataclass(frozen=True)
class Sample:
    n_pct: float
    k_m1: float
    rpm: int
    at: datetime


class Stream:
    """Readings at 10 Hz: idle stretches and free accelerations with a known peak k."""

    def __init__(self, t: float = 0.0) -> None:
        self.t = t
        self.samples: list[Sample] = []

    def _add(self, rpm: float, k: float) -> None:
        k = round(k, 2)
        self.samples.append(Sample(round(n_from_k(k), 1), k, round(rpm), START + timedelta(seconds=self.t)))
        self.t = round(self.t + DT, 6)

    def idle(self, seconds: float, rpm: int = IDLE_RPM) -> Stream:
        for _ in range(round(seconds / DT)):
            self._add(rpm, IDLE_K)
        return self

    def accelerate(self, peak_k: float, top_rpm: int = 3000, settle_s: float = 3.0) -> Stream:
        """Rise 0.8 s (peak exactly at the top), hold 1.5 s, fall 1.0 s, then idle."""
        for i in range(1, 9):
            self._add(IDLE_RPM + (top_rpm - IDLE_RPM) * i / 8, IDLE_K + (peak_k - IDLE_K) * i / 8)
        for i in range(1, 16):
            self._add(top_rpm, peak_k - (peak_k - IDLE_K) * 0.2 * i / 15)
        for i in range(1, 11):
            self._add(top_rpm - (top_rpm - IDLE_RPM) * i / 10, IDLE_K + (peak_k - IDLE_K) * 0.8 * 0.7**i)
        return self.idle(settle_s)


def new_test(config: FreeAccelerationConfig | None = None, **kwargs) -> tuple[FreeAccelerationTest, ManualClock]:
    clock = ManualClock(START)
    test = FreeAccelerationTest(config, clock=clock, **kwargs)
    assert test.confirm_zero(warmed_up=True, zero_n_pct=0.0)
    return test, clock


def feed(test: FreeAccelerationTest, stream: Stream) -> list:
    runs = [test.feed(sample) for sample in stream.samples]
    return [run for run in runs if run is not None]


def run_test(measured: list[float], config: FreeAccelerationConfig | None = None, purge=(0.6, 0.5, 0.45)):
    test, _ = new_test(config)
    stream = Stream().idle(2)
    for peak in (*purge, *measured):
        stream.accelerate(peak)
    feed(test, stream)
    return test


def test_one_acceleration_is_detected_with_its_peak() -> None:
    test, _ = new_test()
    runs = feed(test, Stream().idle(2).accelerate(1.37))
    assert len(runs) == 1
    run = runs[0]
    assert (run.kind, run.number, run.peak_k_m1, run.max_rpm, run.reached_governed) == (
        RunKind.PURGE,
        1,
        1.37,
        3000,
        True,
    )
    assert run.peak_n_pct == pytest.approx(n_from_k(1.37), abs=0.1)
    # the second reading of the rise is the first above 1200 r/min
    assert run.started_at == START + timedelta(seconds=2.1)
    # back at ≤ 1000 r/min at 5.1 s, then 1 s of idle dwell
    assert run.ended_at == START + timedelta(seconds=6.1)


def test_idle_ripple_is_not_an_acceleration() -> None:
    test, _ = new_test()
    assert feed(test, Stream().idle(5, rpm=1150)) == []
    assert test.step is TestStep.PURGE
    assert test.prompt.zh == "请第1次自由加速（吹拂）"


def test_the_inspector_is_guided_step_by_step() -> None:
    test, _ = new_test()
    seen = []
    stream = Stream().idle(1)
    for peak in (0.6, 0.5, 0.45, 0.4, 0.41, 0.39):
        stream.accelerate(peak)
    for sample in stream.samples:
        test.feed(sample)
        if not seen or seen[-1] != test.prompt.zh:
            seen.append(test.prompt.zh)
    steps = [zh for zh in seen if zh.startswith("请第")]
    assert steps == [
        "请第1次自由加速（吹拂）",
        "请第2次自由加速（吹拂）",
        "请第3次自由加速（吹拂）",
        "请第1次自由加速（测量）",
        "请第2次自由加速（测量）",
        "请第3次自由加速（测量）",
    ]
    assert {"油门踩到底并保持，直至达到额定转速", "已达到额定转速，请松开油门", "请保持怠速"} <= set(seen)
    assert test.step is TestStep.COMPLETE
    assert seen[-1].startswith("检测完成：光吸收系数 0.40 m⁻¹")


@pytest.mark.parametrize(
    ("peaks", "limit", "mean", "passed"),
    [
        ([0.35, 0.36, 0.34], "gb3847_2018_a", "0.35", True),
        ([1.21, 1.20, 1.20], "gb3847_2018_a", "1.20", True),  # 1.2033 rounds to the limit
        ([1.21, 1.21, 1.20], "gb3847_2018_a", "1.21", False),  # 1.2067
        ([2.05, 2.10, 2.12], "gb3847_2018_a", "2.09", False),
        ([0.70, 0.70, 0.71], "gb3847_2018_b", "0.70", True),
        ([0.71, 0.70, 0.71], "gb3847_2018_b", "0.71", False),
        ([0.95, 1.00, 1.05], "gb3847_2018_b", "1.00", False),
    ],
)
def test_result_is_the_rounded_mean_of_three_peaks(peaks, limit, mean, passed) -> None:
    test = run_test(peaks, FreeAccelerationConfig(limit=limit))
    result = test.result
    assert result is not None and result.valid
    assert result.peaks_k_m1 == tuple(Decimal(str(p)) for p in peaks)
    assert result.mean_k_m1 == Decimal(mean)
    assert result.passed is passed
    assert result.verdict_zh == ("合格" if passed else "不合格")
    assert result.limit.name == limit
    assert [run.kind for run in result.runs] == [RunKind.PURGE] * 3 + [RunKind.MEASURE] * 3


def test_full_value_comparison_can_be_configured() -> None:
    rounded = run_test([1.21, 1.20, 1.20]).result
    full = run_test([1.21, 1.20, 1.20], FreeAccelerationConfig(compare_rounded=False)).result
    assert rounded.passed is True
    assert full.passed is False  # 1.2033… > 1.2 when the unrounded mean is judged
    assert full.mean_k_m1 == Decimal("1.20")


def test_round_half_even_on_more_decimals() -> None:
    # peaks the meter would never send, but a third-party stream might: mean 1.125 exactly
    test = run_test([1.125, 1.125, 1.125])
    assert test.result.mean_k_m1 == Decimal("1.12")


def test_measured_acceleration_below_governed_speed_invalidates() -> None:
    test, _ = new_test()
    stream = Stream().idle(1)
    for peak in (0.6, 0.5, 0.45, 0.4):
        stream.accelerate(peak)
    stream.accelerate(0.3, top_rpm=2000)
    feed(test, stream)
    result = test.result
    assert test.step is TestStep.COMPLETE
    assert result is not None and not result.valid
    assert result.passed is None and result.verdict_zh == "无效" and result.verdict_en == "invalid"
    assert [r.code for r in result.reasons] == ["governed_speed_not_reached"]
    assert "第2次测量加速未达到额定转速" in result.reasons[0].zh
    assert "2000 r/min" in result.reasons[0].zh
    assert "did not reach governed speed" in result.reasons[0].en
    assert result.mean_k_m1 is None
    assert test.prompt.code == "invalid" and test.prompt.zh.startswith("检测无效：")


def test_a_purge_below_governed_speed_is_not_counted() -> None:
    test, _ = new_test()
    feed(test, Stream().idle(1).accelerate(0.6).accelerate(0.5, top_rpm=2000))
    assert test.purge_count == 1
    assert test.prompt.code == "purge_repeat"
    assert "不计入吹拂次数" in test.prompt.zh and "请第2次自由加速（吹拂）" in test.prompt.zh


def test_the_vehicle_governed_speed_overrides_the_default() -> None:
    clock = ManualClock(START)
    test = FreeAccelerationTest(clock=clock, governed_rpm_min=3200)
    test.confirm_zero(warmed_up=True, zero_n_pct=0.0)
    feed(test, Stream().idle(1).accelerate(0.6, top_rpm=3000))
    assert test.purge_count == 0
    with pytest.raises(ValueError):
        FreeAccelerationTest(clock=clock, governed_rpm_min=1000)


@pytest.mark.parametrize(
    ("peaks", "valid"),
    [([1.00, 1.40, 1.10], False), ([1.00, 1.25, 1.10], True), ([0.30, 0.31, 0.30], True)],
)
def test_consistency_of_the_three_peaks(peaks, valid) -> None:
    result = run_test(peaks).result
    assert result.valid is valid
    if not valid:
        assert [r.code for r in result.reasons] == ["inconsistent_peaks"]
        assert "极差 0.40 m⁻¹ 超过 0.25 m⁻¹" in result.reasons[0].zh
        assert result.passed is None
        assert result.mean_k_m1 == Decimal("1.17")  # still reported, for the record


def test_consistency_rule_is_data() -> None:
    assert run_test([1.0, 1.4, 1.1], FreeAccelerationConfig(consistency_max_spread_m1=0.5)).result.valid
    assert run_test([1.0, 1.9, 1.1], FreeAccelerationConfig(consistency_max_spread_m1=None)).result.valid
    decreasing = FreeAccelerationConfig(consistency_reject_decreasing=True)
    assert run_test([1.3, 1.2, 1.1]).result.valid
    result = run_test([1.3, 1.2, 1.1], decreasing).result
    assert [r.code for r in result.reasons] == ["decreasing_peaks"]
    assert run_test([1.2, 1.3, 1.1], decreasing).result.valid


def test_zero_check() -> None:
    clock = ManualClock(START)
    test = FreeAccelerationTest(clock=clock)
    assert test.prompt.code == "zero_check"
    assert not test.confirm_zero(warmed_up=False, zero_n_pct=0.0)
    assert test.prompt.code == "warming_up"
    assert not test.confirm_zero(warmed_up=True, zero_n_pct=0.8)
    assert test.prompt.code == "zero_out_of_tolerance" and "0.8%" in test.prompt.zh
    with pytest.raises(ValueError, match="no reading"):
        test.confirm_zero(warmed_up=True)
    assert test.feed(Sample(0.3, 0.01, 750, START)) is None  # readings before purging are not recorded
    assert test.confirm_zero(warmed_up=True)  # takes the latest reading: 0.3 % N
    assert test.step is TestStep.PURGE
    with pytest.raises(ValueError):
        test.confirm_zero(warmed_up=True, zero_n_pct=0.0)


def test_no_purge_configured_goes_straight_to_measuring() -> None:
    test, _ = new_test(FreeAccelerationConfig(min_purge_accelerations=0))
    assert test.step is TestStep.MEASURE


def test_back_to_back_accelerations_are_two() -> None:
    test, _ = new_test()
    runs = feed(test, Stream().idle(1).accelerate(0.6, settle_s=0.3).accelerate(0.5))
    assert [run.peak_k_m1 for run in runs] == [0.6, 0.5]


def test_process_data_is_one_record_per_second() -> None:
    test = run_test([0.4, 0.41, 0.39])
    result = test.result
    process = result.process_data
    seconds = [p.second for p in process]
    assert seconds == list(range(len(process)))
    assert all(b.at - a.at == timedelta(seconds=1) for a, b in pairwise(process))
    first_purge = result.runs[0].started_at
    assert process[0].at <= first_purge
    assert process[-1].at <= result.runs[-1].ended_at < process[-1].at + timedelta(seconds=1)
    assert {p.step for p in process} == {TestStep.PURGE, TestStep.MEASURE}
    assert max(p.k_m1 for p in process) <= 0.6
    assert max(p.rpm for p in process) == 3000
    assert not any(p.stale for p in process)
    assert result.idle_rpm == IDLE_RPM


def test_process_data_marks_values_held_over_a_gap() -> None:
    test, _ = new_test()
    stream = Stream().idle(1)
    stream.t += 3.0  # the meter did not answer for 3 s
    stream.idle(1)
    feed(test, stream)
    stale = [p.second for p in test._process if p.stale]
    assert stale == [2, 3]


def test_result_times_come_from_the_injected_clock() -> None:
    test, clock = new_test()
    stream = Stream().idle(1)
    for peak in (0.6, 0.5, 0.45, 0.4, 0.41):
        stream.accelerate(peak)
    feed(test, stream)
    clock.advance(minutes=3)
    feed(test, Stream(stream.t).accelerate(0.39))
    assert test.result.started_at == START
    assert test.result.finished_at == START + timedelta(minutes=3)


def test_abort_and_terminal_steps() -> None:
    test, _ = new_test()
    test.abort("车辆排气管泄漏", "exhaust leak")
    assert test.step is TestStep.ABORTED
    assert test.prompt.zh == "检测已中止：车辆排气管泄漏"
    assert test.feed(Sample(0.3, 0.01, 750, START)) is None
    with pytest.raises(ValueError):
        test.abort("again", "again")
    assert STEP_TRANSITIONS[TestStep.COMPLETE] == STEP_TRANSITIONS[TestStep.ABORTED] == frozenset()


def test_readings_must_come_in_time_order() -> None:
    test, _ = new_test()
    test.feed(Sample(1.0, 0.02, 750, START + timedelta(seconds=5)))
    with pytest.raises(ValueError, match="time order"):
        test.feed(Sample(1.0, 0.02, 750, START))


def test_engine_phase_follows_the_stream() -> None:
    test, _ = new_test()
    phases = []
    for sample in Stream().idle(1).accelerate(0.6).samples:
        test.feed(sample)
        if not phases or phases[-1] is not test.engine_phase:
            phases.append(test.engine_phase)
    assert phases == [
        EnginePhase.IDLE,
        EnginePhase.RISING,
        EnginePhase.GOVERNED,
        EnginePhase.SETTLING,
        EnginePhase.IDLE,
    ]


def test_configuration_is_checked() -> None:
    with pytest.raises(ValueError):
        FreeAccelerationConfig(idle_rpm_max=1300)
    with pytest.raises(ValueError):
        FreeAccelerationConfig(measured_accelerations=0)
