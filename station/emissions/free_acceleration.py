"""The GB 3847-2018 free-acceleration test (自由加速法) as pure measurement logic.

The test guides the inspector step by step — zero check (预热/调零确认) → purge (吹拂, at least
three free accelerations) → three measured free accelerations (测量) — and consumes the meter's
reading stream (N, k, rpm, at) from any source: the NHT-6 driver, another vendor's meter or a
synthetic list. It never talks to a device and never reads the wall clock: readings carry their
own time and the start/finish stamps come from the injected :class:`station.clock.Clock`.

Each free acceleration is found in the stream by engine speed: it starts when rpm rises above
``acceleration_start_rpm``, must reach ``governed_rpm_min`` (the governed speed, 额定转速), and
ends once rpm has been back at idle (≤ ``idle_rpm_max``) for ``idle_dwell_s``; its peak k is
the highest k seen in that window (smoke lags the pedal, so the dwell is part of the window).

Result = arithmetic mean of the three measured peaks, rounded to ``result_decimals`` with
round-half-even (GB/T 8170 数值修约), judged against the configured limit (pass when k ≤ limit).
Validity: a measured acceleration that does not reach governed speed, or three peaks whose
spread breaks the consistency rule, make the test invalid with a Chinese and English reason.
See docs/devices/smoke_meter.md for the sources and what could not be confirmed.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import pairwise
from statistics import median
from typing import Any, Protocol

from station.clock import Clock
from station.emissions.limits import DEFAULT_SMOKE_LIMIT, SmokeLimit, smoke_limit


class SmokeSample(Protocol):
    """One reading of an opacity meter, as the driver delivers it."""

    n_pct: float
    k_m1: float
    rpm: int
    at: datetime


@dataclass(frozen=True)
class FreeAccelerationConfig:
    """Every number of the procedure, with its default (DOMAIN.md §8)."""

    #: name of the limit set in :data:`station.emissions.limits.SMOKE_LIMITS`
    limit: str = DEFAULT_SMOKE_LIMIT
    #: purge accelerations before measuring (GB 3847-2018: at least three)
    min_purge_accelerations: int = 3
    #: measured accelerations whose peaks are averaged
    measured_accelerations: int = 3
    #: at or below this engine speed the engine counts as idling (r/min)
    idle_rpm_max: int = 1000
    #: rising above this engine speed starts a free acceleration (r/min)
    acceleration_start_rpm: int = 1200
    #: governed speed an acceleration must reach to count, when the vehicle record gives none
    governed_rpm_min: int = 2300
    #: an acceleration ends after the engine has idled this long again (s)
    idle_dwell_s: float = 1.0
    #: opacity allowed in clean air after zero calibration (% N)
    zero_tolerance_pct: float = 0.5
    #: consistency rule: highest minus lowest measured peak may not exceed this (m⁻¹);
    #: None switches the rule off
    consistency_max_spread_m1: float | None = 0.25
    #: consistency rule: three strictly decreasing peaks mean the exhaust is not purged yet
    consistency_reject_decreasing: bool = False
    #: where the consistency rule comes from (shown with an invalid result)
    consistency_source: str = (
        "ECE R24 附件10 稳定读数带宽 0.25 m⁻¹（GB 3847-2018 附录A 原文未能核实，见设备文档）"
    )
    #: decimals of the reported result (k, m⁻¹)
    result_decimals: int = 2
    #: judge the rounded result (修约值比较法) instead of the unrounded mean (全数值比较法)
    compare_rounded: bool = True
    #: process data interval for upload (HJ 1238-2021 asks for about one record per second)
    process_interval_s: float = 1.0

    def __post_init__(self) -> None:
        if self.min_purge_accelerations < 0 or self.measured_accelerations < 1:
            raise ValueError("purge count must be ≥ 0 and measured count ≥ 1")
        if not 0 < self.idle_rpm_max < self.acceleration_start_rpm < self.governed_rpm_min:
            raise ValueError("need 0 < idle_rpm_max < acceleration_start_rpm < governed_rpm_min")
        if self.idle_dwell_s < 0 or self.process_interval_s <= 0 or self.result_decimals < 0:
            raise ValueError("idle_dwell_s, process_interval_s and result_decimals out of range")
        smoke_limit(self.limit)  # fail on an unknown limit name at configuration time

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> FreeAccelerationConfig:
        """Configuration from a plain mapping (station settings, JSON); unknown keys fail."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"unknown free-acceleration settings: {', '.join(unknown)}")
        return replace(cls(), **dict(values))


class TestStep(enum.StrEnum):
    """Where the test stands; the allowed moves are in :data:`STEP_TRANSITIONS`."""

    __test__ = False  # not a pytest test class despite the name

    ZERO_CHECK = "zero_check"  # 预热及调零确认
    PURGE = "purge"  # 吹拂
    MEASURE = "measure"  # 测量
    COMPLETE = "complete"  # 完成（合格/不合格/无效）
    ABORTED = "aborted"  # 中止


STEP_TRANSITIONS: dict[TestStep, frozenset[TestStep]] = {
    TestStep.ZERO_CHECK: frozenset({TestStep.PURGE, TestStep.MEASURE, TestStep.ABORTED}),
    TestStep.PURGE: frozenset({TestStep.MEASURE, TestStep.ABORTED}),
    TestStep.MEASURE: frozenset({TestStep.COMPLETE, TestStep.ABORTED}),
    TestStep.COMPLETE: frozenset(),
    TestStep.ABORTED: frozenset(),
}


class RunKind(enum.StrEnum):
    PURGE = "purge"
    MEASURE = "measure"


class EnginePhase(enum.StrEnum):
    """Where the engine is within one free acceleration."""

    IDLE = "idle"  # waiting for the pedal
    RISING = "rising"  # pedal down, governed speed not reached yet
    GOVERNED = "governed"  # governed speed reached, waiting for the release
    SETTLING = "settling"  # released, waiting for idle to hold


@dataclass(frozen=True)
class Prompt:
    """What the inspector is told now; ``code`` is stable for screens and tests."""

    code: str
    zh: str
    en: str


@dataclass(frozen=True)
class InvalidReason:
    code: str
    zh: str
    en: str


@dataclass(frozen=True)
class DetectedAcceleration:
    """One free acceleration as found in the stream."""

    started_at: datetime
    ended_at: datetime
    peak_k_m1: float
    peak_n_pct: float
    max_rpm: int
    reached_governed: bool


@dataclass(frozen=True)
class AccelerationRun(DetectedAcceleration):
    """A detected free acceleration counted by the test as a purge or a measurement."""

    kind: RunKind
    #: 1-based number within its kind (purge 1, 2, 3 …; measure 1, 2, 3)
    number: int

    @classmethod
    def of(cls, detected: DetectedAcceleration, kind: RunKind, number: int) -> AccelerationRun:
        return cls(**vars(detected), kind=kind, number=number)


@dataclass(frozen=True)
class ProcessSample:
    """One record of the 1 Hz process data (过程数据) kept with the result."""

    second: int
    at: datetime
    n_pct: float
    k_m1: float
    rpm: int
    step: TestStep
    #: the value is held from a reading older than one interval (the stream had a gap)
    stale: bool


@dataclass(frozen=True)
class FreeAccelerationResult:
    valid: bool
    #: None when the test is invalid: an invalid test neither passes nor fails
    passed: bool | None
    peaks_k_m1: tuple[Decimal, ...]
    #: arithmetic mean of the peaks, rounded; None when there are not enough peaks
    mean_k_m1: Decimal | None
    limit: SmokeLimit
    reasons: tuple[InvalidReason, ...]
    runs: tuple[AccelerationRun, ...]
    #: median engine speed while idling during the test (怠速转速), r/min
    idle_rpm: int | None
    process_data: tuple[ProcessSample, ...]
    started_at: datetime
    finished_at: datetime

    @property
    def verdict_zh(self) -> str:
        if not self.valid:
            return "无效"
        return "合格" if self.passed else "不合格"

    @property
    def verdict_en(self) -> str:
        if not self.valid:
            return "invalid"
        return "pass" if self.passed else "fail"


class AccelerationDetector:
    """Finds free accelerations and their peak k in a reading stream."""

    def __init__(self, config: FreeAccelerationConfig, governed_rpm_min: int) -> None:
        self._config = config
        self._governed_rpm_min = governed_rpm_min
        self._dwell = timedelta(seconds=config.idle_dwell_s)
        self.phase = EnginePhase.IDLE
        self._reset_run()

    def _reset_run(self) -> None:
        self._started_at: datetime | None = None
        self._released_at: datetime | None = None
        self._peak_k = 0.0
        self._peak_n = 0.0
        self._max_rpm = 0
        self._governed_before_release = False

    def feed(self, sample: SmokeSample) -> DetectedAcceleration | None:
        """Consume one reading; return the acceleration it has just ended, if any."""
        finished = None
        if self.phase is EnginePhase.SETTLING and sample.rpm >= self._config.acceleration_start_rpm:
            # the next acceleration began before idle held: close this one where it was released
            finished = self._finish(self._released_at or sample.at)
        if self.phase is EnginePhase.IDLE:
            if sample.rpm < self._config.acceleration_start_rpm:
                return finished
            self.phase = EnginePhase.RISING
            self._started_at = sample.at
        self._peak_k = max(self._peak_k, sample.k_m1)
        self._peak_n = max(self._peak_n, sample.n_pct)
        self._max_rpm = max(self._max_rpm, sample.rpm)
        if self.phase is EnginePhase.RISING and sample.rpm >= self._governed_rpm_min:
            self.phase = EnginePhase.GOVERNED
        if self.phase in (EnginePhase.RISING, EnginePhase.GOVERNED):
            if sample.rpm <= self._config.idle_rpm_max:
                self._governed_before_release = self.phase is EnginePhase.GOVERNED
                self.phase = EnginePhase.SETTLING
                self._released_at = sample.at
        elif self.phase is EnginePhase.SETTLING:
            if sample.rpm > self._config.idle_rpm_max:
                self._released_at = sample.at  # idle did not hold yet: the dwell restarts
            elif sample.at - self._released_at >= self._dwell:  # type: ignore[operator]
                finished = self._finish(sample.at)
        return finished

    def _finish(self, ended_at: datetime) -> DetectedAcceleration:
        assert self._started_at is not None
        detected = DetectedAcceleration(
            started_at=self._started_at,
            ended_at=ended_at,
            peak_k_m1=self._peak_k,
            peak_n_pct=self._peak_n,
            max_rpm=self._max_rpm,
            reached_governed=self._governed_before_release,
        )
        self.phase = EnginePhase.IDLE
        self._reset_run()
        return detected


class FreeAccelerationTest:
    """One free-acceleration test of one vehicle (一次自由加速法检验)."""

    __test__ = False  # not a pytest test class despite the name

    def __init__(
        self,
        config: FreeAccelerationConfig | None = None,
        *,
        clock: Clock,
        governed_rpm_min: int | None = None,
    ) -> None:
        self.config = config or FreeAccelerationConfig()
        self.limit = smoke_limit(self.config.limit)
        self._clock = clock
        self.governed_rpm_min = governed_rpm_min or self.config.governed_rpm_min
        if self.governed_rpm_min <= self.config.acceleration_start_rpm:
            raise ValueError("governed speed must lie above the acceleration start speed")
        self._detector = AccelerationDetector(self.config, self.governed_rpm_min)
        self.started_at = clock.now()
        self.step = TestStep.ZERO_CHECK
        self.runs: list[AccelerationRun] = []
        self._reasons: list[InvalidReason] = []
        self._result: FreeAccelerationResult | None = None
        self._last: SmokeSample | None = None
        self._idle_rpms: list[int] = []
        self._process: list[ProcessSample] = []
        self._next_tick: datetime | None = None
        self._interval = timedelta(seconds=self.config.process_interval_s)
        self._zero_prompt: Prompt | None = None
        #: the last purge acceleration missed governed speed and was not counted
        self._purge_rejected = False

    # -- what the screen shows -------------------------------------------------------------

    @property
    def purge_count(self) -> int:
        return sum(1 for run in self.runs if run.kind is RunKind.PURGE)

    @property
    def measured_runs(self) -> list[AccelerationRun]:
        return [run for run in self.runs if run.kind is RunKind.MEASURE]

    @property
    def process_data(self) -> tuple[ProcessSample, ...]:
        """The 1 Hz process data recorded so far (kept with an aborted test too)."""
        return tuple(self._process)

    @property
    def engine_phase(self) -> EnginePhase:
        return self._detector.phase

    @property
    def result(self) -> FreeAccelerationResult | None:
        return self._result

    @property
    def prompt(self) -> Prompt:
        if self.step is TestStep.ZERO_CHECK:
            return self._zero_prompt or Prompt(
                "zero_check",
                "请确认烟度计预热完成，探头置于清洁空气中进行零点校准",
                "Confirm the meter is warmed up and zero it with the probe in clean air",
            )
        if self.step is TestStep.COMPLETE:
            return self._complete_prompt()
        if self.step is TestStep.ABORTED:
            reason = self._reasons[-1]
            return Prompt("aborted", f"检测已中止：{reason.zh}", f"Test aborted: {reason.en}")
        phase = self._detector.phase
        if phase is EnginePhase.RISING:
            return Prompt(
                "hold_pedal",
                "油门踩到底并保持，直至达到额定转速",
                "Keep the pedal fully down until governed speed is reached",
            )
        if phase is EnginePhase.GOVERNED:
            return Prompt("release_pedal", "已达到额定转速，请松开油门", "Governed speed reached: release the pedal")
        if phase is EnginePhase.SETTLING:
            return Prompt("settle_idle", "请保持怠速", "Let the engine idle")
        if self.step is TestStep.PURGE:
            number = self.purge_count + 1
            if self._purge_rejected:
                return Prompt(
                    "purge_repeat",
                    f"上次加速未达到额定转速，不计入吹拂次数；请第{number}次自由加速（吹拂）",
                    f"The last acceleration missed governed speed and was not counted: "
                    f"free acceleration {number} (purge)",
                )
            return Prompt(
                "purge",
                f"请第{number}次自由加速（吹拂）",
                f"Free acceleration {number} (purge): pedal fully down within about 1 s",
            )
        number = len(self.measured_runs) + 1
        return Prompt(
            "measure",
            f"请第{number}次自由加速（测量）",
            f"Free acceleration {number} (measured): pedal fully down within about 1 s",
        )

    def _complete_prompt(self) -> Prompt:
        result = self._result
        assert result is not None
        if not result.valid:
            zh = "；".join(reason.zh for reason in result.reasons)
            en = "; ".join(reason.en for reason in result.reasons)
            return Prompt("invalid", f"检测无效：{zh}", f"Test invalid: {en}")
        verdict_zh = "合格" if result.passed else "不合格"
        verdict_en = "pass" if result.passed else "fail"
        return Prompt(
            "pass" if result.passed else "fail",
            f"检测完成：光吸收系数 {result.mean_k_m1} m⁻¹，{self.limit.label_zh} "
            f"{self.limit.k_max_m1} m⁻¹，{verdict_zh}",
            f"Test complete: k = {result.mean_k_m1} m⁻¹, {self.limit.label_en} "
            f"{self.limit.k_max_m1} m⁻¹: {verdict_en}",
        )

    # -- what the inspector and the meter do -------------------------------------------------

    def confirm_zero(self, *, warmed_up: bool, zero_n_pct: float | None = None) -> bool:
        """The meter was zeroed in clean air: check it and move on to purging.

        ``zero_n_pct`` is the opacity read in clean air after zeroing; None takes the latest
        reading fed to the test. Returns whether the check passed; if not, the prompt says why.
        """
        self._require(TestStep.ZERO_CHECK)
        if not warmed_up:
            self._zero_prompt = Prompt(
                "warming_up", "烟度计尚在预热，请等待预热完成", "The meter is still warming up: wait"
            )
            return False
        if zero_n_pct is None:
            if self._last is None:
                raise ValueError("no reading fed yet: pass zero_n_pct")
            zero_n_pct = self._last.n_pct
        if abs(zero_n_pct) > self.config.zero_tolerance_pct:
            self._zero_prompt = Prompt(
                "zero_out_of_tolerance",
                f"零点不透光度 {zero_n_pct:.1f}% 超出 ±{self.config.zero_tolerance_pct}%，"
                "请在清洁空气中重新调零",
                f"Zero reads {zero_n_pct:.1f} % N, outside ±{self.config.zero_tolerance_pct} %: "
                "zero again in clean air",
            )
            return False
        self._move(TestStep.PURGE if self.config.min_purge_accelerations else TestStep.MEASURE)
        return True

    def feed(self, sample: SmokeSample) -> AccelerationRun | None:
        """Consume one reading; return the acceleration it completed, if any."""
        if self._last is not None and sample.at < self._last.at:
            raise ValueError("readings must be fed in time order")
        if self.step in (TestStep.PURGE, TestStep.MEASURE):
            self._record_process(sample)
        self._last = sample
        if self.step not in (TestStep.PURGE, TestStep.MEASURE):
            return None
        if self._detector.phase is EnginePhase.IDLE and sample.rpm <= self.config.idle_rpm_max:
            self._idle_rpms.append(sample.rpm)
        detected = self._detector.feed(sample)
        if self._detector.phase is not EnginePhase.IDLE:
            self._purge_rejected = False
        return None if detected is None else self._count(detected)

    def abort(self, reason_zh: str, reason_en: str) -> None:
        """Stop the test (vehicle unfit, meter offline …); no result is produced."""
        if self.step in (TestStep.COMPLETE, TestStep.ABORTED):
            raise ValueError(f"the test is already {self.step.value}")
        self._reasons.append(InvalidReason("aborted", reason_zh, reason_en))
        self._move(TestStep.ABORTED)

    # -- internals ---------------------------------------------------------------------------

    def _count(self, detected: DetectedAcceleration) -> AccelerationRun | None:
        if self.step is TestStep.PURGE:
            if not detected.reached_governed:
                self._purge_rejected = True  # a half-hearted purge does not clear the exhaust
                return None
            run = AccelerationRun.of(detected, RunKind.PURGE, self.purge_count + 1)
            self.runs.append(run)
            if self.purge_count >= self.config.min_purge_accelerations:
                self._move(TestStep.MEASURE)
            return run
        run = AccelerationRun.of(detected, RunKind.MEASURE, len(self.measured_runs) + 1)
        self.runs.append(run)
        if not run.reached_governed:
            self._reasons.append(
                InvalidReason(
                    "governed_speed_not_reached",
                    f"第{run.number}次测量加速未达到额定转速（最高 {run.max_rpm} r/min，"
                    f"要求 ≥ {self.governed_rpm_min} r/min）",
                    f"measured acceleration {run.number} did not reach governed speed "
                    f"(max {run.max_rpm} r/min, needs ≥ {self.governed_rpm_min} r/min)",
                )
            )
            self._complete()
        elif len(self.measured_runs) >= self.config.measured_accelerations:
            self._complete()
        return run

    def _complete(self) -> None:
        peaks = tuple(Decimal(repr(run.peak_k_m1)) for run in self.measured_runs)
        mean = None
        if len(peaks) == self.config.measured_accelerations:
            exact = sum(peaks, Decimal(0)) / len(peaks)
            mean = exact.quantize(Decimal(1).scaleb(-self.config.result_decimals), ROUND_HALF_EVEN)
            if not self._reasons:
                self._reasons.extend(self._consistency(peaks))
        valid = not self._reasons
        passed = None
        if valid:
            assert mean is not None
            judged = mean if self.config.compare_rounded else exact
            passed = judged <= Decimal(repr(self.limit.k_max_m1))
        self._move(TestStep.COMPLETE)
        self._result = FreeAccelerationResult(
            valid=valid,
            passed=passed,
            peaks_k_m1=peaks,
            mean_k_m1=mean,
            limit=self.limit,
            reasons=tuple(self._reasons),
            runs=tuple(self.runs),
            idle_rpm=round(median(self._idle_rpms)) if self._idle_rpms else None,
            process_data=tuple(self._process),
            started_at=self.started_at,
            finished_at=self._clock.now(),
        )

    def _consistency(self, peaks: tuple[Decimal, ...]) -> list[InvalidReason]:
        reasons = []
        limit = self.config.consistency_max_spread_m1
        spread = max(peaks) - min(peaks)
        shown = f"{spread:.{self.config.result_decimals}f}"
        if limit is not None and spread > Decimal(repr(limit)):
            reasons.append(
                InvalidReason(
                    "inconsistent_peaks",
                    f"{len(peaks)}次测量值极差 {shown} m⁻¹ 超过 {limit} m⁻¹"
                    f"（依据：{self.config.consistency_source}）",
                    f"the {len(peaks)} measured peaks spread {shown} m⁻¹, more than {limit} m⁻¹",
                )
            )
        decreasing = all(a > b for a, b in pairwise(peaks))
        if self.config.consistency_reject_decreasing and len(peaks) > 1 and decreasing:
            reasons.append(
                InvalidReason(
                    "decreasing_peaks",
                    "测量值逐次递减，排气系统尚未吹拂干净",
                    "the measured peaks keep decreasing: the exhaust is not purged yet",
                )
            )
        return reasons

    def _record_process(self, sample: SmokeSample) -> None:
        if self._next_tick is None:
            self._next_tick = sample.at
        while self._next_tick <= sample.at:
            source = sample if sample.at == self._next_tick or self._last is None else self._last
            self._process.append(
                ProcessSample(
                    second=len(self._process),
                    at=self._next_tick,
                    n_pct=source.n_pct,
                    k_m1=source.k_m1,
                    rpm=source.rpm,
                    step=self.step,
                    stale=self._next_tick - source.at > self._interval,
                )
            )
            self._next_tick += self._interval

    def _move(self, step: TestStep) -> None:
        if step not in STEP_TRANSITIONS[self.step]:
            raise ValueError(f"cannot go from {self.step.value} to {step.value}")
        self.step = step

    def _require(self, step: TestStep) -> None:
        if self.step is not step:
            raise ValueError(f"the test is at {self.step.value}, not {step.value}")
