"""A delivery's events as outbox records: the one way, for the notifier and the dispatcher."""

from __future__ import annotations

from collections.abc import Sequence

from notifications.domain.delivery import Delivery
from rbn_shared.changes import Aggregate, Cause, outbox_records
from rbn_shared.events.base import EventPayload
from rbn_shared.events.registry import DISTRICT_KEY
from rbn_shared.outbox import OutboxRecord


def delivery_records(
    before: Delivery, events: Sequence[EventPayload], topic: str
) -> list[OutboxRecord]:
    """The events a change of `before` caused, at the positions after its `event_count`, keyed
    by its network (`district` for district mails), caused by the event it answers."""
    aggregate = Aggregate(before.delivery_id, before.network_id or DISTRICT_KEY, before.event_count)
    cause = Cause(before.correlation_id, causation_id=before.cause_event_id)
    return outbox_records(events, aggregate, cause, topic)
