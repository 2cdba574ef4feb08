"""One mail to one recipient for one cause: its record and its life.

    pending ──accepted by the SMTP server──▶ sent
       │  └─transient failure (4xx, no connection): stays pending, retried later with backoff
       ├─refused for good (5xx), or retries used up──▶ failed
    skipped: the recipient opted out of this kind of mail; never sent, never pending
    pending ──the recipient was erased (Art. 17)──▶ cancelled: never sent, no event
    failed from the start: the address was refused, or the mail could not be composed; stored
      with its reason and its `notification-failed` event, so one bad value fails one delivery

The delivery id is made of the cause event's id and the recipient's address, and it is the
record's unique key: a second delivery for the same pair cannot be stored, so an event handled
twice (redelivery, restart, a second instance) never leads to a second mail.

The record holds what changes (status, attempts, times, errors) and what the API and the events
show; the rendered message, which never changes, is a `RenderedMessage` of its own, stored once
under the same id, so that a status change never rewrites it. Each transition changes the
delivery and returns the events it caused: `notification-sent` or `notification-failed` once
it settles, none for a retry or for an outcome that comes after it settled.
"""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from notifications.domain.rules import Category
from rbn_shared.events.base import EventPayload
from rbn_shared.events.notifications import NotificationFailed, NotificationSent

SUBJECT_LIMIT = 200  # what the notification events carry


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"
    SKIPPED = "skipped"
    CANCELLED = "cancelled"  # withdrawn before sending: its recipient was erased


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


class InDoubtPolicy(StrEnum):
    """What to do when a sender vanished mid-attempt and nobody knows if the server took the mail.

    `resend` prefers a possible duplicate (same Message-ID, same calendar UID and SEQUENCE, so
    calendars update rather than duplicate) over a lost invitation; `give_up` prefers a possible
    loss, marked failed and published, over any duplicate.
    """

    RESEND = "resend"
    GIVE_UP = "give_up"


@dataclass
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
    cancelled_at: datetime | None = None
    settled_at: datetime | None = (
        None  # sent, finally failed or cancelled: retention counts from it
    )

    @property
    def next_attempt_number(self) -> int:
        return self.attempts + 1

    def is_open(self) -> bool:
        return self.status is DeliveryStatus.PENDING

    # ------------------------------------------------------------------ transitions

    def sent(self, attempt: int, now: datetime) -> list[EventPayload]:
        if not self.is_open():
            return []  # already settled (another attempt got there first)
        self.status = DeliveryStatus.SENT
        self.attempts = max(self.attempts, attempt)
        self.sent_at = self.settled_at = now
        self.next_attempt_at = None
        self.last_error = None
        return [NotificationSent(**self._event_fields(), sent_at=now)]

    def transient_failure(
        self,
        attempt: int,
        reason: str,
        now: datetime,
        policy: RetryPolicy,
        rng: random.Random | None = None,
    ) -> list[EventPayload]:
        if not self.is_open():
            return []
        self.attempts = max(self.attempts, attempt)
        if self.attempts >= policy.max_attempts:
            gave_up = f"{reason} (gave up after {self.attempts} attempts)"
            return self._fail(gave_up, now, permanent=False)
        self.last_error = reason
        self.next_attempt_at = now + policy.delay(self.attempts, rng)
        return []

    def permanent_failure(self, attempt: int, reason: str, now: datetime) -> list[EventPayload]:
        if not self.is_open():
            return []
        self.attempts = max(self.attempts, attempt)
        return self._fail(reason, now, permanent=True)

    def failed_before_sending(self, reason: str, now: datetime) -> list[EventPayload]:
        """A delivery that cannot be sent at all (address refused, mail not composed)."""
        try:
            return self._fail(reason, now, permanent=True)
        except ValueError:  # pydantic's ValidationError: a recipient text no event can carry
            return []  # failed all the same, without an event

    def in_doubt(self, attempt: int, now: datetime, policy: InDoubtPolicy) -> list[EventPayload]:
        """An attempt began, its sender vanished, and the record never learned the outcome."""
        if not self.is_open() or self.attempts >= attempt:
            return []  # settled, or this attempt was already accounted for
        reason = (
            f"attempt {attempt} was interrupted after it started; the SMTP server may or may "
            "not have accepted the mail"
        )
        self.attempts = attempt
        if policy is InDoubtPolicy.GIVE_UP:
            return self._fail(reason, now, permanent=False)
        self.in_doubt_attempts += 1
        self.last_error = reason
        self.next_attempt_at = now
        return []

    def cancel(self, now: datetime) -> list[EventPayload]:
        """Withdraw a mail not sent yet, for good; no event (its recipient was erased, and
        nobody is to learn of a mail that never went out)."""
        if not self.is_open():
            return []
        self.status = DeliveryStatus.CANCELLED
        self.cancelled_at = self.settled_at = now
        self.next_attempt_at = None
        self.last_error = "withdrawn: the recipient was erased"
        return []

    def anonymise(self, placeholder: str, name: str, needles: list[str]) -> None:
        """Replace the recipient by `placeholder` and any of `needles` (the person's name and
        address, casefolded) in the subject line and the error by `name`; status, times and
        counts stay what they were."""
        self.recipient = placeholder
        self.subject = _replaced(self.subject, needles, name)
        if self.last_error is not None:
            self.last_error = _replaced(self.last_error, needles, name)

    def mentions(self, needles: list[str]) -> bool:
        texts = (self.recipient, self.subject, self.last_error or "")
        return any(n.casefold() in t.casefold() for t in texts for n in needles if n)

    def _fail(self, reason: str, now: datetime, *, permanent: bool) -> list[EventPayload]:
        """Settle as failed (first: the state holds even if no event can carry the reason)."""
        self.status = DeliveryStatus.FAILED
        self.last_error = reason
        self.failed_at = self.settled_at = now
        self.next_attempt_at = None
        return [
            NotificationFailed(
                **self._event_fields(), failed_at=now, reason=reason[:20_000], permanent=permanent
            )
        ]

    def _event_fields(self) -> dict[str, Any]:
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
            "attempts": max(self.attempts, 1),  # a mail failed before sending counts one
        }


def _replaced(text: str, needles: list[str], by: str) -> str:
    for needle in sorted((n for n in needles if n), key=len, reverse=True):
        text = re.sub(re.escape(needle), by, text, flags=re.IGNORECASE)
    return text


@dataclass(frozen=True)
class RenderedMessage:
    """A delivery's mail as rendered: written once, before the delivery, under the same id, and
    sent as it is on every attempt (the same bytes, the same Message-ID)."""

    delivery_id: str
    message_id: str
    text: str
