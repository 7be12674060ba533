"""Run a simulated NHT-6 on its own: ``python -m simulators.smoke_meter --pty`` or ``--tcp 7001``.

The first line on stdout is where to connect: the pty's device path, or
``socket://127.0.0.1:PORT``. Then commands are read from stdin, one per line:

    accel            one free acceleration (``accel partial`` misses governed speed)
    probe in|out     put the probe into the tailpipe or take it out (clean air, for zeroing)
    faults SPEC      set the fault switches, e.g. ``faults no_answer`` or ``faults nak=3``
    clear            clear all faults
    status           print status, faults and the current N, k, rpm
    quit             stop

``--auto-accelerate S`` presses the pedal every S seconds of test time by itself (the benchmark
uses it). SIGINT / SIGTERM stop the simulator cleanly; end of stdin does not.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from simulators.smoke_meter.clock import ScaledClock
from simulators.smoke_meter.links import PtyServer, TcpServer
from simulators.smoke_meter.meter import (
    DEFAULT_LINE_BAUD,
    DEFAULT_WARMUP_S,
    Faults,
    SmokeMeterSimulator,
)
from simulators.smoke_meter.vehicle import PROFILES


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m simulators.smoke_meter", description=__doc__.splitlines()[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--pty", action="store_true", help="serve on a new pseudo-terminal")
    where.add_argument("--tcp", type=int, metavar="PORT", help="serve on 127.0.0.1:PORT (0 = any free port)")
    parser.add_argument("--profile", choices=sorted(PROFILES), default="clean")
    parser.add_argument("--variant", choices=("nht6", "nht1l"), default="nht6")
    parser.add_argument("--warmup-s", type=float, default=DEFAULT_WARMUP_S, help="warm-up in test seconds")
    parser.add_argument("--time-scale", type=float, default=1.0, help="test seconds per real second")
    parser.add_argument(
        "--faults", type=Faults.parse, default=Faults(), help="fault switches, e.g. 'no_answer' or 'nak=3,delay=0.2'"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--line-baud", type=int, default=DEFAULT_LINE_BAUD, help="0 = answers without wire time")
    parser.add_argument(
        "--auto-accelerate", type=float, metavar="S", help="free acceleration every S test seconds"
    )
    return parser.parse_args(argv)


def _auto_accelerate(sim: SmokeMeterSimulator, clock: ScaledClock, every_s: float, stop: threading.Event) -> None:
    next_at = clock.now()
    while not stop.wait(max(0.0, clock.real_seconds(next_at - clock.now()))):
        sim.free_acceleration()
        next_at += every_s


def _command(sim: SmokeMeterSimulator, line: str, stop: threading.Event) -> str:
    word, _, rest = line.strip().partition(" ")
    if word == "accel":
        acc = sim.free_acceleration(reach_governed=rest.strip() != "partial")
        return f"acceleration {acc.number}: top {acc.top_rpm:.0f} r/min, peak k {acc.peak_k_m1:.2f} m-1"
    if word == "probe" and rest.strip() in ("in", "out"):
        (sim.insert_probe if rest.strip() == "in" else sim.remove_probe)()
        return f"probe {rest.strip()}"
    if word == "faults":
        sim.set_faults(rest.strip())
        return f"faults: {sim.faults.describe()}"
    if word == "clear":
        sim.clear_faults()
        return "faults: none"
    if word == "status":
        now = sim.snapshot()
        return (
            f"status {sim.status().name}, faults {sim.faults.describe()}, "
            f"N {now['n_pct']:.1f} %, k {now['k_m1']:.2f} m-1, {now['rpm']:.0f} r/min"
        )
    if word == "quit":
        stop.set()
        return "bye"
    return "commands: accel [partial] | probe in|out | faults SPEC | clear | status | quit"


def _read_commands(sim: SmokeMeterSimulator, stop: threading.Event) -> None:
    for line in sys.stdin:
        if line.strip():
            try:
                print(_command(sim, line, stop), file=sys.stderr, flush=True)
            except ValueError as exc:
                print(f"error: {exc}", file=sys.stderr, flush=True)
        if stop.is_set():
            return


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    clock = ScaledClock(args.time_scale)
    sim = SmokeMeterSimulator(
        profile=args.profile,
        variant=args.variant,
        warmup_s=args.warmup_s,
        clock=clock,
        faults=args.faults,
        seed=args.seed,
        line_baud=args.line_baud,
    )
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    server = PtyServer(sim) if args.pty else TcpServer(sim, port=args.tcp)
    with server:
        print(server.path if isinstance(server, PtyServer) else server.url, flush=True)
        print(
            f"NHT-6 simulator: {args.variant}, profile {args.profile}, time x{args.time_scale}, "
            f"faults {sim.faults.describe()}",
            file=sys.stderr,
            flush=True,
        )
        threading.Thread(target=_read_commands, args=(sim, stop), daemon=True).start()
        if args.auto_accelerate:
            threading.Thread(
                target=_auto_accelerate, args=(sim, clock, args.auto_accelerate, stop), daemon=True
            ).start()
        while not stop.wait(1.0):
            continue
    return 0


if __name__ == "__main__":
    sys.exit(main())
