"""Scheduled jobs of ratings and complaints: escalate overdue cases, archive old records."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from station.clock import Clock
from station.db import Database

if TYPE_CHECKING:
    from . import Job

#: how often open cases are checked against their deadline
ESCALATE_TICK_MINUTES = 15
#: the archive job runs nightly at this local hour
ARCHIVE_HOUR = 2


def jobs(db: Database, clock: Clock, archive: Path) -> list[Job]:
    """``archive``: the folder archived records are written to (``Config.archive_path``)."""
    from station.services import feedback, retention

    from . import Job, in_transaction

    return [
        Job("feedback.escalate",
            in_transaction(db, clock, feedback.escalate_overdue, "feedback.escalate"),
            IntervalTrigger(minutes=ESCALATE_TICK_MINUTES),
            "Escalate bad-rating cases and complaints past their deadline"),
        Job("records.archive",
            in_transaction(db, clock, lambda s, c: retention.archive_old(s, c, archive),
                           "records.archive"),
            CronTrigger(hour=ARCHIVE_HOUR, minute=30, timezone=clock.tz),
            "Archive closed records older than the retention period (never deletes)"),
    ]
