"""The published, versioned price list (明码标价)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from station.clock import Clock
from station.errors import ValidationError
from station.models import PriceItem, PriceList

from . import audit
from .actors import Actor


def current(session: Session, clock: Clock) -> PriceList | None:
    """The newest version already in effect."""
    return session.scalar(sa.select(PriceList).options(selectinload(PriceList.items))
                          .where(PriceList.effective_from <= clock.now())
                          .order_by(PriceList.version.desc()).limit(1))


def publish(session: Session, clock: Clock, actor: Actor,
            items: Sequence[tuple[str, str, str, int]], *, effective_from: datetime | None = None,
            note: str | None = None) -> PriceList:
    """Publish a new version: items are (code, Chinese name, English name, amount in fen)."""
    codes = [code for code, *_ in items]
    if not items or len(set(codes)) != len(codes):
        raise ValidationError("price_items_invalid", "价目表须有项目且代码不重复",
                              "A price list needs items with distinct codes")
    if any(amount < 0 for *_, amount in items):
        raise ValidationError("price_negative", "价格不能为负", "Prices cannot be negative")
    last = session.scalar(sa.select(sa.func.max(PriceList.version))) or 0
    now = clock.now()
    price_list = PriceList(version=last + 1, effective_from=effective_from or now, published_at=now,
                           published_by=actor.id, note=note,
                           items=[PriceItem(position=i, code=c, name_zh=zh, name_en=en, amount_fen=a)
                                  for i, (c, zh, en, a) in enumerate(items)])
    session.add(price_list)
    session.flush()
    audit.record(session, clock, actor, "price_list.published", entity=price_list,
                 version=price_list.version, items={c: a for c, _, _, a in items})
    return price_list
