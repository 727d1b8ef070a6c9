"""Exam-room time rules and network allow-lists (pure functions, no database).

All datetimes are timezone-aware UTC (``exam.core.clock.now_utc``).
"""
from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from flask_babel import gettext

#: Limits on the exam-room rules a body may set (minutes).
MAX_LATE_ENTRY = 60
MAX_EXTRA_MINUTES = 240
MIN_MULTIPLIER, MAX_MULTIPLIER = Decimal("1"), Decimal("3")


def entry_closes_at(start: datetime, late_entry_minutes: int) -> datetime:
    """No entry (and no start) after this moment (commonly 15 minutes after the start)."""
    return start + timedelta(minutes=late_entry_minutes)


def allowed_minutes(duration_minutes: int, *, extra_minutes: int = 0,
                    multiplier: Decimal | float | int = 1) -> int:
    """A candidate's working time: the duration times the multiplier (rounded up), plus extra."""
    scaled = math.ceil(Decimal(duration_minutes) * Decimal(str(multiplier)))
    return int(scaled) + int(extra_minutes or 0)


def attempt_deadline(started_at: datetime, duration_minutes: int, *, extra_minutes: int = 0,
                     multiplier: Decimal | float | int = 1,
                     hard_end: datetime | None = None) -> datetime:
    """The earlier of start + working time and the session's hard end (when set)."""
    deadline = started_at + timedelta(minutes=allowed_minutes(
        duration_minutes, extra_minutes=extra_minutes, multiplier=multiplier))
    return min(deadline, hard_end) if hard_end is not None else deadline


def earliest_handin_at(started_at: datetime, earliest_handin_minutes: int) -> datetime:
    """No hand-in before this moment (commonly 30 minutes after the attempt started)."""
    return started_at + timedelta(minutes=earliest_handin_minutes)


# --- IP allow-lists ----------------------------------------------------------------------

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass
class AllowList:
    networks: list[Network]
    problems: list[str]


def parse_allowlist(text: str | None) -> AllowList:
    """Networks from text: one CIDR or address per line (commas and spaces also separate;
    ``#`` starts a comment). Each bad entry gives a problem in words."""
    networks: list[Network] = []
    problems: list[str] = []
    for line in (text or "").splitlines():
        line = line.split("#", 1)[0]
        for entry in re.split(r"[\s,;，；]+", line):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=True))
            except ValueError:
                try:
                    loose = ipaddress.ip_network(entry, strict=False)
                except ValueError:
                    problems.append(gettext("%(entry)s is not an IP address or a network such as "
                                            "192.168.10.0/24.", entry=entry))
                else:
                    problems.append(gettext("%(entry)s has host bits set; did you mean %(network)s?",
                                            entry=entry, network=str(loose)))
    return AllowList(networks, problems)


def ip_allowed(text: str | None, ip: str | None) -> bool:
    """Whether ``ip`` may start here: an empty list allows any address."""
    networks = parse_allowlist(text).networks
    if not networks:
        return True
    try:
        address = ipaddress.ip_address(ip or "")
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    return any(address in network for network in networks)


def normalise_allowlist(text: str | None) -> str | None:
    """The list as stored: one network per line, or None when empty."""
    networks = parse_allowlist(text).networks
    return "\n".join(str(n) for n in networks) or None
