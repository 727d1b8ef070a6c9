"""Working days (工作日) for the publication (成绩公示) and appeal (复核) periods. Pure: no database.

A working day is Monday to Friday, except public holidays, plus the weekend days that are
made working days (调休上班). Both lists are data (``holidays.yaml`` beside this module, or the
file named by the ``SCORING_WORKDAYS_FILE`` setting), because they change every year.

Periods follow the civil-law rule for counting days (《民法典》第二百零一条): the day the period
starts is not counted; a period of *n* working days ends at the end (24:00, local time) of the
*n*-th working day after it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

BUNDLED = Path(__file__).with_name("holidays.yaml")


@dataclass(frozen=True)
class WorkCalendar:
    #: Public holidays (days off even when they fall on a weekday).
    holidays: frozenset[date] = field(default_factory=frozenset)
    #: Weekend days that are working days (调休).
    workdays: frozenset[date] = field(default_factory=frozenset)

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5

    def nth_working_day_after(self, start: date, n: int) -> date:
        """The ``n``-th working day after ``start`` (``start`` itself not counted)."""
        if n < 1:
            raise ValueError("n must be at least 1")
        day, counted = start, 0
        while counted < n:
            day += timedelta(days=1)
            if self.is_working_day(day):
                counted += 1
        return day

    def working_days_between(self, first: date, last: date) -> int:
        """Working days from ``first`` to ``last``, both included."""
        count, day = 0, first
        while day <= last:
            count += self.is_working_day(day)
            day += timedelta(days=1)
        return count

    def period_end(self, start: datetime, n: int, zone: str = "Asia/Shanghai") -> datetime:
        """When a period of ``n`` working days starting at ``start`` ends (UTC): midnight local
        time after the ``n``-th working day following the local date of ``start``."""
        tz = ZoneInfo(zone)
        local_day = start.astimezone(tz).date()
        last = self.nth_working_day_after(local_day, n)
        return datetime.combine(last + timedelta(days=1), time(0, 0), tz).astimezone(timezone.utc)


def _days(entry) -> list[date]:
    """A date, or a ``first/last`` range (both included)."""
    if isinstance(entry, datetime):
        return [entry.date()]
    if isinstance(entry, date):
        return [entry]
    text = str(entry).strip()
    if "/" in text:
        first, last = (date.fromisoformat(part.strip()) for part in text.split("/", 1))
        if last < first:
            raise ValueError(f"range {text} ends before it starts")
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]
    return [date.fromisoformat(text)]


def parse_calendar(data: dict | None) -> WorkCalendar:
    """``{year: {"holidays": [...], "workdays": [...]}}`` → a calendar.

    :raise ValueError: a malformed date or range.
    """
    holidays: set[date] = set()
    workdays: set[date] = set()
    for year in (data or {}).values():
        for entry in (year or {}).get("holidays") or ():
            holidays.update(_days(entry))
        for entry in (year or {}).get("workdays") or ():
            workdays.update(_days(entry))
    return WorkCalendar(frozenset(holidays), frozenset(workdays))


@lru_cache(maxsize=8)
def load_calendar(path: str | None = None) -> WorkCalendar:
    """The calendar of ``path`` (default: the bundled ``holidays.yaml``), read once."""
    with open(path or BUNDLED, encoding="utf-8") as fh:
        return parse_calendar(yaml.safe_load(fh))
