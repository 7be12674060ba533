"""Plate numbers (号牌号码) checked against their plate type (号牌种类, GA 24.7 codes).

Layouts (GA 36; DOMAIN.md §11), positions counted from 1:

========== ====== ================================================================ ==========
family     length layout                                                           types
========== ====== ================================================================ ==========
ordinary   7      province + issuing letter + 5 serial (letters without I/O, digits) 01 02
suffix     7      province + issuing letter + 4 serial + 挂 学 警 港 澳 领           15 16 23
                                                                                   26 27 04
nev_small  8      province + issuing letter + energy letter + letter or digit      52
                  + 4 digits
nev_large  8      province + issuing letter + 5 digits + D or F                    51
embassy    7      使 + 3-digit country code + 3-digit serial                        03
========== ====== ================================================================ ==========

* The suffix character replaces the last serial character and names the plate type:
  挂 trailer (15), 学 driving school (16), 警 police (23), 港 Hong Kong (26), 澳 Macau (27),
  领 consulate (04).
* Hong Kong and Macau cross-border plates are issued only by Guangdong's office Z, so they
  read 粤Z1234港 / 粤Z1234澳; any other issuer is refused.
* Small new-energy plates: the energy letter was D (pure electric) or F (other new energy);
  the extended range A–K without I is also accepted (A–E pure electric, F–K other).
* Embassy plates read 使 followed by six digits (使224009: country 224, vehicle 009) — on the
  plates before 2017 and after alike; the country code is not checked against a list.
* Normalisation (``normalise_plate``) comes first: Unicode NFKC (full-width letters and
  digits become ASCII), all whitespace and the separators in ``SEPARATORS`` removed, latin
  letters upper-cased — so ``粤ｂ·１２３４５`` is ``粤B12345``.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum
from types import MappingProxyType
from typing import NamedTuple

from station.errors import ValidationError

PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼"
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"  # plates never use I or O: they read as 1 and 0
DIGITS = "0123456789"
SERIAL_CHARS = LETTERS + DIGITS
NEV_SMALL_ENERGY = "ABCDEFGHJK"  # D/F, and the extended range A–K without I
NEV_LARGE_ENERGY = "DF"
EMBASSY_MARK = "使"
SEPARATORS = "·•・‧∙⋅-"  # middle dots (and a hyphen) people type between issuer and serial


class PlateFamily(StrEnum):
    """The shape of a plate number; several plate types share one family."""

    ORDINARY = "ordinary"
    SUFFIX = "suffix"
    NEV_SMALL = "nev_small"
    NEV_LARGE = "nev_large"
    EMBASSY = "embassy"


class PlateType(NamedTuple):
    """One plate type (号牌种类) and the plate layout it requires."""

    name_zh: str
    name_en: str
    family: PlateFamily
    length: int
    example: str
    suffix: str = ""  # replaces the last serial character (SUFFIX family)
    issuer: str = ""  # required province + issuing letter when a single office issues them


PLATE_TYPES: MappingProxyType[str, PlateType] = MappingProxyType({
    "01": PlateType("大型汽车", "large vehicle", PlateFamily.ORDINARY, 7, "粤B12345"),
    "02": PlateType("小型汽车", "small vehicle", PlateFamily.ORDINARY, 7, "浙D12345"),
    "03": PlateType("使馆汽车", "embassy vehicle", PlateFamily.EMBASSY, 7, "使224009"),
    "04": PlateType("领馆汽车", "consulate vehicle", PlateFamily.SUFFIX, 7, "沪A1234领", "领"),
    "15": PlateType("挂车", "trailer", PlateFamily.SUFFIX, 7, "粤B1234挂", "挂"),
    "16": PlateType("教练汽车", "driving-school vehicle", PlateFamily.SUFFIX, 7, "粤B1234学", "学"),
    "23": PlateType("警用汽车", "police vehicle", PlateFamily.SUFFIX, 7, "京A1234警", "警"),
    "26": PlateType("香港入出境车", "Hong Kong cross-border vehicle", PlateFamily.SUFFIX, 7,
                    "粤Z1234港", "港", "粤Z"),
    "27": PlateType("澳门入出境车", "Macau cross-border vehicle", PlateFamily.SUFFIX, 7,
                    "粤Z1234澳", "澳", "粤Z"),
    "51": PlateType("大型新能源汽车", "large new-energy vehicle", PlateFamily.NEV_LARGE, 8,
                    "粤B12345D"),
    "52": PlateType("小型新能源汽车", "small new-energy vehicle", PlateFamily.NEV_SMALL, 8,
                    "浙AD12345"),
})


class _Position(NamedTuple):
    """What one position of a plate accepts, said for a person."""

    allowed: str
    zh: str
    en: str


_PROVINCE = _Position(PROVINCES, "省份简称（京、津、沪、渝……）",
                      "a province abbreviation (京, 津, 沪, 渝 …)")
_ISSUER = _Position(LETTERS, "发牌机关字母（A–Z，不含I、O）",
                    "the issuing-office letter (A–Z without I and O)")
_SERIAL = _Position(SERIAL_CHARS, "字母（不含I、O）或数字", "a letter (not I or O) or a digit")
_DIGIT = _Position(DIGITS, "数字", "a digit")
_SMALL_ENERGY = _Position(NEV_SMALL_ENERGY, "能源类型字母D或F（扩展号段A–K，不含I）",
                          "the energy letter D or F (extended range A–K without I)")
_LARGE_ENERGY = _Position(NEV_LARGE_ENERGY, "能源类型字母D或F", "the energy letter D or F")
_EMBASSY = _Position(EMBASSY_MARK, "“使”", "使")

# How each family is described in messages; {head} is the province + issuer part.
_FAMILY_FORMAT = MappingProxyType({
    PlateFamily.ORDINARY: ("{head}+5位字母或数字", "{head} + 5 letters or digits"),
    PlateFamily.SUFFIX: ("{head}+4位字母或数字+“{suffix}”", "{head} + 4 letters or digits + {suffix}"),
    PlateFamily.NEV_SMALL: ("{head}+D或F（扩展A–K）+1位字母或数字+4位数字",
                            "{head} + D or F (extended A–K) + a letter or digit + 4 digits"),
    PlateFamily.NEV_LARGE: ("{head}+5位数字+D或F", "{head} + 5 digits + D or F"),
    PlateFamily.EMBASSY: ("“使”+6位数字", "使 + 6 digits"),
})

_IO_NOTE = ("号牌不使用字母I和O，以免与数字1和0混淆。",
            " Plates never use the letters I and O, which look like 1 and 0.")


def _layout(plate_type: PlateType) -> tuple[_Position, ...]:
    """The accepted characters at every position of a plate of this type."""
    if plate_type.family is PlateFamily.EMBASSY:
        return (_EMBASSY, *[_DIGIT] * 6)
    head: tuple[_Position, ...] = (_PROVINCE, _ISSUER)
    if plate_type.issuer:
        note_zh = f"（{plate_type.name_zh}号牌只由“{plate_type.issuer}”核发）"
        note_en = f" ({plate_type.name_en} plates are issued only as {plate_type.issuer})"
        head = tuple(_Position(char, f"“{char}”{note_zh}", f"{char}{note_en}")
                     for char in plate_type.issuer)
    if plate_type.family is PlateFamily.ORDINARY:
        return (*head, *[_SERIAL] * 5)
    if plate_type.family is PlateFamily.SUFFIX:
        suffix = _Position(plate_type.suffix,
                           f"“{plate_type.suffix}”（{plate_type.name_zh}号牌的末位）",
                           f"{plate_type.suffix} (the last character of a {plate_type.name_en} plate)")
        return (*head, *[_SERIAL] * 4, suffix)
    if plate_type.family is PlateFamily.NEV_SMALL:
        return (*head, _SMALL_ENERGY, _SERIAL, *[_DIGIT] * 4)
    return (*head, *[_DIGIT] * 5, _LARGE_ENERGY)


_LAYOUTS = MappingProxyType({code: _layout(pt) for code, pt in PLATE_TYPES.items()})


def _format_text(plate_type: PlateType) -> tuple[str, str]:
    """The layout of a plate type as one sentence, Chinese and English."""
    head_zh, head_en = ((plate_type.issuer, plate_type.issuer) if plate_type.issuer
                        else ("省份简称+发牌机关字母", "province + issuing letter"))
    fmt_zh, fmt_en = _FAMILY_FORMAT[plate_type.family]
    fmt_zh = fmt_zh.format(head=head_zh, suffix=plate_type.suffix)
    fmt_en = fmt_en.format(head=head_en, suffix=plate_type.suffix)
    return (f"{plate_type.name_zh}号牌为{plate_type.length}位：{fmt_zh}，如{plate_type.example}",
            f"a {plate_type.name_en} plate has {plate_type.length} characters: {fmt_en}, "
            f"e.g. {plate_type.example}")


def normalise_plate(raw: str) -> str:
    """The plate as stored: NFKC (full-width → ASCII), no whitespace or separators, upper case."""
    text = unicodedata.normalize("NFKC", raw)
    kept = "".join(char for char in text if not char.isspace() and char not in SEPARATORS)
    return "".join(char.upper() if char.isascii() else char for char in kept)


def _bad_position(code: str, plate: str) -> int | None:
    """Index of the first character the layout refuses, or None if every position fits."""
    for index, (char, position) in enumerate(zip(plate, _LAYOUTS[code], strict=False)):
        if char not in position.allowed:
            return index
    return None


def _fits(code: str, plate: str) -> bool:
    return len(plate) == PLATE_TYPES[code].length and _bad_position(code, plate) is None


def _known_type(plate_type: str) -> str:
    code = str(plate_type).strip()
    if code not in PLATE_TYPES:
        known_zh = "、".join(f"{c} {pt.name_zh}" for c, pt in PLATE_TYPES.items())
        raise ValidationError(
            "plate_type_unknown",
            f"未知的号牌种类代码“{code}”，应为：{known_zh}。",
            f"Unknown plate type code '{code}'; expected one of {', '.join(PLATE_TYPES)}.",
            plate_type=code, known_types=list(PLATE_TYPES))
    return code


def matching_plate_types(plate: str) -> tuple[str, ...]:
    """The plate type codes a plate number fits, in table order (01 and 02 always together)."""
    normal = normalise_plate(plate)
    return tuple(code for code in PLATE_TYPES if _fits(code, normal))


def is_new_energy(plate_type: str) -> bool:
    """True for the new-energy plate types (51, 52); an unknown code is refused."""
    family = PLATE_TYPES[_known_type(plate_type)].family
    return family in (PlateFamily.NEV_SMALL, PlateFamily.NEV_LARGE)


def validate_plate(plate_type: str, plate: str) -> str:
    """The normalised plate number, or a ValidationError saying which position is wrong and why.

    Codes: ``plate_type_unknown``, ``plate_invalid`` (empty, wrong length, a wrong character —
    ``details["position"]`` is 1-based) and ``plate_type_mismatch`` (a well-formed plate of
    another type, ``details["matching_types"]``).
    """
    code = _known_type(plate_type)
    spec = PLATE_TYPES[code]
    normal = normalise_plate("" if plate is None else str(plate))
    if not normal:
        raise ValidationError("plate_invalid", "请填写号牌号码。", "Please enter the plate number.",
                              plate_type=code)
    if _fits(code, normal):
        return normal
    format_zh, format_en = _format_text(spec)
    others = matching_plate_types(normal)
    if others:
        names_zh = "、".join(f"{PLATE_TYPES[c].name_zh}（{c}）" for c in others)
        names_en = " / ".join(f"{PLATE_TYPES[c].name_en} ({c})" for c in others)
        raise ValidationError(
            "plate_type_mismatch",
            f"号牌号码“{normal}”是{names_zh}号牌，与所选号牌种类“{spec.name_zh}”（{code}）不符；"
            f"{format_zh}。",
            f"Plate {normal} is a {names_en} plate and does not fit the chosen plate type "
            f"{spec.name_en} ({code}); {format_en}.",
            plate_type=code, matching_types=list(others))
    if len(normal) != spec.length:
        raise ValidationError(
            "plate_invalid",
            f"号牌号码“{normal}”为{len(normal)}位，{format_zh}。",
            f"Plate {normal} has {len(normal)} characters; {format_en}.",
            plate_type=code, expected_length=spec.length, found_length=len(normal))
    index = _bad_position(code, normal)
    assert index is not None  # right length yet not fitting: some position is wrong
    char, position = normal[index], _LAYOUTS[code][index]
    io_zh, io_en = _IO_NOTE if char in "IO" else ("", "")
    raise ValidationError(
        "plate_invalid",
        f"号牌号码“{normal}”第{index + 1}位“{char}”不正确：此处应为{position.zh}。{io_zh}",
        f"Plate {normal}: character {index + 1} '{char}' is wrong; expected {position.en} here."
        f"{io_en}",
        plate_type=code, position=index + 1, found=char)
