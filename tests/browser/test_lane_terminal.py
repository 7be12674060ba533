"""The lane terminal in Chromium: an inspector takes the car at the station, records the
items (skipped ones show their rule), finishes — and the lobby display shows the car done
within a second."""

from __future__ import annotations

import time
from datetime import date

import pytest

from tests.browser.conftest import log_in
from tests.station.test_lanes_assignment import lane_no, queued

from .conftest import screenshot

pytestmark = pytest.mark.browser


def test_inspector_finishes_a_station_and_the_lobby_follows(browser, page, live, demo_station,
                                                            db, clock, tmp_path):
    with db.write() as s:
        visit = queued(s, clock, first_registered_on=date(2021, 6, 1), plate="浙A37120")
        lane = lane_no(s, 1)
        assert visit.assigned_lane_id == lane.id
        first, pit = lane.stations[0].id, lane.stations[5].id
    lobby = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="zh-CN").new_page()
    lobby.goto(f"{live.url}/display/#token={demo_station.client_tokens['lobby_display']}")
    lobby.locator("#rt-status.live").wait_for(timeout=10_000)
    assert "浙A·3**20" in lobby.locator(f'.lane[data-lane-id="{lane.id}"] .waiting-line').inner_text()

    log_in(page, live, "inspector1", "/lane/")
    page.get_by_role("link", name="1. 联网查询/唯一性").first.click()
    page.locator("#rt-status.live").wait_for(timeout=10_000)
    page.get_by_role("button", name="车辆到位").click()
    page.locator("#car-plate", has_text="浙A37120").wait_for(timeout=5_000)
    assert page.locator("#car-info").inner_text() == "小型轿车 · 汽油"  # words, not codes
    assert page.locator("#emission-link").is_hidden()  # a smoke test only at a diesel station
    lobby.locator(f'.station[data-station-id="{first}"] .car.arrived').wait_for(timeout=1_000)
    page.get_by_role("button", name="本工位完成，车辆前往下一工位").click()
    page.locator("#error", has_text="以下项目尚未判定").wait_for(timeout=5_000)
    rows = page.locator("#items tr")
    for i in range(rows.count()):
        rows.nth(i).get_by_role("button", name="合格", exact=True).click()
        assert page.locator("#error").is_hidden()  # the list of items left goes as they are judged
    rows.nth(1).get_by_role("button", name="不合格").click()
    rows.nth(1).locator("input").fill("号牌污损")
    screenshot(page, tmp_path, "lane_terminal")
    started = time.monotonic()
    page.get_by_role("button", name="本工位完成，车辆前往下一工位").click()
    lobby.locator(f'.station[data-station-id="{first}"] .car.finished').wait_for(timeout=1_000)
    assert time.monotonic() - started < 1.0
    page.locator("#no-car").wait_for(timeout=5_000)
    # the pit station shows the chassis items as not applicable, with the rule
    page.goto(f"{live.url}/lane/station/{pit}")
    page.locator("#rt-status.live").wait_for(timeout=10_000)
    assert page.locator("#no-incoming").is_visible()  # a young private car skips the pit
