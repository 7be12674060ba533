"""Lane cameras in the server: evidence photos with the visit, masked live tiles, presence
changes mapped to lane stations, archiving after the retention period."""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa

from drivers.camera import Camera, CameraState
from simulators.camera import LaneScene, LaneSimulator, LightingSpec
from station import signals
from station.cameras import CameraPresence, CameraService, camera_stations
from station.models import (
    AuditEntry,
    DeviceKind,
    HardwareDevice,
    Lane,
    LaneStation,
    Role,
    Vehicle,
    VisitCategory,
)
from station.models.evidence import EvidenceMoment, EvidencePhoto
from station.services import evidence, visits
from station.services.actors import Actor


def _visit(db, clock, plate="浙A12345"):
    with db.write() as s:
        vehicle = Vehicle(plate_type="02", plate=plate, created_at=clock.now(), updated_at=clock.now())
        s.add(vehicle)
        s.flush()
        visit = visits.open_visit(s, clock, Actor.system("t"), vehicle, category=VisitCategory.WALK_IN)
        return visit.id


def _camera_device(db):
    with db.read() as s:
        return s.scalar(sa.select(HardwareDevice.id).where(HardwareDevice.kind == DeviceKind.CAMERA)
                        .order_by(HardwareDevice.id))


def _stations(db, demo_station):
    with db.read() as s:
        return list(s.scalars(sa.select(LaneStation.id).where(LaneStation.lane_id == 1)
                              .order_by(LaneStation.position)))[:3]


@pytest.fixture
def scene():
    return LaneScene()


def _camera(scene, script=(), duration=60.0, fps=20.0):
    simulator = LaneSimulator(scene, list(script), LightingSpec.steady(), duration=duration, seed=7)
    camera = Camera({"name": "lane1-cam", "source": simulator.source(fps, loop=True), "fps": fps})
    return camera


def _config(scene, station_ids, **extra):
    stations = [{**s, "station_id": sid} for s, sid in zip(scene.stations_config(), station_ids,
                                                            strict=True)]
    return {"stations": stations, "masks": scene.privacy_masks(), "tile": {"fps": 5, "width": 320},
            **extra}


@pytest.fixture
def wired(db, clock, demo_station, scene, tmp_path):
    """A camera service with one simulated camera watching the first three stations of lane 1."""
    station_ids = _stations(db, demo_station)
    device_id = _camera_device(db)
    camera = _camera(scene)
    presence: list[CameraPresence] = []
    store = evidence.EvidenceStore.under(tmp_path / "instance")
    service = CameraService(db, clock, store, lambda: {device_id: (camera, _config(scene, station_ids))},
                            on_presence=presence.append)
    camera.start()
    assert camera.wait_state(CameraState.LIVE, timeout=10)
    service.start()
    yield service, device_id, station_ids, presence, store
    service.stop()
    camera.stop()


def test_camera_station_config_is_validated():
    with pytest.raises(ValueError):
        camera_stations({"stations": [{"name": "S1", "roi": [0, 0, 1, 1]}]})  # no station id
    assert camera_stations({}) == []


def test_a_car_moving_at_a_watched_station_is_photographed_and_recorded(db, clock, wired):
    service, device_id, station_ids, _presence, store = wired
    visit_id = _visit(db, clock)
    assert service.camera_for_station(station_ids[1])[0] == device_id
    signals.vehicle_moved.send(db, visit_id=visit_id, lane_id=1, station_id=station_ids[1],
                               kind="arrived", source="terminal", at=clock.now().isoformat(),
                               plate="浙A1**45")
    signals.vehicle_moved.send(db, visit_id=visit_id, lane_id=1, station_id=station_ids[1],
                               kind="finished", source="terminal", at=clock.now().isoformat(),
                               plate="浙A1**45")
    # a station no camera sees: nothing, and no failure
    signals.vehicle_moved.send(db, visit_id=visit_id, lane_id=1, station_id=999_999,
                               kind="arrived", source="terminal", at=clock.now().isoformat(),
                               plate="浙A1**45")
    assert service.drain(10)
    with db.read() as s:
        photos = evidence.photos_of_visit(s, visit_id)
        assert [p["moment"] for p in photos] == ["arrived", "left"]
        assert all(p["station_id"] == station_ids[1] and p["station_name"] for p in photos)
        photo, data = evidence.read_verified(s, store, photos[0]["id"])
    assert data[:2] == b"\xff\xd8", "a JPEG file"
    assert hashlib.sha256(data).hexdigest() == photo.sha256
    assert (store.root / photo.path).is_file()
    assert service.photos_taken == 2 and service.photo_failures == 0


def test_a_changed_or_missing_file_is_refused(db, clock, wired):
    service, _c, station_ids, _p, store = wired
    visit_id = _visit(db, clock)
    photo_id = service.photograph(visit_id, station_ids[0], EvidenceMoment.ARRIVED)
    with db.read() as s:
        photo = s.get(EvidencePhoto, photo_id)
        path = store.root / photo.path
    path.write_bytes(path.read_bytes() + b"x")
    with db.read() as s, pytest.raises(Exception) as err:
        evidence.read_verified(s, store, photo_id)
    assert err.value.code == "evidence_altered"
    path.unlink()
    with db.read() as s, pytest.raises(Exception) as err:
        evidence.read_verified(s, store, photo_id)
    assert err.value.code == "evidence_missing"


def test_photos_move_to_the_archive_after_the_retention_period_and_stay_readable(db, clock, wired):
    service, _c, station_ids, _p, store = wired
    visit_id = _visit(db, clock)
    photo_id = service.photograph(visit_id, station_ids[0], EvidenceMoment.ARRIVED)
    with db.write() as s:
        assert evidence.archive_due(s, clock, store) == 0, "young photos stay where they are"
    clock.advance(timedelta(days=6 * 366))
    with db.write() as s:
        assert evidence.archive_due(s, clock, store) == 1
    with db.read() as s:
        photo, data = evidence.read_verified(s, store, photo_id)
        assert photo.archived_at is not None
        assert not (store.root / photo.path).exists() and (store.archive / photo.path).is_file()
        assert s.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                        .where(AuditEntry.action == "evidence.archived")) == 1
    assert data[:2] == b"\xff\xd8"


def test_the_visit_page_shows_the_photos_to_staff_only(db, clock, wired, app, client, login):
    service, _c, station_ids, _p, _store = wired
    visit_id = _visit(db, clock)
    photo_id = service.photograph(visit_id, station_ids[0], EvidenceMoment.ARRIVED)
    anonymous = client.get(f"/staff/evidence/{photo_id}.jpg")
    assert anonymous.status_code in (302, 401)
    login(Role.INSPECTOR)
    page = client.get(f"/staff/visits/{visit_id}")
    assert f"/staff/evidence/{photo_id}.jpg" in page.get_data(as_text=True)


def test_the_live_tile_is_a_masked_jpeg_stream(db, clock, wired, app, client):
    service, device_id, _ids, _p, _store = wired
    app.extensions["station.cameras"] = service
    response = client.get(f"/cameras/{device_id}/live.mjpg", buffered=False)
    assert response.status_code == 200
    assert response.mimetype.startswith("multipart/x-mixed-replace")
    chunks = response.response
    first = b""
    for chunk in chunks:
        first += chunk
        if b"\xff\xd9" in first:
            break
    response.close()
    assert b"Content-Type: image/jpeg" in first and b"\xff\xd8" in first
    missing = client.get("/cameras/999/live.mjpg")
    assert missing.status_code == 409


def test_presence_at_a_station_is_reported_with_its_lane_station(db, clock, demo_station, scene,
                                                                  tmp_path):
    station_ids = _stations(db, demo_station)
    # one car: stops at S1 from 2 s for 3 s, then at S2 from 6.5 s for 3 s
    camera = _camera(scene, [(2.0, "S1", 3.0), (6.5, "S2", 3.0)], duration=30.0)
    seen: list[CameraPresence] = []
    done = threading.Event()

    def on_presence(change: CameraPresence) -> None:
        seen.append(change)
        if len(seen) >= 4:
            done.set()

    service = CameraService(db, clock, evidence.EvidenceStore.under(tmp_path),
                            lambda: {7: (camera, _config(scene, station_ids))}, on_presence=on_presence)
    service.start()
    camera.start()
    try:
        assert done.wait(25), f"presence changes seen: {seen}"
    finally:
        service.stop()
        camera.stop()
    changes = [(c.station_id, c.present) for c in seen[:4]]
    assert changes == [(station_ids[0], True), (station_ids[0], False), (station_ids[1], True),
                       (station_ids[1], False)]
    assert all(c.device_id == 7 and 0.5 <= c.confidence <= 1.0 for c in seen)


def test_a_replaced_camera_is_rewired_and_a_gone_one_unwired(db, clock, demo_station, scene, tmp_path):
    station_ids = _stations(db, demo_station)
    cameras = {1: (_camera(scene), _config(scene, station_ids))}
    service = CameraService(db, clock, evidence.EvidenceStore.under(tmp_path), lambda: dict(cameras))
    service.sync()
    first = service.broadcaster(1)
    assert service.wired() == [1] and first is not None
    cameras[1] = (_camera(scene), _config(scene, station_ids))  # the device was reopened
    service.sync()
    assert service.broadcaster(1) is not first
    cameras.clear()
    service.sync()
    assert service.wired() == [] and service.broadcaster(1) is None
    service.stop()


def test_a_camera_without_a_picture_gives_no_photo_and_is_counted(db, clock, demo_station, scene,
                                                                    tmp_path):
    station_ids = _stations(db, demo_station)
    camera = _camera(scene)  # never started: no frame
    service = CameraService(db, clock, evidence.EvidenceStore.under(tmp_path),
                            lambda: {3: (camera, _config(scene, station_ids))})
    service.sync()
    visit_id = _visit(db, clock)
    started = time.monotonic()
    assert service.photograph(visit_id, station_ids[0], EvidenceMoment.ARRIVED) is None
    assert time.monotonic() - started < 5
    assert service.photo_failures == 1
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(EvidencePhoto)) == 0
    service.stop()


def test_the_lobby_is_told_which_lane_each_camera_watches(db, clock, demo_station):
    """The lobby shows a lane's camera beside the lane: the snapshot names it; a camera at no
    lane station has none (the display puts it in the panel below the lanes)."""
    from station.services import overview

    with db.write() as s:
        s.add(HardwareDevice(kind=DeviceKind.CAMERA, name="大厅摄像头", simulated=True, config={},
                             created_at=clock.now()))
    with db.read() as s:
        cameras = {c["name"]: c for c in overview.public_overview(s, clock)["cameras"]}
        lane_of_number = {lane.number: lane.id for lane in s.scalars(sa.select(Lane))}
    assert {name: c["lane_id"] for name, c in cameras.items()} == {
        "1号线摄像头": lane_of_number[1], "2号线摄像头": lane_of_number[2],
        "3号线摄像头": lane_of_number[3], "大厅摄像头": None}
    assert all(c["url"] == f"/cameras/{c['id']}/live.mjpg" for c in cameras.values())
