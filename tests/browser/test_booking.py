"""An owner books on the booking page in a phone-sized browser and gets a code."""

from __future__ import annotations

import re

import pytest

from .conftest import screenshot

pytestmark = pytest.mark.browser


def _book(page, live, plate, phone="13812345678"):
    page.goto(live.url + "/book/")
    page.get_by_role("link", name=re.compile("11-24 周二")).click()
    page.get_by_text("09:00-09:30").click()
    page.get_by_label("号牌号码").fill(plate)
    page.get_by_label("车辆识别代号后6位").fill("183294")
    page.get_by_label("联系人").fill("张三")
    page.get_by_label("手机号").fill(phone)
    page.get_by_role("button", name="提交预约").click()


def test_owner_books_and_is_refused_a_second_booking(browser, live, demo_station, tmp_path):
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN",
                                  is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(live.url + "/book/")
        screenshot(page, tmp_path, "booking_days")
        _book(page, live, "浙A12345")
        page.wait_for_url("**/book/done/*")
        code = page.locator("#booking-code").inner_text()
        assert re.fullmatch(r"[2-9A-HJ-NP-Z]{8}", code)
        assert page.locator(".qr svg").is_visible()
        screenshot(page, tmp_path, "booking_done")
        _book(page, live, "浙A12345", phone="13900001111")  # the same plate again
        alert = page.get_by_role("alert")
        assert alert.inner_text() == "该号牌已有一个有效预约，请先取消或改约"
        assert page.get_by_label("联系人").input_value() == "张三"  # the form keeps what was typed
        page.goto(live.url + "/book/manage")
        page.get_by_label("预约号").fill(code)
        page.get_by_label("手机号后四位").fill("5678")
        page.get_by_role("button", name="查询").click()
        assert page.locator("#booking-status").inner_text() == "有效"
        page.get_by_role("button", name="取消预约").click()
        assert page.locator("#booking-status").inner_text() == "已取消"
    finally:
        context.close()
