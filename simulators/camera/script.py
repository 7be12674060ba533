"""Scripts (what the cars do) and the ground truth they produce.

A script is data: a list of ``(t_enter, station, dwell_s)``. ``t_enter`` is the moment the car
*arrives* at the station — its front passes the middle of the station's ROI, so the car covers
half of it — and ``t_enter + dwell_s`` the moment it *leaves* (its rear passes the middle).
Cars drive left to right at the scene's cruise speed and never overtake: an entry belongs to
the oldest car that has not yet been further down the lane and has left its previous station,
otherwise it starts a new car. An optional fourth item (``car``) names the car explicitly.
When a car has time to spare between two stations it waits halfway between them.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from simulators.camera.scene import CAR_COLOURS, LaneScene

ARRIVED = "arrived"
LEFT = "left"
_EPS = 1e-6


@dataclass(frozen=True)
class Stop:
    t_enter: float
    station: str
    dwell_s: float
    car: int | None = None


@dataclass(frozen=True)
class CarPlan:
    car: int
    colour: tuple[int, int, int]
    stops: tuple[Stop, ...]
    keyframes: tuple[tuple[float, float], ...]  # (t, centre x); x is non-decreasing

    @property
    def t_first(self) -> float:
        return self.keyframes[0][0]

    @property
    def t_last(self) -> float:
        return self.keyframes[-1][0]

    def x_at(self, t: float) -> float | None:
        """Centre of the car at ``t``; None while the car is not in the scene."""
        if t < self.t_first or t > self.t_last:
            return None
        ts, xs = zip(*self.keyframes, strict=True)
        return float(np.interp(t, ts, xs))

    def time_at(self, x: float) -> float | None:
        """First time the car's centre reaches ``x``."""
        for (t0, x0), (t1, x1) in zip(self.keyframes, self.keyframes[1:], strict=False):
            if x0 <= x <= x1 and x1 > x0:
                return t0 + (x - x0) / (x1 - x0) * (t1 - t0)
        return None


@dataclass(frozen=True)
class TruthEvent:
    t: float
    station: str
    kind: str  # "arrived" | "left"
    car: int
    scripted: bool  # False for a station the car only drove through

    @property
    def present(self) -> bool:
        return self.kind == ARRIVED


def parse_script(data: Iterable[Any]) -> list[Stop]:
    """Entries as ``[t_enter, station, dwell_s(, car)]`` or a dict with those keys."""
    stops = []
    for item in data:
        if isinstance(item, Stop):
            stops.append(item)
            continue
        if isinstance(item, dict):
            item = [item["t_enter"], item["station"], item["dwell_s"], item.get("car")]
        if len(item) not in (3, 4):
            raise ValueError(f"script entry {item!r} is not (t_enter, station, dwell_s[, car])")
        car = item[3] if len(item) == 4 else None
        stops.append(Stop(float(item[0]), str(item[1]), float(item[2]), None if car is None else int(car)))
    if len({s.car is None for s in stops}) > 1:
        raise ValueError("name the car in every script entry or in none")
    return sorted(stops, key=lambda s: s.t_enter)


def load_script(path: str | Path) -> list[Stop]:
    return parse_script(json.loads(Path(path).read_text(encoding="utf-8")))


def split_into_cars(stops: Sequence[Stop], scene: LaneScene) -> list[list[Stop]]:
    ordered = sorted(stops, key=lambda s: s.t_enter)
    if ordered and ordered[0].car is not None:
        by_car: dict[int, list[Stop]] = {}
        for stop in ordered:
            by_car.setdefault(stop.car, []).append(stop)  # type: ignore[arg-type]
        return sorted(by_car.values(), key=lambda car: car[0].t_enter)
    cars: list[list[Stop]] = []
    for stop in ordered:
        order = scene.station_order(stop.station)
        for car in cars:  # oldest first: cars do not overtake
            last = car[-1]
            if scene.station_order(last.station) < order and last.t_enter + last.dwell_s <= stop.t_enter:
                car.append(stop)
                break
        else:
            cars.append([stop])
    return cars


def plan_car(car: int, stops: Sequence[Stop], scene: LaneScene) -> CarPlan:
    """Keyframes of one car; raises ``ValueError`` if the script is physically impossible."""
    v = scene.speed
    half = scene.car_length / 2
    x_start = -half - scene.min_car_gap
    x_end = 1.0 + half + scene.min_car_gap
    first = scene.station(stops[0].station)
    keys: list[tuple[float, float]] = [(stops[0].t_enter - (first.x - half - x_start) / v, x_start)]
    for i, stop in enumerate(stops):
        station = scene.station(stop.station)
        if stop.dwell_s < scene.car_length / v - _EPS:
            raise ValueError(f"car {car} at {stop.station}: dwell {stop.dwell_s:g} s is shorter than the "
                             f"{scene.car_length / v:.2f} s needed to drive in and out")
        arrive_centre = stop.t_enter + half / v
        depart = stop.t_enter + stop.dwell_s - half / v
        if arrive_centre < keys[-1][0] - _EPS:
            raise ValueError(f"car {car} cannot reach {stop.station} by t={stop.t_enter:g} s")
        keys.append((arrive_centre, station.x))
        keys.append((depart, station.x))
        if i + 1 < len(stops):
            nxt = scene.station(stops[i + 1].station)
            hold = (station.x + nxt.x) / 2
            reach_hold = depart + (hold - station.x) / v
            leave_hold = stops[i + 1].t_enter - (nxt.x - half - hold) / v
            if leave_hold < reach_hold - _EPS:
                raise ValueError(f"car {car} cannot get from {stop.station} to {nxt.name} "
                                 f"by t={stops[i + 1].t_enter:g} s")
            keys.append((reach_hold, hold))
            if leave_hold > reach_hold + _EPS:
                keys.append((leave_hold, hold))
    last = keys[-1]
    keys.append((last[0] + (x_end - last[1]) / v, x_end))
    colour = CAR_COLOURS[car % len(CAR_COLOURS)]
    return CarPlan(car=car, colour=colour, stops=tuple(stops), keyframes=tuple(keys))


def plan_cars(stops: Sequence[Stop], scene: LaneScene) -> list[CarPlan]:
    plans = [plan_car(i, car, scene) for i, car in enumerate(split_into_cars(stops, scene))]
    _check_spacing(plans, scene)
    return plans


def _check_spacing(plans: Sequence[CarPlan], scene: LaneScene) -> None:
    need = scene.car_length + scene.min_car_gap - _EPS
    for a, b in itertools.pairwise(plans):
        times = sorted({t for t, _ in a.keyframes + b.keyframes if max(a.t_first, b.t_first) <= t
                        <= min(a.t_last, b.t_last)})
        for t in times:
            xa, xb = a.x_at(t), b.x_at(t)
            if xa is not None and xb is not None and xa - xb < need:
                raise ValueError(f"car {b.car} runs into car {a.car} at t={t:.2f} s")


def truth_events(plans: Sequence[CarPlan], scene: LaneScene) -> list[TruthEvent]:
    """Every moment a car starts or stops covering half of a station's ROI."""
    events = []
    half = scene.car_length / 2
    for plan in plans:
        visited = {s.station for s in plan.stops}
        for station in scene.stations:
            for kind, x in ((ARRIVED, station.x - half), (LEFT, station.x + half)):
                t = plan.time_at(x)
                if t is not None:
                    events.append(TruthEvent(round(t, 4), station.name, kind, plan.car, station.name in visited))
    return sorted(events, key=lambda e: (e.t, e.station))


def generate_script(scene: LaneScene, duration: float, seed: int, *, dwell_s: tuple[float, float] = (4.0, 9.0),
                    pause_s: tuple[float, float] = (0.0, 2.0), first_at: float = 2.0,
                    headway_s: tuple[float, float] = (1.0, 6.0), min_vacancy_s: float = 1.5) -> list[Stop]:
    """Cars that each stop at every station in turn, as many as fit in ``duration``.

    A station stays empty for at least ``min_vacancy_s`` between two cars, as it must for a
    camera (or a person) to tell that one car left before the next arrived.
    """
    rng = np.random.default_rng(seed)
    v = scene.speed
    stops: list[Stop] = []
    plans: list[CarPlan] = []
    t = first_at
    while True:
        car: list[Stop] = []
        t_enter = t
        for i, station in enumerate(scene.stations):
            if i:
                prev = scene.stations[i - 1]
                travel = (station.x - prev.x - scene.car_length) / v
                t_enter = car[-1].t_enter + car[-1].dwell_s + travel + float(rng.uniform(*pause_s))
            car.append(Stop(round(t_enter, 2), station.name, round(float(rng.uniform(*dwell_s)), 2)))
        # keep the whole visit, from entering the picture to leaving it, within the video
        try:
            plan = plan_car(len(plans), car, scene)
            _check_spacing([*plans[-1:], plan], scene)
            if plans:
                for before, now in zip(plans[-1].stops, car, strict=True):
                    if now.t_enter < before.t_enter + before.dwell_s + min_vacancy_s:
                        raise ValueError("station not vacant long enough")
        except ValueError:
            t += 0.5  # too close to the car ahead: come a little later
            continue
        if plan.t_last > duration:
            break
        stops.extend(car)
        plans.append(plan)
        # the next car arrives at the first station once this one has left it
        t = car[0].t_enter + car[0].dwell_s + scene.car_length / v + float(rng.uniform(*headway_s))
    return stops


NAMED_SCRIPTS = ("demo", "busy", "single")


def named_script(name: str, scene: LaneScene, duration: float, seed: int) -> list[Stop]:
    if name == "demo":
        return generate_script(scene, duration, seed)
    if name == "busy":
        return generate_script(scene, duration, seed, dwell_s=(3.0, 5.0), pause_s=(0.0, 0.5),
                               first_at=1.0, headway_s=(0.5, 2.0))
    if name == "single":
        return generate_script(scene, duration, seed, headway_s=(1e9, 1e9))
    path = Path(name)
    if path.is_file():
        return load_script(path)
    raise ValueError(f"unknown script {name!r}: use one of {', '.join(NAMED_SCRIPTS)} or a JSON file")


def script_as_data(stops: Sequence[Stop]) -> list[list[Any]]:
    return [[s.t_enter, s.station, s.dwell_s] + ([s.car] if s.car is not None else []) for s in stops]


def events_as_data(events: Sequence[TruthEvent]) -> list[dict[str, Any]]:
    return [asdict(e) for e in events]
