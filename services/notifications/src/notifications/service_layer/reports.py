"""The periodic district report: due times are persisted, so each period goes out once.

Periods end on a fixed weekday and time in Europe/Berlin (Monday 07:00 by default, see
`ReportCalendar`). The service checks now and then (`tick`, a periodic job every
REPORT_CHECK_SECONDS) whether the report is due. If so it builds the report from the
developments recorded in the period, stores its deliveries (their ids derive from the period, so
a second run or a second instance stores nothing new), and only then advances the schedule.
"""

from __future__ import annotations

from datetime import timedelta

from notifications.adapters.repositories import REPORT_SCHEDULE_ID, Repositories
from notifications.domain.report import ReportSchedule, build_report
from notifications.domain.report_calendar import ReportCalendar
from notifications.domain.rules import DISTRICT_REPORT_DUE
from notifications.service_layer.notifier import Notifier
from rbn_shared.changes import Clock
from rbn_shared.logging import get_logger

log = get_logger(__name__)

# Events recorded a moment before a period's end may still be in flight when it ends.
GRACE = timedelta(seconds=2)


class ReportScheduler:
    def __init__(
        self,
        *,
        repositories: Repositories,
        notifier: Notifier,
        calendar: ReportCalendar,
        clock: Clock,
    ) -> None:
        self._schedules = repositories.schedules
        self._developments = repositories.developments
        self._notifier = notifier
        self._calendar = calendar
        self._clock = clock

    async def tick(self) -> bool:
        """Send the report if it is due; True if a period was closed."""
        async with self._schedules.store.locked(REPORT_SCHEDULE_ID):
            schedule, version = await self._schedules.report_schedule()
            now = self._clock()
            if schedule is None:
                await self._schedules.save_report_schedule(
                    ReportSchedule.first(now, self._calendar), None
                )
                return False
            if not schedule.is_due(now, GRACE):
                return False
            period_end = schedule.period_end(now, self._calendar)
            developments = await self._developments.recorded_between(
                schedule.period_start, period_end
            )
            report = build_report(developments, schedule.period_start, period_end)
            if report.is_empty:
                log.info("district report skipped: nothing happened in the period")
            else:
                created = await self._notifier.notify(
                    DISTRICT_REPORT_DUE,
                    report,
                    cause_id=str(report.cause_id),
                    correlation_id=f"district-report-{report.cause_id}",
                    stamp=period_end,
                    extra={
                        "report": report,
                        "report_last_day": period_end - timedelta(microseconds=1),
                    },
                )
                log.info(
                    "district report stored",
                    deliveries=created,
                    developments=sum(len(s.items) for s in report.sections),
                )
            await self._schedules.save_report_schedule(
                schedule.advanced(period_end, self._calendar), version
            )
            return True
