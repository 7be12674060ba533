"""The inspector's free-acceleration test at a diesel station, through the device layer and the
real driver against the simulator over a pty: refused while the meter is blocked (audited),
guided purge → measure, live readings for the chart, the result as an inspection item with its
1 Hz process data; a meter going silent aborts without a result."""

from __future__ import annotations

import time
from decimal import ROUND_HALF_EVEN, Decimal

import pytest
import sqlalchemy as sa

from station.domain.vehicle_codes import Fuel
from station.models import AuditEntry, InspectionItemResult, Role, StationKind
from station.models.instrument import EmissionTestRecord
from station.services import instruments, settings
from tests.station.instruments_support import (
    SYS,
    diesel_station,
    diesel_visit_on_lane,
    meter_on_pty,
    simulator,
)

JSON = {"Accept": "application/json"}


@pytest.fixture
def inspector(app, client, db, clock, demo_station, login):
    with db.write() as s:
        settings.put(s, clock, SYS, "emission.poll_hz", 20.0)
        station_id = diesel_station(s).id
        visit_id = diesel_visit_on_lane(s, clock)
    headers = {"X-CSRFToken": login(Role.INSPECTOR), **JSON}
    base = f"/emission/station/{station_id}"

    def post(path, **body):
        return client.post(base + path, json=body, headers=headers)

    def live(after=0):
        return client.get(f"{base}/live?after={after}", headers=JSON).json

    return post, live, visit_id, station_id


def drive_test(post, live, sim, *, timeout=90.0):
    """Press the pedal whenever the screen asks for a free acceleration; return the last
    snapshot and the reading counts seen per second of polling."""
    deadline = time.monotonic() + timeout
    pressed_for = None
    while time.monotonic() < deadline:
        snap = live()
        if snap["finished"]:
            return snap
        key = (snap["prompt"]["code"], snap["purge_count"], len(snap["measured"]))
        if snap["prompt"]["code"] in ("purge", "measure", "purge_repeat") and key != pressed_for:
            sim.free_acceleration()
            pressed_for = key
        time.sleep(0.1)
    raise AssertionError(f"the test did not finish: {live()}")


def test_a_full_test_is_guided_live_and_recorded(app, db, clock, inspector):
    post, live, visit_id, station_id = inspector
    sim = simulator(profile="clean", time_scale=4.0)
    with meter_on_pty(app, db, clock, sim):
        r = post("/start", visit_id=visit_id)
        assert r.status_code == 201, r.json
        assert r.json["step"] == "zero_check" and "零点" in r.json["prompt"]["zh"]
        assert post("/start", visit_id=visit_id).json["code"] == "test_running"
        # live: readings keep arriving for the chart, ≥ 2 updates per second
        first = live()
        time.sleep(1.0)
        second = live(first["seq"])
        assert len(second["readings"]) >= 9 and second["seq"] > first["seq"]
        assert all({"t", "n", "k", "rpm"} <= set(x) for x in second["readings"])
        r = post("/zero")
        assert r.status_code == 200, r.json
        snap = live(10**9)
        assert snap["step"] == "purge" and snap["prompt"]["code"] == "purge"
        done = drive_test(post, live, sim)
    assert done["step"] == "complete" and done["result"]["valid"], done
    assert done["purge_count"] >= 3 and len(done["result"]["peaks_k_m1"]) == 3
    peaks = [Decimal(p) for p in done["result"]["peaks_k_m1"]]
    mean = (sum(peaks) / 3).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
    assert done["result"]["mean_k_m1"] == str(mean)
    # peaks found in the stream are close to the simulated engine's true peaks
    for found, true in zip(peaks, sim.completed_peaks[-3:], strict=True):
        assert float(found) == pytest.approx(true, abs=0.08)
    with db.read() as s:
        record = s.get(EmissionTestRecord, done["record_id"])
        assert record.outcome == "pass" and record.mean_k_m1 == str(mean)
        assert record.limit_name == "gb3847_2018_a" and "GB 3847-2018" in record.limit_source
        item = s.get(InspectionItemResult, record.item_result_id)
        assert item.group is StationKind.EMISSION_DIESEL and item.visit_id == visit_id
        assert item.outcome.value == "pass" and item.measured == f"k={mean} m⁻¹"
        assert item.station_id == station_id
        # 1 Hz process data from the first purge on, consecutive seconds
        seconds = [row[0] for row in record.process_data]
        assert seconds == list(range(len(seconds))) and len(seconds) >= 5
        assert {row[5] for row in record.process_data} >= {"purge", "measure"}


def test_a_smoky_engine_fails_with_the_limit_and_its_source(app, db, clock, inspector):
    post, live, visit_id, _ = inspector
    sim = simulator(profile="failing", time_scale=4.0)
    with meter_on_pty(app, db, clock, sim):
        assert post("/start", visit_id=visit_id).status_code == 201
        assert post("/zero").status_code == 200
        done = drive_test(post, live, sim)
    assert done["result"]["valid"] and done["result"]["passed"] is False
    with db.read() as s:
        item = s.scalars(sa.select(InspectionItemResult)).one()
        assert item.outcome.value == "fail" and "限值a 1.2" in item.reason


def test_a_blocked_meter_refuses_to_start_and_the_attempt_is_audited(app, db, clock, inspector):
    post, live, visit_id, _ = inspector
    clock.advance(days=1)  # no daily check today
    with db.write() as s:
        instruments.evaluate(s, clock)
    with meter_on_pty(app, db, clock, simulator()):
        r = post("/start", visit_id=visit_id)
        assert r.status_code == 409 and r.json["code"] == "instrument_blocked"
        assert "今日未做日常检查" in r.json["message_zh"]
        assert live()["step"] is None  # nothing runs
    with db.read() as s:
        refused = s.scalar(sa.select(AuditEntry).where(AuditEntry.action == "instrument.use_refused"))
        assert refused is not None and refused.details["purpose"] == "free_acceleration"
        assert s.scalar(sa.select(sa.func.count()).select_from(EmissionTestRecord)) == 0


def test_a_meter_going_silent_mid_test_aborts_without_a_result(app, db, clock, inspector):
    post, live, visit_id, _ = inspector
    sim = simulator(time_scale=4.0)
    with meter_on_pty(app, db, clock, sim):
        assert post("/start", visit_id=visit_id).status_code == 201
        assert post("/zero").status_code == 200
        sim.free_acceleration()
        time.sleep(0.5)
        sim.set_faults("silent_after=3")
        deadline = time.monotonic() + 10
        while not live()["finished"] and time.monotonic() < deadline:
            time.sleep(0.1)
        snap = live()
    assert snap["finished"] and snap["step"] == "aborted" and "无响应" in snap["prompt"]["zh"]
    with db.read() as s:
        record = s.get(EmissionTestRecord, snap["record_id"])
        assert record.outcome == "aborted" and record.item_result_id is None
        assert record.process_data  # what was measured is kept
        assert s.scalar(sa.select(sa.func.count()).select_from(InspectionItemResult)) == 0


def test_bad_starts_are_refused(app, db, clock, inspector):
    post, _live, _visit_id, _station_id = inspector
    with db.write() as s:
        petrol = diesel_visit_on_lane(s, clock, fuel=Fuel.GASOLINE)
    with meter_on_pty(app, db, clock, simulator()):
        assert post("/start", visit_id=petrol).json["code"] == "not_diesel"
        assert post("/start").json["code"] == "visit_required"
        assert post("/zero").json["code"] == "no_test"


def test_the_page_has_the_live_chart_and_the_waiting_cars(app, client, db, inspector):
    _, _, visit_id, station_id = inspector
    page = client.get(f"/emission/station/{station_id}").get_data(as_text=True)
    assert "/vendor/chart.umd.min.js" in page and 'id="chart"' in page
    assert f'value="{visit_id}"' in page
    vendor = client.get("/vendor/chart.umd.min.js")
    assert vendor.status_code == 200 and b"Chart" in vendor.data[:5000]
