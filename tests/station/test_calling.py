"""Calling tickets to the counters: order, concurrency, skip, park, transfer and outputs."""

from __future__ import annotations

import threading
from datetime import date, time

import pytest

from station.devices import DeviceManager
from station.devices.adapters import default_factories
from station.models import Channel, Role
from station.outputs import CallOutputs
from station.realtime import LOBBY, hub_of
from station.services import appointments
from station.services.actors import Actor


@pytest.fixture(autouse=True)
def station(demo_station):
    return demo_station


@pytest.fixture
def kiosk(station):
    return {"Authorization": f"Bearer {station.client_tokens['kiosk']}"}


@pytest.fixture
def staff(client, login):
    return {"X-CSRFToken": login(Role.COUNTER)}


def _walk_in(client, kiosk, plate, **kw):
    return client.post("/api/v1/walk-in", headers=kiosk,
                       json={"plate_type": "02", "plate": plate, **kw}).get_json()


def _counter_ids(client):
    return [c["id"] for c in client.get("/api/v1/counters").get_json()]


def test_call_next_follows_the_priority_policy(client, kiosk, staff, db, clock):
    _walk_in(client, kiosk, "浙B11111")
    with db.write() as s:  # a booking for 09:30, made earlier
        code = appointments.book(s, clock, Actor.system("t"), appointments.BookingRequest(
            plate_type="02", plate="浙A22222", contact_name="张", phone="13812345678",
            day=date(2026, 11, 23), starts_at=time(9, 30), channel=Channel.WEB)).code
    clock.advance(minutes=20)  # 09:20: a walk-in arrives, then the booking checks in early
    _walk_in(client, kiosk, "浙B33333")
    clock.advance(minutes=5)
    booked = client.post("/api/v1/checkin", headers=kiosk, json={"code": code}).get_json()
    assert booked["ticket"] == "A001"
    counters = _counter_ids(client)
    order = []
    for _ in range(3):
        called = client.post(f"/api/v1/counters/{counters[0]}/call-next", headers=staff).get_json()
        order.append(called["ticket"])
        assert called["text"] == f"请{called['ticket']}号到1号窗口办理"
        client.post(f"/api/v1/counters/{counters[0]}/park", headers=staff)
    # the booking (slot 09:30) does not overtake walk-ins who arrived before its slot began
    assert order == ["B001", "B002", "A001"]
    empty = client.post(f"/api/v1/counters/{counters[0]}/call-next", headers=staff)
    assert empty.status_code == 404 and empty.get_json()["message"] == "当前没有等候的号码"


def test_a_busy_counter_must_finish_first(client, kiosk, staff):
    _walk_in(client, kiosk, "浙B11111")
    _walk_in(client, kiosk, "浙B22222")
    counter = _counter_ids(client)[0]
    client.post(f"/api/v1/counters/{counter}/call-next", headers=staff)
    busy = client.post(f"/api/v1/counters/{counter}/call-next", headers=staff)
    assert busy.status_code == 409 and "B001" in busy.get_json()["message"]
    assert client.get(f"/api/v1/counters/{counter}/current", headers=staff).get_json()["ticket"] == "B001"


def test_skip_sends_the_ticket_to_the_end_and_holds_it(client, kiosk, staff, clock):
    for plate in ("浙B11111", "浙B22222", "浙B33333"):
        _walk_in(client, kiosk, plate)
        clock.advance(minutes=1)
    counter = _counter_ids(client)[0]
    assert client.post(f"/api/v1/counters/{counter}/call-next", headers=staff).get_json()["ticket"] == "B001"
    client.post(f"/api/v1/counters/{counter}/skip", headers=staff)
    queue = client.get("/api/v1/queue/counter", headers=staff).get_json()
    assert [q["ticket"] for q in queue] == ["B002", "B003", "B001"]
    assert queue[-1]["hold_until"] is not None
    called = []
    for _ in range(3):
        body = client.post(f"/api/v1/counters/{counter}/call-next", headers=staff).get_json()
        called.append(body.get("ticket") or body["code"])
        client.post(f"/api/v1/counters/{counter}/park", headers=staff)
    assert called == ["B002", "B003", "queue_empty"]  # B001 is held for 5 minutes
    clock.advance(minutes=5)
    assert client.post(f"/api/v1/counters/{counter}/call-next", headers=staff).get_json()["ticket"] == "B001"


def test_recall_park_call_specific_and_transfer(client, kiosk, staff):
    _walk_in(client, kiosk, "浙B11111")
    first, second = _counter_ids(client)[:2]
    client.post(f"/api/v1/counters/{first}/call-next", headers=staff)
    assert client.post(f"/api/v1/counters/{first}/recall", headers=staff).get_json()["call_count"] == 2
    client.post(f"/api/v1/counters/{first}/park", headers=staff)
    elsewhere = client.post(f"/api/v1/counters/{second}/call", headers=staff, json={"ticket": "b001"})
    assert elsewhere.status_code == 409 and elsewhere.get_json()["code"] == "ticket_parked_elsewhere"
    again = client.post(f"/api/v1/counters/{first}/call", headers=staff, json={"ticket": "B001"})
    assert again.status_code == 200 and again.get_json()["call_state"] == "called"
    moved = client.post(f"/api/v1/counters/{first}/transfer", headers=staff,
                        json={"to_counter_id": second}).get_json()
    assert moved["text"] == "请B001号到2号窗口办理" and moved["counter_id"] == second
    assert client.get(f"/api/v1/counters/{first}/current", headers=staff).status_code == 404


def test_two_windows_never_get_the_same_ticket(app, client, kiosk, staff):
    """Four windows press "next" at the same time, again and again: no ticket twice."""
    for n in range(12):
        _walk_in(client, kiosk, f"浙C{n:05d}")
    with client.session_transaction() as signed_in:
        session = dict(signed_in)
    got: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(4)

    def window(counter_id: int) -> None:
        c = app.test_client()
        with c.session_transaction() as s:
            s.update(session)  # the same signed-in staff member on each window
        barrier.wait(timeout=30)
        for _ in range(3):
            body = c.post(f"/api/v1/counters/{counter_id}/call-next", headers=staff).get_json()
            with lock:
                got.append(body.get("ticket") or body["code"])
            c.post(f"/api/v1/counters/{counter_id}/park", headers=staff)

    threads = [threading.Thread(target=window, args=(cid,)) for cid in _counter_ids(client)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(got) == sorted(f"B{n:03d}" for n in range(1, 13))


def test_a_call_reaches_the_lobby_and_the_window_display(app, client, kiosk, staff, db, clock):
    lobby = hub_of(app).socketio.test_client(app, namespace=LOBBY, flask_test_client=client)
    on_stop: list = []
    devices = DeviceManager(db, clock, default_factories(simulate=True, on_stop=on_stop))
    devices.load()
    outputs = CallOutputs(db, devices).start()
    try:
        _walk_in(client, kiosk, "浙B11111")
        counter = _counter_ids(client)[2]
        client.post(f"/api/v1/counters/{counter}/call-next", headers=staff)
        calls = [m["args"][0]["data"] for m in lobby.get_received(LOBBY)
                 if m["name"] == "event" and m["args"][0]["type"] == "call"]
        assert calls == [{"label": "B001", "counter_number": 3, "counter_name": "3号窗口",
                          "text": "请B001号到3号窗口办理", "action": "called", "at": calls[0]["at"]}]
        led = next(stop.__self__ for stop in on_stop
                   if type(stop.__self__).__name__ == "TcpLink" and
                   stop.__self__.simulator.addresses == [3])
        assert led.simulator.wait_for(3, "B001号 请到3号窗口", timeout=10) is not None
    finally:
        outputs.stop()
        devices.stop()
        for stop in on_stop:
            stop()
