"""A delivery's events as outbox records: the one way, for the notifier and the dispatcher."""

from __future__ import annotations

from collections.abc import Sequence

from notifications.domain.delivery import Delivery
from rbn_shared.changes import Aggregate, Cause, outbox_records
from rbn_shared.events.base import EventPayload
from rbn_shared.events.registry import DISTRICT_KEY
from rbn_shared.outbox import OutboxRecord


def delivery_records(
    delivery: Delivery, events: Sequence[EventPayload], topic: str, *, event_count: int
) -> list[OutboxRecord]:
    """The events a change of `delivery` caused, at the positions after the `event_count` it
    had caused before (0 for a new one), keyed by its network (`district` for district mails),
    caused by the event it answers."""
    aggregate = Aggregate(delivery.delivery_id, delivery.network_id or DISTRICT_KEY, event_count)
    cause = Cause(delivery.correlation_id, causation_id=delivery.cause_event_id)
    return outbox_records(events, aggregate, cause, topic)
