"""Periods that close once: the shared clockwork of the district report and the response digest.

A schedule (where the current period began, when it is due) is persisted under its id. A tick
checks, under the schedule's lock, whether the period is due; if so it lets `close` store the
period's deliveries (whose ids derive from the period, so a second run or a second instance
stores nothing new) and only then advances the schedule. A crash in between closes the same
period again on the next tick, and the unique delivery ids keep that to one mail each.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from notifications.adapters.repositories import Repositories, ScheduleRepository
from notifications.domain.report import ReportSchedule
from notifications.domain.report_calendar import ReportCalendar
from notifications.service_layer.notifier import Notifier
from rbn_shared.changes import Clock

# Events recorded a moment before a period's end may still be in flight when it ends.
GRACE = timedelta(seconds=2)

ClosePeriod = Callable[[datetime, datetime], Awaitable[None]]


class Periods:
    def __init__(
        self,
        *,
        schedules: ScheduleRepository,
        schedule_id: str,
        calendar: ReportCalendar,
        clock: Clock,
        close: ClosePeriod,
    ) -> None:
        self._schedules = schedules
        self._id = schedule_id
        self._calendar = calendar
        self._clock = clock
        self._close = close

    async def tick(self) -> bool:
        """Close the period if it is due; True if one was closed."""
        async with self._schedules.store.locked(self._id):
            schedule, version = await self._schedules.schedule(self._id)
            now = self._clock()
            if schedule is None:
                first = ReportSchedule.first(now, self._calendar)
                await self._schedules.save_schedule(self._id, first, None)
                return False
            if not schedule.is_due(now, GRACE):
                return False
            period_end = schedule.period_end(now, self._calendar)
            await self._close(schedule.period_start, period_end)
            advanced = schedule.advanced(period_end, self._calendar)
            await self._schedules.save_schedule(self._id, advanced, version)
            return True


class PeriodicMail:
    """A mail that goes out once per period (the district report, the office's overview): its
    `schedule_id`, and `close_period`, which stores the period's deliveries."""

    schedule_id: str

    def __init__(
        self,
        *,
        repositories: Repositories,
        notifier: Notifier,
        calendar: ReportCalendar,
        clock: Clock,
    ) -> None:
        self._repositories = repositories
        self._notifier = notifier
        self._clock = clock
        self._periods = Periods(
            schedules=repositories.schedules,
            schedule_id=self.schedule_id,
            calendar=calendar,
            clock=clock,
            close=self.close_period,
        )

    async def tick(self) -> bool:
        """Close the period if it is due; True if one was closed."""
        return await self._periods.tick()

    async def close_period(self, period_start: datetime, period_end: datetime) -> None:
        raise NotImplementedError
