"""The manager's what-if screen (仿真推演): who may use it, what the form refuses, the numbers
taken from the station's bookings, a real run in the background with its report, and the
refusals of a second run and of names that are not a listed report."""

from __future__ import annotations

import io
import json
import re
import time as clock_time
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from station.errors import ValidationError
from station.models import Channel, Role
from station.services import appointments
from station.services.actors import Actor
from station.simulation import runs
from station.simulation.profile import Closure, CounterHours, DayProfile
from station.web.simulation import EXTENSION, form_from_profile, request_from_form

pytestmark = pytest.mark.sqlite_only  # the simulator works on its own SQLite copies

PAGE = "/manager/simulation"
ZONE = ZoneInfo("Asia/Shanghai")
ACTOR = Actor.system("test")


def _form(token: str, **changes: str) -> dict[str, str]:
    """A valid what-if: 12 vehicles, one seed, our policy, windows 1–2, lane 3 closed at noon."""
    data = {"csrf_token": token, "base_profile": "", "vehicles": "12", "booked_pct": "50",
            "seeds": "1", "runners": "4", "policy": "priority",
            "counter_1": "1", "counter_1_from": "08:30", "counter_1_to": "17:30",
            "counter_2": "1", "counter_2_from": "09:00", "counter_2_to": "17:30",
            "counter_3_from": "08:30", "counter_3_to": "17:30",
            "counter_4_from": "08:30", "counter_4_to": "17:30",
            "closure_0_where": "3", "closure_0_from": "12:00", "closure_0_to": "13:00",
            "closure_1_where": "", "closure_1_from": "", "closure_1_to": ""}
    data.update(changes)
    return data


def _runs(app) -> runs.SimulationRuns:
    return app.extensions[EXTENSION]


# -- access ------------------------------------------------------------------------------------

def test_only_managers_reach_the_screen(client, login, app):
    anonymous = client.get(PAGE)
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    token = login(Role.COUNTER)
    for path in (PAGE, f"{PAGE}/status", f"{PAGE}/reports/20261123-090000-1.html"):
        assert client.get(path).status_code == 403, path
    assert client.post(f"{PAGE}/start", data=_form(token)).status_code == 403
    assert _runs(app).status().state is runs.RunState.IDLE
    assert "仿真推演" not in client.get("/staff/").get_data(as_text=True)


def test_the_manager_sees_the_form_with_the_demo_windows_and_lanes(client, login):
    login(Role.MANAGER)
    html = client.get(PAGE).get_data(as_text=True)
    assert f'href="{PAGE}"' in html, "the nav links the screen"
    for n in (1, 2, 3, 4):
        assert f'name="counter_{n}" value="1" checked' in html, "every window staffed by default"
    assert '<option value="3:4">' in html, "a station of lane 3 can be closed"
    assert 'name="vehicles" min="1" max="600" step="1" required value="300"' in html
    assert "还没有推演记录" in html and "当前没有推演在运行" in html


# -- validation --------------------------------------------------------------------------------

def test_bad_input_shows_the_form_again_in_chinese_and_english(client, login, app):
    token = login(Role.MANAGER)
    bad = _form(token, vehicles="abc", seeds="11", counter_2_from="9点",
                closure_0_from="13:00", closure_0_to="12:00")
    zh = client.post(f"{PAGE}/start", data=bad)
    assert zh.status_code == 422
    html = zh.get_data(as_text=True)
    assert "车辆数应为 1 到 600 之间的整数" in html and "随机种子数应为 1 到 10 之间的整数" in html
    assert "2 号窗口：请填写开始和结束时间（时:分）" in html
    assert "Vehicles: a whole number from 1 to 600" in html, "the English under the Chinese"
    assert 'value="abc"' in html, "what was typed is shown again"
    en = client.post(f"{PAGE}/start?lang=en", data=bad).get_data(as_text=True)
    assert "Vehicles: a whole number from 1 to 600" in en and "Seeds: a whole number" in en
    assert "车辆数应为" not in en
    # well-formed, but not something the simulated station can do
    wrong = client.post(f"{PAGE}/start?lang=zh", data=_form(token, closure_0_from="13:00",
                                                     closure_0_to="12:00", counter_2_from="07:00"))
    assert wrong.status_code == 422
    html = wrong.get_data(as_text=True)
    assert "3 号线停用：开始时间应早于结束时间" in html
    assert "2 号窗口：应在营业时间 08:30–17:30之内" in html
    nobody = client.post(f"{PAGE}/start?lang=en", data=_form(token, counter_1="", counter_2=""))
    assert nobody.status_code == 422 and "Staff at least one window" in nobody.get_data(as_text=True)
    too_many = {f"closure_{i}_{part}": value for i in range(runs.MAX_CLOSURES + 1)
                for part, value in (("where", "3"), ("from", "12:00"), ("to", "13:00"))}
    many = client.post(f"{PAGE}/start?lang=en", data=_form(token, **too_many))
    assert many.status_code == 422 and "At most 20 closures" in many.get_data(as_text=True)
    assert _runs(app).status().state is runs.RunState.IDLE, "nothing started"
    assert not list(_runs(app).folder.glob("*.html"))


def test_a_day_profile_file_fills_the_form(client, login):
    token = login(Role.MANAGER)
    profile = DayProfile(vehicles=120, booked_share=0.75, runners=6, hourly={8: 2.0, 9: 1.0},
                         counters=(CounterHours(1, time(8, 30), time(17, 30)),
                                   CounterHours(4, time(9, 0), time(12, 0))),
                         closures=(Closure(2, time(10, 0), time(11, 0), 4, "烟度计检定"),))
    upload = {"csrf_token": token, "seeds": "2", "policy": "fifo",
              "profile_file": (io.BytesIO(json.dumps(profile.as_dict()).encode()), "day.json")}
    response = client.post(f"{PAGE}/profile", data=upload, content_type="multipart/form-data")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "已载入日客流画像 day.json" in html
    assert 'value="120"' in html and 'value="75"' in html and 'value="6"' in html
    assert 'name="counter_4" value="1" checked' in html
    assert 'name="counter_2" value="1" checked' not in html
    assert 'value="2:4" selected' in html and 'value="烟度计检定"' in html
    assert '<option value="fifo" selected>' in html, "seeds and policy stay as chosen"
    bad_json = client.post(f"{PAGE}/profile", content_type="multipart/form-data", data={
        "csrf_token": token, "profile_file": (io.BytesIO(b"{not json"), "day.json")})
    assert bad_json.status_code == 422 and "日客流画像无效" in bad_json.get_data(as_text=True)
    unknown = client.post(f"{PAGE}/profile?lang=en", content_type="multipart/form-data", data={
        "csrf_token": token, "profile_file": (io.BytesIO(b'{"vehicles": 10, "lanes": 9}'), "x.json")})
    assert unknown.status_code == 422
    assert "unknown day profile keys: [&#39;lanes&#39;]" in unknown.get_data(as_text=True)
    lane7 = dict(profile.as_dict(), closures=[{"lane": 7, "start": "10:00", "end": "11:00"}])
    refused = client.post(f"{PAGE}/profile?lang=zh", content_type="multipart/form-data", data={
        "csrf_token": token, "profile_file": (io.BytesIO(json.dumps(lane7).encode()), "x.json")})
    assert refused.status_code == 422 and "示范站没有 7 号线" in refused.get_data(as_text=True)
    for bad, said in ((dict(profile.as_dict(), desk_minutes=["fixed", float("nan")]), "日客流画像无效"),
                      (dict(profile.as_dict(), hourly={"8": float("inf")}), "日客流画像无效"),
                      (dict(profile.as_dict(), vehicles=float("inf")), "车辆数应为")):
        answer = client.post(f"{PAGE}/profile", content_type="multipart/form-data", data={
            "csrf_token": token, "profile_file": (io.BytesIO(json.dumps(bad).encode()), "x.json")})
        assert answer.status_code == 422 and said in answer.get_data(as_text=True)
    missing = client.post(f"{PAGE}/profile", data={"csrf_token": token},
                          content_type="multipart/form-data")
    assert missing.status_code == 422 and "请选择日客流画像文件" in missing.get_data(as_text=True)


def test_the_form_carries_a_profile_unchanged():
    """What the form shows of a profile is what it runs: nothing is lost on the way."""
    station = runs.simulated_station()
    profile = DayProfile(vehicles=80, booked_share=0.35, runners=2, late_share=0.3,
                         counters=(CounterHours(2, time(8, 30), time(12, 0)),
                                   CounterHours(3, time(12, 0), time(17, 30))),
                         closures=(Closure(1, time(9, 0), time(10, 30)),
                                   Closure(3, time(14, 0), time(15, 0), 5, "检修")))
    values = form_from_profile(profile, station, seeds="4", policy="fifo")
    run = request_from_form(values, station)
    assert run.profile == profile and run.seeds == 4 and run.policies == ("fifo",)
    every_window = form_from_profile(DayProfile(), station)
    assert request_from_form(every_window, station).profile.counters is None


def test_check_refuses_what_the_simulated_station_cannot_do():
    station = runs.simulated_station()
    assert station.counters == (1, 2, 3, 4) and [lane.number for lane in station.lanes] == [1, 2, 3]
    with pytest.raises(ValidationError) as err:
        runs.check(runs.RunRequest(DayProfile(
            vehicles=900, counters=(CounterHours(5, time(9), time(10)),),
            closures=(Closure(1, time(9), time(10), 9),)), seeds=0, policies=("lottery",)), station)
    message = err.value.message_en
    for part in ("Seeds must be from 1 to 10", "Unknown queue policy", "Vehicles must be from 1 to 600",
                 "no window 5", "Lane 1 has no station 9"):
        assert part in message, part
    many = tuple(Closure(1, time(9), time(10)) for _ in range(runs.MAX_CLOSURES + 1))
    with pytest.raises(ValidationError, match="At most 20 closures"):
        runs.check(runs.RunRequest(DayProfile(closures=many)), station)
    runs.check(runs.RunRequest(DayProfile(vehicles=12), seeds=1), station)  # a good one passes


# -- numbers from the station's bookings -------------------------------------------------------

def _walk_ins(db, clock, at: datetime, count: int, prefix: str) -> None:
    clock.set(at)
    with db.write() as s:
        for n in range(count):
            appointments.walk_in(s, clock, ACTOR, plate_type="02", plate=f"浙{prefix}{n:04d}")


def test_the_numbers_come_from_the_bookings_and_recent_walk_ins(client, login, db, clock,
                                                                demo_station):
    start = clock.now()
    tuesday = date(2026, 11, 24)

    def book(plate: str, day: date, at: time) -> appointments.Appointment:
        with db.write() as s:
            return appointments.book(s, clock, ACTOR, appointments.BookingRequest(
                plate_type="02", plate=plate, contact_name="张", phone=f"1381234{plate[-4:]}",
                day=day, starts_at=at, channel=Channel.WEB))

    # walk-ins on four working days of the last four weeks: 4, 1, 2 and none (a booked car)
    _walk_ins(db, clock, datetime(2026, 11, 16, 10, tzinfo=ZONE), 4, "B1")
    _walk_ins(db, clock, datetime(2026, 11, 17, 10, tzinfo=ZONE), 1, "B2")
    _walk_ins(db, clock, datetime(2026, 11, 18, 10, tzinfo=ZONE), 2, "B3")
    clock.set(datetime(2026, 11, 18, 12, tzinfo=ZONE))
    booked = book("浙C10001", date(2026, 11, 19), time(10, 0))
    clock.set(booked.slot_start)
    with db.write() as s:
        appointments.check_in(s, clock, ACTOR, code=booked.code)
    # not counted: long ago, and today (a day not over)
    _walk_ins(db, clock, datetime(2026, 10, 1, 10, tzinfo=ZONE), 9, "B4")
    _walk_ins(db, clock, start - timedelta(minutes=10), 5, "B5")
    clock.set(start)
    # tomorrow: three bookings, one of them cancelled
    for n, at in enumerate((time(9), time(10), time(11))):
        b = book(f"浙D1000{n}", tuesday, at)
    with db.write() as s:
        appointments.cancel(s, clock, ACTOR, appointments.get(s, b.id), by_owner=False, reason="改期")

    with db.read() as s:
        basis = runs.basis_from_bookings(s, clock, tuesday)
    assert (basis.booked, basis.history_days) == (2, 4)
    assert basis.walk_ins_per_day == pytest.approx(7 / 4)
    assert (basis.vehicles, basis.booked_share) == (4, 0.5)

    token = login(Role.MANAGER)
    response = client.post(f"{PAGE}/bookings", data=_form(token, bookings_day="2026-11-24"))
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'name="vehicles" min="1" max="600" step="1" required value="4"' in html
    assert 'name="booked_pct" min="0" max="100" step="any" required value="50"' in html
    assert "2026-11-24 预约 2 辆；现场车辆取前 28 天中有到站记录的 4 天的日均 1.8 辆" in html
    empty = client.post(f"{PAGE}/bookings?lang=en", data=_form(token, bookings_day="2026-09-01"))
    assert empty.status_code == 422 and "nothing to take the numbers from" in empty.get_data(as_text=True)
    no_day = client.post(f"{PAGE}/bookings?lang=zh", data=_form(token, bookings_day="明天"))
    assert no_day.status_code == 422 and "请选择取数日期" in no_day.get_data(as_text=True)


# -- a real run ----------------------------------------------------------------------------------

def test_a_run_goes_in_the_background_and_leaves_its_report(client, login, app):
    token = login(Role.MANAGER)
    began = clock_time.monotonic()
    started = client.post(f"{PAGE}/start", data=_form(token))
    assert started.status_code == 302, started.get_data(as_text=True)
    # a second start while the first runs is refused, and says why
    again = client.post(f"{PAGE}/start", data=_form(token))
    assert again.status_code == 409
    assert "已有一次仿真推演在运行" in again.get_data(as_text=True)
    running = client.get(f"{PAGE}/status").get_json()
    assert running["state"] == "running" and running["total"] == 1
    assert running["vehicles"] == 12 and running["policies"] == ["priority"]
    assert 'id="run-progress"' in client.get(PAGE).get_data(as_text=True)

    status = _runs(app).wait(timeout=60)
    assert status.state is runs.RunState.FINISHED, status.error
    assert clock_time.monotonic() - began < 30
    done = client.get(f"{PAGE}/status").get_json()
    assert (done["state"], done["done"], done["total"]) == ("finished", 1, 1)
    name = done["report"]
    assert re.fullmatch(r"20261123-090000-1\.html", name), "local start time and run number"

    record = json.loads((_runs(app).folder / name.replace(".html", ".json")).read_text())
    assert record["vehicles"] == 12 and record["seeds"] == 1 and record["started_by"] == "测试员"
    assert record["profile"]["closures"][0]["lane"] == 3
    assert record["profile"]["counters"] == [{"number": 1, "start": "08:30", "end": "17:30"},
                                             {"number": 2, "start": "09:00", "end": "17:30"}]
    figures = record["headline"]["priority"]
    assert set(figures) == {"booked_wait", "walk_in_wait", "throughput_share"}
    assert 0 < figures["throughput_share"][0] < 1
    assert "fifo" not in record["headline"]

    html = client.get(PAGE).get_data(as_text=True)
    row = re.search(rf'<tr data-name="{re.escape(name)}">(.*?)</tr>', html, re.S).group(1)
    assert "测试员" in row and ">12<" in row and "未推演" in row, "FIFO was not run"
    for key in ("booked_wait", "walk_in_wait"):
        mean = figures[key][0]
        cell = re.search(rf'data-figure="priority\.{key}">(.*?)</td>', row, re.S).group(1)
        assert cell.startswith(f"{mean:.1f}" if mean is not None else "—"), (key, cell)
    share = re.search(r'data-figure="priority\.throughput_share">(.*?)</td>', row, re.S).group(1)
    assert share.startswith(f"{figures['throughput_share'][0] * 100:.1f}%")
    assert "上次推演已完成" in html

    report = client.get(f"{PAGE}/reports/{name}")
    assert report.status_code == 200 and report.mimetype == "text/html"
    page = report.get_data(as_text=True)
    assert page.count("<canvas") == 3 and "new Chart(" in page
    profile = client.get(f"{PAGE}/reports/{name}/profile.json")
    assert profile.status_code == 200
    assert DayProfile.from_dict(profile.get_json()).vehicles == 12

    # only listed reports are served
    for bad in ("nope.html", name.replace(".html", ".json"), "20261123-090000-9.html",
                "..%2Fsecret_key", ".run.lock"):
        assert client.get(f"{PAGE}/reports/{bad}").status_code == 404, bad
    assert client.get(f"{PAGE}/reports/nope.html/profile.json").status_code == 404


def test_a_failed_run_says_why_and_leaves_no_report(tmp_path, clock):
    """The station copy refuses a window it does not have (the form would not let this
    through): the run fails with the simulator's own message."""
    store = runs.SimulationRuns(tmp_path / "simulations", clock)
    profile = DayProfile(vehicles=5, counters=(CounterHours(9, time(9), time(10)),))
    store.start(runs.RunRequest(profile, seeds=1, policies=("fifo",)), "王站长")
    status = store.wait(timeout=60)
    assert status.state is runs.RunState.FAILED
    assert status.error == "ValueError: no open counter 9"
    assert store.reports() == []
    # the next run may start
    store.start(runs.RunRequest(profile, seeds=1, policies=("fifo",)), "王站长")
    assert store.wait(timeout=60).state is runs.RunState.FAILED


def test_the_listing_skips_stray_and_broken_files(tmp_path, clock):
    folder = tmp_path / "simulations"
    folder.mkdir()
    (folder / "20261123-090000-1.json").write_text("{broken")
    (folder / "20261123-090000-1.html").write_text("<html>")
    (folder / "notes.json").write_text("{}")
    (folder / "20261123-100000-2.json").write_text("{}")  # its report is missing
    store = runs.SimulationRuns(folder, clock)
    assert store.reports() == [] and store.report_path("20261123-090000-1.html") is None
