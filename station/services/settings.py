"""Station settings: every rule with a number in it, with its default, in one table.

A value stored in ``station_settings`` overrides the default; the manager edits them on the
settings screen. Later features add their rules here (slot length, check-in window …).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from station import signals
from station.clock import Clock
from station.errors import NotFound, ValidationError
from station.models import StationSetting

from . import audit
from .actors import Actor


@dataclass(frozen=True)
class Setting:
    key: str
    default: Any
    label_zh: str
    label_en: str
    minimum: float | None = None
    maximum: float | None = None

    def coerce(self, value: Any) -> Any:
        kind = type(self.default)
        try:
            if kind is bool:
                if isinstance(value, str):
                    value = value.strip().lower() in ("1", "true", "yes", "on", "是")
                return bool(value)
            coerced = kind(value)
        except (TypeError, ValueError):
            raise ValidationError("setting_invalid", f"“{self.label_zh}”的值无效",
                                  f"Invalid value for “{self.label_en}”", key=self.key) from None
        if isinstance(coerced, int | float) and (
            (self.minimum is not None and coerced < self.minimum)
            or (self.maximum is not None and coerced > self.maximum)
        ):
            raise ValidationError(
                "setting_out_of_range",
                f"“{self.label_zh}”应在 {self.minimum} 至 {self.maximum} 之间",
                f"“{self.label_en}” must be between {self.minimum} and {self.maximum}",
                key=self.key)
        return coerced


SETTINGS: dict[str, Setting] = {s.key: s for s in [
    Setting("station.name", "示范机动车检测站", "检测站名称", "Station name"),
    Setting("station.code", "3301001", "检测站编号", "Station code"),
    Setting("station.hotline", "12345", "投诉电话", "Complaint hotline"),
    Setting("station.address", "", "地址", "Address"),
    Setting("retest.free_days", 30, "免费复检天数", "Free retest period (days)", 0, 365),
    Setting("records.retention_years", 6, "记录保存年限", "Record retention (years)", 6, 50),
]}


def _definition(key: str) -> Setting:
    try:
        return SETTINGS[key]
    except KeyError:
        raise NotFound("setting_unknown", f"没有名为 {key} 的设置", f"No setting named {key}") from None


def get(session: Session, key: str) -> Any:
    definition = _definition(key)
    row = session.get(StationSetting, key)
    return definition.default if row is None else row.value


def all_values(session: Session) -> dict[str, Any]:
    stored = {r.key: r.value for r in session.scalars(sa.select(StationSetting))}
    return {k: stored.get(k, s.default) for k, s in SETTINGS.items()}


def put(session: Session, clock: Clock, actor: Actor, key: str, value: Any) -> Any:
    definition = _definition(key)
    value = definition.coerce(value)
    row = session.get(StationSetting, key)
    old = definition.default if row is None else row.value
    if row is None:
        row = StationSetting(key=key, value=value, updated_at=clock.now(), updated_by=actor.id)
        session.add(row)
    else:
        row.value, row.updated_at, row.updated_by = value, clock.now(), actor.id
    audit.record(session, clock, actor, "setting.changed", entity_type="station_settings",
                 entity_id=key, old=old, new=value)
    signals.send_after_commit(session, signals.setting_changed, key=key, value=value)
    return value
