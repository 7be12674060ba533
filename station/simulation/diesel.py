"""The diesel smoke test in the simulated day: the real procedure, the real meter driver and
the meter simulator, on a stepped clock (a test of ~40 s of engine time takes a moment)."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from typing import Any

from drivers.smoke_meter import MeterStatus, Nht6Meter, SmokeMeterConfig
from simulators.smoke_meter import SmokeMeterSimulator, SteppedClock, registry
from station.clock import Clock, ManualClock
from station.emissions import EnginePhase, FreeAccelerationResult, FreeAccelerationTest, TestStep
from station.errors import Conflict
from station.services import emission_tests
from station.services.actors import Actor

POLL_S = 0.1
IDLE_GAP_S = 2.0
_names = itertools.count()


def measure(config: Any, *, start: datetime, failing: bool, seed: int) -> FreeAccelerationResult:
    """One whole free-acceleration test of a simulated engine ("failing" or "clean")."""
    name = f"station-day-{next(_names)}"
    clock = SteppedClock()
    sim = registry.add(name, SmokeMeterSimulator(profile="failing" if failing else "clean",
                                                 warmup_s=0, clock=clock, line_baud=0, seed=seed))
    try:
        meter = Nht6Meter(SmokeMeterConfig(url=f"nht6sim://{name}", reply_timeout_s=1.0),
                          clock=lambda: start + timedelta(seconds=clock.now()))
        test = FreeAccelerationTest(config, clock=ManualClock(start))
        with meter:
            sim.remove_probe()
            meter.zero()
            clock.advance(1.0)
            test.confirm_zero(warmed_up=meter.status() is MeterStatus.MEASURING,
                              zero_n_pct=meter.read_realtime().n_pct)
            sim.insert_probe()
            meter.clear_max()
            next_press = clock.now() + IDLE_GAP_S
            for _ in range(int(180 / POLL_S)):
                if test.step is TestStep.COMPLETE:
                    break
                if test.engine_phase is EnginePhase.IDLE and clock.now() >= next_press:
                    next_press = sim.free_acceleration().end + IDLE_GAP_S
                clock.advance(POLL_S)
                test.feed(meter.read_realtime())
        if test.result is None:
            raise RuntimeError("the simulated free-acceleration test did not complete")
        return test.result
    finally:
        registry.remove(name)


def record_free_acceleration(session: Any, clock: Clock, actor: Actor, station_id: int,
                             visit_id: int, *, failing: bool, seed: int) -> None:
    """Plan (the instrument must be usable), measure and record, as the emission page does."""
    plan, refused = emission_tests.plan(session, clock, actor, station_id, visit_id)
    if refused is not None:
        raise refused
    if plan is None:
        raise Conflict("emission_not_planned", "无法开始检测", "The test cannot start")
    for attempt in range(3):  # an invalid run (engine off governed speed …) is measured again
        result = measure(plan.config, start=clock.now(), failing=failing, seed=seed + attempt)
        emission_tests.record_result(session, clock, actor, plan, result)
        if result.valid:
            return
    raise RuntimeError(f"three invalid free-acceleration tests for visit {visit_id}")
