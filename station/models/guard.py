"""Refuse, at flush time, to update or delete rows of append-only tables.

The first migration installs database triggers with the same rule, so raw SQL is refused too.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from .audit import AuditEntry
from .visit import VisitTransition

APPEND_ONLY: tuple[type, ...] = (AuditEntry, VisitTransition)


class AppendOnlyViolation(Exception):
    """Code tried to change or delete a row of an append-only table."""


@event.listens_for(Session, "before_flush")
def _refuse_changes(session: Session, _ctx: Any, _instances: Any) -> None:
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, APPEND_ONLY) and (obj in session.deleted or session.is_modified(obj)):
            raise AppendOnlyViolation(f"{type(obj).__name__} rows are append-only")
