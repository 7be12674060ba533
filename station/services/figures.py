"""The station's own figures, per day (the seeds' targets: 100 % of visits booked,
≥ 50 % of bookings online)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from station.clock import Clock
from station.models import ONLINE_CHANNELS, Appointment, AppointmentStatus, Visit, VisitCategory

#: the seeds' targets
TARGET_APPOINTMENT_RATE = 1.0
TARGET_ONLINE_RATE = 0.5


def rate(part: int, whole: int) -> float | None:
    """A share to four places, None when there is nothing to share."""
    return round(part / whole, 4) if whole else None


class BookingRates:
    """The booking ratios of figures that count ``arrivals``, ``booked``, ``online``, ``due``
    and ``no_shows`` (a day here, a week or month on the scorecard)."""

    arrivals: int
    booked: int
    online: int
    due: int
    no_shows: int

    @property
    def appointment_rate(self) -> float | None:
        return rate(self.booked, self.arrivals)

    @property
    def online_rate(self) -> float | None:
        return rate(self.online, self.booked)

    @property
    def no_show_rate(self) -> float | None:
        return rate(self.no_shows, self.due)


@dataclass(frozen=True)
class DayFigures(BookingRates):
    day: date
    arrivals: int            # vehicles that checked in
    booked: int              # … with a booking of any channel (on-site bookings included)
    booked_ahead: int        # … booked before they came
    online: int              # … booked through an online channel
    due: int                 # bookings made ahead for the day, not cancelled
    no_shows: int

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["day"] = self.day.isoformat()
        out.update(appointment_rate=self.appointment_rate, online_rate=self.online_rate,
                   no_show_rate=self.no_show_rate)
        return out


def day_figures(session: Session, clock: Clock, day: date) -> DayFigures:
    start, end = clock.day_bounds(day)
    arrived = sa.and_(Visit.arrived_at >= start, Visit.arrived_at < end)
    arrivals = session.scalar(sa.select(sa.func.count()).select_from(Visit).where(arrived))
    rows = session.execute(sa.select(Appointment.channel, Visit.category)
                           .join(Visit, Appointment.visit_id == Visit.id).where(arrived)).all()
    # bookings made ahead for the day (a walk-in's on-site booking cannot be missed)
    due_rows = session.execute(
        sa.select(Appointment.status, sa.func.count())
        .join(Visit, Appointment.visit_id == Visit.id)
        .where(Appointment.day == day, Appointment.status != AppointmentStatus.CANCELLED,
               Visit.category != VisitCategory.WALK_IN)
        .group_by(Appointment.status)).all()
    due = {status: n for status, n in due_rows}
    return DayFigures(
        day=day, arrivals=arrivals or 0, booked=len(rows),
        booked_ahead=sum(1 for _, cat in rows if cat is VisitCategory.BOOKED),
        online=sum(1 for channel, _ in rows if channel in ONLINE_CHANNELS),
        due=sum(due.values()), no_shows=due.get(AppointmentStatus.NO_SHOW, 0))


def figures(session: Session, clock: Clock, first: date, last: date) -> list[DayFigures]:
    days = (last - first).days + 1
    return [day_figures(session, clock, first + timedelta(days=n)) for n in range(max(days, 0))]
