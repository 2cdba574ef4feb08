# ruff: noqa: E501 - the rules table is kept one row per line
"""Who gets which mail: the table of domain.md as data, in one place.

Each row says: for this event type, these recipients get a mail written with this template, of
this category (which decides whether a recipient may opt out), with or without a calendar entry.
An event type may have several rows (the new member gets a welcome, the office an information).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, TypeVar

from notifications.domain.preferences import Topic
from notifications.domain.recipients import (
    DistrictCoordination,
    NetworkDirectory,
    Recipient,
    Refused,
    Role,
    unique_by_address,
)

DISTRICT_REPORT_DUE = "district-report-due"  # no Kafka event: the report scheduler's own cause
# No Kafka event either: the daily overview of answers (service_layer.digests), which replaces
# a mail to the office per answer.
RESPONSE_DIGEST_DUE = "response-digest-due"
# No Kafka event: a calendar proposed another time (iMIP COUNTER, service_layer.inbound).
CALENDAR_COUNTER_RECEIVED = "calendar-counter-received"


class Audience(StrEnum):
    SUBJECT_PERSON = "subject_person"  # the person the event is about (new member, new staff)
    EDUCATION_OFFICE = "education_office"  # the network's Regionales Bildungsbüro
    STEERING_COMMITTEE = "steering_committee"  # the network's Lenkungskreis
    INVITEES = "invitees"  # everyone invited to the conference
    INVITEE = "invitee"  # the one invitee the event is about
    REMINDER_RECIPIENTS = "reminder_recipients"  # invitees who have not declined
    DISTRICT_COORDINATION = "district_coordination"
    ALL_OFFICES_AND_COMMITTEES = "all_offices_and_committees"  # of the networks listed
    CALENDAR_SENDER = "calendar_sender"  # the invitee whose calendar proposed another time


class Category(StrEnum):
    ESSENTIAL = "essential"  # invitations, changes, cancellations: always sent
    INFORMATION = "information"  # welcome and information mails: always sent
    REMINDER = "reminder"  # recipients may opt out
    REPORT = "report"  # recipients may opt out

    @property
    def opt_out_topic(self) -> Topic | None:
        return {Category.REMINDER: Topic.REMINDERS, Category.REPORT: Topic.REPORTS}.get(self)


class CalendarMethod(StrEnum):
    REQUEST = "REQUEST"
    CANCEL = "CANCEL"


@dataclass(frozen=True)
class Rule:
    event_type: str
    audience: Audience
    template: str
    category: Category
    calendar: CalendarMethod | None = None


# Short names keep the table one row per line, readable as a table.
_to, _info, _must, _remind = Audience, Category.INFORMATION, Category.ESSENTIAL, Category.REMINDER
_request, _cancel = CalendarMethod.REQUEST, CalendarMethod.CANCEL

# fmt: off
RULES: tuple[Rule, ...] = (
    # event type                     recipients                     template                  category           calendar
    Rule("committee-member-added",      _to.SUBJECT_PERSON,             "committee-welcome",      _info),
    Rule("committee-member-added",      _to.EDUCATION_OFFICE,           "committee-member-added", _info),
    Rule("committee-member-removed",    _to.EDUCATION_OFFICE,           "committee-member-removed", _info),
    Rule("office-staff-assigned",       _to.SUBJECT_PERSON,             "office-staff-welcome",   _info),
    Rule("field-of-action-adopted",     _to.STEERING_COMMITTEE,         "field-of-action-adopted", _info),
    Rule("field-of-action-adopted",     _to.EDUCATION_OFFICE,           "field-of-action-adopted", _info),
    Rule("conference-scheduled",        _to.INVITEES,                   "conference-invitation",  _must, _request),
    Rule("participant-invited",         _to.INVITEE,                    "conference-invitation",  _must, _request),
    Rule("conference-rescheduled",      _to.INVITEES,                   "conference-rescheduled", _must, _request),
    Rule("conference-updated",          _to.INVITEES,                   "conference-updated",     _must, _request),
    Rule("conference-cancelled",        _to.INVITEES,                   "conference-cancelled",   _must, _cancel),
    Rule("participant-withdrawn",       _to.INVITEE,                    "participant-withdrawn",  _must, _cancel),
    Rule("conference-reminder-due",     _to.REMINDER_RECIPIENTS,        "conference-reminder",    _remind),
    Rule("participant-responded",       _to.INVITEE,                    "response-confirmation",  _info),
    Rule("conference-concluded",        _to.STEERING_COMMITTEE,         "conference-results",     _info),
    Rule("conference-concluded",        _to.DISTRICT_COORDINATION,      "conference-results",     _info),
    Rule("district-bulletin-published", _to.ALL_OFFICES_AND_COMMITTEES, "district-bulletin",      _info),
    Rule(DISTRICT_REPORT_DUE,           _to.DISTRICT_COORDINATION,      "district-report",        Category.REPORT),
    Rule(RESPONSE_DIGEST_DUE,           _to.EDUCATION_OFFICE,           "response-digest",        _info),
    Rule(CALENDAR_COUNTER_RECEIVED,     _to.CALENDAR_SENDER,            "calendar-counter-answer", _info),
)
# fmt: on


def rules_for(event_type: str) -> list[Rule]:
    return [rule for rule in RULES if rule.event_type == event_type]


def handled_event_types() -> set[str]:
    return {rule.event_type for rule in RULES} - {
        DISTRICT_REPORT_DUE,
        RESPONSE_DIGEST_DUE,
        CALENDAR_COUNTER_RECEIVED,
    }


@dataclass(frozen=True)
class Addressing:
    """What is known, besides the event, to find the recipients."""

    network: NetworkDirectory | None = None
    networks: Sequence[NetworkDirectory] = ()
    district: DistrictCoordination | None = None


# The welcome of a new committee member: sent again once a failed address is corrected.
WELCOME_RULE = next(r for r in RULES if r.template == "committee-welcome")


RecipientT = TypeVar("RecipientT", Recipient, Refused)


@dataclass(frozen=True)
class Mail(Generic[RecipientT]):
    """A mail a rule calls for: to a recipient, or to one whose address the policy refuses (it
    becomes a failed delivery)."""

    rule: Rule
    recipient: RecipientT


PlannedMail = Mail[Recipient]
RefusedMail = Mail[Refused]


@dataclass(frozen=True)
class Plan:
    mails: list[PlannedMail]
    refused: list[RefusedMail]

    @property
    def rejected(self) -> int:
        """How many recipients' addresses could not be used."""
        return len(self.refused)


def plan(event_type: str, payload: Any, addressing: Addressing) -> list[PlannedMail]:
    """Every (rule, recipient) an event calls for; each address once per event."""
    return plan_with_rejections(event_type, payload, addressing).mails


def plan_with_rejections(event_type: str, payload: Any, addressing: Addressing) -> Plan:
    """Like `plan`, and the refused addresses, each once: they never hold up the others."""
    planned: list[PlannedMail] = []
    refused: list[RefusedMail] = []
    seen: set[str] = set()
    for rule in rules_for(event_type):
        candidates: list[Recipient] = []
        for recipient in recipients_of(rule.audience, payload, addressing):
            if isinstance(recipient, Refused):
                if recipient.address not in seen:
                    seen.add(recipient.address)
                    refused.append(RefusedMail(rule, recipient))
            else:
                candidates.append(recipient)
        for recipient in unique_by_address(candidates):
            if recipient.email not in seen:
                seen.add(recipient.email)
                planned.append(PlannedMail(rule, recipient))
    return Plan(planned, refused)


def recipients_of(
    audience: Audience, payload: Any, addressing: Addressing
) -> list[Recipient | Refused]:
    """The audience's recipients, those with a refused address as Refused."""
    network_ref = getattr(payload, "network", None)
    network_id = network_ref.id if network_ref is not None else None
    network_name = network_ref.name if network_ref is not None else None
    directory = addressing.network or (
        NetworkDirectory(network_id, network_name) if network_id and network_name else None
    )

    def person(p: Any, role: Role, invitation_id: str | None = None) -> Recipient | Refused:
        return Recipient.candidate(
            str(p.email), p.name, role, network_id, network_name, invitation_id
        )

    def invitee(i: Any) -> Recipient | Refused:
        return person(i.person, Role.INVITEE, i.invitation_id)

    match audience:
        case Audience.SUBJECT_PERSON:
            role = Role.COMMITTEE_MEMBER if hasattr(payload, "member_id") else Role.OFFICE_STAFF
            return [person(payload.person, role)]
        case Audience.EDUCATION_OFFICE:
            fallback = network_ref.office_email if network_ref is not None else None
            return [*directory.office_recipients(fallback)] if directory else []
        case Audience.STEERING_COMMITTEE:
            return [*directory.committee_recipients()] if directory else []
        case Audience.INVITEES:
            return [invitee(i) for i in payload.invitees]
        case Audience.INVITEE:
            return [invitee(payload.invitee)]
        case Audience.REMINDER_RECIPIENTS:
            return [invitee(i) for i in payload.recipients]
        case Audience.DISTRICT_COORDINATION:
            return [*addressing.district.recipients()] if addressing.district else []
        case Audience.CALENDAR_SENDER:
            return [person(payload.person, Role.INVITEE, payload.invitation_id)]
        case Audience.ALL_OFFICES_AND_COMMITTEES:
            wanted = set(getattr(payload, "network_ids", []) or [])
            found: list[Recipient | Refused] = []
            for network in addressing.networks:
                if network.network_id in wanted:
                    found += network.office_recipients() + network.committee_recipients()
            return found
