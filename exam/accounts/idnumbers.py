"""Identity documents, phone numbers and masking (pure functions, no database).

The mainland resident identity card number (GB 11643-1999) has 18 characters:
six digits of region, eight of birth date, three of sequence and a check character
computed with ISO 7064 MOD 11-2 over the first seventeen.
"""
from __future__ import annotations

import re
from datetime import date

from flask_babel import lazy_gettext as _l

#: ID document types accepted at registration, with their labels.
ID_TYPES = {
    "resident_id": _l("Resident identity card"),
    "hk_macao_permit": _l("Mainland travel permit for Hong Kong and Macao residents"),
    "taiwan_permit": _l("Mainland travel permit for Taiwan residents"),
    "foreign_permanent": _l("Foreign permanent resident ID card"),
    "passport": _l("Passport"),
}
#: Labels as printed on certificates (always Chinese).
ID_TYPE_NAMES_ZH = {
    "resident_id": "居民身份证",
    "hk_macao_permit": "港澳居民来往内地通行证",
    "taiwan_permit": "台湾居民来往大陆通行证",
    "foreign_permanent": "外国人永久居留身份证",
    "passport": "护照",
}
EDUCATION_LEVELS = {
    "none": _l("Below junior secondary"),
    "junior_secondary": _l("Junior secondary school"),
    "senior_secondary": _l("Senior secondary school"),
    "technical_school": _l("Technical school (技工学校)"),
    "senior_technical_school": _l("Senior technical school or technician college"),
    "vocational_college": _l("Higher vocational college (大专)"),
    "bachelor": _l("Bachelor's degree or above"),
}

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
#: First two digits of resident ID numbers: provinces, plus 71/81/82 for Taiwan, Hong
#: Kong and Macao residents' residence permits.
_PROVINCE_PREFIXES = {
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82", "83",
}
_RESIDENT_ID = re.compile(r"^\d{17}[\dX]$")
_MOBILE = re.compile(r"^1[3-9]\d{9}$")


class InvalidIdNumber(ValueError):
    """The number is not a valid identity number; ``str()`` explains why."""


def resident_id_check_char(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character for the first 17 digits."""
    total = sum(int(d) * w for d, w in zip(first17, _WEIGHTS))
    return _CHECK_CHARS[total % 11]


def normalise_id_number(id_type: str, number: str) -> str:
    """Strip spaces; upper-case (the check character ``x`` is written ``X``)."""
    return re.sub(r"\s+", "", number or "").upper()


def parse_resident_id(number: str, today: date | None = None) -> date:
    """Validate a resident ID number and return the birth date it carries.

    :raise InvalidIdNumber: with the reason (length, characters, region, date, check character).
    """
    number = normalise_id_number("resident_id", number)
    if len(number) != 18:
        raise InvalidIdNumber(_l("A resident ID number has 18 characters."))
    if not _RESIDENT_ID.match(number):
        raise InvalidIdNumber(_l("Only digits, and X as the last character, are allowed."))
    if number[:2] not in _PROVINCE_PREFIXES:
        raise InvalidIdNumber(_l("The first two digits are not a province code."))
    try:
        born = date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise InvalidIdNumber(_l("Characters 7–14 are not a valid birth date.")) from None
    today = today or date.today()
    if born > today or born.year < 1900:
        raise InvalidIdNumber(_l("Characters 7–14 are not a valid birth date."))
    if resident_id_check_char(number[:17]) != number[17]:
        raise InvalidIdNumber(_l("The check character (the last one) does not match; "
                                 "please check the number for a typing mistake."))
    return born


def validate_id_number(id_type: str, number: str, today: date | None = None) -> tuple[str, date | None]:
    """Normalise and validate any supported ID type; returns (number, birth date if known)."""
    if id_type not in ID_TYPES:
        raise InvalidIdNumber(_l("Unknown ID type."))
    number = normalise_id_number(id_type, number)
    if id_type == "resident_id":
        return number, parse_resident_id(number, today)
    if not re.fullmatch(r"[A-Z0-9]{6,20}", number):
        raise InvalidIdNumber(_l("Use 6 to 20 letters and digits."))
    return number, None


def is_mobile_number(phone: str) -> bool:
    return bool(_MOBILE.match(phone or ""))


def mask_id_number(number: str | None, keep_last: int = 4) -> str:
    """``110105********123X``: only the last ``keep_last`` characters, and for long numbers the
    first six (the region), stay readable."""
    if not number:
        return ""
    if len(number) >= 15 and keep_last == 4:
        return number[:6] + "*" * (len(number) - 10) + number[-4:]
    return "*" * max(len(number) - keep_last, 0) + number[-keep_last:]


def mask_to_last(number: str | None, keep_last: int = 4) -> str:
    """Every character hidden but the last ``keep_last`` (public verification pages)."""
    if not number:
        return ""
    return "*" * max(len(number) - keep_last, 0) + number[-keep_last:]


def mask_phone(phone: str | None) -> str:
    if not phone or len(phone) < 7:
        return phone or ""
    return phone[:3] + "****" + phone[-4:]
