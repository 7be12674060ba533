"""The what-if screen in a browser: start a tiny run, watch the page follow its progress until
it lists the run, then open the report and see its charts drawn (Chart.js embedded)."""

from __future__ import annotations

import pytest

from tests.browser.conftest import log_in

from .conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.sqlite_only]

#: JavaScript: how many pixels of a canvas are not transparent
PAINTED = """id => {
  const c = document.getElementById(id);
  const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) n++;
  return n;
}"""


def test_a_run_from_the_screen_to_its_report(browser, live, demo_station, tmp_path):
    context = browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        log_in(page, live, "manager", "/manager/simulation")
        page.get_by_label("当日车辆数").fill("12")
        page.get_by_label("随机种子数").fill("1")
        page.get_by_label("排队规则").select_option("priority")
        page.get_by_label("停用范围 1", exact=True).select_option("3")
        page.get_by_label("停用范围 1 从").fill("12:00")
        page.get_by_label("停用范围 1 到").fill("13:00")
        page.get_by_role("button", name="开始推演").click()
        page.locator("#run-status[data-state='running'] #run-progress").wait_for()
        assert page.locator("#run-total").inner_text() == "1"
        assert page.get_by_role("button", name="开始推演").is_disabled()
        # the page asks for the progress and comes back by itself when the run is over
        page.locator("#run-report").wait_for(timeout=60_000)
        row = page.locator("#sim-runs tbody tr").first
        assert row.locator("td").nth(2).inner_text() == "12"
        assert row.locator("[data-figure='priority.throughput_share']").inner_text().endswith("%")
        screenshot(page, tmp_path, "simulation_screen")
        with context.expect_page() as opened:
            row.get_by_role("link", name="报告").click()
        report = opened.value
        report.wait_for_load_state()
        report.wait_for_function("window.charts && window.charts.length === 3")
        for canvas in ("queue", "hours", "util"):
            assert report.evaluate(PAINTED, canvas) > 500, canvas
        screenshot(report, tmp_path, "simulation_report")
        assert errors == []
    finally:
        context.close()
