"""Server-rendered screens: start page, error pages, languages, vendor files."""

from __future__ import annotations

from station.models import Role


def test_start_page_shows_the_station(client, demo_station):
    html = client.get("/").get_data(as_text=True)
    assert "示范机动车检测站" in html and "2号线 小型车(含柴油)" in html
    assert "柴油排放(不透光)" in html and "¥100.00" in html and "12345" in html


def test_staff_pages_need_login(client, login, demo_station):
    assert client.get("/staff/").status_code == 302
    login(Role.INSPECTOR)
    assert client.get("/staff/").status_code == 200


def test_error_page_is_in_chinese_by_default_and_english_on_request(client):
    page = client.get("/no-such-page").get_data(as_text=True)
    assert "页面或资源不存在" in page
    client.get("/?lang=en")
    assert "Not found" in client.get("/no-such-page").get_data(as_text=True)


def test_visit_page_shows_the_history(client, login):
    h = {"X-CSRFToken": login(Role.COUNTER)}
    visit = client.post("/api/v1/visits", headers=h,
                        json={"vehicle": {"plate_type": "02", "plate": "浙A12345"}}).get_json()
    html = client.get(f"/staff/visits/{visit['id']}").get_data(as_text=True)
    assert "浙A12345" in html and "checked_in" in html and "2026-11-23 09:00:00" in html


def test_vendor_files_are_allow_listed(client):
    assert client.get("/vendor/../../etc/passwd").status_code == 404
    assert client.get("/vendor/unknown.js").status_code == 404
