"""Periods that close once: the shared clockwork of the district report and the response digest.

A schedule (where the current period began, when it is due) is persisted under its id. A tick
checks, under the schedule's lock, whether the period is due; if so it lets `close` store the
period's deliveries (whose ids derive from the period, so a second run or a second instance
stores nothing new) and only then advances the schedule. A crash in between closes the same
period again on the next tick, and the unique delivery ids keep that to one mail each.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, ClassVar, Protocol
from uuid import UUID

from notifications.adapters.repositories import Repositories, ScheduleRepository
from notifications.domain.report import ReportSchedule
from notifications.domain.report_calendar import ReportCalendar
from notifications.service_layer.notifier import Notifier
from rbn_shared.changes import Clock

# Events recorded a moment before a period's end may still be in flight when it ends.
GRACE = timedelta(seconds=2)

ClosePeriod = Callable[[datetime, datetime], Awaitable[None]]


class PeriodContent(Protocol):
    """What a period's mail is about (a report, an overview): named by its cause id."""

    @property
    def cause_id(self) -> UUID: ...


@dataclass(kw_only=True)
class Periods:
    schedules: ScheduleRepository
    schedule_id: str
    calendar: ReportCalendar
    clock: Clock
    close: ClosePeriod

    async def tick(self) -> bool:
        """Close the period if it is due; True if one was closed."""
        async with self.schedules.store.locked(self.schedule_id):
            schedule, version = await self.schedules.schedule(self.schedule_id)
            now = self.clock()
            if schedule is None:
                first = ReportSchedule.first(now, self.calendar)
                await self.schedules.save_schedule(self.schedule_id, first, None)
                return False
            if not schedule.is_due(now, GRACE):
                return False
            period_end = schedule.period_end(now, self.calendar)
            await self.close(schedule.period_start, period_end)
            advanced = schedule.advanced(period_end, self.calendar)
            await self.schedules.save_schedule(self.schedule_id, advanced, version)
            return True


@dataclass(kw_only=True)
class PeriodicMail:
    """A mail that goes out once per period (the district report, the office's overview): its
    `schedule_id`, and `close_period`, which stores the period's deliveries."""

    schedule_id: ClassVar[str]

    repositories: Repositories
    notifier: Notifier
    calendar: ReportCalendar
    clock: Clock

    def __post_init__(self) -> None:
        self._periods = Periods(
            schedules=self.repositories.schedules,
            schedule_id=self.schedule_id,
            calendar=self.calendar,
            clock=self.clock,
            close=self.close_period,
        )

    async def tick(self) -> bool:
        """Close the period if it is due; True if one was closed."""
        return await self._periods.tick()

    async def close_period(self, period_start: datetime, period_end: datetime) -> None:
        raise NotImplementedError

    async def store_mail(
        self, event_type: str, content: PeriodContent, name: str, period_end: datetime, **extra: Any
    ) -> int:
        """Store the period's mail about `content`; its deliveries' ids derive from the
        content's cause id, so a second close stores nothing new. Returns how many are new.
        `extra`: what the templates read besides the event (the report, the overview)."""
        return await self.notifier.notify(
            event_type,
            content,
            cause_id=str(content.cause_id),
            correlation_id=f"{name}-{content.cause_id}",
            stamp=period_end,
            extra=extra,
        )
