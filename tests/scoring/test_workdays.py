"""Working days for the publication and appeal periods."""
from datetime import date, datetime, timezone

from exam.scoring import workdays


def test_plain_week_counts_monday_to_friday():
    cal = workdays.WorkCalendar()
    monday = date(2026, 3, 2)
    assert cal.nth_working_day_after(monday, 1) == date(2026, 3, 3)
    assert cal.nth_working_day_after(monday, 5) == date(2026, 3, 9)  # Tue…Fri, then Monday
    assert cal.nth_working_day_after(date(2026, 3, 6), 1) == date(2026, 3, 9)  # Friday → Monday
    assert cal.working_days_between(date(2026, 3, 2), date(2026, 3, 8)) == 5


def test_bundled_calendar_skips_holidays_and_counts_make_up_days():
    cal = workdays.load_calendar()
    assert not cal.is_working_day(date(2026, 10, 5))  # 国庆, a Monday
    assert cal.is_working_day(date(2026, 10, 10))  # make-up Saturday
    assert cal.is_working_day(date(2026, 2, 14))  # Saturday before 春节
    assert not cal.is_working_day(date(2026, 2, 23))  # Monday, still 春节
    # Published Friday 30 September: 8–9 October (Thu, Fri), 10 October (Sat, make-up), then 12, 13.
    assert cal.nth_working_day_after(date(2026, 9, 30), 5) == date(2026, 10, 13)


def test_period_end_is_local_midnight_after_the_last_working_day():
    cal = workdays.WorkCalendar()
    # Monday 2 March 2026, 09:00 in Beijing.
    start = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
    end = cal.period_end(start, 5)
    assert end == datetime(2026, 3, 9, 16, 0, tzinfo=timezone.utc)  # Tuesday 10 March 00:00 Beijing
    # Late on Sunday evening UTC is already Monday in Beijing.
    late = datetime(2026, 3, 1, 17, 0, tzinfo=timezone.utc)
    assert cal.period_end(late, 1) == datetime(2026, 3, 3, 16, 0, tzinfo=timezone.utc)


def test_calendar_data_with_ranges():
    cal = workdays.parse_calendar({2030: {"holidays": ["2030-01-01/2030-01-03"], "workdays": ["2030-01-05"]}})
    assert not cal.is_working_day(date(2030, 1, 2))
    assert cal.is_working_day(date(2030, 1, 5))
