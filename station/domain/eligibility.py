"""When a vehicle is due for inspection, and whether it must come to the lane (检验周期与免检).

The periodic-inspection rules are **versioned data** (``RULE_SETS``): each ``RuleSet`` has a
version id, the date it took effect and its source, the cycle (检验周期) of every category of
《道路交通安全法实施条例》第十六条, and the exemption (免检) for non-commercial small and mini
passenger cars, if any. A new rule is a new ``RuleSet`` row, never an ``if`` in the engine.
docs/ELIGIBILITY.md has the tables, the sources and worked examples.

Definitions the engine uses (all counted in months, never in days):

* **Expiry (检验有效期至)**: the last day of a month. The licence prints only a year and a
  month, so any ``inspection_valid_until`` is read as the last day of its month.
* **Due points**: whole months after the month of first registration (初次登记). A cycle is a
  list of phases ``(from_years, interval_months)``; from registration (month 0) each due point
  is the previous one plus the interval of the phase the previous one lies in, cut short at the
  start of the next phase, so every phase starts with a due point. "Every 2 years within 6
  years, yearly after 6, every 6 months after 15" gives months 24, 48, 72, 84, …, 180, 186, ….
* **Year n (第n年)**: the inspection due *m* months after the registration month is the one of
  year ``n = ceil(m / 12)``; "year 6" is the inspection due in the 6th anniversary month of first
  registration (m = 72). A vehicle registered on 29 February has its due points in February,
  and its expiry on the 28th (or the 29th in leap years).
* **Which rules**: the rule set in force on the expiry date decides that inspection (a car due
  on 2022-09-30 is judged by the rules before the 2022 reform, one due on 2022-10-31 by the
  reform). Without ``inspection_valid_until`` the engine walks the schedule from registration,
  each step taken under the rule set in force at its starting point, up to the first expiry on
  or after the assessment day.
* **Exemption (免检)**: a vehicle that qualifies is inspected on the lane only in the
  exemption's ``lane_years`` (2022: years 6 and 10); every other inspection up to the last of
  them is an online claim of the inspection mark (网上申领检验标志, 交管12123). After that the
  exemption's own cycle continues (2022: yearly). A vehicle that does not qualify follows the
  ordinary cycle of its category; ``Assessment.exclusions`` says why it does not qualify.
* **Booking window (预约窗口)**: from the first day of the month ``months - 1`` months before
  the expiry month through the expiry date (DOMAIN.md §3: the expiry month and the two before
  it). An online claim opens on the same day, but never before its rule set took effect.
* **Overdue (逾期)**: the assessment day is after the expiry. The vehicle must come to the lane
  whatever the exemption would have allowed, and may be booked on any day from then on.
"""

from __future__ import annotations

import calendar
import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from types import MappingProxyType

from station.domain.vehicle_codes import USE_NATURES, VEHICLE_TYPES, VehicleClass, is_commercial
from station.errors import ValidationError

#: the booking window spans the expiry month and the months before it (DOMAIN.md §3)
BOOKING_WINDOW_MONTHS = 3


# --- calendar months -------------------------------------------------------------------------

def _month_number(day: date) -> int:
    """Months since year 0, so that differences of two days are whole months."""
    return day.year * 12 + day.month - 1


def _month_end(month_number: int) -> date:
    year, month0 = divmod(month_number, 12)
    return date(year, month0 + 1, calendar.monthrange(year, month0 + 1)[1])


def month_end(day: date) -> date:
    """The last day of ``day``'s month: how an expiry printed as year and month is read."""
    return _month_end(_month_number(day))


def _add_years(day: date, years: int) -> date:
    """The same day ``years`` later; 29 February becomes 28 February in a common year."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _zh_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def booking_window(valid_until: date, *, months: int = BOOKING_WINDOW_MONTHS) -> tuple[date, date]:
    """(first day, last day) a lane inspection expiring in ``valid_until``'s month may be booked.

    The window opens on the first of the month ``months - 1`` months before the expiry month
    and closes on the expiry date (the last day of that month): expiry 2026-12-31 → from
    2026-10-01; expiry 2027-02-28 → from 2026-12-01.
    """
    if months < 1:
        raise ValueError(f"a booking window spans at least one month, not {months}")
    expiry = _month_number(valid_until)
    opens = _month_end(expiry - (months - 1)).replace(day=1)
    return opens, _month_end(expiry)


# --- the rule data ---------------------------------------------------------------------------

class Category(enum.StrEnum):
    """The vehicle categories of 《道路交通安全法实施条例》第十六条, plus the exempt cars."""

    COMMERCIAL_PASSENGER = "commercial_passenger"  # 营运载客汽车 (item 1)
    GOODS = "goods"  # 载货汽车, with tractors and trailers (item 2)
    LARGE_PASSENGER = "large_passenger"  # 大型、中型非营运载客汽车 (item 2)
    SMALL_PASSENGER = "small_passenger"  # 小型、微型非营运载客汽车 (item 3)
    SMALL_PASSENGER_EXEMPT = "small_passenger_exempt"  # the same, qualifying for 免检


CATEGORY_LABELS: Mapping[Category, tuple[str, str]] = MappingProxyType({
    Category.COMMERCIAL_PASSENGER: ("营运载客汽车", "commercial passenger vehicle"),
    Category.GOODS: ("载货汽车（含牵引车、挂车）", "goods vehicle (trucks, tractors, trailers)"),
    Category.LARGE_PASSENGER: ("大型、中型非营运载客汽车",
                               "large or medium non-commercial passenger vehicle"),
    Category.SMALL_PASSENGER: ("小型、微型非营运载客汽车",
                               "small or mini non-commercial passenger vehicle"),
    Category.SMALL_PASSENGER_EXEMPT: ("非营运小微型载客汽车（面包车除外，适用免检）",
                                      "non-commercial small or mini passenger car "
                                      "(not a van; exemption applies)"),
})

#: first letters of GA 24.4 vehicle type codes: K passenger; the goods bodies are listed below
PASSENGER_BODY = "K"
TRAILER_BODY = "B"
GOODS_BODIES: Mapping[str, tuple[str, str]] = MappingProxyType({
    "H": ("载货汽车", "truck"),
    "Q": ("牵引车", "tractor"),
    TRAILER_BODY: ("挂车，按载货汽车周期检验", "trailer, inspected on the truck cycle"),
})


@dataclass(frozen=True)
class Phase:
    """From ``from_years`` after registration on, one inspection every ``interval_months``."""

    from_years: int
    interval_months: int


def _interval_text(months: int) -> tuple[str, str]:
    if months == 12:
        return "每年", "every year"
    if months % 12 == 0:
        return f"每{months // 12}年", f"every {months // 12} years"
    return f"每{months}个月", f"every {months} months"


@dataclass(frozen=True)
class Cycle:
    """An inspection cycle (检验周期): phases by age, the first from registration."""

    phases: tuple[Phase, ...]

    def __post_init__(self) -> None:
        starts = [phase.from_years for phase in self.phases]
        if not starts or starts[0] != 0 or starts != sorted(set(starts)):
            raise ValueError(f"phases must start at year 0 and ascend: {starts}")
        if any(phase.interval_months < 1 for phase in self.phases):
            raise ValueError("every interval is at least one month")

    def next_due(self, after: int) -> int:
        """The first due point (months after registration) later than month ``after``.

        ``after`` need not be a due point of this cycle (a vehicle that comes from another
        rule set or category joins this schedule at its next point).
        """
        index = max(i for i, phase in enumerate(self.phases) if phase.from_years * 12 <= after)
        start = self.phases[index].from_years * 12
        step = self.phases[index].interval_months
        point = start + ((after - start) // step + 1) * step
        if index + 1 < len(self.phases):
            point = min(point, self.phases[index + 1].from_years * 12)
        return point

    def describe(self, *, from_years: int = 0) -> tuple[str, str]:
        """The cycle in words (Chinese, English), leaving out the phases before ``from_years``."""
        zh: list[str] = []
        en: list[str] = []
        for index, phase in enumerate(self.phases):
            following = self.phases[index + 1].from_years if index + 1 < len(self.phases) else None
            if following is not None and following <= from_years:
                continue
            every_zh, every_en = _interval_text(phase.interval_months)
            start = max(phase.from_years, from_years)
            if start == 0 and following is not None:
                zh.append(f"{following}年以内{every_zh}检验1次")
                en.append(f"{every_en} within {following} years")
            elif start == 0:
                zh.append(f"{every_zh}检验1次")
                en.append(every_en)
            else:
                zh.append(f"超过{start}年的{every_zh}检验1次")
                en.append(f"{every_en} after {start} years")
        return "；".join(zh), "; ".join(en)


@dataclass(frozen=True)
class Exemption:
    """Who qualifies for 免检 and what it changes. Everyone else keeps the ordinary cycle."""

    #: GA 24.4 vehicle types that qualify (the small/mini passenger types except vans, 面包车)
    vehicle_types: frozenset[str]
    #: GA 24.3 use natures that qualify: only 非营运 (A); 营转非 L and 出租转非 M do not
    use_natures: frozenset[str]
    max_seats: int
    #: first registered more than this many years after manufacture (出厂) → no exemption
    max_registration_delay_years: int
    #: the years within the exemption that still need the lane; the exemption ends with the last
    lane_years: tuple[int, ...]
    #: the due points of a qualifying car, during and after the exemption
    cycle: Cycle

    @property
    def until_year(self) -> int:
        return max(self.lane_years)


@dataclass(frozen=True)
class RuleSet:
    """One version of the periodic-inspection rules, in force from ``effective_from``."""

    version: str
    effective_from: date
    title_zh: str
    title_en: str
    source: str
    #: the ordinary cycle of each category of 第十六条 (every category but the exempt one)
    cycles: Mapping[Category, Cycle]
    exemption: Exemption | None = None
    booking_window_months: int = BOOKING_WINDOW_MONTHS


ARTICLE_16 = ("《中华人民共和国道路交通安全法实施条例》（国务院令第405号）第十六条，"
              "2004年5月1日起施行")

#: 第十六条 (一)–(三); item (4) motorcycles and (5) tractors have no code in VEHICLE_TYPES yet
ARTICLE_16_CYCLES: Mapping[Category, Cycle] = MappingProxyType({
    Category.COMMERCIAL_PASSENGER: Cycle((Phase(0, 12), Phase(5, 6))),
    Category.GOODS: Cycle((Phase(0, 12), Phase(10, 6))),
    Category.LARGE_PASSENGER: Cycle((Phase(0, 12), Phase(10, 6))),
    Category.SMALL_PASSENGER: Cycle((Phase(0, 24), Phase(6, 12), Phase(15, 6))),
})

_EXEMPTION_2014 = Exemption(
    vehicle_types=frozenset({"K31", "K33", "K41", "K43"}),  # K39 小型面包车 is left out
    use_natures=frozenset({"A"}),
    max_seats=6,
    max_registration_delay_years=4,
    lane_years=(6,),
    cycle=ARTICLE_16_CYCLES[Category.SMALL_PASSENGER],
)

RULE_SETS: tuple[RuleSet, ...] = (
    RuleSet(
        version="art16-2004",
        effective_from=date(2004, 5, 1),
        title_zh="道路交通安全法实施条例第十六条",
        title_en="Road Traffic Safety Law Implementing Regulations, article 16",
        source=ARTICLE_16,
        cycles=ARTICLE_16_CYCLES,
    ),
    RuleSet(
        version="exempt6-2014",
        effective_from=date(2014, 9, 1),
        title_zh="6年以内非营运小微型载客汽车免检（6座及以下）",
        title_en="6-year exemption for non-commercial small cars (up to 6 seats)",
        source=("公安部、国家质检总局《关于加强和改进机动车检验工作的意见》（2014年9月1日起施行）："
                "6年以内的非营运轿车和其他小型、微型载客汽车（面包车、7座及7座以上车辆除外）"
                "免予上线检验，每2年申领检验标志；其余周期仍按" + ARTICLE_16),
        cycles=ARTICLE_16_CYCLES,
        exemption=_EXEMPTION_2014,
    ),
    RuleSet(
        version="exempt6-2020",
        effective_from=date(2020, 11, 20),
        title_zh="6年免检扩大到7至9座",
        title_en="6-year exemption extended to 7–9 seats",
        source=("公安部公安交管便利措施（2020年11月20日起施行）：7座至9座非营运小微型载客汽车"
                "（面包车除外）纳入6年免检；其余仍按2014年意见和" + ARTICLE_16),
        cycles=ARTICLE_16_CYCLES,
        exemption=replace(_EXEMPTION_2014, max_seats=9),
    ),
    RuleSet(
        version="reform-2022",
        effective_from=date(2022, 10, 1),
        title_zh="机动车检验制度改革：10年内第6年、第10年上线检验",
        title_en="2022 inspection reform: lane tests in years 6 and 10 only",
        source=("公安部、市场监管总局、生态环境部《关于深化机动车检验制度改革优化车检服务工作的意见》"
                "（2022年10月1日起施行）：非营运小微型载客汽车（面包车除外）10年内第6年、第10年"
                "上线检验，第2、4、8年网上申领检验标志，超过10年的每年检验1次；面包车、"
                "营运转非营运、发生过造成人员伤亡交通事故的、非法改装被依法处罚的车辆除外；"
                "出厂后超过4年未注册登记的除外（DOMAIN.md §12）；其余周期仍按" + ARTICLE_16),
        cycles=ARTICLE_16_CYCLES,
        exemption=replace(_EXEMPTION_2014, max_seats=9, lane_years=(6, 10),
                          cycle=Cycle((Phase(0, 24), Phase(10, 12)))),
    ),
)


def _history(rules: Sequence[RuleSet] | None) -> tuple[RuleSet, ...]:
    history = tuple(sorted(RULE_SETS if rules is None else rules, key=lambda r: r.effective_from))
    if not history:
        raise ValueError("at least one rule set is needed")
    return history


def _in_force(day: date, history: tuple[RuleSet, ...]) -> RuleSet:
    in_force = [rule_set for rule_set in history if rule_set.effective_from <= day]
    return in_force[-1] if in_force else history[0]


def rule_set_on(day: date, rules: Sequence[RuleSet] | None = None) -> RuleSet:
    """The rule set in force on ``day`` (the oldest one also stands for the time before it)."""
    return _in_force(day, _history(rules))


# --- the vehicle -----------------------------------------------------------------------------

def _invalid(field_name: str, message_zh: str, message_en: str, **details: object) -> ValidationError:
    return ValidationError("vehicle_facts_invalid", message_zh, message_en,
                           field=field_name, **details)


_DATE_LABELS = {
    "first_registered_on": ("初次登记日期", "The first registration date"),
    "manufactured_on": ("出厂日期", "The manufacture date"),
    "inspection_valid_until": ("检验有效期", "The inspection valid-until date"),
    "on": ("评估日期", "The assessment day"),
}


def _check_date(field_name: str, value: object, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, date) or isinstance(value, datetime):
        label_zh, label_en = _DATE_LABELS[field_name]
        raise _invalid(field_name, f"{label_zh}应为日期（年-月-日），收到的是“{value}”。",
                       f"{label_en} must be a date (year-month-day), got {value!r}.")


@dataclass(frozen=True)
class VehicleFacts:
    """What the vehicle record (机动车登记信息) says that decides the inspection cycle."""

    vehicle_type: str  # 车辆类型, GA 24.4 code (VEHICLE_TYPES)
    use_nature: str  # 使用性质, GA 24.3 code (USE_NATURES)
    seats: int  # 核定载客人数
    first_registered_on: date  # 初次登记日期
    manufactured_on: date | None = None  # 出厂日期
    inspection_valid_until: date | None = None  # 检验有效期至 (its month counts)
    injury_accident: bool = False  # 发生过造成人员伤亡的交通事故
    illegally_modified: bool = False  # 非法改装被依法处罚

    def __post_init__(self) -> None:
        known_types = VEHICLE_TYPES.keys()
        code = self.vehicle_type
        if code not in known_types or code[0] not in {PASSENGER_BODY, *GOODS_BODIES}:
            raise _invalid("vehicle_type",
                           f"车辆类型代码“{code}”无法识别，可用代码：{'、'.join(known_types)}。",
                           f"Unknown vehicle type code {code!r}; known: {', '.join(known_types)}.",
                           found=code)
        if self.use_nature not in USE_NATURES:
            raise _invalid("use_nature",
                           f"使用性质代码“{self.use_nature}”无法识别，可用代码："
                           f"{'、'.join(USE_NATURES)}。",
                           f"Unknown use nature code {self.use_nature!r}; "
                           f"known: {', '.join(USE_NATURES)}.", found=self.use_nature)
        # a trailer carries nobody (核定载客 0); every other vehicle has at least the driver's seat
        least = 0 if code[0] == TRAILER_BODY else 1
        if not isinstance(self.seats, int) or isinstance(self.seats, bool) or self.seats < least:
            raise _invalid("seats", f"核定载客人数应为不小于{least}的整数，录入的是“{self.seats}”。",
                           f"Seats must be a whole number of at least {least}, got {self.seats!r}.",
                           found=self.seats)
        _check_date("first_registered_on", self.first_registered_on)
        _check_date("manufactured_on", self.manufactured_on, optional=True)
        _check_date("inspection_valid_until", self.inspection_valid_until, optional=True)
        registered = self.first_registered_on
        if self.manufactured_on is not None and registered < self.manufactured_on:
            raise _invalid("first_registered_on",
                           f"初次登记日期{_zh_date(registered)}早于出厂日期"
                           f"{_zh_date(self.manufactured_on)}，请核对。",
                           f"First registration {registered} is before manufacture "
                           f"{self.manufactured_on}; please check.")
        valid_until = self.inspection_valid_until
        if valid_until is not None and _month_number(valid_until) <= _month_number(registered):
            raise _invalid("inspection_valid_until",
                           f"检验有效期至{valid_until.year}年{valid_until.month}月，不晚于初次登记"
                           f"月份{registered.year}年{registered.month}月，请核对。",
                           f"Inspection valid until {valid_until:%Y-%m} is not after the month of "
                           f"first registration {registered:%Y-%m}; please check.")


# --- the assessment --------------------------------------------------------------------------

class Action(enum.StrEnum):
    LANE_TEST = "lane_test"  # must come to the station; the booking window is open
    ONLINE_CLAIM = "online_claim"  # the mark is claimed online (交管12123), nothing to book
    NOT_YET = "not_yet"  # a lane test, but the booking window has not opened
    OVERDUE = "overdue"  # the expiry has passed: must come, may be fined


@dataclass(frozen=True)
class Reason:
    """One sentence a person reads, in Chinese and English, with a stable code."""

    code: str
    zh: str
    en: str

    def text(self, lang: str = "zh") -> str:
        return self.en if lang.startswith("en") else self.zh


@dataclass(frozen=True)
class Assessment:
    """When the vehicle is due, under which rules, and what its owner has to do (as of ``on``)."""

    on: date
    rules: RuleSet
    category: Category
    category_reason: Reason
    #: why the vehicle does not qualify for the exemption (empty when it does or none exists)
    exclusions: tuple[Reason, ...]
    due_date: date
    #: True when the due date was computed from the registration date and the cycle
    due_date_computed: bool
    due_reason: Reason
    inspection_year: int
    #: the inspection due on ``due_date`` is an online claim when done in time
    online_claim: bool
    action: Action
    action_reason: Reason
    booking_opens_on: date

    @property
    def reasons(self) -> tuple[Reason, Reason, Reason]:
        """What the owner or the counter reads: the category, the due date, the action."""
        return self.category_reason, self.due_reason, self.action_reason

    @property
    def rules_version(self) -> str:
        return self.rules.version

    @property
    def booking_window(self) -> tuple[date, date]:
        return self.booking_opens_on, self.due_date


def is_bookable(assessment: Assessment, day: date) -> bool:
    """May a lane inspection be booked for ``day``?

    Only lane inspections are booked, from the window's first day; an overdue vehicle must come,
    so a day after the expiry stays bookable, even for an inspection that would have been an
    online claim in time.
    """
    if day < assessment.booking_opens_on:
        return False
    return not assessment.online_claim or day > assessment.due_date


def _describe_vehicle(facts: VehicleFacts) -> tuple[str, str]:
    type_zh, type_en, _ = VEHICLE_TYPES[facts.vehicle_type]
    nature_zh, nature_en, _ = USE_NATURES[facts.use_nature]
    zh = (f"{type_zh}（{facts.vehicle_type}），使用性质{nature_zh}（{facts.use_nature}），"
          f"核定载客{facts.seats}人")
    en = (f"{type_en} ({facts.vehicle_type}), use {nature_en} ({facts.use_nature}), "
          f"{facts.seats} seats")
    return zh, en


def _ordinary_category(facts: VehicleFacts) -> Category:
    if facts.vehicle_type[0] in GOODS_BODIES:
        return Category.GOODS
    if is_commercial(facts.use_nature):
        return Category.COMMERCIAL_PASSENGER
    if VEHICLE_TYPES[facts.vehicle_type][2] is VehicleClass.LARGE:
        return Category.LARGE_PASSENGER
    return Category.SMALL_PASSENGER


def _exclusions(facts: VehicleFacts, exemption: Exemption) -> tuple[Reason, ...]:
    """Every reason the small non-commercial passenger car ``facts`` is not exempt."""
    found: list[Reason] = []
    if facts.vehicle_type not in exemption.vehicle_types:
        type_zh, type_en, _ = VEHICLE_TYPES[facts.vehicle_type]
        found.append(Reason("excluded_vehicle_type",
                            f"车辆类型为{type_zh}（{facts.vehicle_type}），面包车不适用免检",
                            f"the vehicle type is {type_en} ({facts.vehicle_type}); vans are "
                            f"not exempt"))
    if facts.use_nature not in exemption.use_natures:
        nature_zh, nature_en, _ = USE_NATURES[facts.use_nature]
        found.append(Reason("excluded_use_nature",
                            f"使用性质为{nature_zh}（{facts.use_nature}），免检仅适用于使用性质为"
                            f"“非营运”的车辆",
                            f"the use nature is {nature_en} ({facts.use_nature}); only vehicles "
                            f"in non-commercial use are exempt"))
    if facts.seats > exemption.max_seats:
        found.append(Reason("excluded_seats",
                            f"核定载客{facts.seats}人，超过免检的{exemption.max_seats}人上限",
                            f"{facts.seats} seats, more than the exemption's "
                            f"{exemption.max_seats}"))
    if facts.injury_accident:
        found.append(Reason("excluded_injury_accident", "发生过造成人员伤亡的交通事故",
                            "it has been in a traffic accident with injuries or deaths"))
    if facts.illegally_modified:
        found.append(Reason("excluded_illegally_modified", "因非法改装被依法处罚过",
                            "it was penalised for illegal modification"))
    delay = exemption.max_registration_delay_years
    if (facts.manufactured_on is not None
            and facts.first_registered_on > _add_years(facts.manufactured_on, delay)):
        found.append(Reason("excluded_late_registration",
                            f"出厂日期{_zh_date(facts.manufactured_on)}，初次登记"
                            f"{_zh_date(facts.first_registered_on)}，出厂后超过{delay}年才注册登记",
                            f"manufactured {facts.manufactured_on} but first registered "
                            f"{facts.first_registered_on}, more than {delay} years later"))
    return tuple(found)


def _classify(facts: VehicleFacts, rules: RuleSet) -> tuple[Category, Cycle, tuple[Reason, ...]]:
    category = _ordinary_category(facts)
    if category is not Category.SMALL_PASSENGER or rules.exemption is None:
        return category, rules.cycles[category], ()
    exclusions = _exclusions(facts, rules.exemption)
    if exclusions:
        return category, rules.cycles[category], exclusions
    return Category.SMALL_PASSENGER_EXEMPT, rules.exemption.cycle, ()


def _category_reason(facts: VehicleFacts, rules: RuleSet, category: Category, cycle: Cycle,
                     exclusions: tuple[Reason, ...], year: int) -> Reason:
    vehicle_zh, vehicle_en = _describe_vehicle(facts)
    label_zh, label_en = CATEGORY_LABELS[category]
    exemption = rules.exemption
    if category is Category.SMALL_PASSENGER_EXEMPT and exemption is not None:
        until = exemption.until_year
        lanes_zh = "、".join(f"第{n}年" for n in exemption.lane_years)
        lanes_en = " and ".join(f"year {n}" for n in exemption.lane_years)
        after_zh, after_en = cycle.describe(from_years=until)
        if year <= until:
            age_zh, age_en = f"注册不满{until}年", f"under {until} years since registration"
        else:
            age_zh, age_en = f"注册已超过{until}年", f"more than {until} years since registration"
        return Reason(
            category.value,
            f"{vehicle_zh}：属于{label_zh}，{age_zh}（本次为注册后第{year}年的检验）。"
            f"{until}年以内仅{lanes_zh}上线检验，其余年份通过交管12123申领检验标志；{after_zh}"
            f"（{rules.title_zh}）。",
            f"{vehicle_en}: a {label_en}, {age_en} (this is the year-{year} inspection). "
            f"Within {until} years it comes to the lane only in {lanes_en}; in the other years "
            f"the inspection mark is claimed online via 交管12123; then {after_en} "
            f"({rules.title_en}).")
    cycle_zh, cycle_en = cycle.describe()
    if category is Category.GOODS:
        body_zh, body_en = GOODS_BODIES[facts.vehicle_type[0]]
        type_zh, type_en, _ = VEHICLE_TYPES[facts.vehicle_type]
        vehicle_zh = f"{type_zh}（{facts.vehicle_type}，{body_zh}）"
        vehicle_en = f"{type_en} ({facts.vehicle_type}, {body_en})"
    zh = (f"{vehicle_zh}：属于{label_zh}，{cycle_zh}（本次为注册后第{year}年的检验，"
          f"依据道路交通安全法实施条例第十六条）。")
    en = (f"{vehicle_en}: a {label_en}, inspected {cycle_en} (this is the year-{year} "
          f"inspection; Road Traffic Safety Law Implementing Regulations, article 16).")
    if exclusions:
        zh += "不适用免检：" + "；".join(reason.zh for reason in exclusions) + "。"
        en += " Not exempt: " + "; ".join(reason.en for reason in exclusions) + "."
    return Reason(category.value, zh, en)


def _computed_due_month(facts: VehicleFacts, on: date, history: tuple[RuleSet, ...]) -> int:
    """Months from the registration month to the first expiry on or after ``on``."""
    registered = facts.first_registered_on
    base = _month_number(registered)
    point = 0
    while True:
        starts_on = registered if point == 0 else _month_end(base + point)
        _, cycle, _ = _classify(facts, _in_force(starts_on, history))
        point = cycle.next_due(point)
        if _month_end(base + point) >= on:
            return point


def assess(facts: VehicleFacts, on: date, *, rules: Sequence[RuleSet] | None = None) -> Assessment:
    """When ``facts``' vehicle is due, and whether it must come to the lane, as of day ``on``.

    ``rules`` is the history of rule sets to choose from (default ``RULE_SETS``). Raises
    ``ValidationError`` (code ``vehicle_facts_invalid``) when the vehicle was registered after
    ``on``.
    """
    _check_date("on", on)
    registered = facts.first_registered_on
    if registered > on:
        raise _invalid("first_registered_on",
                       f"初次登记日期{_zh_date(registered)}晚于评估日期{_zh_date(on)}，请核对。",
                       f"First registration {registered} is after the assessment day {on}; "
                       f"please check.")
    history = _history(rules)
    base = _month_number(registered)
    if facts.inspection_valid_until is not None:
        due = month_end(facts.inspection_valid_until)
        months = _month_number(due) - base
        due_reason = Reason("due_from_licence",
                            f"检验有效期至{due.year}年{due.month}月（行驶证记载），即{_zh_date(due)}。",
                            f"The inspection is valid until {due:%Y-%m} (as on the licence), "
                            f"that is {due}.")
    else:
        months = _computed_due_month(facts, on, history)
        due = _month_end(base + months)
        due_reason = Reason("due_computed",
                            f"未提供检验有效期，按初次登记日期{_zh_date(registered)}和检验周期推算："
                            f"检验有效期至{_zh_date(due)}。",
                            f"No inspection expiry given; computed from the first registration "
                            f"{registered} and the cycle: valid until {due}.")
    year = (months + 11) // 12
    rules_then = _in_force(due, history)
    category, cycle, exclusions = _classify(facts, rules_then)
    exemption = rules_then.exemption
    online = (category is Category.SMALL_PASSENGER_EXEMPT and exemption is not None
              and year <= exemption.until_year and year not in exemption.lane_years)
    opens, _ = booking_window(due, months=rules_then.booking_window_months)
    if online:
        opens = max(opens, rules_then.effective_from)
    action, action_reason = _action(on, due, opens, online)
    return Assessment(
        on=on, rules=rules_then, category=category,
        category_reason=_category_reason(facts, rules_then, category, cycle, exclusions, year),
        exclusions=exclusions, due_date=due,
        due_date_computed=facts.inspection_valid_until is None, due_reason=due_reason,
        inspection_year=year, online_claim=online, action=action, action_reason=action_reason,
        booking_opens_on=opens)


def _action(on: date, due: date, opens: date, online: bool) -> tuple[Action, Reason]:
    if on > due:
        late = (on - due).days
        return Action.OVERDUE, Reason(
            Action.OVERDUE.value,
            f"检验有效期已于{_zh_date(due)}届满，已逾期{late}天：车辆须尽快到检验机构上线检验，"
            f"逾期未检验的车辆上道路行驶可能被依法处罚（罚款、记分）。",
            f"The inspection expired on {due}, {late} days ago: the vehicle must come to the "
            f"station for a lane test as soon as possible; a driver who takes it on the road "
            f"before it passes may be fined and lose licence points.")
    if online:
        return Action.ONLINE_CLAIM, Reason(
            Action.ONLINE_CLAIM.value,
            f"本次无需上线检验，请通过交管12123申领检验标志（{_zh_date(opens)}起可申领，"
            f"最晚{_zh_date(due)}）。",
            f"No lane test this time: claim the inspection mark online through the 交管12123 "
            f"app (from {opens} until the expiry on {due}).")
    if on < opens:
        return Action.NOT_YET, Reason(
            Action.NOT_YET.value,
            f"本次须上线检验，尚未到预约时间：自{_zh_date(opens)}起可预约，"
            f"最晚{_zh_date(due)}完成检验。",
            f"This inspection needs the lane, but booking is not open yet: it opens on {opens}; "
            f"the inspection must be done by {due}.")
    return Action.LANE_TEST, Reason(
        Action.LANE_TEST.value,
        f"本次须上线检验：请在{_zh_date(opens)}至{_zh_date(due)}期间预约并到检验机构检验。",
        f"This inspection needs the lane: book and come to the station between {opens} and "
        f"{due}.")
