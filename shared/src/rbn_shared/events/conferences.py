"""Events the conference planning service publishes (topic `conferences.events`, key: network id).

Every payload carries the conference as it stands after the change (title, times, venue, agenda,
organiser, calendar sequence) and the invitees a mail goes to, so that the notifications service
can write its mail and calendar entry from the event alone.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import AnyHttpUrl, Field

from rbn_shared.addresses import EventAddress
from rbn_shared.events.base import (
    EventPart,
    EventPayload,
    Identifier,
    Name,
    NetworkEvent,
    Person,
    Text,
)
from rbn_shared.events.envelope import UtcDatetime


class ConferenceKind(StrEnum):
    PLENARY = "plenary"  # Vollversammlung
    PARTIAL = "partial"  # Teilversammlung: a topic-based subset of invitees


class ConferenceStatus(StrEnum):
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    CONCLUDED = "concluded"


class StakeholderGroup(StrEnum):
    STEERING_COMMITTEE = "steering_committee"
    EDUCATION_OFFICE = "education_office"
    SCHOOL = "school"
    SCHOOL_BOARD = "school_board"
    SCHOOL_SUPERVISION = "school_supervision"
    YOUTH_WELFARE = "youth_welfare"
    FURTHER_EDUCATION = "further_education"
    BUSINESS = "business"
    OTHER = "other"


class Response(StrEnum):
    PENDING = "pending"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    TENTATIVE = "tentative"


class Venue(EventPart):
    name: Name
    address: Name


class AgendaItem(EventPart):
    title: Name
    description: Text | None = None
    field_of_action_id: Identifier | None = None
    field_of_action_title: Name | None = None


class Invitee(EventPart):
    invitation_id: Identifier
    person: Person
    group: StakeholderGroup
    response: Response = Response.PENDING
    waitlisted: bool = False
    waitlist_position: int | None = Field(
        default=None,
        ge=1,
        description="The invitee's place on the waiting list (1 is next), when waitlisted; "
        "None otherwise, and from producers that do not know it.",
    )
    response_url: AnyHttpUrl | None = Field(
        default=None, description="The invitee's personal response page; needs no login."
    )
    reply_address: EventAddress | None = Field(
        default=None,
        description="Where the invitee's calendar sends its answer (iMIP REPLY): the "
        "invitation's ORGANIZER address, with a signed token naming this invitation. None "
        "when the conferences service has no reply domain set.",
    )


class Conference(NetworkEvent):
    """A Regionale Bildungskonferenz as it stands after the change."""

    conference_id: Identifier
    title: Name
    kind: ConferenceKind
    topic: Name | None = Field(default=None, description="The topic of a partial conference.")
    status: ConferenceStatus
    starts_at: UtcDatetime
    ends_at: UtcDatetime
    timezone: str = Field(default="Europe/Berlin", description="Where the times are shown.")
    venue: Venue | None = None
    online_url: AnyHttpUrl | None = None
    agenda: list[AgendaItem] = Field(default_factory=list)
    capacity: int | None = Field(default=None, ge=1)
    organizer: Person = Field(description="Who sends the invitation: the education office.")
    sequence: int = Field(
        ge=0,
        description="iCalendar SEQUENCE of the invitees' entries; raised by every change "
        "their calendars must see (reschedule, update, withdrawal, invitation again). A "
        "cancellation keeps the last one; its CANCEL carries one more.",
    )


Invitees = Annotated[list[Invitee], Field(description="Everyone invited, with their answer.")]


class ConferenceScheduled(Conference):
    event_type: ClassVar[str] = "conference-scheduled"

    invitees: Invitees


class ConferenceRescheduled(Conference):
    event_type: ClassVar[str] = "conference-rescheduled"

    previous_starts_at: UtcDatetime
    previous_ends_at: UtcDatetime
    invitees: Invitees


class ConferenceUpdated(Conference):
    """A published conference changed in what its invitation shows (title, topic, agenda, venue,
    online link); the calendar SEQUENCE is raised, the UID stays."""

    event_type: ClassVar[str] = "conference-updated"

    changed: list[Name] = Field(
        min_length=1, description="The fields that changed, e.g. title, agenda, venue."
    )
    invitees: Invitees


class ConferenceCancelled(Conference):
    event_type: ClassVar[str] = "conference-cancelled"

    reason: Text
    invitees: Invitees


class ParticipantInvited(Conference):
    """Someone was invited after the conference was scheduled (e.g. a new committee member)."""

    event_type: ClassVar[str] = "participant-invited"

    invitee: Invitee


class WithdrawalReason(StrEnum):
    REMOVED_FROM_COMMITTEE = "removed_from_committee"
    REMOVED_FROM_OFFICE = "removed_from_office"
    TERM_ENDED = "term_ended"
    DELEGATE_REMOVED = "delegate_removed"  # the office took an external delegate off


class ParticipantWithdrawn(Conference):
    """An invitation to a published conference was taken back: its person left the roster, or
    the office took the external delegate off (`reason`); `sequence` is already raised, so the
    withdrawal's CANCEL supersedes the last REQUEST."""

    event_type: ClassVar[str] = "participant-withdrawn"

    invitee: Invitee
    reason: WithdrawalReason


class ResponseCounts(EventPart):
    accepted: int = 0
    declined: int = 0
    tentative: int = 0
    pending: int = 0
    waitlisted: int = 0


class ParticipantResponded(Conference):
    event_type: ClassVar[str] = "participant-responded"

    invitee: Invitee
    previous_response: Response
    promoted_from_waitlist: bool = False
    counts: ResponseCounts


class ConferenceReminderDue(Conference):
    event_type: ClassVar[str] = "conference-reminder-due"

    offset: timedelta = Field(description="How long before the start this reminder is due.")
    due_at: UtcDatetime
    recipients: list[Invitee] = Field(description="Invitees who have not declined.")


class Recommendation(EventPart):
    field_of_action_id: Identifier
    field_of_action_title: Name
    text: Text


class ConferenceConcluded(Conference):
    event_type: ClassVar[str] = "conference-concluded"

    summary: Text
    recommendations: list[Recommendation]
    attendance: ResponseCounts


CONFERENCE_EVENTS: tuple[type[EventPayload], ...] = (
    ConferenceScheduled,
    ConferenceRescheduled,
    ConferenceUpdated,
    ConferenceCancelled,
    ParticipantInvited,
    ParticipantWithdrawn,
    ParticipantResponded,
    ConferenceReminderDue,
    ConferenceConcluded,
)
