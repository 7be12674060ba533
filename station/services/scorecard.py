"""The station's own scorecard (站内考评): daily, weekly and monthly figures and the points the
seed's assessment would give where the data allows.

Booking figures come from :mod:`station.services.figures` (summed per period, not computed
again); ratings, cases, waits, time in station and the key handover are computed here.

The assessment rules are seed 001 (绍兴市 2021 车辆检测"一件事"集成改革考核办法, 附件2):

==========================  ======  ===============================================
item                        points  rule
==========================  ======  ===============================================
好评率 (good-rate)            15      ≥ 98 %; 1 point less per 0.2 % below (a started
                                      step counts), not below 0
线上预约率 (online share)      8      ≥ 50 %; 0.5 point less per 1 % below, not below 0
差评逐条核查 (bad ratings      4      every bad rating checked and closed within its
checked one by one)                   deadline
交钥匙服务 (key handover)      8      every served visit went through the key handover
优化检测流程 (process order)   2      uniqueness check / online query first on every lane
量值溯源 (instruments)         3      −1 per instrument used past its verification
一窗通办 (single window)       4      assessed on site: not computable from the data
==========================  ======  ===============================================
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from fractions import Fraction
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from station.clock import Clock
from station.domain.journey import VisitState
from station.models import AuditEntry, InspectionItemResult, StationKind, Visit, VisitTransition
from station.models.feedback import CaseKind, CaseState, FeedbackCase, Rating
from station.models.inspection import ItemOutcome
from station.models.instrument import Conclusion, DailyCheck, Instrument, Verification

from . import figures

#: seed 001: good-rate target and its step
TARGET_GOOD_RATE = Fraction(98, 100)
GOOD_RATE_POINTS = Fraction(15)
GOOD_RATE_STEP = Fraction(2, 1000)          # 0.2 %
GOOD_RATE_STEP_POINTS = Fraction(1)
#: seed 001: online booking share target and its step (target shared with figures.py)
TARGET_ONLINE_RATE = Fraction(figures.TARGET_ONLINE_RATE).limit_denominator(1000)
ONLINE_RATE_POINTS = Fraction(8)
ONLINE_RATE_STEP = Fraction(1, 100)         # 1 %
ONLINE_RATE_STEP_POINTS = Fraction(1, 2)
BAD_CHECKED_POINTS = Fraction(4)
KEY_HANDOVER_POINTS = Fraction(8)
PROCESS_ORDER_POINTS = Fraction(2)
INSTRUMENT_POINTS = Fraction(3)
SINGLE_WINDOW_POINTS = Fraction(4)

GRANULARITIES = ("day", "week", "month")
#: how many periods a series shows by default
DEFAULT_COUNT = {"day": 14, "week": 12, "month": 6}
SERVED_STATES = frozenset({VisitState.CALLED, VisitState.REGISTERED, VisitState.QUEUED_FOR_LANE,
                           VisitState.ON_LANE, VisitState.TESTED, VisitState.PAPERS_PRINTED,
                           VisitState.KEYS_RETURNED, VisitState.CLOSED})


def stepped_points(rate: Fraction | None, target: Fraction, full: Fraction, step: Fraction,
                   per_step: Fraction) -> Fraction | None:
    """Full points at or above ``target``; ``per_step`` less for every started ``step`` below
    it; never below zero. ``None`` when there is no rate (nothing to score)."""
    if rate is None:
        return None
    if rate >= target:
        return full
    steps = math.ceil((target - rate) / step)
    return max(Fraction(0), full - steps * per_step)


def good_rate_points(good: int, total: int) -> Fraction | None:
    rate = Fraction(good, total) if total else None
    return stepped_points(rate, TARGET_GOOD_RATE, GOOD_RATE_POINTS, GOOD_RATE_STEP,
                          GOOD_RATE_STEP_POINTS)


def online_rate_points(online: int, booked: int) -> Fraction | None:
    rate = Fraction(online, booked) if booked else None
    return stepped_points(rate, TARGET_ONLINE_RATE, ONLINE_RATE_POINTS, ONLINE_RATE_STEP,
                          ONLINE_RATE_STEP_POINTS)


_rate = figures.rate


def _mean(values: list[float]) -> float | None:
    return round(sum(values) / len(values), 1) if values else None


@dataclass
class PeriodFigures(figures.BookingRates):
    label: str
    first: date
    last: date
    ratings: int = 0
    good: int = 0
    bad: int = 0
    arrivals: int = 0
    booked: int = 0
    online: int = 0
    due: int = 0
    no_shows: int = 0
    served: int = 0
    key_handover: int = 0
    waits_min: list[float] = field(default_factory=list)
    stays_min: list[float] = field(default_factory=list)
    bad_cases: int = 0
    bad_cases_late: int = 0
    complaints: int = 0
    tested_with_items: int = 0
    uniqueness_first: int = 0
    blocked_events: int = 0
    blocked_stations: set[str] = field(default_factory=set)
    #: instruments whose station recorded an item result while they were not usable
    #: (verification lapsed or not 合格, or no passed daily check that day)
    used_past_verification: set[int] = field(default_factory=set)

    @property
    def good_rate(self) -> float | None:
        return _rate(self.good, self.ratings)

    @property
    def key_handover_share(self) -> float | None:
        return _rate(self.key_handover, self.served)

    def points(self) -> list[dict[str, Any]]:
        """The seed's assessment items with the points this period's data would earn."""
        def item(code: str, zh: str, en: str, full: Fraction, got: Fraction | None,
                 basis: str, note: str = "") -> dict[str, Any]:
            return {"code": code, "label": zh, "label_en": en, "max": float(full),
                    "points": None if got is None else float(got), "basis": basis, "note": note}

        def pct(v: float | None) -> str:
            return "—" if v is None else f"{v * 100:.1f}%"

        bad_checked = None if self.bad_cases == 0 and self.ratings == 0 else (
            BAD_CHECKED_POINTS if self.bad_cases_late == 0 else Fraction(0))
        keys = None if self.served == 0 else (
            KEY_HANDOVER_POINTS if self.key_handover == self.served else Fraction(0))
        order = None if self.tested_with_items == 0 else (
            PROCESS_ORDER_POINTS if self.uniqueness_first == self.tested_with_items
            else Fraction(0))
        return [
            item("good_rate", "好评率", "Good-rate", GOOD_RATE_POINTS,
                 good_rate_points(self.good, self.ratings),
                 f"{pct(self.good_rate)}（{self.good}/{self.ratings}），目标≥98%"),
            item("online_rate", "线上预约率", "Online booking share", ONLINE_RATE_POINTS,
                 online_rate_points(self.online, self.booked),
                 f"{pct(self.online_rate)}（{self.online}/{self.booked}），目标≥50%"),
            item("bad_checked", "差评逐条核查", "Bad ratings checked one by one",
                 BAD_CHECKED_POINTS, bad_checked,
                 f"差评{self.bad_cases}条，逾期未办结或逾期办结{self.bad_cases_late}条"),
            item("key_handover", "交钥匙服务", "Key handover", KEY_HANDOVER_POINTS, keys,
                 f"{pct(self.key_handover_share)}（{self.key_handover}/{self.served}）",
                 "按数据：每辆办理车辆均经交钥匙环节"),
            item("process_order", "优化检测流程", "Process order", PROCESS_ORDER_POINTS, order,
                 f"唯一性检查首检 {self.uniqueness_first}/{self.tested_with_items}"),
            item("instruments", "量值溯源管理", "Metering instruments", INSTRUMENT_POINTS,
                 max(Fraction(0), INSTRUMENT_POINTS - len(self.used_past_verification)),
                 f"超期或未日检使用{len(self.used_past_verification)}台；"
                 f"检测线/工位封停{self.blocked_events}次（{len(self.blocked_stations)}处）"),
            item("single_window", "一窗通办", "Single window", SINGLE_WINDOW_POINTS, None, "—",
                 "现场评估项目"),
        ]

    def as_dict(self) -> dict[str, Any]:
        points = self.points()
        scored = [p for p in points if p["points"] is not None]
        return {
            "label": self.label, "first": self.first.isoformat(), "last": self.last.isoformat(),
            "ratings": self.ratings, "good": self.good, "bad": self.bad,
            "good_rate": self.good_rate, "arrivals": self.arrivals, "booked": self.booked,
            "online": self.online, "due": self.due, "no_shows": self.no_shows,
            "appointment_rate": self.appointment_rate, "online_rate": self.online_rate,
            "no_show_rate": self.no_show_rate, "served": self.served,
            "key_handover": self.key_handover, "key_handover_share": self.key_handover_share,
            "wait_avg_min": _mean(self.waits_min), "stay_avg_min": _mean(self.stays_min),
            "bad_cases": self.bad_cases, "bad_cases_late": self.bad_cases_late,
            "complaints": self.complaints, "blocked_events": self.blocked_events,
            "blocked_stations": len(self.blocked_stations),
            "used_past_verification": len(self.used_past_verification),
            "points": points,
            "points_scored": sum(p["points"] for p in scored),
            "points_possible": sum(p["max"] for p in scored),
        }


def buckets(granularity: str, last_day: date, count: int) -> list[tuple[str, date, date]]:
    """``count`` consecutive periods ending with the one holding ``last_day``."""
    if granularity not in GRANULARITIES:
        raise ValueError(granularity)
    out: list[tuple[str, date, date]] = []
    if granularity == "day":
        for n in range(count - 1, -1, -1):
            d = last_day - timedelta(days=n)
            out.append((d.strftime("%m-%d"), d, d))
    elif granularity == "week":
        monday = last_day - timedelta(days=last_day.weekday())
        for n in range(count - 1, -1, -1):
            first = monday - timedelta(weeks=n)
            out.append((f"{first:%m-%d}周", first, first + timedelta(days=6)))
    else:
        year, month = last_day.year, last_day.month
        months = []
        for _ in range(count):
            months.append((year, month))
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        for y, m in reversed(months):
            first = date(y, m, 1)
            nxt = date(y + (m == 12), m % 12 + 1, 1)
            out.append((f"{y}-{m:02d}", first, nxt - timedelta(days=1)))
    return out


def series(session: Session, clock: Clock, granularity: str, *, last_day: date | None = None,
           count: int | None = None) -> list[PeriodFigures]:
    spans = buckets(granularity, last_day or clock.today(), count or DEFAULT_COUNT[granularity])
    periods = [PeriodFigures(label, first, last) for label, first, last in spans]
    _fill(session, clock, periods)
    return periods


def period(session: Session, clock: Clock, first: date, last: date,
           label: str | None = None) -> PeriodFigures:
    out = PeriodFigures(label or f"{first}–{last}", first, last)
    _fill(session, clock, [out])
    return out


def _fill(session: Session, clock: Clock, periods: list[PeriodFigures]) -> None:
    if not periods:
        return
    first, last = periods[0].first, periods[-1].last
    start, _ = clock.day_bounds(first)
    _, end = clock.day_bounds(last)

    def bucket(at: datetime) -> PeriodFigures | None:
        day = clock.local(at).date()
        return next((p for p in periods if p.first <= day <= p.last), None)

    # booking figures: reuse figures.py, summed per period
    for day in figures.figures(session, clock, first, last):
        p = next(p for p in periods if p.first <= day.day <= p.last)
        p.arrivals += day.arrivals
        p.booked += day.booked
        p.online += day.online
        p.due += day.due
        p.no_shows += day.no_shows

    for rating in session.scalars(sa.select(Rating).where(Rating.rated_at >= start,
                                                          Rating.rated_at < end)):
        p = bucket(rating.rated_at)
        if p is not None:
            p.ratings += 1
            p.bad += rating.bad
            p.good += not rating.bad

    for case in session.scalars(sa.select(FeedbackCase).where(FeedbackCase.opened_at >= start,
                                                              FeedbackCase.opened_at < end)):
        p = bucket(case.opened_at)
        if p is None:
            continue
        if case.kind is CaseKind.COMPLAINT:
            p.complaints += 1
            continue
        p.bad_cases += 1
        late = (case.closed_at > case.due_at if case.state is CaseState.CLOSED and case.closed_at
                else clock.now() >= case.due_at)
        p.bad_cases_late += late

    _fill_visits(session, clock, periods, start, end, bucket)
    _fill_instruments(session, clock, start, end, bucket)

    for entry in session.scalars(sa.select(AuditEntry).where(
            AuditEntry.at >= start, AuditEntry.at < end,
            AuditEntry.action.in_(("station.state_changed", "lane.state_changed")))):
        if (entry.details or {}).get("state") != "blocked":
            continue
        p = bucket(entry.at)
        if p is not None:
            p.blocked_events += 1
            p.blocked_stations.add(f"{entry.entity_type}:{entry.entity_id}")


def _fill_instruments(session: Session, clock: Clock, start: datetime, end: datetime,
                      bucket: Any) -> None:
    """Instruments used past their verification: an item result recorded at their station at a
    moment when no qualified verification covered the day or no daily check had passed."""
    results = session.execute(sa.select(InspectionItemResult.station_id, InspectionItemResult.at)
                              .where(InspectionItemResult.at >= start, InspectionItemResult.at < end,
                                     InspectionItemResult.station_id.is_not(None),
                                     InspectionItemResult.outcome != ItemOutcome.SKIPPED)).all()
    if not results:
        return
    stations = {sid for sid, _ in results}
    by_station: dict[int, list[int]] = defaultdict(list)
    for instrument_id, station_id in session.execute(
            sa.select(Instrument.id, Instrument.lane_station_id)
            .where(Instrument.lane_station_id.in_(stations))):
        by_station[station_id].append(instrument_id)
    ids = [i for group in by_station.values() for i in group]
    covered: dict[int, list[tuple[date, date]]] = defaultdict(list)
    for instrument_id, verified_on, valid_until in session.execute(
            sa.select(Verification.instrument_id, Verification.verified_on, Verification.valid_until)
            .where(Verification.instrument_id.in_(ids), Verification.conclusion == Conclusion.QUALIFIED)):
        covered[instrument_id].append((verified_on, valid_until))
    checked = {(i, d) for i, d in session.execute(
        sa.select(DailyCheck.instrument_id, DailyCheck.day)
        .where(DailyCheck.instrument_id.in_(ids), DailyCheck.passed.is_(True)))}
    for station_id, at in results:
        day = clock.local(at).date()
        for instrument_id in by_station.get(station_id, ()):
            valid = any(a <= day <= b for a, b in covered[instrument_id])
            if not valid or (instrument_id, day) not in checked:
                p = bucket(at)
                if p is not None:
                    p.used_past_verification.add(instrument_id)


def _fill_visits(session: Session, clock: Clock, periods: list[PeriodFigures], start: datetime,
                 end: datetime, bucket: Any) -> None:
    """Waits, time in station, key handover and process order of the visits that arrived."""
    arrived = dict(session.execute(sa.select(Visit.id, Visit.arrived_at).where(
        Visit.arrived_at >= start, Visit.arrived_at < end)).all())
    if not arrived:
        return
    moves: dict[int, dict[VisitState, datetime]] = defaultdict(dict)
    ids = list(arrived)
    for chunk in range(0, len(ids), 500):
        for visit_id, to_state, at in session.execute(
                sa.select(VisitTransition.visit_id, VisitTransition.to_state, VisitTransition.at)
                .where(VisitTransition.visit_id.in_(ids[chunk:chunk + 500]))
                .order_by(VisitTransition.id)):
            moves[visit_id].setdefault(to_state, at)  # the first time it got there
    first_item: dict[int, StationKind] = {}
    for chunk in range(0, len(ids), 500):
        for visit_id, group in session.execute(
                sa.select(InspectionItemResult.visit_id, InspectionItemResult.group)
                .where(InspectionItemResult.visit_id.in_(ids[chunk:chunk + 500]))
                .order_by(InspectionItemResult.at, InspectionItemResult.id)):
            first_item.setdefault(visit_id, group)
    for visit_id, arrived_at in arrived.items():
        p = bucket(arrived_at)
        if p is None:
            continue
        states = moves.get(visit_id, {})
        if SERVED_STATES & states.keys():
            p.served += 1
            p.key_handover += VisitState.KEYS_HANDED_OVER in states
        called = states.get(VisitState.CALLED)
        if called is not None:
            p.waits_min.append((called - arrived_at).total_seconds() / 60)
        left = states.get(VisitState.CLOSED)
        if left is not None:
            p.stays_min.append((left - arrived_at).total_seconds() / 60)
        if visit_id in first_item:
            p.tested_with_items += 1
            p.uniqueness_first += first_item[visit_id] is StationKind.UNIQUENESS


def scorecard(session: Session, clock: Clock, granularity: str, *,
              last_day: date | None = None, count: int | None = None) -> dict[str, Any]:
    """What the manager's scorecard screen and API show."""
    periods = series(session, clock, granularity, last_day=last_day, count=count)
    rows = [p.as_dict() for p in periods]
    return {"granularity": granularity, "periods": rows, "current": rows[-1],
            "targets": {"good_rate": float(TARGET_GOOD_RATE),
                        "appointment_rate": figures.TARGET_APPOINTMENT_RATE,
                        "online_rate": figures.TARGET_ONLINE_RATE}}
