"""The periodic district report: due times are persisted, so each period goes out once.

Periods end on a fixed weekday and time in Europe/Berlin (Monday 07:00 by default, see
`ReportCalendar`). The service checks now and then (`tick`, a periodic job every
REPORT_CHECK_SECONDS) whether the report is due. If so it builds the report from the
developments recorded in the period, stores its deliveries (their ids derive from the period, so
a second run or a second instance stores nothing new), and only then advances the schedule
(`service_layer.periodic`).

`report_of_week` reads any calendar period's report without mailing it (GET /district/report).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Protocol

from notifications.adapters.repositories import REPORT_SCHEDULE_ID
from notifications.domain.report import Development, DistrictReport, build_report
from notifications.domain.report_calendar import BERLIN, ReportCalendar
from notifications.domain.rules import DISTRICT_REPORT_DUE
from notifications.service_layer.periodic import PeriodicMail
from rbn_shared.logging import get_logger

log = get_logger(__name__)


class ReportScheduler(PeriodicMail):
    schedule_id = REPORT_SCHEDULE_ID

    async def close_period(self, period_start: datetime, period_end: datetime) -> None:
        """The report of what was recorded in the period, unless nothing was."""
        developments = await self.repositories.developments.recorded_between(
            period_start, period_end
        )
        report = build_report(developments, period_start, period_end)
        if report.is_empty:
            log.info("district report skipped: nothing happened in the period")
            return
        created = await self.store_mail(
            DISTRICT_REPORT_DUE,
            report,
            "district-report",
            period_end,
            report=report,
            report_last_day=period_end - timedelta(microseconds=1),
        )
        log.info(
            "district report stored",
            deliveries=created,
            developments=sum(len(s.items) for s in report.sections),
        )


@dataclass(frozen=True)
class ReportWeek:
    """One calendar period's report as the portal reads it, with its neighbours' starts."""

    report: DistrictReport
    previous_start: datetime
    next_start: datetime | None  # None for the current period: nothing after it yet


class RecordedDevelopments(Protocol):
    async def recorded_between(self, start: datetime, end: datetime) -> list[Development]: ...


class WeekInFuture(ValueError):
    """The asked period has not begun."""


async def report_of_week(
    developments: RecordedDevelopments,
    calendar: ReportCalendar,
    now: datetime,
    week: date | None = None,
) -> ReportWeek:
    """What was recorded in the calendar period holding `week` (default: the current one, so
    far), grouped as the mailed report groups it. The mail may merge periods missed while the
    service was down; this view keeps to the calendar, so every week can be looked at."""
    # Noon: a day's period is the one most of its working day falls in (periods start 07:00).
    moment = now if week is None else datetime.combine(week, time(12), BERLIN)
    start = calendar.last_boundary(moment)
    if start > now:
        raise WeekInFuture(week)
    end = calendar.next_boundary(start)
    report = build_report(await developments.recorded_between(start, end), start, end)
    return ReportWeek(
        report=report,
        previous_start=calendar.last_boundary(start - timedelta(microseconds=1)),
        next_start=end if end <= now else None,
    )
