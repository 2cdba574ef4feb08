"""MongoDB storage of deliveries, the recipients projection, preferences and report state.

Every read-decide-write of one document runs under `store.locked(id)` (see rbn_shared.outbox).
The one decision that must hold across instances, "who may make attempt n of a delivery", is an
insert with a unique `_id`: atomic on MongoDB and on FerretDB alike (also within a bulk insert).

Every lookup on the paths of an event or a mail is by `_id`: FerretDB uses an index for nothing
else, and any other filter reads every document of the collection. The dispatcher therefore does
not search the deliveries for due ones: it reads the small `delivery_queue`, one entry
`{_id: delivery id, next_attempt_at}` per pending delivery. The delivery record stays the truth
and the queue is its index, kept by separate writes, each after the delivery's own.

The rendered message never changes, so it is not part of the record (whose every status change
rewrites it, and whose size is most of FerretDB's cost per update): it is stored once in
`delivery_messages` under the delivery's id, right before the delivery, and read by `_id` when
the mail is sent. A message whose delivery was never stored (a crash in between) is harmless:
the redelivered event finds it there and stores the delivery.

- the message is stored, then the pending delivery, then its queue entry;
- a retry is rescheduled in the record, then in the entry;
- a delivery reaches sent/failed/skipped in the record, then its entry is deleted (with those
  of other settled deliveries, in one delete, shortly after).

A crash between the two writes leaves either an entry without a pending record (the dispatcher
reads the record by `_id`, sees that, and deletes or corrects the entry) or a pending record
without an entry, which `requeue_missing()` finds (a scan, run at start-up and every few
minutes): such a mail is late, never lost.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, NamedTuple, TypeVar

from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from notifications.adapters.documents import (
    delivery_event_count,
    delivery_from_document,
    delivery_to_document,
    development_from_document,
    development_to_document,
    district_from_document,
    district_to_document,
    message_from_document,
    message_to_document,
    network_from_document,
    network_to_document,
    preferences_from_document,
    preferences_to_document,
    response_from_document,
    response_to_document,
    schedule_from_document,
    schedule_to_document,
)
from notifications.domain.delivery import Delivery, DeliveryStatus, RenderedMessage
from notifications.domain.digest import RecordedResponse
from notifications.domain.preferences import Preferences
from notifications.domain.recipients import DISTRICT_ID, DistrictCoordination, NetworkDirectory
from notifications.domain.report import Development, ReportSchedule
from rbn_shared.addresses import address_key
from rbn_shared.batching import Batcher
from rbn_shared.mongo import Document, find_by_ids, insert_new
from rbn_shared.outbox import AggregateStore, KeyedLocks, OutboxRecord
from rbn_shared.privacy import ErasureLedger, PrivacyAudit

DELIVERIES = "deliveries"
ATTEMPTS = "delivery_attempts"
QUEUE = "delivery_queue"
MESSAGES = "delivery_messages"
DIRECTORY = "directory"
PREFERENCES = "preferences"
DEVELOPMENTS = "developments"
RESPONSES = "responses"  # the answers the office's daily overview lists
SCHEDULES = "schedules"

REPORT_SCHEDULE_ID = "district-report"
DIGEST_SCHEDULE_ID = "response-digest"

RecordT = TypeVar("RecordT")


@dataclass(frozen=True)
class StoredDelivery:
    """A delivery as read: its state, the document's version, and how many events it caused."""

    delivery: Delivery
    version: int
    event_count: int


def _stored(doc: Document) -> StoredDelivery:
    return StoredDelivery(
        delivery_from_document(doc), int(doc["version"]), delivery_event_count(doc)
    )


@dataclass(frozen=True)
class QueueEntry:
    """A pending delivery as the dispatcher's queue knows it."""

    delivery_id: str
    next_attempt_at: datetime


class _Addition(NamedTuple):
    """One caller's new deliveries, their rendered messages and their events by delivery id."""

    deliveries: Sequence[Delivery]
    messages: Sequence[RenderedMessage]
    events: Mapping[str, Sequence[OutboxRecord]]


class DeliveryRepository:
    """The deliveries (`store`, whose outbox the relay publishes) and, in the same database,
    their attempts' claims, their queue and their rendered messages."""

    def __init__(self, store: AggregateStore, db: AsyncDatabase[Document]) -> None:
        self.store = store
        self._attempts = db[ATTEMPTS]
        self._queue = db[QUEUE]
        self._messages = db[MESSAGES]
        self._claims: Batcher[Document, bool] = Batcher(self._insert_claims)
        self._message_reads: Batcher[str, RenderedMessage | None] = Batcher(self._read_messages)
        self._additions: Batcher[_Addition, set[str]] = Batcher(self._add_together)

    async def create_indexes(self) -> None:
        deliveries = self.store.collection
        await deliveries.create_index([("status", ASCENDING), ("next_attempt_at", ASCENDING)])
        await deliveries.create_index([("recipient", ASCENDING), ("created_at", DESCENDING)])
        await deliveries.create_index([("cause_event_id", ASCENDING)])
        await deliveries.create_index([("settled_at", ASCENDING)])  # the retention's queries
        await self._queue.create_index([("next_attempt_at", ASCENDING)])

    async def add_all(
        self,
        deliveries: Sequence[Delivery],
        messages: Sequence[RenderedMessage] = (),
        events: Mapping[str, Sequence[OutboxRecord]] | None = None,
    ) -> set[str]:
        """Store the rendered messages in one write, then the new deliveries in one more (each
        with its events, by delivery id), then queue the pending ones; returns the ids that were
        new (the others existed, and so did their messages: a repeat keeps the first one).

        Additions at the same moment (the lanes of a consumer's batch, one network each) go
        in the same three writes, in that order."""
        return await self._additions.submit(_Addition(deliveries, messages, events or {}))

    async def _add_together(self, additions: list[_Addition]) -> list[set[str]]:
        messages = [m for a in additions for m in a.messages]
        await insert_new(self._messages, [message_to_document(m) for m in messages])
        by_id: dict[object, Sequence[OutboxRecord]] = {
            delivery_id: records for a in additions for delivery_id, records in a.events.items()
        }
        deliveries = [d for a in additions for d in a.deliveries]
        docs = [
            {**delivery_to_document(d), "event_count": len(by_id.get(d.delivery_id, ()))}
            for d in deliveries
        ]
        new = {str(i) for i in await self.store.insert_all(docs, by_id)}
        entries = [
            {"_id": d.delivery_id, "next_attempt_at": d.next_attempt_at or d.created_at}
            for d in deliveries
            if d.delivery_id in new and d.is_open()
        ]
        await insert_new(self._queue, entries)  # the repair step may have been quicker for some
        return [{d.delivery_id for d in a.deliveries} & new for a in additions]

    async def mailed_about(
        self, recipient: str, conference_id: str, invitation_id: str
    ) -> Delivery | None:
        """A delivery to `recipient` for that invitation of that conference, if there is one
        (a scan by the recipient's index; used for the rare answer to a calendar's COUNTER)."""
        doc = await self.store.collection.find_one(
            {
                "recipient": address_key(recipient),
                "conference_id": conference_id,
                "invitation_id": invitation_id,
            },
            {"outbox": 0, "message": 0},
        )
        return None if doc is None else delivery_from_document(doc)

    async def get(self, delivery_id: str) -> StoredDelivery | None:
        doc = await self.store.load(delivery_id)
        return None if doc is None else _stored(doc)

    async def save(self, stored: StoredDelivery, events: Sequence[OutboxRecord] = ()) -> int:
        """The new state of a delivery (status, attempts, times, errors) with its events (the
        ones after `stored.event_count`), if the record is still at `stored.version`; returns
        the new version, or raises VersionConflict. Saves at the same moment go in one write."""
        doc = {
            **delivery_to_document(stored.delivery),
            "event_count": stored.event_count + len(events),
        }
        return await self.store.save_together(doc, stored.version, events)

    async def message(self, delivery_id: str) -> RenderedMessage | None:
        """The delivery's rendered message, read by `_id` (reads at the same moment together)."""
        return await self._message_reads.submit(delivery_id)

    async def _read_messages(self, delivery_ids: list[str]) -> list[RenderedMessage | None]:
        wanted = list(dict.fromkeys(delivery_ids))
        found = {
            str(doc["_id"]): message_from_document(doc)
            for doc in await find_by_ids(self._messages, wanted)
            if doc is not None
        }
        missing = [i for i in wanted if i not in found]
        if missing:  # deliveries stored before the split carry their message in the record
            legacy = self.store.collection.find(
                {"_id": {"$in": missing}}, {"message": 1, "message_id": 1}
            )
            async for doc in legacy:
                if "message" in doc:
                    found[str(doc["_id"])] = RenderedMessage(
                        str(doc["_id"]), str(doc["message_id"]), str(doc["message"])
                    )
        return [found.get(i) for i in delivery_ids]

    # ------------------------------------------------------------------ the queue

    async def due(self, now: datetime, limit: int) -> list[QueueEntry]:
        """Queue entries due by `now`, earliest first (a scan of the queue, not the deliveries)."""
        cursor = (
            self._queue.find({"next_attempt_at": {"$lte": now}})
            .sort("next_attempt_at", ASCENDING)
            .limit(limit)
        )
        return [QueueEntry(str(doc["_id"]), doc["next_attempt_at"]) async for doc in cursor]

    async def sync_queue(self, delivery: Delivery) -> None:
        """Make the queue agree with a stored delivery: an entry if pending, none otherwise.

        Call it after the delivery's own write, never before (see the module's docstring).
        """
        if not delivery.is_open():
            await self._queue.delete_one({"_id": delivery.delivery_id})
            return
        at = delivery.next_attempt_at or delivery.created_at
        result = await self._queue.update_one(
            {"_id": delivery.delivery_id}, {"$set": {"next_attempt_at": at}}
        )
        if result.matched_count == 0:
            with contextlib.suppress(DuplicateKeyError):
                await self._queue.insert_one({"_id": delivery.delivery_id, "next_attempt_at": at})

    async def forget_queued(self, delivery_id: str) -> None:
        """Drop an entry whose delivery does not exist."""
        await self._queue.delete_one({"_id": delivery_id})

    async def forget_all_queued(self, delivery_ids: Sequence[str]) -> None:
        """Drop the entries of settled deliveries, in one delete."""
        if delivery_ids:
            await self._queue.delete_many({"_id": {"$in": list(delivery_ids)}})

    async def queued(self) -> int:
        return await self._queue.count_documents({})

    async def requeue_missing(self) -> int:
        """Queue every pending delivery that has no entry; returns how many were missing.

        The one scan of the deliveries, for what a crash between two writes left behind. A
        delivery settled while this runs may get an entry again; the dispatcher drops it.
        """
        cursor = self.store.collection.find(
            {"status": DeliveryStatus.PENDING.value},
            {"_id": 1, "next_attempt_at": 1, "created_at": 1},
        )
        pending = {
            str(doc["_id"]): doc.get("next_attempt_at") or doc["created_at"] async for doc in cursor
        }
        if not pending:
            return 0
        queued = {str(doc["_id"]) async for doc in self._queue.find({}, {"_id": 1})}
        missing = 0
        for delivery_id, at in pending.items():
            if delivery_id in queued:
                continue
            try:
                await self._queue.insert_one({"_id": delivery_id, "next_attempt_at": at})
                missing += 1
            except DuplicateKeyError:
                pass  # queued meanwhile
        return missing

    # ------------------------------------------------------------------ privacy

    async def recipients(self) -> list[str]:
        """Every address deliveries went or go to (from the recipient index; for an erasure,
        which has only the subject's digest to go by)."""
        return [str(a) for a in await self.store.collection.distinct("recipient")]

    async def to_any_of(self, addresses: Sequence[str]) -> list[StoredDelivery]:
        cursor = self.store.collection.find(
            {"recipient": {"$in": list(addresses)}}, {"outbox": 0, "message": 0}
        )
        return [_stored(doc) async for doc in cursor]

    async def mentioning(self, needles: Sequence[str]) -> list[StoredDelivery]:
        """Deliveries to others whose subject line or error names the person (a scan: rare)."""
        cursor = self.store.collection.find({}, {"outbox": 0, "message": 0})
        found = [_stored(doc) async for doc in cursor]
        return [s for s in found if s.delivery.mentions(list(needles))]

    async def messages_mentioning(self, needles: Sequence[str]) -> list[str]:
        """The ids of rendered messages whose text names the person (a scan: rare)."""
        wanted = [n.casefold() for n in needles if n]
        return [
            str(doc["_id"])
            async for doc in self._messages.find({}, {"text": 1})
            if any(n in _readable(str(doc.get("text", ""))).casefold() for n in wanted)
        ]

    async def forget_messages(self, delivery_ids: Sequence[str]) -> int:
        if not delivery_ids:
            return 0
        result = await self._messages.delete_many({"_id": {"$in": list(delivery_ids)}})
        # A record from before the split may still carry its message.
        await self.store.collection.update_many(
            {"_id": {"$in": list(delivery_ids)}, "message": {"$exists": True}},
            {"$unset": {"message": ""}},
        )
        return result.deleted_count

    async def settled_before(self, cutoff: datetime, unless: str, limit: int) -> list[Delivery]:
        """Deliveries settled by `cutoff` not yet marked `unless`, oldest first (one batch)."""
        cursor = (
            self.store.collection.find(
                {"settled_at": {"$lte": cutoff}, unless: {"$ne": True}},
                {"outbox": 0, "message": 0},
            )
            .sort("settled_at", ASCENDING)
            .limit(limit)
        )
        return [delivery_from_document(doc) async for doc in cursor]

    async def date_old_settlements(self, limit: int) -> int:
        """Give settled records stored before there was a `settled_at` their settle time (when
        sent or failed, else when created), so that retention finds them; one batch."""
        final = [
            DeliveryStatus.SENT.value,
            DeliveryStatus.FAILED.value,
            DeliveryStatus.SKIPPED.value,
        ]
        cursor = self.store.collection.find(
            {"settled_at": None, "status": {"$in": final}},
            {"sent_at": 1, "failed_at": 1, "created_at": 1},
        ).limit(limit)
        dated = [
            UpdateOne(
                {"_id": doc["_id"], "settled_at": None},
                {
                    "$set": {
                        "settled_at": doc.get("sent_at")
                        or doc.get("failed_at")
                        or doc["created_at"]
                    }
                },
            )
            async for doc in cursor
        ]
        if dated:
            await self.store.collection.bulk_write(dated, ordered=False)
        return len(dated)

    async def mark(self, delivery_ids: Sequence[str], flag: str) -> None:
        await self.store.collection.update_many(
            {"_id": {"$in": list(delivery_ids)}}, {"$set": {flag: True}}
        )

    async def anonymise_all(self, deliveries: Sequence[Delivery], flag: str) -> None:
        """Store the anonymised recipients and subjects of a batch in one write, marked."""
        if deliveries:
            await self.store.collection.bulk_write(
                [
                    UpdateOne(
                        {"_id": d.delivery_id},
                        {
                            "$set": {
                                "recipient": d.recipient,
                                "subject": d.subject,
                                "last_error": d.last_error,
                                flag: True,
                            }
                        },
                    )
                    for d in deliveries
                ],
                ordered=False,
            )

    async def search(
        self, where: DeliveryFilter | None = None, *, limit: int = 100, offset: int = 0
    ) -> list[Delivery]:
        """Matching deliveries, newest first."""
        cursor = (
            self.store.collection.find(
                (where or DeliveryFilter()).query(), {"outbox": 0, "message": 0}
            )
            .sort([("created_at", DESCENDING), ("_id", ASCENDING)])
            .skip(offset)
            .limit(limit)
        )
        return [delivery_from_document(doc) async for doc in cursor]

    async def count(self, where: DeliveryFilter | None = None) -> int:
        return await self.store.collection.count_documents((where or DeliveryFilter()).query())

    # ------------------------------------------------------------------ attempts

    async def claim(self, delivery_id: str, attempt: int, instance: str, now: datetime) -> bool:
        """Reserve attempt `attempt` of a delivery; only one claimant in the world gets it.

        Claims made at the same moment (the dispatcher starts many attempts at once) are inserted
        together; each claim is still its own document with a unique `_id`.
        """
        claim = {
            "_id": f"{delivery_id}#{attempt}",
            "delivery_id": delivery_id,
            "attempt": attempt,
            "instance": instance,
            "started_at": now,
        }
        return await self._claims.submit(claim)

    async def _insert_claims(self, claims: list[Document]) -> list[bool]:
        refused = await insert_new(self._attempts, claims)
        return [i not in refused for i in range(len(claims))]

    async def claimed_by(self, delivery_id: str, attempt: int) -> str | None:
        doc = await self._attempts.find_one({"_id": f"{delivery_id}#{attempt}"})
        return str(doc["instance"]) if doc else None

    async def claim_started_at(self, delivery_id: str, attempt: int) -> datetime | None:
        doc = await self._attempts.find_one({"_id": f"{delivery_id}#{attempt}"})
        return doc["started_at"] if doc else None


class DirectoryRepository:
    """The recipients projection: one document per network, one for the district.

    The networks this process wrote are remembered as written, with their version, for the
    projection's next change of them (`network_to_change`): the instance that owns a network's
    partition writes it event after event, and need not read back what it wrote. The write is
    guarded by that version, so if another instance wrote meanwhile it is refused, the memory
    of that network dropped, and the change repeated on what is stored. Every other reader
    reads the database.
    """

    REMEMBERED = 64  # the twelve networks, with room: one that fell out costs one read

    def __init__(self, store: AggregateStore) -> None:
        self.store = store
        self._written: OrderedDict[str, tuple[NetworkDirectory, int]] = OrderedDict()

    async def network(self, network_id: str) -> tuple[NetworkDirectory | None, int | None]:
        return _versioned(await self.store.load(network_id), network_from_document)

    async def network_to_change(
        self, network_id: str
    ) -> tuple[NetworkDirectory | None, int | None, bool]:
        """The network as this process wrote it last (True), else as stored (False)."""
        written = self._written.get(network_id)
        if written is not None:
            return *written, True
        return *await self.network(network_id), False

    async def save_network(self, network: NetworkDirectory, version: int | None) -> None:
        try:
            written = await _write(self.store, network_to_document(network), version)
        except BaseException:  # refused, or not known whether it was written
            self._written.pop(network.network_id, None)
            raise
        self._written[network.network_id] = (network, written)
        self._written.move_to_end(network.network_id)
        while len(self._written) > self.REMEMBERED:
            self._written.popitem(last=False)

    async def networks(self) -> list[NetworkDirectory]:
        cursor = self.store.collection.find({"_id": {"$ne": DISTRICT_ID}}, {"outbox": 0})
        return [network_from_document(doc) async for doc in cursor]

    async def district(self) -> tuple[DistrictCoordination | None, int | None]:
        return _versioned(await self.store.load(DISTRICT_ID), district_from_document)

    async def save_district(self, district: DistrictCoordination, version: int | None) -> None:
        await _write(self.store, district_to_document(district), version)


class PreferencesRepository:
    def __init__(self, store: AggregateStore) -> None:
        self.store = store

    async def get(self, email: str) -> tuple[Preferences, int | None]:
        doc = await self.store.load(email.lower())
        if doc is None:
            return Preferences(email.lower()), None  # everything switched on
        return preferences_from_document(doc), int(doc["version"])

    async def save(self, preferences: Preferences, version: int | None, now: datetime) -> None:
        await _write(self.store, preferences_to_document(preferences, now), version)

    async def addresses(self) -> list[str]:
        return [str(doc["_id"]) async for doc in self.store.collection.find({}, {"_id": 1})]

    async def forget(self, addresses: Sequence[str]) -> int:
        result = await self.store.collection.delete_many({"_id": {"$in": list(addresses)}})
        return result.deleted_count


class RecordsByTime(Generic[RecordT]):
    """Records a periodic mail is built from, one document per event, found by when they were
    recorded (so a period holds what arrived in it)."""

    def __init__(
        self,
        collection: AsyncCollection[Document],
        to_document: Callable[[RecordT], Document],
        from_document: Callable[[Document], RecordT],
    ) -> None:
        self.collection = collection
        self._to_document = to_document
        self._from_document = from_document
        self._additions: Batcher[Document, None] = Batcher(self._add_together)

    async def create_indexes(self) -> None:
        await self.collection.create_index([("recorded_at", ASCENDING)])

    async def add(self, record: RecordT) -> None:
        """Record once per event; a repeated event keeps its first recording (and period).
        Records added at the same moment go in one write."""
        await self._additions.submit(self._to_document(record))

    async def _add_together(self, docs: list[Document]) -> list[None]:
        await insert_new(self.collection, docs)
        return [None] * len(docs)

    async def all(self) -> list[RecordT]:
        """Every record (an erasure's scan: rare)."""
        return [self._from_document(doc) async for doc in self.collection.find()]

    async def replace(self, record_id: str, record: RecordT) -> None:
        await self.collection.replace_one({"_id": record_id}, self._to_document(record))

    async def recorded_between(self, start: datetime, end: datetime) -> list[RecordT]:
        cursor = self.collection.find({"recorded_at": {"$gte": start, "$lt": end}})
        return [self._from_document(doc) async for doc in cursor]

    async def forget_recorded_before(self, cutoff: datetime) -> int:
        """Delete what was recorded before `cutoff` (its mail went out long ago)."""
        result = await self.collection.delete_many({"recorded_at": {"$lt": cutoff}})
        return result.deleted_count


class DevelopmentRepository(RecordsByTime[Development]):
    """The developments for the district report."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        super().__init__(collection, development_to_document, development_from_document)


class ResponseRepository(RecordsByTime[RecordedResponse]):
    """The answers for the education offices' overviews."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        super().__init__(collection, response_to_document, response_from_document)


class ScheduleRepository:
    """The periodic mails' schedules (district report, response digest), one document each."""

    def __init__(self, store: AggregateStore) -> None:
        self.store = store

    async def schedule(self, schedule_id: str) -> tuple[ReportSchedule | None, int | None]:
        return _versioned(await self.store.load(schedule_id), schedule_from_document)

    async def save_schedule(
        self, schedule_id: str, schedule: ReportSchedule, version: int | None
    ) -> None:
        await _write(self.store, schedule_to_document(schedule_id, schedule), version)

    async def report_schedule(self) -> tuple[ReportSchedule | None, int | None]:
        return await self.schedule(REPORT_SCHEDULE_ID)

    async def save_report_schedule(self, schedule: ReportSchedule, version: int | None) -> None:
        await self.save_schedule(REPORT_SCHEDULE_ID, schedule, version)


async def rewrite_outboxes(
    collection: AsyncCollection[Document], rewrite: Callable[[Any], Any]
) -> int:
    """Rewrite the events still waiting in the outboxes of a collection (an erasure's: they
    occurred before it and are published anonymised); returns how many documents changed.

    Each write is conditional on the outbox as read: if the relay published and removed some
    meanwhile, the document is read again, so no event is published twice."""
    changed = 0
    cursor = collection.find({"outbox.0": {"$exists": True}}, {"outbox": 1})
    for doc in [d async for d in cursor]:
        outbox = doc["outbox"]
        while outbox:
            new = [rewrite(record) for record in outbox]
            if new == outbox:
                break
            result = await collection.update_one(
                {"_id": doc["_id"], "outbox": outbox}, {"$set": {"outbox": new}}
            )
            if result.modified_count:
                changed += 1
                break
            again = await collection.find_one({"_id": doc["_id"]}, {"outbox": 1})
            outbox = (again or {}).get("outbox") or []
    return changed


def _versioned(
    doc: Document | None, read: Callable[[Document], RecordT]
) -> tuple[RecordT | None, int | None]:
    """A record and the version it was read at; (None, None) for one not stored yet."""
    return (None, None) if doc is None else (read(doc), int(doc["version"]))


async def _write(store: AggregateStore, doc: Document, version: int | None) -> int:
    """The first write of a record inserts it (a second instance's first write is refused);
    a later one is guarded by the version it was read at. Returns the record's new version."""
    if version is None:
        await store.insert(doc)
        return 1
    return await store.save(doc, version)


@dataclass(frozen=True)
class Repositories:
    """The service's storage, in one database: what the use cases and the routes are handed."""

    deliveries: DeliveryRepository
    directory: DirectoryRepository
    preferences: PreferencesRepository
    developments: DevelopmentRepository
    schedules: ScheduleRepository
    responses: ResponseRepository
    erasures: ErasureLedger
    audit: PrivacyAudit

    @classmethod
    def over(
        cls, db: AsyncDatabase[Document], locks: KeyedLocks, deliveries: AggregateStore
    ) -> Repositories:
        """The repositories on `db`, locked by `locks`; `deliveries` is the one store with
        events of its own, whose outbox the relay publishes. The others are versioned and
        locked, but not scanned by the relay."""
        return cls(
            deliveries=DeliveryRepository(deliveries, db),
            directory=DirectoryRepository(AggregateStore(db[DIRECTORY], locks)),
            preferences=PreferencesRepository(AggregateStore(db[PREFERENCES], locks)),
            developments=DevelopmentRepository(db[DEVELOPMENTS]),
            schedules=ScheduleRepository(AggregateStore(db[SCHEDULES], locks)),
            responses=ResponseRepository(db[RESPONSES]),
            erasures=ErasureLedger(db),
            audit=PrivacyAudit(db),
        )


@dataclass(frozen=True)
class DeliveryFilter:
    """What a delivery search matches; a criterion left out matches every delivery."""

    recipient: str | None = None
    cause_event_id: str | None = None
    status: DeliveryStatus | None = None
    network_id: str | None = None

    def query(self) -> dict[str, Any]:
        query: dict[str, Any] = {}
        if self.recipient:
            query["recipient"] = self.recipient.lower()
        if self.cause_event_id:
            query["cause_event_id"] = self.cause_event_id
        if self.status:
            query["status"] = self.status.value
        if self.network_id:
            query["network_id"] = self.network_id
        return query


def _readable(raw: str) -> str:
    """A stored MIME message as people read it: the raw text, its decoded headers and its
    decoded parts (a name with umlauts is quoted-printable or base64 in the raw text)."""
    message = email.message_from_string(raw, policy=email.policy.default)
    texts = [raw, *(str(value) for value in message.values())]
    for part in message.walk():
        if part.is_multipart():
            continue
        payload = part.get_payload(decode=True)
        if isinstance(payload, bytes):
            texts.append(payload.decode(part.get_content_charset() or "utf-8", "replace"))
    return "\n".join(texts)
