"""The realtime contract: snapshot on connect, then events with increasing sequence numbers;
resync on request; authentication per namespace; masked data only on the lobby."""

from __future__ import annotations

import json
import re

import pytest

from station.domain.masking import mask_plate
from station.models import ClientKind, Role
from station.realtime import LOBBY, STAFF, hub_of
from station.services import users
from station.services.actors import Actor

PLATE = "浙D12345"
#: fields that identify a person or a vehicle beyond its masked plate
PERSONAL_KEYS = {"serial", "actor", "vin", "vin_tail", "phone", "contact_name", "plate_type",
                 "visit_id", "name_of_owner", "engine_no"}


def _keys(value) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in _keys(v)}
    if isinstance(value, list | tuple):
        return {k for v in value for k in _keys(v)}
    return set()


@pytest.fixture
def lobby_token(db, clock):
    with db.write() as s:
        return users.register_client_device(s, clock, Actor.system("t"),
                                            kind=ClientKind.LOBBY_DISPLAY, name="lobby")[1]


def _messages(sio_client, namespace):
    return [(m["name"], m["args"][0]) for m in sio_client.get_received(namespace)]


def _open_and_move(client, token):
    h = {"X-CSRFToken": token}
    visit = client.post("/api/v1/visits", headers=h,
                        json={"vehicle": {"plate_type": "02", "plate": PLATE}}).get_json()
    client.post(f"/api/v1/visits/{visit['id']}/transitions", headers=h,
                json={"to_state": "keys_handed_over", "reason": "柜3"})
    return visit


def test_staff_namespace_needs_login(app, client):
    sio = hub_of(app).socketio.test_client(app, namespace=STAFF, flask_test_client=client)
    assert not sio.is_connected(STAFF)


def test_lobby_needs_a_display_token(app, client, db, clock):
    sio = hub_of(app).socketio
    assert not sio.test_client(app, namespace=LOBBY, auth={"token": "nope"}).is_connected(LOBBY)
    with db.write() as s:
        kiosk = users.register_client_device(s, clock, Actor.system("t"),
                                             kind=ClientKind.LANE_TERMINAL, name="x")[1]
    assert not sio.test_client(app, namespace=LOBBY, auth={"token": kiosk}).is_connected(LOBBY)


def test_snapshot_then_sequenced_events(app, client, login, demo_station):
    token = login(Role.MANAGER)
    sio = hub_of(app).socketio.test_client(app, namespace=STAFF, flask_test_client=client)
    assert sio.is_connected(STAFF)
    [(name, snap)] = _messages(sio, STAFF)
    assert name == "snapshot" and snap["seq"] == 0 and len(snap["state"]["lanes"]) == 3
    visit = _open_and_move(client, token)
    events = _messages(sio, STAFF)
    assert [n for n, _ in events] == ["event", "event"]
    assert [e["seq"] for _, e in events] == [1, 2]
    assert all(e["epoch"] == snap["epoch"] for _, e in events)
    assert events[1][1]["data"]["to_state"] == "keys_handed_over"
    assert events[1][1]["data"]["plate"] == PLATE  # staff see the full plate
    sio.emit("resync", namespace=STAFF)
    [(name, again)] = _messages(sio, STAFF)
    assert name == "snapshot" and again["seq"] == 2
    assert [v["id"] for v in again["state"]["visits"]] == [visit["id"]]


def test_lobby_receives_masked_data_only(app, client, login, demo_station, lobby_token):
    """Every payload the lobby gets — snapshot and each event type — holds no personal data."""
    token = login(Role.MANAGER)
    lobby = hub_of(app).socketio.test_client(app, namespace=LOBBY, auth={"token": lobby_token})
    assert lobby.is_connected(LOBBY)
    visit = _open_and_move(client, token)
    lanes = client.get("/api/v1/lanes").get_json()
    client.post(f"/api/v1/stations/{lanes[1]['stations'][3]['id']}/state",
                headers={"X-CSRFToken": token}, json={"state": "blocked", "reason": "烟度计检定过期"})
    kiosk = {"Authorization": f"Bearer {demo_station.client_tokens['kiosk']}"}
    client.post("/api/v1/walk-in", headers=kiosk, json={"plate_type": "02", "plate": "浙B13579"})
    counter = client.get("/api/v1/counters").get_json()[0]["id"]
    client.post(f"/api/v1/counters/{counter}/call-next", headers={"X-CSRFToken": token})
    lobby.emit("resync", namespace=LOBBY)
    messages = _messages(lobby, LOBBY)
    types = {m.get("type", name) for name, m in messages}
    assert {"snapshot", "visit", "lane", "call"} <= types
    assert "浙B13579" not in json.dumps(messages, ensure_ascii=False)
    # the stream id (random hex) is no personal data and could look like digits: leave it out
    text = json.dumps([{k: v for k, v in m.items() if k != "epoch"} for _, m in messages],
                      ensure_ascii=False)
    assert PLATE not in text and mask_plate(PLATE) in text
    assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", text)  # no phone numbers
    assert not _keys(messages) & PERSONAL_KEYS
    last = [m for name, m in messages if name == "snapshot"][-1]
    by_id = {v["id"]: v for v in last["state"]["visits"]}
    assert by_id[visit["id"]] == {"id": visit["id"], "state": "keys_handed_over",
                                          "state_label": "已交钥匙", "on_site": True,
                                          "plate": "浙D·1**45"}
    assert last["state"]["now_serving"][0]["text"] == "请B001号到1号窗口办理"
