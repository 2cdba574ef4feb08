"""One bad value fails one delivery, never an event: the notifier with in-memory repositories.

The repositories are replaced by dictionaries (subclasses, so the notifier sees the types it
expects); everything else (rules, rendering, composing, the events) is the real code.
"""

from __future__ import annotations

import copy
import email
import email.policy
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any, cast

from icalendar import Calendar
from prometheus_client import REGISTRY

from notifications.adapters.repositories import (
    DeliveryRepository,
    DevelopmentRepository,
    DirectoryRepository,
    PreferencesRepository,
    Repositories,
    ResponseRepository,
    ScheduleRepository,
    StoredDelivery,
)
from notifications.domain.delivery import (
    Delivery,
    DeliveryStatus,
    RenderedMessage,
    delivery_id_for,
)
from notifications.domain.digest import RecordedResponse
from notifications.domain.preferences import Preferences
from notifications.domain.recipients import (
    DistrictCoordination,
    NetworkDirectory,
    Recipient,
    UnsentWelcome,
)
from notifications.domain.report import Development
from notifications.domain.rules import Rule
from notifications.rendering.links import UnsubscribeLinks
from notifications.rendering.mails import MailRenderer, RenderedMail
from notifications.service_layer.notifier import Notifier, Sender
from rbn_shared.events import Envelope, new_event
from rbn_shared.events.base import Person
from rbn_shared.events.conferences import Invitee
from rbn_shared.events.registry import CommitteeMemberUpdated
from rbn_shared.outbox import AggregateStore, KeyedLocks, OutboxRecord
from rbn_shared.privacy import ErasureLedger, PrivacyAudit
from rbn_tools.mail_examples import Examples
from tests.notifications.reacting import react

NOW = datetime(2027, 2, 1, 8, 0, tzinfo=UTC)
TOPIC = "rbn.notifications.events"
UMLAUT_DOMAIN = "info@schule-müller.example"
UMLAUT_PUNYCODE = "info@xn--schule-mller-klb.example"
REFUSED = "kaputt@ohne-punkt"  # fits an event's address field, refused by the policy


class _Named:
    """All a store needs of its collection to lock one document: the collection's name."""

    def __init__(self, name: str) -> None:
        self.name = name


def _store(name: str) -> AggregateStore:
    return AggregateStore(cast(Any, _Named(name)), KeyedLocks())


class MemoryDeliveries(DeliveryRepository):
    def __init__(self) -> None:
        self.store = _store("deliveries")
        self.stored: dict[str, Delivery] = {}
        self.events: dict[str, list[OutboxRecord]] = {}
        self.messages: dict[str, RenderedMessage] = {}

    async def add_all(
        self,
        deliveries: Sequence[Delivery],
        messages: Sequence[RenderedMessage] = (),
        events: Mapping[str, Sequence[OutboxRecord]] | None = None,
    ) -> set[str]:
        for message in messages:  # first, and kept as first written
            self.messages.setdefault(message.delivery_id, message)
        new = set()
        for delivery in deliveries:
            if delivery.delivery_id not in self.stored:
                self.stored[delivery.delivery_id] = delivery
                self.events[delivery.delivery_id] = list(
                    (events or {}).get(delivery.delivery_id, ())
                )
                new.add(delivery.delivery_id)
        return new

    async def get(self, delivery_id: str) -> StoredDelivery | None:
        found = self.stored.get(delivery_id)
        if found is None:
            return None
        return StoredDelivery(found, version=1, event_count=len(self.events[delivery_id]))

    async def message(self, delivery_id: str) -> RenderedMessage | None:
        return self.messages.get(delivery_id)

    def text(self, delivery_id: str) -> str:
        """The rendered message of a stored delivery."""
        assert delivery_id in self.stored, "a message is stored with its delivery"
        return self.messages[delivery_id].text

    async def sync_queue(self, delivery: Delivery) -> None:
        return None


class MemoryDirectory(DirectoryRepository):
    def __init__(self) -> None:
        super().__init__(_store("directory"))
        self.known: dict[str, tuple[NetworkDirectory, int]] = {}
        self.writes = 0

    async def network(self, network_id: str) -> tuple[NetworkDirectory | None, int | None]:
        found = self.known.get(network_id)
        return (found[0], found[1]) if found else (None, None)

    async def save_network(self, network: NetworkDirectory, version: int | None) -> None:
        known = self.known.get(network.network_id)
        assert (known[1] if known else None) == version, "a version-guarded write"
        self.known[network.network_id] = (network, (version or 0) + 1)
        self.writes += 1

    async def networks(self) -> list[NetworkDirectory]:
        return [n for n, _ in self.known.values()]

    async def district(self) -> tuple[DistrictCoordination | None, int | None]:
        return None, None


class MemoryPreferences(PreferencesRepository):
    def __init__(self) -> None:
        self.store = _store("preferences")

    async def get(self, email: str) -> tuple[Preferences, int | None]:
        return Preferences(email), None


class MemoryDevelopments(DevelopmentRepository):
    def __init__(self) -> None:
        self.added: list[Development] = []

    async def add(self, development: Development) -> None:
        self.added.append(development)


class MemoryResponses(ResponseRepository):
    def __init__(self) -> None:
        self.added: list[RecordedResponse] = []

    async def add(self, response: RecordedResponse) -> None:
        self.added.append(response)


class NoErasures(ErasureLedger):
    """Nobody was erased."""

    def __init__(self) -> None:
        pass

    async def erased_after(self, addresses: Any, occurred_at: datetime) -> set[str]:
        return set()


class BrokenFor(MailRenderer):
    """Renders like the real one, but writes a mail that cannot be composed for one address."""

    def __init__(self, address: str) -> None:
        super().__init__(UnsubscribeLinks("secret", "https://mail.example.org"))
        self._address = address

    def render(
        self,
        rule: Rule,
        recipient: Recipient,
        payload: Any,
        *,
        stamp: datetime,
        extra: Mapping[str, Any] | None = None,
    ) -> RenderedMail:
        mail = super().render(rule, recipient, payload, stamp=stamp, extra=extra)
        if recipient.email == self._address:
            raise ValueError("not a single plain header value: 'x y'")
        return mail


def notifier(
    renderer: MailRenderer | None = None,
) -> tuple[Notifier, MemoryDeliveries, MemoryDirectory]:
    deliveries, directory = MemoryDeliveries(), MemoryDirectory()
    repositories = Repositories(
        deliveries=deliveries,
        directory=directory,
        preferences=MemoryPreferences(),
        developments=MemoryDevelopments(),
        schedules=ScheduleRepository(_store("schedules")),
        responses=MemoryResponses(),
        erasures=NoErasures(),
        audit=cast(PrivacyAudit, None),  # no erasure or export here
    )
    handler = Notifier(
        repositories=repositories,
        renderer=renderer or MailRenderer(UnsubscribeLinks("secret", "https://mail.example.org")),
        sender=Sender("bildungsnetzwerke@bezreg.example.org", "Bildungsnetzwerke"),
        clock=lambda: NOW,
        events_topic=TOPIC,
    )
    return handler, deliveries, directory


def twelve_invitees(ex: Examples, odd_one: str) -> list[Invitee]:
    invitees = [ex.invitee(n) for n in range(1, 12)]
    odd = ex.invitee(12)
    odd = odd.model_copy(update={"person": odd.person.model_copy(update={"email": odd_one})})
    return [*invitees[:5], odd, *invitees[5:]]


def failed_events(deliveries: MemoryDeliveries, delivery_id: str) -> list[Envelope]:
    return [Envelope.from_wire(str(r["value"]).encode()) for r in deliveries.events[delivery_id]]


def failures(consumer: str, stage: str) -> float:
    labels = {"service": "notifications", "consumer": consumer, "stage": stage}
    return REGISTRY.get_sample_value("rbn_deliveries_failed_total", labels) or 0.0


def parse(raw: str) -> EmailMessage:
    message = email.message_from_string(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


async def handle(handler: Notifier, payload: Any, version: int = 1) -> Envelope:
    envelope = new_event(
        payload,
        key=payload.network.id,
        aggregate_id=str(getattr(payload, "conference_id", None) or payload.member_id),
        aggregate_version=version,
        correlation_id="corr-1",
    )
    await react(handler, envelope, payload)
    return envelope


async def test_a_refused_address_fails_one_delivery_and_the_eleven_others_are_stored() -> None:
    handler, deliveries, _ = notifier()
    ex = Examples(tag=uuid.uuid4().hex[:8])
    invitees = twelve_invitees(ex, REFUSED)
    before = failures("notifications.conferences", "address")

    envelope = await handle(handler, ex.conference_scheduled(invitees))

    stored = list(deliveries.stored.values())
    assert len(stored) == 12
    pending = [d for d in stored if d.status is DeliveryStatus.PENDING]
    (failed,) = [d for d in stored if d.status is DeliveryStatus.FAILED]
    assert len(pending) == 11
    assert failed.recipient == REFUSED
    assert failed.delivery_id == delivery_id_for(envelope.event_id, REFUSED)
    assert failed.last_error is not None
    assert failed.last_error.startswith("address refused: ")
    assert failed.failed_at == NOW
    assert (failed.conference_id, failed.invitation_id) == (ex.conference_id, "inv-12")
    assert all(not deliveries.events[d.delivery_id] for d in pending), "no event before sending"
    (event,) = failed_events(deliveries, failed.delivery_id)
    assert event.type == "notification-failed"
    assert event.causation_id == str(envelope.event_id)
    assert event.aggregate_id == failed.delivery_id
    assert (event.aggregate_version, len(deliveries.events[failed.delivery_id])) == (1, 1), (
        "its first event"
    )
    assert failed.delivery_id not in deliveries.messages, "nothing to send: no message"
    assert event.payload["permanent"] is True
    assert event.payload["reason"] == failed.last_error
    assert event.payload["invitation_id"] == "inv-12"
    assert event.payload["conference_id"] == ex.conference_id
    assert failures("notifications.conferences", "address") == before + 1
    assert {d.invitation_id for d in pending} == {f"inv-{n}" for n in range(1, 12)}

    # The same event again: nothing new, no second event, no second count.
    await react(handler, envelope, ex.conference_scheduled(invitees))
    assert len(deliveries.stored) == 12
    assert len(failed_events(deliveries, failed.delivery_id)) == 1
    assert failures("notifications.conferences", "address") == before + 1


async def test_a_mail_that_cannot_be_composed_fails_alone() -> None:
    ex = Examples(tag=uuid.uuid4().hex[:8])
    broken = ex.email("schulleitung3")
    handler, deliveries, _ = notifier(BrokenFor(broken))
    before = failures("notifications.conferences", "compose")

    envelope = await handle(handler, ex.conference_scheduled(twelve_invitees(ex, UMLAUT_DOMAIN)))

    stored = deliveries.stored.values()
    assert sum(d.status is DeliveryStatus.PENDING for d in stored) == 11
    (failed,) = [d for d in stored if d.status is DeliveryStatus.FAILED]
    assert failed.recipient == broken
    assert failed.last_error == (
        "could not compose the mail: ValueError: not a single plain header value: 'x y'"
    )
    (event,) = failed_events(deliveries, failed.delivery_id)
    assert event.payload["reason"] == failed.last_error
    assert event.payload["recipient"] == broken
    assert event.causation_id == str(envelope.event_id)
    assert failures("notifications.conferences", "compose") == before + 1
    umlaut = deliveries.stored[delivery_id_for(envelope.event_id, UMLAUT_DOMAIN)]
    assert umlaut.status is DeliveryStatus.PENDING
    assert umlaut.needs_smtputf8 is False
    assert (
        parse(deliveries.text(umlaut.delivery_id))["To"].addresses[0].addr_spec == UMLAUT_PUNYCODE
    )


async def test_an_idn_address_is_written_in_punycode_in_to_and_attendee() -> None:
    handler, deliveries, _ = notifier()
    ex = Examples(tag=uuid.uuid4().hex[:8])
    envelope = await handle(handler, ex.conference_scheduled(twelve_invitees(ex, UMLAUT_DOMAIN)))

    delivery = deliveries.stored[delivery_id_for(envelope.event_id, UMLAUT_DOMAIN)]
    assert delivery.recipient == UMLAUT_DOMAIN, "stored and compared in the canonical form"
    assert deliveries.text(delivery.delivery_id).isascii()
    message = parse(deliveries.text(delivery.delivery_id))
    assert message["To"].addresses[0].addr_spec == UMLAUT_PUNYCODE
    (calendar,) = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    entry = next(iter(Calendar.from_ical(calendar.get_content()).walk("VEVENT")))
    assert str(entry["ATTENDEE"]) == f"mailto:{UMLAUT_PUNYCODE}"


async def test_a_non_ascii_local_part_is_composed_in_utf8_and_marked_for_smtputf8() -> None:
    handler, deliveries, _ = notifier()
    ex = Examples(tag=uuid.uuid4().hex[:8])
    address = "jürgen.müller@schule.example.org"
    envelope = await handle(handler, ex.conference_scheduled(twelve_invitees(ex, address)))

    delivery = deliveries.stored[delivery_id_for(envelope.event_id, address)]
    assert delivery.status is DeliveryStatus.PENDING
    assert delivery.needs_smtputf8 is True
    head = deliveries.text(delivery.delivery_id).split("\r\n\r\n", 1)[0]
    (to,) = [line for line in head.split("\r\n") if line.startswith("To:")]
    assert to == f'To: "Schulleitung 12" <{address}>', "RFC 6532: UTF-8 as it is, one line"
    others = [d for d in deliveries.stored.values() if d.delivery_id != delivery.delivery_id]
    assert not any(d.needs_smtputf8 for d in others)


async def test_a_failed_welcome_goes_once_to_the_corrected_address() -> None:
    handler, deliveries, directory = notifier()
    ex = Examples(tag=uuid.uuid4().hex[:8])
    added = ex.committee_member_added()
    added = added.model_copy(update={"person": added.person.model_copy(update={"email": REFUSED})})
    cause = await handle(handler, added)
    welcome_to_old = deliveries.stored[delivery_id_for(cause.event_id, REFUSED)]
    assert welcome_to_old.status is DeliveryStatus.FAILED
    network, _ = await directory.network(ex.network_id)
    assert network is not None
    remembered = network.committee["m-1"].unsent_welcome
    assert remembered == UnsentWelcome(str(cause.event_id), "committee-welcome", REFUSED)

    corrected = ex.email("anna.schmidt")
    updated = CommitteeMemberUpdated(
        **added.model_dump(exclude={"person"}),
        person=Person(name=added.person.name, email=corrected),
    )
    update = await handle(handler, updated, version=2)
    resent = deliveries.stored[delivery_id_for(cause.event_id, corrected)]
    assert resent.status is DeliveryStatus.PENDING
    assert resent.template == "committee-welcome"
    assert resent.cause_event_type == "committee-member-added"
    assert resent.cause_event_id == str(cause.event_id), "the original cause: exactly once"
    assert parse(deliveries.text(resent.delivery_id))["To"].addresses[0].addr_spec == corrected
    network, _ = await directory.network(ex.network_id)
    assert network is not None
    assert network.committee["m-1"].email == corrected
    assert network.committee["m-1"].unsent_welcome is None, "forgotten once written again"

    count = len(deliveries.stored)
    await react(handler, update, updated)  # redelivered
    later = updated.model_copy(update={"term_end": None})
    await handle(handler, later, version=3)  # changed again, same address
    assert len(deliveries.stored) == count, "no second welcome"


async def test_a_welcome_refused_by_the_server_is_remembered_for_a_correction() -> None:
    handler, deliveries, directory = notifier()
    ex = Examples(tag=uuid.uuid4().hex[:8])
    cause = await handle(handler, ex.committee_member_added())
    address = ex.email("anna.schmidt")
    failed = copy.copy(deliveries.stored[delivery_id_for(cause.event_id, address)])
    assert failed.permanent_failure(1, "550 no such mailbox", NOW) != []

    await handler.remember_unsent_welcome(failed)  # what the dispatcher calls

    network, _ = await directory.network(ex.network_id)
    assert network is not None
    expected = UnsentWelcome(str(cause.event_id), "committee-welcome", address)
    assert network.committee["m-1"].unsent_welcome == expected
    office = next(d for d in deliveries.stored.values() if d.template != "committee-welcome")
    writes = directory.writes
    await handler.remember_unsent_welcome(office)
    assert directory.writes == writes, "only the welcome is remembered"
