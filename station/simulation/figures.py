"""Figures of simulated days, read from what the station recorded (visit transitions), not
from the model's own bookkeeping — the simulator measures the station, not itself.

- wait to counter: checked in → called to a counter (the counter queue's order);
- wait to lane: paid (queued for a lane) → arrived at the first station (runners and lanes);
- waiting: the two together; time in station: checked in → keys back with the owner;
- throughput: vehicles tested; the capacity bound: each lane tests at most one car per
  bottleneck-station time, so the station at most Σ over lanes of 1 / (longest mean station
  time) cars per minute of the working day.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from station.db import Database
from station.domain.journey import VisitState
from station.models import Visit, VisitCategory, VisitTransition

from .model import DayRun

#: t(0.975, n − 1) for small n (95 % confidence intervals over seeds)
T975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
        10: 2.228, 11: 2.201, 12: 2.179, 14: 2.145, 19: 2.093, 29: 2.045}


def t975(df: int) -> float:
    """The 97.5 % quantile of Student's t with ``df`` degrees of freedom (1.96 from 30 on)."""
    if df <= 0:
        return float("nan")
    if df >= 30:
        return 1.96
    return T975[max(k for k in T975 if k <= df)]  # the nearest tabulated df below: wider


@dataclass(frozen=True)
class VisitTimes:
    visit_id: int
    booked: bool
    arrived: datetime
    called: datetime | None
    queued_for_lane: datetime | None
    on_lane: datetime | None
    tested: datetime | None
    keys_back: datetime | None

    @staticmethod
    def _minutes(a: datetime | None, b: datetime | None) -> float | None:
        return None if a is None or b is None else (b - a) / timedelta(minutes=1)

    @property
    def counter_wait(self) -> float | None:
        return self._minutes(self.arrived, self.called)

    @property
    def lane_wait(self) -> float | None:
        return self._minutes(self.queued_for_lane, self.on_lane)

    @property
    def waiting(self) -> float | None:
        a, b = self.counter_wait, self.lane_wait
        return None if a is None or b is None else a + b

    @property
    def in_station(self) -> float | None:
        return self._minutes(self.arrived, self.keys_back)


def visit_times(db: Database) -> list[VisitTimes]:
    """When each of the day's visits reached each step, from ``visit_transitions``."""
    with db.read() as s:
        first: dict[tuple[int, VisitState], datetime] = {}
        for visit_id, to_state, at in s.execute(
                sa.select(VisitTransition.visit_id, VisitTransition.to_state, VisitTransition.at)
                .order_by(VisitTransition.id)):
            first.setdefault((visit_id, to_state), at)
        out = []
        for visit_id, category, arrived in s.execute(
                sa.select(Visit.id, Visit.category, Visit.arrived_at)
                .where(Visit.arrived_at.is_not(None), Visit.attempt == 1)):
            out.append(VisitTimes(
                visit_id=visit_id, booked=category is VisitCategory.BOOKED, arrived=arrived,
                called=first.get((visit_id, VisitState.CALLED)),
                queued_for_lane=first.get((visit_id, VisitState.QUEUED_FOR_LANE)),
                on_lane=first.get((visit_id, VisitState.ON_LANE)),
                tested=first.get((visit_id, VisitState.TESTED)),
                keys_back=first.get((visit_id, VisitState.KEYS_RETURNED))))
    return out


def summary(values: Iterable[float | None]) -> dict[str, float | int | None]:
    data = sorted(v for v in values if v is not None)
    if not data:
        return {"n": 0, "mean": None, "median": None, "p90": None, "max": None}
    p90 = data[min(len(data) - 1, math.ceil(0.9 * len(data)) - 1)]
    return {"n": len(data), "mean": statistics.fmean(data), "median": statistics.median(data),
            "p90": p90, "max": data[-1]}


def _natural(item: tuple[str, Any]) -> list[Any]:
    """「station2」 before 「station10」: the numbers in a key compared as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", item[0])]


def capacity_bound_per_min(run: DayRun) -> float:
    """Σ over lanes of 1 / the lane's longest mean station time (cars per minute)."""
    return sum(1 / max(times.values()) for times in run.lane_station_minutes.values() if times)


@dataclass
class DayFigures:
    seed: int
    policy: str
    vehicles: int
    arrived: int
    tested: int
    finished: int
    booked: dict[str, dict[str, Any]]
    walk_in: dict[str, dict[str, Any]]
    all: dict[str, dict[str, Any]]
    capacity_per_day: float
    throughput_share: float
    utilisation: dict[str, float]
    #: a readable name for each key of ``utilisation``
    labels: dict[str, str]
    queue_samples: list[tuple[float, int, int]]
    waits_by_hour: dict[int, float]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def day_figures(run: DayRun) -> DayFigures:
    db = Database(run.database_url)
    try:
        times = visit_times(db)
    finally:
        db.dispose()

    def block(rows: Sequence[VisitTimes]) -> dict[str, dict[str, Any]]:
        return {"counter_wait": summary(r.counter_wait for r in rows),
                "lane_wait": summary(r.lane_wait for r in rows),
                "waiting": summary(r.waiting for r in rows),
                "in_station": summary(r.in_station for r in rows)}

    day_minutes = (run.closes - run.opens) / timedelta(minutes=1)
    capacity = capacity_bound_per_min(run) * day_minutes
    tested = sum(1 for t in times if t.tested is not None)
    # throughput counts cars tested within the working day (what the bound is about)
    tested_in_day = sum(1 for t in times if t.tested is not None and t.tested <= run.closes)
    by_hour: dict[int, list[float]] = defaultdict(list)
    for t in times:
        if t.waiting is not None:
            by_hour[(t.arrived.astimezone(run.opens.tzinfo)).hour].append(t.waiting)
    return DayFigures(
        seed=run.seed, policy=run.policy, vehicles=len(run.vehicles), arrived=len(times),
        tested=tested, finished=sum(1 for t in times if t.keys_back is not None),
        booked=block([t for t in times if t.booked]),
        walk_in=block([t for t in times if not t.booked]), all=block(times),
        capacity_per_day=capacity,
        throughput_share=tested_in_day / capacity if capacity else 0.0,
        utilisation={k: round(b.utilisation, 3) for k, b in sorted(run.busy.items(), key=_natural)},
        labels={k: run.labels.get(k, k) for k in run.busy},
        queue_samples=run.queue_samples,
        waits_by_hour={h: statistics.fmean(v) for h, v in sorted(by_hour.items())})


def mean_ci(values: Sequence[float]) -> tuple[float, float]:
    """Mean and the half-width of its 95 % confidence interval."""
    if not values:
        return float("nan"), float("nan")
    mean = statistics.fmean(values)
    if len(values) < 2:
        return mean, float("nan")
    return mean, t975(len(values) - 1) * statistics.stdev(values) / math.sqrt(len(values))
