"""Mainland Chinese mobile numbers (手机号码) of owners and booking contacts.

A mobile number has 11 digits and starts with 1 followed by 3–9. People type it with spaces,
dashes or brackets and sometimes with the country code (+86, 0086 or a bare 86 in front of
the 11 digits); ``normalise_phone`` removes all of that. The last digits (``phone_tail``)
prove a person is the owner when keys are handed back.
"""

from __future__ import annotations

import re
import unicodedata

from station.errors import ValidationError

MOBILE_LENGTH = 11
COUNTRY_PREFIXES = ("+86", "0086")
_SEPARATORS = "-‐‑‒–—―()"
_MOBILE = re.compile(r"1[3-9]\d{9}")


def normalise_phone(raw: str) -> str:
    """The number without spaces, dashes, brackets or the +86 / 0086 / 86 country prefix."""
    text = unicodedata.normalize("NFKC", raw)
    text = "".join(char for char in text if not char.isspace() and char not in _SEPARATORS)
    for prefix in COUNTRY_PREFIXES:
        if text.startswith(prefix):
            return text[len(prefix):]
    if text.startswith("86") and len(text) == len("86") + MOBILE_LENGTH:
        return text[len("86"):]
    return text


def validate_phone(raw: str) -> str:
    """The normalised 11-digit mobile number, or ValidationError ``phone_invalid``.

    The number itself is never put into the error's details (it is personal information).
    """
    normal = normalise_phone("" if raw is None else str(raw))
    if not normal:
        raise ValidationError("phone_invalid", "请填写手机号码。",
                              "Please enter a mobile phone number.")
    if not (normal.isascii() and normal.isdigit()):
        raise ValidationError("phone_invalid", "手机号码只能包含数字。",
                              "A mobile phone number may contain digits only.")
    if len(normal) != MOBILE_LENGTH:
        raise ValidationError(
            "phone_invalid",
            f"手机号码应为{MOBILE_LENGTH}位数字，录入的是{len(normal)}位。",
            f"A mobile phone number has {MOBILE_LENGTH} digits; {len(normal)} were entered.",
            expected_length=MOBILE_LENGTH, found_length=len(normal))
    if not _MOBILE.fullmatch(normal):
        raise ValidationError(
            "phone_invalid",
            "手机号码应以13至19开头。",
            "A mobile phone number starts with 13 to 19.")
    return normal


def phone_tail(phone: str, n: int = 4) -> str:
    """The last ``n`` digits of a valid mobile number (``phone_invalid`` if it is not one)."""
    if not 1 <= n <= MOBILE_LENGTH:
        raise ValueError(f"n must be between 1 and {MOBILE_LENGTH}, not {n}")
    return validate_phone(phone)[-n:]
