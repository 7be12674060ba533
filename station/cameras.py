"""Lane cameras in the server: presence at stations, evidence photos, masked live tiles.

For every ready camera device this wires the driver pieces of ``drivers.camera`` together:

- a ``StationWatcher`` turns the camera's picture into "vehicle present / absent" at each
  station it sees (``config["stations"]``: scene name, lane station id, region); each change
  goes to ``on_presence`` — lane tracking, as a second source beside the lane terminal;
- a ``StreamBroadcaster`` keeps one masked, downscaled JPEG tile for the lobby
  (``config["tile"]``, privacy regions in ``config["masks"]``); nothing unmasked leaves it;
- a car moving at a station the camera sees (``signals.vehicle_moved``, from any source) is
  photographed on a worker thread and recorded as evidence with the visit.

Cameras come and go with the device manager (a camera offline is re-wired when it is back);
``sync()`` runs every few seconds. Only the runtime process (``station.runtime``) runs this.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from drivers.camera import Camera
from drivers.camera.presence import PresenceEvent, StationWatcher
from drivers.camera.snapshot import take_snapshot
from drivers.camera.stream import StreamBroadcaster
from drivers.errors import DeviceError
from station import signals
from station.clock import Clock
from station.db import Database
from station.models import DeviceKind, HardwareDevice
from station.models.evidence import EvidenceMoment
from station.services import evidence

log = logging.getLogger(__name__)

#: how often cameras that came up (or went away) are re-wired
SYNC_SECONDS = 5.0


@dataclass(frozen=True)
class CameraPresence:
    """A camera saw a station become occupied or empty."""

    device_id: int
    station_id: int
    present: bool
    #: the estimated moment of the change (the first frame that showed it)
    at: datetime
    confidence: float


@dataclass
class _Wiring:
    device_id: int
    camera: Camera
    watcher: StationWatcher | None
    broadcaster: StreamBroadcaster
    #: scene station name → lane station id, and back
    station_ids: dict[str, int]
    #: whether presence moves cars in lane tracking (off for a demo camera whose simulated
    #: traffic does not follow the station's visits)
    track: bool = True

    def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        self.broadcaster.stop()


#: (device id) → (camera, device config) for every camera that is ready now
CameraSource = Callable[[], Mapping[int, tuple[Camera, dict[str, Any]]]]


def camera_stations(config: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The stations a camera watches, validated: name, lane station id, region."""
    out = []
    for entry in config.get("stations") or []:
        if not isinstance(entry, Mapping) or "name" not in entry or "roi" not in entry \
                or not isinstance(entry.get("station_id"), int):
            raise ValueError(f"camera station needs name, station_id and roi: {entry!r}")
        out.append({"name": str(entry["name"]), "station_id": entry["station_id"],
                    "roi": entry["roi"]})
    return out


class CameraService:
    def __init__(self, db: Database, clock: Clock, store: evidence.EvidenceStore,
                 cameras: CameraSource, *,
                 on_presence: Callable[[CameraPresence], None] | None = None) -> None:
        self.db, self.clock, self.store = db, clock, store
        self._cameras = cameras
        self._on_presence = on_presence
        self._lock = threading.Lock()
        self._wired: dict[int, _Wiring] = {}
        self._photos: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        #: evidence photos written, and photos that could not be taken (counters for tests)
        self.photos_taken = 0
        self.photo_failures = 0

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> CameraService:
        signals.vehicle_moved.connect(self._on_moved, sender=self.db, weak=False)
        self.sync()
        for target, name in ((self._photo_loop, "evidence-photos"), (self._sync_loop, "camera-sync")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        signals.vehicle_moved.disconnect(self._on_moved, sender=self.db)
        self._stop.set()
        self._photos.put(None)
        for thread in self._threads:
            thread.join(timeout=5)
        with self._lock:
            wired, self._wired = list(self._wired.values()), {}
        for wiring in wired:
            wiring.stop()

    def _sync_loop(self) -> None:
        while not self._stop.wait(SYNC_SECONDS):
            try:
                self.sync()
            except Exception:
                log.exception("camera sync failed")

    def sync(self) -> None:
        """Wire cameras that are ready and not wired (or whose driver was replaced); unwire
        those that are gone."""
        ready = dict(self._cameras())
        with self._lock:
            stale = [w for d, w in self._wired.items()
                     if d not in ready or ready[d][0] is not w.camera]
            for wiring in stale:
                del self._wired[wiring.device_id]
        for wiring in stale:
            wiring.stop()
        for device_id, (camera, config) in ready.items():
            with self._lock:
                if device_id in self._wired:
                    continue
            try:
                wiring = self._wire(device_id, camera, config)
            except (ValueError, TypeError) as exc:
                log.error("camera %s is misconfigured: %s", device_id, exc)
                continue
            with self._lock:
                self._wired[device_id] = wiring

    def _wire(self, device_id: int, camera: Camera, config: Mapping[str, Any]) -> _Wiring:
        stations = camera_stations(config)
        broadcaster = StreamBroadcaster(camera, {**(config.get("tile") or {}),
                                                 "masks": list(config.get("masks") or [])})
        watcher = None
        if stations:
            watcher = StationWatcher(camera, [{"name": s["name"], "roi": s["roi"]} for s in stations],
                                     config.get("presence") or None)
        wiring = _Wiring(device_id, camera, watcher, broadcaster,
                         {s["name"]: s["station_id"] for s in stations},
                         bool(config.get("track_presence", True)))
        broadcaster.start()
        if watcher is not None:
            watcher.subscribe(lambda event: self._presence(wiring, event))
            watcher.start()
        return wiring

    # -- what the rest of the server asks ---------------------------------------------------

    def broadcaster(self, device_id: int) -> StreamBroadcaster | None:
        with self._lock:
            wiring = self._wired.get(device_id)
        return wiring.broadcaster if wiring is not None else None

    def camera_for_station(self, station_id: int) -> tuple[int, Camera, str] | None:
        """(device id, camera, scene station name) of a camera that sees ``station_id``."""
        with self._lock:
            for wiring in self._wired.values():
                for name, sid in wiring.station_ids.items():
                    if sid == station_id:
                        return wiring.device_id, wiring.camera, name
        return None

    def wired(self) -> list[int]:
        with self._lock:
            return sorted(self._wired)

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until queued evidence photos are written (tests)."""
        done = threading.Event()
        self._photos.put({"_done": done})
        return done.wait(timeout)

    # -- presence ---------------------------------------------------------------------------

    def _presence(self, wiring: _Wiring, event: PresenceEvent) -> None:
        station_id = wiring.station_ids.get(event.station)
        if station_id is None or self._on_presence is None or not wiring.track:
            return
        change = CameraPresence(device_id=wiring.device_id, station_id=station_id,
                                present=event.present,
                                at=datetime.fromtimestamp(event.since, UTC),
                                confidence=event.confidence)
        try:
            self._on_presence(change)
        except Exception:
            log.exception("presence from camera %s not taken", wiring.device_id)

    # -- evidence ---------------------------------------------------------------------------

    def _on_moved(self, _sender: Any, **p: Any) -> None:
        station_id = p.get("station_id")
        if station_id is None or p.get("kind") not in ("arrived", "finished"):
            return
        if self.camera_for_station(station_id) is None:  # no camera sees it: nothing to wake
            return
        moment = EvidenceMoment.ARRIVED if p["kind"] == "arrived" else EvidenceMoment.LEFT
        self._photos.put({"visit_id": p["visit_id"], "station_id": station_id, "moment": moment})

    def _photo_loop(self) -> None:
        while True:
            job = self._photos.get()
            if job is None:
                return
            if "_done" in job:
                job["_done"].set()
                continue
            try:
                self.photograph(job["visit_id"], job["station_id"], job["moment"])
            except Exception:
                self.photo_failures += 1
                log.exception("evidence photo for visit %s failed", job["visit_id"])

    def photograph(self, visit_id: int, station_id: int, moment: EvidenceMoment) -> int | None:
        """Take and record a photo of ``station_id`` now; the photo's id, or None when no
        camera sees the station or it has no fresh picture (logged, counted)."""
        found = self.camera_for_station(station_id)
        if found is None:
            return None
        device_id, camera, _name = found
        now = self.clock.now()
        directory = self.store.month_dir(now)
        try:
            snapshot = take_snapshot(camera, directory, station=station_id, visit=visit_id,
                                     now=lambda: now)
        except DeviceError as exc:
            self.photo_failures += 1
            log.warning("no evidence photo of station %s for visit %s: %s", station_id,
                        visit_id, exc)
            return None
        with self.db.write() as s:
            photo = evidence.record(s, self.store, snapshot, visit_id=visit_id,
                                    station_id=station_id, device_id=device_id, moment=moment)
            photo_id = photo.id
        self.photos_taken += 1
        return photo_id


def track_presence(db: Database, clock: Clock) -> Callable[[CameraPresence], None]:
    """Presence → lane tracking: a car seen arriving at a station is the car expected there
    (the lane's next car for its first stop, or the car at the stop before). Leaving is not
    reported: the car is seen at its next station, or the inspector finishes the station.
    Tracking never moves a car backwards, whichever source reports."""
    from station.services import tracking
    from station.services.actors import Actor

    def take(change: CameraPresence) -> None:
        if not change.present:
            return
        with db.write() as s:
            station = tracking.station_of(s, change.station_id)
            expected = tracking.expected_at(s, clock, station)
            if not expected:
                log.info("camera %s: a car at station %s that nobody expects", change.device_id,
                         change.station_id)
                return
            tracking.record_position(s, clock, Actor.system(f"摄像头{change.device_id}"),
                                     expected[0], kind="arrived", source="camera",
                                     station=station, at=min(change.at, clock.now()))

    return take


def device_cameras(db: Database, devices: Any) -> CameraSource:
    """The camera source of the runtime: ready camera devices of the device manager, with the
    configuration stored for each."""
    from station.devices import DeviceState

    def ready() -> dict[int, tuple[Camera, dict[str, Any]]]:
        ids = [s.id for s in devices.statuses()
               if s.kind is DeviceKind.CAMERA and s.state is DeviceState.READY]
        if not ids:
            return {}
        with db.read() as s:
            configs = dict(s.execute(sa.select(HardwareDevice.id, HardwareDevice.config)
                                     .where(HardwareDevice.id.in_(ids))).all())
        out = {}
        for device_id in ids:
            try:
                handle = devices.handle(device_id)
            except Exception:  # went down since the status was read
                continue
            camera = getattr(handle, "camera", None)
            if isinstance(camera, Camera):
                out[device_id] = (camera, dict(configs.get(device_id) or {}))
        return out

    return ready
