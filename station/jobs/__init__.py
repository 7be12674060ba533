"""Scheduled jobs (APScheduler 3), registered in code and started by one process only
(``station.runtime`` holds the lock). Jobs call services in their own transactions."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session

from station.clock import Clock
from station.db import Database
from station.devices import DeviceManager
from station.services import appointments, backup, evidence, notify

log = logging.getLogger(__name__)

#: how often devices are retried and health-checked
DEVICE_TICK_SECONDS = 5
#: how often bookings are checked for no-shows and reminders
BOOKING_TICK_MINUTES = 5
#: how often pending messages are handed to the notifier
OUTBOX_TICK_SECONDS = 60


@dataclass(frozen=True)
class Job:
    id: str
    func: Callable[[], None]
    trigger: BaseTrigger
    description: str


def in_transaction(db: Database, clock: Clock, work: Callable[[Session, Clock], object],
                   name: str) -> Callable[[], None]:
    """A job body: ``work`` in one write transaction; a failure is logged, never raised into
    the scheduler (the next run tries again)."""

    def run() -> None:
        try:
            with db.write() as session:
                work(session, clock)
        except Exception:
            log.exception("job %s failed", name)

    return run


@dataclass(frozen=True)
class BackupPlan:
    """The nightly backup: what (the database), where, and how many to keep."""

    database_url: str
    directory: Path
    keep: int
    #: the station's local time it runs at (the station is closed)
    hour: int = 1
    minute: int = 15


def backup_job(plan: BackupPlan, clock: Clock) -> Job:
    def run() -> None:
        try:
            made = backup.make(plan.database_url, plan.directory, clock, keep=plan.keep)
        except backup.BackupError as exc:
            log.error("the nightly backup failed: %s", exc)
            return
        log.info("backup %s (%d bytes); %d older removed", made.path, made.size, len(made.pruned))

    return Job("backup.nightly", run, CronTrigger(hour=plan.hour, minute=plan.minute, timezone=clock.tz),
               "Back the database up every night, keeping the newest ones")


def station_jobs(db: Database, clock: Clock, devices: DeviceManager,
                 notifier: notify.Notifier, store: evidence.EvidenceStore,
                 backups: BackupPlan | None = None) -> list[Job]:
    """Every job of the station."""
    every_booking_tick = IntervalTrigger(minutes=BOOKING_TICK_MINUTES)
    return [
        Job("devices.tick", devices.tick, IntervalTrigger(seconds=DEVICE_TICK_SECONDS),
            "Retry offline devices and health-check ready ones"),
        Job("appointments.no_shows",
            in_transaction(db, clock, appointments.mark_no_shows, "appointments.no_shows"),
            every_booking_tick, "Mark bookings not checked in after their slot as no-shows"),
        Job("reminders.day_before",
            in_transaction(db, clock, notify.queue_day_before_reminders, "reminders.day_before"),
            every_booking_tick, "Remind tomorrow's bookings in the evening"),
        Job("reminders.soon",
            in_transaction(db, clock, notify.queue_soon_reminders, "reminders.soon"),
            every_booking_tick, "Remind bookings whose slot starts soon"),
        Job("outbox.deliver",
            in_transaction(db, clock, lambda s, c: notify.deliver_pending(s, c, notifier),
                           "outbox.deliver"),
            IntervalTrigger(seconds=OUTBOX_TICK_SECONDS), "Hand pending messages to the notifier"),
        Job("evidence.archive",
            in_transaction(db, clock, lambda s, c: evidence.archive_due(s, c, store),
                           "evidence.archive"),
            CronTrigger(hour=2, minute=30, timezone=clock.tz),
            "Move evidence photos past the retention period to the archive"),
        *feature_jobs(db, clock, store.archive.parent),
        *([backup_job(backups, clock)] if backups is not None else []),
    ]


def feature_jobs(db: Database, clock: Clock, archive: Path) -> list[Job]:
    """The jobs that features define in their own modules of this package."""
    from . import feedback, instruments, keys

    return [*keys.jobs(db, clock), *instruments.jobs(db, clock), *feedback.jobs(db, clock, archive)]


def build_scheduler(jobs: list[Job], clock: Clock) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=clock.tz, job_defaults={
        "coalesce": True, "max_instances": 1, "misfire_grace_time": 30})
    for job in jobs:
        scheduler.add_job(job.func, job.trigger, id=job.id, name=job.description,
                          replace_existing=True)
    return scheduler
