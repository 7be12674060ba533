"""The JSON API: OpenAPI, validation with clear messages, and rejected input that changes nothing."""

from __future__ import annotations

import sqlalchemy as sa

from station.models import Role, Vehicle, Visit


def test_health_and_openapi(client):
    health = client.get("/api/v1/health").get_json()
    assert health["status"] == "ok" and health["database"] in ("sqlite", "postgresql")
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    for path in ("/api/v1/visits", "/api/v1/visits/{visit_id}/transitions", "/api/v1/vehicles",
                 "/api/v1/lanes", "/api/v1/station", "/api/v1/health"):
        assert path in spec["paths"], path
    assert "VisitOpen" in spec["components"]["schemas"]


def test_public_station_info_has_prices_and_hotline(client, demo_station):
    info = client.get("/api/v1/station").get_json()
    assert info["name"] == "示范机动车检测站" and info["hotline"] == "12345"
    safety = next(p for p in info["prices"] if p["code"] == "safety")
    assert safety["amount_fen"] == 10000 and safety["amount_yuan"] == "100.00"


def _count(db, model) -> int:
    with db.read() as s:
        return s.scalar(sa.select(sa.func.count()).select_from(model))


def test_open_visit_and_walk_it_through_the_table(client, login, db):
    token = login(Role.MANAGER)
    h = {"X-CSRFToken": token}
    created = client.post("/api/v1/visits", headers=h, json={
        "vehicle": {"plate_type": "02", "plate": "浙D12345", "vin": "LSVAU218XN2183294",
                    "fuel": "gasoline", "vehicle_type": "K33", "use_nature": "A"}})
    assert created.status_code == 201, created.get_json()
    visit = created.get_json()
    assert visit["state"] == "checked_in" and visit["plate"] == "浙D12345"
    assert visit["history"][0]["to_state"] == "checked_in"
    moved = client.post(f"/api/v1/visits/{visit['id']}/transitions", headers=h,
                        json={"to_state": "keys_handed_over", "reason": "钥匙柜3号"})
    assert moved.status_code == 200
    assert [t["to_state"] for t in moved.get_json()["history"]] == ["checked_in", "keys_handed_over"]
    refused = client.post(f"/api/v1/visits/{visit['id']}/transitions", headers=h,
                          json={"to_state": "papers_printed"})
    assert refused.status_code == 409
    assert refused.get_json()["code"] == "visit_transition_refused"
    assert client.get(f"/api/v1/visits/{visit['id']}").get_json()["state"] == "keys_handed_over"
    listed = client.get("/api/v1/visits?state=keys_handed_over").get_json()
    assert [v["id"] for v in listed] == [visit["id"]]


def test_bad_input_gets_a_clear_message_and_stores_nothing(client, login, db):
    token = login(Role.COUNTER)
    h = {"X-CSRFToken": token}
    wrong_type = client.post("/api/v1/visits", headers=h,
                             json={"vehicle": {"plate_type": "02", "plate": "浙AD12345"}})
    assert wrong_type.status_code == 422
    body = wrong_type.get_json()
    assert body["code"] == "plate_type_mismatch" and "小型新能源汽车" in body["message"]
    bad_vin = client.post("/api/v1/visits", headers=h, json={
        "vehicle": {"plate_type": "02", "plate": "浙A12345", "vin": "LSVAU2180N2183294"}})
    assert bad_vin.get_json()["code"] == "vin_check_digit"
    missing = client.post("/api/v1/visits", headers=h, json={"vehicle": {"plate": "浙A12345"}})
    assert missing.status_code == 422 and "plate_type" in str(missing.get_json()["errors"])
    assert missing.get_json()["message"] == "输入的数据有误"
    english = client.post("/api/v1/visits?lang=en", headers=h,
                          json={"vehicle": {"plate_type": "02", "plate": "浙AD12345"}})
    assert "small new-energy" in english.get_json()["message"].lower()
    assert _count(db, Vehicle) == 0 and _count(db, Visit) == 0


def test_second_visit_for_the_same_vehicle_is_a_conflict(client, login, db):
    h = {"X-CSRFToken": login(Role.COUNTER)}
    body = {"vehicle": {"plate_type": "52", "plate": "浙AD12345"}}
    assert client.post("/api/v1/visits", headers=h, json=body).status_code == 201
    again = client.post("/api/v1/visits", headers=h, json=body)
    assert again.status_code == 409 and again.get_json()["code"] == "visit_in_progress"
    assert _count(db, Visit) == 1


def test_counter_staff_cannot_force_a_transition(client, login):
    h = {"X-CSRFToken": login(Role.COUNTER)}
    visit = client.post("/api/v1/visits", headers=h,
                        json={"vehicle": {"plate_type": "02", "plate": "浙A12345"}}).get_json()
    response = client.post(f"/api/v1/visits/{visit['id']}/transitions", headers=h,
                           json={"to_state": "cancelled"})
    assert response.status_code == 403


def test_lane_state_change_needs_a_reason(client, login, demo_station):
    h = {"X-CSRFToken": login(Role.MANAGER)}
    lanes = client.get("/api/v1/lanes").get_json()
    assert [lane["number"] for lane in lanes] == [1, 2, 3]
    no_reason = client.post(f"/api/v1/lanes/{lanes[0]['id']}/state", headers=h,
                            json={"state": "closed"})
    assert no_reason.status_code == 422 and no_reason.get_json()["code"] == "reason_required"
    ok = client.post(f"/api/v1/lanes/{lanes[0]['id']}/state", headers=h,
                     json={"state": "closed", "reason": "设备维护"})
    assert ok.get_json()["state"] == "closed"
    audit = client.get("/api/v1/audit?action=lane.state_changed").get_json()
    assert audit[0]["details"] == {"state": "closed", "reason": "设备维护"}


def test_unknown_visit_is_404_json(client, login):
    login(Role.COUNTER)
    response = client.get("/api/v1/visits/999")
    assert response.status_code == 404 and response.get_json()["code"] == "visit_not_found"
    assert client.get("/api/v1/nothing-here").get_json()["status"] == 404


def test_register_client_device_returns_a_token_once(client, login, db):
    h = {"X-CSRFToken": login(Role.ADMIN)}
    created = client.post("/api/v1/client-devices", headers=h,
                          json={"kind": "lobby_display", "name": "休息区2号屏"}).get_json()
    assert len(created["token"]) > 30
    with db.read() as s:
        stored = s.execute(sa.text("SELECT token_sha256 FROM client_devices")).scalar()
    assert created["token"] not in stored and len(stored) == 64
