"""The district report's periods end on a fixed weekday and time in Berlin, summer or winter."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from notifications.domain.report_calendar import BERLIN, ReportCalendar, Weekday

WEEKLY = ReportCalendar()  # Monday 07:00, every week


def berlin(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=BERLIN)


def test_a_weekly_report_is_due_on_monday_at_seven_in_winter_and_in_summer() -> None:
    assert WEEKLY.next_boundary(berlin(2027, 3, 1, 6, 59)) == berlin(2027, 3, 1, 7, 0)
    assert WEEKLY.next_boundary(berlin(2027, 3, 1, 7, 0)) == berlin(2027, 3, 8, 7, 0)
    # Summer time begins on 28 March 2027: the boundary stays at 07:00 on the wall clock.
    assert WEEKLY.next_boundary(berlin(2027, 3, 23, 12, 0)) == berlin(2027, 3, 29, 7, 0)
    assert berlin(2027, 3, 29, 7, 0).astimezone(UTC).hour == 5
    assert WEEKLY.last_boundary(berlin(2027, 3, 29, 6, 59)) == berlin(2027, 3, 22, 7, 0)
    # ... and back on 31 October 2027.
    assert WEEKLY.next_boundary(berlin(2027, 10, 31, 2, 30)) == berlin(2027, 11, 1, 7, 0)


def test_another_weekday_and_time_and_a_fortnight() -> None:
    friday = ReportCalendar(Weekday.FRIDAY, time(16, 30), timedelta(days=14))
    first = friday.next_boundary(berlin(2026, 12, 1, 9, 0))
    assert (first.astimezone(BERLIN).weekday(), first.astimezone(BERLIN).time()) == (
        Weekday.FRIDAY,
        time(16, 30),
    )
    assert friday.next_boundary(first) - first == timedelta(days=14)


def test_short_intervals_count_in_plain_seconds() -> None:
    every_three = ReportCalendar(interval=timedelta(seconds=3))
    now = datetime(2026, 12, 1, 18, 0, 1, tzinfo=UTC)
    assert every_three.next_boundary(now) - every_three.last_boundary(now) == timedelta(seconds=3)


def test_an_interval_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        ReportCalendar(interval=timedelta(0))


@given(
    st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)
    ),
    st.sampled_from(list(Weekday)),
    st.times(),
)
def test_now_lies_between_the_last_and_the_next_boundary(
    now: datetime, weekday: Weekday, at: time
) -> None:
    calendar = ReportCalendar(weekday, at)
    last, following = calendar.last_boundary(now), calendar.next_boundary(now)
    assert last <= now < following
    assert calendar.next_boundary(last) == following
    local = following.astimezone(BERLIN)
    assert local.weekday() == weekday
    wanted = datetime.combine(local.date(), at)
    shown = wanted.replace(tzinfo=BERLIN).astimezone(UTC).astimezone(BERLIN).replace(tzinfo=None)
    if shown == wanted:  # not inside the hour the wall clock skips once a year
        assert local.time() == at
