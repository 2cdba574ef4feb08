"""Erasing a person (Art. 17): real FerretDB and Mailpit, the use cases in process.

A committee member with a sent mail, a failed one and one still queued is erased; afterwards no
collection of the database holds their name or address anywhere, the queued mail never reaches
Mailpit, the counts stand, the same event again changes nothing, and an event that occurred
before the erasure but is read after it mails them nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pymongo import AsyncMongoClient

from notifications.adapters.repositories import (
    DELIVERIES,
    DeliveryFilter,
    Repositories,
    StoredDelivery,
)
from notifications.adapters.smtp import SendFailed, SmtpConfig, SmtpSender
from notifications.domain.delivery import (
    Delivery,
    DeliveryStatus,
    InDoubtPolicy,
    RenderedMessage,
    RetryPolicy,
    delivery_id_for,
)
from notifications.domain.digest import RecordedResponse
from notifications.domain.preferences import Preferences, Topic
from notifications.domain.report import Development, DevelopmentKind
from notifications.domain.report_calendar import ReportCalendar
from notifications.domain.rules import Category
from notifications.entrypoints import api
from notifications.entrypoints.consumers import reactions
from notifications.rendering.links import UnsubscribeLinks
from notifications.rendering.mails import MailRenderer, PageRenderer
from notifications.service_layer.digests import ResponseDigests
from notifications.service_layer.dispatch import Dispatcher, Sending
from notifications.service_layer.erasure import Erasures
from notifications.service_layer.notifier import Notifier, Sender
from notifications.service_layer.retention import Retention
from rbn_shared.auth import TokenTable
from rbn_shared.consumer import DEAD_LETTERS_COLLECTION
from rbn_shared.events import Envelope, EventPayload, utc_now
from rbn_shared.events.registry import PersonErased
from rbn_shared.http import install_problem_handlers
from rbn_shared.outbox import AggregateStore, KeyedLocks
from rbn_shared.privacy import erased_address, subject_of
from rbn_tools.mail_examples import Examples
from tests.notifications.integration.support import TOKENS, Mailpit, MovedClock, event
from tests.support.infra import Infra

pytestmark = pytest.mark.integration


class RefusingSender:
    """Mailpit, except that it refuses for good while `refuse` is set."""

    def __init__(self, smtp: SmtpSender) -> None:
        self.smtp = smtp
        self.refuse: str | None = None

    async def send(
        self, sender: str, recipient: str, message: str, *, smtputf8: bool = False
    ) -> str:
        if recipient == self.refuse:
            raise SendFailed("550 mailbox unavailable", permanent=True, code=550)
        return await self.smtp.send(sender, recipient, message, smtputf8=smtputf8)


class Wired:
    def __init__(self, db: Any, infra: Infra) -> None:
        locks = KeyedLocks()
        self.repositories = Repositories.over(db, locks, AggregateStore(db[DELIVERIES], locks))
        self.smtp = SmtpSender(
            SmtpConfig(infra.smtp_host, infra.smtp_port, False, None, None, 10.0, 2)
        )
        self.sender = RefusingSender(self.smtp)
        self.dispatcher = Dispatcher(
            deliveries=self.repositories.deliveries,
            sender=self.sender,
            sending=Sending(
                envelope_sender="bildungsnetzwerke@example.org",
                concurrency=4,
                poll_seconds=0.1,
                retry=RetryPolicy(max_attempts=3, base_seconds=30, max_seconds=60),
                lease=timedelta(minutes=5),
                in_doubt=InDoubtPolicy.RESEND,
            ),
            events_topic="test.notifications.events",
            clock=utc_now,
        )
        self.notifier = Notifier(
            repositories=self.repositories,
            renderer=MailRenderer(UnsubscribeLinks("secret", "https://x.example.org")),
            sender=Sender("bildungsnetzwerke@example.org", "Bildungsnetzwerke"),
            clock=utc_now,
        )
        digests = ResponseDigests(
            repositories=self.repositories,
            notifier=self.notifier,
            calendar=ReportCalendar(),
            clock=utc_now,
        )
        self.erasures = Erasures(repositories=self.repositories, db=db, clock=utc_now)
        self.tables = reactions(self.notifier, digests, self.erasures)

    async def react(self, envelope: Envelope, payload: EventPayload) -> None:
        for table in self.tables.values():
            handle = table.handlers().get(envelope.type)
            if handle is not None:
                await handle(envelope, payload)

    async def dispatch(self) -> None:
        await self.dispatcher.dispatch_due()
        await self.dispatcher.drain()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@contextlib.asynccontextmanager
async def api_client(repositories: Repositories) -> AsyncIterator[httpx.AsyncClient]:
    """The service's routes in process, on the test's repositories."""
    app = FastAPI()
    install_problem_handlers(app)
    app.state.authenticator = TokenTable(TOKENS)
    app.state.services = api.ApiServices(
        repositories=repositories,
        links=UnsubscribeLinks("secret", "https://x.example.org"),
        pages=PageRenderer(),
        renderer=MailRenderer(UnsubscribeLinks("secret", "https://x.example.org")),
        clock=utc_now,
    )
    app.include_router(api.router)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


async def every_string(db: Any) -> list[tuple[str, str]]:
    """(collection, text) of every string in every document of the database."""
    found: list[tuple[str, str]] = []

    def walk(name: str, value: Any) -> None:
        if isinstance(value, str):
            found.append((name, value))
        elif isinstance(value, bytes):
            found.append((name, value.decode("utf-8", "replace")))
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(name, k)
                walk(name, v)
        elif isinstance(value, list):
            for v in value:
                walk(name, v)

    for name in await db.list_collection_names():
        async for doc in db[name].find():
            walk(name, doc)
    return found


async def snapshot(db: Any) -> dict[str, list[Any]]:
    return {
        name: sorted([repr(sorted(doc.items())) async for doc in db[name].find()])
        for name in sorted(await db.list_collection_names())
    }


async def statuses(repositories: Repositories) -> Counter[str]:
    return Counter(d.status.value for d in await repositories.deliveries.search(limit=1000))


async def test_an_erased_person_leaves_no_trace_and_gets_no_more_mail(
    isolated: dict[str, str], mongo: AsyncMongoClient[dict[str, Any]], infra: Infra
) -> None:
    db = mongo[isolated["RBN_MONGO_DATABASE"]]
    wired = Wired(db, infra)
    mailpit = Mailpit(infra.mailpit_api)
    tag = uuid.uuid4().hex[:10]
    ex = Examples(tag=tag, network_id=f"hagen-{tag[:6]}", network_name="Hagen")
    name = f"Dr. Erika Musterfrau {tag}"
    member = ex.committee_member_added(name=name, local="erika.musterfrau")
    address = str(member.person.email)
    await wired.repositories.deliveries.create_indexes()

    # A sent welcome (and the office's notice naming her), then a failed mail, then one queued.
    await wired.react(event(ex.network_registered(), key=ex.network_id), ex.network_registered())
    await wired.react(event(member, key=ex.network_id), member)
    await wired.dispatch()
    adopted = ex.field_of_action_adopted()
    wired.sender.refuse = address
    await wired.react(event(adopted, key=ex.network_id, version=2), adopted)
    await wired.dispatch()
    wired.sender.refuse = None
    bulletin = ex.district_bulletin_published([ex.network_id])
    await wired.react(event(bulletin, key="district"), bulletin)
    # Her preferences, and a dead letter quoting her address.
    await wired.repositories.preferences.save(
        Preferences(address, frozenset({Topic.REMINDERS})), None, utc_now()
    )
    await db[DEAD_LETTERS_COLLECTION].insert_one(
        {"_id": f"dl-{tag}", "error": f"value error: {address} is not allowed"}
    )
    # An event about her that occurred before the erasure, read only after it.
    invitee = ex.invitee(1)
    invitee = invitee.model_copy(
        update={"person": invitee.person.model_copy(update={"email": address, "name": name})}
    )
    scheduled = ex.conference_scheduled([invitee])
    late = event(scheduled, key=ex.conference_id)
    seat = ex.committee_member_added(member_id="m-2", name=name, local="erika.musterfrau")
    late_seat = event(seat, key=ex.network_id, version=3)
    answer = ex.participant_responded(invitee)
    late_answer = event(answer, key=ex.conference_id, version=2)

    mails_before = len(await mailpit.wait_for(address, 1))
    total = sum((await statuses(wired.repositories)).values())
    hers = Counter(
        d.delivery.status.value for d in await wired.repositories.deliveries.to_any_of([address])
    )
    assert hers == {"sent": 1, "failed": 1, "pending": 1}, hers
    assert any(name.casefold() in t.casefold() for _, t in await every_string(db))

    async with api_client(wired.repositories) as http:
        for token in ("office-token", "reader-token"):
            refused = await http.post(
                "/privacy/access", json={"email": address}, headers=bearer(token)
            )
            assert refused.status_code == 403
        exported = await http.post(
            "/privacy/access", json={"email": address.upper()}, headers=bearer("district-token")
        )
        assert exported.status_code == 200, exported.text
    export = exported.json()
    assert export["service"] == "notifications"
    assert export["subject"] == subject_of(address)
    keys = [(i["kind"], i["id"]) for i in export["items"]]
    assert len(keys) == len(set(keys)), "each item once"
    assert Counter(k for k, _ in keys) == {
        "delivery": 3,
        "preferences": 1,
        "committee-member": 1,
    }

    erasure = PersonErased(erasure_id=f"e-{tag}", subject=subject_of(address))
    erased_event = event(erasure, key="district")
    await wired.react(erased_event, erasure)

    await wired.dispatch()  # whatever is still queued
    after = await statuses(wired.repositories)
    assert after["pending"] == 0
    assert sum(after.values()) == total, "every delivery is still counted"
    placeholder = erased_address(subject_of(address))
    erased_deliveries = await wired.repositories.deliveries.to_any_of([placeholder])
    # Sent stays sent, failed stays failed; the one never sent counts as cancelled.
    assert Counter(d.delivery.status.value for d in erased_deliveries) == {
        "sent": 1,
        "failed": 1,
        "cancelled": 1,
    }

    leaks = [
        (collection, text)
        for collection, text in await every_string(db)
        if name.casefold() in text.casefold()
        or address.casefold() in text.casefold()
        or "musterfrau" in text.casefold()
    ]
    assert leaks == []

    # The same event again changes nothing; the earlier event read now mails her nothing.
    kept = await snapshot(db)
    await wired.react(erased_event, erasure)
    assert await snapshot(db) == kept
    await wired.react(late, scheduled)
    await wired.react(late_seat, seat)
    await wired.react(late_answer, answer)  # kept for the office's overview: anonymised
    await wired.dispatch()
    about_her = DeliveryFilter(cause_event_id=str(late_seat.event_id))
    assert await wired.repositories.deliveries.search(about_her) == [], "not even the office's"
    again = await wired.repositories.deliveries.to_any_of([placeholder])
    assert len(again) == len(erased_deliveries)
    assert await wired.repositories.deliveries.to_any_of([address]) == []

    brought_back = [t for _, t in await every_string(db) if "musterfrau" in t.casefold()]
    assert brought_back == [], "the late events brought nothing back"
    await asyncio.sleep(1.0)  # anything sent would have reached Mailpit by now
    assert len(await mailpit.to(address)) == mails_before, "the queued mail never went out"
    audit = await wired.repositories.audit.entries(subject_of(address))
    assert [e["action"] for e in audit] == ["access-export", "erasure"]
    async with api_client(wired.repositories) as http:
        listed = await http.get("/privacy/audit", headers=bearer("district-token"))
        again_export = await http.post(
            "/privacy/access", json={"email": address}, headers=bearer("district-token")
        )
        assert (await http.get("/privacy/audit", headers=bearer("reader-token"))).status_code == 403
    assert [e["action"] for e in listed.json()["items"]] == ["access-export", "erasure"]
    assert again_export.json()["items"] == [], "nothing is held about her any more"
    await wired.smtp.close()


def settled(recipient: str, at: datetime, status: DeliveryStatus) -> Delivery:
    cause = str(uuid.uuid4())
    return Delivery(
        delivery_id=delivery_id_for(cause, recipient),
        cause_event_id=cause,
        cause_event_type="committee-member-added",
        correlation_id="test-retention",
        network_id="bochum",
        recipient=recipient,
        template="committee-welcome",
        category=Category.INFORMATION,
        subject=f"Willkommen, {recipient}",
        status=status,
        created_at=at,
        sent_at=at if status is DeliveryStatus.SENT else None,
        failed_at=at if status is DeliveryStatus.FAILED else None,
        settled_at=at,
        last_error="550 no such user" if status is DeliveryStatus.FAILED else None,
    )


async def test_retention_deletes_bodies_after_30_days_and_anonymises_after_365(
    isolated: dict[str, str], mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    db = mongo[isolated["RBN_MONGO_DATABASE"]]
    locks = KeyedLocks()
    repositories = Repositories.over(db, locks, AggregateStore(db[DELIVERIES], locks))
    deliveries = repositories.deliveries
    await deliveries.create_indexes()
    t0 = datetime(2027, 3, 1, 6, 0, tzinfo=UTC)
    tag = uuid.uuid4().hex[:8]
    address = f"ret.{tag}@schule.example.org"
    stored = [
        settled(address, t0, DeliveryStatus.SENT),
        settled(address, t0 + timedelta(days=10), DeliveryStatus.FAILED),
    ]
    messages = [
        RenderedMessage(d.delivery_id, f"<{d.delivery_id}@x>", f"To: {address}\r\n\r\nHallo")
        for d in stored
    ]
    await deliveries.add_all(stored, messages)
    clock = MovedClock(t0 + timedelta(days=29))
    retention = Retention(deliveries=deliveries, clock=clock, message_days=30, delivery_days=365)

    assert await retention.tick() == (0, 0), "nothing touched before 30 days"
    assert all([await deliveries.message(d.delivery_id) for d in stored])

    clock.now = t0 + timedelta(days=31)
    assert await retention.tick() == (1, 0), "the first body goes, the younger one stays"
    assert await deliveries.message(stored[0].delivery_id) is None
    assert await deliveries.message(stored[1].delivery_id) is not None
    assert len(await deliveries.to_any_of([address])) == 2, "no record anonymised yet"

    clock.now = t0 + timedelta(days=366)
    assert await retention.tick() == (1, 1)
    anonymised = await deliveries.to_any_of([erased_address(subject_of(address))])
    assert [s.delivery.delivery_id for s in anonymised] == [stored[0].delivery_id]
    assert anonymised[0].delivery.status is DeliveryStatus.SENT, "the status stays"
    kept = await deliveries.to_any_of([address])
    assert [s.delivery.delivery_id for s in kept] == [stored[1].delivery_id]
    assert await retention.tick() == (0, 0), "a second pass finds nothing left to do"

    clock.now = t0 + timedelta(days=400)
    await retention.tick()
    leaks = [t for _, t in await every_string(db) if address.casefold() in t.casefold()]
    assert leaks == []


async def test_retention_forgets_the_answers_after_30_days_and_the_report_entries_after_365(
    isolated: dict[str, str], mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    db = mongo[isolated["RBN_MONGO_DATABASE"]]
    locks = KeyedLocks()
    repositories = Repositories.over(db, locks, AggregateStore(db[DELIVERIES], locks))
    t0 = datetime(2027, 6, 1, 6, 0, tzinfo=UTC)
    ex = Examples(tag=uuid.uuid4().hex[:8])
    answer = ex.participant_responded(ex.invitee(1))
    await repositories.responses.add(
        RecordedResponse.of(
            answer, event_id="r-1", conference_version=2, occurred_at=t0, recorded_at=t0
        )
    )
    await repositories.developments.add(
        Development("d-1", DevelopmentKind.FIELD_ADOPTED, "hagen", "Hagen", t0, t0, "Übergang")
    )
    clock = MovedClock(t0 + timedelta(days=29))
    retention = Retention(
        deliveries=repositories.deliveries,
        clock=clock,
        message_days=30,
        delivery_days=365,
        answers=repositories.responses,
        developments=repositories.developments,
    )
    await retention.tick()
    assert len(await repositories.responses.all()) == 1, "kept before 30 days"

    clock.now = t0 + timedelta(days=31)
    await retention.tick()
    assert await repositories.responses.all() == []
    assert len(await repositories.developments.all()) == 1, "the Wochenbericht keeps a year"

    clock.now = t0 + timedelta(days=366)
    await retention.tick()
    assert await repositories.developments.all() == []


async def test_retention_finds_records_stored_before_they_had_a_settle_time(
    isolated: dict[str, str], mongo: AsyncMongoClient[dict[str, Any]]
) -> None:
    db = mongo[isolated["RBN_MONGO_DATABASE"]]
    locks = KeyedLocks()
    repositories = Repositories.over(db, locks, AggregateStore(db[DELIVERIES], locks))
    deliveries = repositories.deliveries
    await deliveries.create_indexes()
    t0 = datetime(2027, 5, 1, 6, 0, tzinfo=UTC)
    address = f"alt.{uuid.uuid4().hex[:8]}@schule.example.org"
    old = settled(address, t0, DeliveryStatus.SENT)
    await deliveries.add_all(
        [old], [RenderedMessage(old.delivery_id, f"<{old.delivery_id}@x>", "Hallo")]
    )
    # As an older version stored it: no settle time.
    await db[DELIVERIES].update_one({"_id": old.delivery_id}, {"$unset": {"settled_at": ""}})
    retention = Retention(
        deliveries=deliveries,
        clock=MovedClock(t0 + timedelta(days=31)),
        message_days=30,
        delivery_days=365,
    )

    assert await retention.tick() == (1, 0), "dated by its sending, then its body deleted"
    assert await deliveries.message(old.delivery_id) is None
    [doc] = [d async for d in db[DELIVERIES].find({"_id": old.delivery_id})]
    assert doc["settled_at"].replace(tzinfo=UTC) == t0


async def test_a_mail_in_flight_at_the_erasure_is_left_to_its_attempt_and_never_retried(
    isolated: dict[str, str], mongo: AsyncMongoClient[dict[str, Any]], infra: Infra
) -> None:
    db = mongo[isolated["RBN_MONGO_DATABASE"]]
    wired = Wired(db, infra)
    tag = uuid.uuid4().hex[:10]
    ex = Examples(tag=tag, network_id=f"soest-{tag[:6]}", network_name="Soest")
    member = ex.committee_member_added(name=f"Jan Flug {tag}", local="jan.flug")
    address = str(member.person.email)
    await wired.react(event(ex.network_registered(), key=ex.network_id), ex.network_registered())
    await wired.react(event(member, key=ex.network_id), member)
    [welcome] = await wired.repositories.deliveries.to_any_of([address])
    delivery_id = welcome.delivery.delivery_id
    # A sender holds attempt 1 (it may be talking to the SMTP server right now).
    assert await wired.repositories.deliveries.claim(delivery_id, 1, "sender-x", utc_now())

    erasure = PersonErased(erasure_id=f"e-{tag}", subject=subject_of(address))
    await wired.react(event(erasure, key="district"), erasure)
    held = await wired.repositories.deliveries.get(delivery_id)
    assert held is not None
    assert held.delivery.status is DeliveryStatus.PENDING, "its attempt decides"
    assert held.delivery.recipient == erased_address(subject_of(address))

    # That attempt ended without sending (say 4xx); the retry finds the placeholder.
    retry = copy.copy(held.delivery)
    retry.attempts, retry.next_attempt_at = 1, utc_now()
    await wired.repositories.deliveries.save(StoredDelivery(retry, held.version, 0))
    await wired.repositories.deliveries.sync_queue(retry)
    await wired.dispatch()
    settled_now = await wired.repositories.deliveries.get(delivery_id)
    assert settled_now is not None
    assert settled_now.delivery.status is DeliveryStatus.CANCELLED
    await asyncio.sleep(0.5)
    assert await Mailpit(infra.mailpit_api).to(address) == []
    await wired.smtp.close()
