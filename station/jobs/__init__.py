"""Scheduled jobs (APScheduler 3), registered in code and started by one process only
(``station.runtime`` holds the lock). Jobs call services; they never hold a request."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.interval import IntervalTrigger

from station.clock import Clock
from station.db import Database
from station.devices import DeviceManager

#: how often devices are retried and health-checked
DEVICE_TICK_SECONDS = 5


@dataclass(frozen=True)
class Job:
    id: str
    func: Callable[[], None]
    trigger: BaseTrigger
    description: str


def station_jobs(db: Database, clock: Clock, devices: DeviceManager) -> list[Job]:
    """Every job of the station. Features add theirs here."""
    return [
        Job("devices.tick", devices.tick, IntervalTrigger(seconds=DEVICE_TICK_SECONDS),
            "Retry offline devices and health-check ready ones"),
    ]


def build_scheduler(jobs: list[Job], clock: Clock) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=clock.tz, job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": 30})
    for job in jobs:
        scheduler.add_job(job.func, job.trigger, id=job.id, name=job.description,
                          replace_existing=True)
    return scheduler
