"""The transactional outbox, built on single-document atomicity.

A service keeps each aggregate (a network, a conference, a delivery) in one document with a
`version` and an `outbox` array. One version-guarded update writes the new state *and* appends the
events the change caused, so the state change and its events are stored together or not at all.
The relay then publishes the pending events (acks from all in-sync replicas) and only after Kafka
confirmed them removes them from the document. A crash in between publishes them again on the next
pass: at least once, and consumers drop the repeat by event id.

FerretDB (the local stand-in for MongoDB) evaluates a conditional update as a read followed by a
write, so two concurrent updates of one document could both pass the version check. Every write
and every relay pass on a document therefore runs under a per-document lock of this process
(`KeyedLocks`). Between several instances of one service the version guard alone decides, which
is atomic on MongoDB. (Upstream FerretDB looks a document up by index only when the filter is
the `_id` alone; the project's build narrows `{_id, version}` by the index too, see
deploy/local/ferretdb/patches.)

The relay learns from the stores which events a write appended and publishes those at once,
from memory, then removes exactly those records with one `$pullAll` (records another write
appended meanwhile stay). A full sweep over the collections, every `sweep_seconds`, picks up what
a crash or another instance left.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol
from weakref import WeakValueDictionary

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

from rbn_shared.batching import Batcher
from rbn_shared.errors import ConcurrentWrite
from rbn_shared.events.envelope import Envelope
from rbn_shared.logging import get_logger
from rbn_shared.metrics import EVENTS_PUBLISHED
from rbn_shared.mongo import (
    DUPLICATE_KEY,
    Document,
    find_by_ids,
    insert_new,
    refused_as_duplicate,
)
from rbn_shared.retrying import RELAY_OUTAGE
from rbn_shared.waiting import wait_at_most

log = get_logger(__name__)


# Sent records are removed from up to this many documents in one write. Each document's own
# records are compared with all of the write's, so the write is kept small.
FORGET_BATCH = 64


class Publisher(Protocol):
    """Sends records to Kafka; returns once the broker acknowledged all of them."""

    async def publish_all(self, records: Sequence[OutboxRecord]) -> None: ...


class OutboxRecord(dict[str, Any]):
    """An event as it waits in a document: topic, key, value and headers, ready to send."""

    @classmethod
    def of(cls, envelope: Envelope, topic: str) -> OutboxRecord:
        return cls(
            event_id=str(envelope.event_id),
            type=envelope.type,
            topic=topic,
            key=envelope.key,
            value=envelope.to_wire().decode(),
            headers=envelope.kafka_headers(),
        )


class KeyedLocks:
    """One asyncio lock per key, forgotten when nobody holds or waits for it."""

    def __init__(self) -> None:
        self._locks: WeakValueDictionary[object, asyncio.Lock] = WeakValueDictionary()

    @contextlib.asynccontextmanager
    async def hold(self, key: object) -> AsyncIterator[None]:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        async with lock:
            yield


# Set by `save_all` to tell, after a partial match, which of its changes were written.
WRITE_MARK = "write_mark"
# A stored document's state as it is read: without the outbox and the write mark.
STATE_ONLY = {"outbox": 0, WRITE_MARK: 0}


@dataclass(frozen=True)
class Saved:
    """One change for `AggregateStore.save_all`: a document's new state, the version it was read
    at, and the events that go into its outbox with it."""

    doc: Document
    expected_version: int
    events: Sequence[OutboxRecord] = ()


def _refusals_all_duplicates(error: OperationFailure) -> bool:
    """A bulk write whose refused changes were all refused by a unique index."""
    if not isinstance(error, BulkWriteError) or error.details.get("writeConcernErrors"):
        return False
    failures = error.details.get("writeErrors", [])
    return bool(failures) and all(f.get("code") == DUPLICATE_KEY for f in failures)


class AggregateStore:
    """Versioned documents with an outbox, in one collection.

    Use `async with store.locked(id):` around load, decide and save, so that one process never
    interleaves two changes of one document.
    """

    def __init__(self, collection: AsyncCollection[Document], locks: KeyedLocks) -> None:
        self.collection = collection
        self._locks = locks
        self._on_write: Callable[[AggregateStore, object, Sequence[OutboxRecord]], None] | None = (
            None
        )
        self._saves: Batcher[Saved, bool | DuplicateKeyError] = Batcher(self.save_all)

    def locked(self, doc_id: object) -> contextlib.AbstractAsyncContextManager[None]:
        return self._locks.hold((self.collection.name, doc_id))

    def on_write(
        self, callback: Callable[[AggregateStore, object, Sequence[OutboxRecord]], None]
    ) -> None:
        """Call `callback(store, doc_id, events)` after every write with events (for the relay)."""
        self._on_write = callback

    async def load(self, doc_id: object) -> Document | None:
        return await self.collection.find_one({"_id": doc_id}, STATE_ONLY)

    async def insert(self, doc: Document, events: Sequence[OutboxRecord] = ()) -> None:
        """Store a new document at version 1; DuplicateKeyError if its id or a unique key exists."""
        await self.collection.insert_one({**doc, "version": 1, "outbox": list(events)})
        self._written(doc["_id"], events)

    async def insert_all(
        self,
        docs: Sequence[Document],
        events: Mapping[object, Sequence[OutboxRecord]] | None = None,
    ) -> set[object]:
        """Store new documents in one write, each with its events (`events` by document id);
        returns the ids that were new.

        Documents whose id or unique key exists already are left out, the others stored.
        """
        events = events or {}
        refused = await insert_new(
            self.collection,
            [{**doc, "version": 1, "outbox": list(events.get(doc["_id"], ()))} for doc in docs],
        )
        new = {doc["_id"] for i, doc in enumerate(docs) if i not in refused}
        for doc_id in new:
            self._written(doc_id, events.get(doc_id, ()))
        return new

    async def save(
        self, doc: Document, expected_version: int, events: Sequence[OutboxRecord] = ()
    ) -> int:
        """Replace the state of a document read at `expected_version`; returns the new version."""
        change = Saved(doc, expected_version, events)
        return self._version_after(await self._save_alone(change), change)

    async def save_together(
        self, doc: Document, expected_version: int, events: Sequence[OutboxRecord] = ()
    ) -> int:
        """`save`, where the saves of this store at the same moment (concurrent requests, the
        lanes of a consumer's batch) go in one write (`save_all`)."""
        change = Saved(doc, expected_version, events)
        return self._version_after(await self._saves.submit(change), change)

    async def save_all(self, changes: Sequence[Saved]) -> list[bool | DuplicateKeyError]:
        """Several `save`s in one write; per change, whether it was written (False: the document
        was no longer at the version it was read at, and nothing of that change was stored), or
        the refusal of a unique index (that change's alone: the others are written all the
        same).

        The database answers only how many matched. When that is all of them, each was written;
        otherwise each change's own write mark (a fresh token in the document) tells which. A
        change that was written and then overwritten by another instance at once looks unwritten:
        its caller decides again on what is there, and its events, in the outbox, go out with the
        relay's next sweep. FerretDB fails the whole command when one change breaks a unique
        index; then the changes not written go again one by one, so that the refusal is only
        the offending change's.
        """
        if len(changes) <= 1:
            return [await self._save_alone(change) for change in changes]
        marks = [uuid.uuid4().hex for _ in changes]
        writes = [
            UpdateOne(
                {"_id": change.doc["_id"], "version": change.expected_version},
                self._update(change, write_mark=mark),
            )
            for change, mark in zip(changes, marks, strict=True)
        ]
        try:
            matched: int | None = (
                await self.collection.bulk_write(writes, ordered=False)
            ).matched_count
        except OperationFailure as error:  # a BulkWriteError on MongoDB, a failure on FerretDB
            if not refused_as_duplicate(error) and not _refusals_all_duplicates(error):
                raise
            matched = None
        outcomes: list[bool | DuplicateKeyError] = []
        if matched == len(changes):
            outcomes = [True] * len(changes)
        else:
            ids = [change.doc["_id"] for change in changes]
            found = await find_by_ids(self.collection, ids, {WRITE_MARK: 1})
            stored_marks = {doc.get(WRITE_MARK) for doc in found if doc is not None}
            for change, mark in zip(changes, marks, strict=True):
                if mark in stored_marks:
                    outcomes.append(True)
                elif matched is not None:
                    outcomes.append(False)  # not matched: read at an older version
                else:
                    outcomes.append(await self._save_alone(change, announce=False))
        for change, outcome in zip(changes, outcomes, strict=True):
            if outcome is True:
                self._written(change.doc["_id"], change.events)
        return outcomes

    async def _save_alone(
        self, change: Saved, *, announce: bool = True
    ) -> bool | DuplicateKeyError:
        doc_id, version = change.doc["_id"], change.expected_version
        try:
            written = await self.update_at_version(doc_id, version, self._update(change))
        except DuplicateKeyError as refusal:
            return refusal
        if written and announce:
            self._written(doc_id, change.events)
        return written

    def _version_after(self, outcome: bool | DuplicateKeyError, change: Saved) -> int:
        """The document's version after a change that was written; else the refusal."""
        if isinstance(outcome, DuplicateKeyError):
            raise outcome  # refused by a unique index: this change's alone
        if not outcome:
            raise ConcurrentWrite(
                f"{self.collection.name}/{change.doc['_id']} is no longer at version "
                f"{change.expected_version}"
            )
        return change.expected_version + 1

    @staticmethod
    def _update(change: Saved, *, write_mark: str | None = None) -> Document:
        state = {k: v for k, v in change.doc.items() if k not in ("_id", "version", "outbox")}
        if write_mark is not None:
            state[WRITE_MARK] = write_mark
        update: Document = {"$set": {**state, "version": change.expected_version + 1}}
        if change.events:
            update["$push"] = {"outbox": {"$each": list(change.events)}}
        return update

    async def update_at_version(self, doc_id: object, version: int, update: Document) -> bool:
        """Apply `update` if the document is still at `version`; False if it is not;
        DuplicateKeyError if a unique index refuses it (on FerretDB too)."""
        try:
            result = await self.collection.update_one({"_id": doc_id, "version": version}, update)
        except OperationFailure as error:
            if isinstance(error, DuplicateKeyError) or not refused_as_duplicate(error):
                raise
            raise DuplicateKeyError(str(error), DUPLICATE_KEY, error.details) from error
        return result.matched_count == 1

    def _written(self, doc_id: object, events: Sequence[OutboxRecord]) -> None:
        if events and self._on_write is not None:
            self._on_write(self, doc_id, events)


class OutboxRelay:
    """Publishes pending outbox events of some stores, in order per document, then removes them."""

    def __init__(
        self,
        stores: Sequence[AggregateStore],
        publisher: Publisher,
        *,
        service: str = "unknown",
        poll_seconds: float = 1.0,
        sweep_seconds: float = 10.0,
        batch_size: int = 500,
    ) -> None:
        self._stores = list(stores)
        self._publisher = publisher
        self._poll_seconds = poll_seconds
        self._sweep_seconds = sweep_seconds
        self._batch_size = batch_size
        self._service = service
        # Events just written, per document in write order: published without reading them back.
        self._dirty: dict[AggregateStore, dict[object, list[OutboxRecord]]] = {}
        self._last_sweep = float("-inf")
        self._pending_at_sweep = 0
        self.wake = asyncio.Event()
        self.healthy = True
        self.published_total = 0
        for store in self._stores:
            store.on_write(self._mark)

    def _mark(self, store: AggregateStore, doc_id: object, events: Sequence[OutboxRecord]) -> None:
        self._dirty.setdefault(store, {}).setdefault(doc_id, []).extend(events)
        self.wake.set()

    async def run(self) -> None:
        """Relay until cancelled; survives database and Kafka outages by retrying (RELAY_OUTAGE,
        its waits capped by the poll interval)."""
        outage = RELAY_OUTAGE.but(
            wait_max=min(RELAY_OUTAGE.wait_max, self._poll_seconds), on_failure=self._unreachable
        )
        while True:
            self.wake.clear()
            sent = await outage.call(self._pass)
            if sent or self._dirty:
                continue  # there may be more
            await wait_at_most(self.wake, self._poll_seconds)

    async def _pass(self) -> int:
        """Publish what writes announced, and sweep when it is time; how many were sent."""
        sent = await self._drain_dirty()
        if asyncio.get_running_loop().time() - self._last_sweep >= self._sweep_seconds:
            sent += await self.sweep()
        self.healthy = True
        return sent

    def _unreachable(self, _error: Exception, _attempt: int) -> None:
        self.healthy = False
        self._last_sweep = float("-inf")  # after an outage, look everywhere

    async def drain(self) -> int:
        """Publish everything pending now: the documents just written, then a full sweep."""
        return await self._drain_dirty() + await self.sweep()

    async def _drain_dirty(self) -> int:
        """Publish the events writes told us about, many documents per round trip to Kafka."""
        sent = 0
        while self._dirty:
            # The store written first goes first: events of one network, written to several of
            # its aggregates one after another, reach Kafka in the order they were written.
            store = next(iter(self._dirty))
            written = self._dirty.pop(store)
            try:
                while written:
                    chunk = list(itertools.islice(written.items(), self._batch_size))
                    # One pipelined send for the whole chunk (per document in write order),
                    # then the records removed, many documents per write.
                    await self._publisher.publish_all([r for _, rs in chunk for r in rs])
                    for start in range(0, len(chunk), FORGET_BATCH):
                        await self._forget(store, chunk[start : start + FORGET_BATCH])
                    for doc_id, records in chunk:
                        del written[doc_id]
                        sent += len(records)
            except BaseException:
                # Keep what is left for the next pass, ahead of anything written meanwhile.
                # (A chunk sent but not yet removed is sent again: at least once.)
                newer = self._dirty.get(store, {})
                for doc_id, records in newer.items():
                    written.setdefault(doc_id, []).extend(records)
                self._dirty[store] = written
                raise
        self.published_total += sent
        return sent

    async def sweep(self) -> int:
        """One pass over every store, for what no write told us about."""
        sent = pending = 0
        for store in self._stores:
            cursor = store.collection.find({"outbox.0": {"$exists": True}}, {"outbox": 1})
            found = [(doc["_id"], len(doc["outbox"])) async for doc in cursor]
            pending += sum(n for _, n in found)
            for doc_id, _ in found[: self._batch_size]:
                sent += await self._relay(store, doc_id)
        self._pending_at_sweep = max(0, pending - sent)
        self._last_sweep = asyncio.get_running_loop().time()
        self.published_total += sent
        return sent

    async def _relay(self, store: AggregateStore, doc_id: object) -> int:
        """Publish what the document holds now (the sweep's way, for what no write told us)."""
        async with store.locked(doc_id):
            doc = await store.collection.find_one({"_id": doc_id}, {"outbox": 1})
            records = [OutboxRecord(r) for r in (doc or {}).get("outbox", [])]
            if records:
                await self._publisher.publish_all(records)
                await self._remove(store, [(doc_id, records)])
            # Whatever a write told us about this document is among them: do not send it twice.
            self._dirty.get(store, {}).pop(doc_id, None)
            return len(records)

    async def _forget(
        self, store: AggregateStore, sent: Sequence[tuple[object, Sequence[OutboxRecord]]]
    ) -> None:
        async with contextlib.AsyncExitStack() as locks:
            for doc_id, _ in sent:
                await locks.enter_async_context(store.locked(doc_id))
            await self._remove(store, sent)

    async def _remove(
        self, store: AggregateStore, sent: Sequence[tuple[object, Sequence[OutboxRecord]]]
    ) -> None:
        """Remove sent records from their documents, in one write (call under their locks).

        `$pullAll` removes records equal to the ones sent and leaves any that another instance
        appended meanwhile; records already removed by someone else are simply not there (event
        ids are unique, so one document's records never match another's). It is a write, so it
        runs under the documents' locks (FerretDB rewrites each whole document).
        """
        records = [dict(r) for _, rs in sent for r in rs]
        await store.collection.update_many(
            {"_id": {"$in": [doc_id for doc_id, _ in sent]}}, {"$pullAll": {"outbox": records}}
        )
        for record in records:
            EVENTS_PUBLISHED.labels(self._service, record.get("type", "unknown")).inc()

    async def backlog(self) -> int:
        """Events waiting: those found at the last sweep and not sent since, plus fresh writes."""
        return self._pending_at_sweep + sum(len(ids) for ids in self._dirty.values())
