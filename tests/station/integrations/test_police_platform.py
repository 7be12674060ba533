"""The online query adapter against the platform simulator, and what each status means."""

from __future__ import annotations

from datetime import date

import pytest

from simulators.police_platform import PolicePlatformSimulator
from station.errors import ValidationError
from station.integrations.police_platform import (
    HttpPolicePlatform,
    QueryUnavailable,
    VehicleRecord,
    assess,
)

TODAY = date(2026, 11, 23)


@pytest.fixture
def platform():
    simulator = PolicePlatformSimulator().start()
    yield simulator
    simulator.stop()


@pytest.fixture
def query(platform):
    return HttpPolicePlatform(platform.url, platform.token, timeout_s=2)


def test_normal_vehicle(query, platform):
    record = query.query("02", "浙A12345")
    assert record.status_codes == "A" and record.vin == "LSVAU218XN2183294"
    assert record.inspection_valid_until == date(2026, 12, 31)
    result = assess(record, TODAY)
    assert result.may_test and result.insurance_valid
    assert result.insurance_note_zh == "交强险有效至2027年06月30日"
    assert platform.queries == [("02", "浙A12345")]


def test_combined_codes_explain_what_to_do(query):
    result = assess(query.query("02", "浙A54321"), TODAY)
    assert [f.code for f in result.findings] == ["A", "G"]
    assert not result.may_test
    assert "须先处理交通违法" in result.findings[1].meaning.action_zh


def test_overdue_may_be_tested_and_missing_insurance_allows_test_first(query):
    overdue = assess(query.query("01", "浙A88888"), TODAY)
    assert overdue.may_test and overdue.findings[0].meaning.zh == "逾期未检验"
    uninsured = assess(query.query("52", "浙AD12345"), TODAY)
    assert uninsured.may_test and not uninsured.insurance_valid
    assert "可先检测" in uninsured.insurance_note_zh


@pytest.mark.parametrize("codes", ["C", "E", "P", "O", "I", "AC"])
def test_blocking_statuses(codes):
    record = VehicleRecord("02", "浙A12345", codes, None, None)
    assert not assess(record, TODAY).may_test


def test_expired_insurance_is_not_valid():
    record = VehicleRecord("02", "浙A12345", "A", None, date(2026, 11, 22))
    assert not assess(record, TODAY).insurance_valid


def test_unknown_codes_are_refused():
    with pytest.raises(ValidationError) as err:
        assess(VehicleRecord("02", "浙A12345", "AZ", None, None), TODAY)
    assert err.value.code == "status_code_unknown" and "Z" in err.value.message_zh


def test_unknown_vehicle_is_none(query):
    assert query.query("02", "浙B99999") is None


@pytest.mark.parametrize("fault", ["down", "garbled"])
def test_platform_faults_say_it_is_unavailable(query, platform, fault):
    setattr(platform.faults, fault, True)
    with pytest.raises(QueryUnavailable) as err:
        query.query("02", "浙A12345")
    assert err.value.message_zh.startswith("联网查询暂不可用")


def test_slow_platform_times_out(platform):
    platform.faults.slow = 1.5
    with pytest.raises(QueryUnavailable):
        HttpPolicePlatform(platform.url, platform.token, timeout_s=0.5).query("02", "浙A12345")


def test_wrong_token_is_unavailable(platform):
    with pytest.raises(QueryUnavailable) as err:
        HttpPolicePlatform(platform.url, "wrong", timeout_s=2).query("02", "浙A12345")
    assert "401" in err.value.message_zh
