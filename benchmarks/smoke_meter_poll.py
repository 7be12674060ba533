"""Benchmark: the smoke-meter driver polling a simulated NHT-6 over a pty at 10 Hz.

The simulator runs in its own process behind a real pseudo-terminal (the driver opens it as it
would open /dev/ttyUSB0) and accelerates the engine by itself every few seconds of test time.
What is scaled and what is not:

- the simulator's *test clock* is scaled so that ``--simulated-s`` (default 600 s = 10 minutes
  of test time) pass within the wall-clock window: engine, smoke curves and warm-up run fast;
- the *poll rate is real*: the poller polls at 10 real polls per second, each a real serial
  exchange with real reply timing (wire time of 9600 baud included).

By default the window is 30 real seconds; ``--full`` polls for the whole 10 minutes in real time
with the simulator unscaled. Measured: readings per real second (hz), poll slots skipped because
an exchange overran (missed), failed polls, and the CPU of the polling process as a percentage
of one core (``time.process_time`` over the window). The simulator's CPU is printed separately.

The last line is ``RESULT smoke_meter_poll hz=<float> missed=<n> cpu_pct=<float>``.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from drivers.smoke_meter import MeterPoller, MeterState, Nht6Meter, Reading, SmokeMeterConfig

ROOT = Path(__file__).resolve().parents[1]
#: simulated test time covered by one run (10 minutes)
SIMULATED_TEST_S = 600.0
#: real seconds polled by default (the simulator's clock is scaled to fit the test time in)
DEFAULT_WALL_S = 30.0
#: test seconds between the simulator's own free accelerations
ACCELERATE_EVERY_S = 10.0
#: real seconds to wait for the simulator and the first "ready"
STARTUP_TIMEOUT_S = 20.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wall-s", type=float, default=DEFAULT_WALL_S, help="real seconds to poll")
    parser.add_argument("--simulated-s", type=float, default=SIMULATED_TEST_S, help="test seconds to cover")
    parser.add_argument("--full", action="store_true", help="poll the whole test time in real time")
    parser.add_argument("--hz", type=float, default=SmokeMeterConfig.poll_hz, help="polls per second")
    parser.add_argument("--profile", default="clean")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    wall_s = args.simulated_s if args.full else args.wall_s
    time_scale = args.simulated_s / wall_s
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "simulators.smoke_meter",
            "--pty",
            "--warmup-s",
            "0",
            "--profile",
            args.profile,
            "--time-scale",
            str(time_scale),
            "--auto-accelerate",
            str(ACCELERATE_EVERY_S),
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sim.stdout is not None
        path = sim.stdout.readline().strip()
        if not path:
            raise SystemExit("the simulator did not start")
        meter = Nht6Meter(SmokeMeterConfig(url=path, poll_hz=args.hz, name="bench"))
        poller = MeterPoller(meter)
        peak_k = [0.0]

        def on_reading(reading: Reading) -> None:
            peak_k[0] = max(peak_k[0], reading.k_m1)

        poller.subscribe(on_reading)
        poller.start()
        try:
            if not poller.wait_for_state(MeterState.READY, STARTUP_TIMEOUT_S):
                raise SystemExit(f"the meter did not become ready: {poller.state}")
            before, wall0, cpu0 = poller.stats, time.monotonic(), time.process_time()
            time.sleep(wall_s)
            after, wall1, cpu1 = poller.stats, time.monotonic(), time.process_time()
            load = os.getloadavg()
        finally:
            poller.stop()
    finally:
        sim.terminate()
        sim.wait(STARTUP_TIMEOUT_S)
    elapsed = wall1 - wall0
    hz = (after.readings - before.readings) / elapsed
    missed = after.missed - before.missed
    failures = after.failures - before.failures
    cpu_pct = 100.0 * (cpu1 - cpu0) / elapsed
    child = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(f"pty {path}, {args.hz:g} Hz target, {elapsed:.1f} s real, {args.simulated_s:g} s test time "
          f"(time scale x{time_scale:g}), profile {args.profile}")
    print(f"readings {after.readings - before.readings}, failures {failures}, highest k {peak_k[0]:.2f} m-1")
    # other work on the machine delays the simulator's answers past the 100 ms reply timeout
    print(f"machine load average {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f} (1 / 5 / 15 min)")
    print(f"simulator process cpu_pct={100.0 * (child.ru_utime + child.ru_stime) / elapsed:.2f} "
          "(whole run, start-up included)")
    print(f"RESULT smoke_meter_poll hz={hz:.3f} missed={missed} cpu_pct={cpu_pct:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
