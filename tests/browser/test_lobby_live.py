"""The lobby display at 1920×1080: lanes with the masked plates at each station and each
lane's live camera beside it, queues, key-handover stages, a blocked station's reason; it updates within a second when an
inspector finishes a station, and shows "reconnecting" (never stale data as live) when the
server goes away."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from station.domain.journey import VisitState
from station.domain.vehicle_codes import Fuel
from station.models import OpenState, StationKind
from station.realtime import hub_of
from station.services import lanes, tracking, visits
from station.services.actors import Actor
from station.testing import LiveServer
from tests.station.test_lanes_assignment import lane_no, queued, station_of

from .conftest import screenshot

pytestmark = pytest.mark.browser
SYS = Actor.system("t")
ROOT = Path(__file__).resolve().parents[2]


def _busy_station(db, clock):
    """Cars at several stations, cars waiting, a blocked diesel meter, tickets called."""
    with db.write() as s:
        placed = []
        for i, (fuel, year) in enumerate([(Fuel.GASOLINE, 2021), (Fuel.GASOLINE, 2012),
                                          (Fuel.DIESEL, 2020), (Fuel.GASOLINE, 2019),
                                          (Fuel.GASOLINE, 2022), (Fuel.ELECTRIC, 2023)]):
            visit = queued(s, clock, fuel=fuel, first_registered_on=date(year, 4, 1),
                           plate=f"浙A{37100 + i * 7}", plate_type="02")
            placed.append(visit)
        # first three go on their lanes at different stations
        for visit, stops in zip(placed[:3], (2, 1, 3), strict=True):
            lane = lanes.get_lane(s, visit.assigned_lane_id)
            for st in tracking.route(s, clock, visit, lane)[:stops]:
                tracking.record_position(s, clock, SYS, visit, kind="arrived", source="terminal",
                                         station=st)
                if st is not tracking.route(s, clock, visit, lane)[stops - 1]:
                    items = [{"code": i["code"], "outcome": "pass"}
                             for i in tracking.station_items(s, clock, visit, st) if not i["skipped"]]
                    tracking.finish_station(s, clock, SYS, st, visit, items)
                clock.advance(timedelta(minutes=2))
        visits.transition(s, clock, SYS, placed[5], VisitState.CANCELLED)
        lanes.set_station_state(s, clock, SYS, station_of(lane_no(s, 3), StationKind.EMISSION_DIESEL),
                                OpenState.BLOCKED, "烟度计检定过期")
        return placed[0].id


def test_lobby_updates_within_a_second_when_a_station_is_finished(
        page, live, demo_station, db, clock, client, login, tmp_path, station_runtime):
    visit_id = _busy_station(db, clock)
    kiosk = {"Authorization": f"Bearer {demo_station.client_tokens['kiosk']}"}
    for plate in ("浙B13579", "浙C24680", "浙E11223"):
        assert client.post("/api/v1/walk-in", headers=kiosk,
                           json={"plate_type": "02", "plate": plate}).status_code == 201
    token = login("manager")
    counter = client.get("/api/v1/counters").get_json()[0]["id"]
    client.post(f"/api/v1/counters/{counter}/call-next", headers={"X-CSRFToken": token})
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{live.url}/display/#token={demo_station.client_tokens['lobby_display']}")
    page.locator("#rt-status.live").wait_for(timeout=10_000)
    text = page.locator("body").inner_text()
    assert "浙A·3**00" in text                      # masked plates at their stations
    assert "浙A37100" not in text and "浙B13579" not in text
    assert "柴油排放(不透光) 暂停检测（烟度计检定过期）" in text
    assert "B001" in text and "投诉举报电话" in text and "12345" in text
    assert page.locator(".stage h3").all_inner_texts() == ["已交钥匙", "检测中", "可取车", "已还钥匙"]
    with db.read() as s:
        visit = visits.get(s, visit_id)
        here = tracking.position_of(s, visit_id).station_id
        lane = lanes.get_lane(s, visit.assigned_lane_id)
        station = next(st for st in lane.stations if st.id == here)
        items = [{"code": i["code"], "outcome": "pass"}
                 for i in tracking.station_items(s, clock, visit, station) if not i["skipped"]]
    cell = page.locator(f'.station[data-station-id="{here}"] .car')
    assert cell.inner_text() == "浙A·3**00"
    started = time.monotonic()
    response = client.post(f"/api/v1/tracking/stations/{here}/finish",
                           headers={"X-CSRFToken": token}, json={"visit_id": visit_id, "results": items})
    assert response.status_code == 200, response.get_json()
    page.locator(f'.station[data-station-id="{here}"] .car.finished').wait_for(timeout=1_000)
    assert time.monotonic() - started < 1.0
    # each lane's live camera beside its lane, on the one screen (the cameras run in the
    # runtime, as in the demo); no camera is left for the panel below the lanes
    tiles = page.locator(".lane .lane-video img")
    page.wait_for_function("() => { const t = [...document.querySelectorAll('.lane .lane-video img')];"
                           " return t.length === 3 && t.every(i => i.naturalWidth > 0); }",
                           timeout=15_000)
    for n, lane in enumerate(page.locator(".lane").all()):
        assert lane.locator(".lane-video figcaption").inner_text() == f"{n + 1}号线摄像头"
    for box in (tiles.nth(n).bounding_box() for n in range(3)):
        assert box["width"] >= 160 and box["y"] + box["height"] <= 1080
    assert page.locator("#tiles-panel").is_hidden()
    page.wait_for_timeout(300)  # let the waits event land before the picture
    path = screenshot(page, tmp_path, "lobby_live")
    target = ROOT / "docs" / "screenshots" / "lobby.png"
    target.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(target))  # exactly one 1920×1080 screen
    assert path.exists()


def test_lobby_shows_reconnecting_when_the_server_is_gone(page, app, demo_station):
    server = LiveServer(app).__enter__()
    page.goto(f"{server.url}/display/#token={demo_station.client_tokens['lobby_display']}")
    page.locator("#rt-status.live").wait_for(timeout=20_000)
    assert page.locator("#main.stale").count() == 0
    server.__exit__(None, None, None)  # the network is gone: no new connection succeeds
    eio = hub_of(app).socketio.server.eio
    for sid in list(eio.sockets):  # and the open ones break (without waiting for a long-poll
        # that nobody will collect any more)
        eio.sockets[sid].close(wait=False, abort=True)
    page.locator("#rt-status.reconnecting").wait_for(timeout=20_000)
    assert page.locator("#offline-banner").is_visible()
    assert page.locator("#main.stale").count() == 1


def test_the_lobby_clock_shows_the_stations_time_in_any_machine_zone(browser, live, demo_station):
    """A display whose machine is set to another zone still shows the station's time."""
    context = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN",
                                  timezone_id="Europe/London")
    page = context.new_page()
    try:
        page.goto(f"{live.url}/display/#token={demo_station.client_tokens['lobby_display']}")
        page.locator("#rt-status.live").wait_for(timeout=20_000)
        station_now = [datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%H:%M")]
        page.wait_for_timeout(1200)  # the next tick, with the snapshot's station facts
        shown = page.locator("#clock").inner_text()[:5]
        station_now.append(datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%H:%M"))
        assert shown in station_now, (shown, station_now)
    finally:
        context.close()
