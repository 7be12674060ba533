"""A car goes through a lane seen by its camera only: presence at each station moves it on the
lobby display, each station gets an evidence photo, and the inspector can still finish a
station the camera has already seen the car leave — the car never moves back."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import sqlalchemy as sa

from drivers.camera import Camera
from simulators.camera import LaneScene, LaneSimulator, LightingSpec
from station.cameras import CameraService, track_presence
from station.domain.journey import VisitState
from station.models import DeviceKind, HardwareDevice, Lane, Vehicle, VisitCategory
from station.models.evidence import EvidencePhoto
from station.models.tracking import PositionEvent, PositionSource
from station.realtime import LOBBY, hub_of
from station.services import evidence, tracking, visits
from station.services.actors import Actor
from station.services.demo import demo_camera_config

SYS = Actor.system("test")


def _queued_car(db, clock, lane: Lane) -> int:
    with db.write() as s:
        vehicle = Vehicle(plate_type="02", plate="浙A6C789", vehicle_type="K33", use_nature="A",
                          fuel="gasoline", first_registered_on=datetime(2022, 5, 1).date(),
                          created_at=clock.now(), updated_at=clock.now())
        s.add(vehicle)
        s.flush()
        visit = visits.open_visit(s, clock, SYS, vehicle, category=VisitCategory.WALK_IN,
                                  arrived_at=clock.now())
        for state in (VisitState.CALLED, VisitState.REGISTERED, VisitState.QUEUED_FOR_LANE):
            visits.transition(s, clock, SYS, visit, state)
        visit.assigned_lane_id, visit.assigned_lane_reason = lane.id, "测试"
        return visit.id


def test_a_car_through_a_lane_with_its_camera_only(app, db, clock, demo_station, tmp_path):
    clock.set(datetime.now(UTC))  # presence times come from the camera's (wall) clock
    with db.read() as s:
        lane = s.scalar(sa.select(Lane).where(Lane.number == 1))
        config = demo_camera_config(lane) | {"track_presence": True}  # a real lane camera
        device_id = s.scalar(sa.select(HardwareDevice.id).where(
            HardwareDevice.kind == DeviceKind.CAMERA, HardwareDevice.name == "1号线摄像头"))
        watched = [st["station_id"] for st in config["stations"]]
    visit_id = _queued_car(db, clock, lane)
    lobby = hub_of(app).socketio.test_client(
        app, namespace=LOBBY, auth={"token": demo_station.client_tokens["lobby_display"]})
    assert lobby.is_connected(LOBBY)
    lobby.get_received(LOBBY)

    scene = LaneScene()
    script = [(1.5, "S1", 3.0), (6.0, "S2", 3.0), (10.5, "S3", 3.0)]
    simulator = LaneSimulator(scene, script, LightingSpec.steady(), duration=30.0, seed=5)
    camera = Camera({"name": "1号线摄像头", "source": simulator.source(20.0, loop=False), "fps": 20.0})
    store = evidence.EvidenceStore.under(tmp_path)
    service = CameraService(db, clock, store, lambda: {device_id: (camera, config)},
                            on_presence=track_presence(db, clock))
    service.start()
    camera.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            clock.set(datetime.now(UTC))
            with db.read() as s:
                here = tracking.position_of(s, visit_id)
            if here is not None and here.station_id == watched[2]:
                break
            time.sleep(0.1)
        assert here is not None and here.station_id == watched[2], here
        assert service.drain(10)
    finally:
        service.stop()
        camera.stop()

    with db.read() as s:
        assert visits.get(s, visit_id).state is VisitState.ON_LANE
        events = s.execute(sa.select(PositionEvent.station_id, PositionEvent.source)
                           .where(PositionEvent.visit_id == visit_id)
                           .order_by(PositionEvent.id)).all()
        assert events == [(sid, PositionSource.CAMERA) for sid in watched]
        photos = s.execute(sa.select(EvidencePhoto.station_id, EvidencePhoto.moment)
                           .where(EvidencePhoto.visit_id == visit_id)).all()
        assert {sid for sid, _ in photos} == set(watched), "a photo at every station"
    moves = [m["args"][0]["data"] for m in lobby.get_received(LOBBY)
             if m["name"] == "event" and m["args"][0]["type"] == "position"]
    assert [m["station_id"] for m in moves] == watched, "the lobby saw the car move"
    assert all(m["plate"] != "浙A6C789" and "*" in m["plate"] for m in moves), "masked plates"

    # the inspector finishes the first station afterwards: recorded, and the car stays put
    clock.set(datetime.now(UTC))
    with db.write() as s:
        visit = visits.get(s, visit_id)
        station = tracking.station_of(s, watched[0])
        items = [i for i in tracking.station_items(s, clock, visit, station) if not i["skipped"]]
        tracking.finish_station(s, clock, SYS, station, visit,
                                [{"code": i["code"], "outcome": "pass"} for i in items])
    with db.read() as s:
        assert tracking.position_of(s, visit_id).station_id == watched[2]
        assert visits.get(s, visit_id).state is VisitState.ON_LANE
