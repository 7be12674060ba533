"""Ratings, complaints and cases over HTTP: the owner's page, the kiosk and pick-up window
API, who sees what, the manager's screens."""

from __future__ import annotations

import re
from io import BytesIO

import pytest
import sqlalchemy as sa

from station.models import Role
from station.models.feedback import FeedbackCase, Rating
from station.testing import fetch_csrf_token

from .feedback_helpers import served_visit


@pytest.fixture(autouse=True)
def station(demo_station):
    return demo_station


def _form_token(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def test_owner_rates_on_the_phone_page_once(client, db, clock):
    _, token = served_visit(db, clock, "浙A20001")
    page = client.get(f"/feedback/rate/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "非常满意" in html and "非常不满意" in html
    assert "12345" in html and "浙A·2**01" in html and "浙A20001" not in html
    form = {"csrf_token": _form_token(html), "level": "dissatisfied", "reasons": ["wait_long"],
            "comment": "排队太久", "contact_phone": "13900002222"}
    done = client.post(f"/feedback/rate/{token}", data=form)
    assert done.status_code == 302 and "/done" in done.headers["Location"]
    assert "5个工作日" in client.get(done.headers["Location"]).get_data(as_text=True)
    again = client.post(f"/feedback/rate/{token}", data=form)
    assert again.status_code == 409 and "已评价" in again.get_data(as_text=True)
    with db.read() as s:
        rating = s.scalars(sa.select(Rating)).one()
        assert (rating.channel.value, rating.bad, rating.reasons) == ("progress_page", True,
                                                                     ["wait_long"])
        assert s.scalars(sa.select(FeedbackCase)).one().contact_phone == "13900002222"
    assert client.get("/feedback/rate/not-a-token").status_code == 404


def test_rating_form_without_a_level_keeps_what_was_typed(client, db, clock):
    _, token = served_visit(db, clock, "浙A20002")
    html = client.get(f"/feedback/rate/{token}").get_data(as_text=True)
    bad = client.post(f"/feedback/rate/{token}", data={"csrf_token": _form_token(html),
                                                       "comment": "一些意见"})
    assert bad.status_code == 422 and "请选择评价等级" in bad.get_data(as_text=True)
    assert "一些意见" in bad.get_data(as_text=True)


def test_kiosk_rates_with_its_device_token_and_the_ticket_qr(client, db, clock, station):
    _, token = served_visit(db, clock, "浙A20003")
    body = {"token": f"http://127.0.0.1:5000/p/{token}", "level": "very_satisfied",
            "reasons": ["fast"]}
    assert client.post("/api/v1/feedback/ratings", json=body).status_code in (400, 401)
    auth = {"Authorization": f"Bearer {station.client_tokens['kiosk']}"}
    made = client.post("/api/v1/feedback/ratings", json=body, headers=auth)
    assert made.status_code == 201, made.get_json()
    out = made.get_json()
    assert out["channel"] == "kiosk" and out["label"] == "非常满意" and "plate" not in out
    again = client.post("/api/v1/feedback/ratings", json=body, headers=auth)
    assert again.status_code == 409 and again.get_json()["code"] == "rating_exists"
    # a kiosk cannot rate by visit id (it only knows what the owner's ticket says)
    visit_id, _ = served_visit(db, clock, "浙A20004")
    refused = client.post("/api/v1/feedback/ratings", headers=auth,
                          json={"visit_id": visit_id, "level": "satisfied"})
    assert refused.status_code == 422 and refused.get_json()["code"] == "token_required"


def test_pickup_window_rates_by_visit_and_staff_cannot_see_whose_rating(client, db, clock, login):
    visit_id, _ = served_visit(db, clock, "浙A20005")
    h = {"X-CSRFToken": login(Role.COUNTER)}
    assert client.get(f"/api/v1/window/visits/{visit_id}").get_json()["rated"] is False
    made = client.post("/api/v1/feedback/ratings", headers=h,
                       json={"visit_id": visit_id, "level": "basically_satisfied"})
    assert made.status_code == 201 and made.get_json()["channel"] == "pickup_window"
    # the window's card says the visit is rated (so the buttons are not offered again), not how
    card = client.get(f"/api/v1/window/visits/{visit_id}").get_json()
    assert card["rated"] is True and "basically_satisfied" not in str(card)
    assert client.get("/api/v1/feedback/ratings").status_code == 403
    assert client.get("/feedback/ratings").status_code == 403
    assert client.get("/feedback/scorecard").status_code == 403


def test_manager_lists_ratings_with_plates(client, db, clock, login):
    _, token = served_visit(db, clock, "浙A20006")
    h = {"X-CSRFToken": fetch_csrf_token(client, f"/feedback/rate/{token}")}
    assert client.post(f"/api/v1/feedback/rate/{token}", headers=h,
                       json={"level": "satisfied"}).status_code == 201
    login(Role.MANAGER)
    rows = client.get("/api/v1/feedback/ratings").get_json()
    assert [(r["plate"], r["level"], r["channel"]) for r in rows] == [
        ("浙A20006", "satisfied", "progress_page")]
    assert "浙A20006" in client.get("/feedback/ratings").get_data(as_text=True)


def test_public_complaint_needs_csrf_and_is_tracked(client, db):
    body = {"category": "scalper", "description": "大门口有人拉客代检，收费300元"}
    assert client.post("/api/v1/feedback/complaints", json=body).status_code == 400
    h = {"X-CSRFToken": fetch_csrf_token(client, "/feedback/complain")}
    made = client.post("/api/v1/feedback/complaints", headers=h, json=body)
    assert made.status_code == 201 and made.get_json()["hotline"] == "12345"
    page = client.get("/feedback/complain").get_data(as_text=True)
    done = client.post("/feedback/complain", data={
        "csrf_token": _form_token(page), "category": "fee", "description": "收费与公示价格不符",
        "contact_phone": "13812345678"})
    assert done.status_code == 200 and "投诉已受理" in done.get_data(as_text=True)
    with db.read() as s:
        assert [c.category.value for c in s.scalars(sa.select(FeedbackCase)
                                                     .order_by(FeedbackCase.id))] == ["scalper", "fee"]


def test_case_workflow_over_the_api(client, app, db, clock, create_user, login):
    _, token = served_visit(db, clock, "浙A20007")
    h = {"X-CSRFToken": fetch_csrf_token(client, f"/feedback/rate/{token}")}
    client.post(f"/api/v1/feedback/rate/{token}", headers=h,
                json={"level": "very_dissatisfied", "contact_phone": "13900003333"})
    worker = create_user(Role.COUNTER, username="handler")
    h = {"X-CSRFToken": login(Role.MANAGER)}
    [case] = client.get("/api/v1/feedback/cases").get_json()
    assert case["contact_phone"] == "13900003333" and case["state"] == "open"
    assigned = client.post(f"/api/v1/feedback/cases/{case['id']}/assign", headers=h,
                           json={"assignee_id": worker.id})
    assert assigned.get_json()["assignee_id"] == worker.id
    client.post("/logout", data={"csrf_token": h["X-CSRFToken"]})
    token = fetch_csrf_token(client)
    client.post("/login", data={"username": "handler", "password": "correct-horse-9",
                                "csrf_token": token})
    h = {"X-CSRFToken": fetch_csrf_token(client)}
    assert [c["id"] for c in client.get("/api/v1/feedback/cases").get_json()] == [case["id"]]
    refused = client.post(f"/api/v1/feedback/cases/{case['id']}/close", headers=h,
                          json={"findings": "x", "outcome": "fixed"})
    assert refused.status_code == 409 and refused.get_json()["code"] == "callback_required"
    client.post(f"/api/v1/feedback/cases/{case['id']}/callback", headers=h,
                json={"note": "已致电车主道歉并说明高峰期原因"})
    up = client.post(f"/api/v1/feedback/cases/{case['id']}/evidence", headers=h,
                     data={"file": (BytesIO(b"%PDF-1.4 call log"), "通话记录.pdf",
                                    "application/pdf")}, content_type="multipart/form-data")
    assert up.status_code == 201, up.get_json()
    closed = client.post(f"/api/v1/feedback/cases/{case['id']}/close", headers=h,
                         json={"findings": "高峰期窗口不足", "outcome": "fixed"})
    assert closed.get_json()["state"] == "closed"
    page = client.get(f"/feedback/cases/{case['id']}").get_data(as_text=True)
    assert "已整改" in page and "通话记录.pdf" in page
    ev_id = closed.get_json()["evidence"][0]["id"]
    got = client.get(f"/feedback/cases/{case['id']}/evidence/{ev_id}")
    assert got.status_code == 200 and got.data == b"%PDF-1.4 call log"
    # another counter member sees nothing of it
    client.post("/logout", data={"csrf_token": h["X-CSRFToken"]})
    login(Role.COUNTER)
    assert client.get("/api/v1/feedback/cases").get_json() == []
    assert client.get(f"/api/v1/feedback/cases/{case['id']}").status_code == 403


def test_case_screen_forms(client, db, clock, login):
    h = login(Role.MANAGER)
    page = client.get("/feedback/cases").get_data(as_text=True)
    assert "登记投诉" in page
    made = client.post("/feedback/cases/new", data={
        "csrf_token": h, "category": "service", "description": "来电反映窗口人员态度生硬",
        "contact_phone": "13812345678"})
    assert made.status_code == 302
    case_url = made.headers["Location"]
    client.post(case_url, data={"csrf_token": h, "action": "callback", "note": "已回访"})
    client.post(case_url, data={"csrf_token": h, "action": "close", "findings": "已批评教育",
                                "outcome": "fixed"})
    assert "已办结" in client.get(case_url).get_data(as_text=True)


def test_scorecard_page_and_api_for_the_manager(client, db, clock, login):
    visit_id, _ = served_visit(db, clock, "浙A20008")
    h = {"X-CSRFToken": login(Role.MANAGER)}
    client.post("/api/v1/feedback/ratings", headers=h,
                json={"visit_id": visit_id, "level": "satisfied"})
    for period in ("day", "week", "month"):
        page = client.get(f"/feedback/scorecard?period={period}")
        assert page.status_code == 200 and "chart-good-rate" in page.get_data(as_text=True)
    data = client.get("/api/v1/feedback/scorecard?period=week&count=2").get_json()
    assert len(data["periods"]) == 2 and data["current"]["good_rate"] == 1.0
    assert data["current"]["points"][0]["points"] == 15.0
    assert client.get("/feedback/scorecard?period=year").status_code == 400
    assert client.get("/api/v1/feedback/scorecard?period=year").status_code == 422
