"""Live work with a smoke meter: the technician's daily check and the inspector's
free-acceleration test, both through the device manager's driver of the meter.

These objects live in the one process that runs the devices (``station.runtime``); the
database side (may the meter be used, what is recorded) is ``station.services``. A test runs
on its own thread: it polls real-time data at the configured rate (drift-free schedule, as the
driver's poller), feeds every reading to the pure GB 3847 procedure and keeps the readings in a
bounded buffer the lane terminal polls for its live chart.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from drivers.errors import DeviceError
from drivers.smoke_meter import MeterStatus, PollSchedule, SmokeMeter
from station.clock import Clock
from station.db import Database
from station.emissions import FreeAccelerationTest, TestStep
from station.errors import Conflict
from station.services.actors import Actor

from . import DeviceManager

log = logging.getLogger(__name__)

#: readings averaged for one opacity value of the daily check
AVERAGE_SAMPLES = 5
AVERAGE_INTERVAL_S = 0.1
#: how long a zero calibration may keep the meter in "calibrating"
ZERO_SETTLE_TIMEOUT_S = 8.0
#: consecutive failed polls after which a running test is aborted
TEST_MAX_FAILURES = 3
#: readings kept for the live chart (5 minutes at 10 Hz)
CHART_BUFFER = 3000


def _device_error(devices: DeviceManager, device_id: int, exc: DeviceError) -> Conflict:
    devices.report_failure(device_id, exc)
    return Conflict("meter_unavailable", f"烟度计通讯失败：{exc}",
                    f"The smoke meter failed to answer: {exc}", code_detail=exc.code)


def average_n(meter: SmokeMeter, samples: int = AVERAGE_SAMPLES,
              interval_s: float = AVERAGE_INTERVAL_S) -> float:
    values = []
    for i in range(samples):
        if i:
            time.sleep(interval_s)
        values.append(meter.read_realtime().n_pct)
    return round(sum(values) / len(values), 2)


def zero_meter(meter: SmokeMeter, *, settle_timeout_s: float = ZERO_SETTLE_TIMEOUT_S) -> float:
    """Zero the meter in clean air (调零) and return the opacity it reads afterwards."""
    status = meter.status()
    if status is MeterStatus.WARMING_UP:
        raise Conflict("meter_warming_up", "烟度计尚在预热，请等待预热完成后再调零",
                       "The smoke meter is still warming up: zero it once warm-up has finished")
    if status is MeterStatus.INTERNAL_FAULT:
        raise Conflict("meter_fault", "烟度计报告内部通讯故障", "The smoke meter reports an internal fault")
    meter.zero()
    deadline = time.monotonic() + settle_timeout_s
    while meter.status() is not MeterStatus.MEASURING:
        if time.monotonic() > deadline:
            raise Conflict("meter_zero_timeout", "调零后烟度计未回到测量状态",
                           "The smoke meter did not return to measuring after zeroing")
        time.sleep(0.1)
    return average_n(meter)


@dataclass
class DailyCheckRun:
    """A technician's daily check in progress (日常检查): zero, then one filter at a time."""

    instrument_id: int
    device_id: int
    started_at: datetime
    zero_n_pct: float | None = None
    #: (nominal, measured) of every filter read so far
    points: list[tuple[float, float]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"instrument_id": self.instrument_id, "zero_n_pct": self.zero_n_pct,
                "points": [{"nominal": n, "measured": m, "error": round(m - n, 2)}
                           for n, m in self.points]}


class EmissionTestRun:
    """One free-acceleration test running against a meter on its own thread."""

    def __init__(self, *, plan: Any, meter: SmokeMeter, simulator: Any, clock: Clock,
                 on_finish: Callable[[EmissionTestRun], None],
                 on_device_error: Callable[[DeviceError], None]) -> None:
        self.plan = plan
        self.meter = meter
        self.simulator = simulator
        self.clock = clock
        self.test = FreeAccelerationTest(plan.config, clock=clock)
        self._on_finish = on_finish
        self._on_device_error = on_device_error
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._readings: deque[tuple[int, float, float, float, int]] = deque(maxlen=CHART_BUFFER)
        self._seq = 0
        self._t0 = time.monotonic()
        self.record_id: int | None = None
        self.error: str | None = None
        self.finished = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True,
                                        name=f"free-acceleration:{plan.station_id}")

    # -- control -------------------------------------------------------------------------------

    def start(self) -> EmissionTestRun:
        self._thread.start()
        return self

    def confirm_zero(self) -> None:
        try:
            status = self.meter.status()
            if status is MeterStatus.WARMING_UP:
                with self._lock:
                    self.test.confirm_zero(warmed_up=False)
                raise Conflict("meter_warming_up", "烟度计尚在预热，请等待预热完成",
                               "The smoke meter is still warming up")
            zero_n = zero_meter(self.meter)
        except DeviceError as exc:
            self._on_device_error(exc)
            raise Conflict("meter_unavailable", f"烟度计通讯失败：{exc}",
                           f"The smoke meter failed to answer: {exc}") from exc
        with self._lock:
            if self.test.step is not TestStep.ZERO_CHECK:
                raise Conflict("test_not_at_zero", "检测不在调零步骤", "The test is not at the zero step")
            ok = self.test.confirm_zero(warmed_up=True, zero_n_pct=zero_n)
        if not ok:
            raise Conflict("zero_out_of_tolerance", self.test.prompt.zh, self.test.prompt.en,
                           zero_n_pct=zero_n)

    def abort(self, reason_zh: str, reason_en: str) -> None:
        with self._lock:
            if self.test.step in (TestStep.COMPLETE, TestStep.ABORTED):
                return
            self.test.abort(reason_zh, reason_en)
        self._stop.set()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    # -- what the screen polls -----------------------------------------------------------------

    def snapshot(self, after: int = 0) -> dict[str, Any]:
        with self._lock:
            test = self.test
            readings = [r for r in self._readings if r[0] > after]
            result = test.result
            return {
                "station_id": self.plan.station_id, "visit_id": self.plan.visit_id,
                "plate": self.plan.plate, "step": test.step.value,
                "phase": test.engine_phase.value,
                "prompt": {"code": test.prompt.code, "zh": test.prompt.zh, "en": test.prompt.en},
                "purge_count": test.purge_count,
                "purge_needed": test.config.min_purge_accelerations,
                "measured": [round(r.peak_k_m1, 2) for r in test.measured_runs],
                "measured_needed": test.config.measured_accelerations,
                "limit": {"name": test.limit.name, "label": test.limit.label_zh,
                          "k_max_m1": test.limit.k_max_m1, "source": test.limit.source},
                "readings": [{"seq": s, "t": round(t, 2), "n": n, "k": k, "rpm": rpm}
                             for s, t, n, k, rpm in readings],
                "seq": self._seq,
                "result": None if result is None else {
                    "valid": result.valid, "passed": result.passed,
                    "mean_k_m1": None if result.mean_k_m1 is None else str(result.mean_k_m1),
                    "peaks_k_m1": [str(p) for p in result.peaks_k_m1],
                    "verdict": result.verdict_zh,
                    "reasons": [r.zh for r in result.reasons]},
                "record_id": self.record_id, "error": self.error,
                "finished": self.finished.is_set(),
                "simulated": self.simulator is not None,
            }

    # -- the thread ------------------------------------------------------------------------------

    def _run(self) -> None:
        schedule = PollSchedule(1.0 / self.plan.poll_hz, time.monotonic())
        failures = 0
        try:
            while not self._stop.is_set():
                if self._stop.wait(max(0.0, schedule.deadline - time.monotonic())):
                    break
                try:
                    reading = self.meter.read_realtime()
                    failures = 0
                except DeviceError as exc:
                    failures += 1
                    if failures >= TEST_MAX_FAILURES:
                        self._on_device_error(exc)
                        self.error = f"烟度计无响应：{exc}"
                        self.abort("烟度计无响应，检测中止", f"the smoke meter stopped answering: {exc}")
                        break
                    schedule.advance(time.monotonic())
                    continue
                with self._lock:
                    self._seq += 1
                    self._readings.append((self._seq, time.monotonic() - self._t0,
                                           reading.n_pct, reading.k_m1, reading.rpm))
                    if self.test.step not in (TestStep.COMPLETE, TestStep.ABORTED):
                        self.test.feed(reading)
                    done = self.test.step in (TestStep.COMPLETE, TestStep.ABORTED)
                if done:
                    break
                schedule.advance(time.monotonic())
        except Exception as exc:  # never leave a test hanging without telling the screen
            log.exception("free-acceleration test at station %s failed", self.plan.station_id)
            self.error = str(exc)
            self.abort("检测程序出错", f"the test failed: {exc}")
        finally:
            try:
                self._on_finish(self)
            except Exception as exc:
                log.exception("recording the free-acceleration test failed")
                self.error = f"结果保存失败：{exc}"
            self.finished.set()


class SmokeSessions:
    """The live daily checks (by instrument) and tests (by station) of this process."""

    def __init__(self, db: Database, clock: Clock, devices: DeviceManager) -> None:
        self.db, self.clock, self.devices = db, clock, devices
        self.daily: dict[int, DailyCheckRun] = {}
        self.tests: dict[int, EmissionTestRun] = {}
        self._lock = threading.Lock()

    def meter(self, device_id: int) -> tuple[SmokeMeter, Any]:
        """The driver (and demo simulator) of a ready smoke meter; DeviceUnavailable if not."""
        handle = self.devices.handle(device_id)
        meter = getattr(handle, "meter", None)
        if meter is None:
            raise Conflict("not_a_smoke_meter", "该设备不是烟度计", "That device is not a smoke meter")
        return meter, getattr(handle, "simulator", None)

    # -- daily check -----------------------------------------------------------------------------

    def start_daily(self, instrument_id: int, device_id: int) -> DailyCheckRun:
        self.meter(device_id)  # refuse at once when the meter is not on the line
        run = DailyCheckRun(instrument_id, device_id, self.clock.now())
        with self._lock:
            self.daily[instrument_id] = run
        return run

    def daily_run(self, instrument_id: int) -> DailyCheckRun:
        run = self.daily.get(instrument_id)
        if run is None:
            raise Conflict("daily_check_not_started", "请先开始日常检查", "Start the daily check first")
        return run

    def daily_zero(self, instrument_id: int) -> float:
        run = self.daily_run(instrument_id)
        meter, _ = self.meter(run.device_id)
        try:
            run.zero_n_pct = zero_meter(meter)
        except DeviceError as exc:
            raise _device_error(self.devices, run.device_id, exc) from exc
        run.points.clear()
        return run.zero_n_pct

    def daily_measure(self, instrument_id: int) -> float:
        """The opacity the meter reads now (the filter being in the beam)."""
        run = self.daily_run(instrument_id)
        if run.zero_n_pct is None:
            raise Conflict("zero_first", "请先在清洁空气中调零", "Zero the meter in clean air first")
        meter, _ = self.meter(run.device_id)
        try:
            status = meter.status()
            if status is not MeterStatus.MEASURING:
                raise Conflict("meter_not_measuring", "烟度计不在测量状态", "The meter is not measuring",
                               status=status.name)
            return average_n(meter)
        except DeviceError as exc:
            raise _device_error(self.devices, run.device_id, exc) from exc

    def finish_daily(self, instrument_id: int) -> DailyCheckRun:
        with self._lock:
            return self.daily.pop(instrument_id)

    def discard_daily(self, instrument_id: int) -> None:
        with self._lock:
            self.daily.pop(instrument_id, None)

    # -- free-acceleration test ------------------------------------------------------------------

    def start_test(self, plan: Any, actor: Actor,
                   record: Callable[[EmissionTestRun], int | None]) -> EmissionTestRun:
        with self._lock:
            running = self.tests.get(plan.station_id)
            if running is not None and not running.finished.is_set():
                raise Conflict("test_running", "该工位已有检测在进行", "A test is already running here")
            meter, simulator = self.meter(plan.device_id)

            def finish(run: EmissionTestRun) -> None:
                run.record_id = record(run)

            run = EmissionTestRun(plan=plan, meter=meter, simulator=simulator, clock=self.clock,
                                  on_finish=finish,
                                  on_device_error=lambda exc: self.devices.report_failure(
                                      plan.device_id, exc))
            self.tests[plan.station_id] = run
        return run.start()

    def test_at(self, station_id: int) -> EmissionTestRun | None:
        return self.tests.get(station_id)

    def stop(self) -> None:
        for run in list(self.tests.values()):
            run.stop()
