"""Per-station presence detection (工位车辆到位检测) from a lane camera.

Method (see docs/devices/camera.md for the reasoning):

1. The frame is shrunk to a small analysis grid (``work_width`` cells wide, INTER_AREA
   averaging), converted to grey and to log intensity. Averaging many pixels per cell removes
   sensor noise; the log turns a lighting change (a gain) into an additive offset.
2. A reference image of the empty lane (log domain) is learnt during warm-up (per-cell median
   of the first frames) and afterwards updated slowly, only where nothing changed and no
   station is occupied.
3. Lighting: the difference current − reference is fitted with a smooth quadratic surface by
   robust least squares (Cauchy-weighted IRLS). Global brightness ramps, flicker and lights
   switching over whole parts of the hall are smooth and are absorbed by that surface; a car
   is a compact, sharp-edged change and is rejected as an outlier of the fit.
4. A cell is *changed* when the lighting-corrected image leaves the reference's 3×3
   neighbourhood range by more than ``pixel_threshold`` (log units) — the neighbourhood range
   absorbs camera jitter of about one cell.
5. Each station's score is the share of changed cells in its region of interest. Hysteresis
   (``present_threshold`` > ``absent_threshold``) plus debouncing (``present_frames`` /
   ``absent_frames`` consecutive frames) turns scores into ``PresenceEvent``\\ s, emitted only
   on changes.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

import cv2
import numpy as np

from drivers.camera.capture import RUNNING_STATES, Camera
from drivers.camera.geometry import Polygon, parse_region, polygon_mask

log = logging.getLogger(__name__)

#: tiny ridge term that keeps the 6×6 lighting system solvable when few cells are usable
_RIDGE = np.eye(6, dtype=np.float32) * 1e-6


@dataclass(frozen=True)
class StationRoi:
    """A station (工位) as seen by one camera: its name and region of interest (normalised)."""

    name: str
    polygon: Polygon

    @classmethod
    def from_config(cls, data: Mapping[str, Any] | StationRoi) -> StationRoi:
        """``{"name": "S1", "roi": [x0, y0, x1, y1]}`` or ``{"name": …, "roi": [[x, y], …]}``."""
        if isinstance(data, StationRoi):
            return data
        unknown = set(data) - {"name", "roi"}
        if unknown:
            raise ValueError(f"unknown station setting(s): {', '.join(sorted(unknown))}")
        if not data.get("name"):
            raise ValueError("station needs a name")
        return cls(name=str(data["name"]), polygon=parse_region(data["roi"]))


@dataclass(frozen=True)
class PresenceConfig:
    """Detector settings; the defaults are tuned on the lane simulator (see the docs)."""

    #: approximate width of the analysis grid in cells: the frame is shrunk by the integer
    #: factor nearest to width / work_width (integer factors keep INTER_AREA fast)
    work_width: int = 96
    #: a cell is changed when it departs from the lighting-corrected reference by more than
    #: this, in natural-log intensity units (0.15 ≈ 16 % brighter or darker)
    pixel_threshold: float = 0.15
    #: share of changed cells in the ROI for a frame to count as occupied / as empty
    present_threshold: float = 0.40
    absent_threshold: float = 0.25
    #: consecutive frames needed to switch to present / to absent
    present_frames: int = 3
    absent_frames: int = 4
    #: frames whose per-cell median becomes the initial empty-lane reference
    warmup_frames: int = 10
    #: time constant of the reference update while a cell is empty and unchanged
    reference_time_constant_s: float = 30.0
    #: jitter tolerance: compare with the reference's (2r+1)² neighbourhood range
    jitter_tolerance_cells: int = 1
    #: robust lighting fit: IRLS iterations and Cauchy scale (× robust residual spread)
    lighting_iterations: int = 4
    lighting_outlier_scale: float = 2.5
    #: lower bound of that scale (log units) so a perfectly static scene does not reject all
    lighting_min_scale: float = 0.02

    def __post_init__(self) -> None:
        if self.work_width < 8:
            raise ValueError("work_width must be at least 8 cells")
        if not 0 < self.absent_threshold < self.present_threshold <= 1:
            raise ValueError("need 0 < absent_threshold < present_threshold <= 1")
        for name in ("present_frames", "absent_frames"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be >= 1")
        if self.warmup_frames < 1 or self.jitter_tolerance_cells < 0 or self.lighting_iterations < 0:
            raise ValueError("warmup_frames >= 1, jitter_tolerance_cells >= 0, lighting_iterations >= 0")
        for name in ("pixel_threshold", "reference_time_constant_s", "lighting_outlier_scale",
                     "lighting_min_scale"):
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be > 0")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> PresenceConfig:
        data = dict(data or {})
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown presence setting(s): {', '.join(sorted(unknown))}")
        return cls(**data)


@dataclass(frozen=True)
class PresenceEvent:
    """A station became occupied (``present``) or empty."""

    station: str
    present: bool
    at: float  # time of the frame that confirmed the change
    confidence: float  # 0.5 (barely past the threshold) … 1.0 (clear)
    since: float  # time of the first frame of the confirming run: the estimated moment of change
    camera: str | None = None


@dataclass
class _StationTrack:
    roi: StationRoi
    mask: np.ndarray
    present: bool = False
    run: int = 0
    run_since: float = 0.0
    run_score: float = 0.0
    score: float = 0.0


class PresenceDetector:
    """Presence of vehicles at the stations seen by one camera.

    ``process(image, at)`` is pure apart from the detector's own state: feed it frames in
    time order, it returns the events confirmed by this frame (usually none).
    """

    def __init__(self, stations: Iterable[StationRoi | Mapping[str, Any]],
                 config: PresenceConfig | Mapping[str, Any] | None = None, *,
                 camera: str | None = None) -> None:
        self.config = config if isinstance(config, PresenceConfig) else PresenceConfig.from_dict(config)
        self.stations = tuple(StationRoi.from_config(s) for s in stations)
        names = [s.name for s in self.stations]
        if not names:
            raise ValueError("presence detector needs at least one station")
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate station names in {names}")
        self.camera = camera
        self._grid: tuple[int, int] | None = None
        self._tracks: list[_StationTrack] = []
        self.reset()

    # -- public API ---------------------------------------------------------------------

    def reset(self) -> None:
        """Forget the reference and all states; the next frames warm up again."""
        self._warmup: list[np.ndarray] = []
        self._reference: np.ndarray | None = None
        self._ref_low: np.ndarray | None = None
        self._ref_high: np.ndarray | None = None
        self._last_at: float | None = None
        self._grid = None
        self._tracks = []

    def set_reference(self, image: np.ndarray) -> None:
        """Use ``image`` (a frame of the empty lane) as the reference; skips warm-up."""
        self._reset_geometry(image)
        self._set_reference(self._prepare(image))

    @property
    def ready(self) -> bool:
        return self._reference is not None

    def states(self) -> dict[str, bool]:
        if not self._tracks:
            return {s.name: False for s in self.stations}
        return {t.roi.name: t.present for t in self._tracks}

    def scores(self) -> dict[str, float]:
        """Share of changed cells per station in the last processed frame."""
        return {t.roi.name: t.score for t in self._tracks}

    def process(self, image: np.ndarray, at: float) -> list[PresenceEvent]:
        if self._grid != self._grid_for(image):
            if self._grid is not None:
                log.info("camera %s: frame size changed, presence detector warms up again", self.camera)
            self.reset()
            self._reset_geometry(image)
        current = self._prepare(image)
        if self._reference is None:
            self._warmup.append(current)
            if len(self._warmup) >= self.config.warmup_frames:
                self._set_reference(np.median(np.stack(self._warmup), axis=0).astype(np.float32))
                self._warmup = []
            self._last_at = at
            return []

        occupied = np.zeros(current.shape, dtype=bool)
        for track in self._tracks:
            if track.present:
                occupied |= track.mask
        lighting = self._fit_lighting(current - self._reference, ~occupied)
        corrected = current - lighting
        deviation = np.maximum(corrected - self._ref_high, self._ref_low - corrected)
        changed = deviation > self.config.pixel_threshold

        events = []
        for track in self._tracks:
            track.score = float(changed[track.mask].mean())
            event = self._debounce(track, at)
            if event is not None:
                events.append(event)
            if track.present:
                occupied |= track.mask

        self._update_reference(corrected, ~changed & ~occupied, at)
        return events

    # -- internals ----------------------------------------------------------------------

    def _factor(self, image: np.ndarray) -> int:
        return max(1, round(image.shape[1] / self.config.work_width))

    def _grid_for(self, image: np.ndarray) -> tuple[int, int]:
        factor = self._factor(image)
        return max(1, image.shape[1] // factor), max(1, image.shape[0] // factor)

    def _reset_geometry(self, image: np.ndarray) -> None:
        self._grid = gw, gh = self._grid_for(image)
        self._tracks = []
        for roi in self.stations:
            mask = polygon_mask(roi.polygon, gw, gh)
            if not mask.any():
                raise ValueError(f"station {roi.name}: ROI covers no analysis cell")
            self._tracks.append(_StationTrack(roi=roi, mask=mask))
        ys, xs = np.mgrid[0:gh, 0:gw].astype(np.float32)
        x = (xs + 0.5) / gw * 2 - 1
        y = (ys + 0.5) / gh * 2 - 1
        # quadratic lighting surface: 1, x, y, x², xy, y² over the whole frame
        self._basis = np.stack([np.ones_like(x), x, y, x * x, x * y, y * y], axis=-1).reshape(-1, 6)
        r = self.config.jitter_tolerance_cells
        self._kernel = np.ones((2 * r + 1, 2 * r + 1), np.uint8)

    def _prepare(self, image: np.ndarray) -> np.ndarray:
        factor = self._factor(image)
        gw, gh = self._grid_for(image)
        # drop the few edge pixels that do not fill a whole cell: an exact integer shrink
        image = image[:gh * factor, :gw * factor]
        if image.ndim == 3:
            image = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        small = cv2.resize(image, (gw, gh), interpolation=cv2.INTER_AREA)
        # +1 keeps black pixels finite; log turns a gain into an offset
        return np.log(small.astype(np.float32) + 1.0)

    def _set_reference(self, reference: np.ndarray) -> None:
        self._reference = reference
        self._refresh_range()

    def _refresh_range(self) -> None:
        self._ref_low = cv2.erode(self._reference, self._kernel)
        self._ref_high = cv2.dilate(self._reference, self._kernel)

    def _fit_lighting(self, difference: np.ndarray, usable: np.ndarray) -> np.ndarray:
        cfg = self.config
        selector = usable.ravel()
        if selector.sum() < self._basis.shape[1] * 4:
            selector = np.ones_like(selector)
        a = self._basis[selector]
        b = difference.ravel()[selector]
        # start from the median offset (robust to half the cells having changed), then let
        # Cauchy-weighted least squares bend it into a smooth surface
        coef = np.zeros(a.shape[1], np.float32)
        coef[0] = np.median(b)
        for _ in range(cfg.lighting_iterations):
            residual = b - a @ coef
            spread = 1.4826 * float(np.median(np.abs(residual - np.median(residual))))
            scale = max(cfg.lighting_outlier_scale * spread, cfg.lighting_min_scale)
            weight = 1.0 / (1.0 + (residual / scale) ** 2)
            # weighted normal equations: a 6×6 solve, far cheaper than an SVD of the whole grid
            aw = a * weight[:, None]
            coef = np.linalg.solve(aw.T @ a + _RIDGE, aw.T @ b)
        return (self._basis @ coef).reshape(difference.shape).astype(np.float32)

    def _debounce(self, track: _StationTrack, at: float) -> PresenceEvent | None:
        cfg = self.config
        if track.present:
            contradicts = track.score <= cfg.absent_threshold
            needed = cfg.absent_frames
        else:
            contradicts = track.score >= cfg.present_threshold
            needed = cfg.present_frames
        if not contradicts:
            track.run = 0
            return None
        if track.run == 0:
            track.run_since = at
            track.run_score = 0.0
        track.run += 1
        track.run_score += track.score
        if track.run < needed:
            return None
        mean = track.run_score / track.run
        if track.present:
            margin = (cfg.absent_threshold - mean) / cfg.absent_threshold
        else:
            margin = (mean - cfg.present_threshold) / cfg.present_threshold
        track.present = not track.present
        track.run = 0
        return PresenceEvent(station=track.roi.name, present=track.present, at=at,
                             confidence=round(0.5 + 0.5 * min(1.0, max(0.0, margin)), 3),
                             since=track.run_since, camera=self.camera)

    def _update_reference(self, corrected: np.ndarray, updatable: np.ndarray, at: float) -> None:
        dt = 0.0 if self._last_at is None else max(0.0, at - self._last_at)
        self._last_at = at
        alpha = 1.0 - math.exp(-dt / self.config.reference_time_constant_s)
        if alpha <= 0 or not updatable.any():
            return
        self._reference[updatable] += alpha * (corrected[updatable] - self._reference[updatable])
        self._refresh_range()


class StationWatcher:
    """Wires a :class:`Camera` to a :class:`PresenceDetector` on a worker thread of its own.

    The worker always takes the camera's newest frame, so a slow detector skips frames rather
    than falling behind. Listeners registered with ``subscribe`` are called on that thread.
    """

    def __init__(self, camera: Camera, stations: Sequence[StationRoi | Mapping[str, Any]],
                 config: PresenceConfig | Mapping[str, Any] | None = None, *,
                 poll_timeout_s: float = 0.5) -> None:
        self.camera = camera
        self.detector = PresenceDetector(stations, config, camera=camera.name)
        self._poll_timeout_s = poll_timeout_s
        self._listeners: list[Callable[[PresenceEvent], None]] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.frames_processed = 0
        self.frames_skipped = 0

    def subscribe(self, listener: Callable[[PresenceEvent], None]) -> Callable[[], None]:
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def states(self) -> dict[str, bool]:
        with self._lock:
            return self.detector.states()

    def start(self) -> None:
        if self._thread is not None:
            raise RuntimeError("station watcher already started")
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"presence-{self.camera.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> StationWatcher:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _run(self) -> None:
        last = -1
        while not self._stop.is_set():
            frame = self.camera.wait_frame(after=last, timeout=self._poll_timeout_s)
            if self._stop.is_set():
                return
            if frame is None:
                if self.camera.state not in RUNNING_STATES:
                    self._stop.wait(self._poll_timeout_s)  # camera stopped or ended: idle, do not spin
                continue
            if last >= 0 and frame.index > last + 1:
                self.frames_skipped += frame.index - last - 1
            last = frame.index
            try:
                with self._lock:
                    events = self.detector.process(frame.image, frame.at)
                    listeners = list(self._listeners)
            except Exception:
                log.exception("camera %s: presence detection failed on frame %d", self.camera.name, frame.index)
                continue
            self.frames_processed += 1
            for event in events:
                for listener in listeners:
                    try:
                        listener(event)
                    except Exception:
                        log.exception("presence listener %r failed", listener)
