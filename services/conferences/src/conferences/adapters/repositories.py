"""MongoDB storage: conferences (versioned, with an outbox) and the network projection.

A conference document carries, besides its state, `version` (raised by every write: what If-Match
and ETag name) and `event_count`, the number of events the conference has caused so far: each
event's `aggregate_version` is its position in that history, so a write with two events gives
them two consecutive positions (see rbn_shared.changes). A save that changes neither the state
nor the history writes nothing, so the version stays: a repeated answer, a roster that is already
followed, a failure already noted.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime

from pymongo import ASCENDING
from pymongo.asynchronous.collection import AsyncCollection

from conferences.adapters.documents import (
    conference_from_document,
    conference_to_document,
    view_from_document,
    view_to_document,
)
from conferences.domain.model import Conference
from conferences.domain.privacy import scrubbed
from conferences.domain.projection import NetworkView
from rbn_shared.errors import ConcurrentWrite, VersionConflict
from rbn_shared.mongo import Document
from rbn_shared.outbox import AggregateStore, KeyedLocks, OutboxRecord

CONFERENCES = "conferences"
NETWORKS = "network_projection"


@dataclass(frozen=True)
class StoredConference:
    """A conference as read: its state, the document's version, and how many events it caused."""

    conference: Conference
    version: int
    event_count: int
    state_as_read: Document | None = field(default=None, compare=False, repr=False)
    """The conference's state as read, to tell a save that changes nothing (None: not kept)."""


def _stored(doc: Document, *, keep_state: bool = False) -> StoredConference:
    version = int(doc["version"])
    conference = conference_from_document(doc)
    # Documents written before `event_count` existed gave each event the document's version
    # (never above it), so counting on from the version keeps every position higher.
    return StoredConference(
        conference,
        version,
        int(doc.get("event_count", version)),
        conference_to_document(conference) if keep_state else None,
    )


class ConferenceRepository:
    def __init__(self, store: AggregateStore) -> None:
        self.store = store

    def locked(self, key: object) -> AbstractAsyncContextManager[None]:
        """Hold around load, decide and save of one conference (its id), or around the overlap
        check of one network (`("network", id)`): this process never interleaves two."""
        return self.store.locked(key)

    async def create_indexes(self) -> None:
        await self.store.collection.create_index([("network_id", ASCENDING)])
        await self.store.collection.create_index([("next_reminder_due_at", ASCENDING)])

    async def get(self, conference_id: str) -> StoredConference | None:
        """The conference as read for a change (its state kept, see `save`)."""
        doc = await self.store.load(conference_id)
        return None if doc is None else _stored(doc, keep_state=True)

    async def add(self, conference: Conference, events: Sequence[OutboxRecord]) -> None:
        """Store a new conference (version 1) with the events of its first change."""
        doc = {**conference_to_document(conference), "event_count": len(events)}
        await self.store.insert(doc, events)

    async def save(self, stored: StoredConference, events: Sequence[OutboxRecord]) -> int:
        """Store the conference's new state and `events` (the ones after `stored.event_count`)
        if the document is still at `stored.version`; returns the new version, or raises
        VersionConflict. Without events and without a change of state: no write, the version
        as read."""
        state = conference_to_document(stored.conference)
        if not events and state == stored.state_as_read:
            return stored.version
        doc = {**state, "event_count": stored.event_count + len(events)}
        return await self.store.save(doc, stored.version, events)

    async def save_erased(self, stored: StoredConference, subjects: Sequence[str]) -> int:
        """Store the conference with the subjects' copies anonymised, and its events not yet
        relayed rewritten the same way, in one version-guarded write: no event published after
        an erasure carries the person's data. Nothing changed: no write. Call under the
        conference's lock (the relay reads and removes records under it too)."""
        doc_id = stored.conference.conference_id
        pending = await self.store.collection.find_one({"_id": doc_id}, {"outbox": 1})
        outbox = list((pending or {}).get("outbox", []))
        rewritten = [_erased_record(record, subjects) for record in outbox]
        state = conference_to_document(stored.conference)
        if state == stored.state_as_read and rewritten == outbox:
            return stored.version
        fields = {k: v for k, v in state.items() if k != "_id"}
        update = {"$set": {**fields, "version": stored.version + 1, "outbox": rewritten}}
        if not await self.store.update_at_version(doc_id, stored.version, update):
            raise ConcurrentWrite(f"conferences/{doc_id} is no longer at version {stored.version}")
        return stored.version + 1

    async def ids(self) -> list[str]:
        """Every conference's id, drafts too: what an erasure or an access export looks
        through (an address is indexed nowhere, on purpose)."""
        return [str(doc["_id"]) async for doc in self.store.collection.find({}, {"_id": 1})]

    async def ids_ended_before(self, moment: datetime) -> list[str]:
        """The published conferences (held, concluded or cancelled) that ended before `moment`."""
        cursor = self.store.collection.find(
            {"ends_at": {"$lt": moment}, "status": {"$ne": "draft"}}, {"_id": 1}
        )
        return [str(doc["_id"]) async for doc in cursor]

    async def delete(self, stored: StoredConference) -> None:
        """Remove a conference still at `stored.version` (a draft: it has no events to relay);
        VersionConflict if it changed since it was read."""
        found = await self.store.collection.delete_one(
            {"_id": stored.conference.conference_id, "version": stored.version}
        )
        if found.deleted_count != 1:
            raise VersionConflict(
                f"conference {stored.conference.conference_id} changed since it was read"
            )

    async def of_network(
        self, network_id: str, *, status: str | None = None
    ) -> list[StoredConference]:
        """All of a network's conferences (with that status), earliest first."""
        found, _ = await self.page(network_id=network_id, status=status)
        return found

    async def page(
        self,
        *,
        network_id: str | None = None,
        status: str | None = None,
        limit: int = 0,
        offset: int = 0,
        drafts_of: Sequence[str] | None = None,
    ) -> tuple[list[StoredConference], int]:
        """Matching conferences, earliest first, `offset` skipped and at most `limit` of them
        (0: all), and how many match in all. `drafts_of`: only these networks' drafts are
        listed (None: every draft)."""
        query: Document = {}
        if network_id is not None:
            query["network_id"] = network_id
        if status is not None:
            query["status"] = status
        if drafts_of is not None:
            query["$or"] = [{"status": {"$ne": "draft"}}, {"network_id": {"$in": list(drafts_of)}}]
        cursor = (
            self.store.collection.find(query, {"outbox": 0})
            .sort([("starts_at", ASCENDING), ("_id", ASCENDING)])
            .skip(offset)
        )
        if limit:
            cursor = cursor.limit(limit)
        found = [_stored(doc) async for doc in cursor]
        if not limit and not offset:
            return found, len(found)
        return found, await self.store.collection.count_documents(query)

    async def ids_with_reminders_due(self, now: datetime, limit: int = 100) -> list[str]:
        cursor = self.store.collection.find(
            {"next_reminder_due_at": {"$lte": now}}, {"_id": 1}
        ).limit(limit)
        return [str(doc["_id"]) async for doc in cursor]


def _erased_record(record: Document, subjects: Sequence[str]) -> Document:
    """A pending outbox record with the subjects' contacts anonymised in its event; the
    record itself if it names none of them (so a repeat compares equal and writes nothing)."""
    envelope = json.loads(record["value"])
    anonymised = scrubbed(envelope, subjects)
    if anonymised == envelope:
        return record
    return {**record, "value": json.dumps(anonymised, ensure_ascii=False)}


class NetworkProjection:
    """One document per network; written only under the network's lock (see `locked`)."""

    def __init__(self, collection: AsyncCollection[Document], locks: KeyedLocks) -> None:
        self.collection = collection
        self._locks = locks

    def locked(self, network_id: str) -> AbstractAsyncContextManager[None]:
        return self._locks.hold((self.collection.name, network_id))

    async def get(self, network_id: str) -> NetworkView | None:
        doc = await self.collection.find_one({"_id": network_id})
        return None if doc is None else view_from_document(doc)

    async def put(self, view: NetworkView) -> None:
        await self.collection.replace_one(
            {"_id": view.network_id}, view_to_document(view), upsert=True
        )

    async def all(self) -> list[NetworkView]:
        return [view_from_document(d) async for d in self.collection.find().sort("_id")]

    async def clear(self) -> int:
        result = await self.collection.delete_many({})
        return result.deleted_count
