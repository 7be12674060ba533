"""``python -m simulators.camera --out lane1.avi --duration 120 --script demo``

Writes a synthetic lane video (MJPG in AVI) and ``<stem>.truth.json`` beside it: station ROIs,
suggested privacy masks, the script, the ground-truth arrivals/departures and light switches.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import time
from pathlib import Path

from simulators.camera.lighting import LightingSpec
from simulators.camera.scene import LaneScene
from simulators.camera.script import NAMED_SCRIPTS, named_script
from simulators.camera.simulator import VIDEO_SUFFIX, LaneSimulator


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m simulators.camera", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, type=Path, help=f"video file to write ({VIDEO_SUFFIX})")
    parser.add_argument("--duration", type=float, default=120.0, help="seconds of video (default 120)")
    parser.add_argument("--script", default="demo",
                        help=f"{' | '.join(NAMED_SCRIPTS)} or a JSON file of [t_enter, station, dwell_s]")
    parser.add_argument("--fps", type=float, default=10.0, help="frames per second (default 10)")
    parser.add_argument("--width", type=int, default=LaneScene.width, help="frame width in pixels")
    parser.add_argument("--height", type=int, default=LaneScene.height, help="frame height in pixels")
    parser.add_argument("--seed", type=int, default=1, help="random seed: cars, lighting, noise")
    parser.add_argument("--noise", type=float, default=LightingSpec.noise_sigma, help="sensor noise σ (8-bit levels)")
    parser.add_argument("--jitter", type=int, default=LightingSpec.jitter_px, help="camera jitter, ± pixels")
    parser.add_argument("--steady-light", action="store_true", help="no clouds, switching or flicker")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    scene = LaneScene(width=args.width, height=args.height)
    base = LightingSpec.steady() if args.steady_light else LightingSpec()
    lighting = dataclasses.replace(base, noise_sigma=args.noise, jitter_px=args.jitter)
    try:
        script = named_script(args.script, scene, args.duration, args.seed)
        simulator = LaneSimulator(scene, script, lighting, duration=args.duration, seed=args.seed)
        started = time.perf_counter()
        truth = simulator.write_video(args.out, fps=args.fps)
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    arrivals = sum(e.present for e in simulator.truth)
    print(f"wrote {args.out} ({round(args.duration * args.fps)} frames, {args.width}x{args.height} @ {args.fps:g} fps, "
          f"{time.perf_counter() - started:.1f} s)")
    print(f"wrote {truth} ({len(simulator.plans)} cars, {arrivals} arrivals, "
          f"{len(simulator.truth) - arrivals} departures, {len(simulator.lighting.switches)} light switches)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
