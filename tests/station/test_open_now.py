"""The kiosk's closed-hours message, and no tickets outside opening hours."""

from __future__ import annotations

from datetime import datetime, time

import pytest

from station.services import calendar


@pytest.mark.parametrize(("day", "at", "is_open", "message"), [
    ("2026-11-23", time(9, 0), True, ""),
    ("2026-11-23", time(8, 0), False, "营业时间 08:30–17:30，现在不能取号"),
    ("2026-11-28", time(12, 30), False, "午休中，13:00后可取号"),
    ("2026-11-29", time(10, 0), False, "今日不营业（周日不营业）"),
])
def test_open_now(db, clock, demo_station, day, at, is_open, message):
    clock.set(datetime.combine(datetime.fromisoformat(day).date(), at, tzinfo=clock.tz))
    with db.read() as s:
        state = calendar.open_now(s, clock)
    assert (state["open"], state["message_zh"]) == (is_open, message)


def test_no_ticket_when_closed(client, clock, demo_station):
    clock.set(datetime(2026, 11, 29, 10, 0, tzinfo=clock.tz))
    kiosk = {"Authorization": f"Bearer {demo_station.client_tokens['kiosk']}"}
    response = client.post("/api/v1/walk-in", headers=kiosk, json={"plate_type": "02", "plate": "浙A12345"})
    assert response.status_code == 409 and response.get_json()["message"] == "今日不营业（周日不营业）"
    assert client.get("/api/v1/station/open").get_json()["open"] is False
