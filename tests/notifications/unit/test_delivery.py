"""The delivery's life: pending to sent or failed, retries with backoff, attempts in doubt."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

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
    sent, event = pending().sent(1, NOW)
    assert sent.status is DeliveryStatus.SENT
    assert event is not None
    assert event.recipient == "anna@schule.example.org"
    assert event.cause_event_id == CAUSE
    assert event.attempts == 1
    again, second = sent.sent(2, NOW)
    assert again == sent
    assert second is None


def test_transient_failures_back_off_then_give_up() -> None:
    rng = random.Random(1)
    first, event = pending().transient_failure(1, "451 later", NOW, RETRY, rng)
    assert event is None
    assert first.status is DeliveryStatus.PENDING
    assert first.attempts == 1
    assert first.next_attempt_at is not None
    assert timedelta(seconds=5) <= first.next_attempt_at - NOW <= timedelta(seconds=10)
    second, _ = first.transient_failure(2, "451 later", NOW, RETRY, rng)
    assert second.next_attempt_at is not None
    assert timedelta(seconds=10) <= second.next_attempt_at - NOW <= timedelta(seconds=20)
    third, failed = second.transient_failure(3, "451 later", NOW, RETRY, rng)
    assert third.status is DeliveryStatus.FAILED
    assert failed is not None
    assert failed.permanent is False
    assert failed.attempts == 3


def test_backoff_is_capped_and_jittered() -> None:
    delays = {RETRY.delay(10, random.Random(seed)) for seed in range(20)}
    assert all(timedelta(seconds=12.5) <= d <= timedelta(seconds=25) for d in delays)
    assert len(delays) > 1


def test_a_refusal_fails_at_once() -> None:
    failed, event = pending().permanent_failure(1, "550 no such mailbox", NOW)
    assert failed.status is DeliveryStatus.FAILED
    assert event is not None
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
    after, event = pending().in_doubt(1, NOW, policy)
    assert after.status is status
    assert after.attempts == 1, "the next claim is for attempt 2"
    assert (event is not None) is published
    assert after.in_doubt(1, NOW, policy) == (after, None), "accounted for once"


def test_storage_round_trip() -> None:
    delivery, _ = pending().transient_failure(1, "451", NOW, RETRY, random.Random(2))
    assert Delivery.from_document(delivery.to_document()) == delivery


def test_an_event_takes_the_next_position_of_the_delivery() -> None:
    retried, none = pending().transient_failure(1, "451 later", NOW, RETRY, random.Random(3))
    assert (none, retried.event_count) == (None, 0), "no event, no position"
    sent, event = retried.sent(2, NOW)
    assert event is not None
    assert sent.event_count == 1
    (record,) = delivery_records(retried, [event], "rbn.notifications.events")
    envelope = Envelope.from_wire(str(record["value"]).encode())
    assert (envelope.aggregate_id, envelope.aggregate_version) == (sent.delivery_id, 1)
    assert (envelope.key, envelope.correlation_id) == ("bochum", "corr-1")
    assert envelope.causation_id == str(CAUSE)


def test_the_record_keeps_no_rendered_message() -> None:
    document = pending().to_document()
    assert "message" not in document
    assert "message_id" not in document
    message = RenderedMessage(pending().delivery_id, "<x@y>", "Subject: x\r\n\r\nHallo\r\n")
    assert RenderedMessage.from_document(message.to_document()) == message


def test_a_record_stored_before_event_count_knows_its_one_event() -> None:
    sent, _ = pending().sent(1, NOW)
    old_form = {k: v for k, v in sent.to_document().items() if k != "event_count"}
    assert Delivery.from_document(old_form).event_count == 1
    old_pending = {k: v for k, v in pending().to_document().items() if k != "event_count"}
    assert Delivery.from_document(old_pending).event_count == 0
