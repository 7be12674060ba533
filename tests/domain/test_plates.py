"""Plate numbers (号牌号码) against their plate types (号牌种类)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station.domain.plates import (
    PLATE_TYPES,
    PROVINCES,
    PlateFamily,
    is_new_energy,
    matching_plate_types,
    normalise_plate,
    validate_plate,
)
from station.errors import ValidationError

# Written out here, not imported, so the tests check the module's alphabets too.
PLATE_LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"
DIGITS = "0123456789"
SUFFIXES = {"15": "挂", "16": "学", "23": "警", "26": "港", "27": "澳", "04": "领"}
EXAMPLES = {  # one valid plate per type
    "01": "粤B12345", "02": "浙D12345", "03": "使224009", "04": "沪A1234领",
    "15": "粤B1234挂", "16": "粤B1234学", "23": "京A1234警", "26": "粤Z1234港",
    "27": "粤Z1234澳", "51": "粤B12345D", "52": "浙AD12345",
}
PROPERTY_SETTINGS = settings(derandomize=True, database=None, deadline=None, max_examples=150)


def refused(plate_type: str, plate: object) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        validate_plate(plate_type, plate)
    error = caught.value
    assert error.status == 422
    assert error.message_zh and error.message_en
    assert error.message_zh != error.message_en
    return error


def with_char(plate: str, position: int, char: str) -> str:
    """The plate with its 1-based ``position`` replaced by ``char``."""
    return plate[: position - 1] + char + plate[position:]


def full_width(text: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


# --- the table ----------------------------------------------------------------------------

def test_table_covers_the_plate_types_of_the_brief() -> None:
    assert set(PLATE_TYPES) == set(EXAMPLES)


@pytest.mark.parametrize("code", sorted(EXAMPLES))
def test_every_plate_type_accepts_its_example(code: str) -> None:
    assert validate_plate(code, EXAMPLES[code]) == EXAMPLES[code]
    assert validate_plate(code, PLATE_TYPES[code].example) == PLATE_TYPES[code].example
    assert len(EXAMPLES[code]) == PLATE_TYPES[code].length


@pytest.mark.parametrize("code", sorted(EXAMPLES))
def test_table_entries_are_complete(code: str) -> None:
    entry = PLATE_TYPES[code]
    assert entry.name_zh and entry.name_en and entry.name_zh != entry.name_en
    assert entry.length == (8 if code in ("51", "52") else 7)
    assert entry.suffix == SUFFIXES.get(code, "")
    assert isinstance(entry.family, PlateFamily)


def test_names_follow_ga_24_7() -> None:
    assert {code: entry.name_zh for code, entry in PLATE_TYPES.items()} == {
        "01": "大型汽车", "02": "小型汽车", "03": "使馆汽车", "04": "领馆汽车", "15": "挂车",
        "16": "教练汽车", "23": "警用汽车", "26": "香港入出境车", "27": "澳门入出境车",
        "51": "大型新能源汽车", "52": "小型新能源汽车",
    }


def test_table_is_read_only() -> None:
    with pytest.raises(TypeError):
        PLATE_TYPES["99"] = PLATE_TYPES["02"]  # type: ignore[index]


def test_provinces_are_the_31_abbreviations() -> None:
    assert len(PROVINCES) == 31 == len(set(PROVINCES))
    assert set(PROVINCES) == set("京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼")


@pytest.mark.parametrize("code", sorted(EXAMPLES))
def test_only_new_energy_types_are_new_energy(code: str) -> None:
    assert is_new_energy(code) is (code in ("51", "52"))


def test_is_new_energy_refuses_an_unknown_code() -> None:
    with pytest.raises(ValidationError) as caught:
        is_new_energy("53")
    assert caught.value.code == "plate_type_unknown"


# --- provinces and issuing letters ---------------------------------------------------------

PROVINCE_CASES = [("02", "A12345"), ("01", "BZ9Y8X"), ("52", "AD12345"), ("51", "A12345F"),
                  ("15", "A1234挂"), ("16", "A1234学"), ("23", "A1234警"), ("04", "A1234领")]


@pytest.mark.parametrize("province", list(PROVINCES))
def test_every_province_is_accepted(province: str) -> None:
    for code, rest in PROVINCE_CASES:
        assert validate_plate(code, province + rest) == province + rest, code


@pytest.mark.parametrize("first", ["A", "1", "使", "港", "台", "中", "军", "I"])
def test_a_first_character_that_is_no_province_is_refused(first: str) -> None:
    error = refused("02", first + "A12345")
    assert error.code == "plate_invalid"
    assert error.details["position"] == 1 and error.details["found"] == first
    assert "第1位" in error.message_zh and "省份简称" in error.message_zh
    assert "character 1" in error.message_en and "province" in error.message_en


@pytest.mark.parametrize("letter", list(PLATE_LETTERS))
def test_every_issuing_letter_is_accepted(letter: str) -> None:
    assert validate_plate("02", f"京{letter}12345") == f"京{letter}12345"
    assert validate_plate("52", f"京{letter}D12345") == f"京{letter}D12345"


@pytest.mark.parametrize("char", ["1", "0", "学", "京"])
def test_an_issuing_position_that_is_no_letter_is_refused(char: str) -> None:
    error = refused("02", f"京{char}12345")
    assert error.details["position"] == 2
    assert "发牌机关字母" in error.message_zh and "issuing-office letter" in error.message_en


# --- I and O at every position of every plate type -------------------------------------------

IO_CASES = [(code, position, letter)
            for code, plate in sorted(EXAMPLES.items())
            for position in range(1, len(plate) + 1)
            for letter in "IO"]


@pytest.mark.parametrize(("code", "position", "letter"), IO_CASES)
def test_i_and_o_are_refused_at_every_position(code: str, position: int, letter: str) -> None:
    plate = with_char(EXAMPLES[code], position, letter)
    error = refused(code, plate)
    assert error.code == "plate_invalid"
    assert error.details == {"plate_type": code, "position": position, "found": letter}
    assert f"第{position}位“{letter}”" in error.message_zh
    assert "不使用字母I和O" in error.message_zh
    assert f"character {position} '{letter}'" in error.message_en
    assert "never use the letters I and O" in error.message_en


def test_lower_case_i_is_upper_cased_then_refused() -> None:
    error = refused("02", "粤b1i345")
    assert error.details["position"] == 4 and error.details["found"] == "I"


# --- ordinary and suffix plates ----------------------------------------------------------------

@pytest.mark.parametrize("position", range(3, 8))
@pytest.mark.parametrize("char", ["Z", "9", "A", "0"])
def test_ordinary_serial_takes_letters_and_digits(position: int, char: str) -> None:
    plate = with_char("粤B12345", position, char)
    assert validate_plate("02", plate) == plate
    assert validate_plate("01", plate) == plate


@pytest.mark.parametrize("position", range(3, 8))
def test_ordinary_serial_refuses_other_characters(position: int) -> None:
    error = refused("02", with_char("粤B12345", position, "*"))
    assert error.details["position"] == position
    assert "字母（不含I、O）或数字" in error.message_zh


@pytest.mark.parametrize(("code", "suffix"), sorted(SUFFIXES.items()))
def test_every_suffix_is_accepted_by_its_type(code: str, suffix: str) -> None:
    head = "粤Z" if code in ("26", "27") else "苏E"
    plate = f"{head}9A8B{suffix}"
    assert validate_plate(code, plate) == plate
    assert matching_plate_types(plate) == (code,)


SUFFIX_PAIRS = [(chosen, other) for chosen in sorted(SUFFIXES) for other in sorted(SUFFIXES)
                if chosen != other]


@pytest.mark.parametrize(("chosen", "other"), SUFFIX_PAIRS)
def test_a_suffix_of_another_type_is_a_mismatch(chosen: str, other: str) -> None:
    plate = EXAMPLES[other]
    error = refused(chosen, plate)
    assert error.code == "plate_type_mismatch"
    assert error.details == {"plate_type": chosen, "matching_types": [other]}
    assert f"{PLATE_TYPES[other].name_zh}（{other}）" in error.message_zh
    assert f"“{PLATE_TYPES[chosen].name_zh}”（{chosen}）不符" in error.message_zh
    assert f"“{SUFFIXES[chosen]}”" in error.message_zh  # says which suffix the type needs
    assert f"{PLATE_TYPES[other].name_en} ({other})" in error.message_en


@pytest.mark.parametrize("code", sorted(SUFFIXES))
def test_a_suffix_type_refuses_a_plain_plate_as_a_mismatch(code: str) -> None:
    error = refused(code, "粤Z12345")
    assert error.code == "plate_type_mismatch"
    assert error.details["matching_types"] == ["01", "02"]
    assert "大型汽车（01）、小型汽车（02）" in error.message_zh
    assert f"+“{SUFFIXES[code]}”，如{EXAMPLES[code]}" in error.message_zh


@pytest.mark.parametrize(("code", "suffix"), sorted(SUFFIXES.items()))
def test_plain_types_refuse_a_suffix_plate_as_a_mismatch(code: str, suffix: str) -> None:
    for plain in ("01", "02"):
        error = refused(plain, EXAMPLES[code])
        assert error.code == "plate_type_mismatch"
        assert error.details["matching_types"] == [code]
        assert f"与所选号牌种类“{PLATE_TYPES[plain].name_zh}”（{plain}）不符" in error.message_zh


@pytest.mark.parametrize("position", range(3, 7))
def test_a_suffix_before_the_last_position_is_refused_there(position: int) -> None:
    error = refused("16", with_char("粤B1234学", position, "学"))
    assert error.details == {"plate_type": "16", "position": position, "found": "学"}
    assert "字母（不含I、O）或数字" in error.message_zh


@pytest.mark.parametrize("code", ["26", "27"])
def test_hong_kong_and_macau_plates_come_only_from_guangdong_office_z(code: str) -> None:
    suffix = SUFFIXES[code]
    error = refused(code, f"京A1234{suffix}")
    assert error.details["position"] == 1
    assert "只由“粤Z”核发" in error.message_zh and "issued only as 粤Z" in error.message_en
    error = refused(code, f"粤B1234{suffix}")
    assert error.details == {"plate_type": code, "position": 2, "found": "B"}
    assert "应为“Z”" in error.message_zh


@pytest.mark.parametrize("code", ["15", "16", "23", "04"])
def test_other_suffix_types_accept_any_issuer(code: str) -> None:
    plate = f"黑M12A4{SUFFIXES[code]}"
    assert validate_plate(code, plate) == plate


# --- new-energy plates ---------------------------------------------------------------------

@pytest.mark.parametrize("energy", list("ABCDEFGHJK"))
def test_small_new_energy_accepts_d_f_and_the_extended_range(energy: str) -> None:
    plate = f"浙A{energy}12345"
    assert validate_plate("52", plate) == plate


@pytest.mark.parametrize("energy", [c for c in PLATE_LETTERS if c > "K"] + ["1", "I"])
def test_small_new_energy_refuses_other_energy_letters(energy: str) -> None:
    error = refused("52", f"浙A{energy}12345")
    assert error.code == "plate_invalid"
    assert error.details["position"] == 3
    assert "能源类型字母D或F" in error.message_zh and "energy letter" in error.message_en


@pytest.mark.parametrize("second", list(PLATE_LETTERS + DIGITS))
def test_small_new_energy_second_serial_may_be_letter_or_digit(second: str) -> None:
    plate = f"浙AF{second}1234"
    assert validate_plate("52", plate) == plate


@pytest.mark.parametrize("position", range(5, 9))
def test_small_new_energy_last_four_are_digits(position: int) -> None:
    error = refused("52", with_char("浙AD12345", position, "B"))
    assert error.details == {"plate_type": "52", "position": position, "found": "B"}
    assert "此处应为数字" in error.message_zh and "expected a digit" in error.message_en


@pytest.mark.parametrize("energy", ["D", "F"])
def test_large_new_energy_ends_with_d_or_f(energy: str) -> None:
    plate = f"粤B98765{energy}"
    assert validate_plate("51", plate) == plate
    assert matching_plate_types(plate) == ("51",)


@pytest.mark.parametrize("energy", ["A", "B", "E", "G", "K", "1"])
def test_large_new_energy_refuses_other_final_letters(energy: str) -> None:
    error = refused("51", f"粤B12345{energy}")
    assert error.details == {"plate_type": "51", "position": 8, "found": energy}


@pytest.mark.parametrize("position", range(3, 8))
def test_large_new_energy_serial_is_five_digits(position: int) -> None:
    error = refused("51", with_char("粤B12345D", position, "A"))
    assert error.details["position"] == position


def test_small_and_large_new_energy_plates_do_not_mix() -> None:
    error = refused("51", "浙AD12345")
    assert error.code == "plate_type_mismatch"
    assert error.details["matching_types"] == ["52"]
    assert "小型新能源汽车（52）" in error.message_zh
    error = refused("52", "粤B12345D")
    assert error.code == "plate_type_mismatch"
    assert error.details["matching_types"] == ["51"]
    assert "大型新能源汽车（51）" in error.message_zh


def test_a_small_car_type_refuses_a_new_energy_plate_with_a_helpful_message() -> None:
    error = refused("02", "浙AD12345")
    assert error.code == "plate_type_mismatch"
    assert error.message_zh == (
        "号牌号码“浙AD12345”是小型新能源汽车（52）号牌，与所选号牌种类“小型汽车”（02）不符；"
        "小型汽车号牌为7位：省份简称+发牌机关字母+5位字母或数字，如浙D12345。")
    assert error.message_en.startswith(
        "Plate 浙AD12345 is a small new-energy vehicle (52) plate and does not fit the chosen "
        "plate type small vehicle (02)")


def test_a_new_energy_type_refuses_a_seven_character_plate_as_a_mismatch() -> None:
    error = refused("52", "浙D12345")
    assert error.code == "plate_type_mismatch"
    assert "小型新能源汽车号牌为8位" in error.message_zh
    assert "has 8 characters" in error.message_en


# --- embassy plates --------------------------------------------------------------------------

def test_embassy_plate_is_shi_and_six_digits() -> None:
    assert validate_plate("03", "使 224·009") == "使224009"
    assert matching_plate_types("使224009") == ("03",)


@pytest.mark.parametrize("position", range(2, 8))
def test_embassy_plate_refuses_letters(position: int) -> None:
    error = refused("03", with_char("使224009", position, "A"))
    assert error.details["position"] == position


def test_embassy_plate_must_start_with_shi() -> None:
    error = refused("03", "224009使")
    assert error.details["position"] == 1
    assert "应为“使”" in error.message_zh


def test_embassy_plate_is_refused_for_an_ordinary_type() -> None:
    error = refused("02", "使224009")
    assert error.code == "plate_type_mismatch"
    assert error.details["matching_types"] == ["03"]


# --- every type against every other type's plate ---------------------------------------------

CROSS = [(chosen, given) for chosen in sorted(EXAMPLES) for given in sorted(EXAMPLES)]


@pytest.mark.parametrize(("chosen", "given"), CROSS)
def test_every_type_against_every_example(chosen: str, given: str) -> None:
    plate = EXAMPLES[given]
    same_shape = {chosen, given} <= {"01", "02"} or chosen == given
    if same_shape:
        assert validate_plate(chosen, plate) == plate
        return
    error = refused(chosen, plate)
    assert error.code == "plate_type_mismatch"
    assert given in error.details["matching_types"]
    assert PLATE_TYPES[chosen].name_zh in error.message_zh
    assert PLATE_TYPES[given].name_zh in error.message_zh
    assert PLATE_TYPES[chosen].example in error.message_zh


# --- lengths ---------------------------------------------------------------------------------

LENGTH_CASES = [(code, length) for code, plate in sorted(EXAMPLES.items())
                for length in range(1, len(plate) + 3) if length != len(plate)]


@pytest.mark.parametrize(("code", "length"), LENGTH_CASES)
def test_wrong_lengths_are_refused(code: str, length: int) -> None:
    example = EXAMPLES[code]
    plate = (example + "123")[:length] if length > len(example) else example[:length]
    error = refused(code, plate)
    if matching_plate_types(plate):
        assert error.code == "plate_type_mismatch"
        return
    assert error.code == "plate_invalid"
    assert error.details == {"plate_type": code, "expected_length": len(example),
                             "found_length": length}
    assert f"为{length}位" in error.message_zh
    assert f"{PLATE_TYPES[code].name_zh}号牌为{len(example)}位" in error.message_zh
    assert f"has {length} characters" in error.message_en


def test_a_truncated_new_energy_plate_that_reads_as_a_small_car_is_a_mismatch() -> None:
    error = refused("52", "浙AD1234")
    assert error.code == "plate_type_mismatch"
    assert error.details["matching_types"] == ["01", "02"]


def test_an_eight_character_plate_is_too_long_for_a_small_car() -> None:
    error = refused("02", "粤B123456")
    assert error.code == "plate_invalid"
    assert error.details["expected_length"] == 7 and error.details["found_length"] == 8


@pytest.mark.parametrize("plate", ["", "   ", "·", " · ", None])
def test_an_empty_plate_asks_for_one(plate: str | None) -> None:
    error = refused("02", plate)
    assert error.code == "plate_invalid"
    assert error.message_zh == "请填写号牌号码。"


# --- plate type codes --------------------------------------------------------------------------

@pytest.mark.parametrize("code", ["", "2", "00", "53", "small", "0２"])
def test_an_unknown_plate_type_code_is_refused(code: str) -> None:
    error = refused(code, "粤B12345")
    assert error.code == "plate_type_unknown"
    assert error.details["known_types"] == list(PLATE_TYPES)
    assert "02 小型汽车" in error.message_zh and "52 小型新能源汽车" in error.message_zh


def test_a_plate_type_code_may_carry_spaces() -> None:
    assert validate_plate(" 02 ", "粤B12345") == "粤B12345"


# --- normalisation ------------------------------------------------------------------------------

@pytest.mark.parametrize(("raw", "normal"), [
    ("粤B12345", "粤B12345"),
    ("粤b12345", "粤B12345"),
    ("粤B·12345", "粤B12345"),
    ("粤B•12345", "粤B12345"),
    ("粤B・12345", "粤B12345"),
    ("粤B-12345", "粤B12345"),
    ("  粤 B 1 2 3 4 5\t", "粤B12345"),
    ("粤B\u300012345", "粤B12345"),
    ("粤Ｂ１２３４５", "粤B12345"),
    ("粤ｂ·１２３ａｂ", "粤B123AB"),
    ("浙a·d12345", "浙AD12345"),
    ("粤B1234学", "粤B1234学"),
    ("", ""),
])
def test_normalise_plate(raw: str, normal: str) -> None:
    assert normalise_plate(raw) == normal


@pytest.mark.parametrize("code", sorted(EXAMPLES))
def test_validation_normalises_full_width_lower_case_and_dots(code: str) -> None:
    example = EXAMPLES[code]
    typed = full_width(example[:2].lower() + " · " + example[2:].lower())
    assert typed != example
    assert validate_plate(code, typed) == example


def test_matching_plate_types() -> None:
    assert matching_plate_types("浙D·12345") == ("01", "02")
    assert matching_plate_types("浙AD12345") == ("52",)
    assert matching_plate_types("浙DI2345") == ()
    assert matching_plate_types("") == ()


# --- properties ------------------------------------------------------------------------------

def _joined(*parts: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(*parts).map("".join)


_province = st.sampled_from(PROVINCES)
_letter = st.sampled_from(PLATE_LETTERS)
_serial = st.sampled_from(PLATE_LETTERS + DIGITS)
_digit = st.sampled_from(DIGITS)
GENERATED = {
    "02": _joined(_province, _letter, *[_serial] * 5),
    "52": _joined(_province, _letter, st.sampled_from("ABCDEFGHJK"), _serial, *[_digit] * 4),
    "51": _joined(_province, _letter, *[_digit] * 5, st.sampled_from("DF")),
    "03": _joined(st.just("使"), *[_digit] * 6),
    **{code: _joined(st.just("粤Z") if code in ("26", "27") else _joined(_province, _letter),
                     *[_serial] * 4, st.just(suffix))
       for code, suffix in SUFFIXES.items()},
}


@PROPERTY_SETTINGS
@given(data=st.data(), code=st.sampled_from(sorted(GENERATED)))
def test_generated_plates_validate_in_any_spelling(data: st.DataObject, code: str) -> None:
    plate = data.draw(GENERATED[code])
    assert validate_plate(code, plate) == plate
    assert code in matching_plate_types(plate)
    assert validate_plate(code, full_width(plate.lower())) == plate
    assert validate_plate(code, f"{plate[:2]}·{plate[2:]}") == plate


@PROPERTY_SETTINGS
@given(code=st.sampled_from(sorted(EXAMPLES)), text=st.text(max_size=12))
def test_any_text_is_accepted_or_refused_with_a_validation_error(code: str, text: str) -> None:
    try:
        plate = validate_plate(code, text)
    except ValidationError as error:
        assert error.code in ("plate_invalid", "plate_type_mismatch")
    else:
        assert plate == normalise_plate(text)
        assert code in matching_plate_types(plate)
