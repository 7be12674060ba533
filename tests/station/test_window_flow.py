"""The single window: registration with the online query, insurance, the one payment, the
hand-off to the lanes, pick-up with papers, retests, and every refusal."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from simulators.payment_gateway import PaymentGatewaySimulator
from simulators.police_platform import PolicePlatformSimulator
from station.integrations.police_platform import HttpPolicePlatform
from station.models import (
    AuditEntry,
    InspectionItemResult,
    ItemOutcome,
    Role,
    StationKind,
    Visit,
    VisitResult,
)
from station.models.window import DocumentKind, Payment, PrintedDocument, RetestBooking
from station.services import visits
from station.services.actors import Actor

VIN = "LSVAU218XN2183294"


@pytest.fixture(autouse=True)
def station(demo_station):
    return demo_station


@pytest.fixture
def police(app):
    sim = PolicePlatformSimulator().start()
    app.extensions["window.police_query"] = HttpPolicePlatform(sim.url, sim.token)
    yield sim
    sim.stop()


@pytest.fixture
def gateway(app):
    sim = PaymentGatewaySimulator()
    app.extensions["window.payment_gateway"] = sim
    return sim


@pytest.fixture
def kiosk(station):
    return {"Authorization": f"Bearer {station.client_tokens['kiosk']}"}


@pytest.fixture
def staff(client, login):
    return {"X-CSRFToken": login(Role.COUNTER)}


def counter_ids(client):
    return [c["id"] for c in client.get("/api/v1/counters").get_json()]


def called_visit(client, kiosk, staff, plate="浙A12345", plate_type="02"):
    client.post("/api/v1/walk-in", headers=kiosk, json={"plate_type": plate_type, "plate": plate})
    counter = counter_ids(client)[0]
    call = client.post(f"/api/v1/counters/{counter}/call-next", headers=staff).get_json()
    return call["visit_id"], counter


def register(client, staff, visit_id, counter, **kw):
    body = {"plate_type": "02", "plate": "浙A12345", "vin": VIN, "vehicle_type": "K33",
            "use_nature": "A", "fuel": "gasoline", "counter_id": counter, **kw}
    return client.post(f"/api/v1/window/visits/{visit_id}/register", headers=staff, json=body)


def set_result(db, clock, visit_id, failed: dict[str, tuple[StationKind, str]] | None = None):
    """What the lane terminal does: item rows, the result, the visit tested."""
    failed = failed or {}
    actor = Actor.system("lane")
    with db.write() as s:
        visit = s.get(Visit, visit_id)
        visits.transition(s, clock, actor, visit, "on_lane")
        items = {"brake": (StationKind.INSTRUMENT, "制动"), "exhaust": (StationKind.EMISSION_GASOLINE, "排气污染物")}
        for code, (group, name) in items.items():
            fail = code in failed
            s.add(InspectionItemResult(visit_id=visit_id, group=group, item_code=code,
                                       item_name_zh=name, item_name_en=code,
                                       outcome=ItemOutcome.FAIL if fail else ItemOutcome.PASS,
                                       reason=failed[code][1] if fail else None, at=clock.now()))
        visit.result = VisitResult.FAIL if failed else VisitResult.PASS
        visit.result_at = clock.now()
        visits.transition(s, clock, actor, visit, "tested")


def test_query_explains_each_finding(client, staff, police):
    body = client.post("/api/v1/window/query", headers=staff,
                       json={"plate_type": "02", "plate": "浙A54321"}).get_json()
    assert body["may_test"] is False
    violation = next(f for f in body["findings"] if f["code"] == "G")
    assert violation["meaning_zh"] == "违法未处理" and "须先处理交通违法" in violation["action_zh"]
    unknown = client.post("/api/v1/window/query", headers=staff,
                          json={"plate_type": "02", "plate": "浙A99999"})
    assert unknown.status_code == 409 and unknown.get_json()["code"] == "vehicle_not_on_platform"
    police.faults.down = True
    down = client.post("/api/v1/window/query", headers=staff, json={"plate_type": "02", "plate": "浙A12345"})
    assert down.status_code == 409 and down.get_json()["code"] == "police_query_unavailable"


def test_one_whole_visit_register_pay_hand_off_and_papers(client, kiosk, staff, police, gateway,
                                                          db, clock):
    visit_id, counter = called_visit(client, kiosk, staff)
    card = register(client, staff, visit_id, counter).get_json()
    assert card["state"] == "registered" and card["registration"]["insurance_state"] == "verified"
    assert [i["code"] for i in card["due"]["items"]] == ["safety", "emission_transient"]
    assert card["due"]["total_fen"] == 20000
    paid = client.post(f"/api/v1/window/visits/{visit_id}/pay", headers=staff,
                       json={"method": "wechat", "payer_code": "134567890123456789",
                             "counter_id": counter, "expected_total_fen": 20000}).get_json()
    assert paid["state"] == "queued_for_lane"
    assert paid["payment"]["amount_fen"] == 20000 and paid["payment"]["reference"].startswith("SIM")
    assert next(iter(gateway.charges.values()))[2] == 20000
    assert [d["kind"] for d in paid["documents"]] == ["receipt"]
    # the counter is free again: the ticket was finished by the payment
    assert client.get(f"/api/v1/counters/{counter}/current", headers=staff).status_code == 404
    again = client.post(f"/api/v1/window/visits/{visit_id}/pay", headers=staff,
                        json={"method": "cash", "counter_id": counter})
    assert again.status_code == 409 and again.get_json()["code"] == "already_paid"
    early = client.post(f"/api/v1/window/visits/{visit_id}/papers", headers=staff, json={})
    assert early.status_code == 409 and "检测结果尚未出具" in early.get_json()["message"]
    set_result(db, clock, visit_id)
    card = client.get("/api/v1/window/find?q=B001", headers=staff).get_json()
    assert card["result"] == "pass" and card["papers_ready"] is True
    done = client.post(f"/api/v1/window/visits/{visit_id}/papers", headers=staff,
                       json={"counter_id": counter}).get_json()
    assert done["state"] == "papers_printed"
    assert [d["kind"] for d in done["documents"]] == ["receipt", "report"]
    twice = client.post(f"/api/v1/window/visits/{visit_id}/papers", headers=staff, json={})
    assert twice.status_code == 409


def test_insurance_missing_tests_first_and_holds_the_papers(client, kiosk, staff, police, gateway,
                                                           db, clock):
    police.set_record("02", "浙A12345", status_codes="A", inspection_valid_until="2026-12-31",
                      insurance_until=None, vin=VIN, vehicle_type="K33", use_nature="A",
                      fuel="gasoline")
    visit_id, counter = called_visit(client, kiosk, staff)
    card = register(client, staff, visit_id, counter, insurance_agency=True).get_json()
    assert card["registration"]["insurance_state"] == "agency"
    client.post(f"/api/v1/window/visits/{visit_id}/pay", headers=staff,
                json={"method": "cash", "counter_id": counter})
    set_result(db, clock, visit_id)
    held = client.post(f"/api/v1/window/visits/{visit_id}/papers", headers=staff, json={})
    assert held.status_code == 409 and "交强险未核实" in held.get_json()["message"]
    still = client.post(f"/api/v1/window/visits/{visit_id}/insurance/verify", headers=staff)
    assert still.status_code == 409 and still.get_json()["code"] == "insurance_not_found"
    police.set_record("02", "浙A12345", status_codes="A", insurance_until=date(2027, 11, 22), vin=VIN)
    verified = client.post(f"/api/v1/window/visits/{visit_id}/insurance/verify", headers=staff).get_json()
    assert verified["registration"]["insurance_state"] == "verified" and verified["papers_ready"]
    assert client.post(f"/api/v1/window/visits/{visit_id}/papers", headers=staff,
                       json={}).get_json()["state"] == "papers_printed"


def test_bad_input_is_refused_and_changes_nothing(client, kiosk, staff, police, gateway, db):
    visit_id, counter = called_visit(client, kiosk, staff)
    wrong_type = register(client, staff, visit_id, counter, plate_type="52")
    assert wrong_type.status_code == 422 and wrong_type.get_json()["code"] == "plate_type_mismatch"
    bad_vin = "LSVAU2185N2183294"  # check digit should be X
    warn = register(client, staff, visit_id, counter, vin=bad_vin)
    assert warn.status_code == 422 and warn.get_json()["code"] == "vin_check_digit_unconfirmed"
    assert "应为“X”" in warn.get_json()["message"]
    unpaid = client.post(f"/api/v1/window/visits/{visit_id}/pay", headers=staff, json={"method": "cash"})
    assert unpaid.status_code == 409 and unpaid.get_json()["code"] == "payment_wrong_state"
    missing = client.post("/api/v1/window/visits/99999/pay", headers=staff, json={"method": "cash"})
    assert missing.status_code == 404
    unknown = client.post(f"/api/v1/counters/{counter}/call", headers=staff, json={"ticket": "B999"})
    assert unknown.status_code == 404 and unknown.get_json()["code"] == "ticket_not_found"
    with db.read() as s:
        assert s.get(Visit, visit_id).state.value == "called"
        assert s.scalar(sa.select(sa.func.count()).select_from(Payment)) == 0
    # the platform's record differs from the typed VIN: the VIN with a confirmed warning is refused
    confirmed = register(client, staff, visit_id, counter, vin=bad_vin, confirm_vin=True)
    assert confirmed.status_code == 422 and confirmed.get_json()["code"] == "vin_not_platform"


def test_confirmed_vin_warning_is_recorded(client, kiosk, staff, police, db):
    bad_vin = "LSVAU2185N2183294"
    police.set_record("02", "浙A12345", status_codes="A", insurance_until="2027-06-30", vin=bad_vin,
                      fuel="gasoline", use_nature="A", vehicle_type="K33")
    visit_id, counter = called_visit(client, kiosk, staff)
    card = register(client, staff, visit_id, counter, vin=bad_vin, confirm_vin=True).get_json()
    assert card["registration"]["vin_warning_confirmed"] is True
    with db.read() as s:
        entry = s.scalar(sa.select(AuditEntry).where(AuditEntry.action == "visit.registered"))
        assert entry.details["vin_warning_confirmed"] is True


def test_status_that_blocks_the_test_is_explained(client, kiosk, staff, police):
    visit_id, counter = called_visit(client, kiosk, staff, plate="浙A54321")
    refused = register(client, staff, visit_id, counter, plate="浙A54321")
    body = refused.get_json()
    assert refused.status_code == 409 and body["code"] == "vehicle_status_blocks_test"
    assert "须先处理交通违法" in body["message"]


def test_items_due_follow_the_vehicle(client, kiosk, staff, police, gateway):
    visit_id, _counter = called_visit(client, kiosk, staff, plate="浙A88888", plate_type="01")
    # a heavy diesel truck, commercial: safety + diesel emission + grading
    police.set_record("01", "浙A88888", status_codes="Q", insurance_until="2027-01-31",
                      vehicle_type="H11", use_nature="F", fuel="diesel")
    card = client.post(f"/api/v1/window/visits/{visit_id}/register", headers=staff, json={
        "plate_type": "01", "plate": "浙A88888", "vin": VIN}).get_json()
    assert [i["code"] for i in card["due"]["items"]] == ["safety", "emission_diesel", "grading"]
    assert card["due"]["total_fen"] == 35000


def test_manager_voids_with_a_reason_counter_staff_cannot(client, kiosk, staff, police, gateway,
                                                          login, db):
    visit_id, counter = called_visit(client, kiosk, staff)
    register(client, staff, visit_id, counter)
    payment = client.post(f"/api/v1/window/visits/{visit_id}/pay", headers=staff,
                          json={"method": "alipay", "counter_id": counter}).get_json()["payment"]
    denied = client.post(f"/api/v1/window/payments/{payment['id']}/cancel", headers=staff,
                         json={"reason": "车主不检了"})
    assert denied.status_code == 403
    manager = {"X-CSRFToken": login(Role.MANAGER)}
    no_reason = client.post(f"/api/v1/window/payments/{payment['id']}/cancel", headers=manager,
                            json={"reason": ""})
    assert no_reason.status_code == 422
    card = client.post(f"/api/v1/window/payments/{payment['id']}/cancel", headers=manager,
                       json={"reason": "车主不检了", "refund": True}).get_json()
    assert card["state"] == "cancelled" and card["payment"] is None
    assert len(gateway.refunds) == 1
    with db.read() as s:
        entry = s.scalar(sa.select(AuditEntry).where(AuditEntry.action == "payment.refunded"))
        assert entry.details["reason"] == "车主不检了"


def test_declined_payment_records_nothing(client, kiosk, staff, police, gateway, db):
    visit_id, counter = called_visit(client, kiosk, staff)
    register(client, staff, visit_id, counter)
    gateway.faults.decline = "余额不足"
    declined = client.post(f"/api/v1/window/visits/{visit_id}/pay", headers=staff,
                           json={"method": "wechat", "counter_id": counter})
    assert declined.status_code == 409 and "余额不足" in declined.get_json()["message"]
    with db.read() as s:
        assert s.get(Visit, visit_id).state.value == "registered"
        assert s.scalar(sa.select(sa.func.count()).select_from(Payment)) == 0


def test_failed_visit_books_a_free_retest_with_m_stations(client, kiosk, staff, police, gateway,
                                                           db, clock):
    visit_id, counter = called_visit(client, kiosk, staff)
    register(client, staff, visit_id, counter)
    client.post(f"/api/v1/window/visits/{visit_id}/pay", headers=staff,
                json={"method": "cash", "counter_id": counter})
    set_result(db, clock, visit_id, failed={"exhaust": (StationKind.EMISSION_GASOLINE, "CO超标")})
    card = client.get(f"/api/v1/window/visits/{visit_id}", headers=staff).get_json()
    assert card["result"] == "fail" and card["repair_stations"]
    failed = [i for i in card["items"] if i["outcome"] == "fail"]
    assert failed == [{**failed[0], "item_code": "exhaust", "reason": "CO超标"}]
    papers = client.post(f"/api/v1/window/visits/{visit_id}/papers", headers=staff, json={})
    assert papers.status_code == 409 and "复检" in papers.get_json()["message"]
    early = client.post(f"/api/v1/window/visits/{visit_id}/retest", headers=staff, json={})
    assert early.status_code == 409 and early.get_json()["code"] == "retest_keys_not_returned"
    with db.write() as s:  # the keys feature returns the keys
        visits.transition(s, clock, Actor.system("keys"), s.get(Visit, visit_id), "keys_returned")
    body = client.post(f"/api/v1/window/visits/{visit_id}/retest", headers=staff,
                       json={"counter_id": counter}).get_json()
    assert body["state"] == "closed" and body["retest"]["free_until"] == "2026-12-23"
    retest = body["retest_visit"]
    assert (retest["serial"], retest["attempt"], retest["category"], retest["state"]) == (
        body["serial"], 2, "retest", "booked")
    with db.read() as s:
        booking = s.scalar(sa.select(RetestBooking))
        assert booking.repair_stations[0]["name"] == "示范汽车维修M站"
        kinds = [d.kind for d in s.scalars(sa.select(PrintedDocument).order_by(PrintedDocument.id))]
        assert kinds == [DocumentKind.RECEIPT, DocumentKind.RETEST]
        # the retest pays only the emission test, free within the period …
        from station.services import payments
        retest_visit = s.get(Visit, retest["id"])
        due = payments.items_due(s, clock, retest_visit)
        assert [(i.code, i.amount_fen) for i in due.items] == [("emission_transient", 0)]
        # … and at the normal price after it
        clock.advance(days=31)
        due = payments.items_due(s, clock, retest_visit)
        assert [(i.code, i.amount_fen) for i in due.items] == [("emission_transient", 10000)]


def test_a_printer_fault_never_undoes_the_payment(client, kiosk, staff, police, gateway, db, clock):
    from station.devices import DeviceManager
    from station.devices.adapters import default_factories
    from station.printing import PrintWorker

    # the demo station gives every window a receipt printer
    on_stop: list = []
    devices = DeviceManager(db, clock, default_factories(simulate=True, on_stop=on_stop))
    devices.load()
    worker = PrintWorker(db, clock, devices, "http://127.0.0.1")
    try:
        visit_id, counter_id = called_visit(client, kiosk, staff)
        register(client, staff, visit_id, counter_id)
        printers = [stop.__self__ for stop in on_stop
                    if type(stop.__self__).__name__ == "PrinterSimulator"]
        for sim in printers:
            sim.faults = {"paper_out": True}
        paid = client.post(f"/api/v1/window/visits/{visit_id}/pay", headers=staff,
                           json={"method": "cash", "counter_id": counter_id}).get_json()
        assert worker.print_pending_documents() == 0
        card = client.get(f"/api/v1/window/visits/{visit_id}", headers=staff).get_json()
        assert card["documents"][0]["state"] == "failed" and card["documents"][0]["error"]
        assert card["payment"]["receipt_no"] == paid["payment"]["receipt_no"]
        assert card["state"] == "queued_for_lane"
        for sim in printers:
            sim.faults = {}
        devices.tick()
        doc_id = card["documents"][0]["id"]
        again = client.post(f"/api/v1/window/documents/{doc_id}/reprint", headers=staff).get_json()
        assert again["documents"][0]["state"] == "pending"
        clock.advance(minutes=5)
        devices.tick()
        assert worker.print_pending_documents() == 1
        assert any("缴费收据" in t.text for sim in printers for t in sim.tickets)
    finally:
        devices.stop()
        for stop in on_stop:
            stop()


def test_the_print_worker_wakes_for_papers_not_for_every_change(client, kiosk, staff, police,
                                                                gateway, db, clock, monkeypatch):
    """A queued paper (a receipt; a reprint) wakes the worker at once; a call, a registration
    or any other change of a visit prints nothing and leaves it asleep until its poll."""
    import threading
    import time

    from station import printing
    from station.devices import DeviceManager
    from station.devices.adapters import default_factories
    from station.printing import PrintWorker

    monkeypatch.setattr(printing, "POLL_SECONDS", 60.0)  # only a wake-up can run it
    on_stop: list = []
    devices = DeviceManager(db, clock, default_factories(simulate=True, on_stop=on_stop))
    devices.load()
    worker = PrintWorker(db, clock, devices, "http://127.0.0.1")
    runs, ran = [], threading.Event()
    real = worker.print_pending_documents

    def counted() -> int:
        printed = real()
        runs.append(printed)
        ran.set()
        return printed

    worker.print_pending_documents = counted
    worker.start()
    try:
        visit_id, counter_id = called_visit(client, kiosk, staff)
        assert ran.wait(5), "the kiosk's ticket woke it"
        runs.clear()
        ran.clear()
        client.post(f"/api/v1/counters/{counter_id}/park", headers=staff)
        client.post(f"/api/v1/counters/{counter_id}/call", headers=staff,
                    json={"ticket": client.get(f"/api/v1/window/visits/{visit_id}",
                                               headers=staff).get_json()["ticket"]})
        assert register(client, staff, visit_id, counter_id).status_code == 200
        time.sleep(0.3)
        assert runs == [], "a park, a call and a registration print nothing"
        client.post(f"/api/v1/window/visits/{visit_id}/pay", headers=staff,
                    json={"method": "cash", "counter_id": counter_id})
        assert ran.wait(5) and runs == [1], "the receipt is printed at once"
        card = client.get(f"/api/v1/window/visits/{visit_id}", headers=staff).get_json()
        assert card["documents"][0]["state"] == "printed"
        ran.clear()
        doc_id = card["documents"][0]["id"]
        client.post(f"/api/v1/window/documents/{doc_id}/reprint", headers=staff)
        assert ran.wait(5) and runs == [1, 1], "a reprint too"
    finally:
        worker.stop()
        devices.stop()
        for stop in on_stop:
            stop()


def test_demo_seeding_gives_every_window_a_printer(db, clock):
    from station.models import Counter, DeviceKind, HardwareDevice
    from station.printing import counter_printer

    with db.read() as s:
        for counter in s.scalars(sa.select(Counter)):
            printer = counter_printer(s, counter.id)
            assert printer is not None and printer.kind is DeviceKind.TICKET_PRINTER
        assert s.scalar(sa.select(sa.func.count()).select_from(HardwareDevice)
                        .where(HardwareDevice.counter_id.is_not(None),
                               HardwareDevice.kind == DeviceKind.TICKET_PRINTER)) == 4
