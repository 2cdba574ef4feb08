"""The delivery's life: pending to sent or failed, retries with backoff, attempts in doubt."""

from __future__ import annotations

import copy
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from notifications.adapters.documents import (
    delivery_event_count,
    delivery_from_document,
    delivery_to_document,
    message_from_document,
    message_to_document,
)
from notifications.domain.delivery import (
    Delivery,
    DeliveryStatus,
    InDoubtPolicy,
    RenderedMessage,
    RetryPolicy,
    delivery_id_for,
)
from notifications.domain.rules import Category
from notifications.service_layer.delivery_events import delivery_records
from rbn_shared.events import Envelope
from rbn_shared.events.notifications import NotificationFailed, NotificationSent

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
CAUSE = uuid.uuid4()
RETRY = RetryPolicy(max_attempts=3, base_seconds=10, max_seconds=25)


def pending() -> Delivery:
    return Delivery(
        delivery_id=delivery_id_for(CAUSE, "anna@schule.example.org"),
        cause_event_id=str(CAUSE),
        cause_event_type="conference-scheduled",
        correlation_id="corr-1",
        network_id="bochum",
        recipient="anna@schule.example.org",
        template="conference-invitation",
        category=Category.ESSENTIAL,
        subject="[Bildungsnetzwerk Bochum] Einladung",
        status=DeliveryStatus.PENDING,
        created_at=NOW,
        next_attempt_at=NOW,
    )


def test_the_key_is_the_pair_of_event_and_recipient() -> None:
    assert delivery_id_for(CAUSE, "Anna@Schule.example.org") == delivery_id_for(
        CAUSE, "anna@schule.example.org"
    )
    assert delivery_id_for(CAUSE, "a@x.de") != delivery_id_for(CAUSE, "b@x.de")
    assert delivery_id_for(CAUSE, "a@x.de") != delivery_id_for(uuid.uuid4(), "a@x.de")


def test_sent_publishes_notification_sent_once() -> None:
    delivery = pending()
    (event,) = delivery.sent(1, NOW)
    assert delivery.status is DeliveryStatus.SENT
    assert isinstance(event, NotificationSent)
    assert event.recipient == "anna@schule.example.org"
    assert event.cause_event_id == CAUSE
    assert event.attempts == 1
    sent = copy.copy(delivery)
    assert delivery.sent(2, NOW) == []
    assert delivery == sent


def test_transient_failures_back_off_then_give_up() -> None:
    rng = random.Random(1)
    delivery = pending()
    assert delivery.transient_failure(1, "451 later", NOW, RETRY, rng) == []
    assert delivery.is_open(), "still pending"
    assert delivery.attempts == 1
    assert delivery.next_attempt_at is not None
    assert timedelta(seconds=5) <= delivery.next_attempt_at - NOW <= timedelta(seconds=10)
    delivery.transient_failure(2, "451 later", NOW, RETRY, rng)
    assert delivery.next_attempt_at is not None
    assert timedelta(seconds=10) <= delivery.next_attempt_at - NOW <= timedelta(seconds=20)
    (failed,) = delivery.transient_failure(3, "451 later", NOW, RETRY, rng)
    assert delivery.status is DeliveryStatus.FAILED
    assert isinstance(failed, NotificationFailed)
    assert failed.permanent is False
    assert failed.attempts == 3


def test_backoff_is_capped_and_jittered() -> None:
    delays = {RETRY.delay(10, random.Random(seed)) for seed in range(20)}
    assert all(timedelta(seconds=12.5) <= d <= timedelta(seconds=25) for d in delays)
    assert len(delays) > 1


def test_a_refusal_fails_at_once() -> None:
    delivery = pending()
    (event,) = delivery.permanent_failure(1, "550 no such mailbox", NOW)
    assert delivery.status is DeliveryStatus.FAILED
    assert isinstance(event, NotificationFailed)
    assert event.permanent is True
    assert event.reason == "550 no such mailbox"


@pytest.mark.parametrize(
    ("policy", "status", "published"),
    [
        (InDoubtPolicy.RESEND, DeliveryStatus.PENDING, False),
        (InDoubtPolicy.GIVE_UP, DeliveryStatus.FAILED, True),
    ],
)
def test_an_interrupted_attempt_follows_the_in_doubt_policy(
    policy: InDoubtPolicy, status: DeliveryStatus, published: bool
) -> None:
    delivery = pending()
    events = delivery.in_doubt(1, NOW, policy)
    assert delivery.status is status
    assert delivery.attempts == 1, "the next claim is for attempt 2"
    assert bool(events) is published
    after = copy.copy(delivery)
    assert delivery.in_doubt(1, NOW, policy) == [], "accounted for once"
    assert delivery == after


def test_storage_round_trip() -> None:
    delivery = pending()
    delivery.transient_failure(1, "451", NOW, RETRY, random.Random(2))
    assert delivery_from_document(delivery_to_document(delivery)) == delivery


def test_an_event_takes_the_next_position_of_the_delivery() -> None:
    delivery = pending()
    assert delivery.transient_failure(1, "451 later", NOW, RETRY, random.Random(3)) == []
    events = delivery.sent(2, NOW)
    assert len(events) == 1
    (record,) = delivery_records(delivery, events, "rbn.notifications.events", event_count=0)
    envelope = Envelope.from_wire(str(record["value"]).encode())
    assert (envelope.aggregate_id, envelope.aggregate_version) == (delivery.delivery_id, 1)
    assert (envelope.key, envelope.correlation_id) == ("bochum", "corr-1")
    assert envelope.causation_id == str(CAUSE)
    (later,) = delivery_records(delivery, events, "rbn.notifications.events", event_count=1)
    assert Envelope.from_wire(str(later["value"]).encode()).aggregate_version == 2


def test_the_record_keeps_no_rendered_message() -> None:
    document = delivery_to_document(pending())
    assert "message" not in document
    assert "message_id" not in document
    message = RenderedMessage(pending().delivery_id, "<x@y>", "Subject: x\r\n\r\nHallo\r\n")
    assert message_from_document(message_to_document(message)) == message


def test_a_record_stored_before_event_count_knows_its_one_event() -> None:
    sent = pending()
    sent.sent(1, NOW)
    assert "event_count" not in delivery_to_document(sent), "the repository counts the events"
    assert delivery_event_count(delivery_to_document(sent)) == 1
    assert delivery_event_count(delivery_to_document(pending())) == 0
    assert delivery_event_count({**delivery_to_document(sent), "event_count": 3}) == 3
