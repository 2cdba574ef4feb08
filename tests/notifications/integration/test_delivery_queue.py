"""The delivery queue against the real FerretDB: the dispatcher finds due deliveries in a small
collection of pending ones, and what a crash between the two writes leaves behind is repaired.

The dispatcher runs in this process with a recording mail sender and a clock the test sets.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from prometheus_client import REGISTRY
from pymongo import AsyncMongoClient

from notifications.adapters.documents import (
    delivery_from_document,
    delivery_to_document,
    message_to_document,
)
from notifications.adapters.repositories import (
    DELIVERIES,
    MESSAGES,
    QUEUE,
    DeliveryRepository,
    PreferencesRepository,
    Repositories,
)
from notifications.adapters.smtp import SendFailed
from notifications.domain.delivery import (
    Delivery,
    DeliveryStatus,
    InDoubtPolicy,
    RenderedMessage,
    RetryPolicy,
    delivery_id_for,
)
from notifications.domain.preferences import Topic
from notifications.domain.rules import Category
from notifications.rendering.links import UnsubscribeLinks
from notifications.rendering.mails import MailRenderer
from notifications.service_layer.dispatch import Dispatcher, Sending
from notifications.service_layer.notifier import Notifier, Sender
from notifications.service_layer.preferences import change_preferences
from rbn_shared.events import Envelope, new_event
from rbn_shared.outbox import AggregateStore, KeyedLocks
from rbn_tools.mail_examples import Examples
from tests.notifications.reacting import react
from tests.support.measure import CommandCounter

pytestmark = pytest.mark.integration

T0 = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


class RecordingSender:
    """Accepts every mail, except for the recipients told to fail (4xx or 5xx)."""

    def __init__(
        self, transient: frozenset[str] = frozenset(), permanent: frozenset[str] = frozenset()
    ) -> None:
        self.sent: list[str] = []
        self.texts: list[str] = []
        self._transient = set(transient)
        self._permanent = set(permanent)

    async def send(
        self, sender: str, recipient: str, message: str, *, smtputf8: bool = False
    ) -> str:
        if recipient in self._permanent:
            raise SendFailed("550 no such mailbox", permanent=True, code=550)
        if recipient in self._transient:
            raise SendFailed("451 try again later", permanent=False, code=451)
        self.sent.append(recipient)
        self.texts.append(message)
        return "250 OK"


def repository(db: Any) -> DeliveryRepository:
    """What one service instance builds: its own locks, the shared database."""
    return DeliveryRepository(AggregateStore(db[DELIVERIES], KeyedLocks()), db)


def dispatcher(
    deliveries: DeliveryRepository, sender: RecordingSender, clock: Clock, service: str
) -> Dispatcher:
    return Dispatcher(
        deliveries=deliveries,
        sender=sender,
        sending=Sending(
            envelope_sender="bildungsnetzwerke@example.org",
            concurrency=8,
            poll_seconds=0.1,
            retry=RetryPolicy(max_attempts=5, base_seconds=30, max_seconds=300),
            lease=timedelta(minutes=5),
            in_doubt=InDoubtPolicy.RESEND,
        ),
        events_topic="test.notifications.events",
        clock=clock,
        service=service,
    )


def pending(recipient: str, at: datetime = T0) -> Delivery:
    cause = str(uuid.uuid4())
    delivery_id = delivery_id_for(cause, recipient)
    return Delivery(
        delivery_id=delivery_id,
        cause_event_id=cause,
        cause_event_type="committee-member-added",
        correlation_id="test-queue",
        network_id="bochum",
        recipient=recipient,
        template="committee-welcome",
        category=Category.INFORMATION,
        subject="Willkommen",
        status=DeliveryStatus.PENDING,
        created_at=at,
        next_attempt_at=at,
    )


def message_of(delivery: Delivery) -> RenderedMessage:
    text = f"Subject: Willkommen\r\nTo: {delivery.recipient}\r\n\r\nHallo\r\n"
    return RenderedMessage(delivery.delivery_id, f"<{delivery.delivery_id}@example.org>", text)


async def store_unqueued(db: Any, deliveries: DeliveryRepository, doc: dict[str, Any]) -> None:
    """A delivery (and its message) as written right before a crash, without its queue entry."""
    delivery = delivery_from_document(doc)
    await db[MESSAGES].insert_one(message_to_document(message_of(delivery)))
    await deliveries.store.insert(doc)


def mails(service: str, outcome: str) -> float:
    value = REGISTRY.get_sample_value("rbn_mails_total", {"service": service, "outcome": outcome})
    return value or 0.0


async def status_of(deliveries: DeliveryRepository, delivery_id: str) -> DeliveryStatus:
    found = await deliveries.get(delivery_id)
    assert found is not None
    return found.delivery.status


async def test_a_pending_delivery_without_queue_entry_is_sent_after_the_repair(
    isolated: dict[str, str], mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    db = mongo[isolated["RBN_MONGO_DATABASE"]]
    deliveries = repository(db)
    sender = RecordingSender()
    clock = Clock(T0 + timedelta(seconds=1))
    service = f"test-{uuid.uuid4().hex[:6]}"
    sending = dispatcher(deliveries, sender, clock, service)
    # The process died after storing the delivery and before queueing it.
    lost = pending("lost.queue@example.org")
    await store_unqueued(db, deliveries, delivery_to_document(lost))
    assert await deliveries.queued() == 0

    assert await sending.dispatch_due() == 0, "the dispatcher only reads the queue"
    assert await sending.requeue_missing() == 1
    assert await sending.requeue_missing() == 0, "a second pass finds nothing missing"
    assert await sending.dispatch_due() == 1
    await sending.drain()

    assert sender.sent == ["lost.queue@example.org"]
    assert await status_of(deliveries, lost.delivery_id) is DeliveryStatus.SENT
    assert await deliveries.queued() == 0
    assert mails(service, "sent") == 1


async def test_the_queue_holds_exactly_the_pending_deliveries_as_they_settle(
    isolated: dict[str, str], mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    db = mongo[isolated["RBN_MONGO_DATABASE"]]
    deliveries = repository(db)
    sender = RecordingSender(
        transient=frozenset({"later.queue@example.org"}),
        permanent=frozenset({"refused.queue@example.org"}),
    )
    clock = Clock(T0 + timedelta(seconds=1))
    service = f"test-{uuid.uuid4().hex[:6]}"
    sending = dispatcher(deliveries, sender, clock, service)
    accepted, later, refused = (
        pending("accepted.queue@example.org"),
        pending("later.queue@example.org"),
        pending("refused.queue@example.org"),
    )
    stored = [accepted, later, refused]
    new = await deliveries.add_all(stored, [message_of(d) for d in stored])
    assert new == {accepted.delivery_id, later.delivery_id, refused.delivery_id}
    again = await deliveries.add_all([accepted], [message_of(accepted)])
    assert again == set(), "one delivery per event and recipient"
    assert await deliveries.queued() == 3

    assert await sending.dispatch_due() == 3
    await sending.drain()

    assert sender.sent == ["accepted.queue@example.org"]
    assert await status_of(deliveries, accepted.delivery_id) is DeliveryStatus.SENT
    assert await status_of(deliveries, refused.delivery_id) is DeliveryStatus.FAILED
    assert await deliveries.queued() == 1, "only the one to retry stays queued"
    found_later = await deliveries.get(later.delivery_id)
    assert found_later is not None
    retry = found_later.delivery
    assert retry.status is DeliveryStatus.PENDING
    assert retry.next_attempt_at is not None
    assert retry.next_attempt_at > clock.now
    entries = await deliveries.due(retry.next_attempt_at, limit=10)
    assert [(e.delivery_id, e.next_attempt_at) for e in entries] == [
        (later.delivery_id, retry.next_attempt_at)
    ], "the entry follows the rescheduled attempt"
    assert await deliveries.due(clock.now, limit=10) == [], "not due before its time"
    assert mails(service, "sent") == 1
    assert mails(service, "failed") == 1

    clock.now = retry.next_attempt_at
    assert await sending.dispatch_due() == 1
    await sending.drain()
    assert await deliveries.queued() == 1, "still failing: rescheduled again"
    found = await deliveries.get(later.delivery_id)
    assert found is not None
    assert found.delivery.attempts == 2


async def test_entries_left_by_a_crash_after_the_record_are_corrected_not_sent(
    isolated: dict[str, str], mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    db = mongo[isolated["RBN_MONGO_DATABASE"]]
    deliveries = repository(db)
    sender = RecordingSender()
    clock = Clock(T0 + timedelta(seconds=1))
    sending = dispatcher(deliveries, sender, clock, f"test-{uuid.uuid4().hex[:6]}")
    queue = db[QUEUE]
    # Sent, but the process died before removing its entry.
    settled = pending("settled.queue@example.org")
    await store_unqueued(
        db,
        deliveries,
        {**delivery_to_document(settled), "status": "sent", "attempts": 1, "next_attempt_at": None},
    )
    await queue.insert_one({"_id": settled.delivery_id, "next_attempt_at": T0})
    # Rescheduled to a later attempt, but the process died before moving its entry.
    later_at = T0 + timedelta(minutes=10)
    rescheduled = pending("rescheduled.queue@example.org", at=later_at)
    await store_unqueued(db, deliveries, delivery_to_document(rescheduled))
    await queue.insert_one({"_id": rescheduled.delivery_id, "next_attempt_at": T0})
    # An entry for a delivery that does not exist.
    await queue.insert_one({"_id": "no-such-delivery", "next_attempt_at": T0})

    assert await sending.dispatch_due() == 3
    await sending.drain()

    assert sender.sent == [], "nothing was due"
    entries = await deliveries.due(later_at, limit=10)
    assert [(e.delivery_id, e.next_attempt_at) for e in entries] == [
        (rescheduled.delivery_id, later_at)
    ]
    assert await deliveries.queued() == 1
    assert await status_of(deliveries, settled.delivery_id) is DeliveryStatus.SENT

    clock.now = later_at
    assert await sending.dispatch_due() == 1
    await sending.drain()
    assert sender.sent == ["rescheduled.queue@example.org"]
    assert await deliveries.queued() == 0


async def test_two_instances_send_each_queued_delivery_once(
    isolated: dict[str, str], mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    db = mongo[isolated["RBN_MONGO_DATABASE"]]
    clock = Clock(T0 + timedelta(seconds=1))
    first_repo, second_repo = repository(db), repository(db)
    first_sender, second_sender = RecordingSender(), RecordingSender()
    first = dispatcher(first_repo, first_sender, clock, f"test-{uuid.uuid4().hex[:6]}")
    second = dispatcher(second_repo, second_sender, clock, f"test-{uuid.uuid4().hex[:6]}")
    recipients = [f"twice{n}.queue@example.org" for n in range(6)]
    stored = [pending(recipient) for recipient in recipients]
    messages = [message_of(d) for d in stored]
    assert await first_repo.add_all(stored, messages) == {d.delivery_id for d in stored}

    await first.dispatch_due()
    await second.dispatch_due()
    await first.drain()
    await second.drain()
    # Whatever one instance found claimed by the other is looked at again later.
    while await first_repo.queued():
        await first.dispatch_due()
        await first.drain()

    assert sorted(first_sender.sent + second_sender.sent) == sorted(recipients)
    assert await first_repo.queued() == 0


def notifier(db: Any, deliveries: DeliveryRepository, announced: list[str]) -> Notifier:
    locks = KeyedLocks()
    return Notifier(
        repositories=Repositories.over(db, locks, deliveries.store),
        renderer=MailRenderer(UnsubscribeLinks("secret", "https://x.example.org")),
        sender=Sender("bildungsnetzwerke@example.org", "Bildungsnetzwerke"),
        clock=Clock(T0),
        on_new_deliveries=lambda new: announced.extend(d.delivery_id for d in new),
    )


async def test_new_deliveries_are_queued_and_announced_and_a_redelivery_requeues_them(
    isolated: dict[str, str], mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    db = mongo[isolated["RBN_MONGO_DATABASE"]]
    deliveries = repository(db)
    announced: list[str] = []
    handler = notifier(db, deliveries, announced)
    ex = Examples(tag=uuid.uuid4().hex[:8])
    payload = ex.committee_member_added()
    envelope = new_event(
        payload, key=ex.network_id, aggregate_id="m-1", aggregate_version=1, correlation_id="c"
    )

    await react(handler, envelope, payload)
    expected = sorted(
        delivery_id_for(envelope.event_id, address)
        for address in (ex.email("anna.schmidt"), ex.office_email)
    )
    assert sorted(announced) == expected
    assert sorted(e.delivery_id for e in await deliveries.due(T0, limit=10)) == expected

    # The process died after storing the deliveries and before queueing them.
    await db[QUEUE].delete_many({})
    await react(handler, envelope, payload)  # the event comes again
    assert sorted(announced) == expected, "nothing new is stored or announced"
    assert sorted(e.delivery_id for e in await deliveries.due(T0, limit=10)) == expected


async def test_a_mail_switched_off_is_skipped_and_never_queued(
    isolated: dict[str, str], mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    db = mongo[isolated["RBN_MONGO_DATABASE"]]
    deliveries = repository(db)
    announced: list[str] = []
    handler = notifier(db, deliveries, announced)
    ex = Examples(tag=uuid.uuid4().hex[:8])
    quiet, keen = ex.invitee(1, local="quiet"), ex.invitee(2, local="keen")
    preferences = PreferencesRepository(AggregateStore(db["preferences"], KeyedLocks()))
    await change_preferences(preferences, quiet.person.email, {Topic.REMINDERS: False}, Clock(T0))
    payload = ex.conference_reminder_due([quiet, keen])
    envelope = new_event(
        payload, key=ex.network_id, aggregate_id="k", aggregate_version=1, correlation_id="c"
    )

    await react(handler, envelope, payload)

    skipped = delivery_id_for(envelope.event_id, str(quiet.person.email))
    sent = delivery_id_for(envelope.event_id, str(keen.person.email))
    assert await status_of(deliveries, skipped) is DeliveryStatus.SKIPPED
    assert await status_of(deliveries, sent) is DeliveryStatus.PENDING
    assert announced == [sent]
    assert [e.delivery_id for e in await deliveries.due(T0, limit=10)] == [sent]


async def test_the_message_is_stored_apart_once_and_sent_as_stored(
    isolated: dict[str, str], mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    db = mongo[isolated["RBN_MONGO_DATABASE"]]
    deliveries = repository(db)
    sender = RecordingSender()
    sending = dispatcher(deliveries, sender, Clock(T0 + timedelta(seconds=1)), "test-apart")
    delivery = pending("apart.queue@example.org")
    assert await deliveries.add_all([delivery], [message_of(delivery)]) == {delivery.delivery_id}
    record = await db["deliveries"].find_one({"_id": delivery.delivery_id})
    assert record is not None
    assert "message" not in record, "the record holds what changes, not the message"

    assert await sending.dispatch_due() == 1
    await sending.drain()

    assert sender.texts == [message_of(delivery).text]
    record = await db["deliveries"].find_one({"_id": delivery.delivery_id})
    assert record is not None
    assert (record["status"], record["event_count"]) == ("sent", 1)
    (event,) = [Envelope.from_wire(str(r["value"]).encode()) for r in record["outbox"]]
    assert (event.type, event.aggregate_version) == ("notification-sent", 1)
    assert await db[MESSAGES].count_documents({}) == 1


async def test_a_delivery_stored_with_its_message_inside_is_still_sent(
    isolated: dict[str, str], mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    db = mongo[isolated["RBN_MONGO_DATABASE"]]
    deliveries = repository(db)
    sender = RecordingSender()
    sending = dispatcher(deliveries, sender, Clock(T0 + timedelta(seconds=1)), "test-inside")
    old = pending("inside.queue@example.org")
    rendered = message_of(old)
    # The form of the records before the messages were stored apart.
    document = {
        **delivery_to_document(old),
        "message": rendered.text,
        "message_id": rendered.message_id,
    }
    assert "event_count" not in document, "nor did they count their events"
    await deliveries.store.insert(document)
    await db[QUEUE].insert_one({"_id": old.delivery_id, "next_attempt_at": T0})

    assert await sending.dispatch_due() == 1
    await sending.drain()

    assert sender.texts == [rendered.text]
    assert await status_of(deliveries, old.delivery_id) is DeliveryStatus.SENT


async def test_deliveries_added_at_the_same_moment_go_in_one_write_each_told_its_own(
    isolated: dict[str, str],
) -> None:
    """The lanes of a consumer's batch (one network each) add their deliveries side by side:
    the messages, the deliveries and the queue entries of all of them take one insert each,
    and each caller learns which of its own were new (a repeat among them: none)."""
    counter = CommandCounter()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        isolated["RBN_MONGO_URL"], event_listeners=[counter], tz_aware=True
    )
    try:
        deliveries = repository(client[isolated["RBN_MONGO_DATABASE"]])
        first = pending("first.lane@example.org")
        await deliveries.add_all([first], [message_of(first)])
        counter.counts.clear()
        lanes = [[pending(f"lane{i}.{n}@example.org") for n in range(3)] for i in range(4)]
        told = await asyncio.gather(
            *(deliveries.add_all(lane, [message_of(d) for d in lane]) for lane in lanes),
            deliveries.add_all([first], [message_of(first)]),  # redelivered: nothing new
        )
        assert told == [{d.delivery_id for d in lane} for lane in lanes] + [set()]
        inserts = {c: n for (command, c), n in counter.counts.items() if command == "insert"}
        assert inserts == {MESSAGES: 1, DELIVERIES: 1, QUEUE: 1}
        for lane in lanes:
            for delivery in lane:
                assert await status_of(deliveries, delivery.delivery_id) is DeliveryStatus.PENDING
                assert await deliveries.message(delivery.delivery_id) == message_of(delivery)
        assert await deliveries.queued() == 1 + 12
    finally:
        await client.close()
