"""Masking of plates, phones, names and VINs for public screens and tickets (脱敏)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from station.domain.masking import mask_name, mask_phone, mask_plate, mask_vin
from station.domain.phone import normalise_phone
from station.domain.plates import normalise_plate
from station.domain.vin import normalise_vin

PROPERTY_SETTINGS = settings(derandomize=True, database=None, deadline=None, max_examples=200)


# --- plates ----------------------------------------------------------------------------------

@pytest.mark.parametrize(("plate", "masked"), [
    ("浙D12345", "浙D·1**45"),      # 01/02 ordinary
    ("粤BZ9Y8X", "粤B·Z**8X"),
    ("浙AD12345", "浙A·D***45"),    # 52 small new-energy
    ("粤B12345D", "粤B·1***5D"),    # 51 large new-energy
    ("粤B1234学", "粤B·1**4学"),    # 16 driving school
    ("粤B1234挂", "粤B·1**4挂"),    # 15 trailer
    ("京A1234警", "京A·1**4警"),    # 23 police
    ("粤Z1234港", "粤Z·1**4港"),    # 26 Hong Kong
    ("粤Z1234澳", "粤Z·1**4澳"),    # 27 Macau
    ("沪A1234领", "沪A·1**4领"),    # 04 consulate
    ("使224009", "使·2***09"),      # 03 embassy
])
def test_mask_each_plate_family(plate: str, masked: str) -> None:
    assert mask_plate(plate) == masked
    assert mask_plate(masked) == masked  # masking a masked plate changes nothing more


@pytest.mark.parametrize("raw", ["浙d 12345", "浙D·12345", "浙Ｄ１２３４５", " 浙D-12345 "])
def test_mask_plate_normalises_first(raw: str) -> None:
    assert mask_plate(raw) == "浙D·1**45"


def test_mask_plate_masks_a_malformed_plate_of_plate_shape() -> None:
    assert mask_plate("浙DI2O45") == "浙D·I**45"
    assert mask_plate("苏E123456") == "苏E·1***56"


@pytest.mark.parametrize(("odd", "masked"), [
    (None, ""), ("", ""), ("  ", ""), ("浙", "*"), ("浙D", "**"), ("浙D12", "****"),
    ("浙D123", "浙***3"), ("浙D1234567", "浙*******7"), ("ABCDEFG", "A*****G"),
    ("1234", "****"), (12345678, "1******8"), ("京A·", "**"),
])
def test_mask_plate_odd_input(odd: object, masked: str) -> None:
    assert mask_plate(odd) == masked  # type: ignore[arg-type]


# --- phones ----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw", [
    "13812345678", "138 1234 5678", "+86 138-1234-5678", "0086 13812345678", "8613812345678",
    "１３８１２３４５６７８",
])
def test_mask_phone(raw: str) -> None:
    assert mask_phone(raw) == "138****5678"


@pytest.mark.parametrize(("odd", "masked"), [
    (None, ""), ("", ""), ("110", "***"), ("1234", "****"), ("12345", "1***5"),
    ("0571-8888666", "057****8666"), ("0571-888866", "0********6"), ("1381234567a", "1*********a"), (13812345678, "138****5678"),
])
def test_mask_phone_odd_input(odd: object, masked: str) -> None:
    assert mask_phone(odd) == masked  # type: ignore[arg-type]


# --- names -----------------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "masked"), [
    ("张三丰", "张**"), ("张三", "张*"), ("张", "*"), ("欧阳娜娜", "欧***"), (" 李四 ", "李*"),
    ("买买提·艾力", "买*****"), ("John Smith", "J*********"), ("", ""), (None, ""),
])
def test_mask_name(name: str | None, masked: str) -> None:
    assert mask_name(name) == masked


# --- VINs ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("vin", "masked"), [
    ("1M8GDM9AXKP042788", "1M8**********2788"),
    ("1m8gdm9axkp042788", "1M8**********2788"),
    (" 1M8GDM9AX KP042788 ", "1M8**********2788"),
    ("WP0ZZZ99ZTS392124", "WP0**********2124"),
])
def test_mask_vin_keeps_manufacturer_and_last_four(vin: str, masked: str) -> None:
    assert mask_vin(vin) == masked
    assert len(masked) == 17


@pytest.mark.parametrize(("odd", "masked"), [
    (None, ""), ("", ""), ("042788", "0****8"), ("KP04", "****"), ("1M8GDM9AXKP04278", "1**************8"),
])
def test_mask_vin_odd_input(odd: str | None, masked: str) -> None:
    assert mask_vin(odd) == masked


# --- properties ------------------------------------------------------------------------------

def _is_subsequence(shown: str, source: str) -> bool:
    remaining = iter(source)
    return all(char in remaining for char in shown)


MASKERS = [(mask_plate, normalise_plate, 2), (mask_phone, normalise_phone, 2),
           (mask_vin, normalise_vin, 2), (mask_name, str.strip, 1)]
_starless = st.text(alphabet=st.characters(blacklist_characters="*"), max_size=20)
_plate_like = st.text(alphabet="京粤浙使ABDZadz0123456789学港·•-＊ ", max_size=10)


@PROPERTY_SETTINGS
@given(text=st.one_of(_starless, _plate_like))
def test_masking_never_raises_and_never_shows_the_value(text: str) -> None:
    for mask, normalise, min_hidden in MASKERS:
        normal = normalise(text)
        masked = mask(text)
        hidden = masked.count("*")
        assert hidden >= min(len(normal), min_hidden), (mask.__name__, text, masked)
        if normal and "*" not in normal:  # a value already starred may mask to itself
            assert masked != text and masked != normal
        shown = masked.replace("*", "").replace("·", "")
        assert _is_subsequence(shown, normal.replace("·", "")), (mask.__name__, text, masked)


@PROPERTY_SETTINGS
@given(province=st.sampled_from("京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"),
       serial=st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789", min_size=5, max_size=6),
       suffix=st.sampled_from(["", "挂", "学", "警", "港", "澳", "领"]))
def test_masked_plates_keep_head_and_suffix_and_hide_the_middle(
        province: str, serial: str, suffix: str) -> None:
    serial = (serial[:-1] + suffix) if suffix else serial
    masked = mask_plate(f"{province}Z{serial}")
    assert masked.startswith(f"{province}Z·{serial[0]}")
    assert masked.endswith(serial[-2:])
    assert masked.count("*") == len(serial) - 3 >= 2
