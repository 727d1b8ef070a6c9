"""Admission-ticket numbers and the signed code in the ticket's QR (pure, no database).

The QR carries ``T1.<ticket number>.<signature>``: the signature is an HMAC-SHA256
of the number under the application's ``SECRET_KEY`` with a purpose salt, cut to 80
bits and written in base32. Upper-case letters, digits and dots fit the QR
alphanumeric mode, so the code stays a small version-2 symbol. A proctor may also
type the bare 12-digit number (they compare the candidate with the photo and the ID
document anyway); only a code that *claims* a signature must carry a right one.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass

SALT = b"skillcert.admission-ticket.v1"
PREFIX = "T1"
_NUMBER = re.compile(r"^\d{12}$")
_CODE = re.compile(r"^T1\.(\d{12})\.([A-Z2-7]{16})$")


class BadTicketCode(ValueError):
    """The text is not a ticket number or a valid signed ticket code.

    ``reason`` is ``forged`` (a ticket code whose signature does not match) or
    ``unreadable`` (not a ticket code at all).
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class TicketCode:
    ticket_no: str
    #: True when read from a signed QR code, False when the number was typed.
    signed: bool


def ticket_number(year: int, session_id: int, serial: int) -> str:
    """``YY`` + session id (6 digits) + serial within the session (4 digits): 12 digits."""
    if not (0 < session_id < 1_000_000 and 0 < serial < 10_000):
        raise ValueError("session id or serial out of range for a ticket number")
    return f"{year % 100:02d}{session_id:06d}{serial:04d}"


def signature(secret: str | bytes, ticket_no: str) -> str:
    key = secret.encode() if isinstance(secret, str) else secret
    digest = hmac.new(key, SALT + b"\x00" + ticket_no.encode(), hashlib.sha256).digest()
    return base64.b32encode(digest[:10]).decode()


def make_code(secret: str | bytes, ticket_no: str) -> str:
    """The text the ticket's QR encodes."""
    return f"{PREFIX}.{ticket_no}.{signature(secret, ticket_no)}"


def read_code(secret: str | bytes, text: str) -> TicketCode:
    """A typed number or a scanned code → the ticket number.

    :raise BadTicketCode: forged or altered code, or text that is neither.
    """
    cleaned = re.sub(r"\s+", "", text or "")
    if _NUMBER.match(cleaned):
        return TicketCode(cleaned, signed=False)
    match = _CODE.match(cleaned.upper())
    if match is None:
        if cleaned.upper().startswith(PREFIX + "."):
            raise BadTicketCode("forged")  # shaped like our code but altered
        raise BadTicketCode("unreadable")
    number, sig = match.groups()
    if not hmac.compare_digest(sig, signature(secret, number)):
        raise BadTicketCode("forged")
    return TicketCode(number, signed=True)
