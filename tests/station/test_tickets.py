"""Tickets: numbering per day and category, printing that never undoes a ticket, reprints,
and the owner's progress page."""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from station import db as station_db
from station import printing as printing_module
from station.devices import DeviceManager
from station.devices.adapters import default_factories
from station.errors import NotFound
from station.models import PrintState, Role, Ticket
from station.printing import PrintWorker
from station.realtime import PROGRESS, STAFF, hub_of
from station.services import tickets


@pytest.fixture
def kiosk(station_with_devices):
    return {"Authorization": f"Bearer {station_with_devices.client_tokens['kiosk']}"}


@pytest.fixture
def station_with_devices(demo_station):
    return demo_station


@pytest.fixture
def printing(db, clock, config):
    """The runtime's device manager (simulated printer) and print worker, driven by hand."""
    on_stop: list = []
    devices = DeviceManager(db, clock, default_factories(simulate=True, on_stop=on_stop))
    devices.load()
    worker = PrintWorker(db, clock, devices, config.public_url)
    yield worker, on_stop[0].__self__ if on_stop else None
    devices.stop()
    for stop in on_stop:
        stop()


def _walk_in(client, kiosk, plate):
    response = client.post("/api/v1/walk-in", headers=kiosk, json={"plate_type": "02", "plate": plate})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def test_tickets_are_numbered_per_category_and_day(client, kiosk, clock):
    first, second = _walk_in(client, kiosk, "浙B11111"), _walk_in(client, kiosk, "浙B22222")
    assert (first["ticket"], second["ticket"]) == ("B001", "B002")
    assert first["ticket_category"] == "现场" and first["plate"] == "浙B·1**11"
    assert first["progress_url"].startswith("http://127.0.0.1:5000/p/")
    assert first["print_state"] == "pending" and "交车区" in first["next_step"]


def test_concurrent_issue_never_repeats_a_number(app, db, kiosk):
    labels: list[str] = []
    lock = threading.Lock()

    def worker(n: int) -> None:
        client = app.test_client()
        for k in range(5):
            body = client.post("/api/v1/walk-in", headers=kiosk,
                               json={"plate_type": "02", "plate": f"浙C{n}{k:04d}"}).get_json()
            with lock:
                labels.append(body["ticket"])

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert sorted(labels) == [f"B{n:03d}" for n in range(1, 31)]


def test_printed_ticket_reads_back_from_the_simulator(client, kiosk, db, printing):
    worker, simulator = printing
    issued = _walk_in(client, kiosk, "浙D12345")
    assert worker.print_pending() == 1
    [paper] = simulator.wait_for_tickets(1, timeout=10)
    text = "\n".join(line.text for line in paper.lines)
    assert "B001" in text and "浙D·1**45" in text and "示范机动车检测站" in text
    assert issued["progress_url"] in paper.qr_payloads
    with db.read() as s:
        assert s.scalar(sa.select(Ticket.print_state)) is PrintState.PRINTED


@pytest.mark.parametrize("at_once", [8, 2])
def test_each_printed_ticket_shows_the_people_ahead_of_it(client, kiosk, db, printing, monkeypatch,
                                                          at_once):
    """Pending tickets are placed and printed a batch at a time, each with its own place."""
    monkeypatch.setattr(printing_module, "PAPERS_AT_ONCE", at_once)
    worker, simulator = printing
    for plate in ("浙D10001", "浙D10002", "浙D10003"):
        _walk_in(client, kiosk, plate)
    assert worker.print_pending() == 3
    papers = simulator.wait_for_tickets(3, timeout=10)
    ahead = [next(line.text for line in paper.lines if "前面等候" in line.text) for paper in papers]
    assert [text.split("：")[1].strip() for text in ahead] == ["0 人", "1 人", "2 人"]
    with db.read() as s:
        assert list(s.scalars(sa.select(Ticket.print_state))) == [PrintState.PRINTED] * 3


def test_a_batchs_papers_take_as_many_statements_as_one_paper(client, kiosk, db, printing,
                                                             monkeypatch):
    """The printer reads a batch's tickets, with their vehicles, in one statement."""
    worker, _ = printing
    # the configuration read while warming stays cached however slow the machine (its TTL
    # would otherwise lapse between the two counts and add a reload to one of them)
    monkeypatch.setattr(station_db, "_monotonic", lambda: 0.0)
    issued = [_walk_in(client, kiosk, plate)["ticket_id"] for plate in ("浙D30001", "浙D30002", "浙D30003")]
    worker._papers(issued)  # compiled once

    def statements(ticket_ids):
        seen: list[str] = []
        listener = lambda *a: seen.append(a[2])  # noqa: E731
        sa.event.listen(db.engine, "before_cursor_execute", listener)
        try:
            papers = worker._papers(ticket_ids)
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen), papers

    one, _ = statements(issued[:1])
    three, papers = statements(list(reversed(issued)))
    assert three == one
    assert [ticket_id for ticket_id, _, _ in papers] == list(reversed(issued))  # in the order asked
    assert [paper.plate for _, _, paper in papers] == ["浙D·3**03", "浙D·3**02", "浙D·3**01"]
    with pytest.raises(NotFound), db.read() as s:
        tickets.get_many(s, [issued[0], 987654])


@pytest.mark.parametrize(("within_s", "failing"), [(3600, None), (0, None), (3600, 0)])
def test_outcomes_wait_for_the_next_ones_only_briefly(client, kiosk, db, printing, monkeypatch,
                                                      within_s, failing):
    """A batch's outcomes are recorded together when they come quickly; a slow printer's, or
    a failure, at once (the kiosk and the staff screens wait for them)."""
    monkeypatch.setattr(printing_module, "RECORD_WITHIN_S", within_s)
    worker, _ = printing
    issued = [_walk_in(client, kiosk, plate)["ticket_id"] for plate in ("浙D20001", "浙D20002", "浙D20003")]
    seen: list[list[PrintState]] = []
    send = worker._send

    def watched(printer_id, paper):
        with db.read() as s:  # what is recorded when the next paper goes out
            seen.append([s.get(Ticket, ticket_id).print_state for ticket_id in issued])
        if len(seen) - 1 == failing:
            return "缺纸"
        return send(printer_id, paper)

    monkeypatch.setattr(worker, "_send", watched)
    assert worker.print_pending() == (3 if failing is None else 2)
    P, F, D = PrintState.PENDING, PrintState.FAILED, PrintState.PRINTED
    if within_s and failing is None:
        assert seen[2] == [P, P, P]  # quick: all three recorded at the end, together
    elif within_s:
        assert seen[1] == [F, P, P] and seen[2] == [F, P, P]  # the failure at once
    else:
        assert seen[1] == [D, P, P] and seen[2] == [D, D, P]  # slow: each at once
    with db.read() as s:
        assert [s.get(Ticket, t).print_state for t in issued] == (
            [D, D, D] if failing is None else [F, D, D])


def test_a_burst_wakes_the_worker_once_and_is_printed_as_one_batch(client, kiosk, db, printing,
                                                                   monkeypatch):
    """The first ticket of a burst wakes the worker; it lets the next ones come for
    ``GATHER_S`` and then places and records them together, each printed."""
    monkeypatch.setattr(printing_module, "GATHER_S", 1.5)  # however slow the machine
    monkeypatch.setattr(printing_module, "POLL_SECONDS", 60.0)  # only a wake-up runs it
    worker, simulator = printing
    batches: list[list[int]] = []
    papers = worker._papers

    def watched(ticket_ids):
        batches.append(list(ticket_ids))
        return papers(ticket_ids)

    monkeypatch.setattr(worker, "_papers", watched)
    worker.start()
    try:
        walk_ins = [_walk_in(client, kiosk, plate) for plate in ("浙D40001", "浙D40002", "浙D40003")]
        printed = simulator.wait_for_tickets(3, timeout=15)
    finally:
        worker.stop()
    issued = [w["ticket_id"] for w in walk_ins]
    assert batches == [issued]
    assert [w["ticket"] in paper.text for w, paper in zip(walk_ins, printed, strict=True)] == [True] * 3
    with db.read() as s:
        assert [s.get(Ticket, t).print_state for t in issued] == [PrintState.PRINTED] * 3


def test_paper_out_keeps_the_ticket_and_alerts_staff(app, client, kiosk, db, login, printing):
    worker, simulator = printing
    login(Role.COUNTER)
    staff = hub_of(app).socketio.test_client(app, namespace=STAFF, flask_test_client=client)
    simulator.faults.paper_out = True
    client.post("/logout", data={})  # the kiosk call below is made with its token only
    issued = _walk_in(client, kiosk, "浙D12345")
    assert worker.print_pending() == 0
    status = client.get(f"/api/v1/tickets/{issued['ticket_id']}", headers=kiosk).get_json()
    assert status["print_state"] == "failed" and "缺纸" in status["print_error"]
    alerts = [m["args"][0]["data"] for m in staff.get_received(STAFF)
              if m["name"] == "event" and m["args"][0]["type"] == "ticket"]
    assert alerts[-1]["print_state"] == "failed" and alerts[-1]["label"] == "B001"
    simulator.faults.paper_out = False
    h = {"X-CSRFToken": login(Role.COUNTER)}
    assert client.post(f"/api/v1/tickets/{issued['ticket_id']}/reprint", headers=h).status_code == 200
    worker.devices.tick()  # the printer is retried after its backoff …
    worker.clock.advance(seconds=5)
    worker.devices.tick()
    assert worker.print_pending() == 1
    assert simulator.wait_for_tickets(1, timeout=10)


def test_progress_page_and_live_updates(app, client, kiosk, db, clock, login):
    issued = _walk_in(client, kiosk, "浙D12345")
    token = issued["progress_url"].rsplit("/", 1)[1]
    page = client.get(f"/p/{token}").get_data(as_text=True)
    assert "B001" in page and "浙D·1**45" in page and "浙D12345" not in page
    assert client.get("/p/not-a-token").status_code == 404
    data = client.get(f"/api/v1/progress/{token}").get_json()
    assert data["state"] == "checked_in" and data["people_ahead"] == 0
    assert [s["status"] for s in data["steps"]][:2] == ["current", "todo"]
    owner = hub_of(app).socketio.test_client(app, namespace=PROGRESS, auth={"token": token})
    assert owner.is_connected(PROGRESS)
    assert not hub_of(app).socketio.test_client(app, namespace=PROGRESS,
                                                auth={"token": "x"}).is_connected(PROGRESS)
    other = _walk_in(client, kiosk, "浙D54321")
    h = {"X-CSRFToken": login(Role.MANAGER)}
    client.post(f"/api/v1/visits/{other['visit_id']}/transitions", headers=h,
                json={"to_state": "keys_handed_over"})
    client.post(f"/api/v1/visits/{issued['visit_id']}/transitions", headers=h,
                json={"to_state": "keys_handed_over"})
    received = owner.get_received(PROGRESS)
    [snapshot] = [m["args"][0] for m in received if m["name"] == "snapshot"]
    events = [m["args"][0] for m in received if m["name"] == "event"]
    assert [e["data"]["state"] for e in events] == ["keys_handed_over"]  # only this visit's
    assert events[0]["seq"] == snapshot["seq"] + 1
    assert events[0]["data"]["steps"][1]["status"] == "current"
    text = str(received)
    assert "浙D12345" not in text and "浙D54321" not in text
