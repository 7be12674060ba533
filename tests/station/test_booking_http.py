"""Booking over HTTP: the public API, the owners' pages, staff entry, check-in and imports."""

from __future__ import annotations

import re

import pytest

from station.models import ClientKind, Role
from station.services import users
from station.services.actors import Actor
from station.testing import fetch_csrf_token

DAY = "2026-11-24"


@pytest.fixture(autouse=True)
def station(demo_station):
    return demo_station


def _booking(**kw):
    body = {"plate_type": "02", "plate": "浙A12345", "contact_name": "张三",
            "phone": "13812345678", "day": DAY, "starts_at": "09:00"}
    body.update(kw)
    return body


def test_public_days_and_slots(client):
    days = client.get("/api/v1/booking/days").get_json()
    assert days[0]["day"] == "2026-11-23" and days[0]["open"]
    sunday = next(d for d in days if d["day"] == "2026-11-29")
    assert not sunday["open"] and sunday["reason"] == "周日不营业"
    slots = client.get(f"/api/v1/booking/slots?day={DAY}").get_json()
    assert slots[0] == {"day": DAY, "starts_at": "08:30", "ends_at": "09:00",
                        "start": "2026-11-24T00:30:00+00:00", "capacity": 6, "booked": 0,
                        "free": 6, "label": "0/6"}


def test_book_online_then_manage_with_the_phone_tail(client):
    h = {"X-CSRFToken": fetch_csrf_token(client, "/book/")}
    created = client.post("/api/v1/booking", headers=h, json=_booking())
    assert created.status_code == 201, created.get_json()
    code = created.get_json()["code"]
    assert created.get_json()["channel"] == "web"
    assert client.get(f"/api/v1/booking/{code}?phone_tail=0000").status_code == 403
    shown = client.get(f"/api/v1/booking/{code}?phone_tail=5678").get_json()
    assert shown["phone"] == "138****5678"
    moved = client.post(f"/api/v1/booking/{code}/reschedule", headers=h,
                        json={"phone_tail": "5678", "day": DAY, "starts_at": "10:00"})
    assert moved.get_json()["starts_at"] == "10:00"
    again = client.post("/api/v1/booking", headers=h, json=_booking(phone="13900001111"))
    assert again.status_code == 409 and again.get_json()["message"] == "该号牌已有一个有效预约，请先取消或改约"
    cancelled = client.post(f"/api/v1/booking/{code}/cancel", headers=h, json={"phone_tail": "5678"})
    assert cancelled.get_json()["status"] == "cancelled"


def test_online_booking_needs_the_csrf_token(client):
    assert client.post("/api/v1/booking", json=_booking()).status_code == 400


def test_booking_page_flow(client):
    page = client.get("/book/").get_data(as_text=True)
    assert "选择检验日期" in page and "休息" in page
    slots_page = client.get(f"/book/{DAY}?plate_type=02").get_data(as_text=True)
    assert "08:30-09:00" in slots_page and "0/6" in slots_page
    token = re.search(r'name="csrf_token" value="([^"]+)"', slots_page).group(1)
    form = {"csrf_token": token, "plate_type": "02", "starts_at": "09:00", "plate": "浙A1234",
            "contact_name": "张三", "phone": "13812345678"}
    bad = client.post(f"/book/{DAY}", data=form)
    assert bad.status_code == 422 and "号牌号码" in bad.get_data(as_text=True)
    assert 'value="张三"' in bad.get_data(as_text=True)  # what was typed is kept
    form["plate"] = "浙A12345"
    done = client.post(f"/book/{DAY}", data=form)
    assert done.status_code == 302
    page = client.get(done.headers["Location"]).get_data(as_text=True)
    code = re.search(r'id="booking-code">([A-Z0-9]{8})<', page).group(1)
    assert "<svg" in page and "138****5678" in page
    manage = client.post("/book/manage", data={"csrf_token": token, "code": code,
                                               "phone_tail": "5678", "action": "cancel"})
    assert "已取消" in manage.get_data(as_text=True)


def test_staff_enter_a_phone_booking_and_list_the_day(client, login):
    h = {"X-CSRFToken": login(Role.COUNTER)}
    created = client.post("/api/v1/appointments", headers=h, json=_booking(channel="phone"))
    assert created.status_code == 201 and created.get_json()["channel_label"] == "电话预约"
    listed = client.get(f"/api/v1/appointments?day={DAY}").get_json()
    assert [a["code"] for a in listed] == [created.get_json()["code"]]


def test_kiosk_check_in_and_walk_in_with_queue_places(client, db, clock, station):
    kiosk = {"Authorization": f"Bearer {station.client_tokens['kiosk']}"}
    walk = client.post("/api/v1/walk-in", headers=kiosk, json={"plate_type": "02", "plate": "浙B11111"})
    assert walk.status_code == 201, walk.get_json()
    assert walk.get_json()["people_ahead"] == 0 and walk.get_json()["queue_category"] == "walk_in"
    h = {"X-CSRFToken": fetch_csrf_token(client, "/book/")}
    code = client.post("/api/v1/booking", headers=h,
                       json=_booking(day="2026-11-23", starts_at="10:00")).get_json()["code"]
    clock.advance(minutes=40)  # 09:40, inside the check-in window of the 10:00 slot
    walk2 = client.post("/api/v1/walk-in", headers=kiosk, json={"plate_type": "02", "plate": "浙B22222"})
    assert walk2.get_json()["people_ahead"] == 1
    checked = client.post("/api/v1/checkin", headers=kiosk, json={"code": code})
    body = checked.get_json()
    assert checked.status_code == 200 and body["arrival"] == "on_time"
    # the booking (slot 10:00) does not overtake the walk-ins who arrived before its slot began
    assert body["people_ahead"] == 2 and body["reason_zh"]
    unknown = client.post("/api/v1/checkin", headers=kiosk, json={"code": "ZZZZ2222"})
    assert unknown.status_code == 404 and unknown.get_json()["message"].startswith("未找到该预约号")


def test_queue_endpoint_orders_with_reasons(client, login, station):
    kiosk = {"Authorization": f"Bearer {station.client_tokens['kiosk']}"}
    client.post("/api/v1/walk-in", headers=kiosk, json={"plate_type": "02", "plate": "浙B11111"})
    client.post("/api/v1/walk-in", headers=kiosk,
                json={"plate_type": "02", "plate": "浙B22222", "special_needs": True})
    login(Role.COUNTER)
    waiting = client.get("/api/v1/queue/counter").get_json()
    assert [w["plate"] for w in waiting] == ["浙B22222", "浙B11111"]
    assert waiting[0]["reason_zh"] == "绿色通道" or "绿色通道" in waiting[0]["reason_zh"]


def test_import_needs_an_integration_token(client, db, clock):
    records = [{"external_ref": "r1", "plate_type": "02", "plate": "浙A12345", "phone": "13812345678",
                "contact_name": "张三", "day": DAY, "starts_at": "09:00"}]
    anonymous = client.post("/api/v1/appointments/import", json={"records": records})
    assert anonymous.status_code == 400 and anonymous.get_json()["code"] == "bad_request"  # no CSRF
    with db.write() as s:
        _, token = users.register_client_device(s, clock, Actor.system("t"),
                                                kind=ClientKind.INTEGRATION, name="12123")
    result = client.post("/api/v1/appointments/import", json={"records": records},
                         headers={"Authorization": f"Bearer {token}"}).get_json()
    assert len(result["booked"]) == 1 and result["refused"] == []
