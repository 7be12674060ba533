"""Synthetic lane video: a scripted car at the stations, changing light, noise and jitter.

Two outputs from one deterministic renderer:

* ``LaneSimulator.write_video(path, …)`` writes an MJPG ``.avi`` (works with the headless
  OpenCV wheel's FFmpeg backend) plus ``<stem>.truth.json``: the stations' ROIs, suggested
  privacy masks, the script, the ground-truth events and the light switches;
* ``LaneSimulator.source(…)`` returns a :class:`SimulatedCameraSource`, an in-process live
  source that ``drivers.camera.Camera`` accepts directly, with fault switches.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from drivers.errors import DeviceNotFound, DeviceTimeout
from simulators.camera.lighting import Lighting, LightingSpec, LightSwitch
from simulators.camera.scene import LaneScene, draw_car, render_background, render_car
from simulators.camera.script import (
    CarPlan,
    Stop,
    TruthEvent,
    events_as_data,
    parse_script,
    plan_cars,
    script_as_data,
    truth_events,
)

#: FourCC and container that the opencv-python-headless wheel can both write and read
VIDEO_FOURCC = "MJPG"
VIDEO_SUFFIX = ".avi"
#: rows of spare noise so that each frame takes a different slice of the noise bank
_NOISE_SPARE_ROWS = 97
_NOISE_BANKS = 3


def truth_path(video: str | Path) -> Path:
    video = Path(video)
    return video.with_name(video.stem + ".truth.json")


class LaneSimulator:
    """Renders the lane at any time ``t`` (seconds); identical output for identical inputs."""

    def __init__(self, scene: LaneScene | None = None, script: Sequence[Any] = (),
                 lighting: LightingSpec | None = None, *, duration: float = 120.0, seed: int = 0,
                 extra_switches: Sequence[LightSwitch] = ()) -> None:
        self.scene = scene or LaneScene()
        self.duration = duration
        self.seed = seed
        self.script: list[Stop] = parse_script(script)
        self.plans: list[CarPlan] = plan_cars(self.script, self.scene) if self.script else []
        self.truth: list[TruthEvent] = truth_events(self.plans, self.scene)
        self.lighting = Lighting(lighting or LightingSpec(), duration, seed, tuple(extra_switches))
        spec = self.lighting.spec
        self._pad = max(0, spec.jitter_px)
        self._background = render_background(self.scene, seed, self._pad)
        self._sprites = {p.car: render_car(self.scene, p.colour, seed * 1000 + p.car) for p in self.plans}
        width = self.scene.width + 2 * self._pad
        self._xs = ((np.arange(width) - self._pad + 0.5) / self.scene.width).astype(np.float32)
        rng = np.random.default_rng(seed + 7919)
        shape = (self.scene.height + _NOISE_SPARE_ROWS, self.scene.width, 3)
        self._noise = [np.clip(rng.normal(0, spec.noise_sigma, shape), -127, 127).astype(np.int8)
                       for _ in range(_NOISE_BANKS)] if spec.noise_sigma > 0 else []

    # -- rendering ------------------------------------------------------------------------

    def render(self, t: float) -> np.ndarray:
        """The camera's BGR uint8 frame at time ``t``."""
        scene = self.scene
        canvas = self._background.copy()
        car_y = round(scene.car_top * scene.height) + self._pad
        for plan in self.plans:
            x = plan.x_at(t)
            if x is not None:
                left = round((x - scene.car_length / 2) * scene.width) + self._pad
                draw_car(canvas, self._sprites[plan.car], left, car_y)
        # the lighting gain varies along x only: multiply each row by one long contiguous vector
        gain = np.repeat(self.lighting.gain_row(t, self._xs), 3)
        flat = canvas.reshape(canvas.shape[0], -1)
        np.multiply(flat, gain[None, :], out=flat)
        rng = np.random.default_rng([self.seed, round(t * 1000)])
        j = self.lighting.spec.jitter_px
        dx, dy = (int(v) for v in rng.integers(-j, j + 1, 2)) if j else (0, 0)
        view = canvas[self._pad + dy:self._pad + dy + scene.height, self._pad + dx:self._pad + dx + scene.width]
        if not self._noise:
            return cv2.convertScaleAbs(view)  # saturating cast to uint8 (values are never negative)
        bank = self._noise[int(rng.integers(len(self._noise)))]
        row = int(rng.integers(_NOISE_SPARE_ROWS))
        return cv2.add(view, bank[row:row + scene.height], dtype=cv2.CV_8U)  # saturating

    def frames(self, fps: float, duration: float | None = None, start: float = 0.0) -> Iterator[tuple[float, np.ndarray]]:
        """``(t, frame)`` at ``fps`` from ``start`` for ``duration`` seconds (default: to the end)."""
        count = round((duration if duration is not None else self.duration - start) * fps)
        for i in range(count):
            t = start + i / fps
            yield t, self.render(t)

    # -- outputs --------------------------------------------------------------------------

    def truth_data(self, fps: float, duration: float | None = None) -> dict[str, Any]:
        return {
            "fps": fps,
            "duration": self.duration if duration is None else duration,
            "frame_size": [self.scene.width, self.scene.height],
            "seed": self.seed,
            "stations": self.scene.stations_config(),
            "privacy_masks": self.scene.privacy_masks(),
            "script": script_as_data(self.script),
            "events": events_as_data(self.truth),
            "light_switches": [{"t": s.t, "bank": s.bank, "on": s.on} for s in self.lighting.switches],
        }

    def write_video(self, path: str | Path, fps: float = 10.0, duration: float | None = None) -> Path:
        """Write the video (MJPG .avi) and its ``.truth.json``; returns the truth file's path."""
        path = Path(path)
        if path.suffix.lower() != VIDEO_SUFFIX:
            raise ValueError(f"write an {VIDEO_SUFFIX} file: MJPG in AVI is what this OpenCV build handles")
        path.parent.mkdir(parents=True, exist_ok=True)
        writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*VIDEO_FOURCC), fps,
                                 (self.scene.width, self.scene.height))
        if not writer.isOpened():
            raise RuntimeError(f"cannot open a {VIDEO_FOURCC} video writer for {path}")
        try:
            for _, frame in self.frames(fps, duration):
                writer.write(frame)
        finally:
            writer.release()
        truth = truth_path(path)
        truth.write_text(json.dumps(self.truth_data(fps, duration), indent=1), encoding="utf-8")
        return truth

    def source(self, fps: float = 10.0, *, loop: bool = True, realtime: bool = False) -> SimulatedCameraSource:
        return SimulatedCameraSource(self, fps=fps, loop=loop, realtime=realtime)


@dataclass
class SourceFaults:
    """Fault switches of a simulated camera; flip them while the camera runs."""

    #: the camera is unreachable: connecting fails and a running stream drops
    offline: bool = False
    #: the next N connection attempts fail
    fail_opens: int = 0
    #: every session drops (read timeout) after this many frames
    drop_after_frames: int | None = None


class SimulatedCameraSource:
    """In-process live source: ``Camera({"source": sim.source(), …})``.

    Each call opens a session (an iterator of frames). The simulated clock keeps running
    across sessions, like a real camera that went on filming while we were disconnected.
    With ``realtime`` the iterator sleeps to deliver frames at ``fps``; otherwise it yields as
    fast as it is consumed (the camera driver paces it).
    """

    def __init__(self, simulator: LaneSimulator, *, fps: float = 10.0, loop: bool = True,
                 realtime: bool = False) -> None:
        self.simulator = simulator
        self.fps = fps
        self.loop = loop
        self.realtime = realtime
        self.faults = SourceFaults()
        self.name = f"lane-simulator-{simulator.seed}"
        self.opens = 0
        self._lock = threading.Lock()
        self._next = 0  # frame number on the simulated timeline

    def __call__(self) -> Iterator[np.ndarray]:
        with self._lock:
            self.opens += 1
            if self.faults.offline:
                raise DeviceNotFound("simulated camera unreachable")
            if self.faults.fail_opens > 0:
                self.faults.fail_opens -= 1
                raise DeviceNotFound("simulated camera refused the connection")
        return self._session()

    def _session(self) -> Iterator[np.ndarray]:
        total = max(1, round(self.simulator.duration * self.fps))
        delivered = 0
        started = time.monotonic()
        while True:
            if self.faults.offline:
                raise DeviceTimeout("simulated camera stopped sending")
            if self.faults.drop_after_frames is not None and delivered >= self.faults.drop_after_frames:
                raise DeviceTimeout("simulated stream dropped")
            with self._lock:
                n = self._next
                if n >= total:
                    if not self.loop:
                        return
                    n = 0
                self._next = n + 1
            if self.realtime:
                delay = started + delivered / self.fps - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            yield self.simulator.render(n / self.fps)
            delivered += 1
