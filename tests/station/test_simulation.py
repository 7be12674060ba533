"""The station-day simulator drives the real services: a small day end to end, common random
numbers across policies, a policy change that changes the outcome, and the figures."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from pathlib import Path

import pytest
import sqlalchemy as sa

from station.db import Database
from station.domain.journey import VisitState
from station.models import Visit, VisitTransition
from station.models.keys import KeyHolderKind, KeyMovement, VehicleKey
from station.simulation import compare, figures, report
from station.simulation.model import DayRun, StationDay, build_template
from station.simulation.profile import CounterHours, DayProfile, Duration

pytestmark = pytest.mark.sqlite_only  # the simulator works on its own SQLite copies

DAY = date(2026, 11, 24)


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_template(tmp_path_factory.mktemp("sim") / "template.db", DAY)


def _busy_morning(vehicles: int = 36) -> DayProfile:
    """One window and everybody in the first two hours: a queue forms at the counter."""
    return DayProfile(day=DAY, vehicles=vehicles, hourly={8: 1.0, 9: 1.0}, booked_share=0.5,
                      no_show_share=0.0, late_share=0.0, fail_share=0.1,
                      counters=(CounterHours(1, time(8, 30), time(17, 30)),),
                      counter_minutes=Duration("uniform", 4.0, 6.0))


def _run(template: Path, tmp_path: Path, profile: DayProfile, policy: str, seed: int = 3) -> DayRun:
    return StationDay(profile, seed=seed, policy=policy, template=template, workdir=tmp_path).run()


def _called_order(run: DayRun) -> list[str]:
    db = Database(run.database_url)
    try:
        with db.read() as s:
            rows = s.execute(sa.select(Visit.vehicle_id, VisitTransition.at)
                             .join(VisitTransition, VisitTransition.visit_id == Visit.id)
                             .where(VisitTransition.to_state == VisitState.CALLED)
                             .order_by(VisitTransition.at, VisitTransition.id)).all()
            from station.models import Vehicle

            plates = dict(s.execute(sa.select(Vehicle.id, Vehicle.plate)).all())
        return [plates[v] for v, _ in rows]
    finally:
        db.dispose()


def test_a_day_runs_through_every_real_step(template, tmp_path):
    run = _run(template, tmp_path, DayProfile(day=DAY, vehicles=24, fail_share=0.3), "priority")
    db = Database(run.database_url)
    try:
        with db.read() as s:
            arrived = [v for v in run.vehicles if v.arrives_min is not None]
            states = dict(s.execute(sa.select(Visit.id, Visit.state)
                                    .where(Visit.attempt == 1, Visit.arrived_at.is_not(None))).all())
            assert len(states) == len(arrived)
            assert set(states.values()) == {VisitState.CLOSED}, "every car went home with its key"
            steps = {to for (to,) in s.execute(sa.select(VisitTransition.to_state).distinct())}
            assert {VisitState.CALLED, VisitState.REGISTERED, VisitState.QUEUED_FOR_LANE,
                    VisitState.ON_LANE, VisitState.TESTED, VisitState.KEYS_RETURNED,
                    VisitState.CLOSED} <= steps
            # every key went the whole chain and is back with its owner
            holders = list(s.scalars(sa.select(VehicleKey.holder_kind)))
            assert len(holders) == len(arrived) and set(holders) == {KeyHolderKind.OWNER}
            stages = {m for (m,) in s.execute(sa.select(KeyMovement.to_kind).distinct())}
            assert {KeyHolderKind.DESK, KeyHolderKind.RUNNER, KeyHolderKind.LANE,
                    KeyHolderKind.CABINET, KeyHolderKind.OWNER} <= stages
            retests = s.scalar(sa.select(sa.func.count()).select_from(Visit).where(Visit.attempt == 2))
            failed = sum(1 for v in arrived if v.fails)
            assert retests == failed, "every failed car was booked for its retest at pick-up"
    finally:
        db.dispose()
    day = figures.day_figures(run)
    assert day.arrived == len(arrived) and day.tested == day.finished == len(arrived)
    assert day.all["in_station"]["n"] == len(arrived)
    assert all(0 <= u <= 1 for u in day.utilisation.values())
    # every resource that worked shows it: the desk, the pick-up window, the stations used
    assert day.utilisation["desk"] > 0 and day.utilisation["pickup"] > 0
    assert sum(1 for name, u in day.utilisation.items() if name.startswith("station") and u > 0) >= 4
    # each named as a manager reads it, stations in their lanes' order
    assert (day.labels["desk"], day.labels["pickup"], day.labels["counter1"],
            day.labels["runner1"]) == ("交钥匙台", "取件窗口", "1号窗口", "引车员1")
    stations = [day.labels[k] for k in day.utilisation if k.startswith("station")]
    assert stations[:2] == ["1号线 1.联网查询/唯一性", "1号线 2.外观检验"]
    assert all(re.fullmatch(r"\d号线 \d\.\S+", name) for name in stations), stations
    assert day.capacity_per_day > 0 and 0 < day.throughput_share < 1


def test_same_seed_same_day_and_the_policy_decides_the_order(template, tmp_path):
    profile = _busy_morning()
    ours = _run(template, tmp_path, profile, "priority")
    fifo = _run(template, tmp_path, profile, "fifo")
    # common random numbers: the same vehicles arrive at the same moments under both policies
    assert [(v.spec.plate, v.arrives_min, v.counter_min) for v in ours.vehicles] == \
           [(v.spec.plate, v.arrives_min, v.counter_min) for v in fifo.vehicles]
    first = {v.spec.plate: v.arrives_min for v in ours.vehicles}
    fifo_order = _called_order(fifo)
    assert fifo_order == sorted(fifo_order, key=lambda plate: first[plate]), \
        "first come, first served calls in arrival order"
    assert _called_order(ours) != fifo_order, "the priority policy changes who is called when"


def test_profile_round_trip_and_refusals(tmp_path):
    profile = DayProfile(day=DAY, vehicles=120, closures=())
    path = tmp_path / "day.json"
    import json

    path.write_text(json.dumps(profile.as_dict()), encoding="utf-8")
    assert DayProfile.load(path) == profile
    with pytest.raises(ValueError):
        DayProfile.from_dict({"vehicles": 10, "bogus": 1})
    with pytest.raises(ValueError):
        DayProfile(day=date(2026, 11, 28))  # a Saturday
    with pytest.raises(ValueError):
        DayProfile(booked_share=1.5)
    with pytest.raises(ValueError):
        DayProfile(counter_minutes=Duration("uniform", -1.0, 2.0))


def test_capacity_bound_is_the_sum_of_lane_bottlenecks():
    opens = datetime(2026, 11, 24, 8, 30)
    run = DayRun(DayProfile(day=DAY), 1, "priority", "sqlite://", opens,
                 opens.replace(hour=17), [], lane_station_minutes={
                     1: {"exterior": 4.0, "emission_gasoline": 3.5}, 2: {"instrument": 5.0}})
    assert figures.capacity_bound_per_min(run) == pytest.approx(1 / 4 + 1 / 5)
    assert figures.mean_ci([1.0, 2.0, 3.0]) == pytest.approx((2.0, 4.303 * 1 / 3 ** 0.5))


def test_the_report_has_its_figures_and_charts(template, tmp_path):
    profile = _busy_morning(12)
    days = [figures.day_figures(_run(template, tmp_path, profile, p)) for p in compare.POLICIES]
    comparison = compare.compare(days)
    page = report.render(profile, days, comparison)
    assert "预约车辆等候比" in page and page.count("<canvas") == 3
    assert "new Chart(" in page and len(page) > 100_000, "Chart.js is embedded: opens offline"
    # the conditions in words, the JSON folded below them
    conditions = page.split('<section id="conditions">', 1)[1].split("</section>", 1)[0]
    assert "<th>值班窗口 Windows staffed</th><td class=\"text\">1号窗口 08:30–17:30</td>" in conditions
    assert "窗口办理 At the window</th><td class=\"text\">4–6 分 min（均匀 uniform）" in conditions
    assert "8时 1，9时 1" in conditions and "外观检验 Exterior inspection" in conditions
    assert "<details>" in conditions and "&quot;vehicles&quot;: 12" in conditions
