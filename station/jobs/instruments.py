"""Scheduled jobs of metering instruments (expiry warnings, blocking at expiry and at the start
of each day).

A verification runs out at the start of the day after its valid-until date, and a new station
day needs a new daily check: both happen at local midnight, so one cron job at 00:00:00 local
re-applies the blocking rule (and warns 30 / 7 / 1 days ahead); an interval job re-applies it
too, so a clock change or a missed run is caught within minutes, without a restart.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session

from station.clock import Clock
from station.db import Database

if TYPE_CHECKING:
    from . import Job

#: how often the blocking rule is re-applied besides midnight
EVALUATE_EVERY_MINUTES = 5


def check_instruments(session: Session, clock: Clock) -> None:
    """Warn of expiries and apply the blocking rule (one job body for both triggers)."""
    from station.services import instruments

    instruments.raise_expiry_alerts(session, clock)
    instruments.evaluate(session, clock)


def jobs(db: Database, clock: Clock) -> list[Job]:
    from . import Job, in_transaction

    body = in_transaction(db, clock, check_instruments, "instruments.check")
    return [
        Job("instruments.midnight", body,
            CronTrigger(hour=0, minute=0, second=0, timezone=clock.tz),
            "Block instruments whose verification ran out or that need today's daily check"),
        Job("instruments.evaluate", body, IntervalTrigger(minutes=EVALUATE_EVERY_MINUTES),
            "Re-apply the instruments' blocking rule and warn of expiries"),
    ]
