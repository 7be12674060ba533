"""Benchmark: four simulated lane cameras through capture, presence detection and lobby streams.

Each camera replays a generated lane video (MJPG .avi, three stations, cars following the
"demo" script, clouds, lamp banks switching, flicker, sensor noise, jitter) in real time at
``--fps``, exactly as ``drivers.camera.Camera`` reads a file or an IP camera: decode on the
camera's own thread, latest frame only. Per camera:

    capture (decode) → StationWatcher (presence per station ROI) → StreamBroadcaster
    (2 fps, privacy masks, plate finder, JPEG) → one MJPEG viewer consuming the body

Video generation happens before the measured window (in worker processes) and is not counted.
Measured over the window: frames analysed per second per camera (fps), the CPU of this process
— all cameras, detectors, encoders and viewers — as a percentage of one core
(``time.process_time``), recall (share of scripted arrivals/departures matched by a detector
event of the same station and direction within ``--tolerance-s``, times taken from the camera
clock relative to the camera's first frame, so pipeline lag counts), and false events
(detector events matching no ground-truth event).

The last line is
``RESULT cameras n=<n> fps=<float> cpu_pct_of_core=<float> recall=<float> false_events=<n>``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import cv2

from drivers.camera import Camera, CameraState, PresenceEvent, StationWatcher, StreamBroadcaster
from simulators.camera import LaneScene, LaneSimulator, named_script, truth_path

CAMERAS = 4
FPS = 10.0
VIDEO_S = 60.0
WIDTH, HEIGHT = 1280, 720
STREAM = {"width": 480, "fps": 2.0}
TOLERANCE_S = 1.0
SEED = 1
#: extra wall time allowed beyond the video length before the run is declared stuck
GRACE_S = 60.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cameras", type=int, default=CAMERAS)
    parser.add_argument("--fps", type=float, default=FPS)
    parser.add_argument("--duration", type=float, default=VIDEO_S, help="seconds of video per camera")
    parser.add_argument("--width", type=int, default=WIDTH)
    parser.add_argument("--height", type=int, default=HEIGHT)
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--tolerance-s", type=float, default=TOLERANCE_S)
    parser.add_argument("--workdir", type=Path, help="keep the generated videos here (default: a temp dir)")
    return parser.parse_args()


def _single_threaded_opencv() -> None:
    # one OpenCV thread per generator process: the processes already use every core
    cv2.setNumThreads(1)


def generate(args: tuple[Path, int, float, float, int, int]) -> tuple[Path, float]:
    path, seed, duration, fps, width, height = args
    started = time.perf_counter()
    scene = LaneScene(width=width, height=height)
    simulator = LaneSimulator(scene, named_script("demo", scene, duration, seed), duration=duration, seed=seed)
    simulator.write_video(path, fps=fps)
    return path, time.perf_counter() - started


@dataclass
class Lane:
    camera: Camera
    watcher: StationWatcher
    broadcaster: StreamBroadcaster
    truth: dict
    events: list[PresenceEvent] = field(default_factory=list)
    first_frame_at: float | None = None
    last_frame_at: float | None = None
    stream_bytes: int = 0
    stream_parts: int = 0


def score(lane: Lane, tolerance: float) -> tuple[int, int, int, list[float]]:
    """(scripted events, matched, false detector events, latencies of the matches)."""
    truth = [dict(e) for e in lane.truth["events"]]
    scripted = [e for e in truth if e["scripted"]]
    unmatched = list(truth)
    latencies = []
    false = 0
    for event in lane.events:
        t = event.at - lane.first_frame_at
        candidates = [e for e in unmatched if e["station"] == event.station
                      and (e["kind"] == "arrived") == event.present and abs(e["t"] - t) <= tolerance]
        if not candidates:
            false += 1
            continue
        best = min(candidates, key=lambda e: abs(e["t"] - t))
        unmatched.remove(best)
        latencies.append(t - best["t"])
    matched = sum(1 for e in scripted if e not in unmatched)
    return len(scripted), matched, false, latencies


def main() -> int:
    args = parse_args()
    temp = None if args.workdir else tempfile.TemporaryDirectory(prefix="cameras-bench-")
    workdir = args.workdir or Path(temp.name)
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        jobs = [(workdir / f"lane{i + 1}.avi", args.seed + i, args.duration, args.fps, args.width, args.height)
                for i in range(args.cameras)]
        started = time.perf_counter()
        with ProcessPoolExecutor(initializer=_single_threaded_opencv) as pool:
            for path, seconds in pool.map(generate, jobs):
                print(f"generated {path.name} in {seconds:.1f} s")
        print(f"video generation: {time.perf_counter() - started:.1f} s wall (not measured)")
        return run(args, [job[0] for job in jobs])
    finally:
        if temp is not None:
            temp.cleanup()


def run(args: argparse.Namespace, videos: list[Path]) -> int:
    lanes: list[Lane] = []
    for i, video in enumerate(videos):
        truth = json.loads(truth_path(video).read_text(encoding="utf-8"))
        camera = Camera({"name": f"lane{i + 1}", "source": str(video), "fps": args.fps})
        watcher = StationWatcher(camera, truth["stations"])
        broadcaster = StreamBroadcaster(camera, {**STREAM, "masks": truth["privacy_masks"]})
        lane = Lane(camera, watcher, broadcaster, truth)
        watcher.subscribe(lane.events.append)

        def on_frame(frame, lane=lane):
            if lane.first_frame_at is None:
                lane.first_frame_at = frame.at
            lane.last_frame_at = frame.at

        camera.subscribe(on_frame)
        lanes.append(lane)

    stop_viewing = threading.Event()

    def viewer(lane: Lane) -> None:
        body = lane.broadcaster.mjpeg()
        try:
            for part in body:
                lane.stream_bytes += len(part)
                lane.stream_parts += 1
                if stop_viewing.is_set():
                    break
        finally:
            body.close()

    viewers = [threading.Thread(target=viewer, args=(lane,), daemon=True) for lane in lanes]
    cpu0, wall0 = time.process_time(), time.perf_counter()
    for lane in lanes:
        lane.broadcaster.start()
        lane.watcher.start()
    for thread in viewers:
        thread.start()
    for lane in lanes:
        lane.camera.start()
    deadline = time.monotonic() + args.duration + GRACE_S
    for lane in lanes:
        if not lane.camera.wait_state(CameraState.ENDED, timeout=max(0.0, deadline - time.monotonic())):
            print(f"{lane.camera.name}: did not finish, state {lane.camera.state.value}")
    # let each detector finish the last frame before the window closes
    for lane in lanes:
        last = lane.camera.latest()
        while last is not None and lane.watcher.frames_processed + lane.watcher.frames_skipped < last.index + 1 \
                and time.monotonic() < deadline:
            time.sleep(0.01)
    cpu1, wall1 = time.process_time(), time.perf_counter()
    stop_viewing.set()
    for lane in lanes:
        lane.broadcaster.stop()
        lane.watcher.stop()
        lane.camera.stop()
    for thread in viewers:
        thread.join(5.0)

    wall = wall1 - wall0
    cpu_pct = 100.0 * (cpu1 - cpu0) / wall
    total_scripted = total_matched = total_false = 0
    rates = []
    all_latencies: list[float] = []
    for lane in lanes:
        scripted, matched, false, latencies = score(lane, args.tolerance_s)
        total_scripted += scripted
        total_matched += matched
        total_false += false
        all_latencies += latencies
        span = (lane.last_frame_at or 0) - (lane.first_frame_at or 0)
        analysed_fps = lane.watcher.frames_processed / span if span > 0 else 0.0
        rates.append(analysed_fps)
        status = lane.camera.status()
        print(f"{lane.camera.name}: {status.frames} frames {status.width}x{status.height}, analysed {analysed_fps:.2f} fps "
              f"(skipped {lane.watcher.frames_skipped}), events {len(lane.events)}, scripted {scripted}, "
              f"matched {matched}, false {false}; stream {lane.broadcaster.encodes} tiles, "
              f"{lane.stream_bytes / max(span, 1e-9) / 1024:.1f} KiB/s per viewer")
    if all_latencies:
        ordered = sorted(all_latencies)
        print(f"detection delay after the scripted moment: mean {sum(ordered) / len(ordered):.2f} s, "
              f"median {ordered[len(ordered) // 2]:.2f} s, min {ordered[0]:.2f} s, max {ordered[-1]:.2f} s")
    print(f"window {wall:.1f} s wall, {cpu1 - cpu0:.1f} s CPU")
    fps = sum(rates) / len(rates) if rates else 0.0
    recall = total_matched / total_scripted if total_scripted else 0.0
    print(f"RESULT cameras n={len(lanes)} fps={fps:.2f} cpu_pct_of_core={cpu_pct:.1f} recall={recall:.3f} "
          f"false_events={total_false}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
