"""Policies side by side: the same simulated days (seeds) under our priority policy and under
first-come-first-served, in parallel processes, with confidence intervals over the seeds."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import statistics
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .figures import DayFigures, day_figures, mean_ci
from .model import StationDay, build_template, temporary_workdir
from .profile import DayProfile

POLICIES = ("priority", "fifo")


def _one(args: tuple[dict[str, Any], int, str, str, str]) -> DayFigures:
    profile_data, seed, policy, template, workdir = args
    profile = DayProfile.from_dict(profile_data)
    run = StationDay(profile, seed=seed, policy=policy, template=Path(template),
                     workdir=Path(workdir)).run()
    figures = day_figures(run)
    Path(run.database_url.removeprefix("sqlite:///")).unlink(missing_ok=True)
    return figures


def _lower_priority() -> None:
    os.nice(BACKGROUND_NICE)


#: how much lower a background run's process is scheduled than the server (``os.nice``)
BACKGROUND_NICE = 10


def run_days(profile: DayProfile, seeds: Sequence[int], policies: Sequence[str] = POLICIES, *,
             workers: int | None = None,
             progress: Callable[[int, int], None] | None = None,
             background: bool = False) -> list[DayFigures]:
    """Every (seed, policy) day; each in its own database.

    ``workers`` processes run the days (one: in this process, unless ``background``).
    ``background``: called from a thread of a server — the days run in child processes
    started afresh (not forked from a process with other threads) at a lower scheduling
    priority, so the server's own threads keep the interpreter and the CPU."""
    workdir = temporary_workdir()
    try:
        template = build_template(workdir / "template.db", profile.day)
        jobs = [(profile.as_dict(), seed, policy, str(template), str(workdir))
                for seed in seeds for policy in policies]
        workers = workers or min(len(jobs), os.cpu_count() or 1)
        out: list[DayFigures] = []
        if workers <= 1 and not background:
            for job in jobs:
                out.append(_one(job))
                if progress:
                    progress(len(out), len(jobs))
        else:
            options: dict[str, Any] = {}
            if background:
                options = {"mp_context": multiprocessing.get_context("spawn"),
                           "initializer": _lower_priority}
            with ProcessPoolExecutor(max_workers=workers, **options) as pool:
                for future in as_completed([pool.submit(_one, job) for job in jobs]):
                    out.append(future.result())
                    if progress:
                        progress(len(out), len(jobs))
        return sorted(out, key=lambda f: (f.seed, POLICIES.index(f.policy)))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


@dataclass(frozen=True)
class Comparison:
    """Ours against FIFO on the same seeds: means with 95 % CIs and the paired ratios."""

    seeds: int
    figures: dict[str, dict[str, tuple[float, float]]]
    booked_wait_ratio: float
    walkin_wait_ratio: float
    max_walkin_wait_min: dict[str, float]

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _metric(f: DayFigures, group: str, name: str, stat: str = "mean") -> float:
    value = getattr(f, group)[name][stat]
    return float("nan") if value is None else float(value)


def compare(days: Sequence[DayFigures]) -> Comparison:
    by_policy: dict[str, list[DayFigures]] = {p: [d for d in days if d.policy == p]
                                              for p in POLICIES}
    figures: dict[str, dict[str, tuple[float, float]]] = {}
    for policy, runs in by_policy.items():
        if not runs:
            continue
        figures[policy] = {
            f"{group}.{name}.{stat}": mean_ci([_metric(r, group, name, stat) for r in runs])
            for group in ("booked", "walk_in", "all")
            for name in ("counter_wait", "lane_wait", "waiting", "in_station")
            for stat in ("mean", "median", "p90", "max")}
        figures[policy]["throughput_share"] = mean_ci([r.throughput_share for r in runs])
        figures[policy]["tested"] = mean_ci([float(r.tested) for r in runs])

    def ratio(group: str) -> float:
        ours = statistics.fmean(_metric(r, group, "waiting") for r in by_policy["priority"])
        base = statistics.fmean(_metric(r, group, "waiting") for r in by_policy["fifo"])
        return ours / base if base else float("nan")

    both = by_policy["priority"] and by_policy["fifo"]
    return Comparison(
        seeds=max(len(runs) for runs in by_policy.values()),  # a run may use one policy
        figures=figures,
        booked_wait_ratio=ratio("booked") if both else float("nan"),
        walkin_wait_ratio=ratio("walk_in") if both else float("nan"),
        max_walkin_wait_min={p: max((_metric(r, "walk_in", "counter_wait", "max") for r in runs),
                                    default=float("nan"))
                             for p, runs in by_policy.items() if runs})
