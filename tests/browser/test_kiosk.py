"""The ticket kiosk in Chromium, against a live server whose runtime prints on the simulated
ESC/POS printer: walk-in, booked check-in, printer failure, errors, idle reset, closed hours."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from simulators.printer import PrinterSimulator
from station.models import Channel, DeviceKind, HardwareDevice
from station.services import appointments
from station.services.actors import Actor
from station.services.demo import DEMO_PASSWORD

from .conftest import screenshot

pytestmark = pytest.mark.browser

LANDSCAPE = {"width": 1920, "height": 1080}
PORTRAIT = {"width": 1080, "height": 1920}
TODAY = date(2026, 11, 23)  # the clock fixture's Monday
MIN_TARGET_PX = 88


@pytest.fixture
def printing(station_runtime: Any) -> Any:
    """The print worker really prints on the demo kiosk's ESC/POS printer simulator."""
    return station_runtime


def printer_simulator(rt: Any, db: Any) -> PrinterSimulator:
    """The simulator behind the demo kiosk's ticket printer (its stop method is in on_stop)."""
    with db.read() as s:
        printer_id = s.scalar(sa.select(HardwareDevice.id)
                              .where(HardwareDevice.kind == DeviceKind.TICKET_PRINTER))
    driver = rt.devices.handle(printer_id).printer  # raises unless the printer is ready
    simulators = [getattr(stop, "__self__", None) for stop in rt.on_stop]
    simulator = next(s for s in simulators if isinstance(s, PrinterSimulator))
    assert driver.config.port == simulator.port
    return simulator


def open_kiosk(browser: Any, live: Any, token: str | None, viewport: dict[str, int],
               query: str = "") -> tuple[Any, Any]:
    context = browser.new_context(viewport=viewport, locale="zh-CN", has_touch=True)
    page = context.new_page()
    fragment = f"#token={token}" if token else ""
    page.goto(f"{live.url}/kiosk/{query}{fragment}")
    return context, page


def tap_plate(page: Any, plate: str, plate_type: str = "02") -> None:
    page.locator(f'#plate-types [data-type="{plate_type}"]').click()
    for char in plate:
        page.locator(f'#plate-keys button[data-key="{char}"]').click()
    assert page.locator("#plate-display").get_attribute("data-value") == plate


def walk_in(page: Any, plate: str) -> None:
    page.locator("#btn-walkin").click()
    tap_plate(page, plate)
    page.locator("#plate-ok").click()


def progress_url_on_screen(page: Any) -> str:
    src = page.locator("#r-qr").get_attribute("src")
    assert src.startswith("/kiosk/qr.svg?data=")
    return parse_qs(urlsplit(src).query)["data"][0]


def qr_image_loaded(page: Any) -> bool:
    return page.locator("#r-qr").evaluate("img => img.complete && img.naturalWidth > 0")


def small_targets(page: Any) -> list[str]:
    """Visible buttons smaller than a finger (88 px) in either direction."""
    return page.evaluate("""min => [...document.querySelectorAll('button')]
        .filter(b => b.offsetParent !== null)
        .map(b => [b.id || b.dataset.key || b.dataset.action || b.dataset.type || b.textContent,
                   b.getBoundingClientRect()])
        .filter(([, r]) => r.width < min || r.height < min)
        .map(([name, r]) => `${name} ${Math.round(r.width)}x${Math.round(r.height)}`)""",
                         MIN_TARGET_PX)


def overflowing(page: Any) -> list[str]:
    """Visible elements sticking out of the window or out of their card or screen (the kiosk
    never scrolls, and nothing may spill over a card's edge)."""
    return page.evaluate("""() => {
        const inside = (r, b) => r.left >= b.left - 1 && r.top >= b.top - 1 &&
                                 r.right <= b.right + 1 && r.bottom <= b.bottom + 1;
        const out = [];
        if (document.documentElement.scrollHeight > innerHeight) out.push('page scrolls');
        for (const e of document.querySelectorAll('main *, header *')) {
            if (e.offsetParent === null) continue;
            const r = e.getBoundingClientRect();
            const box = e.parentElement.closest(
                '.ticket-card, .qr-card, .next-step, .choice, .toggle, .screen, header');
            if (!inside(r, {left: 0, top: 0, right: innerWidth, bottom: innerHeight}) ||
                (box && !inside(r, box.getBoundingClientRect())))
                out.push(e.id || e.className || e.tagName);
        }
        return out; }""")


def book_today(db: Any, clock: Any, plate: str, at: time) -> str:
    request = appointments.BookingRequest(plate_type="02", plate=plate, contact_name="张三",
                                          phone="13812345678", day=TODAY, starts_at=at,
                                          channel=Channel.WEB)
    with db.write() as s:
        return appointments.book(s, clock, Actor.system("test"), request).code


def staff_page(browser: Any, live: Any) -> tuple[Any, Any]:
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.goto(live.url + "/login")
    page.get_by_label("用户名").fill("counter1")
    page.get_by_label("密码").fill(DEMO_PASSWORD)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/staff/")
    page.locator("#rt-status.live").wait_for(timeout=10_000)
    return context, page


def test_walk_in_ticket_is_printed_and_survives_a_printer_failure(
        browser, live, printing, demo_station, db, tmp_path):
    simulator = printer_simulator(printing, db)
    kiosk_context, page = open_kiosk(browser, live, demo_station.client_tokens["kiosk"], LANDSCAPE)
    try:
        page.locator("#screen-home").wait_for()
        assert "token" not in page.url  # the token leaves the address bar …
        assert page.evaluate("localStorage.getItem('station.kioskToken')")  # … for local storage
        assert page.locator("#station-name").inner_text() == "示范机动车检测站"
        assert page.locator("a").count() == 0  # nothing leads off the kiosk
        assert small_targets(page) == [] and overflowing(page) == []
        screenshot(page, tmp_path, "kiosk_home")

        page.locator("#btn-walkin").click()
        assert page.locator("#plate-keys .province-grid").is_visible()
        tap_plate(page, "浙D12345")
        assert page.locator("#plate-keys .letter-rows").is_visible()
        assert page.locator("#plate-ok").is_enabled()
        assert small_targets(page) == [] and overflowing(page) == []
        screenshot(page, tmp_path, "kiosk_plate")
        page.locator("#plate-ok").click()

        page.locator("#screen-result").wait_for()
        assert page.locator("#r-number").inner_text() == "B001"
        assert page.locator("#r-category").inner_text() == "现场"
        assert page.locator("#r-plate").inner_text() == "浙D·1**45"
        assert page.locator("#r-ahead").inner_text() == "0"
        assert "交车区" in page.locator("#r-next").inner_text()
        page.locator("#print-status.printed").wait_for(timeout=10_000)
        assert page.locator("#print-status").inner_text() == "请取走打印的号票"
        progress_url = progress_url_on_screen(page)
        assert progress_url.startswith(live.url + "/p/")
        assert qr_image_loaded(page)
        assert "浙D12345" not in page.content()  # the kiosk never shows the full plate
        assert small_targets(page) == [] and overflowing(page) == []
        screenshot(page, tmp_path, "kiosk_result")

        printed = simulator.wait_for_tickets(1, timeout=10)[0]
        assert "B001" in printed.text
        assert progress_url in printed.qr_payloads

        owner = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
        phone = owner.new_page()
        phone.goto(progress_url)
        assert phone.locator("#ticket").inner_text() == "B001"
        assert phone.locator("#plate").inner_text() == "浙D·1**45"
        assert "浙D12345" not in phone.content()
        owner.close()

        staff_context, staff = staff_page(browser, live)
        try:
            page.locator("#r-done").click()
            page.locator("#screen-home").wait_for()
            simulator.faults.paper_out = True
            walk_in(page, "浙A67890")
            page.locator("#screen-result").wait_for()
            assert page.locator("#r-number").inner_text() == "B002"
            page.locator("#print-status.failed").wait_for(timeout=10_000)
            status = page.locator("#print-status").inner_text()
            assert re.fullmatch(r"打印机故障（.+），请拍照保存号码或扫描屏幕二维码", status), status
            assert page.locator("#r-number").is_visible() and page.locator("#r-qr").is_visible()
            assert progress_url_on_screen(page) != progress_url  # B002's own page
            assert qr_image_loaded(page)
            assert overflowing(page) == []  # the long failure message still fits
            screenshot(page, tmp_path, "kiosk_print_failed")
            staff.locator(".alert", has_text="B002").wait_for(timeout=10_000)
            assert "打印失败" in staff.locator(".alert", has_text="B002").inner_text()
        finally:
            staff_context.close()
        assert len(simulator.tickets) == 1  # nothing came out for B002
    finally:
        kiosk_context.close()


def test_booked_check_in_by_code_in_portrait(browser, live, printing, demo_station, db, clock,
                                             tmp_path):
    code = book_today(db, clock, "浙A12345", time(10, 0))
    context, page = open_kiosk(browser, live, demo_station.client_tokens["kiosk"], PORTRAIT)
    try:
        page.locator("#screen-home").wait_for()
        assert small_targets(page) == [] and overflowing(page) == []
        screenshot(page, tmp_path, "kiosk_home_portrait")
        page.locator("#btn-checkin").click()
        assert page.locator("#code-ok").is_disabled()
        for char in code:
            page.locator(f'#code-keys button[data-key="{char}"]').click()
        assert page.locator("#code-display").get_attribute("data-value") == code
        assert small_targets(page) == [] and overflowing(page) == []
        screenshot(page, tmp_path, "kiosk_code_portrait")
        page.locator("#code-ok").click()
        page.locator("#screen-result").wait_for()
        assert re.fullmatch(r"A\d{3}", page.locator("#r-number").inner_text())
        assert page.locator("#r-category").inner_text() == "预约"
        assert page.locator("#r-plate").inner_text() == "浙A·1**45"
        page.locator("#print-status.printed").wait_for(timeout=10_000)
        assert small_targets(page) == [] and overflowing(page) == []
        screenshot(page, tmp_path, "kiosk_result_portrait")
        assert "浙A12345" not in page.content()
    finally:
        context.close()


def test_plate_keyboard_and_plate_types(browser, live, demo_station, tmp_path):
    context, page = open_kiosk(browser, live, demo_station.client_tokens["kiosk"], PORTRAIT)
    try:
        page.locator("#btn-walkin").click()
        keys = page.locator("#plate-keys")
        assert keys.locator(".province").filter(has_text="浙").is_visible()
        assert not keys.locator('[data-key="A"]').is_visible()  # provinces first
        keys.locator('[data-key="浙"]').click()
        assert keys.locator('[data-key="1"]').is_disabled()  # the issuing authority is a letter
        for absent in "IO":
            assert keys.locator(f'[data-key="{absent}"]').count() == 0
        for char in "D12345":
            keys.locator(f'[data-key="{char}"]').click()
        assert keys.locator('[data-key="6"]').is_disabled()  # a small car's plate is full
        page.locator('#plate-types [data-type="52"]').click()  # new energy: 8 characters
        assert page.locator("#plate-display .slot").count() == 8
        assert page.locator("#plate-ok").is_disabled()
        keys.locator('[data-key="6"]').click()
        assert page.locator("#plate-ok").is_enabled()
        page.locator('#plate-types [data-type="15"]').click()  # a trailer ends in 挂
        assert page.locator("#plate-display").get_attribute("data-value") == "浙D12345"[:7]
        keys.locator('[data-action="backspace"]').click()
        assert keys.locator('[data-key="挂"]').is_enabled()
        assert not keys.locator('[data-key="学"]').is_visible()
        assert keys.locator('[data-key="5"]').is_disabled()
        keys.locator('[data-action="clear"]').click()
        assert page.locator("#plate-display").get_attribute("data-value") == ""
        assert keys.locator('[data-key="京"]').is_visible()
        assert small_targets(page) == [] and overflowing(page) == []
        screenshot(page, tmp_path, "kiosk_plate_portrait")
    finally:
        context.close()


def test_errors_in_both_languages_and_the_way_back(browser, live, demo_station, db, clock,
                                                   tmp_path):
    book_today(db, clock, "浙B54321", time(11, 0))
    context, page = open_kiosk(browser, live, demo_station.client_tokens["kiosk"], LANDSCAPE)
    try:
        walk_in(page, "浙B54321")  # this plate is booked: check in instead
        page.locator("#screen-error").wait_for()
        assert page.locator("#error-text").inner_text() == "该号牌有预约，请用预约号签到"
        page.locator("#lang").click()
        assert page.locator("#lang").inner_text() == "中文"
        assert "booking" in page.locator("#error-text").inner_text().lower()
        assert page.locator("#err-back").inner_text() == "Back"
        assert small_targets(page) == [] and overflowing(page) == []
        screenshot(page, tmp_path, "kiosk_error_en")
        page.locator("#err-alt").click()  # "Check in with booking code"
        assert page.locator("#screen-code h2").inner_text() == "Enter your booking code"
        for char in "ABCD2345":
            page.locator(f'#code-keys button[data-key="{char}"]').click()
        assert small_targets(page) == [] and overflowing(page) == []
        screenshot(page, tmp_path, "kiosk_code_en")
        page.locator("#code-ok").click()
        page.locator("#screen-error").wait_for()
        assert page.locator("#error-text").inner_text().startswith("No booking with that code")
        page.locator("#err-back").click()  # back to the code, as typed
        assert page.locator("#code-display").get_attribute("data-value") == "ABCD2345"
        page.locator("#code-by-plate").click()
        assert page.locator("#plate-title").inner_text().startswith("Check in by plate")
        tap_plate(page, "浙B9999")
        screenshot(page, tmp_path, "kiosk_plate_en")
        assert small_targets(page) == [] and overflowing(page) == []  # English fits too
        page.locator("#plate-ok").click(force=True)  # disabled: one character short
        assert page.locator("#screen-plate").is_visible()
        page.locator('#plate-keys button[data-key="8"]').click()
        page.locator("#plate-ok").click()
        page.locator("#screen-error").wait_for()  # no booking for that plate today
        page.locator("#lang").click()
        assert page.locator("#error-text").inner_text() == "该号牌今天没有有效预约，可现场取号"
        page.locator("#err-alt").click()  # take a walk-in ticket with the plate already typed
        assert page.locator("#plate-title").inner_text().startswith("现场取号")
        page.locator("#plate-ok").click()
        page.locator("#screen-result").wait_for()
        assert page.locator("#r-number").inner_text() == "B001"
    finally:
        context.close()


def test_idle_resets_to_home_in_chinese(browser, live, demo_station, tmp_path):
    context, page = open_kiosk(browser, live, demo_station.client_tokens["kiosk"], LANDSCAPE,
                               query="?idle=2")
    try:
        page.locator("#lang").click()
        page.locator("#btn-special").click()
        assert page.locator("#btn-special").get_attribute("aria-pressed") == "true"
        assert page.locator("#btn-walkin .choice-main").inner_text() == "Walk-in ticket"
        screenshot(page, tmp_path, "kiosk_home_en")
        assert overflowing(page) == []
        page.locator("#btn-walkin").click()
        page.locator('#plate-keys button[data-key="浙"]').click()
        page.locator("#screen-home").wait_for(timeout=5_000)  # untouched for 2 s
        assert page.locator("#btn-walkin .choice-main").inner_text() == "现场取号"
        assert page.locator("#btn-special").get_attribute("aria-pressed") == "false"
        walk_in(page, "浙C11111")
        page.locator("#screen-result").wait_for()
        assert "秒后自动返回首页" in page.locator("#r-countdown").inner_text()
        page.locator("#screen-home").wait_for(timeout=5_000)
        page.locator("#btn-walkin").click()  # nothing of the last driver is left
        assert page.locator("#plate-display").get_attribute("data-value") == ""
    finally:
        context.close()


def test_special_needs_ticket_goes_through_the_green_channel(browser, live, demo_station):
    context, page = open_kiosk(browser, live, demo_station.client_tokens["kiosk"], LANDSCAPE)
    try:
        walk_in(page, "浙C22222")
        page.locator("#screen-result").wait_for()
        page.locator("#r-done").click()
        page.locator("#btn-special").click()
        walk_in(page, "浙C33333")
        page.locator("#screen-result").wait_for()
        assert page.locator("#r-reason").inner_text() == "绿色通道"
        assert page.locator("#r-ahead").inner_text() == "0"  # served before the earlier walk-in
        page.locator("#lang").click()  # the result in English
        assert page.locator("#r-category").inner_text() == "Walk-in"
        assert page.locator("#r-reason").inner_text() == "Priority service"
        assert page.locator("#screen-result .card-label").inner_text() == "Your number"
        assert page.locator("#print-status").inner_text() == "Printing your ticket…"
        assert overflowing(page) == []
    finally:
        context.close()


def test_closed_hours_show_the_message_and_no_buttons(browser, live, demo_station, clock,
                                                      tmp_path):
    clock.set(datetime(2026, 11, 23, 19, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    context, page = open_kiosk(browser, live, demo_station.client_tokens["kiosk"], LANDSCAPE)
    try:
        page.locator("#screen-closed").wait_for()
        assert page.locator("#closed-zh").inner_text() == "营业时间 08:30–17:30，现在不能取号"
        assert page.locator("#closed-en").inner_text().startswith("Opening hours 08:30–17:30")
        assert page.locator("button:visible").count() == 0
        screenshot(page, tmp_path, "kiosk_closed")
    finally:
        context.close()


@pytest.mark.parametrize("token", [None, "not-a-registered-token"])
def test_unregistered_kiosk_says_so(browser, live, demo_station, token, tmp_path):
    context, page = open_kiosk(browser, live, token, LANDSCAPE)
    try:
        page.locator("#screen-unregistered").wait_for()
        assert "本机未注册，请联系管理员" in page.locator("#screen-unregistered").inner_text()
        assert "This kiosk is not registered" in page.locator("#screen-unregistered").inner_text()
        assert page.locator("button:visible").count() == 0
        screenshot(page, tmp_path, "kiosk_unregistered")
    finally:
        context.close()


def test_the_lobby_display_token_is_not_a_kiosk(browser, live, demo_station):
    context, page = open_kiosk(browser, live, demo_station.client_tokens["lobby_display"],
                               LANDSCAPE)
    try:
        page.locator("#screen-unregistered").wait_for()
    finally:
        context.close()


def test_the_clock_shows_the_stations_time_in_any_machine_zone(browser, live, demo_station):
    """A kiosk whose machine is set to another zone still shows the station's time (the
    station is in Asia/Shanghai; the ticket prints that time)."""
    context = browser.new_context(viewport=LANDSCAPE, locale="zh-CN", timezone_id="America/New_York")
    page = context.new_page()
    try:
        page.goto(f"{live.url}/kiosk/#token={demo_station.client_tokens['kiosk']}")
        page.locator("#screen-home").wait_for()
        station_now = [datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%H:%M")]
        page.wait_for_function("document.getElementById('station-name').textContent !== ''")
        page.wait_for_timeout(1200)  # the next tick, with the station's facts read
        shown = page.locator("#clock").inner_text()
        station_now.append(datetime.now(ZoneInfo("Asia/Shanghai")).strftime("%H:%M"))
        assert shown in station_now, (shown, station_now)
        assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "America/New_York"
    finally:
        context.close()


def test_no_context_menu_and_no_text_selection(browser, live, demo_station):
    context, page = open_kiosk(browser, live, demo_station.client_tokens["kiosk"], LANDSCAPE)
    try:
        page.locator("#screen-home").wait_for()
        prevented = page.evaluate("""() => {
            const e = new MouseEvent('contextmenu', {bubbles: true, cancelable: true});
            return !document.querySelector('#btn-walkin').dispatchEvent(e); }""")
        assert prevented
        assert page.evaluate("getComputedStyle(document.body).userSelect") == "none"
    finally:
        context.close()


def test_rating_at_the_kiosk_with_the_tickets_qr(browser, live, demo_station, db, clock, tmp_path):
    """The scanner types the ticket's QR (its progress URL) into the field; five big levels;
    one rating per visit, on the kiosk channel."""
    from station.domain.journey import VisitState
    from station.models import Ticket, Visit
    from station.models.feedback import Rating, RatingChannel
    from station.services import visits

    context, page = open_kiosk(browser, live, demo_station.client_tokens["kiosk"], LANDSCAPE)
    try:
        walk_in(page, "浙C44444")
        page.locator("#screen-result").wait_for()
        qr_url = page.locator("#r-qr").get_attribute("src")
        with db.read() as s:
            visit = s.scalar(sa.select(Visit).order_by(Visit.id.desc()))
            token = s.scalar(sa.select(Ticket.progress_token).where(Ticket.visit_id == visit.id))
        assert qr_url
        page.locator("#r-done").click()
        page.locator("#btn-rate").click()
        page.locator("#screen-rate").wait_for()
        scan = page.locator("#rate-scan")
        scan.fill(f"{live.url}/p/{token}")
        scan.press("Enter")
        page.wait_for_selector("#rate-status >> text=检验完成后才能评价")  # not yet: it says why
        assert page.locator("#rate-levels button").count() == 0
        with db.write() as s:  # the lanes test the car
            v = s.get(Visit, visit.id)
            for state in (VisitState.CALLED, VisitState.REGISTERED, VisitState.QUEUED_FOR_LANE,
                          VisitState.ON_LANE, VisitState.TESTED):
                visits.transition(s, clock, Actor.system("t"), v, state)
        scan.fill(f"{live.url}/p/{token}")
        scan.press("Enter")
        page.locator("#rate-levels button").first.wait_for()
        assert page.locator("#rate-levels button").count() == 5
        screenshot(page, tmp_path, "kiosk_rating")
        page.locator("#rate-levels button[data-level=satisfied]").click()
        page.wait_for_selector("#rate-status >> text=感谢您的评价")
        with db.read() as s:
            rating = s.scalar(sa.select(Rating).where(Rating.visit_id == visit.id))
            assert rating.channel is RatingChannel.KIOSK and rating.level.value == "satisfied"
    finally:
        context.close()
