"""When the district report's periods end: on a fixed weekday and time in Europe/Berlin.

Periods of whole days are counted on the Berlin wall clock, so a weekly report due on Monday at
07:00 stays at 07:00 across the change to and from summer time. Shorter periods (for tests and
demonstrations) are counted in UTC from the same anchor.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import IntEnum
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")
DAY = timedelta(days=1)


class Weekday(IntEnum):
    MONDAY = 0
    TUESDAY = 1
    WEDNESDAY = 2
    THURSDAY = 3
    FRIDAY = 4
    SATURDAY = 5
    SUNDAY = 6


# A Monday: the weekday's first boundary is counted from here.
_FIRST_MONDAY = date(2024, 1, 1)


@dataclass(frozen=True)
class ReportCalendar:
    """Boundaries every `interval`, the first on `weekday` at `at` (Berlin wall time)."""

    weekday: Weekday = Weekday.MONDAY
    at: time = time(7, 0)
    interval: timedelta = timedelta(days=7)

    def __post_init__(self) -> None:
        if self.interval <= timedelta(0):
            raise ValueError("a report interval must be positive")

    @property
    def _on_wall_clock(self) -> bool:
        return self.interval % DAY == timedelta(0)

    @property
    def _anchor(self) -> datetime:
        """The first boundary, as a naive time on the clock the periods are counted on."""
        return datetime.combine(_FIRST_MONDAY + timedelta(days=int(self.weekday)), self.at)

    def _clock(self, moment: datetime) -> datetime:
        zone = BERLIN if self._on_wall_clock else UTC
        return moment.astimezone(zone).replace(tzinfo=None)

    def _moment(self, index: int) -> datetime:
        boundary = self._anchor + index * self.interval
        zone = BERLIN if self._on_wall_clock else UTC
        return boundary.replace(tzinfo=zone).astimezone(UTC)

    def last_boundary(self, now: datetime) -> datetime:
        """The latest boundary not after `now`."""
        index = (self._clock(now) - self._anchor) // self.interval
        # The wall clock skips and repeats an hour a year: step to the right side of `now`.
        while self._moment(index) > now:
            index -= 1
        while self._moment(index + 1) <= now:
            index += 1
        return self._moment(index)

    def next_boundary(self, after: datetime) -> datetime:
        """The earliest boundary later than `after`."""
        last = self.last_boundary(after)
        index = (self._clock(last) - self._anchor) // self.interval
        while self._moment(index) <= after:
            index += 1
        return self._moment(index)
