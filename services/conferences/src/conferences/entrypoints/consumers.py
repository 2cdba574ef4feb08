"""Registry events this service consumes (topic `<prefix>registry.events`).

Each one is folded into the network projection (guarded by the registry record's version, so a
repeat or a stale event changes nothing); events that change who belongs to a network then bring
the invitee lists of its planned conferences up to date, with the event as their cause.
"""

from __future__ import annotations

from typing import Any

from conferences.domain.projection import PROJECTED_EVENT_TYPES, ROSTER_EVENT_TYPES
from conferences.service_layer.services import Cause, ConferenceService, fold_registry_event
from rbn_shared.consumer import Handler
from rbn_shared.events import Envelope
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
