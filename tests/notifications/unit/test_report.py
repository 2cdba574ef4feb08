"""The district report covers each development in exactly one period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from notifications.domain.report import (
    DevelopmentKind,
    ReportSchedule,
    build_report,
    development_of,
)
from notifications.domain.report_calendar import ReportCalendar
from rbn_tools.mail_examples import Examples

EX = Examples()
T0 = datetime(2027, 3, 1, tzinfo=UTC)
WEEK = timedelta(days=7)
MONDAYS = ReportCalendar()


def test_events_become_developments_and_others_do_not() -> None:
    adopted = development_of("field-of-action-adopted", EX.field_of_action_adopted(), "e1", T0, T0)
    concluded = development_of("conference-concluded", EX.conference_concluded(), "e2", T0, T0)
    assert adopted is not None
    assert adopted.kind is DevelopmentKind.FIELD_ADOPTED
    assert concluded is not None
    assert concluded.details["recommendations"][0]["field"] == "Übergang Schule – Beruf"
    assert development_of("participant-responded", object(), "e3", T0, T0) is None


def test_a_report_takes_what_was_recorded_in_its_period_grouped_by_kind() -> None:
    inside = development_of(
        "field-of-action-adopted", EX.field_of_action_adopted(), "a", T0, T0 + timedelta(days=1)
    )
    closed = development_of(
        "field-of-action-closed", EX.field_of_action_closed(), "b", T0, T0 + timedelta(days=2)
    )
    later = development_of(
        "field-of-action-adopted", EX.field_of_action_adopted(), "c", T0, T0 + WEEK
    )
    assert inside
    assert closed
    assert later
    report = build_report([later, closed, inside], T0, T0 + WEEK)
    assert [s.kind for s in report.sections] == [
        DevelopmentKind.FIELD_ADOPTED,
        DevelopmentKind.FIELD_CLOSED,
    ]
    assert [d.event_id for d in report.sections[0].items] == ["a"]
    assert report.networks_involved == ["Bochum"]
    assert build_report([later], T0, T0 + WEEK).is_empty
    assert report.cause_id == build_report([], T0, T0 + WEEK).cause_id, "one cause per period"


def test_missed_periods_merge_into_one_and_the_next_is_due_on_the_weekday() -> None:
    schedule = ReportSchedule.first(T0, MONDAYS)  # T0: Monday 1 March 2027, 01:00 in Berlin
    assert schedule.period_start == datetime(2027, 2, 22, 6, 0, tzinfo=UTC), "last Monday 07:00"
    assert schedule.next_due_at == datetime(2027, 3, 1, 6, 0, tzinfo=UTC), "today at 07:00"
    assert not schedule.is_due(T0 + timedelta(hours=4))
    late = T0 + timedelta(days=23)  # the service was down for three weeks
    assert schedule.is_due(late)
    end = schedule.period_end(late, MONDAYS)
    assert end == schedule.next_due_at + 3 * WEEK
    after = schedule.advanced(end, MONDAYS)
    assert after.period_start == end
    # Summer time has begun on 28 March: still Monday 07:00 in Berlin, an hour earlier in UTC.
    assert after.next_due_at == datetime(2027, 3, 29, 5, 0, tzinfo=UTC)


def test_a_schedule_stored_before_the_weekday_rule_ends_once_then_keeps_to_mondays() -> None:
    tuesday = datetime(2027, 3, 2, 9, 0, tzinfo=UTC)
    stored = ReportSchedule(period_start=tuesday - WEEK, next_due_at=tuesday)
    wednesday = tuesday + timedelta(days=1)
    end = stored.period_end(wednesday, MONDAYS)
    assert end == tuesday, "the period already promised is not cut short"
    assert stored.advanced(end, MONDAYS).next_due_at == datetime(2027, 3, 8, 6, 0, tzinfo=UTC)
