"""The office's overview of answers: grouped per network and conference, in German words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from notifications.domain.digest import RecordedResponse, build_digests
from notifications.settings import NotificationsSettings
from rbn_shared.events.conferences import ParticipantResponded, Response
from rbn_tools.mail_examples import Examples

T0 = datetime(2027, 3, 1, 6, 30, tzinfo=UTC)  # 07:30 in Berlin
DAY = timedelta(days=1)


def recorded(
    answer: ParticipantResponded, n: int, at: datetime = T0 + timedelta(hours=1)
) -> RecordedResponse:
    return RecordedResponse.of(
        answer, event_id=f"e-{n}", conference_version=n, occurred_at=at, recorded_at=at
    )


def test_answers_are_grouped_per_network_and_conference_with_the_newest_counts() -> None:
    bochum, hagen = Examples(), Examples(network_id="hagen", network_name="Hagen")
    other = Examples(conference_id="konferenz-herbst")
    answers = bochum.answers()
    autumn = other.answers()[0].model_copy(update={"title": "Herbstkonferenz"})
    responses = [
        recorded(answers[3], 4),  # stored out of order: the history's position orders them
        recorded(answers[0], 1),
        recorded(hagen.answers()[1], 2),
        recorded(autumn.model_copy(update={"starts_at": autumn.starts_at + DAY}), 7),
        recorded(answers[1], 2),
        recorded(answers[2], 3),
    ]

    digests = build_digests(responses, T0, T0 + DAY)

    assert [d.network.id for d in digests] == ["bochum", "hagen"]
    first = digests[0]
    assert first.network.office_email == bochum.office_email, "the office can be found"
    assert [c.title for c in first.conferences] == [
        "Regionale Bildungskonferenz 2027: Übergänge gestalten",
        "Herbstkonferenz",
    ], "conferences in the order they take place"
    spring = first.conferences[0]
    assert [(a.person_name, a.answer_de, a.previous_de) for a in spring.answers] == [
        ("Sabine Krüger", "zugesagt", "noch offen"),
        ("Thomas Wagner", "abgesagt", "zugesagt"),
        ("Aylin Demir", "unter Vorbehalt", "noch offen"),
        ("Jonas Becker", "auf der Warteliste (Platz 1)", "noch offen"),
    ]
    assert spring.counts == answers[3].counts.model_dump(), "the counts the last answer left"
    assert first.answer_count == 5
    assert digests[1].answer_count == 1


def test_only_answers_recorded_in_the_period_count_and_none_means_no_overview() -> None:
    ex = Examples()
    before = recorded(ex.answers()[0], 1, at=T0 - timedelta(seconds=1))
    at_end = recorded(ex.answers()[1], 2, at=T0 + DAY)
    assert build_digests([before, at_end], T0, T0 + DAY) == []
    assert build_digests([], T0, T0 + DAY) == []
    [digest] = build_digests([at_end], T0 + DAY, T0 + 2 * DAY)
    assert digest.answer_count == 1, "an answer belongs to the period it was recorded in"


def test_the_overview_of_one_network_and_period_is_one_cause() -> None:
    bochum, hagen = Examples(), Examples(network_id="hagen", network_name="Hagen")
    one = build_digests([recorded(bochum.answers()[0], 1)], T0, T0 + DAY)[0]
    again = build_digests([recorded(bochum.answers()[1], 2)], T0, T0 + DAY)[0]
    later = recorded(bochum.answers()[0], 1, at=T0 + DAY + timedelta(hours=1))
    tomorrow = build_digests([later], T0 + DAY, T0 + 2 * DAY)[0]
    elsewhere = build_digests([recorded(hagen.answers()[0], 1)], T0, T0 + DAY)[0]
    assert one.cause_id == again.cause_id
    assert len({one.cause_id, tomorrow.cause_id, elsewhere.cause_id}) == 3


def test_the_german_words_for_each_answer() -> None:
    answer = Examples().answers()[0]
    invitee = answer.invitee

    def word(response: Response, **change: object) -> str:
        changed = answer.model_copy(
            update={"invitee": invitee.model_copy(update={"response": response, **change})}
        )
        return recorded(changed, 1).answer_de

    assert word(Response.ACCEPTED) == "zugesagt"
    assert word(Response.DECLINED) == "abgesagt"
    assert word(Response.TENTATIVE) == "unter Vorbehalt"
    waiting = answer.model_copy(
        update={
            "invitee": invitee.model_copy(update={"waitlisted": True}),
            "counts": answer.counts.model_copy(update={"waitlisted": 3}),
        }
    )
    assert recorded(waiting, 1).answer_de == "auf der Warteliste (Platz 3)", "older events"
    placed = waiting.model_copy(
        update={"invitee": waiting.invitee.model_copy(update={"waitlist_position": 2})}
    )
    assert recorded(placed, 1).answer_de == "auf der Warteliste (Platz 2)", "the event's place"
    assert recorded(placed, 1).shows_previous
    promoted = answer.model_copy(update={"promoted_from_waitlist": True})
    assert recorded(promoted, 1).answer_de == "Es ist ein Platz frei geworden: dabei"
    assert not recorded(promoted, 1).shows_previous, "not 'zugesagt (bisher: zugesagt)'"


def test_the_overview_is_due_daily_at_half_past_seven_in_berlin_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calendar = NotificationsSettings().digest_calendar
    winter = datetime(2027, 1, 12, 10, 0, tzinfo=UTC)
    summer = datetime(2027, 7, 12, 10, 0, tzinfo=UTC)
    assert calendar.next_boundary(winter) == datetime(2027, 1, 13, 6, 30, tzinfo=UTC)
    assert calendar.next_boundary(summer) == datetime(2027, 7, 13, 5, 30, tzinfo=UTC)
    monkeypatch.setenv("NOTIFICATIONS_DIGEST_TIME", "16:00")
    monkeypatch.setenv("NOTIFICATIONS_DIGEST_INTERVAL", "P7D")
    weekly = NotificationsSettings().digest_calendar
    assert weekly.next_boundary(winter) == datetime(2027, 1, 18, 15, 0, tzinfo=UTC), "Mondays"
