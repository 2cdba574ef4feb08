"""From what the domain says happened to the records an aggregate's write carries: one idiom for
every service.

A domain command returns the event payloads it caused (typed, pure). The service layer hands them,
with the aggregate's identity and the cause of the change, to `outbox_records`, which wraps each in
an envelope and an outbox record for the aggregate's one version-guarded write.

`aggregate_version` means the same everywhere: the event's position in its aggregate's history
(1, 2, 3, ...), counted per aggregate in the stored `event_count`. A change that causes three
events gives them three consecutive positions, so a reader that keeps the highest position seen
per aggregate drops repeats and stale events and never one of several events of one change.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from rbn_shared.events.base import EventPayload
from rbn_shared.events.catalogue import new_event
from rbn_shared.events.envelope import utc_now
from rbn_shared.outbox import OutboxRecord

Clock = Callable[[], datetime]
"""The one clock type: `utc_now`, or a shifted one in tests and drills (`shifted_clock`)."""


def shifted_clock(seconds: float) -> Clock:
    """The wall clock moved forward by `seconds` (for drills and tests only)."""
    shift = timedelta(seconds=seconds)

    def now() -> datetime:
        return utc_now() + shift

    return now


@dataclass(frozen=True)
class Aggregate:
    """Whose history the events extend: its id, its Kafka key, and how many events it had."""

    aggregate_id: str
    key: str
    event_count: int


@dataclass(frozen=True)
class Cause:
    """Why a change happens: the HTTP request's correlation id, or the event that caused it;
    and who asked for it (`actor`: the caller's pseudonymous subject, for the audit trail)."""

    correlation_id: str
    causation_id: str | None = None
    actor: str | None = None


def outbox_records(
    events: Sequence[EventPayload],
    aggregate: Aggregate,
    cause: Cause,
    topic: str,
    *,
    occurred_at: datetime | None = None,
) -> list[OutboxRecord]:
    """The events as outbox records, at the positions after the aggregate's `event_count`."""
    return [
        OutboxRecord.of(
            new_event(
                payload,
                key=aggregate.key,
                aggregate_id=aggregate.aggregate_id,
                aggregate_version=aggregate.event_count + position,
                correlation_id=cause.correlation_id,
                causation_id=cause.causation_id,
                actor=cause.actor,
                occurred_at=occurred_at,
            ),
            topic,
        )
        for position, payload in enumerate(events, start=1)
    ]
