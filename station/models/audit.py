"""The append-only audit log (操作日志). Rows are never updated or deleted: the ORM refuses it
(``station.models.guard``) and the database refuses it too (triggers in the first migration)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from .base import Base, IdMixin, str_enum
from .visit import ActorKind


class AuditEntry(IdMixin, Base):
    __tablename__ = "audit_log"
    at: Mapped[datetime] = mapped_column(index=True)
    actor_kind: Mapped[ActorKind] = mapped_column(str_enum(ActorKind, 16))
    actor_id: Mapped[int | None]
    actor_name: Mapped[str] = mapped_column(sa.String(64))
    action: Mapped[str] = mapped_column(sa.String(64), index=True)
    entity_type: Mapped[str | None] = mapped_column(sa.String(32))
    entity_id: Mapped[str | None] = mapped_column(sa.String(64))
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
