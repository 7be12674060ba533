"""Vehicle identification numbers (车辆识别代号, VIN) and their check digit."""

from __future__ import annotations

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from station.domain.vin import (
    TRANSLITERATION,
    VIN_CHARS,
    WEIGHTS,
    normalise_vin,
    validate_vin,
    validate_vin_tail,
    vin_check_digit,
    vin_check_digit_ok,
)
from station.errors import ValidationError

ISO_EXAMPLE = "1M8GDM9AXKP042788"  # the worked example of ISO 3779 / 49 CFR 565
PUBLISHED_VINS = [  # VINs published as examples, with their manufacturers' check digits
    ISO_EXAMPLE,
    "11111111111111111",
    "1HGCM82633A004352",
    "1G1JC5444R7252367",
    "JH4KA7561PC008269",
    "1GNEK13ZX3R298984",
]
EUROPEAN_VIN = "WP0ZZZ99ZTS392124"  # European VINs need no check digit: position 9 is Z
ALPHABET = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"
PROPERTY_SETTINGS = settings(derandomize=True, database=None, deadline=None, max_examples=300)


def refused(vin: object, **kwargs: bool) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        validate_vin(vin, **kwargs)
    assert caught.value.message_zh and caught.value.message_en
    return caught.value


# --- the published rule -----------------------------------------------------------------------

def test_transliteration_is_the_published_table() -> None:
    published = "A1 B2 C3 D4 E5 F6 G7 H8 J1 K2 L3 M4 N5 P7 R9 S2 T3 U4 V5 W6 X7 Y8 Z9"
    letters = {pair[0]: int(pair[1]) for pair in published.split()}
    assert dict(TRANSLITERATION) == {**{str(d): d for d in range(10)}, **letters}


def test_weights_and_alphabet() -> None:
    assert WEIGHTS == (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)
    assert VIN_CHARS == ALPHABET
    assert not set("IOQ") & set(VIN_CHARS)


def test_iso_worked_example() -> None:
    # 1 M8 G D M 9 A [X] K P 0 4 2 7 8 8 transliterated and weighted by hand:
    products = [8, 28, 48, 35, 16, 12, 18, 10, 0, 18, 56, 0, 24, 10, 28, 24, 16]
    assert sum(products) == 351 and 351 % 11 == 10
    assert vin_check_digit(ISO_EXAMPLE) == "X"


@pytest.mark.parametrize("vin", PUBLISHED_VINS)
def test_published_vins_are_valid(vin: str) -> None:
    assert validate_vin(vin) == vin
    assert vin_check_digit(vin) == vin[8]
    assert vin_check_digit_ok(vin)


def test_check_digit_ignores_what_position_9_holds() -> None:
    for char in "0123456789X":
        assert vin_check_digit(ISO_EXAMPLE[:8] + char + ISO_EXAMPLE[9:]) == "X"


# --- check digit failures -------------------------------------------------------------------

@pytest.mark.parametrize("wrong", list("0123456789AZ"))
def test_a_wrong_check_digit_is_its_own_error(wrong: str) -> None:
    vin = ISO_EXAMPLE[:8] + wrong + ISO_EXAMPLE[9:]
    error = refused(vin)
    assert error.code == "vin_check_digit"
    assert error.details == {"expected": "X", "found": wrong, "position": 9}
    assert "校验位应为“X”" in error.message_zh and f"录入的是“{wrong}”" in error.message_zh
    assert "should be 'X'" in error.message_en
    assert validate_vin(vin, check_digit=False) == vin
    assert not vin_check_digit_ok(vin)


def test_a_european_vin_passes_only_without_the_check_digit() -> None:
    assert validate_vin(EUROPEAN_VIN, check_digit=False) == EUROPEAN_VIN
    error = refused(EUROPEAN_VIN)
    assert error.code == "vin_check_digit"
    assert error.details["found"] == "Z" and error.details["expected"] == "8"


# --- form ------------------------------------------------------------------------------------

@pytest.mark.parametrize("length", [1, 6, 16, 18, 20])
def test_wrong_lengths_are_refused(length: int) -> None:
    vin = (ISO_EXAMPLE * 2)[:length]
    for check in (True, False):
        error = refused(vin, check_digit=check)
        assert error.code == "vin_invalid"
        assert error.details == {"expected_length": 17, "found_length": length}
        assert f"应为17位，录入的是{length}位" in error.message_zh
        assert f"this one has {length}" in error.message_en


@pytest.mark.parametrize("vin", ["", "   ", None])
def test_an_empty_vin_asks_for_one(vin: str | None) -> None:
    error = refused(vin)
    assert error.code == "vin_invalid"
    assert error.message_zh == "请填写车辆识别代号（VIN）。"


FORBIDDEN = [(position, letter) for position in range(1, 18) for letter in "IOQ"]


@pytest.mark.parametrize(("position", "letter"), FORBIDDEN)
def test_i_o_q_are_refused_at_every_position(position: int, letter: str) -> None:
    vin = ISO_EXAMPLE[: position - 1] + letter + ISO_EXAMPLE[position:]
    for check in (True, False):
        error = refused(vin, check_digit=check)
        assert error.code == "vin_invalid"
        assert error.details == {"position": position, "found": letter}
        assert f"第{position}位“{letter}”" in error.message_zh
        assert "不使用字母I、O、Q" in error.message_zh
        assert "never I, O or Q" in error.message_en


@pytest.mark.parametrize("char", ["-", "*", "京", "é", "_"])
def test_other_characters_are_refused(char: str) -> None:
    error = refused(ISO_EXAMPLE[:4] + char + ISO_EXAMPLE[5:])
    assert error.details == {"position": 5, "found": char}


def test_vin_check_digit_needs_a_well_formed_vin() -> None:
    for bad in ("1M8GDM9AXKP04278", "1M8GDM9AXKP04278O"):
        with pytest.raises(ValidationError) as caught:
            vin_check_digit(bad)
        assert caught.value.code == "vin_invalid"


@pytest.mark.parametrize(("raw", "normal"), [
    ("1m8gdm9axkp042788", ISO_EXAMPLE),
    (" 1M8 GDM9AX KP042788\n", ISO_EXAMPLE),
    ("１Ｍ８ＧＤＭ９ＡＸＫＰ０４２７８８", ISO_EXAMPLE),
    ("1M8GDM9AX\u3000KP042788", ISO_EXAMPLE),
])
def test_normalisation(raw: str, normal: str) -> None:
    assert normalise_vin(raw) == normal
    assert validate_vin(raw) == normal
    assert vin_check_digit_ok(raw)


@pytest.mark.parametrize("junk", [None, "", "abc", 12345, "1M8GDM9AXKP04278I", "京" * 17])
def test_vin_check_digit_ok_never_raises(junk: object) -> None:
    assert vin_check_digit_ok(junk) is False


# --- the last six characters used in bookings --------------------------------------------------

@pytest.mark.parametrize(("raw", "normal"), [
    ("042788", "042788"), ("kp0427", "KP0427"), (" 04 27 88 ", "042788"), ("０４２７８８", "042788"),
])
def test_vin_tail_is_normalised(raw: str, normal: str) -> None:
    assert validate_vin_tail(raw) == normal


@pytest.mark.parametrize("tail", ["", "04278", "0427880", ISO_EXAMPLE, None])
def test_vin_tail_has_six_characters(tail: str | None) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_vin_tail(tail)
    found = len(normalise_vin(tail or ""))
    assert caught.value.code == "vin_invalid"
    assert caught.value.details == {"expected_length": 6, "found_length": found}
    assert "后6位" in caught.value.message_zh and "last 6" in caught.value.message_en


@pytest.mark.parametrize(("position", "letter"), [(p, c) for p in range(1, 7) for c in "IOQ"])
def test_vin_tail_refuses_i_o_q(position: int, letter: str) -> None:
    tail = "042788"[: position - 1] + letter + "042788"[position:]
    with pytest.raises(ValidationError) as caught:
        validate_vin_tail(tail)
    assert caught.value.code == "vin_invalid"
    assert caught.value.details == {"position": position, "found": letter}
    assert f"第{position}位“{letter}”" in caught.value.message_zh


# --- properties ------------------------------------------------------------------------------

_bodies = st.text(alphabet=ALPHABET, min_size=16, max_size=16)


def _with_check_digit(body: str) -> str:
    """A VIN from 16 characters: the check digit is inserted as position 9."""
    draft = body[:8] + "0" + body[8:]
    return draft[:8] + vin_check_digit(draft) + draft[9:]


@PROPERTY_SETTINGS
@given(body=_bodies)
def test_any_body_with_its_computed_check_digit_is_valid(body: str) -> None:
    vin = _with_check_digit(body)
    assert validate_vin(vin) == vin
    assert vin[8] in "0123456789X"
    assert validate_vin(vin.lower()) == vin


@PROPERTY_SETTINGS
@given(body=_bodies, position=st.integers(0, 16), new=st.sampled_from(ALPHABET))
def test_changing_one_character_breaks_the_check_unless_its_value_is_the_same(
        body: str, position: int, new: str) -> None:
    # The sum changes by weight × (new value − old value); every weight but position 9's is
    # 2–10 and 11 is prime, so the check digit changes exactly when the values differ.
    vin = _with_check_digit(body)
    assume(new != vin[position])
    changed = vin[:position] + new + vin[position + 1:]
    if position == 8:
        assert not vin_check_digit_ok(changed)
    else:
        same_value = TRANSLITERATION[new] == TRANSLITERATION[vin[position]]
        assert vin_check_digit_ok(changed) is same_value


_SWAPPABLE = [(i, j) for i in range(17) for j in range(i + 1, 17)
              if 8 not in (i, j) and WEIGHTS[i] != WEIGHTS[j]]


@PROPERTY_SETTINGS
@given(body=_bodies, pair=st.sampled_from(_SWAPPABLE))
def test_swapping_characters_of_different_weight_and_value_is_caught(
        body: str, pair: tuple[int, int]) -> None:
    # The sum changes by (w1 − w2) × (v2 − v1): both factors are nonzero and below 11.
    first, second = pair
    vin = _with_check_digit(body)
    assume(TRANSLITERATION[vin[first]] != TRANSLITERATION[vin[second]])
    chars = list(vin)
    chars[first], chars[second] = chars[second], chars[first]
    assert not vin_check_digit_ok("".join(chars))


def test_every_single_substitution_of_the_iso_example() -> None:
    caught = kept = 0
    for index, old in enumerate(ISO_EXAMPLE):
        for new in ALPHABET.replace(old, ""):
            changed = ISO_EXAMPLE[:index] + new + ISO_EXAMPLE[index + 1:]
            if vin_check_digit_ok(changed):
                kept += 1
                assert index != 8 and TRANSLITERATION[new] == TRANSLITERATION[old]
            else:
                caught += 1
    assert caught + kept == 17 * 32
    assert caught > 9 * kept  # letters sharing a value (A/J/1 …) are the only blind spot
