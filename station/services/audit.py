"""Writing to the append-only audit log (操作日志)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from station.clock import Clock
from station.db import insert_row
from station.models import AuditEntry

from .actors import Actor


def record(session: Session, clock: Clock, actor: Actor, action: str, *,
           entity: object | None = None, entity_type: str | None = None,
           entity_id: str | int | None = None, **details: Any) -> AuditEntry:
    """Append one entry. ``entity`` (a model instance) fills type and id when given."""
    if entity is not None:
        entity_type = entity_type or getattr(entity, "__tablename__", type(entity).__name__)
        entity_id = entity_id if entity_id is not None else getattr(entity, "id", None)
    return insert_row(session, AuditEntry(
        at=clock.now(), actor_kind=actor.kind, actor_id=actor.id, actor_name=actor.name,
        action=action, entity_type=entity_type,
        entity_id=None if entity_id is None else str(entity_id), details=details))


def recent(session: Session, *, limit: int = 100, action: str | None = None) -> list[AuditEntry]:
    stmt = sa.select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)
    if action:
        stmt = stmt.where(AuditEntry.action == action)
    return list(session.scalars(stmt))
