"""MongoDB storage of the registry: one document per network, the district, one per bulletin.

Each document carries the outbox of the events its last changes caused (see rbn_shared.outbox)
and `event_count`, the number of events it has caused so far: every event's `aggregate_version`
is its position in that count, so consumers can drop stale or repeated events.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from typing import Any

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from rbn_shared.events import EventPayload, Topics, new_event
from rbn_shared.mongo import Document
from rbn_shared.outbox import AggregateStore, OutboxRecord
from registry.domain.district import Bulletin, DistrictCoordination
from registry.domain.errors import Conflict, NotFound
from registry.domain.model import Network

_STORE_FIELDS = ("_id", "version", "outbox", "event_count")


def _records(
    topics: Topics,
    events: Sequence[EventPayload],
    *,
    key: str,
    aggregate_id: str,
    first_position: int,
    correlation_id: str,
    causation_id: str | None,
) -> list[OutboxRecord]:
    return [
        OutboxRecord.of(
            new_event(
                event,
                key=key,
                aggregate_id=aggregate_id,
                aggregate_version=first_position + i,
                correlation_id=correlation_id,
                causation_id=causation_id,
            ),
            topics.registry,
        )
        for i, event in enumerate(events)
    ]


def _state(doc: Document) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in _STORE_FIELDS}


class NetworkRepository:
    """Networks in their documents.

    Validating a stored network checks every member's address again, which costs milliseconds
    for a large committee on every request. The repository therefore keeps the last network it
    validated or saved, per id, with its document version, and hands out copies of it while the
    document is still at that version.
    """

    def __init__(self, store: AggregateStore, topics: Topics) -> None:
        self._store = store
        self._topics = topics
        self._validated: dict[str, tuple[int, Network]] = {}

    def locked(self, network_id: str) -> contextlib.AbstractAsyncContextManager[None]:
        return self._store.locked(network_id)

    async def create_indexes(self) -> None:
        await self._store.collection.create_index([("name", ASCENDING)], unique=True)

    async def get(self, network_id: str) -> tuple[Network, int, int]:
        """The network, its document version and its event count; NotFound if unknown."""
        doc = await self._store.load(network_id)
        if doc is None:
            raise NotFound(f"no network {network_id!r}")
        version = int(doc["version"])
        known = self._validated.get(network_id)
        if known is not None and known[0] == version:
            network = known[1].model_copy(deep=True)
        else:
            network = Network.model_validate({**_state(doc), "id": doc["_id"]})
            self._remember(network, version)
        return network, version, int(doc.get("event_count", 0))

    def _remember(self, network: Network, version: int) -> None:
        self._validated[network.id] = (version, network.model_copy(deep=True))

    async def exists(self, network_id: str) -> bool:
        return await self._store.collection.count_documents({"_id": network_id}, limit=1) > 0

    async def add(self, network: Network, *, correlation_id: str) -> None:
        events = network.take_events()
        state = network.model_dump(mode="json", exclude={"id"})
        try:
            await self._store.insert(
                {"_id": network.id, **state, "event_count": len(events)},
                _records(
                    self._topics,
                    events,
                    key=network.id,
                    aggregate_id=network.id,
                    first_position=1,
                    correlation_id=correlation_id,
                    causation_id=None,
                ),
            )
        except DuplicateKeyError as error:
            raise Conflict(
                f"a network with id {network.id!r} or name {network.name!r} exists", "name"
            ) from error

    async def save(
        self, network: Network, version: int, event_count: int, *, correlation_id: str
    ) -> int:
        events = network.take_events()
        if not events:
            return version
        state = network.model_dump(mode="json", exclude={"id"})
        saved = await self._store.save(
            {"_id": network.id, **state, "event_count": event_count + len(events)},
            version,
            _records(
                self._topics,
                events,
                key=network.id,
                aggregate_id=network.id,
                first_position=event_count + 1,
                correlation_id=correlation_id,
                causation_id=None,
            ),
        )
        self._remember(network, saved)
        return saved

    async def search(
        self, *, kind: str | None, name_contains: str | None, limit: int, offset: int
    ) -> tuple[list[Network], int]:
        query: Document = {}
        if kind:
            query["municipality.kind"] = kind
        if name_contains:
            query["name"] = {"$regex": re.escape(name_contains), "$options": "i"}
        total = await self._store.collection.count_documents(query)
        cursor = (
            self._store.collection.find(query, {"outbox": 0})
            .sort("_id", ASCENDING)
            .skip(offset)
            .limit(limit)
        )
        networks = [Network.model_validate({**_state(d), "id": d["_id"]}) async for d in cursor]
        return networks, total

    async def all_ids(self) -> list[str]:
        return [str(d["_id"]) async for d in self._store.collection.find({}, {"_id": 1})]


class DistrictRepository:
    def __init__(self, store: AggregateStore, bulletins: AggregateStore, topics: Topics) -> None:
        self._store = store
        self._bulletins = bulletins
        self._topics = topics

    def locked(self) -> contextlib.AbstractAsyncContextManager[None]:
        return self._store.locked("district")

    async def get(self) -> tuple[DistrictCoordination, int, int] | None:
        doc = await self._store.load("district")
        if doc is None:
            return None
        district = DistrictCoordination.model_validate({**_state(doc), "id": doc["_id"]})
        return district, int(doc["version"]), int(doc.get("event_count", 0))

    async def put(
        self,
        district: DistrictCoordination,
        version: int | None,
        event_count: int,
        *,
        correlation_id: str,
    ) -> int:
        events = district.take_events()
        records = _records(
            self._topics,
            events,
            key="district",
            aggregate_id="district",
            first_position=event_count + 1,
            correlation_id=correlation_id,
            causation_id=None,
        )
        state = {
            "_id": "district",
            **district.model_dump(mode="json", exclude={"id"}),
            "event_count": event_count + len(events),
        }
        if version is None:
            await self._store.insert(state, records)
            return 1
        if not events:
            return version
        return await self._store.save(state, version, records)

    async def add_bulletin(self, bulletin: Bulletin, *, correlation_id: str) -> None:
        records = _records(
            self._topics,
            [bulletin.published_event()],
            key="district",
            aggregate_id=bulletin.id,
            first_position=1,
            correlation_id=correlation_id,
            causation_id=None,
        )
        await self._bulletins.insert(
            {"_id": bulletin.id, **bulletin.model_dump(mode="json", exclude={"id"})}, records
        )

    async def bulletins(self, *, limit: int, offset: int) -> tuple[list[Bulletin], int]:
        total = await self._bulletins.collection.count_documents({})
        cursor = (
            self._bulletins.collection.find({}, {"outbox": 0})
            .sort([("published_on", -1), ("_id", -1)])
            .skip(offset)
            .limit(limit)
        )
        items = [Bulletin.model_validate({**_state(d), "id": d["_id"]}) async for d in cursor]
        return items, total
