"""The technician's daily check of the opacity meter, through the real driver against the
simulator over a pty: zero, then each neutral-density filter; errors against the nominal value;
far-off readings, a meter stuck in warm-up or silent are refused with clear errors, and nothing
is recorded that was not measured."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from simulators.smoke_meter import Faults
from station.models import OpenState, Role
from station.models.instrument import DailyCheck, DailyCheckPoint
from station.services import instruments
from tests.station.instruments_support import diesel_station, meter_on_pty, opacity_meter, simulator

JSON = {"Accept": "application/json"}


@pytest.fixture
def tech(app, client, db, clock, demo_station, login):
    clock.advance(days=1)  # a new station day: today's daily check is still to do
    with db.write() as s:
        instruments.evaluate(s, clock)
        meter_id = opacity_meter(s).id
    headers = {"X-CSRFToken": login(Role.TECHNICIAN), **JSON}
    base = f"/technician/instruments/{meter_id}/daily-check"

    def post(path, **body):
        return client.post(base + path, json=body, headers=headers)

    return post, meter_id


def test_daily_check_through_the_driver_passes_and_reopens_the_station(app, db, clock, tech):
    post, _meter_id = tech
    sim = simulator()
    with db.read() as s:
        assert diesel_station(s).state is OpenState.BLOCKED
    with meter_on_pty(app, db, clock, sim):
        assert post("/start").status_code == 200
        r = post("/filter", nominal=30.0)
        assert r.status_code == 409 and r.json["code"] == "zero_first"
        r = post("/zero")
        assert r.status_code == 200, r.json
        assert abs(r.json["zero_n_pct"]) <= 0.5  # the simulator's 0.8 % drift is zeroed
        sim.insert_filter(30.4)
        r = post("/filter", nominal=30.0)
        assert r.status_code == 200, r.json
        assert r.json["last"]["passed"] and abs(r.json["last"]["measured"] - 30.4) < 0.5
        r = post("/finish")
        assert r.status_code == 409 and r.json["code"] == "daily_check_incomplete"
        sim.insert_filter(45.0)  # the wrong filter in the beam: far off the nominal 60 %
        r = post("/filter", nominal=60.0)
        assert r.status_code == 422 and r.json["code"] == "filter_reading_far_off"
        assert "滤光片" in r.json["message_zh"] and "filter" in r.json["message_en"]
        sim.insert_filter(59.2)
        r = post("/filter", nominal=60.0)
        assert r.status_code == 200 and r.json["last"]["passed"]
        sim.remove_filter()
        r = post("/finish")
        assert r.status_code == 201 and r.json["passed"] is True
    with db.read() as s:
        check = s.get(DailyCheck, r.json["id"])
        assert check.method == "driver" and check.day == clock.today() and check.passed
        points = list(s.scalars(sa.select(DailyCheckPoint).where(DailyCheckPoint.check_id == check.id)
                                .order_by(DailyCheckPoint.position)))
        assert [p.nominal_n_pct for p in points] == [30.0, 60.0]  # the refused one is not there
        assert abs(points[0].measured_n_pct - 30.4) < 0.5
        assert points[0].error_pct == pytest.approx(points[0].measured_n_pct - 30.0, abs=0.01)
        assert opacity_meter(s).usable
        assert diesel_station(s).state is OpenState.OPEN


def test_a_filter_out_of_tolerance_fails_the_check(app, db, clock, tech):
    post, _meter_id = tech
    sim = simulator()
    with meter_on_pty(app, db, clock, sim):
        post("/start")
        assert post("/zero").status_code == 200
        sim.insert_filter(33.5)  # 3.5 % off: beyond ±2 %, not far off
        r = post("/filter", nominal=30.0)
        assert r.status_code == 200 and not r.json["last"]["passed"]
        sim.insert_filter(60.5)
        post("/filter", nominal=60.0)
        r = post("/finish")
        assert r.status_code == 201 and r.json["passed"] is False
    with db.read() as s:
        verdict = instruments.usability(s, clock, opacity_meter(s))
        assert [p.code for p in verdict.problems] == ["daily_check_failed"]
        assert diesel_station(s).state is OpenState.BLOCKED
        assert "日常检查未通过" in diesel_station(s).state_reason


def test_a_meter_that_never_leaves_warm_up_cannot_be_zeroed(app, db, clock, tech):
    post, _ = tech
    sim = simulator(faults=Faults.parse("stuck_warmup"))
    with meter_on_pty(app, db, clock, sim):
        assert post("/start").status_code == 200
        r = post("/zero")
        assert r.status_code == 409 and r.json["code"] == "meter_warming_up"
        assert "预热" in r.json["message_zh"]
        r = post("/finish")
        assert r.status_code == 409
    with db.read() as s:
        assert s.scalar(sa.select(sa.func.count()).select_from(DailyCheck)
                        .where(DailyCheck.day == clock.today())) == 0


def test_a_silent_meter_is_a_clear_error_and_goes_offline(app, client, db, clock, tech):
    post, _ = tech
    sim = simulator()
    with meter_on_pty(app, db, clock, sim) as manager:
        post("/start")
        sim.set_faults("no_answer")
        r = post("/zero")
        assert r.status_code == 409 and r.json["code"] == "meter_unavailable"
        assert "烟度计" in r.json["message_zh"]
        st = next(x for x in manager.statuses() if x.kind.value == "smoke_meter")
        assert st.state.value == "retrying"
        # the device page says so in words, the kind too (not "smoke_meter")
        page = client.get("/technician/devices").get_data(as_text=True)
        assert "<td>不透光烟度计</td>" in page and "smoke_meter" not in page
        r = post("/zero")  # the device is now offline: refused at once by the device layer
        assert r.status_code == 409 and r.json["code"] == "device_unavailable"


def test_opacity_meter_checks_cannot_be_entered_by_hand(app, client, db, clock, tech, login):
    _post, meter_id = tech
    r = client.post(f"/technician/instruments/{meter_id}/daily-check/manual",
                    json={"passed": "1"}, headers={"X-CSRFToken": login(Role.TECHNICIAN), **JSON})
    assert r.status_code == 422 and r.json["code"] == "measured_check_required"


def test_no_devices_in_this_process_is_a_clear_error(tech):
    post, _ = tech
    r = post("/start")
    assert r.status_code == 409 and r.json["code"] == "devices_not_running"


def test_technician_pages_and_roles(app, client, db, clock, tech, login):
    _, meter_id = tech
    assert client.get("/technician/").status_code == 200
    page = client.get(f"/technician/instruments/{meter_id}").get_data(as_text=True)
    assert "今日日常检查" in page and "清洁空气调零" in page
    assert client.get("/technician/devices").status_code == 200
    login(Role.COUNTER)
    assert client.get("/technician/", headers=JSON).status_code == 403


def test_certificate_upload_is_stored_under_the_instance_path(app, client, db, clock, tech, login,
                                                              config):
    _, meter_id = tech
    headers = {"X-CSRFToken": login(Role.TECHNICIAN), **JSON}
    today = clock.today()
    form = {"certificate_no": "JD2026-7788", "verifying_body": "省计量院",
            "verified_on": today.isoformat(),
            "valid_until": (today + timedelta(days=364)).isoformat(), "conclusion": "qualified"}
    import io

    bad = client.post(f"/technician/instruments/{meter_id}/verifications", headers=headers,
                      data={**form, "valid_until": (today - timedelta(days=1)).isoformat(),
                            "certificate": (io.BytesIO(b"%PDF-1.4 scan"), "cert.pdf")},
                      content_type="multipart/form-data")
    assert bad.status_code == 422 and bad.json["code"] == "valid_until_before_verified"
    wrong = client.post(f"/technician/instruments/{meter_id}/verifications", headers=headers,
                        data={**form, "certificate": (io.BytesIO(b"MZ not a pdf"), "cert.pdf")},
                        content_type="multipart/form-data")
    assert wrong.status_code == 422 and wrong.json["code"] == "certificate_type_invalid"
    ok = client.post(f"/technician/instruments/{meter_id}/verifications", headers=headers,
                     data={**form, "certificate": (io.BytesIO(b"%PDF-1.4 scan"), "cert.pdf")},
                     content_type="multipart/form-data")
    assert ok.status_code == 201, ok.json
    files = list((config.instance_path / "certificates").iterdir())
    assert len(files) == 1 and files[0].read_bytes() == b"%PDF-1.4 scan"
    got = client.get(f"/technician/verifications/{ok.json['id']}/certificate")
    assert got.status_code == 200 and got.data == b"%PDF-1.4 scan"
