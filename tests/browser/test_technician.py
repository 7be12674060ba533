"""The technician's daily check of the opacity meter in Chromium, against the simulated meter
over a pty through the real driver: zero, two neutral-density filters, save; the diesel
station reopens."""

from __future__ import annotations

from datetime import timedelta

from station.models import OpenState
from station.services import instruments
from tests.browser.conftest import log_in, screenshot
from tests.station.instruments_support import diesel_station, meter_on_pty, opacity_meter, simulator


def test_daily_check_in_the_browser(app, db, clock, demo_station, live, page, tmp_path):
    clock.advance(timedelta(days=1))  # a new station day: the check is due, the station blocked
    with db.write() as s:
        instruments.evaluate(s, clock)
        meter_id = opacity_meter(s).id
        assert diesel_station(s).state is OpenState.BLOCKED
    sim = simulator()
    with meter_on_pty(app, db, clock, sim):
        log_in(page, live, "tech1", f"/technician/instruments/{meter_id}")
        assert "今日未做日常检查" in page.locator("#verdict").inner_text()

        page.get_by_role("button", name="开始日常检查").click()
        page.get_by_text("请将探头置于清洁空气中").wait_for()
        page.get_by_role("button", name="1. 清洁空气调零").click()
        page.get_by_text("调零完成").wait_for(timeout=15000)

        sim.insert_filter(30.5)  # the technician puts the 30 % filter into the beam
        page.locator("#dc-nominal").select_option("30.0")
        page.get_by_role("button", name="2. 读取滤光片").click()
        page.locator("#dc-points tr").nth(0).wait_for()
        sim.insert_filter(45.0)  # the wrong filter: far off the nominal 60 %
        page.locator("#dc-nominal").select_option("60.0")
        page.get_by_role("button", name="2. 读取滤光片").click()
        page.get_by_text("请确认滤光片已正确插入光路").wait_for()
        sim.insert_filter(59.4)
        page.get_by_role("button", name="2. 读取滤光片").click()
        page.locator("#dc-points tr").nth(1).wait_for()
        rows = page.locator("#dc-points tr").all_inner_texts()
        assert len(rows) == 2 and "合格" in rows[0] and "60.0" in rows[1]
        screenshot(page, tmp_path, "technician_daily_check")

        page.get_by_role("button", name="3. 完成并保存").click()
        page.get_by_text("日常检查通过，已保存").wait_for()
        page.wait_for_load_state("load")
        page.locator("#verdict .usable").wait_for(timeout=10000)
        assert "通过" in page.locator("#checks tbody tr").first.inner_text()
        screenshot(page, tmp_path, "technician_daily_check_saved")
    with db.read() as s:
        assert opacity_meter(s).usable
        assert diesel_station(s).state is OpenState.OPEN


def test_free_acceleration_page_draws_the_live_chart(app, db, clock, demo_station, live, page,
                                                    tmp_path):
    from station.services import settings
    from tests.station.instruments_support import SYS, diesel_visit_on_lane

    with db.write() as s:
        settings.put(s, clock, SYS, "emission.poll_hz", 20.0)
        station_id = diesel_station(s).id
        visit_id = diesel_visit_on_lane(s, clock)
    sim = simulator(time_scale=4.0)
    with meter_on_pty(app, db, clock, sim):
        log_in(page, live, "inspector1", f"/emission/station/{station_id}?visit={visit_id}")
        page.get_by_role("button", name="开始检测").click()
        page.locator("#prompt.zero_check").wait_for()
        page.get_by_role("button", name="调零确认").click()
        page.locator("#prompt.purge").wait_for(timeout=15000)
        count = "Chart.getChart('chart').data.datasets[0].data.length"
        before = page.evaluate(count)
        page.wait_for_timeout(1000)
        assert page.evaluate(count) - before >= 10  # the chart grows live (20 readings/s here)
        sim.free_acceleration()
        page.locator("#prompt.hold_pedal, #prompt.release_pedal, #prompt.settle_idle").first.wait_for()
        page.locator("#purge", has_text="1").wait_for(timeout=10000)
        peak = page.evaluate("Math.max(...Chart.getChart('chart').data.datasets[1].data.map(p => p.y))")
        assert peak > 0.2  # the acceleration's smoke is on the chart
        screenshot(page, tmp_path, "emission_free_acceleration")
        page.get_by_role("button", name="中止").click()
        page.locator("#prompt.aborted").wait_for()
