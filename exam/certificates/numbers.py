"""The national certificate number (人社鉴发〔2019〕2号): 22 characters, no check digit.

====== =====================================================================
1      ``Y`` employer (用人单位) or ``S`` social training and assessment organisation
2–5    ministry-assigned body code, ``0000`` when filed with the province
6–7    province code
8–13   site serial assigned by the province
14–15  year of issue, two digits
16     level 1–5
17–22  serial number within the body, year and level, from 000001
====== =====================================================================

Pure functions: the serial itself comes from ``CertificateSerial`` (services).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

LENGTH = 22
MAX_SERIAL = 999_999
PREFIX_RE = re.compile(r"[YS][0-9]{12}")
#: Strict: upper-case kind letter, ASCII digits, level 1–5, serial not 000000.
NUMBER_RE = re.compile(r"[YS][0-9]{14}[1-5](?!000000)[0-9]{6}")


class InvalidNumber(ValueError):
    """Not a well-formed certificate number."""


@dataclass(frozen=True)
class CertificateNumber:
    kind: str
    body_code: str
    province_code: str
    site_code: str
    year: int  #: two digits, 0–99
    level: int
    serial: int

    @property
    def prefix(self) -> str:
        return f"{self.kind}{self.body_code}{self.province_code}{self.site_code}"

    def __str__(self) -> str:
        return format_number(self.prefix, self.year, self.level, self.serial)


def format_number(prefix: str, year: int, level: int, serial: int) -> str:
    """The number for a body's 13-character ``prefix`` (``Organisation.certificate_prefix``).

    ``year`` may be a full year (2026) or two digits (26).

    :raise InvalidNumber: when any part does not fit its positions.
    """
    if not PREFIX_RE.fullmatch(prefix or ""):
        raise InvalidNumber(f"the body's registered codes {prefix!r} do not form a 13-character prefix")
    if not 1 <= level <= 5:
        raise InvalidNumber(f"level {level} has no digit in the national number")
    if not 1 <= serial <= MAX_SERIAL:
        raise InvalidNumber(f"serial {serial} is outside 1–{MAX_SERIAL}")
    if year < 0:
        raise InvalidNumber(f"year {year}")
    return f"{prefix}{year % 100:02d}{level}{serial:06d}"


def is_well_formed(number: str) -> bool:
    """Exactly 22 characters in the national format (case matters: ``y…`` is not a number)."""
    return isinstance(number, str) and bool(NUMBER_RE.fullmatch(number))


def parse_number(number: str) -> CertificateNumber:
    """:raise InvalidNumber: unless ``is_well_formed(number)``."""
    if not is_well_formed(number):
        raise InvalidNumber(f"{number!r} is not a certificate number")
    return CertificateNumber(kind=number[0], body_code=number[1:5], province_code=number[5:7],
                             site_code=number[7:13], year=int(number[13:15]), level=int(number[15]),
                             serial=int(number[16:22]))


def normalise_typed(text: str | None) -> str:
    """A number as a person typed or pasted it: full-width characters made ASCII, spaces and
    dashes dropped, upper case.

    Only for typed input; signed links must carry the number exactly as issued.
    """
    return re.sub(r"[\s\-‐‑–—]+", "", unicodedata.normalize("NFKC", text or "")).upper()
