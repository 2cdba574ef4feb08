"""The HTTP API's request and response bodies. Requests reject unknown fields and limit sizes.

Request fields use the shared clean-text and address types: one-line texts refuse line breaks and
control characters, ids are matched exactly (never trimmed), addresses are checked and stored in
their canonical form (no display names), so what is stored is clean wherever it is shown or sent.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field

from conferences.domain.model import ConferenceStatus, ReminderState
from rbn_shared.addresses import Address
from rbn_shared.events.conferences import (
    ConferenceKind,
    ResponseCounts,
    StakeholderGroup,
)
from rbn_shared.text import Key, Line, LongText, Reason, Slug

LOCAL_TIME_HELP = (
    "Local time in Europe/Berlin, e.g. 2027-03-10T14:00 (an explicit offset is also accepted). "
    "Stored and published in UTC."
)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VenueIn(Strict):
    name: Line
    address: Line


class AgendaItemIn(Strict):
    title: Line
    description: LongText | None = None
    field_of_action_id: Key | None = Field(
        default=None, description="An adopted field of action of the same network."
    )


ExternalGroup = Literal[
    "school",
    "school_board",
    "school_supervision",
    "youth_welfare",
    "further_education",
    "business",
    "other",
]


class DelegateIn(Strict):
    name: Line
    email: Address = Field(description="The address alone (no display name), e.g. anna@schule.de")
    institution: Line | None = None
    group: ExternalGroup = Field(description="The stakeholder group the delegate speaks for.")


class ConferenceIn(Strict):
    """A conference as the office describes it: what a draft's edit is checked against."""

    title: Line
    kind: ConferenceKind = ConferenceKind.PLENARY
    topic: Line | None = Field(default=None, description="Required for a partial conference.")
    starts_at: datetime = Field(description=LOCAL_TIME_HELP)
    ends_at: datetime = Field(description=LOCAL_TIME_HELP)
    venue: VenueIn | None = None
    online_url: AnyHttpUrl | None = None
    agenda: list[AgendaItemIn] = Field(default_factory=list, max_length=50)
    capacity: int | None = Field(default=None, ge=1, le=10_000)
    delegates: list[DelegateIn] = Field(default_factory=list, max_length=500)


class ScheduleIn(ConferenceIn):
    network_id: Slug = Field(description="The network's id as the registry gives it, e.g. hagen")
    draft: bool = Field(
        default=False,
        description="true: keep it as a draft (no mail, no reminders, no time slot taken) "
        "until it is published; false (the default): publish it at once.",
    )


class RescheduleIn(Strict):
    starts_at: datetime = Field(description=LOCAL_TIME_HELP)
    ends_at: datetime = Field(description=LOCAL_TIME_HELP)
    venue: VenueIn | None = None
    online_url: AnyHttpUrl | None = None


class CancelIn(Strict):
    reason: Reason


class RecommendationIn(Strict):
    field_of_action_id: Key
    text: LongText


class ConcludeIn(Strict):
    summary: LongText
    recommendations: list[RecommendationIn] = Field(min_length=1, max_length=100)


class ResponseIn(Strict):
    response: Literal["accepted", "declined", "tentative"]


# ---------------------------------------------------------------------------- responses


class CountsOut(ResponseCounts):
    """The answers as the conference's events count them, and the undeliverable invitations."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True)  # always sent

    undeliverable: int = Field(description="Invitations whose last mail could not be delivered")


class DeliveryProblemOut(BaseModel):
    reason: str = Field(description="Why the mail failed, as the mail server said")
    failed_at: datetime = Field(description="UTC")
    address: str = Field(description="The address it failed for")


class InvitationOut(BaseModel):
    invitation_id: str
    name: str
    email: str
    institution: str | None
    group: StakeholderGroup
    source: str = Field(description="committee:<member id>, staff:<staff id> or external")
    response: str
    waitlisted: bool
    waitlist_position: int | None
    undeliverable: bool = Field(
        description="The last mail to this address failed; correct the address to send it again"
    )
    delivery_problem: DeliveryProblemOut | None
    response_url: str | None = Field(
        default=None, description="The personal response link; shown to writers only."
    )


class ReminderOut(BaseModel):
    offset_seconds: int = Field(description="How long before the start it is due")
    due_at: datetime
    state: ReminderState


class AgendaItemOut(BaseModel):
    title: str
    description: str | None
    field_of_action_id: str | None
    field_of_action_title: str | None


class RecommendationOut(BaseModel):
    field_of_action_id: str
    field_of_action_title: str
    text: str


class ConferenceOut(BaseModel):
    id: str
    network_id: str
    network_name: str
    title: str
    kind: ConferenceKind
    topic: str | None
    status: ConferenceStatus
    starts_at: datetime = Field(description="UTC")
    ends_at: datetime = Field(description="UTC")
    starts_at_local: datetime = Field(description="Europe/Berlin")
    ends_at_local: datetime = Field(description="Europe/Berlin")
    when: str = Field(description="German wording, as in the mails")
    venue: VenueIn | None
    online_url: str | None
    agenda: list[AgendaItemOut]
    capacity: int | None
    sequence: int
    counts: CountsOut
    invitations: list[InvitationOut] | None = Field(
        description="Who is invited and how they answered; null for those who may not see "
        "people (readers, other networks' offices): they have the counts"
    )
    reminders: list[ReminderOut]
    cancel_reason: str | None
    summary: str | None
    recommendations: list[RecommendationOut]
    version: int


class PreviewOut(BaseModel):
    """One invitee's invitation exactly as the notifications service writes it."""

    invitation_id: str
    recipient: str = Field(description="The address it goes to")
    subject: str
    text: str = Field(description="The plain-text part")
    html: str = Field(description="The HTML part")
    ics: str | None = Field(description="The calendar attachment (iCalendar, METHOD:REQUEST)")
    calendar_method: str | None


class InvitationAnswerOut(BaseModel):
    """What the holder of a response link sees."""

    conference_id: str
    title: str
    when: str
    status: ConferenceStatus
    invitation_id: str
    name: str
    response: str
    waitlisted: bool
    waitlist_position: int | None
    open_for_answers: bool


class NetworkViewOut(BaseModel):
    network_id: str
    name: str
    office_email: str | None
    agreement_active: bool
    committee: dict[str, str] | None = Field(
        description="member id to name; null for those who may not see people (readers, other "
        "networks' offices)"
    )
    staff: dict[str, str] | None = Field(
        description="staff id to name; null for those who may not see people"
    )
    fields_of_action: dict[str, str] = Field(description="field id to status")
