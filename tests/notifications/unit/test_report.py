"""The district report covers each development in exactly one period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from notifications.domain.report import (
    DevelopmentKind,
    ReportSchedule,
    build_report,
    development_of,
)
from rbn_tools.mail_examples import Examples

EX = Examples()
T0 = datetime(2027, 3, 1, tzinfo=UTC)
WEEK = timedelta(days=7)


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


def test_missed_periods_merge_into_one_and_the_next_is_due_a_period_later() -> None:
    schedule = ReportSchedule.first(T0, WEEK)
    assert not schedule.is_due(T0 + timedelta(days=6))
    late = T0 + timedelta(days=23)
    assert schedule.is_due(late)
    end = schedule.period_end(late, WEEK)
    assert end == T0 + 3 * WEEK
    after = schedule.advanced(end, WEEK)
    assert after.period_start == end
    assert after.next_due_at == end + WEEK
