"""Scheduled jobs of key handover (overdue keys)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from apscheduler.triggers.interval import IntervalTrigger

from station.clock import Clock
from station.db import Database

if TYPE_CHECKING:
    from . import Job

#: how often keys out of the cabinet are checked for the overdue alert
OVERDUE_TICK_SECONDS = 60


def jobs(db: Database, clock: Clock) -> list[Job]:
    from station.services import keys

    from . import Job, in_transaction

    return [Job("keys.overdue", in_transaction(db, clock, keys.flag_overdue, "keys.overdue"),
                IntervalTrigger(seconds=OVERDUE_TICK_SECONDS),
                "Alert on keys out of the cabinet that have not moved for too long")]
