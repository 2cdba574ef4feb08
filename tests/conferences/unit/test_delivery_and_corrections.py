"""One bad value fails one delivery: undeliverable marks, corrected addresses, delegate
corrections, tolerant roster entries and clean request bodies, without any server."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from conferences.adapters.documents import conference_from_document, conference_to_document
from conferences.domain.errors import InvalidInput, NotFound, Refused
from conferences.domain.model import Conference, Delegate, Invitation
from conferences.domain.projection import EventFacts, NetworkView
from conferences.entrypoints.schemas import CancelIn, DelegateIn, ScheduleIn
from rbn_shared.events.base import NetworkRef, Person, Side
from rbn_shared.events.conferences import ParticipantInvited, Response, StakeholderGroup
from rbn_shared.events.registry import CommitteeMemberAdded, CommitteeRole
from tests.conferences.unit.test_conference import NOW, START, draft, network, scheduled

FAILED_AT = NOW + timedelta(hours=1)


def by_name(conference: Conference, name: str) -> Invitation:
    return next(i for i in conference.invitations if i.person.name == name)


def with_staff_address(view: NetworkView, email: str, name: str = "Clara Becker") -> NetworkView:
    view.staff["s1"] = {"person": {"name": name, "email": email}}
    return view


def marked(
    conference: Conference, invitation_id: str, recipient: str, reason: str, failed_at: datetime
) -> bool:
    """Mark a failed delivery: no event either way; True if the conference as stored changed."""
    before = conference_to_document(conference)
    assert conference.mark_undeliverable(invitation_id, recipient, reason, failed_at) == []
    return conference_to_document(conference) != before


# ---------------------------------------------------------------------------- visible


def test_a_failed_delivery_marks_the_invitation_with_reason_time_and_address() -> None:
    conference = scheduled()
    dora = by_name(conference, "Dora Yilmaz")
    assert not dora.undeliverable
    assert marked(
        conference, dora.invitation_id, "dora@example.org", "550 mailbox unavailable", FAILED_AT
    )
    assert dora.undeliverable
    assert dora.delivery_problem is not None
    assert (dora.delivery_problem.reason, dora.delivery_problem.failed_at) == (
        "550 mailbox unavailable",
        FAILED_AT,
    )
    assert dora.delivery_problem.address == "dora@example.org"
    assert conference.undeliverable_count() == 1
    # A repeat and an older failure change nothing.
    assert not marked(
        conference, dora.invitation_id, "dora@example.org", "550 mailbox unavailable", FAILED_AT
    )
    assert not marked(
        conference,
        dora.invitation_id,
        "dora@example.org",
        "timeout",
        FAILED_AT - timedelta(minutes=5),
    )
    assert dora.delivery_problem.reason == "550 mailbox unavailable"
    # A later failure of the same address is the one shown.
    assert marked(
        conference,
        dora.invitation_id,
        "dora@example.org",
        "552 quota",
        FAILED_AT + timedelta(minutes=5),
    )
    assert dora.delivery_problem.reason == "552 quota"


def test_the_failed_recipient_is_compared_in_canonical_form() -> None:
    conference = scheduled()
    dora = by_name(conference, "Dora Yilmaz")
    assert marked(conference, dora.invitation_id, "Dora@EXAMPLE.org", "550 unknown user", FAILED_AT)
    assert dora.undeliverable


def test_a_failure_for_an_address_corrected_since_is_ignored() -> None:
    conference = scheduled()
    clara = by_name(conference, "Clara Becker")
    conference.sync_roster(with_staff_address(network(), "c.becker@example.org"))
    assert not marked(
        conference, clara.invitation_id, "clara@example.org", "550 unknown user", FAILED_AT
    ), "the failure was for the old address"
    assert not clara.undeliverable
    assert conference.undeliverable_count() == 0


def test_failures_for_unknown_or_withdrawn_invitations_are_ignored() -> None:
    conference = scheduled()
    assert not marked(conference, "inv-99", "x@example.org", "550", FAILED_AT)
    view = network()
    del view.committee["m1"]
    conference.sync_roster(view)
    anna = by_name(conference, "Anna Schulte")
    assert anna.withdrawn
    assert not marked(conference, anna.invitation_id, "anna@example.org", "550", FAILED_AT)
    assert anna.delivery_problem is None


def test_the_mark_survives_the_document_round_trip() -> None:
    conference = scheduled()
    dora = by_name(conference, "Dora Yilmaz")
    conference.mark_undeliverable(dora.invitation_id, "dora@example.org", "550", FAILED_AT)
    again = conference_from_document(conference_to_document(conference))
    assert by_name(again, "Dora Yilmaz").delivery_problem == dora.delivery_problem
    assert by_name(again, "Clara Becker").delivery_problem is None


# ---------------------------------------------------------------------------- fixable: registry


def test_a_corrected_registry_address_reinvites_exactly_once_and_clears_the_mark() -> None:
    conference = scheduled()
    clara = by_name(conference, "Clara Becker")
    conference.mark_undeliverable(clara.invitation_id, "clara@example.org", "550", FAILED_AT)
    view = with_staff_address(network(), "clara.becker@schule.example.org")
    [event] = conference.sync_roster(view)
    assert isinstance(event, ParticipantInvited)
    assert event.invitee.invitation_id == clara.invitation_id
    assert event.invitee.person.email == "clara.becker@schule.example.org"
    assert not clara.undeliverable
    assert conference.sync_roster(view) == [], "the same view again sends nothing"


def test_a_name_change_or_a_respelled_address_sends_nothing_and_keeps_the_mark() -> None:
    conference = scheduled()
    clara = by_name(conference, "Clara Becker")
    conference.mark_undeliverable(clara.invitation_id, "clara@example.org", "550", FAILED_AT)
    view = with_staff_address(network(), "Clara@Example.ORG", name="Dr. Clara Becker")
    assert conference.sync_roster(view) == []
    assert clara.person.name == "Dr. Clara Becker", "the new name is taken over"
    assert clara.undeliverable, "the same mailbox: the problem stays"


def test_the_roster_accepts_untrimmed_names_and_skips_an_unusable_entry() -> None:
    view = network()
    view.committee["m2"] = {"person": {"name": "  Frieda Lange ", "email": "Frieda@Example.org"}}
    view.committee["m3"] = {"person": {"name": "", "email": "not an address"}}
    view.committee["m4"] = {"side": "state"}  # no person at all
    assert set(view.committee_people()) == {"m1", "m2"}
    conference, _ = Conference.schedule("c1", draft(), view, [], now=NOW, reminder_offsets=[])
    frieda = next(i for i in conference.invitations if i.source == "committee:m2")
    assert frieda.person.name == "  Frieda Lange "
    assert frieda.person.email == "Frieda@Example.org"
    assert {i.source for i in conference.invitations} == {
        "committee:m1",
        "committee:m2",
        "staff:s1",
        "external",
    }
    assert conference.sync_roster(view) == []


def test_the_projection_takes_event_persons_as_they_come() -> None:
    ref = NetworkRef(id="hamm", name="Bildungsnetzwerk Hamm", office_email="buero@example.org")
    payload = CommitteeMemberAdded(
        network=ref,
        member_id="m1",
        person=Person(name=" Anna ", email="ANNA@Example.org"),
        side=Side.STATE,
        role=CommitteeRole.MEMBER,
        term_start=START.date(),
    )
    view = NetworkView("hamm")
    assert view.apply(EventFacts("committee-member-added", "m1", 1, NOW), payload)
    assert view.committee_people()["m1"].name == " Anna "


def test_a_very_long_network_name_does_not_stop_following_the_roster() -> None:
    view = network()
    view.office_name = None
    view.name = "N" * 200
    conference = scheduled()
    conference.sync_roster(view)
    assert len(conference.organizer.name) == 200


# ---------------------------------------------------------------------------- fixable: delegates


def test_a_delegate_with_a_new_address_is_invited_there_once() -> None:
    conference = scheduled()
    dora = by_name(conference, "Dora Yilmaz")
    conference.respond(dora.invitation_id, Response.TENTATIVE, now=NOW)
    conference.mark_undeliverable(dora.invitation_id, "dora@example.org", "550", FAILED_AT)
    current = conference.delegate_of(dora.invitation_id)
    assert current == Delegate("Dora Yilmaz", "dora@example.org", "Gesamtschule", dora.group)
    corrected = Delegate("Dora Yilmaz", "dora.yilmaz@example.org", "Gesamtschule", dora.group)
    [event] = conference.change_delegate(dora.invitation_id, corrected, now=NOW)
    assert isinstance(event, ParticipantInvited)
    assert event.invitee.person.email == "dora.yilmaz@example.org"
    assert not dora.undeliverable
    assert dora.response == Response.TENTATIVE, "the answer given stays"
    assert conference.change_delegate(dora.invitation_id, corrected, now=NOW) == []


def test_a_delegate_name_or_group_correction_is_stored_and_sends_nothing() -> None:
    conference = scheduled()
    dora = by_name(conference, "Dora Yilmaz")
    renamed = Delegate("Dora Yılmaz", "dora@example.org", None, StakeholderGroup.SCHOOL_BOARD)
    assert conference.change_delegate(dora.invitation_id, renamed, now=NOW) == []
    assert dora.person == Person(name="Dora Yılmaz", email="dora@example.org")
    assert dora.group == StakeholderGroup.SCHOOL_BOARD


def test_delegate_corrections_refuse_registry_invitations_and_taken_addresses() -> None:
    conference = scheduled()
    clara = by_name(conference, "Clara Becker")
    dora = by_name(conference, "Dora Yilmaz")
    with pytest.raises(Refused) as registry:
        conference.delegate_of(clara.invitation_id)
    assert registry.value.kind == "managed-in-registry"
    with pytest.raises(Refused) as registry_change:
        conference.change_delegate(
            clara.invitation_id,
            Delegate("Clara", "c@example.org", None, StakeholderGroup.OTHER),
            now=NOW,
        )
    assert registry_change.value.kind == "managed-in-registry"
    taken = Delegate("Dora Yilmaz", "CLARA@example.org", None, StakeholderGroup.SCHOOL)
    with pytest.raises(Refused) as already:
        conference.change_delegate(dora.invitation_id, taken, now=NOW)
    assert already.value.kind == "already-invited"
    assert dora.person.email == "dora@example.org", "nothing changed"
    with pytest.raises(NotFound):
        conference.delegate_of("inv-99")
    with pytest.raises(Refused) as started:
        conference.change_delegate(dora.invitation_id, taken, now=START)
    assert started.value.kind == "already-started"


def test_delegate_addresses_are_compared_canonically() -> None:
    twice = (
        Delegate("Dora", "dora@example.org", None, StakeholderGroup.SCHOOL),
        Delegate("Dora Y.", "Dora@EXAMPLE.org", None, StakeholderGroup.SCHOOL),
    )
    with pytest.raises(InvalidInput) as refused:
        scheduled(delegates=twice)
    assert refused.value.errors == [("delegates.1.email", "this address is already invited")]


# ---------------------------------------------------------------------------- clean input


def schedule_input(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "network_id": "dortmund",
        "title": "Regionale Bildungskonferenz",
        "starts_at": "2027-03-10T14:00:00",
        "ends_at": "2027-03-10T17:00:00",
    }
    return body | changes


def fields_refused(error: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return {".".join(str(p) for p in e["loc"]) for e in error.value.errors()}


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"network_id": "dortmund "}, "network_id"),
        ({"network_id": "Dortmund"}, "network_id"),
        ({"title": "Konferenz\r\nBcc: x@example.org"}, "title"),
        ({"topic": "Inklusion\u2028Teil 2"}, "topic"),
        ({"agenda": [{"title": "X", "field_of_action_id": " f1"}]}, "agenda.0.field_of_action_id"),
        (
            {"delegates": [{"name": "A", "email": "Anna Schmidt <anna@x.de>", "group": "school"}]},
            "delegates.0.email",
        ),
    ],
)
def test_schedule_input_is_refused_naming_the_field(changes: dict[str, Any], field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        ScheduleIn.model_validate(schedule_input(**changes))
    assert field in fields_refused(refused)


def test_clean_input_is_normalised_and_addresses_take_their_canonical_form() -> None:
    body = ScheduleIn.model_validate(schedule_input(title="  Konferenz  "))
    assert body.title == "Konferenz"
    delegate = DelegateIn.model_validate(
        {"name": " Anna ", "email": "Anna.Schmidt@Schule.DE", "group": "school"}
    )
    assert (delegate.name, delegate.email) == ("Anna", "anna.schmidt@schule.de")
    reason = CancelIn.model_validate({"reason": "Der Saal fehlt.\r\nNeuer Termin folgt."})
    assert reason.reason == "Der Saal fehlt.\nNeuer Termin folgt."
