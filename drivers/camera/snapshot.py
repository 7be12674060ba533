"""Evidence photos (检验过程照片): the latest frame at full resolution, unmasked, as a JPEG file.

These are staff evidence kept with the inspection record, so no privacy mask is applied here;
they must only be served to logged-in staff. The database row (path, size, hash) is written
by the server from the returned :class:`Snapshot`.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import cv2

from drivers.camera.capture import Camera, Frame
from drivers.errors import DeviceError, DeviceTimeout

#: evidence is kept ≥ 6 years and may be re-examined: high quality by default
DEFAULT_JPEG_QUALITY = 92

_UNSAFE = re.compile(r"[^A-Za-z0-9_-]+")


@dataclass(frozen=True)
class Snapshot:
    path: Path
    size: int  # bytes
    sha256: str  # hex digest of the file's bytes
    taken_at: datetime  # UTC, the moment the photo was requested
    frame_at: float  # capture time of the frame (camera clock)
    camera: str
    width: int
    height: int


def _slug(value: object, what: str) -> str:
    slug = _UNSAFE.sub("-", str(value)).strip("-")
    if not slug:
        raise ValueError(f"{what} {value!r} gives an empty file name part")
    return slug


def snapshot_name(station: object, visit: object, taken_at: datetime) -> str:
    """``<visit>_<station>_<UTC time>.jpg``: sortable, unique per visit, station and moment."""
    if taken_at.tzinfo is None:
        raise ValueError("taken_at must be timezone-aware")
    stamp = taken_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S_%fZ")
    return f"{_slug(visit, 'visit')}_{_slug(station, 'station')}_{stamp}.jpg"


def take_snapshot(source: Camera | Frame, directory: str | os.PathLike, *, station: object, visit: object,
                  now: Callable[[], datetime] = lambda: datetime.now(UTC), max_age_s: float | None = 2.0,
                  clock: Callable[[], float] = time.time, jpeg_quality: int = DEFAULT_JPEG_QUALITY) -> Snapshot:
    """Write the camera's latest frame to ``directory`` and describe the file.

    Raises ``DeviceTimeout`` when the camera has no frame, or (``max_age_s``) only a stale one
    — an old frame is not evidence of the present moment. ``clock`` must be the camera's clock.
    """
    taken_at = now()
    if isinstance(source, Frame):
        frame = source
    else:
        frame = source.latest()
        if frame is None:
            raise DeviceTimeout("no frame to photograph", device=source.name)
        if max_age_s is not None and clock() - frame.at > max_age_s:
            raise DeviceTimeout(f"latest frame is {clock() - frame.at:.1f} s old", device=source.name)
    ok, buffer = cv2.imencode(".jpg", frame.image, [cv2.IMWRITE_JPEG_QUALITY, int(jpeg_quality)])
    if not ok:
        raise DeviceError("JPEG encoding of the evidence photo failed", device=frame.camera)
    data = buffer.tobytes()

    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    name = snapshot_name(station, visit, taken_at)
    path = folder / name
    counter = 1
    while True:
        try:
            # O_EXCL: never overwrite an existing piece of evidence
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
            break
        except FileExistsError:
            path = folder / f"{name[:-4]}-{counter}.jpg"
            counter += 1
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Snapshot(path=path, size=len(data), sha256=hashlib.sha256(data).hexdigest(), taken_at=taken_at,
                    frame_at=frame.at, camera=frame.camera, width=frame.width, height=frame.height)
