"""Events the notifications service publishes (topic `notifications.events`).

Key: the network id; for a calendar reply the conference id its token names, so that one
conference's replies arrive in order.
"""

from __future__ import annotations

import uuid
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from rbn_shared.addresses import EventAddress
from rbn_shared.events.base import EventPayload, Identifier, Name, Text
from rbn_shared.events.envelope import UtcDatetime


class Delivery(EventPayload):
    delivery_id: Identifier
    cause_event_id: uuid.UUID = Field(description="The event this mail was written for.")
    cause_event_type: Name
    network_id: Identifier | None = None
    recipient: EventAddress
    conference_id: Identifier | None = Field(
        default=None, description="For a mail about a conference: which one."
    )
    invitation_id: Identifier | None = Field(
        default=None, description="For a mail to an invitee: their invitation."
    )
    template: Name
    subject: Name
    attempts: int = Field(ge=1)


class NotificationSent(Delivery):
    event_type: ClassVar[str] = "notification-sent"

    sent_at: UtcDatetime


class NotificationFailed(Delivery):
    event_type: ClassVar[str] = "notification-failed"

    failed_at: UtcDatetime
    reason: Text
    permanent: bool = Field(description="True for a refusal (5xx), false when retries ran out.")


class CalendarAnswer(StrEnum):
    """The PARTSTAT of an iMIP REPLY, in the terms of a conference's answers."""

    ACCEPTED = "accepted"
    DECLINED = "declined"
    TENTATIVE = "tentative"


class CalendarReplyReceived(EventPayload):
    """An invitee's calendar answered an invitation (iMIP REPLY, RFC 6047) to its ORGANIZER
    address. Nothing here is verified but its form: the conferences service checks the token."""

    event_type: ClassVar[str] = "calendar-reply-received"

    reply_token: Identifier = Field(
        description="The signed token from the organiser address the reply was sent to "
        "(`antwort+<token>@…`), as the conferences service issued it."
    )
    uid: Name = Field(description="The calendar entry's UID, e.g. conference-<id>@….")
    attendee: EventAddress = Field(description="The ATTENDEE address the reply answers for.")
    response: CalendarAnswer = Field(description="PARTSTAT ACCEPTED, DECLINED or TENTATIVE.")
    sequence: int = Field(ge=0, description="The SEQUENCE of the entry the calendar answered.")
    message_id: Name = Field(description="The inbound mail's Message-ID; one event per mail.")
    received_at: UtcDatetime


NOTIFICATION_EVENTS: tuple[type[EventPayload], ...] = (
    NotificationSent,
    NotificationFailed,
    CalendarReplyReceived,
)
