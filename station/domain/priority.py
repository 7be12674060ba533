"""The station's priority policy (优先规则): one order for everyone waiting.

The same pure function orders the counter queue (叫号) and the lane queue (派线). It takes the
people waiting, the current instant and a ``PolicyConfig`` and returns every one of them with
a 1-based rank, the tier and the time it was ordered by, and a reason a person can read in
Chinese and English. Nothing here reads a clock, a database or a request.

The rules, strongest first (docs/PRIORITY.md has worked examples):

1. **Escalation (超时优先)**: anyone who has waited *more than* ``max_wait_min`` since
   ``arrived_at`` is served next, oldest arrival first. This overrides every other rule, so no
   one — walk-ins included — is starved.
2. **Special needs (绿色通道)**: the elderly, disabled and emergencies, by arrival
   (if ``special_needs_priority``).
3. **The queue**: everyone else by one priority-key time.
   Walk-ins and late bookings by ``arrived_at``; bookings that are on time or early by their
   ``slot_start``; retests by ``arrived_at`` minus their credit (see ``PolicyConfig``).
   Ties: slot-keyed bookings and prioritised retests before walk-in order, then the earlier
   arrival, then ``str(id)``.

A booking checked in at ``arrived_at`` is *late* if ``arrived_at > slot_start + late_min``
(exactly ``late_min`` after the slot start is still on time) and *early* if
``arrived_at < slot_start - early_min`` (exactly ``early_min`` before is on time). Early and
on-time bookings are both keyed by their slot start, so a booking never overtakes anyone who
arrived before its slot began; ``early_min`` only changes the explanation.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from station.errors import ValidationError


class Category(enum.StrEnum):
    """How the person came: booked (预约), walk-in (现场), retest (复检)."""

    BOOKED = "booked"
    WALK_IN = "walk_in"
    RETEST = "retest"


class Tier(enum.StrEnum):
    """The three tiers, strongest first (see ``TIER_ORDER``)."""

    ESCALATED = "escalated"
    SPECIAL_NEEDS = "special_needs"
    QUEUE = "queue"


TIER_ORDER: tuple[Tier, ...] = (Tier.ESCALATED, Tier.SPECIAL_NEEDS, Tier.QUEUE)


class ReasonCode(enum.StrEnum):
    """The fixed set of reasons a position can give."""

    ESCALATED = "escalated"
    SPECIAL_NEEDS = "special_needs"
    BOOKED_ON_TIME = "booked_on_time"
    BOOKED_EARLY = "booked_early"
    BOOKED_LATE = "booked_late"
    RETEST = "retest"
    WALK_IN = "walk_in"
    ARRIVAL_ORDER = "arrival_order"


class CheckInTiming(enum.StrEnum):
    """A booking's check-in against its slot's window."""

    EARLY = "early"
    ON_TIME = "on_time"
    LATE = "late"


# At equal priority keys, slot-keyed bookings and prioritised retests go before walk-in order.
_BOOKING_CLASS = 0
_ARRIVAL_CLASS = 1


def _is_aware(moment: object) -> bool:
    return isinstance(moment, datetime) and moment.utcoffset() is not None


def _minutes(value: object, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValidationError(
            "priority_config_invalid",
            f"优先规则参数 {name} 应为不小于0的整数分钟。",
            f"Priority setting {name} must be a whole number of minutes, 0 or more.",
            setting=name)
    return value


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    """The numbers of the priority policy; each default is written here once.

    ``retest_priority``: ``True`` (default) — a retest is treated like an on-time booking whose
    "slot" is its arrival: keyed by ``arrived_at`` and going before walk-ins at equal keys.
    ``False`` — a retest queues exactly like a walk-in. A whole number ``n`` of minutes — keyed by
    ``arrived_at - n`` minutes (it goes ahead of walk-ins who arrived up to ``n`` minutes before
    it), with the same tie rule as ``True``; ``0`` is the same as ``True``.
    """

    early_min: int = 30
    late_min: int = 15
    max_wait_min: int = 60
    retest_priority: bool | int = True
    special_needs_priority: bool = True
    #: the plain first-come-first-served baseline (no rule above applies): everyone by
    #: ``arrived_at``; kept to measure the policy against (the station-day simulator)
    first_come_first_served: bool = False

    def __post_init__(self) -> None:
        _minutes(self.early_min, "early_min")
        _minutes(self.late_min, "late_min")
        _minutes(self.max_wait_min, "max_wait_min")
        if not isinstance(self.retest_priority, bool):
            _minutes(self.retest_priority, "retest_priority")
        for name in ("special_needs_priority", "first_come_first_served"):
            if not isinstance(getattr(self, name), bool):
                raise ValidationError(
                    "priority_config_invalid",
                    f"优先规则参数 {name} 应为是或否。",
                    f"Priority setting {name} must be true or false.", setting=name)

    @property
    def max_wait(self) -> timedelta:
        return timedelta(minutes=self.max_wait_min)

    @property
    def retest_credit(self) -> timedelta | None:
        """How far a retest's key is moved before its arrival; None: it queues as a walk-in."""
        if self.retest_priority is False:
            return None
        if self.retest_priority is True:
            return timedelta(0)
        return timedelta(minutes=self.retest_priority)


DEFAULT_CONFIG = PolicyConfig()


def _entry_invalid(message_zh: str, message_en: str, **details: object) -> ValidationError:
    return ValidationError("priority_entry_invalid", message_zh, message_en, **details)


@dataclass(frozen=True, slots=True)
class Waiting:
    """One person (with their car) waiting in a queue.

    ``arrived_at``: when they checked in (取号) or joined this queue. ``slot_start``: the start
    of the booked time slot — required for a booking, refused for anything else (a booked
    retest that should rank as a booking is passed as ``"booked"``). ``label`` (e.g. the ticket
    number ``A012``) is carried for the caller and plays no part in the order.
    """

    id: Hashable
    category: Category | str
    arrived_at: datetime
    slot_start: datetime | None = None
    special_needs: bool = False
    label: str | None = None

    def __post_init__(self) -> None:
        try:
            category = Category(self.category)
        except ValueError:
            raise _entry_invalid(
                f"排队类别「{self.category}」无效，应为 booked、walk_in 或 retest。",
                f"Queue category {self.category!r} is invalid: booked, walk_in or retest.",
                id=str(self.id)) from None
        object.__setattr__(self, "category", category)
        if not _is_aware(self.arrived_at):
            raise _entry_invalid("到达时间须带时区。",
                                 "The arrival time must be timezone-aware.", id=str(self.id))
        if category is Category.BOOKED and self.slot_start is None:
            raise _entry_invalid("预约排队须有预约时段开始时间。",
                                 "A booking needs the start of its slot.", id=str(self.id))
        if category is not Category.BOOKED and self.slot_start is not None:
            raise _entry_invalid("只有预约才有预约时段。",
                                 "Only a booking has a slot.", id=str(self.id))
        if self.slot_start is not None and not _is_aware(self.slot_start):
            raise _entry_invalid("预约时段开始时间须带时区。",
                                 "The slot start must be timezone-aware.", id=str(self.id))
        if not isinstance(self.special_needs, bool):
            raise _entry_invalid("绿色通道标记应为是或否。",
                                 "special_needs must be true or false.", id=str(self.id))


@dataclass(frozen=True, slots=True)
class Explanation:
    """Where one entry stands on its own: its tier, the time it is ordered by, and why."""

    id: Hashable
    tier: Tier
    key: datetime
    reason_code: ReasonCode
    reason_zh: str
    reason_en: str

    def reason(self, lang: str = "zh") -> str:
        return self.reason_en if lang.startswith("en") else self.reason_zh


@dataclass(frozen=True, slots=True)
class Position:
    """One entry's place in the order: ``rank`` 1 is served next."""

    id: Hashable
    rank: int
    tier: Tier
    key: datetime
    reason_code: ReasonCode
    reason_zh: str
    reason_en: str

    def reason(self, lang: str = "zh") -> str:
        return self.reason_en if lang.startswith("en") else self.reason_zh


def check_in_timing(arrived_at: datetime, slot_start: datetime,
                    config: PolicyConfig = DEFAULT_CONFIG) -> CheckInTiming:
    """Early, on time or late; both window edges count as on time."""
    if arrived_at > slot_start + timedelta(minutes=config.late_min):
        return CheckInTiming.LATE
    if arrived_at < slot_start - timedelta(minutes=config.early_min):
        return CheckInTiming.EARLY
    return CheckInTiming.ON_TIME


def _assess(entry: Waiting, now: datetime,
            config: PolicyConfig) -> tuple[Explanation, tuple[int, datetime, int, datetime, str]]:
    """The entry's explanation and the tuple it is sorted by."""
    tier, key, tie_class, code = _classify(entry, now, config)
    explanation = Explanation(entry.id, tier, key, code, *_reason(code, config))
    return explanation, _sort_key(entry, tier, key, tie_class)


def _sort_key(entry: Waiting, tier: Tier, key: datetime,
              tie_class: int) -> tuple[int, datetime, int, datetime, str]:
    return (TIER_ORDER.index(tier), key, tie_class, entry.arrived_at, str(entry.id))


def _reason(code: ReasonCode, config: PolicyConfig) -> tuple[str, str]:
    """The reason a person reads, in Chinese and English."""
    if code is ReasonCode.ESCALATED:
        n = config.max_wait_min
        return f"等候超过{n}分钟", f"Waiting over {n} min"
    if code is ReasonCode.RETEST and config.retest_credit is None:
        return "复检，按现场排队", "Retest: walk-in order"
    if code is ReasonCode.RETEST and config.retest_credit:
        n = config.retest_priority
        return f"复检，提前{n}分钟排序", f"Retest: {n} min ahead of arrival order"
    return _REASONS[code]


_REASONS: dict[ReasonCode, tuple[str, str]] = {
    ReasonCode.ARRIVAL_ORDER: ("按到达顺序", "In order of arrival"),
    ReasonCode.SPECIAL_NEEDS: ("绿色通道", "Priority service"),
    ReasonCode.BOOKED_LATE: ("预约迟到，按现场排队", "Late for booking: walk-in order"),
    ReasonCode.BOOKED_EARLY: ("预约提前到达，按预约时段排序", "Early for booking: ordered by slot"),
    ReasonCode.BOOKED_ON_TIME: ("预约优先", "Booked, on time"),
    ReasonCode.RETEST: ("复检", "Retest"),
    ReasonCode.WALK_IN: ("现场排队", "Walk-in, in order of arrival"),
}


def _classify(entry: Waiting, now: datetime, config: PolicyConfig
              ) -> tuple[Tier, datetime, int, ReasonCode]:
    arrived = entry.arrived_at
    if config.first_come_first_served:
        return Tier.QUEUE, arrived, _ARRIVAL_CLASS, ReasonCode.ARRIVAL_ORDER
    # slot_start is set exactly for bookings (Waiting checks it), so timing is None otherwise
    timing = (None if entry.slot_start is None
              else check_in_timing(arrived, entry.slot_start, config))
    # the tie class stays with the entry in every tier (escalated, green channel or queue)
    slot_keyed = timing is not None and timing is not CheckInTiming.LATE
    prioritised_retest = entry.category is Category.RETEST and config.retest_credit is not None
    tie_class = _BOOKING_CLASS if slot_keyed or prioritised_retest else _ARRIVAL_CLASS

    if now - arrived > config.max_wait:
        return Tier.ESCALATED, arrived, tie_class, ReasonCode.ESCALATED
    if entry.special_needs and config.special_needs_priority:
        return Tier.SPECIAL_NEEDS, arrived, tie_class, ReasonCode.SPECIAL_NEEDS
    if entry.slot_start is not None:
        if timing is CheckInTiming.LATE:
            return Tier.QUEUE, arrived, tie_class, ReasonCode.BOOKED_LATE
        if timing is CheckInTiming.EARLY:
            return Tier.QUEUE, entry.slot_start, tie_class, ReasonCode.BOOKED_EARLY
        return Tier.QUEUE, entry.slot_start, tie_class, ReasonCode.BOOKED_ON_TIME
    if entry.category is Category.RETEST:
        credit = config.retest_credit
        key = arrived if credit is None else arrived - credit
        return Tier.QUEUE, key, tie_class, ReasonCode.RETEST
    return Tier.QUEUE, arrived, tie_class, ReasonCode.WALK_IN


def _check_now(now: datetime) -> None:
    if not _is_aware(now):
        raise ValidationError("priority_entry_invalid", "当前时间须带时区。",
                              "The current time must be timezone-aware.")


def explain(entry: Waiting, now: datetime, config: PolicyConfig = DEFAULT_CONFIG) -> Explanation:
    """Why ``entry`` stands where it does at ``now`` (its tier, key and reason), without a rank.

    An entry whose ``arrived_at`` is after ``now`` (clocks a moment apart) has waited nothing.
    """
    _check_now(now)
    return _assess(entry, now, config)[0]


def _distinct(waiting: Iterable[Waiting]) -> list[Waiting]:
    entries = list(waiting)
    seen: set[str] = set()
    for entry in entries:
        text = str(entry.id)
        if text in seen:
            raise ValidationError("priority_duplicate_id", f"排队编号「{text}」重复。",
                                  f"Queue id {text!r} appears twice.", id=text)
        seen.add(text)
    return entries


def order(waiting: Iterable[Waiting], now: datetime,
          config: PolicyConfig = DEFAULT_CONFIG) -> list[Position]:
    """Everyone waiting, in the order they are to be served, ranked from 1.

    The result depends only on the set of entries, ``now`` and ``config`` — never on the order
    of ``waiting``. Ids must be distinct as text (``str(id)``), the last tie-break.
    """
    _check_now(now)
    assessed = sorted((_assess(entry, now, config) for entry in _distinct(waiting)),
                      key=lambda pair: pair[1])
    return [Position(e.id, rank, e.tier, e.key, e.reason_code, e.reason_zh, e.reason_en)
            for rank, (e, _) in enumerate(assessed, start=1)]


def rank_of(waiting: Iterable[Waiting], entry_id: Hashable, now: datetime,
            config: PolicyConfig = DEFAULT_CONFIG) -> Position | None:
    """The one entry's position in ``order(waiting, now, config)`` (None if it is not there),
    without ordering everyone: its rank is 1 + the entries that sort before it."""
    _check_now(now)
    keys = []
    target: tuple[Waiting, Tier, datetime, ReasonCode, tuple[Any, ...]] | None = None
    for entry in _distinct(waiting):
        tier, key, tie_class, code = _classify(entry, now, config)
        sort_key = _sort_key(entry, tier, key, tie_class)
        keys.append(sort_key)
        if entry.id == entry_id:
            target = (entry, tier, key, code, sort_key)
    if target is None:
        return None
    entry, tier, key, code, mine = target
    rank = 1 + sum(1 for other in keys if other < mine)
    return Position(entry.id, rank, tier, key, code, *_reason(code, config))


def latest_key(entry: Waiting) -> datetime:
    """The latest time ``entry`` can be ordered by, at any ``now`` under any config: its slot
    start when that is later than its arrival, else its arrival. (A booking is keyed by its
    slot start or its arrival; a retest by its arrival or earlier; everyone else, escalated and
    green channel included, by their arrival.)"""
    slot = entry.slot_start
    return slot if slot is not None and slot > entry.arrived_at else entry.arrived_at


def ahead_bound(entry: Waiting, now: datetime, config: PolicyConfig = DEFAULT_CONFIG
                ) -> datetime | None:
    """An instant such that every other entry whose ``latest_key`` is before it sorts before
    ``entry``: its own key when it is in the queue tier. None in the escalated and green-channel
    tiers, where no such bound holds.

    So a newcomer's place needs only a count of the entries before the bound and the order of
    the few after it (``station.services.queue.place_of``), not everyone's."""
    _check_now(now)
    tier, key, _, _ = _classify(entry, now, config)
    return key if tier is Tier.QUEUE else None


def next_up(waiting: Iterable[Waiting], now: datetime,
            config: PolicyConfig = DEFAULT_CONFIG) -> Position | None:
    """The one to call next (rank 1), or None if nobody is waiting."""
    positions = order(waiting, now, config)
    return positions[0] if positions else None
