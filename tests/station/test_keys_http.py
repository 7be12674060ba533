"""Key handover over HTTP: the desk, the runner's API, photos, owner return, custody pages,
and the realtime events (full on /staff, masked on the owner's /progress room)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from station.domain.journey import VisitState
from station.models import Lane, Role
from station.models.keys import KeyPhoto, KeySlot
from station.realtime import PROGRESS, STAFF, hub_of
from station.services import visits
from station.services.actors import Actor
from station.testing import fetch_csrf_token
from tests.conftest import PASSWORD

S = VisitState
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00"
       b"\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\xcf\xc0\x00\x00\x03\x01\x01\x00\xc9\xfe\x92\xef"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture(autouse=True)
def station(demo_station, db):
    # these tests name their own tags: a station without a defined key cabinet takes any tag
    with db.write() as s:
        s.execute(sa.delete(KeySlot))
    return demo_station


@pytest.fixture
def kiosk(station):
    return {"Authorization": f"Bearer {station.client_tokens['kiosk']}"}


def sign_in(app, create_user, *roles, name="测试员"):
    """A separate test client signed in with ``roles``; returns (client, headers, user)."""
    c = app.test_client()
    user = create_user(*roles, display_name=name)
    c.post("/login", data={"username": user.username, "password": PASSWORD,
                           "csrf_token": fetch_csrf_token(c)})
    return c, {"X-CSRFToken": fetch_csrf_token(c)}, user


def walk_in(client, kiosk, plate, phone="13912348765"):
    return client.post("/api/v1/walk-in", headers=kiosk,
                       json={"plate_type": "02", "plate": plate, "phone": phone}).get_json()


def advance_visit(db, clock, visit_id, *states, lane_number=None):
    with db.write() as s:
        visit = visits.get(s, visit_id)
        for state in states:
            visits.transition(s, clock, Actor.system("other feature"), visit, state)
        if lane_number:
            visit.assigned_lane_id = s.scalar(sa.select(Lane.id).where(Lane.number == lane_number))


def test_desk_to_owner_over_http_with_events(app, client, kiosk, db, clock, create_user):
    desk, dh, _ = sign_in(app, create_user, Role.COUNTER, name="交车员")
    runner, rh, runner_user = sign_in(app, create_user, Role.RUNNER, name="陈引车员")
    manager, _, _ = sign_in(app, create_user, Role.MANAGER)
    arrival = walk_in(client, kiosk, "浙A1B234")
    label, token = arrival["ticket"], arrival["progress_url"].rsplit("/", 1)[1]
    visit_id = arrival["visit_id"]
    staff = hub_of(app).socketio.test_client(app, namespace=STAFF, flask_test_client=desk)
    owner = hub_of(app).socketio.test_client(app, namespace=PROGRESS, auth={"token": token})
    assert staff.is_connected(STAFF) and owner.is_connected(PROGRESS)
    staff.get_received(STAFF), owner.get_received(PROGRESS)

    r = desk.post("/api/v1/keys/handover", headers=dh,
                  json={"ticket": label, "tag": "a12", "parking_spot": "P-03"})
    assert r.status_code == 201, r.get_json()
    key = r.get_json()
    assert key["tag"] == "A12" and key["holder_kind"] == "desk" and key["visit_state"] == "keys_handed_over"
    page = client.get(f"/p/{token}").get_data(as_text=True)  # the owner's page shows the step
    assert "钥匙已交接，请到休息区等候" in page and "A12" in page
    photos = desk.post(f"/api/v1/keys/{key['key_id']}/photos", headers=dh,
                       data={"photo": [(_io(PNG), "front.png", "image/png")]},
                       content_type="multipart/form-data")
    assert photos.status_code == 201, photos.get_json()
    photo = photos.get_json()[0]
    got = desk.get(photo["url"])
    assert got.status_code == 200 and got.data == PNG and got.mimetype == "image/png"
    with db.read() as s:
        stored = s.scalar(sa.select(KeyPhoto))
    assert (Path(app.extensions["station.config"].instance_path) / "key_photos"
            / stored.stored_name).read_bytes() == PNG
    bad = desk.post(f"/api/v1/keys/{key['key_id']}/photos", headers=dh,
                    data={"photo": [(_io(b"GIF89a..."), "x.gif", "image/gif")]},
                    content_type="multipart/form-data")
    assert bad.status_code == 422 and bad.get_json()["code"] == "photo_type"

    advance_visit(db, clock, visit_id, S.CALLED, S.REGISTERED, S.QUEUED_FOR_LANE, lane_number=2)
    board = runner.get("/api/v1/keys/runner").get_json()
    assert [e["tag"] for e in board["queue"]] == ["A12"] and board["mine"] is None
    assert board["queue"][0]["lane_name"].startswith("2号线") and board["queue"][0]["next_for_lane"]
    assert runner.post(f"/api/v1/keys/{key['key_id']}/claim", headers=rh).status_code == 200
    assert runner.get("/api/v1/keys/runner").get_json()["mine"]["tag"] == "A12"
    assert runner.post(f"/api/v1/keys/{key['key_id']}/deliver", headers=rh, json={}).status_code == 200
    early = runner.post(f"/api/v1/keys/{key['key_id']}/collect", headers=rh)
    assert early.status_code == 409 and early.get_json()["message_en"]
    advance_visit(db, clock, visit_id, S.ON_LANE, S.TESTED)
    assert [k["tag"] for k in runner.get("/api/v1/keys/runner").get_json()["to_collect"]] == ["A12"]
    assert runner.post(f"/api/v1/keys/{key['key_id']}/collect", headers=rh).status_code == 200
    assert runner.post(f"/api/v1/keys/{key['key_id']}/park", headers=rh,
                       json={"pickup_spot": "提-08"}).status_code == 200
    # return: without verification, wrong digits, then the QR token and the phone's last 4
    refused = desk.post("/api/v1/keys/return", headers=dh, json={"ticket": label})
    assert refused.status_code == 422 and "手机" in refused.get_json()["message"]
    wrong = desk.post("/api/v1/keys/return", headers=dh, json={"token": token, "phone_tail": "1111"},
                      query_string={"lang": "en"})
    assert wrong.status_code == 403 and wrong.get_json()["message_zh"].startswith("核验未通过")
    assert desk.get("/api/v1/keys/held").get_json()[0]["holder_kind"] == "cabinet"
    done = desk.post("/api/v1/keys/return", headers=dh, json={"token": token, "phone_tail": "8765"})
    assert done.status_code == 200 and done.get_json()["holder_kind"] == "owner"
    assert done.get_json()["visit_state"] == "keys_returned"
    assert desk.get("/api/v1/keys/held").get_json() == []

    # staff see the whole chain with names; the owner's page only stage, label, tag, time
    staff_keys = [m["args"][0]["data"] for m in staff.get_received(STAFF)
                  if m["args"][0].get("type") == "key"]
    assert [e["stage"] for e in staff_keys] == ["handed_over", "claimed", "at_lane", "collected",
                                               "in_cabinet", "returned"]
    assert staff_keys[1]["to_label"] == "引车员 陈引车员" and staff_keys[0]["plate"] == "浙A1B234"
    owner_msgs = [m["args"][0] for m in owner.get_received(PROGRESS) if m["name"] == "event"]
    owner_keys = [m["data"] for m in owner_msgs if m["type"] == "key"]
    assert [e["stage"] for e in owner_keys] == [e["stage"] for e in staff_keys]
    assert all(set(e) == {"stage", "stage_label", "tag", "at"} for e in owner_keys)
    assert owner_keys[0]["stage_label"] == "钥匙已交接，请到休息区等候" and owner_keys[0]["tag"] == "A12"
    text = json.dumps(owner_msgs, ensure_ascii=False)
    assert "浙A1B234" not in text and "陈引车员" not in text and runner_user.username not in text
    assert not re.search(r"1[3-9]\d{9}", text)

    # the manager sees the custody history; a runner may not
    chain = manager.get(f"/api/v1/keys/visits/{visit_id}/custody").get_json()
    assert [m["to_kind"] for m in chain] == ["desk", "runner", "lane", "runner", "cabinet", "owner"]
    assert chain[1]["actor"] == runner_user.username and chain[1]["at_local"] == "2026-11-23 09:00:00"
    page = manager.get(f"/keys/visits/{visit_id}")
    assert page.status_code == 200 and "钥匙流转记录" in page.text and "提车区 提-08" in page.text
    assert runner.get(f"/keys/visits/{visit_id}").status_code == 403
    assert runner.get(f"/api/v1/keys/visits/{visit_id}/custody").status_code == 403


def _io(data):
    import io

    return io.BytesIO(data)


def test_refusals_are_clear_4xx_in_both_languages(app, client, kiosk, db, clock, create_user):
    desk, dh, _ = sign_in(app, create_user, Role.COUNTER)
    one, h1, _ = sign_in(app, create_user, Role.RUNNER, name="一号")
    two, h2, _ = sign_in(app, create_user, Role.RUNNER, name="二号")
    a = walk_in(client, kiosk, "浙A11111")
    b = walk_in(client, kiosk, "浙A22222")
    key = desk.post("/api/v1/keys/handover", headers=dh, json={"ticket": a["ticket"], "tag": "B1"}).get_json()
    clash = desk.post("/api/v1/keys/handover", headers=dh, json={"ticket": b["ticket"], "tag": "b1"})
    assert clash.status_code == 409
    body = clash.get_json()
    assert body["code"] == "key_tag_in_use" and "B1" in body["message_zh"] and "in use" in body["message_en"]
    en = desk.post("/api/v1/keys/handover", headers={**dh, "Accept-Language": "en"},
                   json={"ticket": b["ticket"], "tag": "B1"})
    assert en.get_json()["message"] == en.get_json()["message_en"]
    not_paid = one.post(f"/api/v1/keys/{key['key_id']}/claim", headers=h1)
    assert not_paid.status_code == 409 and not_paid.get_json()["code"] == "car_not_ready"
    advance_visit(db, clock, a["visit_id"], S.CALLED, S.REGISTERED, S.QUEUED_FOR_LANE)
    assert one.post(f"/api/v1/keys/{key['key_id']}/claim", headers=h1).status_code == 200
    taken = two.post(f"/api/v1/keys/{key['key_id']}/claim", headers=h2)
    assert taken.status_code == 409 and "一号" in taken.get_json()["message_zh"]
    no_lane = one.post(f"/api/v1/keys/{key['key_id']}/deliver", headers=h1, json={})
    assert no_lane.status_code == 422 and no_lane.get_json()["code"] == "lane_required"
    not_holder = two.post(f"/api/v1/keys/{key['key_id']}/release", headers=h2, json={})
    assert not_holder.status_code == 409
    assert desk.post(f"/api/v1/keys/{key['key_id']}/claim", headers=dh).status_code == 403
    assert client.post(f"/api/v1/keys/{key['key_id']}/claim").status_code in (400, 401)
    held = desk.get("/api/v1/keys/held").get_json()
    assert [(k["tag"], k["holder_label"]) for k in held] == [("B1", "引车员 一号")]


def test_screens_render(app, create_user):
    desk, _, _ = sign_in(app, create_user, Role.COUNTER)
    runner, _, _ = sign_in(app, create_user, Role.RUNNER)
    page = desk.get("/keys/")
    assert page.status_code == 200 and "登记交车" in page.text and "交还钥匙" in page.text
    assert "站长授权交还" not in page.text
    assert desk.get("/keys/runner").status_code == 403
    phone = runner.get("/keys/runner")
    assert phone.status_code == 200 and "待引车" in phone.text
    assert runner.get("/static/station/keys/runner.js").status_code == 200
