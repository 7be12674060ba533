"""The manager's scorecard in a browser: the KPIs, the points table and the four charts drawn
on their canvases (Chart.js from /vendor/)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from station.models import Channel
from station.services import feedback, visits
from tests.browser.conftest import log_in
from tests.station.feedback_helpers import ACTOR, S, served_visit

from .conftest import screenshot

pytestmark = pytest.mark.browser

#: per day: (level of each visit's rating); the last visit of a day leaves its keys with the owner
LEVELS = ["very_satisfied", "satisfied", "very_satisfied", "basically_satisfied", "satisfied"]

#: JavaScript: how many pixels of a canvas are not transparent
PAINTED = """id => {
  const c = document.getElementById(id);
  const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let n = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] !== 0) n++;
  return n;
}"""


def _two_weeks_of_visits(db, clock):
    start = clock.now()
    clock.set(start - timedelta(days=13))
    for day in range(14):
        morning = start - timedelta(days=13 - day)
        clock.set(morning)
        for n, level in enumerate(LEVELS):
            if (day + n) % 6 == 5:
                level = "dissatisfied"
            visit_id, _ = served_visit(db, clock, f"浙A5{day:02d}{n}1", until=S.CLOSED,
                                       keys=n != 4, extra_wait=(day * 7 + n * 3) % 17,
                                       channel=Channel.WEB if n % 2 == 0 else Channel.KIOSK)
            with db.write() as s:
                feedback.rate(s, clock, ACTOR, visits.get(s, visit_id), level=level,
                              channel="kiosk")
    clock.set(start + timedelta(hours=8))


def test_manager_sees_the_scorecard_with_charts(browser, live, db, clock, demo_station, tmp_path):
    _two_weeks_of_visits(db, clock)
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        log_in(page, live, "manager", "/feedback/scorecard")
        page.locator("body[data-charts-ready='1']").wait_for(timeout=10_000)
        assert errors == []
        for canvas in ("chart-good-rate", "chart-booking", "chart-times", "chart-keys"):
            assert page.evaluate(PAINTED, canvas) > 500, canvas
        assert page.evaluate("window.scorecardCharts.length") == 4
        assert page.evaluate("window.scorecardCharts[0].data.labels.length") == 14
        # today (Monday) has its own ratings: 4 good of 5
        assert page.locator("#kpi-good-rate").inner_text() == "80.0%"
        row = page.locator("#points tr[data-code='good_rate']")
        assert row.locator("td").nth(2).inner_text() == "0"
        assert page.locator("#points tr[data-code='bad_checked'] td").nth(2).inner_text() == "4"
        screenshot(page, tmp_path, "scorecard")
        page.get_by_role("link", name="周", exact=True).click()
        page.wait_for_url("**period=week")
        page.locator("body[data-charts-ready='1']").wait_for(timeout=10_000)
        assert page.evaluate("window.scorecardCharts[0].data.labels.length") == 12
        assert page.evaluate(PAINTED, "chart-good-rate") > 500
    finally:
        context.close()
