"""The conference aggregate's rules, without any server."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from conferences.domain.errors import InvalidInput, NotFound, Refused
from conferences.domain.model import (
    AgendaDraft,
    Conference,
    ConferenceDraft,
    Delegate,
    RecommendationDraft,
)
from conferences.domain.projection import NetworkView
from rbn_shared.events.base import Person
from rbn_shared.events.conferences import (
    ConferenceKind,
    ConferenceReminderDue,
    ConferenceRescheduled,
    ConferenceScheduled,
    ParticipantInvited,
    ParticipantResponded,
    ParticipantWithdrawn,
    Response,
    StakeholderGroup,
    Venue,
    WithdrawalReason,
)

NOW = datetime(2027, 1, 11, 9, 0, tzinfo=UTC)
START = datetime(2027, 3, 10, 13, 0, tzinfo=UTC)  # 14:00 in Berlin
DAY = 86400


def network(*, agreement: bool = True) -> NetworkView:
    person = {"name": "Anna Schulte", "email": "anna@example.org"}
    return NetworkView(
        network_id="hamm",
        name="Bildungsnetzwerk Hamm",
        office_name="Regionales Bildungsbüro Hamm",
        office_email="buero@example.org",
        agreement_id="kv",
        agreement_active=agreement,
        committee={"m1": {"person": person, "side": "state", "role": "chair"}},
        staff={"s1": {"person": {"name": "Clara Becker", "email": "clara@example.org"}}},
        fields={
            "f1": {"title": "Übergang Schule–Beruf", "status": "adopted"},
            "f2": {"title": "Ganztag", "status": "proposed"},
        },
    )


def draft(**changes: object) -> ConferenceDraft:
    values: dict[str, object] = {
        "title": "Regionale Bildungskonferenz",
        "kind": ConferenceKind.PLENARY,
        "starts_at": START,
        "ends_at": START + timedelta(hours=3),
        "venue": Venue(name="Rathaus", address="Theodor-Heuss-Platz 16, 59065 Hamm"),
        "agenda": (AgendaDraft("Übergang", field_of_action_id="f1"),),
        "delegates": (
            Delegate("Dora Yilmaz", "dora@example.org", "Gesamtschule", StakeholderGroup.SCHOOL),
        ),
    }
    values.update(changes)
    return ConferenceDraft(**values)  # type: ignore[arg-type]


def scheduled(**changes: object) -> Conference:
    conference, _ = Conference.schedule(
        "c1", draft(**changes), network(), [], now=NOW, reminder_offsets=[7 * DAY, DAY]
    )
    return conference


# ---------------------------------------------------------------------------- scheduling


def test_schedule_invites_committee_office_and_namesand_plans_reminders() -> None:
    conference, events = Conference.schedule(
        "c1", draft(), network(), [], now=NOW, reminder_offsets=[DAY, 7 * DAY]
    )
    [event] = events
    assert isinstance(event, ConferenceScheduled)
    assert {(i.person.name, i.group) for i in event.invitees} == {
        ("Anna Schulte", StakeholderGroup.STEERING_COMMITTEE),
        ("Clara Becker", StakeholderGroup.EDUCATION_OFFICE),
        ("Dora Yilmaz", StakeholderGroup.SCHOOL),
    }
    assert event.agenda[0].field_of_action_title == "Übergang Schule–Beruf"
    assert event.sequence == 0
    assert event.organizer.email == "buero@example.org"
    assert [(r.offset_seconds, r.due_at) for r in conference.reminders] == [
        (7 * DAY, START - timedelta(days=7)),
        (DAY, START - timedelta(days=1)),
    ]
    assert conference.next_reminder_due_at == START - timedelta(days=7)


def test_partial_conference_needs_a_topic_and_invites_only_the_office_by_default() -> None:
    with pytest.raises(InvalidInput) as refused:
        scheduled(kind=ConferenceKind.PARTIAL)
    assert refused.value.errors[0][0] == "topic"
    partial = scheduled(kind=ConferenceKind.PARTIAL, topic="Inklusion", delegates=())
    assert [i.person.name for i in partial.invitations] == ["Clara Becker"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"starts_at": NOW - timedelta(hours=1), "ends_at": NOW + timedelta(hours=1)}, "starts_at"),
        ({"ends_at": START}, "ends_at"),
        ({"venue": None}, "venue"),
        ({"agenda": (AgendaDraft("X", field_of_action_id="f2"),)}, "agenda.0.field_of_action_id"),
        ({"agenda": (AgendaDraft("X", field_of_action_id="f9"),)}, "agenda.0.field_of_action_id"),
    ],
)
def test_bad_input_is_refused_naming_the_field(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        scheduled(**changes)
    assert field in [f for f, _ in refused.value.errors]


def test_online_only_conference_needs_no_venue() -> None:
    assert scheduled(venue=None, online_url="https://konferenz.example.org/1").venue is None


def test_no_agreement_no_conference() -> None:
    with pytest.raises(Refused) as refused:
        Conference.schedule(
            "c1", draft(), network(agreement=False), [], now=NOW, reminder_offsets=[]
        )
    assert refused.value.kind == "no-active-agreement"


def test_overlap_is_refused_but_back_to_back_is_fine() -> None:
    first = scheduled()
    with pytest.raises(Refused) as refused:
        Conference.schedule(
            "c2",
            draft(starts_at=START + timedelta(hours=2), ends_at=START + timedelta(hours=5)),
            network(),
            [first],
            now=NOW,
            reminder_offsets=[],
        )
    assert refused.value.kind == "overlap"
    after, _ = Conference.schedule(
        "c3",
        draft(starts_at=first.ends_at, ends_at=first.ends_at + timedelta(hours=1)),
        network(),
        [first],
        now=NOW,
        reminder_offsets=[],
    )
    assert after.starts_at == first.ends_at


def test_a_cancelled_conference_does_not_block_its_slot() -> None:
    first = scheduled()
    first.cancel("Raum fehlt", now=NOW)
    second, _ = Conference.schedule("c2", draft(), network(), [first], now=NOW, reminder_offsets=[])
    assert second.starts_at == first.starts_at


# ------------------------------------------------------------------ rescheduling, reminders


def test_reschedule_raises_the_sequence_and_moves_pending_reminders_only() -> None:
    conference = scheduled()
    claimed = conference.claim_due_reminders(START - timedelta(days=6))
    assert [e.offset for e in claimed if isinstance(e, ConferenceReminderDue)] == [
        timedelta(days=7)
    ]
    later = START + timedelta(days=14)
    [event] = conference.reschedule(
        later, later + timedelta(hours=2), [], now=START - timedelta(days=6)
    )
    assert isinstance(event, ConferenceRescheduled)
    assert (event.sequence, event.previous_starts_at) == (1, START)
    states = {r.offset_seconds: (r.state, r.due_at) for r in conference.reminders}
    assert states[7 * DAY][0] == "sent", "sent once per conference and offset"
    assert states[DAY] == ("pending", later - timedelta(days=1))


def test_a_reminder_is_claimed_once() -> None:
    conference = scheduled()
    at = START - timedelta(hours=20)
    first = conference.claim_due_reminders(at)
    # Both were overdue: only the one closest to the start goes out.
    assert [e.offset for e in first if isinstance(e, ConferenceReminderDue)] == [timedelta(days=1)]
    assert conference.claim_due_reminders(at) == []
    assert conference.next_reminder_due_at is None


def test_reminder_goes_to_everyone_who_has_not_declined() -> None:
    conference = scheduled()
    dora = next(i for i in conference.invitations if i.person.name == "Dora Yilmaz")
    conference.respond(dora.invitation_id, Response.DECLINED, now=NOW)
    [event] = conference.claim_due_reminders(START - timedelta(days=7))
    assert isinstance(event, ConferenceReminderDue)
    assert {i.person.name for i in event.recipients} == {"Anna Schulte", "Clara Becker"}


def test_no_reminder_after_the_start_and_none_after_cancelling() -> None:
    late = scheduled()
    assert late.claim_due_reminders(START + timedelta(minutes=1)) == []
    cancelled = scheduled()
    cancelled.cancel("Raum fehlt", now=NOW)
    assert cancelled.next_reminder_due_at is None
    assert cancelled.claim_due_reminders(START - timedelta(hours=1)) == []


def test_reminders_due_before_scheduling_are_skipped() -> None:
    conference, _ = Conference.schedule(
        "c1", draft(), network(), [], now=START - timedelta(days=3), reminder_offsets=[7 * DAY, DAY]
    )
    assert [r.state for r in conference.reminders] == ["skipped", "pending"]


# ---------------------------------------------------------------------------- answers


def test_waiting_list_fills_in_order_and_a_decline_promotes_the_first() -> None:
    delegates = tuple(
        Delegate(n, f"{n}@example.org", None, StakeholderGroup.SCHOOL)
        for n in ("ida", "jan", "kim")
    )
    conference = scheduled(capacity=1, delegates=delegates)
    ids = {i.person.name: i.invitation_id for i in conference.invitations}
    for name in ("ida", "jan", "kim"):
        conference.respond(ids[name], Response.ACCEPTED, now=NOW)
    jan, kim = conference.invitation(ids["jan"]), conference.invitation(ids["kim"])
    assert conference.invitation(ids["ida"]).has_seat
    assert (conference.waitlist_position(jan), conference.waitlist_position(kim)) == (1, 2)

    events = conference.respond(ids["ida"], Response.TENTATIVE, now=NOW)
    assert len(events) == 2
    promoted = events[1]
    assert isinstance(promoted, ParticipantResponded)
    assert promoted.promoted_from_waitlist
    assert promoted.invitee.person.name == "jan"
    assert jan.has_seat
    assert conference.waitlist_position(kim) == 1
    assert conference.counts().model_dump() == {
        "accepted": 1,
        "declined": 0,
        "tentative": 1,
        "pending": 2,
        "waitlisted": 1,
    }


def test_events_name_each_invitees_place_on_the_waiting_list() -> None:
    delegates = tuple(
        Delegate(n, f"{n}@example.org", None, StakeholderGroup.SCHOOL)
        for n in ("ida", "jan", "kim")
    )
    conference = scheduled(capacity=1, delegates=delegates)
    ids = {i.person.name: i.invitation_id for i in conference.invitations}
    names = ("ida", "jan", "kim")
    answers = [conference.respond(ids[n], Response.ACCEPTED, now=NOW)[0] for n in names]
    places = {
        a.invitee.person.name: a.invitee.waitlist_position
        for a in answers
        if isinstance(a, ParticipantResponded)
    }
    assert places == {"ida": None, "jan": 1, "kim": 2}

    later = START + timedelta(days=1)
    [moved] = conference.reschedule(later, later + timedelta(hours=2), [], now=NOW)
    assert isinstance(moved, ConferenceRescheduled)
    now_places = {i.person.name: i.waitlist_position for i in moved.invitees}
    assert (now_places["ida"], now_places["jan"], now_places["kim"]) == (None, 1, 2)

    _, promoted = conference.respond(ids["ida"], Response.DECLINED, now=NOW)
    assert isinstance(promoted, ParticipantResponded)
    assert promoted.promoted_from_waitlist
    assert promoted.invitee.waitlist_position is None, "jan has a seat now"
    assert {i.person.name: i.waitlist_position for i in conference.invitees()}["kim"] == 1


def test_same_answer_twice_changes_nothing_and_answers_close_at_the_start() -> None:
    conference = scheduled()
    dora = next(i for i in conference.invitations if i.person.name == "Dora Yilmaz")
    assert len(conference.respond(dora.invitation_id, Response.ACCEPTED, now=NOW)) == 1
    assert conference.respond(dora.invitation_id, Response.ACCEPTED, now=NOW) == []
    with pytest.raises(Refused):
        conference.respond(dora.invitation_id, Response.DECLINED, now=START)
    with pytest.raises(NotFound):
        conference.respond("inv-99", Response.DECLINED, now=NOW)


# ------------------------------------------------------------------ following the registry


def test_roster_changes_invite_newcomers_withdraw_leavers_and_repeat_harmlessly() -> None:
    conference = scheduled()
    view = network()
    view.committee["m2"] = {"person": {"name": "Frieda Lange", "email": "frieda@example.org"}}
    del view.committee["m1"]
    events = conference.sync_roster(view)
    assert [type(e) for e in events] == [ParticipantInvited, ParticipantWithdrawn]
    withdrawn = events[1]
    assert isinstance(withdrawn, ParticipantWithdrawn)
    assert withdrawn.invitee.person.name == "Anna Schulte"
    assert withdrawn.reason == WithdrawalReason.REMOVED_FROM_COMMITTEE
    assert withdrawn.sequence == 1, "the CANCEL supersedes the invitation's REQUEST"
    assert {i.person.name for i in conference.invitees()} == {
        "Clara Becker",
        "Dora Yilmaz",
        "Frieda Lange",
    }
    assert conference.sync_roster(view) == [], "idempotent"
    view.staff["s1"] = {"person": {"name": "Clara Becker", "email": "c.becker@example.org"}}
    # A changed address is taken over, and the invitation goes to it (once).
    [reinvited] = conference.sync_roster(view)
    assert isinstance(reinvited, ParticipantInvited)
    assert reinvited.invitee.person.email == "c.becker@example.org"
    assert conference.sync_roster(view) == []
    clara = next(i for i in conference.invitees() if i.person.name == "Clara Becker")
    assert clara.person.email == "c.becker@example.org", "a changed address is taken over"


def test_only_members_whose_term_covers_the_conference_day_are_invited() -> None:
    view = network()
    for member_id, term_start, term_end in [
        ("m-ended", "2021-01-01", "2027-03-09"),  # the day before the conference
        ("m-last-day", "2021-01-01", "2027-03-10"),
        ("m-incoming", "2027-04-01", None),
        ("m-open", "2026-01-01", None),
    ]:
        person = {"name": f"Person {member_id}", "email": f"{member_id}@example.org"}
        view.committee[member_id] = {
            "person": person,
            "side": "municipal",
            "role": "member",
            "term_start": term_start,
            "term_end": term_end,
        }
    conference, _ = Conference.schedule("c1", draft(), view, [], now=NOW, reminder_offsets=[])
    invited = {i.person.name for i in conference.invitees()}
    assert {"Person m-last-day", "Person m-open", "Person m-incoming", "Anna Schulte"} <= invited
    assert "Person m-ended" not in invited
    # The registry ends a term early: the member's invitation is withdrawn.
    view.committee["m-open"]["term_end"] = "2027-02-28"
    conference.sync_roster(view)
    assert "Person m-open" not in {i.person.name for i in conference.invitees()}


def test_conclusion_after_the_end_with_recommendations_of_adopted_fields() -> None:
    conference = scheduled()
    results = [RecommendationDraft("f1", "Berufsorientierung ausbauen")]
    with pytest.raises(Refused):
        conference.conclude("Ergebnis", results, network(), now=START)
    with pytest.raises(InvalidInput):
        conference.conclude(
            "Ergebnis", [RecommendationDraft("f2", "x")], network(), now=conference.ends_at
        )
    [event] = conference.conclude("Ergebnis", results, network(), now=conference.ends_at)
    assert event.event_type == "conference-concluded"
    assert conference.recommendations[0].field_of_action_title == "Übergang Schule–Beruf"


def test_invite_delegate_refuses_a_second_invitation_of_one_address() -> None:
    conference = scheduled()
    again = Delegate("Dora Y.", "DORA@example.org", None, StakeholderGroup.SCHOOL)
    with pytest.raises(Refused):
        conference.invite_delegate(again, now=NOW)
    new = Delegate("Emil", "emil@example.org", "Jugendamt", StakeholderGroup.YOUTH_WELFARE)
    [event] = conference.invite_delegate(new, now=NOW)
    assert isinstance(event, ParticipantInvited)
    assert event.invitee.person == Person(
        name="Emil", email="emil@example.org", organisation="Jugendamt"
    )


def test_a_withdrawal_names_its_reason_and_a_new_invitation_raises_the_sequence_again() -> None:
    conference = scheduled()
    view = network()
    view.committee["m1"]["term_end"] = (START - timedelta(days=1)).date().isoformat()
    [ended] = conference.sync_roster(view)
    assert isinstance(ended, ParticipantWithdrawn)
    assert (ended.reason, ended.sequence) == (WithdrawalReason.TERM_ENDED, 1)
    del view.staff["s1"]
    [left] = conference.sync_roster(view)
    assert isinstance(left, ParticipantWithdrawn)
    assert (left.reason, left.sequence) == (WithdrawalReason.REMOVED_FROM_OFFICE, 2)
    assert left.invitee.person.name == "Clara Becker"
    del view.committee["m1"]["term_end"]  # the term was extended
    [again] = conference.sync_roster(view)
    assert isinstance(again, ParticipantInvited)
    assert again.sequence == 3, "the new REQUEST supersedes the withdrawal's CANCEL"


def test_a_draft_withdraws_without_telling_anyone() -> None:
    conference, _ = Conference.prepare("c1", draft(), network(), now=NOW)
    view = network()
    del view.committee["m1"]
    assert conference.sync_roster(view) == []
    assert conference.sequence == 0
    assert "Anna Schulte" not in {i.person.name for i in conference.invitees()}
