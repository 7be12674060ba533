"""The station's clock: every service takes one, so tests and the station-day simulator can
run time at any speed. Times are timezone-aware; stored in UTC, shown in the station zone."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    tz: tzinfo

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""


class _ZoneMixin:
    tz: tzinfo

    def local(self, at: datetime | None = None) -> datetime:
        """``at`` (default: now) in the station's time zone."""
        return (at or self.now()).astimezone(self.tz)  # type: ignore[attr-defined]

    def today(self) -> date:
        """The station's calendar day now (Asia/Shanghai by default, not UTC)."""
        return self.local().date()

    def day_bounds(self, day: date) -> tuple[datetime, datetime]:
        """UTC start and end of a station-local calendar day."""
        start = datetime.combine(day, time.min, tzinfo=self.tz)
        return start.astimezone(UTC), (start + timedelta(days=1)).astimezone(UTC)


class SystemClock(_ZoneMixin):
    def __init__(self, tz: str | tzinfo = "Asia/Shanghai") -> None:
        self.tz = ZoneInfo(tz) if isinstance(tz, str) else tz

    def now(self) -> datetime:
        return datetime.now(UTC)


class ManualClock(_ZoneMixin):
    """A clock that moves only when told to (tests, simulation)."""

    def __init__(self, start: datetime, tz: str | tzinfo = "Asia/Shanghai") -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs a timezone-aware start")
        self.tz = ZoneInfo(tz) if isinstance(tz, str) else tz
        self._now = start.astimezone(UTC)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | None = None, **kwargs: float) -> datetime:
        with self._lock:
            self._now += delta if delta is not None else timedelta(**kwargs)
            return self._now

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("aware datetime required")
        with self._lock:
            self._now = at.astimezone(UTC)


def as_utc(at: datetime) -> datetime:
    """Normalise an aware datetime to UTC; refuse naive ones (they are a bug)."""
    if at.tzinfo is None:
        raise ValueError("naive datetime: the station only handles aware times")
    return at.astimezone(UTC)
