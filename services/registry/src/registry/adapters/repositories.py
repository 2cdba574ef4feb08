"""MongoDB storage of the registry: one document per aggregate, each in its aggregate's collection.

| collection | document id | aggregate |
|---|---|---|
| `networks` | `<network id>` | the network itself |
| `agreements` | `<network id>:agreements` | its cooperation agreements |
| `committees` | `<network id>:committee` | its steering committee |
| `offices` | `<network id>:office` | its education office staff |
| `fields_of_action` | `<network id>:fields` | its fields of action |
| `district`, `bulletins` | `district`, `<bulletin id>` | the district coordination, each bulletin |

Each document carries the outbox of the events its last changes caused (see rbn_shared.outbox)
and `event_count`, the number of events it has caused so far: every event's `aggregate_id` is the
document id and its `aggregate_version` its position in that count (rbn_shared.changes), so
consumers can drop stale or repeated events. Events about a network are keyed by its id.

A part's document is written first by its first change; until then the part is empty. Every
lookup is by `_id` (FerretDB finds those by index), and every write runs under the document's
lock from its store (FerretDB checks a version guard and writes in two steps).
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from pymongo import ASCENDING
from pymongo.errors import DuplicateKeyError

from rbn_shared.changes import Aggregate, Cause, outbox_records
from rbn_shared.errors import VersionConflict
from rbn_shared.events import NetworkRef
from rbn_shared.mongo import Document
from rbn_shared.outbox import AggregateStore
from registry.domain.district import DISTRICT_ID, Bulletin, DistrictCoordination
from registry.domain.errors import Conflict, NotFound
from registry.domain.model import (
    Agreements,
    Committee,
    FieldsOfAction,
    Network,
    Office,
    Part,
)

_STORE_FIELDS = ("_id", "version", "outbox", "event_count")

AggregateT = TypeVar("AggregateT")
PartT = TypeVar("PartT", bound=Part)


def _state(doc: Document) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in _STORE_FIELDS}


@dataclass
class Loaded(Generic[AggregateT]):
    """An aggregate as read, with its document's version and event count (0 and 0: not stored
    yet)."""

    aggregate: AggregateT
    version: int
    event_count: int


class NetworkRepository:
    """The networks themselves: name, municipality and office contact."""

    def __init__(self, store: AggregateStore, topic: str) -> None:
        self._store = store
        self._topic = topic

    def locked(self, network_id: str) -> contextlib.AbstractAsyncContextManager[None]:
        return self._store.locked(network_id)

    async def create_indexes(self) -> None:
        await self._store.collection.create_index([("name", ASCENDING)], unique=True)

    async def get(self, network_id: str) -> Loaded[Network]:
        doc = await self._store.load(network_id)
        if doc is None:
            raise NotFound(f"no network {network_id!r}")
        network = Network.model_validate({**_state(doc), "id": doc["_id"]})
        return Loaded(network, int(doc["version"]), int(doc.get("event_count", 0)))

    async def ref(self, network_id: str) -> NetworkRef:
        """How the parts' events name the network: as it is now."""
        doc = await self._store.collection.find_one(
            {"_id": network_id}, {"name": 1, "office.email": 1}
        )
        if doc is None:
            raise NotFound(f"no network {network_id!r}")
        return NetworkRef(id=network_id, name=doc["name"], office_email=doc["office"]["email"])

    async def add(self, network: Network, cause: Cause) -> None:
        events = network.take_events()
        state = network.model_dump(mode="json", exclude={"id"})
        records = outbox_records(events, Aggregate(network.id, network.id, 0), cause, self._topic)
        try:
            await self._store.insert(
                {"_id": network.id, **state, "event_count": len(events)}, records
            )
        except DuplicateKeyError as error:
            raise Conflict(
                f"a network with id {network.id!r} or name {network.name!r} exists", "name"
            ) from error

    async def save(self, loaded: Loaded[Network], cause: Cause) -> int:
        """Store the network's change and its events; returns the document's new version."""
        network = loaded.aggregate
        events = network.take_events()
        if not events:
            return loaded.version
        aggregate = Aggregate(network.id, network.id, loaded.event_count)
        state = network.model_dump(mode="json", exclude={"id"})
        return await self._store.save(
            {"_id": network.id, **state, "event_count": loaded.event_count + len(events)},
            loaded.version,
            outbox_records(events, aggregate, cause, self._topic),
        )

    async def search(
        self, *, kind: str | None, name_contains: str | None, limit: int, offset: int
    ) -> tuple[list[tuple[Network, int]], int]:
        """A page of networks, each with its document's version, and how many match."""
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
        found = [
            (Network.model_validate({**_state(d), "id": d["_id"]}), int(d["version"]))
            async for d in cursor
        ]
        return found, total

    async def all_ids(self) -> list[str]:
        return [str(d["_id"]) async for d in self._store.collection.find({}, {"_id": 1})]


class PartRepository(Generic[PartT]):
    """One kind of a network's parts, each network's in its own document `<network id>:<suffix>`.

    Validating a stored part checks every person's address again, which costs milliseconds for
    a large committee on every request. The repository therefore keeps the last part it
    validated or saved, per document, with its version, and hands out copies of it while the
    document is still at that version.
    """

    def __init__(self, store: AggregateStore, topic: str, kind: type[PartT], suffix: str) -> None:
        self._store = store
        self._topic = topic
        self._kind = kind
        self._suffix = suffix
        self._validated: dict[str, tuple[int, PartT]] = {}

    def aggregate_id(self, network_id: str) -> str:
        return f"{network_id}:{self._suffix}"

    def locked(self, network_id: str) -> contextlib.AbstractAsyncContextManager[None]:
        return self._store.locked(self.aggregate_id(network_id))

    async def get(self, network_id: str) -> Loaded[PartT]:
        """The network's part; empty (version 0) if it was never changed."""
        doc = await self._store.load(self.aggregate_id(network_id))
        if doc is None:
            return Loaded(self._kind(network_id=network_id), 0, 0)
        return Loaded(self._validate(doc), int(doc["version"]), int(doc.get("event_count", 0)))

    async def of_networks(self, network_ids: Sequence[str]) -> dict[str, PartT]:
        """The parts of these networks, by network id (empty ones included), in one query."""
        ids = [self.aggregate_id(n) for n in network_ids]
        cursor = self._store.collection.find({"_id": {"$in": ids}}, {"outbox": 0})
        found: dict[str, PartT] = {}
        async for doc in cursor:
            part = self._validate(doc)
            found[part.network_id] = part
        return {n: found.get(n) or self._kind(network_id=n) for n in network_ids}

    def _validate(self, doc: Document) -> PartT:
        version = int(doc["version"])
        known = self._validated.get(doc["_id"])
        if known is not None and known[0] == version:
            return known[1].model_copy(deep=True)
        part = self._kind.model_validate(_state(doc))
        self._remember(doc["_id"], version, part)
        return part

    def _remember(self, doc_id: str, version: int, part: PartT) -> None:
        self._validated[doc_id] = (version, part.model_copy(deep=True))

    async def save(self, loaded: Loaded[PartT], cause: Cause) -> int:
        """Store the part's change and its events; returns the document's new version."""
        part = loaded.aggregate
        events = part.take_events()
        if not events:
            return loaded.version
        doc_id = self.aggregate_id(part.network_id)
        doc = {
            "_id": doc_id,
            **part.model_dump(mode="json"),
            "event_count": loaded.event_count + len(events),
        }
        records = outbox_records(
            events, Aggregate(doc_id, part.network_id, loaded.event_count), cause, self._topic
        )
        if loaded.version == 0:
            try:
                await self._store.insert(doc, records)
            except DuplicateKeyError as error:  # another instance wrote it first
                raise VersionConflict(f"{doc_id} was written meanwhile") from error
            version = 1
        else:
            version = await self._store.save(doc, loaded.version, records)
        self._remember(doc_id, version, part)
        return version


class DistrictRepository:
    def __init__(self, store: AggregateStore, bulletins: AggregateStore, topic: str) -> None:
        self._store = store
        self._bulletins = bulletins
        self._topic = topic

    def locked(self) -> contextlib.AbstractAsyncContextManager[None]:
        return self._store.locked(DISTRICT_ID)

    async def get(self) -> Loaded[DistrictCoordination] | None:
        doc = await self._store.load(DISTRICT_ID)
        if doc is None:
            return None
        district = DistrictCoordination.model_validate({**_state(doc), "id": doc["_id"]})
        return Loaded(district, int(doc["version"]), int(doc.get("event_count", 0)))

    async def put(self, loaded: Loaded[DistrictCoordination], cause: Cause) -> int:
        """Store the district coordination (new at version 0); returns its new version."""
        district = loaded.aggregate
        events = district.take_events()
        records = outbox_records(
            events, Aggregate(DISTRICT_ID, DISTRICT_ID, loaded.event_count), cause, self._topic
        )
        state = {
            "_id": DISTRICT_ID,
            **district.model_dump(mode="json", exclude={"id"}),
            "event_count": loaded.event_count + len(events),
        }
        if loaded.version == 0:
            await self._store.insert(state, records)
            return 1
        if not events:
            return loaded.version
        return await self._store.save(state, loaded.version, records)

    async def add_bulletin(self, bulletin: Bulletin, cause: Cause) -> None:
        records = outbox_records(
            [bulletin.published_event()], Aggregate(bulletin.id, DISTRICT_ID, 0), cause, self._topic
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


@dataclass(frozen=True)
class Repositories:
    """All of the registry's storage, on the stores `store(collection)` gives."""

    networks: NetworkRepository
    agreements: PartRepository[Agreements]
    committees: PartRepository[Committee]
    offices: PartRepository[Office]
    fields: PartRepository[FieldsOfAction]
    district: DistrictRepository

    @classmethod
    def on(cls, store: Callable[[str], AggregateStore], topic: str) -> Repositories:
        return cls(
            networks=NetworkRepository(store("networks"), topic),
            agreements=PartRepository(store("agreements"), topic, Agreements, "agreements"),
            committees=PartRepository(store("committees"), topic, Committee, "committee"),
            offices=PartRepository(store("offices"), topic, Office, "office"),
            fields=PartRepository(store("fields_of_action"), topic, FieldsOfAction, "fields"),
            district=DistrictRepository(store("district"), store("bulletins"), topic),
        )

    async def create_indexes(self) -> None:
        await self.networks.create_indexes()
