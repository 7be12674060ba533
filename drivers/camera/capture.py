"""Lane camera capture (车道摄像机取流): one reader thread per camera, keeping only the latest frame.

``cv2.VideoCapture`` takes a device index, an RTSP/HTTP URL or a video file; the same seam
serves real cameras and simulated ones (a generated video file). An in-process source — any
callable returning an iterable of BGR frames, such as the lane simulator's live source — is
accepted too, so a test can make the "camera" fail and come back on command.

The reader never queues frames: a consumer that is slower than the camera simply sees the
newest frame next time (``latest()`` / ``wait_frame()``). When the stream drops or cannot be
opened the camera goes ``offline`` with a reason and a typed error, and reconnects with a
capped exponential backoff.
"""

from __future__ import annotations

import enum
import logging
import math
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from drivers.errors import DeviceError, DeviceNotFound, DeviceTimeout, ProtocolError

log = logging.getLogger(__name__)

#: An in-process source: called once per (re)connection, returns an iterable of BGR frames.
FrameSourceFactory = Callable[[], Iterable[np.ndarray]]
Source = int | str | os.PathLike | FrameSourceFactory


class CameraState(enum.Enum):
    """Lifecycle of one camera as shown on the device status page."""

    STOPPED = "stopped"
    CONNECTING = "connecting"
    LIVE = "live"
    OFFLINE = "offline"  # dropped or unreachable; a reconnect is scheduled
    ENDED = "ended"  # a finite source (file, in-process) reached its end and does not loop


ALLOWED_TRANSITIONS: dict[CameraState, frozenset[CameraState]] = {
    CameraState.STOPPED: frozenset({CameraState.CONNECTING}),
    CameraState.CONNECTING: frozenset({CameraState.LIVE, CameraState.OFFLINE, CameraState.STOPPED}),
    CameraState.LIVE: frozenset({CameraState.OFFLINE, CameraState.ENDED, CameraState.STOPPED}),
    CameraState.OFFLINE: frozenset({CameraState.CONNECTING, CameraState.STOPPED}),
    CameraState.ENDED: frozenset({CameraState.STOPPED}),
}

#: States in which the reader thread is running.
RUNNING_STATES = frozenset({CameraState.CONNECTING, CameraState.LIVE, CameraState.OFFLINE})


class SourceKind(enum.Enum):
    DEVICE = "device"  # a local capture device by index (/dev/videoN)
    STREAM = "stream"  # a network URL: rtsp://, http://, …
    FILE = "file"  # a video file: finite, paced at its own or the configured rate
    IN_PROCESS = "in_process"  # a callable returning an iterable of frames


def source_kind(source: Source) -> SourceKind:
    if isinstance(source, bool):
        raise ValueError("camera source must be an index, a URL, a path or a callable")
    if isinstance(source, int):
        return SourceKind.DEVICE
    if isinstance(source, str) and "://" in source:
        return SourceKind.STREAM
    if isinstance(source, str | os.PathLike):
        return SourceKind.FILE
    if callable(source):
        return SourceKind.IN_PROCESS
    raise ValueError(f"unsupported camera source {source!r}")


_CREDENTIALS = re.compile(r"(?<=://)[^/@]*@")


def describe_source(source: Source) -> str:
    """Human-readable source for status pages, with URL credentials removed."""
    if callable(source) and not isinstance(source, str | os.PathLike):
        return f"in-process:{getattr(source, 'name', type(source).__name__)}"
    return _CREDENTIALS.sub("***@", os.fspath(source) if isinstance(source, os.PathLike) else str(source))


def backoff_delay(failures: int, initial_s: float, maximum_s: float) -> float:
    """Delay before reconnect attempt number ``failures`` (1, 2, …): doubling, capped."""
    if failures < 1:
        return 0.0
    return min(maximum_s, initial_s * 2.0 ** min(failures - 1, 62))


@dataclass(frozen=True)
class CameraConfig:
    """One camera's configuration; every field except name and source has a default."""

    name: str
    source: Source
    #: frames per second: the pace for file and in-process sources (default: the source's own
    #: rate), the maximum publish rate for devices and streams (default: whatever they deliver)
    fps: float | None = None
    #: pace of a file or in-process source that does not state its own rate
    default_fps: float = 10.0
    #: replay a finite source from the start when it ends (simulation)
    loop_file: bool = False
    #: first reconnect delay; doubles on every failed attempt up to ``reconnect_backoff_max_s``
    reconnect_backoff_s: float = 0.5
    reconnect_backoff_max_s: float = 30.0
    #: FFmpeg open / read timeouts for network streams
    open_timeout_s: float = 10.0
    read_timeout_s: float = 10.0
    #: window over which the measured frame rate is averaged
    fps_window_s: float = 5.0
    #: requested capture size for local devices (None: the device's default)
    width: int | None = None
    height: int | None = None
    #: how long ``stop()`` waits for the reader thread
    stop_timeout_s: float = 5.0

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("camera needs a name")
        source_kind(self.source)
        for name in ("default_fps", "reconnect_backoff_s", "reconnect_backoff_max_s", "open_timeout_s",
                     "read_timeout_s", "fps_window_s", "stop_timeout_s"):
            if not getattr(self, name) > 0:
                raise ValueError(f"camera {self.name}: {name} must be > 0")
        if self.fps is not None and not self.fps > 0:
            raise ValueError(f"camera {self.name}: fps must be > 0")

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CameraConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown camera setting(s): {', '.join(sorted(unknown))}")
        return cls(**dict(data))

    @property
    def kind(self) -> SourceKind:
        return source_kind(self.source)


@dataclass(frozen=True, eq=False)
class Frame:
    """One captured frame. ``image`` is BGR uint8 and read-only: copy it before drawing on it."""

    camera: str
    index: int  # 0, 1, 2 … since start(), continuing across reconnects and loops
    at: float  # capture time from the camera's clock (epoch seconds by default)
    image: np.ndarray

    @property
    def width(self) -> int:
        return int(self.image.shape[1])

    @property
    def height(self) -> int:
        return int(self.image.shape[0])


@dataclass(frozen=True)
class CameraStatus:
    """Snapshot for the device status page."""

    name: str
    source: str
    state: CameraState
    reason: str | None  # why the camera is offline / ended
    error_code: str | None  # ``DeviceError.code`` of the last failure
    frames: int
    last_frame_at: float | None
    fps: float  # measured over ``fps_window_s``
    reconnects: int
    width: int | None
    height: int | None


class _EndOfStream(Exception):
    """A finite source has no more frames."""


class _OpenCvReader:
    def __init__(self, config: CameraConfig) -> None:
        kind = config.kind
        self.finite = kind is SourceKind.FILE
        self._cap = cv2.VideoCapture()
        described = describe_source(config.source)
        if kind is SourceKind.FILE and not Path(config.source).is_file():
            raise DeviceNotFound(f"no such video file: {described}", device=config.name)
        params: list[int] = []
        if kind is SourceKind.STREAM:
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, round(config.open_timeout_s * 1000),
                      cv2.CAP_PROP_READ_TIMEOUT_MSEC, round(config.read_timeout_s * 1000)]
        source = os.fspath(config.source) if kind is SourceKind.FILE else config.source
        if not self._cap.open(source, cv2.CAP_ANY, params) or not self._cap.isOpened():
            self._cap.release()
            raise DeviceNotFound(f"cannot open {described}", device=config.name)
        if kind is SourceKind.DEVICE:
            # a one-frame driver buffer keeps latency low; not every backend honours it
            self._cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
            if config.fps:
                self._cap.set(cv2.CAP_PROP_FPS, config.fps)
            if config.width:
                self._cap.set(cv2.CAP_PROP_FRAME_WIDTH, config.width)
            if config.height:
                self._cap.set(cv2.CAP_PROP_FRAME_HEIGHT, config.height)
        reported = self._cap.get(cv2.CAP_PROP_FPS)
        self.fps = reported if reported and math.isfinite(reported) and reported > 0 else None
        self._name = config.name

    def grab(self) -> None:
        if not self._cap.grab():
            if self.finite:
                raise _EndOfStream
            raise DeviceTimeout("stream stopped delivering frames", device=self._name)

    def retrieve(self) -> np.ndarray:
        ok, image = self._cap.retrieve()
        if not ok or image is None:
            if self.finite:
                raise _EndOfStream
            raise ProtocolError("frame could not be decoded", device=self._name)
        return image

    def close(self) -> None:
        self._cap.release()


class _IteratorReader:
    finite = True

    def __init__(self, config: CameraConfig) -> None:
        self._name = config.name
        factory = config.source
        try:
            self._iterator: Iterator[np.ndarray] = iter(factory())  # type: ignore[operator]
        except DeviceError:
            raise
        except Exception as exc:
            raise DeviceNotFound(f"in-process source failed to open: {exc}", device=self._name) from exc
        self.fps = getattr(factory, "fps", None)
        self._pending: np.ndarray | None = None

    def grab(self) -> None:
        try:
            self._pending = next(self._iterator)
        except StopIteration:
            raise _EndOfStream from None
        except DeviceError:
            raise
        except Exception as exc:
            raise DeviceError(f"in-process source failed: {exc}", device=self._name) from exc

    def retrieve(self) -> np.ndarray:
        image, self._pending = self._pending, None
        if image is None:
            raise ProtocolError("no frame grabbed", device=self._name)
        # the producer may reuse its buffer; our frames are read-only snapshots
        return np.array(image, dtype=np.uint8, copy=True)

    def close(self) -> None:
        close = getattr(self._iterator, "close", None)
        if close is not None:
            close()


def _as_bgr(image: Any, device: str) -> np.ndarray:
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.size == 0:
        raise ProtocolError("source delivered something that is not an 8-bit image", device=device)
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.ndim == 3 and image.shape[2] == 3:
        return image
    if image.ndim == 3 and image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    raise ProtocolError(f"unsupported frame shape {image.shape}", device=device)


class Camera:
    """A camera read on its own thread; only the newest frame is kept.

    Build it from a config dict (see :class:`CameraConfig`), ``start()`` it once wired,
    ``stop()`` it on shutdown. ``clock`` stamps frames (default: ``time.time``).
    """

    def __init__(self, config: CameraConfig | Mapping[str, Any], *,
                 clock: Callable[[], float] = time.time) -> None:
        self.config = config if isinstance(config, CameraConfig) else CameraConfig.from_dict(config)
        self.name = self.config.name
        self._clock = clock
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._subscribers: list[Callable[[Frame], None]] = []
        self._state = CameraState.STOPPED
        self._reason: str | None = None
        self._error: DeviceError | None = None
        self._latest: Frame | None = None
        self._next_index = 0
        self._reconnects = 0
        self._times: deque[float] = deque()
        self._went_live = False

    # -- public API ---------------------------------------------------------------------

    def start(self) -> None:
        """Start the reader thread (call after wiring subscribers)."""
        with self._cond:
            if self._thread is not None and self._thread.is_alive():
                raise RuntimeError(f"camera {self.name}: its reader thread is still running")
            if self._state is not CameraState.STOPPED:
                raise RuntimeError(f"camera {self.name} is already started; stop() it first")
            self._stop.clear()
            self._set_state(CameraState.CONNECTING)
            self._thread = threading.Thread(target=self._run, name=f"camera-{self.name}", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop the reader thread and release the source; idempotent."""
        self._stop.set()
        with self._cond:
            thread = self._thread
            self._cond.notify_all()
        stuck = False
        if thread is not None:
            thread.join(self.config.stop_timeout_s)
            stuck = thread.is_alive()
            if stuck:
                # a blocked FFmpeg read cannot be interrupted; the daemon thread exits with it,
                # and start() refuses to run a second reader beside it
                log.warning("camera %s: reader thread did not stop within %.1f s",
                            self.name, self.config.stop_timeout_s)
        with self._cond:
            if not stuck:
                self._thread = None
            if self._state is not CameraState.STOPPED:
                self._set_state(CameraState.STOPPED)

    def __enter__(self) -> Camera:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def latest(self) -> Frame | None:
        with self._cond:
            return self._latest

    def wait_frame(self, after: int = -1, timeout: float | None = None) -> Frame | None:
        """Block until a frame with ``index > after`` exists; None on timeout or stop."""
        with self._cond:
            self._cond.wait_for(
                lambda: (self._latest is not None and self._latest.index > after) or self._stop.is_set(),
                timeout)
            frame = self._latest
        return frame if frame is not None and frame.index > after else None

    def wait_state(self, *states: CameraState, timeout: float | None = None) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: self._state in states, timeout)

    def subscribe(self, callback: Callable[[Frame], None]) -> Callable[[], None]:
        """Call ``callback(frame)`` on the reader thread for every new frame.

        Callbacks must be quick (hand heavy work to another thread). Returns an unsubscribe
        function.
        """
        with self._cond:
            self._subscribers.append(callback)

        def unsubscribe() -> None:
            with self._cond:
                if callback in self._subscribers:
                    self._subscribers.remove(callback)

        return unsubscribe

    @property
    def state(self) -> CameraState:
        with self._cond:
            return self._state

    @property
    def last_error(self) -> DeviceError | None:
        with self._cond:
            return self._error

    def status(self) -> CameraStatus:
        with self._cond:
            latest = self._latest
            return CameraStatus(
                name=self.name,
                source=describe_source(self.config.source),
                state=self._state,
                reason=self._reason,
                error_code=self._error.code if self._error else None,
                frames=self._next_index,
                last_frame_at=latest.at if latest else None,
                fps=self._measured_fps(time.monotonic()),
                reconnects=self._reconnects,
                width=latest.width if latest else None,
                height=latest.height if latest else None,
            )

    # -- reader thread ------------------------------------------------------------------

    def _set_state(self, state: CameraState, reason: str | None = None) -> None:
        # caller holds self._cond
        if state is self._state:
            self._reason = reason
            return
        if state not in ALLOWED_TRANSITIONS[self._state]:
            raise RuntimeError(f"camera {self.name}: illegal transition {self._state.value} → {state.value}")
        self._state = state
        self._reason = reason
        self._cond.notify_all()

    def _transition(self, state: CameraState, reason: str | None = None,
                    error: DeviceError | None = None) -> None:
        with self._cond:
            if self._stop.is_set():
                return
            self._set_state(state, reason)
            if error is not None:
                self._error = error

    def _open(self) -> _OpenCvReader | _IteratorReader:
        if self.config.kind is SourceKind.IN_PROCESS:
            return _IteratorReader(self.config)
        return _OpenCvReader(self.config)

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self._went_live = False
            try:
                ended = self._pump()
            except Exception as exc:
                if isinstance(exc, DeviceError):
                    error = exc
                    error.device = error.device or self.name
                else:  # an OpenCV or programming error must not kill the thread silently
                    log.exception("camera %s: reader failed", self.name)
                    error = DeviceError(f"internal error: {exc}", device=self.name)
                failures = 1 if self._went_live else failures + 1
                delay = backoff_delay(failures, self.config.reconnect_backoff_s,
                                      self.config.reconnect_backoff_max_s)
                self._transition(CameraState.OFFLINE, str(error), error)
                log.warning("camera %s offline (%s); reconnecting in %.2f s", self.name, error, delay)
                if self._stop.wait(delay):
                    return
                with self._cond:
                    self._reconnects += 1
                self._transition(CameraState.CONNECTING)
                continue
            if ended:
                self._transition(CameraState.ENDED, "end of stream")
            return

    def _pace_period(self, reader: _OpenCvReader | _IteratorReader) -> float:
        return 1.0 / (self.config.fps or reader.fps or self.config.default_fps)

    def _pump(self) -> bool:
        """Read until stopped (False) or a finite non-looping source ends (True)."""
        reader = self._open()
        try:
            paced = reader.finite  # files and in-process sources are read at their frame rate
            period = self._pace_period(reader) if paced or self.config.fps else None
            due = time.monotonic()
            delivered_this_open = 0
            while not self._stop.is_set():
                if paced and period:
                    delay = due - time.monotonic()
                    if delay > 0 and self._stop.wait(delay):
                        return False
                try:
                    reader.grab()
                except _EndOfStream:
                    if delivered_this_open == 0:
                        raise ProtocolError("source has no frames", device=self.name) from None
                    if not self.config.loop_file:
                        return True
                    reader.close()
                    reader = self._open()
                    delivered_this_open = 0
                    continue
                now = time.monotonic()
                if not paced and period and now < due:
                    continue  # a live source faster than the configured rate: drop this one
                image = _as_bgr(reader.retrieve(), self.name)
                delivered_this_open += 1
                self._publish(image, now)
                if period:
                    due += period
                    if due < now - period:
                        due = now  # fell behind (slow disk, loaded CPU): do not burst to catch up
            return False
        finally:
            reader.close()

    def _publish(self, image: np.ndarray, now: float) -> None:
        image.setflags(write=False)
        with self._cond:
            frame = Frame(camera=self.name, index=self._next_index, at=self._clock(), image=image)
            self._next_index += 1
            self._latest = frame
            self._times.append(now)
            self._measured_fps(now)  # trims the window
            if self._state is not CameraState.LIVE and not self._stop.is_set():
                self._set_state(CameraState.LIVE)
                self._error = None
            self._went_live = True
            subscribers = list(self._subscribers)
            self._cond.notify_all()
        for callback in subscribers:
            try:
                callback(frame)
            except Exception:
                log.exception("camera %s: frame subscriber %r failed", self.name, callback)

    def _measured_fps(self, now: float) -> float:
        # caller holds self._cond
        horizon = now - self.config.fps_window_s
        while self._times and self._times[0] < horizon:
            self._times.popleft()
        if len(self._times) < 2:
            return 0.0
        span = self._times[-1] - self._times[0]
        return (len(self._times) - 1) / span if span > 0 else 0.0
