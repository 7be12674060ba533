"""The station-day simulator on the demo station: our queue policy against first come, first
served on the same days, and an overload day against the capacity bound.

    python benchmarks/station_day.py [--seeds 10] [--vehicles 300] [--overload-seeds 3]

1. A realistic day (300 vehicles, 60 % booked, morning peak) for ``--seeds`` seeds under both
   policies (common random numbers): mean waiting of booked and of walk-in vehicles, ours/FIFO.
2. An overload day — demand 130 % of the capacity bound — under our policy: vehicles tested
   in the working day as a share of the bound.
3. The time one 300-vehicle day takes to simulate (one process).

Last line: RESULT station_day booked_wait_ratio=<f> walkin_wait_ratio=<f>
overload_throughput_share=<f> max_walkin_wait_min=<f>
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script or a module
from station.simulation import compare, figures
from station.simulation.model import StationDay, build_template, temporary_workdir
from station.simulation.profile import DayProfile


def one_day_seconds(profile: DayProfile) -> tuple[float, float]:
    """Wall time of one day in this process, and the day's capacity bound (cars)."""
    work = temporary_workdir()
    template = build_template(work / "template.db", profile.day)
    started = time.perf_counter()
    run = StationDay(profile, seed=999, policy="priority", template=template, workdir=work).run()
    elapsed = time.perf_counter() - started
    return elapsed, figures.day_figures(run).capacity_per_day


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--vehicles", type=int, default=300)
    parser.add_argument("--overload-seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=None)
    args = parser.parse_args()
    profile = DayProfile(vehicles=args.vehicles)

    day_s, capacity = one_day_seconds(profile)
    print(f"one day of {profile.vehicles} vehicles: {day_s:.1f} s; capacity bound {capacity:.0f} "
          f"cars/day", flush=True)

    started = time.perf_counter()
    days = compare.run_days(profile, range(args.seeds), workers=args.workers)
    result = compare.compare(days)
    for policy in compare.POLICIES:
        f = result.figures[policy]
        print(f"{policy}: booked waiting {f['booked.waiting.mean'][0]:.1f} ± "
              f"{f['booked.waiting.mean'][1]:.1f} min, walk-in {f['walk_in.waiting.mean'][0]:.1f} ± "
              f"{f['walk_in.waiting.mean'][1]:.1f} min, to a counter booked "
              f"{f['booked.counter_wait.mean'][0]:.1f} / walk-in {f['walk_in.counter_wait.mean'][0]:.1f},"
              f" in station {f['all.in_station.median'][0]:.0f} min median", flush=True)
    print(f"{len(days)} days in {time.perf_counter() - started:.0f} s", flush=True)

    overload = profile.scaled(1.3 * capacity / profile.vehicles)
    heavy = compare.run_days(overload, range(args.overload_seeds), ("priority",),
                             workers=args.workers)
    share = sum(d.throughput_share for d in heavy) / len(heavy)
    print(f"overload: {overload.vehicles} vehicles, tested in the day "
          f"{sum(d.tested for d in heavy) / len(heavy):.0f}, share of the bound {share:.3f}",
          flush=True)
    print(f"RESULT station_day booked_wait_ratio={result.booked_wait_ratio:.3f} "
          f"walkin_wait_ratio={result.walkin_wait_ratio:.3f} overload_throughput_share={share:.3f} "
          f"max_walkin_wait_min={result.max_walkin_wait_min['priority']:.1f}")


if __name__ == "__main__":
    main()
