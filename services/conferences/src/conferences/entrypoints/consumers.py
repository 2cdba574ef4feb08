"""The events this service consumes.

Registry events (topic `<prefix>registry.events`): each one is folded into the network projection
(guarded by the registry record's version, so a repeat or a stale event changes nothing); events
that change who belongs to a network then bring the invitee lists of its planned conferences up
to date, with the event as their cause.

Delivery feedback (topic `<prefix>notifications.events`): a failed mail to an invitee marks the
invitation undeliverable, so the office sees it and can correct the address.
"""

from __future__ import annotations

from typing import Any

from conferences.domain.projection import PROJECTED_EVENT_TYPES, ROSTER_EVENT_TYPES
from conferences.service_layer.services import Cause, ConferenceService, fold_registry_event
from rbn_shared.consumer import Handler
from rbn_shared.events import Envelope
from rbn_shared.events.notifications import NotificationFailed
from rbn_shared.logging import get_logger

log = get_logger(__name__)


def registry_handlers(service: ConferenceService) -> dict[str, Handler]:
    async def on_registry_event(envelope: Envelope, payload: Any) -> None:
        changed, view = await fold_registry_event(service.networks, envelope, payload)
        if envelope.type in ROSTER_EVENT_TYPES:
            # Runs on a repeat as well: a crash may have come between projection and conferences.
            invited = await service.follow_roster(
                payload.network.id,
                Cause(correlation_id=envelope.correlation_id, causation_id=str(envelope.event_id)),
                view,
            )
            if invited:
                log.info("invitee lists followed the registry", invited=invited)
        if not changed:
            log.debug("registry event was stale or repeated; projection unchanged")

    return dict.fromkeys(PROJECTED_EVENT_TYPES, on_registry_event)


def delivery_feedback_handlers(service: ConferenceService) -> dict[str, Handler]:
    async def on_notification_failed(envelope: Envelope, payload: Any) -> None:
        if not isinstance(payload, NotificationFailed):
            return
        if payload.conference_id is None or payload.invitation_id is None:
            return  # a mail to no invitee (the office, a bulletin): nothing to mark here
        marked = await service.mark_undeliverable(
            payload.conference_id,
            payload.invitation_id,
            recipient=payload.recipient,
            reason=payload.reason,
            failed_at=payload.failed_at,
            cause=Cause(
                correlation_id=envelope.correlation_id, causation_id=str(envelope.event_id)
            ),
        )
        if marked:
            log.info(
                "invitation marked undeliverable",
                conference_id=payload.conference_id,
                invitation_id=payload.invitation_id,
            )

    return {NotificationFailed.event_type: on_notification_failed}
