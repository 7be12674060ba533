"""Inspection eligibility (检验周期与免检): versioned rule sets and the assessment engine."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station.domain.eligibility import (
    BOOKING_WINDOW_MONTHS,
    RULE_SETS,
    Action,
    Assessment,
    Category,
    Cycle,
    Phase,
    RuleSet,
    VehicleFacts,
    assess,
    booking_window,
    is_bookable,
    month_end,
    rule_set_on,
)
from station.domain.vehicle_codes import USE_NATURES, VEHICLE_TYPES
from station.errors import ValidationError

PROPERTY_SETTINGS = settings(derandomize=True, database=None, deadline=None, max_examples=200)
DOCS = Path(__file__).resolve().parents[2] / "docs" / "ELIGIBILITY.md"
CJK = re.compile(r"[\u4e00-\u9fff]")
RULES = {rule_set.version: rule_set for rule_set in RULE_SETS}
REFORM = RULES["reform-2022"]


def d(text: str) -> date:
    return date.fromisoformat(text)


def month(text: str) -> date:
    """``"2026-12"`` → 2026-12-01: the licence prints a year and a month only."""
    return d(f"{text}-01")


# --- worked examples ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Example:
    id: str
    vehicle_type: str
    use_nature: str
    seats: int
    registered: str
    on: str
    version: str
    category: Category
    due: str
    year: int
    action: Action
    opens: str
    valid_until: str | None = None  # "YYYY-MM"; None: the due date is computed
    manufactured: str | None = None
    flags: tuple[str, ...] = ()  # "injury", "modified"
    note: str = ""

    def facts(self) -> VehicleFacts:
        return VehicleFacts(
            vehicle_type=self.vehicle_type, use_nature=self.use_nature, seats=self.seats,
            first_registered_on=d(self.registered),
            manufactured_on=d(self.manufactured) if self.manufactured else None,
            inspection_valid_until=month(self.valid_until) if self.valid_until else None,
            injury_accident="injury" in self.flags, illegally_modified="modified" in self.flags)

    def row(self) -> str:
        """The example as a row of the table in docs/ELIGIBILITY.md."""
        cells = [self.id, self.vehicle_type, self.use_nature, str(self.seats), self.registered,
                 self.manufactured or "—", self.valid_until or "—", ", ".join(self.flags) or "—",
                 self.on, self.version, self.category.value, self.due, str(self.year),
                 self.action.value, self.opens, self.note]
        return "| " + " | ".join(cells) + " |"


C, A = Category, Action
PRIVATE = {"vehicle_type": "K33", "use_nature": "A", "seats": 5, "registered": "2020-06-15"}
YEAR4 = {**PRIVATE, "valid_until": "2024-06", "on": "2024-05-10", "version": "reform-2022",
         "due": "2024-06-30", "year": 4, "opens": "2024-04-01"}
EXCLUDED = {**YEAR4, "category": C.SMALL_PASSENGER, "action": A.LANE_TEST}

EXAMPLES = [
    # a private car through its life: years 2, 4, 6, 8, 10, 11, then yearly
    Example("P2", **PRIVATE, valid_until="2022-06", on="2022-05-10", version="exempt6-2020",
            category=C.SMALL_PASSENGER_EXEMPT, due="2022-06-30", year=2, action=A.ONLINE_CLAIM,
            opens="2022-04-01", note="year 2 before the reform: online claim"),
    Example("P4", **{**YEAR4, "category": C.SMALL_PASSENGER_EXEMPT, "action": A.ONLINE_CLAIM},
            note="year 4: online claim"),
    Example("P6", **PRIVATE, valid_until="2026-06", on="2026-05-10", version="reform-2022",
            category=C.SMALL_PASSENGER_EXEMPT, due="2026-06-30", year=6, action=A.LANE_TEST,
            opens="2026-04-01", note="year 6: lane"),
    Example("P8", **PRIVATE, valid_until="2028-06", on="2028-04-01", version="reform-2022",
            category=C.SMALL_PASSENGER_EXEMPT, due="2028-06-30", year=8, action=A.ONLINE_CLAIM,
            opens="2028-04-01", note="year 8: online claim"),
    Example("P10", **PRIVATE, valid_until="2030-06", on="2030-03-31", version="reform-2022",
            category=C.SMALL_PASSENGER_EXEMPT, due="2030-06-30", year=10, action=A.NOT_YET,
            opens="2030-04-01", note="year 10: lane, the day before booking opens"),
    Example("P11", **PRIVATE, valid_until="2031-06", on="2031-06-30", version="reform-2022",
            category=C.SMALL_PASSENGER_EXEMPT, due="2031-06-30", year=11, action=A.LANE_TEST,
            opens="2031-04-01", note="year 11: lane, on the expiry day itself"),
    Example("P17", **PRIVATE, on="2036-07-01", version="reform-2022",
            category=C.SMALL_PASSENGER_EXEMPT, due="2037-06-30", year=17, action=A.NOT_YET,
            opens="2037-04-01", note="computed: yearly after 10 years, no half-year step at 15"),
    # the reform's effective date: the rules in force on the due date decide
    Example("R1", "K33", "A", 5, "2014-09-20", valid_until="2022-09", on="2022-08-01",
            version="exempt6-2020", category=C.SMALL_PASSENGER_EXEMPT, due="2022-09-30", year=8,
            action=A.LANE_TEST, opens="2022-07-01", note="year 8 due before 2022-10-01: lane"),
    Example("R2", "K33", "A", 5, "2014-10-08", valid_until="2022-10", on="2022-09-15",
            version="reform-2022", category=C.SMALL_PASSENGER_EXEMPT, due="2022-10-31", year=8,
            action=A.ONLINE_CLAIM, opens="2022-10-01",
            note="year 8 due after 2022-10-01: online claim, not before the reform"),
    Example("R3", "K33", "A", 5, "2015-11-03", valid_until="2022-11", on="2022-10-10",
            version="reform-2022", category=C.SMALL_PASSENGER_EXEMPT, due="2022-11-30", year=7,
            action=A.ONLINE_CLAIM, opens="2022-10-01",
            note="year 7 (yearly under the old rules) after the reform: online claim"),
    Example("H1", "K33", "A", 5, "2005-07-01", valid_until="2007-07", on="2007-06-01",
            version="art16-2004", category=C.SMALL_PASSENGER, due="2007-07-31", year=2,
            action=A.LANE_TEST, opens="2007-05-01", note="before any exemption: lane"),
    # a 7-seat car: not exempt under the 2014 rules (≤ 6 seats), exempt from 2020-11-20
    Example("S4", "K31", "A", 7, "2015-03-05", valid_until="2019-03", on="2019-02-01",
            version="exempt6-2014", category=C.SMALL_PASSENGER, due="2019-03-31", year=4,
            action=A.LANE_TEST, opens="2019-01-01", note="7 seats in 2019: lane"),
    Example("S6", "K31", "A", 7, "2015-03-05", valid_until="2021-03", on="2021-01-01",
            version="exempt6-2020", category=C.SMALL_PASSENGER_EXEMPT, due="2021-03-31", year=6,
            action=A.LANE_TEST, opens="2021-01-01", note="year 6: lane"),
    Example("S8", "K31", "A", 7, "2015-03-05", on="2023-01-01", version="reform-2022",
            category=C.SMALL_PASSENGER_EXEMPT, due="2023-03-31", year=8, action=A.ONLINE_CLAIM,
            opens="2023-01-01", note="computed across three rule sets"),
    # every exclusion, on the year-4 inspection of the private car under the reform
    Example("X1", **{**EXCLUDED, "vehicle_type": "K39", "seats": 7}, note="van (面包车)"),
    Example("X2", **EXCLUDED, flags=("injury",), note="injury accident"),
    Example("X3", **EXCLUDED, flags=("modified",), note="illegally modified"),
    Example("X4", **{**EXCLUDED, "use_nature": "L"}, note="营转非"),
    Example("X5", **{**EXCLUDED, "use_nature": "M"}, note="出租转非"),
    Example("X6", **EXCLUDED, manufactured="2016-06-14",
            note="registered 4 years and a day after manufacture"),
    Example("X7", **{**YEAR4, "category": C.SMALL_PASSENGER_EXEMPT, "action": A.ONLINE_CLAIM},
            manufactured="2016-06-15", note="registered exactly 4 years after manufacture"),
    Example("X8", **{**EXCLUDED, "use_nature": "H"}, note="police car: only 非营运 (A) is exempt"),
    # the ordinary cycle of small cars (excluded ones) and the 29 February registration
    Example("V16a", "K39", "A", 7, "2008-02-29", on="2023-03-01", version="reform-2022",
            category=C.SMALL_PASSENGER, due="2023-08-31", year=16, action=A.NOT_YET,
            opens="2023-06-01", note="van past 15 years: every 6 months"),
    Example("V16b", "K39", "A", 7, "2008-02-29", on="2024-01-01", version="reform-2022",
            category=C.SMALL_PASSENGER, due="2024-02-29", year=16, action=A.LANE_TEST,
            opens="2023-12-01", note="29 February: expiry on the 29th in a leap year"),
    Example("F2", "K33", "A", 5, "2020-02-29", on="2020-03-01", version="exempt6-2020",
            category=C.SMALL_PASSENGER_EXEMPT, due="2022-02-28", year=2, action=A.ONLINE_CLAIM,
            opens="2021-12-01", note="29 February: expiry on the 28th in a common year"),
    Example("F4", "K33", "A", 5, "2020-02-29", on="2022-03-01", version="reform-2022",
            category=C.SMALL_PASSENGER_EXEMPT, due="2024-02-29", year=4, action=A.ONLINE_CLAIM,
            opens="2023-12-01", note="February expiry: booking opens in December"),
    # commercial passenger vehicles: yearly for 5 years, then every 6 months
    Example("T1", "K33", "D", 5, "2019-04-10", on="2020-01-01", version="exempt6-2014",
            category=C.COMMERCIAL_PASSENGER, due="2020-04-30", year=1, action=A.NOT_YET,
            opens="2020-02-01", note="taxi, year 1"),
    Example("T5", "K33", "D", 5, "2019-04-10", on="2024-04-15", version="reform-2022",
            category=C.COMMERCIAL_PASSENGER, due="2024-04-30", year=5, action=A.LANE_TEST,
            opens="2024-02-01", note="taxi, the last yearly inspection"),
    Example("T6", "K33", "D", 5, "2019-04-10", on="2024-05-01", version="reform-2022",
            category=C.COMMERCIAL_PASSENGER, due="2024-10-31", year=6, action=A.NOT_YET,
            opens="2024-08-01", note="taxi after 5 years: 6 months"),
    Example("B6", "K11", "B", 45, "2018-07-01", on="2023-08-01", version="reform-2022",
            category=C.COMMERCIAL_PASSENGER, due="2024-01-31", year=6, action=A.NOT_YET,
            opens="2023-11-01", note="coach after 5 years: 6 months, January expiry"),
    Example("G1", "K33", "G", 5, "2021-09-01", on="2022-08-15", version="exempt6-2020",
            category=C.COMMERCIAL_PASSENGER, due="2022-09-30", year=1, action=A.LANE_TEST,
            opens="2022-07-01", note="rental car: commercial, yearly"),
    # goods vehicles and large/medium non-commercial passenger vehicles: 10 years, then 6 months
    Example("H10", "H11", "F", 3, "2012-05-20", on="2022-05-31", version="exempt6-2020",
            category=C.GOODS, due="2022-05-31", year=10, action=A.LANE_TEST, opens="2022-03-01",
            note="heavy truck, year 10"),
    Example("H11", "H11", "F", 3, "2012-05-20", on="2022-06-01", version="reform-2022",
            category=C.GOODS, due="2022-11-30", year=11, action=A.NOT_YET, opens="2022-09-01",
            note="heavy truck after 10 years: 6 months"),
    Example("L11", "K21", "A", 19, "2013-01-10", on="2023-02-01", version="reform-2022",
            category=C.LARGE_PASSENGER, due="2023-07-31", year=11, action=A.NOT_YET,
            opens="2023-05-01", note="medium bus, private: like trucks"),
    Example("B11", "B11", "F", 0, "2014-08-08", on="2024-09-01", version="reform-2022",
            category=C.GOODS, due="2025-02-28", year=11, action=A.NOT_YET, opens="2024-12-01",
            note="semi-trailer follows trucks"),
    Example("Q5", "Q11", "F", 2, "2020-01-15", valid_until="2025-01", on="2025-02-03",
            version="reform-2022", category=C.GOODS, due="2025-01-31", year=5,
            action=A.OVERDUE, opens="2024-11-01", note="tractor, 3 days overdue"),
    Example("H1a", "H31", "A", 2, "2021-09-09", on="2022-01-01", version="exempt6-2020",
            category=C.GOODS, due="2022-09-30", year=1, action=A.NOT_YET, opens="2022-07-01",
            note="light truck in private use: still a truck"),
    # overdue and the booking window across the year end
    Example("O1", **{**YEAR4, "category": C.SMALL_PASSENGER_EXEMPT, "action": A.OVERDUE,
                     "on": "2024-07-01"}, note="online claim missed: must come"),
    Example("W12", "K43", "A", 4, "2010-12-01", valid_until="2026-12", on="2026-10-01",
            version="reform-2022", category=C.SMALL_PASSENGER_EXEMPT, due="2026-12-31",
            year=16, action=A.LANE_TEST, opens="2026-10-01", note="December expiry → October"),
    Example("W2", "K41", "A", 9, "2019-02-11", valid_until="2025-02", on="2024-12-01",
            version="reform-2022", category=C.SMALL_PASSENGER_EXEMPT, due="2025-02-28", year=6,
            action=A.LANE_TEST, opens="2024-12-01", note="February expiry → December before"),
]


@pytest.mark.parametrize("example", EXAMPLES, ids=[example.id for example in EXAMPLES])
def test_worked_example(example: Example) -> None:
    result = assess(example.facts(), d(example.on))
    got = (result.rules_version, result.category, result.due_date, result.inspection_year,
           result.action, result.booking_opens_on)
    want = (example.version, example.category, d(example.due), example.year, example.action,
            d(example.opens))
    assert got == want
    assert result.due_date_computed is (example.valid_until is None)
    assert result.booking_window == (d(example.opens), d(example.due))


def test_examples_cover_every_category_and_action() -> None:
    assert {example.category for example in EXAMPLES} == set(Category)
    assert {example.action for example in EXAMPLES} == set(Action)
    assert {example.version for example in EXAMPLES} == set(RULES)


EXCLUSION_CODES = {
    "X1": "excluded_vehicle_type", "X2": "excluded_injury_accident",
    "X3": "excluded_illegally_modified", "X4": "excluded_use_nature",
    "X5": "excluded_use_nature", "X6": "excluded_late_registration",
    "X8": "excluded_use_nature", "S4": "excluded_seats",
}


@pytest.mark.parametrize(("example_id", "code"), sorted(EXCLUSION_CODES.items()))
def test_each_exclusion_is_named(example_id: str, code: str) -> None:
    example = next(example for example in EXAMPLES if example.id == example_id)
    result = assess(example.facts(), d(example.on))
    assert [reason.code for reason in result.exclusions] == [code]
    assert result.exclusions[0].zh in result.category_reason.zh
    assert result.exclusions[0].en in result.category_reason.en


def test_every_exclusion_at_once_is_listed_in_order() -> None:
    facts = VehicleFacts("K39", "L", 11, d("2020-06-15"), manufactured_on=d("2010-01-01"),
                         injury_accident=True, illegally_modified=True)
    codes = [reason.code for reason in assess(facts, d("2021-01-01")).exclusions]
    assert codes == ["excluded_vehicle_type", "excluded_use_nature", "excluded_seats",
                     "excluded_injury_accident", "excluded_illegally_modified",
                     "excluded_late_registration"]


def test_docs_show_every_worked_example() -> None:
    text = DOCS.read_text(encoding="utf-8")
    missing = [example.id for example in EXAMPLES if example.row() not in text]
    assert not missing, f"docs/ELIGIBILITY.md lacks or differs in rows {missing}"


def test_docs_name_every_rule_set() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for rule_set in RULE_SETS:
        assert f"`{rule_set.version}`" in text
        assert rule_set.effective_from.isoformat() in text


# --- the messages a person reads ----------------------------------------------------------------

def test_the_reasons_say_it_in_both_languages() -> None:
    car = VehicleFacts("K33", "A", 5, d("2020-06-15"), inspection_valid_until=month("2024-06"))
    online = assess(car, d("2024-05-10"))
    assert online.action_reason.zh.startswith("本次无需上线检验，请通过交管12123申领检验标志")
    assert "claim the inspection mark online" in online.action_reason.en
    assert "注册不满10年" in online.category_reason.zh
    assert "第6年、第10年上线检验" in online.category_reason.zh
    assert online.due_reason.code == "due_from_licence" and "2024年6月30日" in online.due_reason.zh
    overdue = assess(car, d("2024-07-11"))
    assert "已逾期11天" in overdue.action_reason.zh and "处罚" in overdue.action_reason.zh
    assert "11 days ago" in overdue.action_reason.en and "fined" in overdue.action_reason.en
    waiting = assess(replace(car, inspection_valid_until=month("2026-06")), d("2026-03-01"))
    assert "自2026年4月1日起可预约" in waiting.action_reason.zh
    assert "opens on 2026-04-01" in waiting.action_reason.en
    assert waiting.reasons == (waiting.category_reason, waiting.due_reason, waiting.action_reason)


def test_reason_text_picks_the_language() -> None:
    reason = assess(VehicleFacts("H11", "F", 3, d("2012-05-20")), d("2022-06-01")).category_reason
    assert reason.text() == reason.zh and reason.text("en-GB") == reason.en
    assert "载货汽车" in reason.zh and "超过10年的每6个月检验1次" in reason.zh
    assert "every 6 months after 10 years" in reason.en


def test_a_trailer_says_it_follows_the_truck_cycle() -> None:
    reason = assess(VehicleFacts("B11", "F", 0, d("2014-08-08")), d("2024-09-01")).category_reason
    assert "挂车，按载货汽车周期检验" in reason.zh and "trailer" in reason.en


def test_the_computed_due_date_says_so() -> None:
    result = assess(VehicleFacts("K33", "A", 5, d("2020-02-29")), d("2020-03-01"))
    assert result.due_reason.code == "due_computed"
    assert "按初次登记日期2020年2月29日和检验周期推算" in result.due_reason.zh


# --- the booking window -------------------------------------------------------------------------

@pytest.mark.parametrize(("valid_until", "opens", "closes"), [
    ("2026-12-31", "2026-10-01", "2026-12-31"),
    ("2026-12-01", "2026-10-01", "2026-12-31"),  # the licence prints only the month
    ("2027-01-15", "2026-11-01", "2027-01-31"),
    ("2027-02-10", "2026-12-01", "2027-02-28"),
    ("2028-02-10", "2027-12-01", "2028-02-29"),
    ("2026-03-31", "2026-01-01", "2026-03-31"),
])
def test_booking_window(valid_until: str, opens: str, closes: str) -> None:
    assert booking_window(d(valid_until)) == (d(opens), d(closes))


def test_booking_window_length_is_data() -> None:
    assert BOOKING_WINDOW_MONTHS == 3
    assert booking_window(d("2026-12-31"), months=1) == (d("2026-12-01"), d("2026-12-31"))
    assert booking_window(d("2026-02-01"), months=14) == (d("2025-01-01"), d("2026-02-28"))
    with pytest.raises(ValueError):
        booking_window(d("2026-12-31"), months=0)
    one_month = [replace(rule_set, booking_window_months=1) for rule_set in RULE_SETS]
    car = VehicleFacts("K33", "A", 5, d("2020-06-15"), inspection_valid_until=month("2026-06"))
    assert assess(car, d("2026-05-10"), rules=one_month).action is Action.NOT_YET
    assert assess(car, d("2026-05-10")).action is Action.LANE_TEST


def test_is_bookable() -> None:
    lane = assess(VehicleFacts("K33", "A", 5, d("2020-06-15"),
                               inspection_valid_until=month("2026-06")), d("2026-01-01"))
    assert lane.action is Action.NOT_YET
    assert not is_bookable(lane, d("2026-03-31"))
    assert is_bookable(lane, d("2026-04-01")) and is_bookable(lane, d("2026-06-30"))
    assert is_bookable(lane, d("2026-07-01"))  # overdue by then: it must come
    online = assess(VehicleFacts("K33", "A", 5, d("2020-06-15"),
                                 inspection_valid_until=month("2024-06")), d("2024-05-10"))
    assert online.action is Action.ONLINE_CLAIM
    assert not any(is_bookable(online, d("2024-04-01") + timedelta(days=n)) for n in range(91))
    assert is_bookable(online, d("2024-07-01"))  # missed the claim: now the lane


# --- the rule data ------------------------------------------------------------------------------

def test_rule_sets_are_versioned_and_cited() -> None:
    assert [rule_set.version for rule_set in RULE_SETS] == [
        "art16-2004", "exempt6-2014", "exempt6-2020", "reform-2022"]
    assert [rule_set.effective_from for rule_set in RULE_SETS] == [
        d("2004-05-01"), d("2014-09-01"), d("2020-11-20"), d("2022-10-01")]
    assert all("第十六条" in rule_set.source for rule_set in RULE_SETS)
    reform = REFORM.exemption
    assert reform is not None
    assert reform.lane_years == (6, 10) and reform.until_year == 10
    assert reform.max_seats == 9 and reform.max_registration_delay_years == 4
    assert "K39" not in reform.vehicle_types and reform.use_natures == {"A"}


@pytest.mark.parametrize(("day", "version"), [
    ("1998-01-01", "art16-2004"),  # the oldest set stands for the time before it
    ("2014-08-31", "art16-2004"),
    ("2014-09-01", "exempt6-2014"),
    ("2020-11-19", "exempt6-2014"),
    ("2020-11-20", "exempt6-2020"),
    ("2022-09-30", "exempt6-2020"),
    ("2022-10-01", "reform-2022"),
    ("2099-01-01", "reform-2022"),
])
def test_rule_set_on(day: str, version: str) -> None:
    assert rule_set_on(d(day)).version == version
    assert rule_set_on(d(day), list(reversed(RULE_SETS))).version == version


def test_rules_must_not_be_empty() -> None:
    with pytest.raises(ValueError):
        rule_set_on(d("2024-01-01"), [])


@pytest.mark.parametrize(("phases", "points"), [
    # 第十六条(三): every 2 years within 6, yearly after 6, every 6 months after 15
    (((0, 24), (6, 12), (15, 6)), [24, 48, 72, 84, 96, 108, 120, 132, 144, 156, 168, 180, 186]),
    (((0, 12), (5, 6)), [12, 24, 36, 48, 60, 66, 72]),  # (一) commercial passenger
    (((0, 12), (10, 6)), [12, 24, 36, 48, 60, 72, 84, 96, 108, 120, 126]),  # (二)
    (((0, 24), (10, 12)), [24, 48, 72, 96, 120, 132, 144]),  # 2022 exempt cars
    (((0, 24), (5, 12)), [24, 48, 60, 72]),  # a phase always starts with a due point
])
def test_cycle_due_points(phases: tuple[tuple[int, int], ...], points: list[int]) -> None:
    cycle = Cycle(tuple(Phase(*phase) for phase in phases))
    walked = [cycle.next_due(0)]
    while len(walked) < len(points):
        walked.append(cycle.next_due(walked[-1]))
    assert walked == points


def test_cycle_joins_at_the_next_point() -> None:
    exempt = REFORM.exemption
    assert exempt is not None
    assert exempt.cycle.next_due(84) == 96  # a year-7 car from the old rules: year 8 next
    assert exempt.cycle.next_due(121) == 132


@pytest.mark.parametrize("phases", [(), ((1, 12),), ((0, 12), (0, 6)), ((0, 12), (5, 0))])
def test_cycle_refuses_bad_phases(phases: tuple[tuple[int, int], ...]) -> None:
    with pytest.raises(ValueError):
        Cycle(tuple(Phase(*phase) for phase in phases))


def test_cycle_in_words() -> None:
    small = REFORM.cycles[Category.SMALL_PASSENGER]
    assert small.describe() == (
        "6年以内每2年检验1次；超过6年的每年检验1次；超过15年的每6个月检验1次",
        "every 2 years within 6 years; every year after 6 years; every 6 months after 15 years")
    assert small.describe(from_years=10) == (
        "超过10年的每年检验1次；超过15年的每6个月检验1次",
        "every year after 10 years; every 6 months after 15 years")
    assert Cycle((Phase(0, 12),)).describe() == ("每年检验1次", "every year")


def test_registration_delay_counts_whole_years_from_29_february() -> None:
    # four years after 2096-02-29 is 2100-02-28: 2100 has no 29 February
    car = VehicleFacts("K33", "A", 5, d("2100-02-28"), manufactured_on=d("2096-02-29"),
                       inspection_valid_until=month("2102-02"))
    assert assess(car, d("2102-01-01")).action is Action.ONLINE_CLAIM
    late = replace(car, first_registered_on=d("2100-03-01"), inspection_valid_until=month("2102-03"))
    result = assess(late, d("2102-02-01"))
    assert result.action is Action.LANE_TEST
    assert [reason.code for reason in result.exclusions] == ["excluded_late_registration"]


def test_registration_delay_is_a_field_of_the_rules() -> None:
    exemption = REFORM.exemption
    assert exemption is not None
    strict = replace(REFORM, exemption=replace(exemption, max_registration_delay_years=2))
    car = VehicleFacts("K33", "A", 5, d("2022-06-16"), manufactured_on=d("2020-06-15"),
                       inspection_valid_until=month("2024-06"))
    assert assess(car, d("2024-05-01")).action is Action.ONLINE_CLAIM
    assert assess(car, d("2024-05-01"), rules=[strict]).action is Action.LANE_TEST
    on_time = replace(car, first_registered_on=d("2022-06-15"))
    assert assess(on_time, d("2024-05-01"), rules=[strict]).action is Action.ONLINE_CLAIM


# --- invalid facts ------------------------------------------------------------------------------

def refused(**changes: object) -> ValidationError:
    facts = {"vehicle_type": "K33", "use_nature": "A", "seats": 5,
             "first_registered_on": d("2020-06-15"), **changes}
    with pytest.raises(ValidationError) as caught:
        VehicleFacts(**facts)  # type: ignore[arg-type]
    error = caught.value
    assert error.code == "vehicle_facts_invalid" and error.status == 422
    assert CJK.search(error.message_zh) and error.message_en
    return error


@pytest.mark.parametrize(("changes", "field_name"), [
    ({"seats": 0}, "seats"),
    ({"seats": -2}, "seats"),
    ({"seats": True}, "seats"),
    ({"seats": 2.5}, "seats"),
    ({"vehicle_type": "B11", "seats": -1}, "seats"),
    ({"vehicle_type": "K99"}, "vehicle_type"),
    ({"vehicle_type": "k33"}, "vehicle_type"),
    ({"use_nature": "X"}, "use_nature"),
    ({"manufactured_on": d("2020-06-16")}, "first_registered_on"),
    ({"inspection_valid_until": d("2020-06-30")}, "inspection_valid_until"),
    ({"inspection_valid_until": d("2019-06-30")}, "inspection_valid_until"),
    ({"first_registered_on": "2020-06-15"}, "first_registered_on"),
    ({"first_registered_on": datetime(2020, 6, 15, 9, 0)}, "first_registered_on"),
    ({"manufactured_on": "2020"}, "manufactured_on"),
])
def test_invalid_facts_are_refused(changes: dict[str, object], field_name: str) -> None:
    assert refused(**changes).details["field"] == field_name


def test_refusal_messages_are_clear() -> None:
    assert "核定载客人数" in refused(seats=0).message_zh
    assert "K99" in refused(vehicle_type="K99").message_zh
    assert "早于出厂日期" in refused(manufactured_on=d("2021-01-01")).message_zh


def test_registration_in_the_future_is_refused() -> None:
    facts = VehicleFacts("K33", "A", 5, d("2026-01-02"))
    with pytest.raises(ValidationError) as caught:
        assess(facts, d("2026-01-01"))
    assert caught.value.details["field"] == "first_registered_on"
    assert "晚于评估日期" in caught.value.message_zh
    assert assess(facts, d("2026-01-02")).due_date == d("2028-01-31")  # registered today: fine


def test_assessment_day_must_be_a_date() -> None:
    with pytest.raises(ValidationError):
        assess(VehicleFacts("K33", "A", 5, d("2020-06-15")), "2024-01-01")  # type: ignore[arg-type]


def test_a_trailer_may_carry_nobody_but_a_car_may_not() -> None:
    assert VehicleFacts("B11", "F", 0, d("2020-01-01")).seats == 0
    refused(vehicle_type="K33", seats=0)


# --- properties ---------------------------------------------------------------------------------

def months_between(first: date, second: date) -> int:
    return (second.year - first.year) * 12 + second.month - first.month


days = st.dates(min_value=date(1995, 1, 1), max_value=date(2045, 12, 31))
facts_strategy = st.builds(
    VehicleFacts,
    vehicle_type=st.sampled_from(sorted(VEHICLE_TYPES)),
    use_nature=st.sampled_from(sorted(USE_NATURES)),
    seats=st.integers(1, 12) | st.integers(13, 60),
    first_registered_on=days,
    injury_accident=st.booleans(),
    illegally_modified=st.booleans(),
)


@st.composite
def vehicles(draw: st.DrawFn, *, licence: bool | None = None) -> tuple[VehicleFacts, date]:
    """Facts (with a manufacture date and maybe a valid-until) and an assessment day."""
    facts = draw(facts_strategy)
    registered = facts.first_registered_on
    if draw(st.booleans()):
        facts = replace(facts, manufactured_on=registered - timedelta(days=draw(st.integers(0, 3000))))
    if licence is None:
        licence = draw(st.booleans())
    if licence:
        months = draw(st.integers(1, 400))
        number = registered.year * 12 + registered.month - 1 + months
        facts = replace(facts, inspection_valid_until=date(number // 12, number % 12 + 1, 1))
    on = registered + timedelta(days=draw(st.integers(0, 365 * 30)))
    return facts, on


@PROPERTY_SETTINGS
@given(st.dates(), st.integers(1, 12))
def test_window_ends_on_the_expiry_and_opens_on_a_first(valid_until: date, months: int) -> None:
    opens, closes = booking_window(valid_until, months=months)
    assert closes == month_end(valid_until) and (closes + timedelta(days=1)).day == 1
    assert opens.day == 1 and months_between(opens, closes) == months - 1


@PROPERTY_SETTINGS
@given(vehicles(licence=False), st.integers(0, 3000))
def test_computed_due_date_never_moves_earlier(vehicle: tuple[VehicleFacts, date],
                                              later_by: int) -> None:
    facts, on = vehicle
    first = assess(facts, on)
    second = assess(facts, on + timedelta(days=later_by))
    assert on <= first.due_date <= second.due_date
    assert first.due_date == month_end(first.due_date)
    assert months_between(facts.first_registered_on, first.due_date) % 6 == 0
    assert first.action is not Action.OVERDUE  # without the licence nothing is known overdue


@PROPERTY_SETTINGS
@given(vehicles(licence=True), st.integers(0, 3000))
def test_a_licence_expiry_is_fixed_and_actions_only_move_forward(
        vehicle: tuple[VehicleFacts, date], later_by: int) -> None:
    facts, on = vehicle
    first = assess(facts, on)
    second = assess(facts, on + timedelta(days=later_by))
    assert facts.inspection_valid_until is not None
    assert first.due_date == second.due_date == month_end(facts.inspection_valid_until)
    stage = {Action.NOT_YET: 0, Action.LANE_TEST: 1, Action.ONLINE_CLAIM: 1, Action.OVERDUE: 2}
    assert stage[first.action] <= stage[second.action]
    assert first.online_claim == second.online_claim


@PROPERTY_SETTINGS
@given(vehicles())
def test_the_action_follows_from_the_dates(vehicle: tuple[VehicleFacts, date]) -> None:
    facts, on = vehicle
    result = assess(facts, on)
    opens, due = result.booking_window
    assert (result.action is Action.OVERDUE) == (on > due)
    if on <= due:
        if result.online_claim:
            assert result.action is Action.ONLINE_CLAIM
        else:
            assert result.action is (Action.NOT_YET if on < opens else Action.LANE_TEST)
    window_opens = booking_window(due)[0]
    if result.online_claim:
        assert opens == max(window_opens, result.rules.effective_from)
    else:
        assert opens == window_opens
    assert result.rules == rule_set_on(due)
    assert result.inspection_year == (months_between(facts.first_registered_on, due) + 11) // 12


@PROPERTY_SETTINGS
@given(vehicles(), st.integers(-400, 400))
def test_bookable_days(vehicle: tuple[VehicleFacts, date], offset: int) -> None:
    facts, on = vehicle
    result = assess(facts, on)
    day = result.due_date + timedelta(days=offset)
    if result.online_claim:
        assert is_bookable(result, day) == (day > result.due_date)
    else:
        assert is_bookable(result, day) == (day >= result.booking_opens_on)


@PROPERTY_SETTINGS
@given(vehicles(licence=False))
def test_the_computed_due_date_reads_back_from_a_licence(vehicle: tuple[VehicleFacts, date]) -> None:
    facts, on = vehicle
    computed = assess(facts, on)
    printed = assess(replace(facts, inspection_valid_until=computed.due_date), on)
    keep = ("rules", "category", "exclusions", "due_date", "inspection_year", "online_claim",
            "action", "booking_opens_on", "category_reason", "action_reason")
    assert {name: getattr(printed, name) for name in keep} == \
        {name: getattr(computed, name) for name in keep}


@PROPERTY_SETTINGS
@given(vehicles())
def test_only_qualifying_cars_are_exempt(vehicle: tuple[VehicleFacts, date]) -> None:
    facts, on = vehicle
    result = assess(facts, on)
    exemption = result.rules.exemption
    if result.category is Category.SMALL_PASSENGER_EXEMPT:
        assert exemption is not None and not result.exclusions
        assert facts.vehicle_type in exemption.vehicle_types and facts.use_nature == "A"
        assert facts.seats <= exemption.max_seats
        assert not (facts.injury_accident or facts.illegally_modified)
    else:
        assert not result.online_claim
    if result.category is Category.SMALL_PASSENGER and exemption is not None:
        assert result.exclusions


@PROPERTY_SETTINGS
@given(vehicles())
def test_every_reason_is_a_sentence_in_both_languages(vehicle: tuple[VehicleFacts, date]) -> None:
    facts, on = vehicle
    result: Assessment = assess(facts, on)
    for reason in (*result.reasons, *result.exclusions):
        assert CJK.search(reason.zh)
        assert reason.en and not CJK.search(reason.en.replace("交管12123", ""))
    for reason in result.reasons:
        assert reason.zh.endswith("。") and reason.en.endswith(".")


def test_rule_sets_are_plain_data() -> None:
    # a station may swap in its own history: here, one set without any exemption
    only_article_16 = [RULES["art16-2004"]]
    car = VehicleFacts("K33", "A", 5, d("2020-06-15"), inspection_valid_until=month("2024-06"))
    result = assess(car, d("2024-05-10"), rules=only_article_16)
    assert result.category is Category.SMALL_PASSENGER and not result.exclusions
    assert result.action is Action.LANE_TEST
    assert isinstance(result.rules, RuleSet)
