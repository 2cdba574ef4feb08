"""One mail to one recipient for one cause: its record and its life.

    pending ──accepted by the SMTP server──▶ sent
       │  └─transient failure (4xx, no connection): stays pending, retried later with backoff
       ├─refused for good (5xx), or retries used up──▶ failed
    skipped: the recipient opted out of this kind of mail; never sent, never pending
    failed from the start: the address was refused, or the mail could not be composed; stored
      with its reason and its `notification-failed` event, so one bad value fails one delivery

The delivery id is made of the cause event's id and the recipient's address, and it is the
record's unique key: a second delivery for the same pair cannot be stored, so an event handled
twice (redelivery, restart, a second instance) never leads to a second mail.

The record holds what changes (status, attempts, times, errors) and what the API and the events
show; the rendered message, which never changes, is a `RenderedMessage` of its own, stored once
under the same id, so that a status change never rewrites it. Each transition returns the new
state and the event it caused (or None); the new state counts it in `event_count`, the
position of the delivery's last event (the `aggregate_version` of its events).
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from notifications.domain.rules import Category
from rbn_shared.events.notifications import NotificationFailed, NotificationSent

SUBJECT_LIMIT = 200  # what the notification events carry


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"


class InDoubtPolicy(StrEnum):
    """What to do when a sender vanished mid-attempt and nobody knows if the server took the mail.

    `resend` prefers a possible duplicate (same Message-ID, same calendar UID and SEQUENCE, so
    calendars update rather than duplicate) over a lost invitation; `give_up` prefers a possible
    loss, marked failed and published, over any duplicate.
    """

    RESEND = "resend"
    GIVE_UP = "give_up"


DELIVERY_NAMESPACE = uuid.UUID("6f1d7a52-3c55-4b53-9a0c-1f6b2f5e8d11")


def delivery_id_for(cause_event_id: uuid.UUID | str, recipient: str) -> str:
    """The unique key of (cause event, recipient), short enough for ids and headers."""
    return str(uuid.uuid5(DELIVERY_NAMESPACE, f"{cause_event_id}:{recipient.lower()}"))


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int
    base_seconds: float
    max_seconds: float

    def delay(self, attempt: int, rng: random.Random | None = None) -> timedelta:
        """Exponential backoff with jitter: between half and all of base·2^(attempt-1), capped."""
        ceiling = min(self.max_seconds, self.base_seconds * 2 ** max(attempt - 1, 0))
        spread = (rng or random).uniform(ceiling / 2, ceiling)
        return timedelta(seconds=spread)


@dataclass(frozen=True)
class Delivery:
    delivery_id: str
    cause_event_id: str
    cause_event_type: str
    correlation_id: str
    network_id: str | None
    recipient: str
    template: str
    category: Category
    subject: str
    status: DeliveryStatus
    created_at: datetime
    attempts: int = 0
    next_attempt_at: datetime | None = None
    last_error: str | None = None
    in_doubt_attempts: int = 0
    sent_at: datetime | None = None
    failed_at: datetime | None = None
    conference_id: str | None = None  # for a mail about a conference
    invitation_id: str | None = None  # for a mail to an invitee
    needs_smtputf8: bool = False  # the address's local part is not ASCII (RFC 6531/6532)
    consumer: str | None = None  # the consumer whose event caused it (for the metrics)
    event_count: int = 0  # how many events the delivery has caused (one at most, in practice)

    @property
    def next_attempt_number(self) -> int:
        return self.attempts + 1

    def is_open(self) -> bool:
        return self.status is DeliveryStatus.PENDING

    # ------------------------------------------------------------------ transitions

    def sent(self, attempt: int, now: datetime) -> tuple[Delivery, NotificationSent | None]:
        if not self.is_open():
            return self, None  # already settled (another attempt got there first)
        done = replace(
            self,
            status=DeliveryStatus.SENT,
            attempts=max(self.attempts, attempt),
            sent_at=now,
            next_attempt_at=None,
            last_error=None,
            event_count=self.event_count + 1,
        )
        return done, NotificationSent(**done._event_fields(), sent_at=now)

    def transient_failure(
        self,
        attempt: int,
        reason: str,
        now: datetime,
        policy: RetryPolicy,
        rng: random.Random | None = None,
    ) -> tuple[Delivery, NotificationFailed | None]:
        if not self.is_open():
            return self, None
        attempts = max(self.attempts, attempt)
        if attempts >= policy.max_attempts:
            return self._failed(
                attempts, f"{reason} (gave up after {attempts} attempts)", now, False
            )
        retry = replace(
            self,
            attempts=attempts,
            last_error=reason,
            next_attempt_at=now + policy.delay(attempts, rng),
        )
        return retry, None

    def permanent_failure(
        self, attempt: int, reason: str, now: datetime
    ) -> tuple[Delivery, NotificationFailed | None]:
        if not self.is_open():
            return self, None
        return self._failed(max(self.attempts, attempt), reason, now, True)

    def failed_before_sending(
        self, reason: str, now: datetime
    ) -> tuple[Delivery, NotificationFailed | None]:
        """A delivery that cannot be sent at all (address refused, mail not composed)."""
        failed = replace(
            self,
            status=DeliveryStatus.FAILED,
            last_error=reason,
            failed_at=now,
            next_attempt_at=None,
        )
        try:
            event = NotificationFailed(
                **failed._event_fields(attempts=1),
                failed_at=now,
                reason=reason[:20_000],
                permanent=True,
            )
        except ValueError:  # pydantic's ValidationError: a recipient text no event can carry
            return failed, None
        return replace(failed, event_count=self.event_count + 1), event

    def in_doubt(
        self, attempt: int, now: datetime, policy: InDoubtPolicy
    ) -> tuple[Delivery, NotificationFailed | None]:
        """An attempt began, its sender vanished, and the record never learned the outcome."""
        if not self.is_open() or self.attempts >= attempt:
            return self, None  # settled, or this attempt was already accounted for
        reason = (
            f"attempt {attempt} was interrupted after it started; the SMTP server may or may "
            "not have accepted the mail"
        )
        if policy is InDoubtPolicy.GIVE_UP:
            return self._failed(attempt, reason, now, False)
        resend = replace(
            self,
            attempts=attempt,
            in_doubt_attempts=self.in_doubt_attempts + 1,
            last_error=reason,
            next_attempt_at=now,
        )
        return resend, None

    def _failed(
        self, attempts: int, reason: str, now: datetime, permanent: bool
    ) -> tuple[Delivery, NotificationFailed]:
        failed = replace(
            self,
            status=DeliveryStatus.FAILED,
            attempts=attempts,
            last_error=reason,
            failed_at=now,
            next_attempt_at=None,
            event_count=self.event_count + 1,
        )
        event = NotificationFailed(
            **failed._event_fields(attempts=max(attempts, 1)),
            failed_at=now,
            reason=reason[:20_000],
            permanent=permanent,
        )
        return failed, event

    def _event_fields(self, attempts: int | None = None) -> dict[str, Any]:
        return {
            "delivery_id": self.delivery_id,
            "cause_event_id": uuid.UUID(self.cause_event_id),
            "cause_event_type": self.cause_event_type,
            "network_id": self.network_id,
            "recipient": self.recipient,
            "conference_id": self.conference_id,
            "invitation_id": self.invitation_id,
            "template": self.template,
            "subject": self.subject[:SUBJECT_LIMIT],
            "attempts": attempts if attempts is not None else max(self.attempts, 1),
        }

    # ------------------------------------------------------------------ storage form

    def to_document(self) -> dict[str, Any]:
        return {
            "_id": self.delivery_id,
            "cause_event_id": self.cause_event_id,
            "cause_event_type": self.cause_event_type,
            "correlation_id": self.correlation_id,
            "network_id": self.network_id,
            "recipient": self.recipient,
            "template": self.template,
            "category": self.category.value,
            "subject": self.subject,
            "status": self.status.value,
            "created_at": self.created_at,
            "attempts": self.attempts,
            "next_attempt_at": self.next_attempt_at,
            "last_error": self.last_error,
            "in_doubt_attempts": self.in_doubt_attempts,
            "sent_at": self.sent_at,
            "failed_at": self.failed_at,
            "conference_id": self.conference_id,
            "invitation_id": self.invitation_id,
            "needs_smtputf8": self.needs_smtputf8,
            "consumer": self.consumer,
            "event_count": self.event_count,
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> Delivery:
        status = DeliveryStatus(doc["status"])
        # Records stored before `event_count`: a settled one (sent, failed) caused its one event.
        settled = status in (DeliveryStatus.SENT, DeliveryStatus.FAILED)
        return cls(
            delivery_id=str(doc["_id"]),
            cause_event_id=str(doc["cause_event_id"]),
            cause_event_type=str(doc["cause_event_type"]),
            correlation_id=str(doc["correlation_id"]),
            network_id=doc.get("network_id"),
            recipient=str(doc["recipient"]),
            template=str(doc["template"]),
            category=Category(doc["category"]),
            subject=str(doc["subject"]),
            status=status,
            created_at=doc["created_at"],
            attempts=int(doc.get("attempts", 0)),
            next_attempt_at=doc.get("next_attempt_at"),
            last_error=doc.get("last_error"),
            in_doubt_attempts=int(doc.get("in_doubt_attempts", 0)),
            sent_at=doc.get("sent_at"),
            failed_at=doc.get("failed_at"),
            conference_id=doc.get("conference_id"),
            invitation_id=doc.get("invitation_id"),
            needs_smtputf8=bool(doc.get("needs_smtputf8", False)),
            consumer=doc.get("consumer"),
            event_count=int(doc.get("event_count", 1 if settled else 0)),
        )


@dataclass(frozen=True)
class RenderedMessage:
    """A delivery's mail as rendered: written once, before the delivery, under the same id, and
    sent as it is on every attempt (the same bytes, the same Message-ID)."""

    delivery_id: str
    message_id: str
    text: str

    def to_document(self) -> dict[str, Any]:
        return {"_id": self.delivery_id, "message_id": self.message_id, "text": self.text}

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> RenderedMessage:
        return cls(str(doc["_id"]), str(doc["message_id"]), str(doc["text"]))
