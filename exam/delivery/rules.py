"""The exam's rules that need no database: deadlines, the start window, address allow-lists
and the shape of answers. Tested without an application.
"""
from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal
from functools import lru_cache
from typing import Any, Iterable

from flask_babel import gettext

from ..banks import qtypes

#: Largest sequence number a browser may send (JavaScript integers are exact up to 2**53).
MAX_SEQ = 2 ** 53 - 1


# --- time ------------------------------------------------------------------------------------

def compute_deadline(started_at: datetime, duration_minutes: int, *, multiplier: Decimal | str = "1",
                     extra_minutes: int = 0, hard_end_at: datetime | None = None) -> datetime:
    """The earlier of start + duration × multiplier (rounded up to whole minutes, as the
    sessions domain shows it) + extra minutes, and the session's hard end."""
    minutes = (Decimal(duration_minutes) * Decimal(str(multiplier))).to_integral_value(
        rounding=ROUND_CEILING)
    deadline = started_at + timedelta(minutes=int(minutes) + int(extra_minutes or 0))
    if hard_end_at is not None and hard_end_at < deadline:
        return hard_end_at
    return deadline


def milliseconds(delta: timedelta) -> int:
    return int(delta.total_seconds() * 1000)


@dataclass(frozen=True)
class StartWindow:
    """When a candidate may start: from ``opens_at`` to the late-entry ``closes_at``."""

    opens_at: datetime
    closes_at: datetime
    hard_end_at: datetime | None = None

    @classmethod
    def of(cls, theory_start_at: datetime | None, late_entry_minutes: int,
           hard_end_at: datetime | None) -> "StartWindow | None":
        if theory_start_at is None:
            return None
        closes = theory_start_at + timedelta(minutes=late_entry_minutes or 0)
        if hard_end_at is not None and hard_end_at < closes:
            closes = hard_end_at
        return cls(theory_start_at, closes, hard_end_at)

    def state(self, now: datetime) -> str:
        """``not_yet``, ``open`` or ``closed``."""
        if now < self.opens_at:
            return "not_yet"
        if now > self.closes_at:
            return "closed"
        return "open"


# --- where from --------------------------------------------------------------------------------

def parse_allowlist(text: str | None) -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    """Networks of a room's allow-list: one CIDR (or address) per line; ``#`` starts a comment.

    Lines that are not networks are skipped: a list with only such lines admits nobody
    (see ``address_allowed``), so a typo never opens the room to everyone.
    """
    networks = []
    for line in (text or "").splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            networks.append(ipaddress.ip_network(line, strict=False))
        except ValueError:
            continue
    return networks


def has_allowlist(text: str | None) -> bool:
    return any(line.split("#", 1)[0].strip() for line in (text or "").splitlines())


def address_allowed(address: str | None, allowlist: str | None) -> bool:
    """True when the room has no allow-list or ``address`` is inside one of its networks."""
    if not has_allowlist(allowlist):
        return True
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return any(ip.version == net.version and ip in net for net in parse_allowlist(allowlist))


def access_code_matches(expected: str | None, given: str | None) -> bool:
    """Codes are compared without surrounding spaces and case (they are read out in the room)."""
    import hmac

    if not expected:
        return True
    a = (expected or "").strip().upper().encode()
    b = (given or "").strip().upper().encode()
    return hmac.compare_digest(a, b)


# --- answers ---------------------------------------------------------------------------------

def shape_code(item_type: str, options: list | None, stem: str | None) -> str:
    """What a response to this item must look like: the type and the number of options or blanks."""
    qtype = qtypes.get_type(item_type)
    if qtype.has_options:
        return f"{item_type}:{len(options or [])}"
    if item_type == "fill_blank":
        return f"{item_type}:{qtypes.FillBlank.blank_count(stem or '')}"
    return item_type


@dataclass(frozen=True)
class _ShapeContent:
    """Just enough of an item for ``QuestionType.response_problem`` (no stem text, no answer)."""

    type: str
    stem: str
    options: tuple = ()
    answer: Any = None
    config: Any = None


@lru_cache(maxsize=64)
def _shape(code: str) -> tuple[qtypes.QuestionType, _ShapeContent, list]:
    item_type, _, count = code.partition(":")
    n = int(count or 0)
    qtype = qtypes.get_type(item_type)
    stem = "".join(f"[[{i}]]" for i in range(1, n + 1)) if item_type == "fill_blank" else ""
    return qtype, _ShapeContent(item_type, stem), [None] * (n if qtype.has_options else 0)


def answer_problem(code: str, answer: Any) -> str | None:
    """Why ``answer`` does not fit an item of shape ``code`` (None when it fits or is empty)."""
    qtype, content, order = _shape(code)
    return qtype.response_problem(content, order, answer)


def is_answered(code: str, answer: Any) -> bool:
    return _shape(code)[0].is_answered(answer)


@dataclass(frozen=True)
class Change:
    """One item's new state from the browser: answer, review flag and sequence number."""

    position: int
    answer: Any
    flagged: bool
    seq: int


class MalformedChanges(ValueError):
    """The body is not a list of changes at all (not an answer that does not fit an item)."""


def parse_changes(raw: Any, limit: int = 500) -> list[Change]:
    """``[{"p": position, "a": answer, "f": flagged, "q": seq}, …]`` → changes, the latest per
    position (a batch may carry several changes of one item).

    :raise MalformedChanges: the structure is wrong (the whole batch is refused).
    """
    if not isinstance(raw, list) or len(raw) > limit:
        raise MalformedChanges("changes must be a list")
    latest: dict[int, Change] = {}
    for entry in raw:
        if not isinstance(entry, dict):
            raise MalformedChanges("each change must be an object")
        position, seq, flagged = entry.get("p"), entry.get("q"), entry.get("f", False)
        if type(position) is not int or position < 0 or type(seq) is not int \
                or not 0 < seq <= MAX_SEQ or not isinstance(flagged, bool):
            raise MalformedChanges("each change needs an item position, a flag and a sequence number")
        change = Change(position, entry.get("a"), flagged, seq)
        if position not in latest or latest[position].seq < seq:
            latest[position] = change
    return list(latest.values())


def split_valid(changes: Iterable[Change], shape: list[str]) -> tuple[list[Change], list[tuple[Change, str]]]:
    """(changes that fit the paper, (change, problem) for those that do not)."""
    valid, rejected = [], []
    for change in changes:
        if change.position >= len(shape):
            rejected.append((change, gettext("There is no such item in this paper.")))
            continue
        problem = answer_problem(shape[change.position], change.answer)
        if problem:
            rejected.append((change, problem))
        else:
            valid.append(change)
    return valid, rejected


# --- devices --------------------------------------------------------------------------------

def new_device_token(epoch: int) -> str:
    """A device's random token, ``<epoch>.<random>`` (only its hash is stored)."""
    import secrets

    return f"{epoch}.{secrets.token_urlsafe(24)}"


def hash_token(token: str) -> str:
    import hashlib

    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def device_matches(stored_hash: str | None, token: str | None) -> bool:
    """The token is the one whose hash the attempt holds (constant-time comparison)."""
    import hmac

    if not stored_hash or not token:
        return False
    return hmac.compare_digest(stored_hash, hash_token(token))
