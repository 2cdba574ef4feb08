"""The rules table decides who gets which mail; the projection knows who is who."""

from __future__ import annotations

import pytest

from notifications.domain.recipients import (
    Contact,
    DistrictCoordination,
    NetworkDirectory,
    Recipient,
    Role,
)
from notifications.domain.rules import (
    RULES,
    Addressing,
    Audience,
    CalendarMethod,
    Category,
    handled_event_types,
    plan,
)
from rbn_shared.addresses import AddressRefused, canonical_address
from rbn_shared.events import CATALOGUE
from rbn_tools.mail_examples import Examples

EX = Examples()


def bochum() -> NetworkDirectory:
    return (
        NetworkDirectory("bochum", "Bochum")
        .with_network("Bochum", Contact("buero@bochum.example.org", "Bildungsbüro Bochum"), 1)
        .with_member("m-1", Contact("anna@schule.example.org", "Anna", 1))
        .with_member("m-2", Contact("ben@stadt.example.org", "Ben", 1))
    )


def district() -> DistrictCoordination:
    return DistrictCoordination(
        Contact("petra@bezreg.example.org", "Petra"), Contact("service@bezreg.example.org", "SSt")
    )


def test_every_rule_names_a_known_event() -> None:
    # That each of them is consumed: test_reactions.py.
    assert handled_event_types() <= set(CATALOGUE)
    assert {"conference-scheduled", "committee-member-added"} <= handled_event_types()


def test_only_reminders_and_reports_can_be_switched_off() -> None:
    switchable = {r.template for r in RULES if r.category.opt_out_topic is not None}
    assert switchable == {"conference-reminder", "district-report"}
    for rule in RULES:
        if rule.calendar is not None:
            assert rule.category is Category.ESSENTIAL


def test_a_new_committee_member_is_welcomed_and_the_office_informed() -> None:
    planned = plan("committee-member-added", EX.committee_member_added(), Addressing(bochum()))
    assert [(p.rule.template, p.recipient.email) for p in planned] == [
        ("committee-welcome", "anna.schmidt@schule.example.org"),
        ("committee-member-added", "buero@bochum.example.org"),
    ]


def test_the_office_address_of_the_event_serves_when_the_projection_lacks_it() -> None:
    planned = plan("committee-member-removed", EX.committee_member_removed(), Addressing())
    assert [p.recipient.email for p in planned] == [EX.office_email]


def test_invitations_carry_a_calendar_request_and_cancellations_a_cancel() -> None:
    invitees = [EX.invitee(1), EX.invitee(2)]
    scheduled = plan("conference-scheduled", EX.conference_scheduled(invitees), Addressing())
    cancelled = plan("conference-cancelled", EX.conference_cancelled(invitees), Addressing())
    assert {p.rule.calendar for p in scheduled} == {CalendarMethod.REQUEST}
    assert {p.rule.calendar for p in cancelled} == {CalendarMethod.CANCEL}
    assert [p.recipient.email for p in scheduled] == [str(i.person.email) for i in invitees]


def test_reminders_go_to_the_recipients_the_event_names() -> None:
    reminder = EX.conference_reminder_due([EX.invitee(2)])
    planned = plan("conference-reminder-due", reminder, Addressing())
    assert [p.recipient.email for p in planned] == [str(EX.invitee(2).person.email)]
    assert planned[0].rule.category is Category.REMINDER


def test_results_go_to_the_committee_and_the_district_coordination() -> None:
    planned = plan(
        "conference-concluded", EX.conference_concluded(), Addressing(bochum(), (), district())
    )
    assert [p.recipient.email for p in planned] == [
        "anna@schule.example.org",
        "ben@stadt.example.org",
        "petra@bezreg.example.org",
        "service@bezreg.example.org",
    ]


def test_a_bulletin_reaches_offices_and_committees_of_the_listed_networks_once_each() -> None:
    hagen = (
        NetworkDirectory("hagen", "Hagen")
        .with_network("Hagen", Contact("buero@hagen.example.org", "Büro Hagen"), 1)
        .with_member("m-9", Contact("anna@schule.example.org", "Anna", 1))
    )
    unlisted = NetworkDirectory("hamm", "Hamm").with_network(
        "Hamm", Contact("buero@hamm.example.org", "Büro Hamm"), 1
    )
    bulletin = EX.district_bulletin_published(["bochum", "hagen"])
    planned = plan(
        "district-bulletin-published", bulletin, Addressing(networks=[bochum(), hagen, unlisted])
    )
    emails = [p.recipient.email for p in planned]
    assert emails == [
        "buero@bochum.example.org",
        "anna@schule.example.org",
        "ben@stadt.example.org",
        "buero@hagen.example.org",
    ], "Anna sits in two committees and still gets one mail"
    assert planned[-1].recipient.network_name == "Hagen"


def test_stale_registry_versions_do_not_overwrite_newer_ones() -> None:
    directory = bochum().with_member("m-1", Contact("new@schule.example.org", "Anna", 5))
    assert directory.with_member("m-1", Contact("old@schule.example.org", "Anna", 3)) == directory
    assert directory.without_member("m-1", 4) == directory
    assert "m-1" not in directory.without_member("m-1", 6).committee


@pytest.mark.parametrize(
    "address", ["anna@schule.example.org\r\nBcc: x@evil.example.org", "no-at-sign", "a@b@c.de"]
)
def test_addresses_are_validated(address: str) -> None:
    with pytest.raises(AddressRefused):
        canonical_address(address)


def test_names_lose_line_breaks() -> None:
    recipient = Recipient.candidate("Anna@Schule.example.org", "Anna\r\nBcc: x", Role.INVITEE)
    assert isinstance(recipient, Recipient)
    assert recipient.email == "anna@schule.example.org"
    assert recipient.name == "Anna Bcc: x"
    assert Audience.INVITEES.value == "invitees"


def test_an_unusable_address_drops_only_that_recipient() -> None:
    from notifications.domain.rules import plan_with_rejections
    from rbn_shared.events.base import Person

    broken = EX.invitee(9).model_copy(
        update={"person": Person.model_construct(name="Kaputt", email="kaputt@@example")}
    )
    invitation = EX.conference_scheduled([EX.invitee(1)]).model_copy(
        update={"invitees": [broken, EX.invitee(1)]}
    )
    result = plan_with_rejections("conference-scheduled", invitation, Addressing())
    assert [p.recipient.email for p in result.mails] == [str(EX.invitee(1).person.email)]
    assert result.rejected == 1
    committee = bochum().with_member("m-3", Contact("not an address", "Kaputt", 1))
    adopted = plan("field-of-action-adopted", EX.field_of_action_adopted(), Addressing(committee))
    assert len(adopted) == 3, "two members and the office; the broken contact is left out"
