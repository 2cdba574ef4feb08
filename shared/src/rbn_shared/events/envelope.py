"""The envelope every event travels in, on the wire and in the outbox."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

EventType = Annotated[
    str, StringConstraints(pattern=r"^[a-z][a-z0-9]*(-[a-z0-9]+)*$", max_length=80)
]


def _as_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)


UtcDatetime = Annotated[AwareDatetime, AfterValidator(_as_utc)]


class Envelope(BaseModel):
    """One event: who says what happened, when, about which key, and why.

    `key` is the Kafka partition key (a network id, or `district` for the district coordination),
    so every event about one network lands on one partition, in order. `aggregate_id` names the
    producer's record that changed; `aggregate_version` is this event's position in that record's
    history (1, 2, 3, ...; strictly increasing): consumers use it to ignore stale or repeated
    events. `actor` is the audit trail: who asked for the change, never their name or address.
    """

    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: uuid.UUID
    type: EventType
    version: int = Field(ge=1)
    occurred_at: UtcDatetime
    producer: str = Field(min_length=1, max_length=80)
    correlation_id: str = Field(min_length=1, max_length=200)
    causation_id: str | None = Field(default=None, max_length=200)
    actor: str | None = Field(
        default=None,
        max_length=200,
        description="Who made the change: the signed-in person's or machine client's "
        "pseudonymous subject (the token's `sub`); absent when the system itself reacted.",
    )
    key: str = Field(min_length=1, max_length=200)
    aggregate_id: str = Field(min_length=1, max_length=200)
    aggregate_version: int = Field(ge=0)
    payload: dict[str, Any]

    def to_wire(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_wire(cls, body: bytes) -> Envelope:
        return cls.model_validate_json(body)

    def kafka_headers(self) -> dict[str, str]:
        """Headers that let a subscriber route or filter without parsing the body."""
        return {
            "event_id": str(self.event_id),
            "event_type": self.type,
            "event_version": str(self.version),
            "correlation_id": self.correlation_id,
            "content-type": "application/json",
        }


def utc_now() -> datetime:
    return datetime.now(UTC)
