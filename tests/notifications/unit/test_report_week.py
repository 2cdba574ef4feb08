"""The district report of one calendar week, as GET /district/report reads it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from notifications.domain.report import Development, DevelopmentKind
from notifications.domain.report_calendar import ReportCalendar
from notifications.service_layer.reports import WeekInFuture, report_of_week

MONDAY = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)  # 07:00 in Berlin: a period's start
NOW = MONDAY + timedelta(days=9)  # Wednesday of the week after


def development(title: str, recorded_at: datetime, kind: DevelopmentKind) -> Development:
    return Development(
        event_id=title,
        kind=kind,
        network_id="bochum",
        network_name="Bochum",
        occurred_at=recorded_at,
        recorded_at=recorded_at,
        title=title,
    )


class Recorded:
    def __init__(self, *developments: Development) -> None:
        self.developments = developments

    async def recorded_between(self, start: datetime, end: datetime) -> list[Development]:
        return [d for d in self.developments if start <= d.recorded_at < end]


RECORDED = Recorded(
    development("Ganztag", MONDAY + timedelta(hours=1), DevelopmentKind.FIELD_ADOPTED),
    development("Konferenz", MONDAY + timedelta(days=2), DevelopmentKind.CONFERENCE_SCHEDULED),
    development("Übergang", MONDAY + timedelta(days=1), DevelopmentKind.FIELD_ADOPTED),
    development("Vorher", MONDAY - timedelta(minutes=1), DevelopmentKind.FIELD_CLOSED),
)


@pytest.mark.parametrize("day", [date(2026, 11, 23), date(2026, 11, 26), date(2026, 11, 29)])
async def test_any_day_names_its_week_grouped_as_the_mail_groups_it(day: date) -> None:
    week = await report_of_week(RECORDED, ReportCalendar(), NOW, day)
    assert week.report.period_start == MONDAY
    assert week.report.period_end == MONDAY + timedelta(days=7)
    assert week.previous_start == MONDAY - timedelta(days=7)
    assert week.next_start == MONDAY + timedelta(days=7)
    assert [(s.kind, [d.title for d in s.items]) for s in week.report.sections] == [
        (DevelopmentKind.FIELD_ADOPTED, ["Ganztag", "Übergang"]),
        (DevelopmentKind.CONFERENCE_SCHEDULED, ["Konferenz"]),
    ]


async def test_the_current_week_so_far_has_no_next() -> None:
    week = await report_of_week(RECORDED, ReportCalendar(), NOW)
    assert week.report.period_start == MONDAY + timedelta(days=7)
    assert week.report.is_empty
    assert week.next_start is None


async def test_a_week_not_yet_begun_is_refused() -> None:
    with pytest.raises(WeekInFuture):
        await report_of_week(RECORDED, ReportCalendar(), NOW, date(2026, 12, 7))
