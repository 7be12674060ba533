"""Mainland Chinese mobile numbers (手机号码)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station.domain.phone import normalise_phone, phone_tail, validate_phone
from station.errors import ValidationError

PROPERTY_SETTINGS = settings(derandomize=True, database=None, deadline=None, max_examples=200)


def refused(raw: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        validate_phone(raw)  # type: ignore[arg-type]
    error = caught.value
    assert error.code == "phone_invalid" and error.status == 422
    assert error.message_zh and error.message_en
    return error


@pytest.mark.parametrize(("raw", "normal"), [
    ("13812345678", "13812345678"),
    ("138 1234 5678", "13812345678"),
    ("138-1234-5678", "13812345678"),
    ("138–1234—5678", "13812345678"),
    ("+86 138 1234 5678", "13812345678"),
    ("+8613812345678", "13812345678"),
    ("0086 138-1234-5678", "13812345678"),
    ("8613812345678", "13812345678"),
    ("(+86) 138 1234 5678", "13812345678"),
    ("＋８６　１３８１２３４５６７８", "13812345678"),
    (" 13812345678\n", "13812345678"),
])
def test_normalise_and_validate(raw: str, normal: str) -> None:
    assert normalise_phone(raw) == normal
    assert validate_phone(raw) == normal


def test_a_bare_86_is_kept_when_it_is_part_of_eleven_digits() -> None:
    assert normalise_phone("86123456789") == "86123456789"
    assert normalise_phone("861381234567") == "861381234567"


@pytest.mark.parametrize("second", "3456789")
def test_every_mobile_prefix_from_13_to_19_is_accepted(second: str) -> None:
    phone = f"1{second}912345678"
    assert validate_phone(phone) == phone


@pytest.mark.parametrize("phone", ["10912345678", "11912345678", "12912345678", "23812345678",
                                   "02112345678"])
def test_other_prefixes_are_refused(phone: str) -> None:
    error = refused(phone)
    assert error.message_zh == "手机号码应以13至19开头。"
    assert "13 to 19" in error.message_en


@pytest.mark.parametrize("phone", ["1381234567", "138123456789", "138", "1"])
def test_wrong_lengths_are_refused(phone: str) -> None:
    error = refused(phone)
    assert error.details == {"expected_length": 11, "found_length": len(phone)}
    assert f"录入的是{len(phone)}位" in error.message_zh


@pytest.mark.parametrize("phone", ["1381234567a", "138.1234.5678", "+85291234567", "１３８一二三四五六七八"])
def test_non_digits_are_refused(phone: str) -> None:
    error = refused(phone)
    assert error.message_zh == "手机号码只能包含数字。"


@pytest.mark.parametrize("phone", ["", "  ", "+86", None])
def test_an_empty_phone_asks_for_one(phone: str | None) -> None:
    assert refused(phone).message_zh == "请填写手机号码。"


@pytest.mark.parametrize("phone", ["1381234567", "10812345678", "1381234567x"])
def test_errors_do_not_repeat_the_number(phone: str) -> None:
    body = str(refused(phone).to_dict())
    assert phone[:7] not in body


def test_a_number_of_another_type_is_refused_with_the_same_code() -> None:
    assert refused(13812345678.0).code == "phone_invalid"


def test_an_integer_is_read_as_its_digits() -> None:
    assert validate_phone(13812345678) == "13812345678"  # type: ignore[arg-type]


# --- tails -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("n", "tail"), [(1, "8"), (4, "5678"), (6, "345678"), (11, "13812345678")])
def test_phone_tail(n: int, tail: str) -> None:
    assert phone_tail("+86 138-1234-5678", n) == tail


def test_phone_tail_defaults_to_four_digits() -> None:
    assert phone_tail("13812345678") == "5678"


@pytest.mark.parametrize("n", [0, -1, 12])
def test_phone_tail_refuses_a_senseless_length(n: int) -> None:
    with pytest.raises(ValueError, match="between 1 and 11"):
        phone_tail("13812345678", n)


def test_phone_tail_of_an_invalid_number_is_refused() -> None:
    with pytest.raises(ValidationError) as caught:
        phone_tail("12345678")
    assert caught.value.code == "phone_invalid"


# --- properties ------------------------------------------------------------------------------

@PROPERTY_SETTINGS
@given(second=st.sampled_from("3456789"), rest=st.text(alphabet="0123456789", min_size=9,
                                                         max_size=9),
       prefix=st.sampled_from(["", "+86", "0086", "86", "+86 ", "(+86)"]),
       sep=st.sampled_from(["", " ", "-"]))
def test_any_mobile_number_in_any_spelling_validates(
        second: str, rest: str, prefix: str, sep: str) -> None:
    phone = f"1{second}{rest}"
    spelled = f"{prefix}{phone[:3]}{sep}{phone[3:7]}{sep}{phone[7:]}"
    assert validate_phone(spelled) == phone
    assert phone_tail(spelled) == phone[-4:]


@PROPERTY_SETTINGS
@given(text=st.text(max_size=16))
def test_any_text_is_accepted_as_a_mobile_or_refused(text: str) -> None:
    try:
        phone = validate_phone(text)
    except ValidationError as error:
        assert error.code == "phone_invalid"
    else:
        assert len(phone) == 11 and phone.isdigit() and phone[1] in "3456789"
