"""A person's first steps: the start page, staff login, and the live lobby display."""

from __future__ import annotations

import pytest

from station.models import OpenState
from station.services import lanes
from station.services.actors import Actor
from station.services.demo import DEMO_PASSWORD

from .conftest import screenshot

pytestmark = pytest.mark.browser


def test_start_page_login_and_staff_overview(page, live, demo_station, tmp_path):
    page.goto(live.url + "/")
    assert page.locator("#station-name").inner_text() == "示范机动车检测站"
    assert page.get_by_text("2号线 小型车(含柴油)").is_visible()
    screenshot(page, tmp_path, "start")
    page.get_by_role("link", name="员工登录").click()
    page.get_by_label("用户名").fill("counter1")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/staff/")
    page.locator("#rt-status.live").wait_for(timeout=10_000)
    assert page.locator(".lane-row").count() == 3
    assert "李窗口" in page.locator(".topbar").inner_text()
    screenshot(page, tmp_path, "staff_overview")


def test_lobby_display_follows_the_station_live(page, live, demo_station, db, clock, tmp_path):
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{live.url}/display/#token={demo_station.client_tokens['lobby_display']}")
    page.locator("#rt-status.live").wait_for(timeout=10_000)
    assert "token" not in page.url  # the token leaves the address bar
    assert page.locator(".lane").count() == 3
    with db.write() as s:
        lane = lanes.all_lanes(s)[1]
        lanes.set_lane_state(s, clock, Actor.system("t"), lane, OpenState.BLOCKED, "烟度计检定过期")
    page.locator(".lane.blocked").wait_for(timeout=1_000)  # within one second
    screenshot(page, tmp_path, "lobby")
    page.reload()  # the token was kept: the display reconnects by itself
    page.locator("#rt-status.live").wait_for(timeout=10_000)
    assert page.locator(".lane.blocked").count() == 1


def test_lobby_without_a_token_stays_offline(page, live, demo_station):
    page.goto(live.url + "/display/")
    page.wait_for_timeout(1500)
    assert "live" not in page.locator("#rt-status").get_attribute("class")
    assert page.locator(".lane").count() == 0
