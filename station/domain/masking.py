"""Masking of personal information (PIPL) for the lobby display, tickets and spoken calls (脱敏).

Rules, applied after the value is normalised (spaces, dots, full-width characters, +86 …):

* Plate: the head (province + issuing letter, or 使 for an embassy plate), a middle dot,
  then the serial with its first and its last two characters kept and every character in
  between a star — the serial of any family is 5 or 6 characters long, so 2 or 3 stay hidden
  and a suffix stays readable: 浙D12345 → 浙D·1**45, 浙AD12345 → 浙A·D***45,
  粤B12345D → 粤B·1***5D, 粤B1234学 → 粤B·1**4学, 使224009 → 使·2***09.
* Phone: 11 digits → first 3, four stars, last 4: 13812345678 → 138****5678.
* Name: the first character, a star for each other one: 张三丰 → 张**.
* VIN: 17 characters → the manufacturer code (WMI, first 3) and the last 4 with ten stars:
  LSVAU2180N2183294 → LSV**********3294. Fewer than the last 6 stay visible because the last
  six are what a booking asks for.
* Anything else (a plate, phone or VIN of unknown shape): four characters or fewer become all
  stars; longer values keep only their first and last character.

Masking never raises: ``None`` and the empty string give ``""`` (nothing to hide), any other
value is masked through ``str()``. The output never equals the input unless that input was
already nothing but stars in the hidden places.
"""

from __future__ import annotations

from station.domain.phone import MOBILE_LENGTH, normalise_phone
from station.domain.plates import EMBASSY_MARK, PROVINCES, normalise_plate
from station.domain.vin import VIN_LENGTH, normalise_vin

STAR = "*"
PLATE_DOT = "·"
_SHORT = 4  # values this short (or shorter) of unknown shape are hidden completely


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _mask_generic(text: str) -> str:
    """All stars up to four characters; otherwise the first and last character only."""
    if len(text) <= _SHORT:
        return STAR * len(text)
    return text[0] + STAR * (len(text) - 2) + text[-1]


def _plate_head(plate: str) -> str:
    """The part before the middle dot, or "" if the plate has no recognisable head."""
    if plate.startswith(EMBASSY_MARK):
        return EMBASSY_MARK
    if len(plate) >= 2 and plate[0] in PROVINCES and plate[1].isascii() and plate[1].isalpha():
        return plate[:2]
    return ""


def mask_plate(plate: str | None) -> str:
    """浙D12345 → 浙D·1**45; see the module docstring for every family."""
    normal = normalise_plate(_text(plate))
    head = _plate_head(normal)
    serial = normal[len(head):]
    if head and 5 <= len(serial) <= 6:
        return f"{head}{PLATE_DOT}{serial[0]}{STAR * (len(serial) - 3)}{serial[-2:]}"
    return _mask_generic(normal)


def mask_phone(phone: str | None) -> str:
    """13812345678 → 138****5678."""
    normal = normalise_phone(_text(phone))
    if len(normal) == MOBILE_LENGTH and normal.isascii() and normal.isdigit():
        return normal[:3] + STAR * 4 + normal[-4:]
    return _mask_generic(normal)


def mask_name(name: str | None) -> str:
    """张三丰 → 张**; a one-character name becomes a single star."""
    normal = _text(name).strip()
    if len(normal) <= 1:
        return STAR * len(normal)
    return normal[0] + STAR * (len(normal) - 1)


def mask_vin(vin: str | None) -> str:
    """LSVAU2180N2183294 → LSV**********3294 (first 3 and last 4 kept)."""
    normal = normalise_vin(_text(vin))
    if len(normal) == VIN_LENGTH:
        return normal[:3] + STAR * (VIN_LENGTH - 7) + normal[-4:]
    return _mask_generic(normal)
