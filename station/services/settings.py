"""Station settings: every rule with a number in it, with its default, in one table.

A value stored in ``station_settings`` overrides the default; the manager edits them on the
settings screen. Later features add their rules here (slot length, check-in window …).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from station import signals
from station.clock import Clock
from station.db import cached_config
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
    #: for text settings: the form the value must have
    pattern: str | None = None

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
        if self.pattern is not None and not re.fullmatch(self.pattern, str(coerced)):
            raise ValidationError("setting_invalid", f"“{self.label_zh}”的格式无效",
                                  f"Invalid format for “{self.label_en}”", key=self.key)
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
    # appointments (DOMAIN.md §3)
    Setting("booking.slot_minutes", 30, "预约时段长度(分钟)", "Slot length (minutes)", 10, 120),
    Setting("booking.capacity.small", 6, "每时段小型车预约名额", "Bookings per slot, small vehicles", 0, 200),
    Setting("booking.capacity.large", 2, "每时段大型车预约名额", "Bookings per slot, large vehicles", 0, 200),
    Setting("booking.days_ahead", 14, "可提前预约天数", "Days ahead a slot can be booked", 1, 92),
    Setting("booking.min_lead_minutes", 30, "最晚提前预约(分钟)", "Minimum notice for a booking (minutes)", 0, 1440),
    Setting("booking.max_per_phone_per_day", 6, "同一手机号每日预约上限", "Bookings per phone per day", 1, 50),
    Setting("booking.cancel_cutoff_hours", 24, "取消预约截止(时段前小时)", "Cancel at least this many hours ahead", 0, 168),
    Setting("booking.no_show_grace_minutes", 30, "爽约判定宽限(时段结束后分钟)", "No-show after slot end plus (minutes)", 0, 600),
    Setting("booking.no_show_limit", 2, "爽约次数上限", "No-shows before the phone is blocked", 1, 10),
    Setting("booking.no_show_window_days", 365, "爽约统计期(天)", "No-shows counted over (days)", 30, 3650),
    Setting("booking.block_months", 6, "爽约限制预约(月)", "Phone blocked for (months)", 1, 24),
    Setting("checkin.early_minutes", 30, "预约提前签到(分钟)", "Check-in window before the slot (minutes)", 0, 240),
    Setting("checkin.late_minutes", 15, "预约迟到容限(分钟)", "Check-in window after the slot start (minutes)", 0, 240),
    Setting("queue.max_wait_minutes", 60, "最长等候(分钟)，超时优先", "Longest wait before priority (minutes)", 10, 480),
    Setting("queue.special_needs_priority", True, "绿色通道优先", "Priority for special needs"),
    Setting("queue.policy", "priority", "排队规则(priority 预约优先 / fifo 先到先办)",
            "Queue order (priority: the priority policy / fifo: first come, first served)",
            pattern=r"priority|fifo"),
    Setting("queue.default_service_minutes", 5, "窗口平均办理时长(分钟)", "Default counter service time (minutes)", 1, 60),
    Setting("counter.skip_hold_minutes", 5, "过号后暂不叫回(分钟)", "A skipped ticket is not called again for (minutes)", 0, 120),
    Setting("tickets.prefix.booked", "A", "预约号前缀", "Ticket prefix, booked", pattern=r"[A-Z]"),
    Setting("tickets.prefix.walk_in", "B", "现场号前缀", "Ticket prefix, walk-in", pattern=r"[A-Z]"),
    Setting("tickets.prefix.retest", "C", "复检号前缀", "Ticket prefix, retest", pattern=r"[A-Z]"),
    Setting("tickets.next_step", "请将车辆停入交车区，并将钥匙交给工作人员", "取号后提示",
            "Where to go after taking a ticket"),
    Setting("reminders.day_before_at", "18:00", "前一日提醒时间", "Day-before reminder time",
            pattern=r"([01]\d|2[0-3]):[0-5]\d"),
    Setting("reminders.soon_minutes", 30, "时段开始前提醒(分钟)", "Reminder before the slot (minutes)", 5, 240),
]}


def register(*settings: Setting) -> None:
    """Add a feature's settings to the table (called once, when its service module is
    imported); a key may be defined only once."""
    for setting in settings:
        if setting.key in SETTINGS and SETTINGS[setting.key] != setting:
            raise ValueError(f"setting {setting.key} is defined twice")
        SETTINGS[setting.key] = setting


def _definition(key: str) -> Setting:
    try:
        return SETTINGS[key]
    except KeyError:
        raise NotFound("setting_unknown", f"没有名为 {key} 的设置", f"No setting named {key}") from None


def get(session: Session, key: str) -> Any:
    """The value in force. The first call in a session reads every stored value in one query
    (a request reads several settings; one statement instead of one each); a read session
    takes them from the process's configuration cache (``station.db.cached_config``)."""
    definition = _definition(key)
    stored = session.info.get("settings")
    if stored is None:
        stored = session.info["settings"] = cached_config(session, "settings", lambda: _stored(session))
    return stored.get(key, definition.default)


def _stored(session: Session) -> Mapping[str, Any]:
    rows = session.execute(sa.select(StationSetting.key, StationSetting.value))
    return MappingProxyType({key: value for key, value in rows})


def all_values(session: Session) -> dict[str, Any]:
    stored = {r.key: r.value for r in session.scalars(sa.select(StationSetting))}
    return {k: stored.get(k, s.default) for k, s in SETTINGS.items()}


def put(session: Session, clock: Clock, actor: Actor, key: str, value: Any) -> Any:
    definition = _definition(key)
    value = definition.coerce(value)
    row = session.get(StationSetting, key)
    old = definition.default if row is None else row.value
    session.info.pop("settings", None)  # read again, with this value, on the next get
    if row is None:
        row = StationSetting(key=key, value=value, updated_at=clock.now(), updated_by=actor.id)
        session.add(row)
    else:
        row.value, row.updated_at, row.updated_by = value, clock.now(), actor.id
    audit.record(session, clock, actor, "setting.changed", entity_type="station_settings",
                 entity_id=key, old=old, new=value)
    signals.send_after_commit(session, signals.setting_changed, key=key, value=value)
    return value
