"""Low-rate, privacy-masked live tiles for the public lobby display (大厅直播画面).

Pipeline per published tile: downscale to ``width`` → fixed privacy masks (plates, faces:
configured regions per camera) → optional plate-like region finder → JPEG. Masks are applied
to the pixels *before* encoding, so no unmasked byte ever leaves this module.

``StreamBroadcaster`` keeps the latest encoded tile of one camera and hands the same bytes to
every viewer: N viewers cost one encode per tile. It encodes at most ``fps`` tiles per second
and only while somebody watches. ``mjpeg()`` yields a ``multipart/x-mixed-replace`` body that
a Flask ``Response`` can stream as it is.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

import cv2
import numpy as np

from drivers.camera.capture import Camera, Frame
from drivers.camera.geometry import (
    Polygon,
    is_axis_rectangle,
    parse_region,
    polygon_mask,
    rectangle_pixels,
)

log = logging.getLogger(__name__)

MJPEG_BOUNDARY = "frame"


def mjpeg_mimetype(boundary: str = MJPEG_BOUNDARY) -> str:
    return f"multipart/x-mixed-replace; boundary={boundary}"


MJPEG_MIMETYPE = mjpeg_mimetype()

MASK_MODES = ("blur", "fill")


@dataclass(frozen=True)
class MaskRegion:
    """A fixed privacy region of one camera, in normalised coordinates."""

    polygon: Polygon
    mode: str = "blur"  # "blur": reduced to a few smooth cells; "fill": a solid colour
    label: str = ""  # what it hides, for the configuration screen ("plate S1", "face S2")

    def __post_init__(self) -> None:
        if self.mode not in MASK_MODES:
            raise ValueError(f"mask mode must be one of {MASK_MODES}, not {self.mode!r}")

    @classmethod
    def from_config(cls, data: Mapping[str, Any] | MaskRegion) -> MaskRegion:
        """``{"roi": [x0, y0, x1, y1] | [[x, y], …], "mode": "blur", "label": "plate S1"}``."""
        if isinstance(data, MaskRegion):
            return data
        unknown = set(data) - {"roi", "mode", "label"}
        if unknown:
            raise ValueError(f"unknown mask setting(s): {', '.join(sorted(unknown))}")
        return cls(polygon=parse_region(data["roi"]), mode=data.get("mode", "blur"),
                   label=str(data.get("label", "")))


@dataclass(frozen=True)
class PlateFinderConfig:
    """The optional plate-like region finder (colour + character texture + shape)."""

    enabled: bool = True
    #: HSV ranges (OpenCV: H 0–180) of Chinese plate backgrounds: blue, yellow, green (new energy)
    hsv_ranges: tuple[tuple[tuple[int, int, int], tuple[int, int, int]], ...] = (
        ((100, 120, 50), (130, 255, 255)),
        ((15, 90, 90), (35, 255, 255)),
        ((40, 60, 60), (85, 255, 255)),
    )
    #: width / height of a candidate's bounding box
    min_aspect: float = 1.8
    max_aspect: float = 6.0
    #: candidate area as a share of the tile
    min_area: float = 0.0002
    max_area: float = 0.02
    #: share of the box that must have plate colour, and share of character strokes (pixels of
    #: another colour enclosed by the plate colour)
    min_fill: float = 0.45
    min_stroke_share: float = 0.05
    #: the mask extends beyond the found box by this share of its size on every side
    margin: float = 0.25

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> PlateFinderConfig:
        data = dict(data or {})
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown plate finder setting(s): {', '.join(sorted(unknown))}")
        if "hsv_ranges" in data:
            data["hsv_ranges"] = tuple((tuple(lo), tuple(hi)) for lo, hi in data["hsv_ranges"])
        return cls(**data)


@dataclass(frozen=True)
class StreamConfig:
    """Lobby stream settings of one camera."""

    #: tile width in pixels (height keeps the aspect ratio); frames are never upscaled
    width: int = 480
    #: tiles per second
    fps: float = 2.0
    jpeg_quality: int = 70
    masks: tuple[MaskRegion, ...] = ()
    #: a blurred region keeps at most this many cells along its longer side
    blur_cells: int = 4
    fill_colour: tuple[int, int, int] = (80, 80, 80)
    plates: PlateFinderConfig = field(default_factory=PlateFinderConfig)
    #: resend the last tile after this long without a new one (keeps proxies from closing)
    keepalive_s: float = 10.0
    boundary: str = MJPEG_BOUNDARY

    def __post_init__(self) -> None:
        if self.width < 16 or not self.fps > 0 or not 1 <= self.jpeg_quality <= 100:
            raise ValueError("stream needs width >= 16, fps > 0 and 1 <= jpeg_quality <= 100")
        if self.blur_cells < 1 or not self.keepalive_s > 0:
            raise ValueError("blur_cells must be >= 1 and keepalive_s > 0")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> StreamConfig:
        data = dict(data or {})
        unknown = set(data) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown stream setting(s): {', '.join(sorted(unknown))}")
        if "masks" in data:
            data["masks"] = tuple(MaskRegion.from_config(m) for m in data["masks"])
        if "plates" in data and not isinstance(data["plates"], PlateFinderConfig):
            data["plates"] = PlateFinderConfig.from_dict(data["plates"])
        if "fill_colour" in data:
            data["fill_colour"] = tuple(int(c) for c in data["fill_colour"])
        return cls(**data)


# -- pure image functions -------------------------------------------------------------------

def downscale(image: np.ndarray, width: int) -> np.ndarray:
    """Shrink to ``width`` keeping the aspect ratio (a copy; never upscales)."""
    h, w = image.shape[:2]
    if w <= width:
        return image.copy()
    height = max(1, round(h * width / w))
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def _blur_box(tile: np.ndarray, box: tuple[int, int, int, int], cells: int) -> np.ndarray:
    x0, y0, x1, y1 = box
    region = tile[y0:y1, x0:x1]
    h, w = region.shape[:2]
    # keep at most `cells` values along the longer side: nothing readable survives
    scale = cells / max(h, w)
    small = cv2.resize(region, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)


def _mask_box(tile: np.ndarray, box: tuple[int, int, int, int], where: np.ndarray | None, mode: str,
              cells: int, fill: tuple[int, int, int]) -> None:
    x0, y0, x1, y1 = box
    if mode == "fill":
        replacement = np.empty_like(tile[y0:y1, x0:x1])
        replacement[:] = fill
    else:
        replacement = _blur_box(tile, box, cells)
    target = tile[y0:y1, x0:x1]
    if where is None:
        target[:] = replacement
    else:
        np.copyto(target, replacement, where=where[..., None])


def apply_masks(tile: np.ndarray, masks: Iterable[MaskRegion], *, blur_cells: int,
                fill_colour: tuple[int, int, int]) -> np.ndarray:
    """Return a copy of ``tile`` with every mask region blurred or filled (only those pixels)."""
    out = tile.copy()
    h, w = out.shape[:2]
    for mask in masks:
        box = rectangle_pixels(mask.polygon, w, h)
        where = None
        if not is_axis_rectangle(mask.polygon):
            x0, y0, x1, y1 = box
            where = polygon_mask(mask.polygon, w, h)[y0:y1, x0:x1]
        _mask_box(out, box, where, mask.mode, blur_cells, fill_colour)
    return out


def find_plate_regions(tile: np.ndarray, config: PlateFinderConfig) -> list[tuple[int, int, int, int]]:
    """Boxes ``(x0, y0, x1, y1)`` that look like a licence plate: plate colour, plate shape,
    light character strokes inside. Cheap (one HSV conversion at tile size), errs on masking."""
    h, w = tile.shape[:2]
    hsv = cv2.cvtColor(tile, cv2.COLOR_BGR2HSV)
    kernel = cv2.getStructuringElement(cv2.MORPH_RECT, (5, 3))
    area_total = float(h * w)
    boxes = []
    # one colour at a time: a plate has a single background colour (two lamps of different
    # colours side by side are not a plate)
    for lo, hi in config.hsv_ranges:
        colour = cv2.inRange(hsv, np.array(lo, np.uint8), np.array(hi, np.uint8))
        # close the gaps the characters cut into the plate colour
        closed = cv2.morphologyEx(colour, cv2.MORPH_CLOSE, kernel)
        contours, _ = cv2.findContours(closed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for contour in contours:
            x, y, bw, bh = cv2.boundingRect(contour)
            if bh == 0 or not config.min_aspect <= bw / bh <= config.max_aspect:
                continue
            if not config.min_area <= bw * bh / area_total <= config.max_area:
                continue
            plate = colour[y:y + bh, x:x + bw]
            if cv2.countNonZero(plate) < config.min_fill * bw * bh:
                continue
            # characters are the holes that closing filled: not plate-coloured, inside the plate
            strokes = cv2.countNonZero(cv2.bitwise_and(closed[y:y + bh, x:x + bw], cv2.bitwise_not(plate)))
            if strokes < config.min_stroke_share * bw * bh:
                continue
            mx, my = round(bw * config.margin), round(bh * config.margin)
            boxes.append((max(0, x - mx), max(0, y - my), min(w, x + bw + mx), min(h, y + bh + my)))
    return boxes


def render_tile(image: np.ndarray, config: StreamConfig) -> np.ndarray:
    """Downscaled, masked tile ready for encoding."""
    tile = apply_masks(downscale(image, config.width), config.masks, blur_cells=config.blur_cells,
                       fill_colour=config.fill_colour)
    if config.plates.enabled:
        for box in find_plate_regions(tile, config.plates):
            _mask_box(tile, box, None, "blur", config.blur_cells, config.fill_colour)
    return tile


def encode_jpeg(image: np.ndarray, quality: int) -> bytes:
    ok, buffer = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buffer.tobytes()


def mjpeg_part(jpeg: bytes, boundary: str = MJPEG_BOUNDARY) -> bytes:
    """One part of a ``multipart/x-mixed-replace`` body."""
    head = (f"--{boundary}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n").encode("ascii")
    return head + jpeg + b"\r\n"


def mjpeg_stream(jpegs: Iterable[bytes], boundary: str = MJPEG_BOUNDARY) -> Iterator[bytes]:
    """Wrap JPEGs as multipart parts; closing this generator closes ``jpegs`` too."""
    try:
        for jpeg in jpegs:
            yield mjpeg_part(jpeg, boundary)
    finally:
        close = getattr(jpegs, "close", None)
        if close is not None:
            close()


# -- broadcaster ----------------------------------------------------------------------------

@dataclass(frozen=True)
class EncodedTile:
    seq: int  # 1, 2, … per broadcaster
    jpeg: bytes
    at: float  # capture time of the source frame
    frame_index: int
    width: int
    height: int


class StreamBroadcaster:
    """Latest masked JPEG tile of one camera, shared by all its viewers."""

    def __init__(self, camera: Camera, config: StreamConfig | Mapping[str, Any] | None = None, *,
                 encode_without_viewers: bool = False) -> None:
        self.camera = camera
        self.config = config if isinstance(config, StreamConfig) else StreamConfig.from_dict(config)
        self._encode_without_viewers = encode_without_viewers
        self._cond = threading.Condition()
        self._encode_lock = threading.Lock()
        self._latest: EncodedTile | None = None
        self._seq = 0
        self._viewers = 0
        self._due: float | None = None
        self._stopped = True
        self._unsubscribe = None
        self.encodes = 0

    def start(self) -> None:
        with self._cond:
            if not self._stopped:
                return
            self._stopped = False
        self._unsubscribe = self.camera.subscribe(self._on_frame)

    def stop(self) -> None:
        """Stop encoding and end every viewer's stream."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        with self._cond:
            self._stopped = True
            self._cond.notify_all()

    def __enter__(self) -> StreamBroadcaster:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def viewers(self) -> int:
        with self._cond:
            return self._viewers

    def latest(self) -> EncodedTile | None:
        with self._cond:
            return self._latest

    def wait_next(self, after_seq: int, timeout: float | None = None) -> EncodedTile | None:
        """The first tile with ``seq > after_seq``; None on timeout or when stopped."""
        with self._cond:
            self._cond.wait_for(
                lambda: self._stopped or (self._latest is not None and self._latest.seq > after_seq), timeout)
            tile = self._latest
        return tile if tile is not None and tile.seq > after_seq and not self._stopped else None

    def jpeg_frames(self) -> Iterator[bytes]:
        """JPEG bytes for one viewer: a new tile as soon as one exists, the last one again
        after ``keepalive_s``; ends when the broadcaster stops or the generator is closed."""
        with self._cond:
            self._viewers += 1
        try:
            if self.latest() is None:
                self._encode_latest_now()
            seq = 0
            while True:
                tile = self.wait_next(seq, self.config.keepalive_s)
                with self._cond:
                    if self._stopped:
                        return
                if tile is None:
                    tile = self.latest()
                    if tile is None:
                        continue
                seq = tile.seq
                yield tile.jpeg
        finally:
            with self._cond:
                self._viewers -= 1

    def mjpeg(self) -> Iterator[bytes]:
        """``multipart/x-mixed-replace`` body for ``Response(…, mimetype=MJPEG_MIMETYPE)``."""
        return mjpeg_stream(self.jpeg_frames(), self.config.boundary)

    @property
    def mimetype(self) -> str:
        return mjpeg_mimetype(self.config.boundary)

    # -- encoding -----------------------------------------------------------------------

    def _on_frame(self, frame: Frame) -> None:
        period = 1.0 / self.config.fps
        with self._cond:
            if self._stopped or (self._viewers == 0 and not self._encode_without_viewers):
                return
            if self._due is not None and frame.at < self._due:
                return  # throttled: tiles on a fixed 1/fps grid, the first frame after each tick
            self._due = frame.at + period if self._due is None or self._due < frame.at - period \
                else self._due + period
        self._encode(frame)

    def _encode_latest_now(self) -> None:
        frame = self.camera.latest()
        if frame is not None:
            self._encode(frame)

    def _encode(self, frame: Frame) -> None:
        with self._encode_lock:
            latest = self.latest()
            if latest is not None and latest.frame_index >= frame.index:
                return
            try:
                tile = render_tile(frame.image, self.config)
                jpeg = encode_jpeg(tile, self.config.jpeg_quality)
            except Exception:
                log.exception("camera %s: lobby tile encoding failed", self.camera.name)
                return
            with self._cond:
                self._seq += 1
                self.encodes += 1
                self._latest = EncodedTile(seq=self._seq, jpeg=jpeg, at=frame.at, frame_index=frame.index,
                                           width=tile.shape[1], height=tile.shape[0])
                self._cond.notify_all()
