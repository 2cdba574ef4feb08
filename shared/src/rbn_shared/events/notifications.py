"""Events the notifications service publishes (topic `notifications.events`, key: network id)."""

from __future__ import annotations

import uuid
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


NOTIFICATION_EVENTS: tuple[type[EventPayload], ...] = (NotificationSent, NotificationFailed)
