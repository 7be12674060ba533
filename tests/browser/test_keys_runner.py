"""The runner's phone (引车) in a phone-sized Chromium: claim a car, take it to its lane, take a
tested car back and hang its key in the cabinet; another runner's claim shows up live."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from station.domain.journey import VisitState
from station.models import Channel, Lane, Role, TicketCategory
from station.services import appointments, keys, tickets, users, visits
from station.services.actors import Actor
from station.services.demo import DEMO_PASSWORD
from tests.browser.conftest import log_in

from .conftest import screenshot, topbar_misfits

pytestmark = pytest.mark.browser
S = VisitState
PHONE = {"width": 390, "height": 844}


def paid_car(db, clock, plate, tag, lane_number=None, *, then=()):
    """A walk-in whose key was handed over at the desk and whose fee was paid."""
    with db.write() as s:
        actor = Actor.system("desk")
        desk = users.create_user(s, clock, actor, username=f"desk{tag}", password=DEMO_PASSWORD,
                                 display_name="交车员", roles=[Role.COUNTER])
        visit = appointments.walk_in(s, clock, actor, plate_type="02", plate=plate,
                                     channel=Channel.KIOSK, phone="13800001111").visit
        tickets.issue(s, clock, actor, visit, TicketCategory.WALK_IN)
        key = keys.hand_over(s, clock, Actor.user(desk), visit, tag=tag, parking_spot=f"P-{tag}")
        for state in (S.CALLED, S.REGISTERED, S.QUEUED_FOR_LANE, *then):
            visits.transition(s, clock, actor, visit, state)
        if lane_number:
            visit.assigned_lane_id = s.scalar(sa.select(Lane.id).where(Lane.number == lane_number))
        return key.id, visit.id


def test_runner_screen_on_a_phone(browser, live, demo_station, db, clock, tmp_path: Path):
    first, _ = paid_car(db, clock, "浙A10001", "A01", 1)
    clock.advance(minutes=2)
    paid_car(db, clock, "浙A10002", "A02", 2)
    clock.advance(minutes=2)
    paid_car(db, clock, "浙A10003", "A03")  # no lane assigned yet
    tested_key, tested_visit = paid_car(db, clock, "浙A10004", "A04", 3)
    with db.write() as s:  # another runner took A04 to lane 3 earlier; it has been tested since
        other = users.create_user(s, clock, Actor.system("t"), username="runner2", password="x" * 8,
                                  display_name="周引车员", roles=[Role.RUNNER])
        keys.claim(s, clock, Actor.user(other), tested_key)
        keys.deliver(s, clock, Actor.user(other), tested_key)
        visit = visits.get(s, tested_visit)
        visits.transition(s, clock, Actor.system("lane"), visit, S.ON_LANE)
        visits.transition(s, clock, Actor.system("lane"), visit, S.TESTED)

    context = browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True,
                                  device_scale_factor=2)
    page = context.new_page()
    try:
        log_in(page, live, "runner1", "/keys/runner")
        page.locator("#rt-status.live").wait_for(timeout=10_000)
        assert topbar_misfits(page) == []  # on a phone: the name and each link on one line
        items = page.locator("#queue .item")
        items.first.wait_for()
        assert items.count() == 3
        assert [t.inner_text() for t in page.locator("#queue .item .tag").all()] == ["A01", "A02", "A03"]
        assert "待派线" in items.nth(2).inner_text() and "下一辆" in items.nth(0).inner_text()
        assert "A04" in page.locator("#collect").inner_text()
        # nothing wider than the phone
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        shot = screenshot(page, tmp_path, "keys_runner_queue")
        assert shot.stat().st_size > 10_000

        items.first.get_by_role("button", name="取钥匙引车").click()
        page.locator("#message.ok").wait_for()
        assert "请开往 1号线" in page.locator("#message").inner_text()
        mine = page.locator("#mine")
        mine.get_by_text("浙A10001").wait_for()  # the board refreshes after the claim's answer
        assert "A01" in mine.inner_text() and "浙A10001" in mine.inner_text()
        assert page.locator("#queue .item").count() == 2
        assert page.locator("#queue .item button").first.is_disabled()  # one key at a time
        screenshot(page, tmp_path, "keys_runner_holding")

        page.get_by_role("button", name="已交 1号线 小型车(汽油)").click()
        page.get_by_text("手上没有钥匙").wait_for()
        page.locator("#collect .item").get_by_role("button", name="取回停车").click()
        page.get_by_text("检测完成：停入提车区，钥匙挂回 A04").wait_for()
        page.get_by_role("button", name="已停车并挂回 A04").click()  # no spot given: refused
        page.locator("#message.error").wait_for()
        assert "请填写提车区车位" in page.locator("#message").inner_text()
        page.get_by_label("提车区车位").fill("提-12")
        page.get_by_role("button", name="已停车并挂回 A04").click()
        page.get_by_text("钥匙已挂回 A04").wait_for()
        assert page.locator("#collect .item").count() == 0

        # another runner claims A02 on their own phone: this screen follows live
        with db.write() as s:
            queued = [e["key_id"] for e in keys.runner_queue(s, clock)]
            keys.claim(s, clock, Actor.user(other), queued[0])
        page.wait_for_function("document.querySelectorAll('#queue .item').length === 1",
                               timeout=5_000)
        screenshot(page, tmp_path, "keys_runner_after")
        with db.read() as s:
            assert [m.stage.value for m in keys.custody(s, tested_visit)][-2:] == [
                "collected", "in_cabinet"]
            assert keys.get_key(s, first).holder_kind.value == "lane"
    finally:
        context.close()


def test_handover_desk_on_a_tablet(browser, live, demo_station, db, clock, tmp_path: Path):
    """The desk registers a handover with a photo, refuses a tag in use, returns a key to the
    verified owner; the manager opens the custody history."""
    with db.write() as s:
        actor = Actor.system("kiosk")
        labels = []
        for plate in ("浙A20001", "浙A20002"):
            visit = appointments.walk_in(s, clock, actor, plate_type="02", plate=plate,
                                         channel=Channel.KIOSK, phone="13800002222").visit
            labels.append(tickets.issue(s, clock, actor, visit, TicketCategory.WALK_IN).label)
    photo = tmp_path / "front.png"
    photo.write_bytes(bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108020000009077"
        "53de0000000c49444154789c63f8cfc00000030101 00c9fe92ef0000000049454e44ae426082"
        .replace(" ", "")))
    context = browser.new_context(viewport={"width": 1024, "height": 768}, locale="zh-CN")
    page = context.new_page()
    try:
        log_in(page, live, "manager", "/keys/")
        page.locator("#rt-status.live").wait_for(timeout=10_000)
        assert topbar_misfits(page) == []  # the manager's many links on a tablet
        form = page.locator("#handover-form")
        form.get_by_label("排队号").fill(labels[0])
        form.get_by_label("钥匙牌号（柜位）").fill("a05")
        form.get_by_label("交车区车位").fill("P-7")
        form.get_by_label("车辆照片（可选）").set_input_files(str(photo))
        form.get_by_role("button", name="确认交接").click()
        page.get_by_text("已登记：浙A20001 钥匙牌 A05。请车主到休息区等候。（照片 1 张）").wait_for()
        page.locator("#held tr").first.wait_for()
        assert "交车区钥匙柜 A05" in page.locator("#held").inner_text()
        form.get_by_label("排队号").fill(labels[1])
        form.get_by_label("钥匙牌号（柜位）").fill("A05")
        form.get_by_role("button", name="确认交接").click()
        page.locator("#message.error").wait_for()
        assert "钥匙牌A05正在使用中" in page.locator("#message").inner_text()
        screenshot(page, tmp_path, "keys_desk")
        with db.write() as s:  # counter, lanes and the runner did their part
            key = keys.find_for_return(s, clock, ticket=labels[0])
            visit = key.visit
            for state in (S.CALLED, S.REGISTERED, S.QUEUED_FOR_LANE, S.ON_LANE, S.TESTED):
                visits.transition(s, clock, Actor.system("other feature"), visit, state)
        ret = page.locator("#return-form")
        ret.get_by_label("取号二维码或排队号").fill(labels[0])
        ret.get_by_label("车主手机号后4位").fill("1111")
        ret.get_by_role("button", name="核验并交还").click()
        page.locator("#message.error", has_text="核验未通过").wait_for()
        ret.get_by_label("车主手机号后4位").fill("2222")
        ret.get_by_role("button", name="核验并交还").click()
        page.get_by_text("已将钥匙 A05 交还车主（浙A20001）").wait_for()
        page.goto(f"{live.url}/keys/visits/{visit.id}")
        rows = page.locator("#custody tbody tr")
        assert rows.count() == 2 and "车主核验" in rows.nth(1).inner_text()
        assert page.locator(".photos img").count() == 1
        screenshot(page, tmp_path, "keys_custody")
    finally:
        context.close()
