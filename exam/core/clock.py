"""The one clock.

Every rule about time (deadlines, windows, publication periods) reads ``now_utc()``,
never ``datetime.now()``, so tests can freeze and advance time and several app
servers agree on it (the database server's clock is not consulted: app servers are
expected to run NTP).
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from typing import Iterator

_lock = threading.Lock()
_frozen: datetime | None = None
_offset = timedelta(0)


def now_utc() -> datetime:
    """The current time, timezone-aware, in UTC."""
    frozen = _frozen
    if frozen is not None:
        return frozen
    return datetime.now(timezone.utc) + _offset


def freeze(at: datetime) -> None:
    """Stop the clock at ``at`` (tests only). ``at`` must be timezone-aware."""
    global _frozen
    if at.tzinfo is None:
        raise ValueError("freeze() needs a timezone-aware datetime")
    with _lock:
        _frozen = at.astimezone(timezone.utc)


def advance(delta: timedelta) -> datetime:
    """Move the clock forward by ``delta`` (tests only) and return the new time.

    A frozen clock stays frozen at the later time; a running clock keeps running,
    ``delta`` ahead (used by real-browser tests, where time must keep flowing).
    """
    global _frozen, _offset
    with _lock:
        if _frozen is None:
            _offset = _offset + delta
        else:
            _frozen = _frozen + delta
    return now_utc()


@contextmanager
def shifted(delta: timedelta) -> Iterator[datetime]:
    """Run a block with the clock ``delta`` away (negative: in the past), then put it back
    exactly as it was, frozen or running, whatever happened inside. Yields the shifted time.

    A frozen clock stays frozen at the shifted time; a running clock keeps running. Used by
    the demo to replay steps at their historical times; blocks nest.
    """
    global _frozen, _offset
    with _lock:
        saved = (_frozen, _offset)
        if _frozen is None:
            _offset = _offset + delta
        else:
            _frozen = _frozen + delta
    try:
        yield now_utc()
    finally:
        with _lock:
            _frozen, _offset = saved


def unfreeze() -> None:
    """Back to the real time."""
    global _frozen, _offset
    with _lock:
        _frozen = None
        _offset = timedelta(0)


def is_frozen() -> bool:
    return _frozen is not None
