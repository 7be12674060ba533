"""Vehicle identification number (车辆识别代号, VIN; GB 16735 / ISO 3779).

17 characters from digits and latin letters without I, O and Q. Position 9 is a check
digit: every character is transliterated to a number (digits keep their value; letters as in
``TRANSLITERATION``), multiplied by its position's weight, summed, taken modulo 11; a
remainder of 10 is written X.

A wrong check digit is reported with its own code (``vin_check_digit``) because some
imported vehicles carry VINs whose ninth character is not a check digit: the counter screen
shows it as a warning that staff may confirm after comparing the VIN with the vehicle.
Bookings ask only for the last six characters (``validate_vin_tail``).
"""

from __future__ import annotations

import string
import unicodedata
from types import MappingProxyType

from station.errors import ValidationError

VIN_LENGTH = 17
VIN_TAIL_LENGTH = 6
CHECK_POSITION = 9  # 1-based position of the check digit
VIN_CHARS = "0123456789ABCDEFGHJKLMNPRSTUVWXYZ"  # never I, O or Q
TRANSLITERATION: MappingProxyType[str, int] = MappingProxyType({
    **{digit: int(digit) for digit in string.digits},
    "A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "F": 6, "G": 7, "H": 8,
    "J": 1, "K": 2, "L": 3, "M": 4, "N": 5, "P": 7, "R": 9,
    "S": 2, "T": 3, "U": 4, "V": 5, "W": 6, "X": 7, "Y": 8, "Z": 9,
})
WEIGHTS = (8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2)

_NEVER_NOTE = ("VIN只使用数字和字母，不使用字母I、O、Q。",
               " A VIN uses digits and letters but never I, O or Q.")


def normalise_vin(raw: str) -> str:
    """The VIN as stored: NFKC (full-width → ASCII), no whitespace, latin letters upper-cased."""
    text = unicodedata.normalize("NFKC", raw)
    return "".join(char.upper() if char.isascii() else char
                   for char in text if not char.isspace())


def _check_characters(text: str, *, what_zh: str, what_en: str) -> None:
    """Refuse the first character outside the VIN alphabet (``details["position"]`` 1-based)."""
    for position, char in enumerate(text, start=1):
        if char not in VIN_CHARS:
            note_zh, note_en = _NEVER_NOTE
            raise ValidationError(
                "vin_invalid",
                f"{what_zh}第{position}位“{char}”不正确：{note_zh}",
                f"{what_en}: character {position} '{char}' is not allowed.{note_en}",
                position=position, found=char)


def _checked_form(vin: str) -> str:
    """The normalised VIN if it has 17 characters of the VIN alphabet, else ``vin_invalid``."""
    normal = normalise_vin("" if vin is None else str(vin))
    if not normal:
        raise ValidationError("vin_invalid", "请填写车辆识别代号（VIN）。",
                              "Please enter the vehicle identification number (VIN).")
    if len(normal) != VIN_LENGTH:
        raise ValidationError(
            "vin_invalid",
            f"车辆识别代号（VIN）应为{VIN_LENGTH}位，录入的是{len(normal)}位。",
            f"A VIN has {VIN_LENGTH} characters; this one has {len(normal)}.",
            expected_length=VIN_LENGTH, found_length=len(normal))
    _check_characters(normal, what_zh="车辆识别代号", what_en="VIN")
    return normal


def vin_check_digit(vin: str) -> str:
    """The check digit ("0"–"9" or "X") position 9 of this VIN should hold.

    The character now at position 9 does not count (its weight is 0); the VIN must otherwise
    be well formed, else ``vin_invalid`` is raised.
    """
    normal = _checked_form(vin)
    total = sum(TRANSLITERATION[char] * weight for char, weight in zip(normal, WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def validate_vin(vin: str, *, check_digit: bool = True) -> str:
    """The normalised VIN, or ValidationError ``vin_invalid`` (length, characters) or
    ``vin_check_digit`` (details ``expected``/``found``) when ``check_digit`` is on."""
    normal = _checked_form(vin)
    if check_digit:
        expected, found = vin_check_digit(normal), normal[CHECK_POSITION - 1]
        if expected != found:
            raise ValidationError(
                "vin_check_digit",
                f"车辆识别代号第{CHECK_POSITION}位校验位应为“{expected}”，录入的是“{found}”："
                f"请对照车辆核对VIN是否录入有误。",
                f"The VIN check digit (character {CHECK_POSITION}) should be '{expected}' but is "
                f"'{found}': please compare the VIN with the vehicle for a typing error.",
                expected=expected, found=found, position=CHECK_POSITION)
    return normal


def vin_check_digit_ok(vin: str) -> bool:
    """True if the VIN is well formed and its check digit is right; never raises."""
    try:
        validate_vin(vin)
    except ValidationError:
        return False
    return True


def validate_vin_tail(tail: str) -> str:
    """The last six characters of a VIN as given in a booking, normalised, or ``vin_invalid``."""
    normal = normalise_vin("" if tail is None else str(tail))
    if len(normal) != VIN_TAIL_LENGTH:
        raise ValidationError(
            "vin_invalid",
            f"请填写车辆识别代号（VIN）后{VIN_TAIL_LENGTH}位，录入的是{len(normal)}位。",
            f"Please enter the last {VIN_TAIL_LENGTH} characters of the VIN; "
            f"{len(normal)} were entered.",
            expected_length=VIN_TAIL_LENGTH, found_length=len(normal))
    _check_characters(normal, what_zh=f"车辆识别代号后{VIN_TAIL_LENGTH}位",
                      what_en=f"Last {VIN_TAIL_LENGTH} of the VIN")
    return normal
