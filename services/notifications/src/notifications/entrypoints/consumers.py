"""What the service consumes: registry and conference events, each handed to the notifier.

The event types are the ones the rules table, the recipients projection and the district report
need; the consumer (rbn_shared.consumer) ignores all others.
"""

from __future__ import annotations

from typing import Any

from notifications.service_layer.notifier import Notifier
from rbn_shared.consumer import Handler
from rbn_shared.events import Envelope

REGISTRY_EVENT_TYPES = (
    "network-registered",
    "network-updated",
    "committee-member-added",
    "committee-member-updated",
    "committee-member-removed",
    "office-staff-assigned",
    "office-staff-removed",
    "field-of-action-adopted",
    "field-of-action-closed",
    "district-coordination-changed",
    "district-bulletin-published",
)

CONFERENCE_EVENT_TYPES = (
    "conference-scheduled",
    "conference-rescheduled",
    "conference-cancelled",
    "participant-invited",
    "participant-responded",
    "conference-reminder-due",
    "conference-concluded",
)


def event_handlers(notifier: Notifier, event_types: tuple[str, ...]) -> dict[str, Handler]:
    async def on_event(envelope: Envelope, payload: Any) -> None:
        await notifier.handle(envelope, payload)

    return dict.fromkeys(event_types, on_event)
