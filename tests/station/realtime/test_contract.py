"""The realtime contract: snapshot on connect, then events with increasing sequence numbers;
resync on request; authentication per namespace; masked data only on the lobby."""

from __future__ import annotations

import json
import re
import time

import pytest

from station.domain.masking import mask_plate
from station.models import ClientKind, Role
from station.realtime import LOBBY, STAFF, hub_of
from station.realtime.bridge import WAITS_DELAY_S
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
    # the demo's seeding already sent events (instruments coming into use): seq counts them
    assert name == "snapshot" and snap["seq"] >= 0 and len(snap["state"]["lanes"]) == 3
    visit = _open_and_move(client, token)
    events = _messages(sio, STAFF)
    assert [n for n, _ in events] == ["event", "event"]
    assert [e["seq"] for _, e in events] == [snap["seq"] + 1, snap["seq"] + 2]
    assert all(e["epoch"] == snap["epoch"] for _, e in events)
    assert events[1][1]["data"]["to_state"] == "keys_handed_over"
    assert events[1][1]["data"]["plate"] == PLATE  # staff see the full plate
    sio.emit("resync", namespace=STAFF)
    [(name, again)] = _messages(sio, STAFF)
    assert name == "snapshot" and again["seq"] == snap["seq"] + 2
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
                                          "stage": "keys_handed_over", "plate": "浙D·1**45"}
    assert last["state"]["now_serving"][0]["text"] == "请B001号到1号窗口办理"


VIN = "LSVAU218XN2183294"
PHONE = "13812345678"


def _assert_public(namespace, type_, data):
    text = json.dumps(data, ensure_ascii=False, default=str)
    where = f"{namespace} {type_}: {text}"
    assert PLATE not in text and VIN not in text and PHONE not in text, where
    assert "LSVAU" not in text and "张三" not in text, where
    assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", text), where
    assert not _keys(data) & PERSONAL_KEYS, where


def _fire(db, receiver, payload, tries=20):
    """Call a receiver with ``payload``; a key it needs beyond the documented ones is added
    (a full plate for anything named like a plate, a phone for phones) and it is called again."""
    for _ in range(tries):
        try:
            return receiver(db, **payload)
        except KeyError as missing:
            key = missing.args[0]
            payload[key] = (PLATE if "plate" in key else PHONE if "phone" in key
                            else VIN if "vin" in key else f"{key}-1")
    raise AssertionError(f"receiver {receiver} keeps asking for more keys: {sorted(payload)}")


def test_every_public_publish_is_masked(app, client, login, db, clock, demo_station, lobby_token):
    """Capture every ``hub.publish`` to /lobby and /progress — from the bridge and from every
    feature module's receivers — while a car goes through the whole journey."""
    from station import signals
    from station.domain.journey import VisitState
    from station.models import OpenState, StationKind
    from station.realtime import PROGRESS
    from station.services import assignment, lanes, tracking, vehicles, visits

    hub = hub_of(app)
    captured: list[tuple[str, str, dict]] = []
    original = hub.publish

    def spy(namespace, type_, data, *, room=None):
        captured.append((namespace, type_, data))
        return original(namespace, type_, data, room=room)

    hub.publish = spy
    lobby = hub.socketio.test_client(app, namespace=LOBBY, auth={"token": lobby_token})
    sys = Actor.system("t")
    with db.write() as s:
        v = vehicles.register(s, clock, plate_type="02", plate=PLATE, vin=VIN, vehicle_type="K33",
                              fuel="gasoline", use_nature="A", first_registered_on=clock.today())
        visit = visits.open_visit(s, clock, sys, v, category="walk_in")
        for to in (VisitState.KEYS_HANDED_OVER, VisitState.CALLED, VisitState.REGISTERED,
                   VisitState.QUEUED_FOR_LANE):
            visits.transition(s, clock, sys, visit, to)
        assignment.assign(s, clock, sys, visit)
        visit_id, lane_id = visit.id, visit.assigned_lane_id
    with db.write() as s:
        visit = visits.get(s, visit_id)
        lane = lanes.get_lane(s, lane_id)
        for st in tracking.route(s, clock, visit, lane):
            tracking.record_position(s, clock, sys, visit, kind="arrived", source="camera",
                                     station=st)
            items = [{"code": i["code"], "outcome": "pass"}
                     for i in tracking.station_items(s, clock, visit, st) if not i["skipped"]]
            tracking.finish_station(s, clock, sys, st, visit, items)
        diesel = next(st for st in lanes.get_lane(s, 2 if lane.number != 2 else 3).stations
                      if st.kind is StationKind.EMISSION_DIESEL)
        lanes.set_station_state(s, clock, sys, diesel, OpenState.BLOCKED, "烟度计检定过期")
    # the features' own receivers, fired generically with the documented payloads
    features = {signals.key_moved: dict(visit_id=visit_id, key_id=1, tag="K01",
                                        from_holder="owner", to_holder="desk", stage="desk",
                                        at=clock.now().isoformat()),
                signals.instrument_state_changed: dict(instrument_id=1, station_id=diesel.id,
                                                       usable=False, reason="检定过期",
                                                       at=clock.now().isoformat()),
                signals.payment_changed: dict(visit_id=visit_id, payment_id=1, state="paid",
                                              amount_fen=20000, at=clock.now().isoformat()),
                signals.feedback_changed: dict(kind="rating", id=1, state="new",
                                               at=clock.now().isoformat())}
    for signal, payload in features.items():
        for connected, receiver in app.extensions["station.realtime.receivers"]:
            if connected is signal:
                _fire(db, receiver, dict(payload))
    time.sleep(WAITS_DELAY_S + 0.5)  # the coalesced wait figures follow the changes
    public = [(ns, t, d) for ns, t, d in captured if ns in (LOBBY, PROGRESS)]
    types = {t for _, t, _ in public}
    assert {"visit", "position", "waits", "lane", "progress"} <= types
    for namespace, type_, data in public:
        _assert_public(namespace, type_, data)
    moves = [d for ns, t, d in public if ns == LOBBY and t == "position"]
    assert moves[0]["kind"] == "assigned" and moves[-1]["kind"] == "left"
    assert all(m["plate"] == mask_plate(PLATE) for m in moves)
    lobby.emit("resync", namespace=LOBBY)
    snapshots = [m for name, m in _messages(lobby, LOBBY) if name == "snapshot"]
    for snap in snapshots:
        _assert_public(LOBBY, "snapshot", {k: v for k, v in snap.items() if k != "epoch"})
    state = snapshots[-1]["state"]
    assert state["waits"]["queues"][0]["category"] == "booked"
    assert any(st["state"] == "blocked" and st["state_reason"] == "烟度计检定过期"
               for ln in state["lanes"] for st in ln["stations"])


def test_an_event_yields_to_the_senders_only_when_someone_here_follows_it(
        app, db, clock, lobby_token, monkeypatch):
    """After an emit the publishing thread sleeps for a moment so that the clients' sending
    threads go first; a stream nobody follows in this process costs no sleep."""
    import station.realtime as realtime

    sleeps = []
    monkeypatch.setattr(realtime.time, "sleep", sleeps.append)
    hub = hub_of(app)
    hub.publish(LOBBY, "lane", {"lane_id": 1})
    hub.publish(STAFF, "lane", {"lane_id": 1})
    assert sleeps == []
    sio = hub.socketio.test_client(app, namespace=LOBBY, auth={"token": lobby_token})
    assert sio.is_connected(LOBBY)
    hub.publish(LOBBY, "lane", {"lane_id": 1})
    hub.publish(STAFF, "lane", {"lane_id": 1})
    hub.publish("/progress", "position", {"lane_id": 1}, room="visit:1")
    assert sleeps == [0]
    assert [m for m in _messages(sio, LOBBY) if m[0] == "event"][-1][1]["data"] == {"lane_id": 1}
    sio.disconnect(LOBBY)
