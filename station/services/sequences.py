"""Numbers that never repeat within a station day (inspection serials, ticket numbers).

One ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` statement increments the counter; inside a
write transaction (IMMEDIATE on SQLite, a row lock on PostgreSQL) no two callers can get the
same value, and the primary key (name, day) backs that with a constraint.
"""

from __future__ import annotations

import functools
from datetime import date

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from station.clock import Clock
from station.models import DayCounter

from . import settings


@functools.cache
def _increment(dialect: str) -> sa.Insert:
    """Built once per dialect: every ticket and visit takes numbers, and building the
    statement costs about as much as running it."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(DayCounter).values(name=sa.bindparam("name"), day=sa.bindparam("day"), value=1)
    return stmt.on_conflict_do_update(
        index_elements=[DayCounter.name, DayCounter.day], set_={"value": DayCounter.value + 1}
    ).returning(DayCounter.value)


def next_value(session: Session, name: str, day: date) -> int:
    # on the connection: through the session, the statement would take the ORM's bulk path
    connection = session.connection()
    stmt = _increment(connection.dialect.name)
    return int(connection.execute(stmt, {"name": name, "day": day}).scalar_one())


def peek(session: Session, name: str, day: date) -> int:
    """The last value handed out on ``day`` (0 if none)."""
    value = session.scalar(sa.select(DayCounter.value).where(DayCounter.name == name,
                                                             DayCounter.day == day))
    return value or 0


def new_inspection_serial(session: Session, clock: Clock) -> str:
    """检验流水号: station code + local date + 4-digit number of the day, e.g. 33010012026112200017."""
    day = clock.today()
    number = next_value(session, "inspection", day)
    return f"{settings.get(session, 'station.code')}{day:%Y%m%d}{number:04d}"
