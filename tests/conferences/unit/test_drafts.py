"""Drafts, publishing and edits after publication: the aggregate's rules, without any server."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from conferences.domain.errors import InvalidInput, Refused
from conferences.domain.model import AgendaDraft, Conference, ConferenceStatus, Delegate
from rbn_shared.events.conferences import (
    ConferenceScheduled,
    ConferenceUpdated,
    ParticipantResponded,
    Response,
    StakeholderGroup,
    Venue,
)
from tests.conferences.unit.test_conference import DAY, NOW, START, draft, network, scheduled


def prepared(**changes: object) -> Conference:
    conference, events = Conference.prepare("c1", draft(**changes), network(), now=NOW)
    assert events == []
    return conference


def test_a_draft_tells_nobody_plans_no_reminder_but_knows_its_invitees() -> None:
    conference = prepared()
    assert conference.status is ConferenceStatus.DRAFT
    assert conference.reminders == []
    assert conference.next_reminder_due_at is None
    assert {i.person.name for i in conference.invitations} == {
        "Anna Schulte",
        "Clara Becker",
        "Dora Yilmaz",
    }


def test_a_draft_is_checked_like_a_conference_and_needs_an_agreement() -> None:
    with pytest.raises(InvalidInput) as refused:
        prepared(venue=None)
    assert [f for f, _ in refused.value.errors] == ["venue"]
    with pytest.raises(Refused):
        Conference.prepare("c1", draft(), network(agreement=False), now=NOW)


def test_a_draft_blocks_no_time_but_publishing_it_does() -> None:
    other = prepared()
    # Scheduling over a draft's time works: the draft takes no slot.
    scheduled_over_it, _ = Conference.schedule(
        "c2", draft(), network(), [other], now=NOW, reminder_offsets=[DAY]
    )
    with pytest.raises(Refused) as refused:
        other.publish(network(), [scheduled_over_it], now=NOW, reminder_offsets=[DAY])
    assert refused.value.kind == "overlap"
    assert other.status is ConferenceStatus.DRAFT


def test_publish_sends_the_invitations_as_scheduling_does_and_only_once() -> None:
    conference = prepared()
    [event] = conference.publish(network(), [], now=NOW, reminder_offsets=[7 * DAY, DAY])
    assert isinstance(event, ConferenceScheduled)
    assert event.status == "scheduled"
    direct, [direct_event] = Conference.schedule(
        "c1", draft(), network(), [], now=NOW, reminder_offsets=[7 * DAY, DAY]
    )
    assert event == direct_event
    assert conference.reminders == direct.reminders
    with pytest.raises(Refused) as refused:
        conference.publish(network(), [], now=NOW, reminder_offsets=[DAY])
    assert refused.value.kind == "not-a-draft"


def test_publishing_a_draft_whose_time_has_passed_is_refused() -> None:
    conference = prepared()
    with pytest.raises(InvalidInput) as refused:
        conference.publish(network(), [], now=START + timedelta(minutes=1), reminder_offsets=[])
    assert "starts_at" in [f for f, _ in refused.value.errors]


def test_the_preview_event_is_the_invitation_publishing_will_send() -> None:
    conference = prepared()
    preview = conference.invitation_event()
    assert conference.status is ConferenceStatus.DRAFT  # previewing changes nothing
    [published] = conference.publish(network(), [], now=NOW, reminder_offsets=[DAY])
    assert preview == published


def test_a_draft_changes_freely_and_silently_keeping_kept_delegates_ids() -> None:
    conference = prepared()
    dora = next(i for i in conference.invitations if i.person.name == "Dora Yilmaz")
    emil = Delegate("Emil Hoffmann", "emil@example.org", None, StakeholderGroup.YOUTH_WELFARE)
    edited = replace(
        conference.as_draft(),
        title="Neu",
        starts_at=START + timedelta(days=1),
        ends_at=START + timedelta(days=1, hours=2),
        delegates=(*conference.as_draft().delegates, emil),
    )
    assert conference.edit(edited, network(), now=NOW) == []
    assert conference.title == "Neu"
    assert conference.starts_at == START + timedelta(days=1)
    assert conference.sequence == 0
    ids = {i.person.name: i.invitation_id for i in conference.invitations}
    assert ids["Dora Yilmaz"] == dora.invitation_id
    assert "Emil Hoffmann" in ids
    without_dora = replace(conference.as_draft(), delegates=(emil,))
    conference.edit(without_dora, network(), now=NOW)
    assert "Dora Yilmaz" not in {i.person.name for i in conference.invitations}


def test_a_visible_change_after_publication_raises_the_sequence_and_tells_the_invitees() -> None:
    conference = scheduled()
    edited = replace(conference.as_draft(), title="Bildungskonferenz 2027")
    [event] = conference.edit(edited, network(), now=NOW)
    assert isinstance(event, ConferenceUpdated)
    assert event.changed == ["title"]
    assert event.sequence == 1 == conference.sequence
    assert event.title == "Bildungskonferenz 2027"
    assert len(event.invitees) == 3


def test_a_change_that_changes_nothing_causes_nothing() -> None:
    conference = scheduled()
    assert conference.edit(conference.as_draft(), network(), now=NOW) == []
    assert conference.sequence == 0


def test_venue_and_agenda_changes_are_named() -> None:
    conference = scheduled()
    edited = replace(
        conference.as_draft(),
        venue=Venue(name="Kulturbahnhof", address="Willy-Brandt-Platz 1, 59065 Hamm"),
        agenda=(AgendaDraft("Begrüßung"),),
    )
    [event] = conference.edit(edited, network(), now=NOW)
    assert isinstance(event, ConferenceUpdated)
    assert event.changed == ["venue", "agenda"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("starts_at", START + timedelta(days=1)),
        ("delegates", ()),
    ],
)
def test_times_and_delegates_are_not_edited_after_publication(field: str, value: object) -> None:
    conference = scheduled()
    edited = replace(conference.as_draft(), **{field: value})  # type: ignore[arg-type]
    with pytest.raises(InvalidInput) as refused:
        conference.edit(edited, network(), now=NOW)
    assert [f for f, _ in refused.value.errors] == [field]
    assert conference.sequence == 0


def test_capacity_raised_moves_the_waiting_list_up_in_order_without_an_update_mail() -> None:
    conference = scheduled(capacity=1)
    first, second, third = conference.invitations
    conference.respond(first.invitation_id, Response.ACCEPTED, now=NOW)
    conference.respond(second.invitation_id, Response.ACCEPTED, now=NOW)
    conference.respond(third.invitation_id, Response.ACCEPTED, now=NOW)
    assert [second.waitlisted, third.waitlisted] == [True, True]
    events = conference.edit(replace(conference.as_draft(), capacity=2), network(), now=NOW)
    [promotion] = events  # no conference-updated: the invitation does not show the capacity
    assert isinstance(promotion, ParticipantResponded)
    assert promotion.promoted_from_waitlist
    assert promotion.invitee.invitation_id == second.invitation_id
    assert third.waitlisted
    assert conference.waitlist_position(third) == 1
    assert conference.sequence == 0


def test_capacity_below_the_accepted_count_is_refused_naming_the_field() -> None:
    conference = scheduled(capacity=3)
    for invitation in conference.invitations[:2]:
        conference.respond(invitation.invitation_id, Response.ACCEPTED, now=NOW)
    with pytest.raises(InvalidInput) as refused:
        conference.edit(replace(conference.as_draft(), capacity=1), network(), now=NOW)
    assert [f for f, _ in refused.value.errors] == ["capacity"]
    assert conference.capacity == 3


def test_only_a_draft_can_be_discarded() -> None:
    prepared().discard()
    with pytest.raises(Refused):
        scheduled().discard()
