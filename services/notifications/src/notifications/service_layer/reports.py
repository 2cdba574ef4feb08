"""The periodic district report: due times are persisted, so each period goes out once.

Periods end on a fixed weekday and time in Europe/Berlin (Monday 07:00 by default, see
`ReportCalendar`). The service checks now and then (`tick`, a periodic job every
REPORT_CHECK_SECONDS) whether the report is due. If so it builds the report from the
developments recorded in the period, stores its deliveries (their ids derive from the period, so
a second run or a second instance stores nothing new), and only then advances the schedule
(`service_layer.periodic`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from notifications.adapters.repositories import REPORT_SCHEDULE_ID
from notifications.domain.report import build_report
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
