"""The event catalogue: every event type, its payload model, version and producer, in one place."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

from rbn_shared.events.base import EventPayload
from rbn_shared.events.conferences import CONFERENCE_EVENTS
from rbn_shared.events.envelope import Envelope, utc_now
from rbn_shared.events.notifications import NOTIFICATION_EVENTS
from rbn_shared.events.registry import REGISTRY_EVENTS
from rbn_shared.events.topics import CONFERENCES, NOTIFICATIONS, REGISTRY


@dataclass(frozen=True)
class EventSpec:
    event_type: str
    version: int
    model: type[EventPayload]
    producer: str


def _specs(producer: str, models: tuple[type[EventPayload], ...]) -> list[EventSpec]:
    return [EventSpec(m.event_type, m.event_version, m, producer) for m in models]


CATALOGUE: dict[str, EventSpec] = {
    spec.event_type: spec
    for spec in (
        _specs(REGISTRY, REGISTRY_EVENTS)
        + _specs(CONFERENCES, CONFERENCE_EVENTS)
        + _specs(NOTIFICATIONS, NOTIFICATION_EVENTS)
    )
}


class UnknownEvent(ValueError):
    """The envelope names a type or version this code does not understand."""


def spec_of(envelope: Envelope) -> EventSpec:
    spec = CATALOGUE.get(envelope.type)
    if spec is None:
        raise UnknownEvent(f"unknown event type {envelope.type!r}")
    if envelope.version != spec.version:
        raise UnknownEvent(
            f"{envelope.type} version {envelope.version} is not understood "
            f"(this code reads version {spec.version})"
        )
    return spec


def parse_payload(envelope: Envelope) -> EventPayload:
    """The typed payload of an envelope; raises UnknownEvent or pydantic's ValidationError."""
    return spec_of(envelope).model.model_validate(envelope.payload)


def new_event(
    payload: EventPayload,
    *,
    key: str,
    aggregate_id: str,
    aggregate_version: int,
    correlation_id: str,
    causation_id: str | None = None,
    actor: str | None = None,
    occurred_at: datetime | None = None,
) -> Envelope:
    """Wrap a payload in a fresh envelope, stamped with its catalogue entry."""
    spec = CATALOGUE[payload.event_type]
    return Envelope(
        event_id=uuid.uuid4(),
        type=spec.event_type,
        version=spec.version,
        occurred_at=occurred_at or utc_now(),
        producer=spec.producer,
        correlation_id=correlation_id,
        causation_id=causation_id,
        actor=actor,
        key=key,
        aggregate_id=aggregate_id,
        aggregate_version=aggregate_version,
        payload=payload.model_dump(mode="json"),
    )
