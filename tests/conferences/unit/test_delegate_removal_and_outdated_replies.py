"""The office takes an external delegate off a conference, and a calendar answer to a time since
moved is refused: the aggregate's rules and the service's decision, without any server."""

from __future__ import annotations

from datetime import timedelta

import pytest

from conferences.adapters.documents import conference_from_document, conference_to_document
from conferences.domain.errors import NotFound, Refused
from conferences.domain.model import Conference, Delegate
from rbn_shared.events.conferences import (
    ParticipantResponded,
    ParticipantWithdrawn,
    Response,
    StakeholderGroup,
    WithdrawalReason,
)
from tests.conferences.unit.test_conference import NOW, START, draft, network, scheduled
from tests.conferences.unit.test_delivery_and_corrections import by_name

DELEGATES = tuple(
    Delegate(n, f"{n}@example.org", None, StakeholderGroup.SCHOOL) for n in ("ida", "jan", "kim")
)


def full() -> Conference:
    """One seat: ida has it, jan and kim wait (in that order)."""
    conference = scheduled(capacity=1, delegates=DELEGATES)
    for name in ("ida", "jan", "kim"):
        conference.respond(by_name(conference, name).invitation_id, Response.ACCEPTED, now=NOW)
    return conference


# ---------------------------------------------------------------------------- taking a delegate off


def test_a_drafts_delegate_simply_goes_and_nobody_is_told() -> None:
    conference, _ = Conference.prepare("c1", draft(), network(), now=NOW)
    dora = by_name(conference, "Dora Yilmaz")
    assert conference.withdraw_delegate(dora.invitation_id, now=NOW) == []
    assert dora not in conference.invitations, "gone, not kept as withdrawn"
    assert conference.sequence == 0
    assert conference.as_draft().delegates == ()
    with pytest.raises(NotFound):
        conference.withdraw_delegate(dora.invitation_id, now=NOW)


def test_a_published_delegate_is_withdrawn_with_its_reason_and_a_higher_sequence() -> None:
    conference = scheduled()
    dora = by_name(conference, "Dora Yilmaz")
    [withdrawn] = conference.withdraw_delegate(dora.invitation_id, now=NOW)
    assert isinstance(withdrawn, ParticipantWithdrawn)
    assert withdrawn.reason == WithdrawalReason.DELEGATE_REMOVED
    assert (withdrawn.sequence, conference.sequence) == (1, 1)
    assert withdrawn.invitee.invitation_id == dora.invitation_id
    assert dora.withdrawn
    assert not dora.waitlisted
    assert "Dora Yilmaz" not in {i.person.name for i in conference.invitees()}
    assert conference.time_sequence == 0, "the time did not change"


def test_a_freed_seat_goes_to_the_first_on_the_waiting_list() -> None:
    conference = full()
    ida, jan, kim = (by_name(conference, n) for n in ("ida", "jan", "kim"))
    withdrawn, promoted = conference.withdraw_delegate(ida.invitation_id, now=NOW)
    assert isinstance(withdrawn, ParticipantWithdrawn)
    assert isinstance(promoted, ParticipantResponded)
    assert promoted.promoted_from_waitlist
    assert promoted.invitee.person.name == "jan"
    assert jan.has_seat
    assert conference.waitlist_position(kim) == 1
    assert conference.counts().accepted == 1


def test_a_waiting_delegate_taken_off_frees_no_seat_and_leaves_the_queue() -> None:
    conference = full()
    jan, kim = by_name(conference, "jan"), by_name(conference, "kim")
    [withdrawn] = conference.withdraw_delegate(jan.invitation_id, now=NOW)
    assert isinstance(withdrawn, ParticipantWithdrawn)
    assert withdrawn.invitee.waitlist_position is None
    assert conference.waitlist_position(kim) == 1
    assert conference.counts().waitlisted == 1


def test_committee_and_office_invitations_are_taken_off_in_the_registry() -> None:
    conference = scheduled()
    for name in ("Anna Schulte", "Clara Becker"):
        with pytest.raises(Refused) as refused:
            conference.withdraw_delegate(by_name(conference, name).invitation_id, now=NOW)
        assert refused.value.kind == "managed-in-registry"
    assert conference.sequence == 0, "nothing changed"


def test_an_unknown_or_withdrawn_invitation_is_not_found() -> None:
    conference = scheduled()
    dora = by_name(conference, "Dora Yilmaz")
    with pytest.raises(NotFound):
        conference.withdraw_delegate("inv-99", now=NOW)
    conference.withdraw_delegate(dora.invitation_id, now=NOW)
    with pytest.raises(NotFound):
        conference.withdraw_delegate(dora.invitation_id, now=NOW)
    assert conference.sequence == 1, "the second try changed nothing"


def test_a_conference_no_longer_planned_keeps_its_delegates() -> None:
    started = scheduled()
    dora = by_name(started, "Dora Yilmaz")
    with pytest.raises(Refused) as refused:
        started.withdraw_delegate(dora.invitation_id, now=START)
    assert refused.value.kind == "already-started"
    cancelled = scheduled()
    cancelled.cancel("Raum fehlt", now=NOW)
    with pytest.raises(Refused) as not_planned:
        cancelled.withdraw_delegate(by_name(cancelled, "Dora Yilmaz").invitation_id, now=NOW)
    assert not_planned.value.kind == "not-planned"


# ---------------------------------------------------------------------------- outdated answers


def test_only_a_reschedule_makes_older_calendar_entries_outdated() -> None:
    conference = scheduled()
    assert conference.answers_current_time(0)
    conference.withdraw_delegate(by_name(conference, "Dora Yilmaz").invitation_id, now=NOW)
    assert (conference.sequence, conference.time_sequence) == (1, 0)
    assert conference.answers_current_time(0), "a withdrawal of another keeps the time"
    later = START + timedelta(days=7)
    conference.reschedule(later, later + timedelta(hours=3), [], now=NOW)
    assert (conference.sequence, conference.time_sequence) == (2, 2)
    assert not conference.answers_current_time(0)
    assert not conference.answers_current_time(1)
    assert conference.answers_current_time(2)
    assert conference.answers_current_time(3)


def test_the_time_sequence_is_stored_and_defaults_to_the_first_invitation() -> None:
    conference = scheduled()
    later = START + timedelta(days=7)
    conference.reschedule(later, later + timedelta(hours=3), [], now=NOW)
    document = conference_to_document(conference)
    assert conference_from_document(document).time_sequence == 1
    del document["time_sequence"]  # stored before it was kept
    assert conference_from_document(document).time_sequence == 0
