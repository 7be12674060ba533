"""The manager's booking screen and API: calendar, capacity, rules, figures, outbox, blocks."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest
import sqlalchemy as sa

from station.models import Channel, OpeningHours, PhoneBlock, Role
from station.services import appointments, notify, settings
from station.services.actors import Actor


@pytest.fixture(autouse=True)
def station(demo_station):
    return demo_station


def test_screen_needs_the_manager_role(client, login):
    login(Role.COUNTER)
    assert client.get("/manager/bookings").status_code == 403


def test_screen_shows_figures_hours_rules_and_outbox(client, login, db, clock):
    with db.write() as s:
        notify.enqueue(s, clock, kind="reminder_soon", phone="13812345678", body="提醒内容")
    login(Role.MANAGER)
    html = client.get("/manager/bookings").get_data(as_text=True)
    for text in ("近7日指标", "营业时间", "节假日与调休", "预约规则", "每时段小型车预约名额",
                 "138****5678", "提醒内容", "待发送", "09:00 0/6"):
        assert text in html, text


def test_screen_changes_hours_and_settings(client, login, db):
    token = login(Role.MANAGER)
    response = client.post("/manager/bookings", data={
        "csrf_token": token, "action": "hours", "weekday": "6", "opens_at": "09:00",
        "closes_at": "12:00"})
    assert response.status_code == 302
    client.post("/manager/bookings", data={"csrf_token": token, "action": "setting",
                                           "key": "booking.capacity.small", "value": "9"})
    bad = client.post("/manager/bookings", data={"csrf_token": token, "action": "setting",
                                                 "key": "booking.capacity.small", "value": "-3"},
                      follow_redirects=True)
    assert "应在" in bad.get_data(as_text=True)
    with db.read() as s:
        sunday = s.get(OpeningHours, 6)
        assert (sunday.closed, sunday.opens_at, sunday.closes_at) == (False, time(9), time(12))
        assert settings.get(s, "booking.capacity.small") == 9


def test_api_calendar_capacity_figures_and_blocks(client, login, db, clock):
    h = {"X-CSRFToken": login(Role.MANAGER)}
    holiday = client.post("/api/v1/calendar/exceptions", headers=h,
                          json={"day": "2026-12-31", "closed": True, "reason": "元旦前检修"})
    assert holiday.status_code == 201
    assert client.get("/api/v1/booking/slots?day=2026-12-31").get_json() == []
    lunch = client.put("/api/v1/calendar/hours/0", headers=h, json={
        "closed": False, "opens_at": "08:30", "closes_at": "17:30", "lunch_from": "12:00"})
    assert lunch.status_code == 422 and lunch.get_json()["code"] == "lunch_invalid"
    capacity = client.put("/api/v1/calendar/capacity", headers=h, json={
        "day": "2026-11-24", "starts_at": "09:00", "vehicle_class": "small", "capacity": 1})
    assert capacity.get_json()["label"] == "0/1"
    figures = client.get("/api/v1/figures/appointments?days=3").get_json()
    assert [f["day"] for f in figures] == ["2026-11-21", "2026-11-22", "2026-11-23"]
    with db.write() as s:
        s.add(PhoneBlock(phone="13812345678", blocked_until=datetime(2027, 5, 1, tzinfo=clock.tz),
                         reason="爽约2次", created_at=clock.now()))
    with db.read() as s:
        block_id = s.scalar(sa.select(PhoneBlock.id))
    assert client.post(f"/api/v1/phone-blocks/{block_id}/lift", headers=h,
                       json={"reason": "车主说明情况"}).status_code == 204
    with db.write() as s:
        booked = appointments.book(s, clock, Actor.system("t"), appointments.BookingRequest(
            plate_type="02", plate="浙A12345", contact_name="张", phone="13812345678",
            day=date(2026, 11, 25), starts_at=time(9, 0), channel=Channel.WEB))
    assert booked.code
    assert client.get("/api/v1/outbox").status_code == 200


def test_manager_imports_a_police_platform_file(client, login, db):
    import io

    token = login(Role.MANAGER)
    csv_text = ("预约编号,号牌种类,号牌号码,车辆识别代号后6位,联系人,手机号码,预约日期,预约时段\n"
                "12123-001,02,浙A12345,183294,张三,13812345678,2026-11-24,09:00-09:30\n"
                "12123-002,02,浙A1234,,李四,13812345679,2026-11-24,09:00-09:30\n")
    for encoding in ("gb18030", "utf-8-sig"):
        response = client.post("/manager/bookings", data={
            "csrf_token": token, "action": "import",
            "file": (io.BytesIO(csv_text.encode(encoding)), "12123.csv")},
            content_type="multipart/form-data", follow_redirects=True)
        html = response.get_data(as_text=True)
        assert "第3行" in html and "号牌" in html
    assert "成功0条，跳过重复1条" in html  # the second upload of the same file
    with db.read() as s:
        stored = s.scalars(sa.select(appointments.Appointment)).all()
        assert [(a.external_ref, a.channel, a.vin_tail) for a in stored] == [
            ("12123-001", Channel.POLICE_APP, "183294")]


def test_import_file_with_missing_columns_is_refused(client, login):
    import io

    token = login(Role.MANAGER)
    response = client.post("/manager/bookings", data={
        "csrf_token": token, "action": "import", "file": (io.BytesIO(b"plate\n"), "x.csv")},
        content_type="multipart/form-data", follow_redirects=True)
    assert "文件缺少列" in response.get_data(as_text=True)
