"""One whole visit at the counter touchscreen in Chromium: call (shown on the window's LED
simulator), online query, registration, payment with a printed receipt, and later the pick-up
window, where the papers stay held until the insurance is verified."""

from __future__ import annotations

import time
from datetime import date

import pytest

from simulators.payment_gateway import PaymentGatewaySimulator
from simulators.police_platform import PolicePlatformSimulator
from station.devices import DeviceManager
from station.devices.adapters import default_factories
from station.integrations.police_platform import HttpPolicePlatform
from station.models import (
    InspectionItemResult,
    ItemOutcome,
    Role,
    StationKind,
    Visit,
    VisitResult,
)
from station.outputs import CallOutputs
from station.printing import PrintWorker
from station.services import visits
from station.services.actors import Actor
from tests.browser.conftest import screenshot
from tests.conftest import PASSWORD

VIN = "LSVAU218XN2183294"


@pytest.fixture
def station(demo_station):
    return demo_station  # with a receipt printer at every window


@pytest.fixture
def runtime(app, db, clock, station):
    """The devices, the call outputs and the print worker, as ``station serve`` runs them."""
    on_stop: list = []
    devices = DeviceManager(db, clock, default_factories(simulate=True, on_stop=on_stop))
    devices.load()
    outputs = CallOutputs(db, devices).start()
    printer = PrintWorker(db, clock, devices, "http://127.0.0.1").start()
    yield on_stop
    printer.stop()
    outputs.stop()
    devices.stop()
    for stop in on_stop:
        stop()


def _printed(on_stop, title, timeout=15.0):
    """The paper with ``title`` from whichever simulated printer printed it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for stop in on_stop:
            sim = stop.__self__
            if type(sim).__name__ == "PrinterSimulator":
                for paper in sim.tickets:
                    if title in paper.text:
                        return paper
        time.sleep(0.1)
    raise AssertionError(f"nothing titled {title} was printed")


def _simulator(on_stop, type_name, predicate=lambda sim: True):
    return next(stop.__self__ for stop in on_stop
                if type(stop.__self__).__name__ == type_name and predicate(stop.__self__))


def test_a_whole_visit_at_the_counter(app, client, live, page, runtime, station, db, clock,
                                      create_user, tmp_path):
    police = PolicePlatformSimulator().start()
    police.set_record("02", "浙A12345", status_codes="A", inspection_valid_until="2026-12-31",
                      insurance_until=None, vin=VIN, vehicle_type="K33", use_nature="A",
                      fuel="gasoline")
    app.extensions["window.police_query"] = HttpPolicePlatform(police.url, police.token)
    app.extensions["window.payment_gateway"] = PaymentGatewaySimulator()
    try:
        kiosk = {"Authorization": f"Bearer {station.client_tokens['kiosk']}"}
        for plate in ("浙A12345", "浙B22222"):
            client.post("/api/v1/walk-in", headers=kiosk, json={"plate_type": "02", "plate": plate})
        user = create_user(Role.COUNTER, username="counter9")
        page.goto(live.url + "/login")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.goto(live.url + "/window/")
        page.click("text=1号窗口")
        page.wait_for_selector("#queue tr >> text=B001")
        assert "现场排队" in page.inner_text("#queue")

        # call: the number on screen, on the window's LED display
        page.click("#btn-next")
        page.wait_for_selector("#current-ticket >> text=B001")
        assert "请B001号到1号窗口办理" in page.inner_text("#msg")
        led = _simulator(runtime, "TcpLink", lambda link: link.simulator.addresses == [1])
        assert led.simulator.wait_for(1, "B001号 请到1号窗口", timeout=10) is not None

        # the online query explains the finding; no insurance: the agency service is offered
        page.wait_for_selector("#visit-panel:not([hidden])")
        page.click("#btn-query")
        page.wait_for_selector("#query-result:not([hidden])")
        assert "可以检验" in page.inner_text("#query-result")
        assert "未查到有效交强险" in page.inner_text("#query-result")
        page.check("input[name=insurance_agency]")
        page.fill("input[name=vin]", VIN)
        page.click("#btn-register")
        page.wait_for_selector("#pay-panel:not([hidden])")
        assert page.inner_text("#due-total") == "200.00元"
        screenshot(page, tmp_path, "window_counter")

        # one payment; the receipt prints on the counter printer
        page.select_option("#pay-method", "cash")
        page.click("#btn-pay")
        page.wait_for_selector("#paid-panel >> text=已收费")
        assert "合计：200.00元" in _printed(runtime, "缴费收据").text
        with db.read() as s:
            visit_id = s.query(Visit).join(Visit.vehicle).filter_by(plate="浙A12345").one().id
            assert s.get(Visit, visit_id).state.value == "queued_for_lane"

        # the lanes test the car (written directly here, as the lane terminal would)
        with db.write() as s:
            visit = s.get(Visit, visit_id)
            visits.transition(s, clock, Actor.system("lane"), visit, "on_lane")
            s.add(InspectionItemResult(visit_id=visit_id, group=StationKind.INSTRUMENT,
                                       item_code="brake", item_name_zh="行车制动",
                                       item_name_en="Service brake", outcome=ItemOutcome.PASS,
                                       at=clock.now()))
            visit.result, visit.result_at = VisitResult.PASS, clock.now()
            visits.transition(s, clock, Actor.system("lane"), visit, "tested")

        # pick-up: the papers are held until the insurance is verified
        page.click(".win-tabs .tab[data-tab=pickup]")
        page.fill("#pickup-q", "B001")
        page.click("#btn-find")
        page.wait_for_selector("#pk-result >> text=合格")
        assert "交强险未核实" in page.inner_text("#pk-blockers")
        assert page.is_disabled("#btn-papers")
        page.click("#btn-verify")
        page.wait_for_selector("#msg >> text=仍未查到有效交强险")
        police.set_record("02", "浙A12345", status_codes="A", insurance_until=date(2027, 11, 30),
                          vin=VIN)
        page.click("#btn-verify")
        page.wait_for_selector("#pk-insurance >> text=交强险已核实")
        assert page.is_enabled("#btn-papers")
        page.click("#btn-papers")
        page.wait_for_selector("#pk-state >> text=已出证")
        assert "行车制动：合格" in _printed(runtime, "检验报告").text
        page.wait_for_selector("#pk-docs >> text=检验报告：已打印", timeout=10000)
        # the owner rates the visit on the window's screen
        page.click("#pk-levels button[data-level=very_satisfied]")
        page.wait_for_selector("#pk-rated >> text=✓ 非常满意")
        # the card refreshes (its documents' print states): the thanks stay, no second rating
        page.evaluate("document.getElementById('pk-title').textContent = ''")
        page.click("#btn-find")
        page.wait_for_function("document.getElementById('pk-title').textContent !== ''")
        assert page.inner_text("#pk-rated") == "✓ 非常满意"
        assert page.query_selector_all("#pk-levels button") == []
        with db.read() as s:
            from station.models.feedback import Rating, RatingChannel

            rating = s.query(Rating).filter_by(visit_id=visit_id).one()
            assert rating.channel is RatingChannel.PICKUP_WINDOW
        screenshot(page, tmp_path, "window_pickup")
    finally:
        police.stop()
