"""MongoDB storage of the registry: one document per aggregate, each in its aggregate's collection.

| collection | document id | aggregate |
|---|---|---|
| `networks` | `<network id>` | the network itself |
| `agreements` | `<network id>:agreements` | its cooperation agreements |
| `committees` | `<network id>:committee` | its steering committee (the members now) |
| `former_members` | `<member id>` | a seat that ended (no outbox: the committee had its events) |
| `offices` | `<network id>:office` | its education office staff (who works there now) |
| `former_staff` | `<staff id>` | a post that ended (likewise) |
| `fields_of_action` | `<network id>:fields` | its fields of action |
| `district`, `bulletins` | `district`, `<bulletin id>` | the district coordination, each bulletin |
| `erasures` | `<subject>` | the last erasure of a person (registry.domain.privacy) |

Each document carries the outbox of the events its last changes caused (see rbn_shared.outbox)
and `event_count`, the number of events it has caused so far: every event's `aggregate_id` is the
document id and its `aggregate_version` its position in that count (rbn_shared.changes), so
consumers can drop stale or repeated events. Events about a network are keyed by its id.

A part's document is written first by its first change; until then the part is empty. Every
lookup of a change is by `_id` (FerretDB finds those by index), and every write runs under the
document's lock from its store (FerretDB checks a version guard and writes in two steps).

Someone who leaves is written to the former ones *before* the part's document: a crash in
between leaves them current and former at once, and current wins when the two are read together
(the change is repeated or not; either way nothing is lost). Reading the former ones of a
network is a query by `network_id`, which FerretDB answers by reading the whole collection: only
histories (the list with the former, privacy, retention) do that, never a change.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel
from pymongo import ASCENDING, ReplaceOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from rbn_shared.batching import Batcher
from rbn_shared.changes import Aggregate, Cause, outbox_records
from rbn_shared.errors import ConcurrentWrite
from rbn_shared.events import EventPayload, NetworkRef
from rbn_shared.mongo import Document, find_by_ids, insert_new
from rbn_shared.outbox import STATE_ONLY, WRITE_MARK, AggregateStore
from rbn_shared.privacy import ERASURES_COLLECTION, erased_address
from registry.domain.district import DISTRICT_ID, Bulletin, DistrictCoordination
from registry.domain.errors import Conflict, NotFound
from registry.domain.model import (
    Agreements,
    Committee,
    CommitteeMember,
    FieldsOfAction,
    Network,
    Office,
    OfficeStaff,
    Part,
    People,
    Tenure,
)
from registry.domain.privacy import ErasureRecord

_STORE_FIELDS = ("_id", "version", "outbox", "event_count", WRITE_MARK)
REF_FIELDS = {"name": 1, "office.email": 1}  # what a NetworkRef needs of a network

AggregateT = TypeVar("AggregateT")
TenureT = TypeVar("TenureT", bound=Tenure)
ModelT = TypeVar("ModelT", bound=BaseModel)
PartT = TypeVar("PartT", bound=Part)


def _state(doc: Document) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in _STORE_FIELDS}


def _stored(part: BaseModel) -> Document:
    """A part's or a former one's state as stored: empty values left out (a seat's
    supervision, term end, removal...; read back as their defaults). FerretDB reads and
    rewrites a whole document per change, so its size is what a change costs."""
    return part.model_dump(mode="json", exclude_none=True)


def _with_id(kind: type[ModelT], doc: Document) -> ModelT:
    """A document as the domain's `kind`, whose `id` is the document's `_id`."""
    return kind.model_validate({**_state(doc), "id": doc["_id"]})


@dataclass
class Loaded(Generic[AggregateT]):
    """An aggregate as read, with its document's version and event count (0 and 0: not stored
    yet)."""

    aggregate: AggregateT
    version: int
    event_count: int
    former_as_read: dict[str, _AsRead] = field(default_factory=dict)
    """A People part's former ones as they were read: which of them a write stores."""


@dataclass(frozen=True)
class _AsRead:
    version: int
    listed_inside: bool  # by the part's document: stored before they were kept apart


@dataclass(frozen=True)
class _Writer:
    """How one kind of aggregate is written: the store, the topic of its events."""

    store: AggregateStore
    topic: str

    async def write(
        self,
        doc_id: str,
        key: str,
        state: Document,
        loaded: Loaded[Any],
        events: Sequence[EventPayload],
        cause: Cause,
    ) -> int:
        """Store the aggregate's state with its events as outbox records in one write: a new
        document if it was not stored yet, else guarded by the version it was read at (nothing
        without events). Returns the document's version."""
        if not events:
            return loaded.version
        doc = {"_id": doc_id, **state, "event_count": loaded.event_count + len(events)}
        aggregate = Aggregate(doc_id, key, loaded.event_count)
        records = outbox_records(events, aggregate, cause, self.topic)
        if loaded.version == 0:
            await self.store.insert(doc, records)
            return 1
        # Concurrent requests' changes of this kind of aggregate go in one write.
        return await self.store.save_together(doc, loaded.version, records)

    async def rewrite(self, doc_id: str, state: Document, loaded: Loaded[Any]) -> int:
        """Store a changed state that publishes no event of its own (an anonymised person:
        the erasure's one event says it), guarded by the version it was read at."""
        doc = {"_id": doc_id, **state, "event_count": loaded.event_count}
        return await self.store.save(doc, loaded.version)


class NetworkRepository:
    """The networks themselves: name, municipality and office contact."""

    def __init__(self, store: AggregateStore, topic: str) -> None:
        self._store = store
        self._writer = _Writer(store, topic)
        # The network look-ups and the part reads of concurrent requests go in one query each.
        self._refs: Batcher[str, Document | None] = Batcher(self._read_refs)

    def locked(self, network_id: str) -> contextlib.AbstractAsyncContextManager[None]:
        return self._store.locked(network_id)

    async def create_indexes(self) -> None:
        await self._store.collection.create_index([("name", ASCENDING)], unique=True)

    async def get(self, network_id: str) -> Loaded[Network]:
        doc = await self._store.load(network_id)
        if doc is None:
            raise NotFound(f"no network {network_id!r}")
        return Loaded(_with_id(Network, doc), int(doc["version"]), int(doc.get("event_count", 0)))

    async def ref(self, network_id: str) -> NetworkRef:
        """How the parts' events name the network: as it is now."""
        doc = await self._refs.submit(network_id)
        if doc is None:
            raise NotFound(f"no network {network_id!r}")
        return NetworkRef(id=network_id, name=doc["name"], office_email=doc["office"]["email"])

    async def _read_refs(self, network_ids: list[str]) -> list[Document | None]:
        return await find_by_ids(self._store.collection, network_ids, REF_FIELDS)

    async def save(
        self, loaded: Loaded[Network], events: Sequence[EventPayload], cause: Cause
    ) -> int:
        """Store the network (new at version 0) and its events; returns its document's version."""
        network = loaded.aggregate
        state = network.model_dump(mode="json", exclude={"id"})
        try:
            return await self._writer.write(network.id, network.id, state, loaded, events, cause)
        except DuplicateKeyError as error:
            taken = (
                f"a network with id {network.id!r} or name {network.name!r} exists"
                if loaded.version == 0
                else f"another network is named {network.name!r}"
            )
            raise Conflict(taken, "name") from error

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
        found = [(_with_id(Network, d), int(d["version"])) async for d in cursor]
        return found, total

    async def all_ids(self) -> list[str]:
        return [str(d["_id"]) async for d in self._store.collection.find({}, {"_id": 1})]


class FormerRepository(Generic[TenureT]):
    """Those who left one kind of part (seats, posts), one document each: `_id` the entity's id,
    its network's id beside its values."""

    def __init__(self, collection: AsyncCollection[Document], kind: type[TenureT]) -> None:
        self._collection = collection
        self.kind = kind

    async def put(self, network_id: str, entities: Sequence[TenureT]) -> None:
        """Store them as they are now (in place of what was stored of them)."""
        if not entities:
            return
        await self._collection.bulk_write(
            [ReplaceOne({"_id": e.id}, self._doc(network_id, e), upsert=True) for e in entities],
            ordered=False,
        )

    async def put_missing(self, network_id: str, entities: Sequence[TenureT]) -> None:
        """Store those of them not stored yet (a stored one may be newer: it stays)."""
        await insert_new(self._collection, [self._doc(network_id, e) for e in entities])

    async def of_network(self, network_id: str) -> list[TenureT]:
        cursor = self._collection.find({"network_id": network_id}).sort("_id", ASCENDING)
        return [self._entity(doc) async for doc in cursor]

    async def one(self, network_id: str, entity_id: str) -> TenureT | None:
        doc = await self._collection.find_one({"_id": entity_id, "network_id": network_id})
        return None if doc is None else self._entity(doc)

    async def by_network(self) -> dict[str, list[TenureT]]:
        """Everyone who left, by network (one read of the whole collection)."""
        found: dict[str, list[TenureT]] = {}
        async for doc in self._collection.find({}).sort("_id", ASCENDING):
            found.setdefault(str(doc["network_id"]), []).append(self._entity(doc))
        return found

    def _doc(self, network_id: str, entity: TenureT) -> Document:
        return {"_id": entity.id, "network_id": network_id, **_stored(entity)}

    def _entity(self, doc: Document) -> TenureT:
        values = {k: v for k, v in doc.items() if k not in ("_id", "network_id")}
        return self.kind.model_validate({**values, "id": doc["_id"]})


class PartRepository(Generic[PartT]):
    """One kind of a network's parts, each network's in its own document `<network id>:<suffix>`.

    A stored part is validated afresh on every read: stored addresses are checked by the events'
    cheap pattern, so that takes a quarter of a millisecond for a committee of 55, where the
    deep copies a cache of validated parts needed took five times as long.
    """

    def __init__(
        self,
        store: AggregateStore,
        topic: str,
        kind: type[PartT],
        suffix: str,
        former: FormerRepository[Any] | None = None,  # for People parts
    ) -> None:
        self._store = store
        self._writer = _Writer(store, topic)
        self.kind = kind
        self._suffix = suffix
        self._former = former
        self._reads: Batcher[str, Document | None] = Batcher(self._read_together)

    def aggregate_id(self, network_id: str) -> str:
        return f"{network_id}:{self._suffix}"

    def locked(self, network_id: str) -> contextlib.AbstractAsyncContextManager[None]:
        return self._store.locked(self.aggregate_id(network_id))

    async def get(self, network_id: str, *, with_former: bool = False) -> Loaded[PartT]:
        """The network's part; empty (version 0) if it was never changed. `with_former`: with
        those who left it (see People), for a history."""
        doc = await self._reads.submit(self.aggregate_id(network_id))
        loaded = (
            Loaded(self.kind(network_id=network_id), 0, 0) if doc is None else self._loaded(doc)
        )
        if with_former:
            await self._add_former(loaded)
        return loaded

    def _loaded(self, doc: Document) -> Loaded[PartT]:
        version, event_count = int(doc["version"]), int(doc.get("event_count", 0))
        loaded = Loaded(self._validate(doc), version, event_count)
        if isinstance(loaded.aggregate, People):  # any former ones came from its own list
            for entity in loaded.aggregate.former:
                loaded.former_as_read[entity.id] = _AsRead(entity.version, listed_inside=True)
        return loaded

    async def _add_former(
        self, loaded: Loaded[PartT], stored: Sequence[Tenure] | None = None
    ) -> None:
        """Add those who left the part (`stored`: as read already) to its `former`."""
        part = loaded.aggregate
        if self._former is None or not isinstance(part, People):
            return
        if stored is None:
            stored = await self._former.of_network(part.network_id)
        known = {e.id for e in part.current} | {e.id for e in part.former}
        for entity in stored:
            if entity.id not in known:  # current wins
                part.former.append(entity)
                loaded.former_as_read[entity.id] = _AsRead(entity.version, listed_inside=False)

    async def _store_former(self, loaded: Loaded[PartT]) -> None:
        """Store what changed of the part's former ones, before the part's document: those who
        left now and those changed (anonymised) now as they are, those its document listed
        unless they are stored apart already (an unchanged copy never overwrites a stored one:
        it could undo another instance's anonymisation)."""
        part = loaded.aggregate
        if self._former is None or not isinstance(part, People):
            return
        changed, listed = [], []
        for entity in part.former:
            read = loaded.former_as_read.get(entity.id)
            if read is None or read.version != entity.version:
                changed.append(entity)
            elif read.listed_inside:
                listed.append(entity)
        await self._former.put(part.network_id, changed)
        await self._former.put_missing(part.network_id, listed)

    async def one_former(self, network_id: str, entity_id: str) -> Tenure | None:
        """Someone who left the network's part, or None."""
        return None if self._former is None else await self._former.one(network_id, entity_id)

    async def _read_together(self, doc_ids: list[str]) -> list[Document | None]:
        return await find_by_ids(self._store.collection, doc_ids, STATE_ONLY)

    async def of_networks(self, network_ids: Sequence[str]) -> dict[str, PartT]:
        """The parts of these networks, by network id (empty ones included), in one query."""
        ids = [self.aggregate_id(n) for n in network_ids]
        cursor = self._store.collection.find({"_id": {"$in": ids}}, {"outbox": 0})
        found: dict[str, PartT] = {}
        async for doc in cursor:
            part = self._validate(doc)
            found[part.network_id] = part
        return {n: found.get(n) or self.kind(network_id=n) for n in network_ids}

    async def every(self) -> list[Loaded[PartT]]:
        """Every network's part with those who left it (an erasure looks for a person in all
        of them), empty ones left out."""
        cursor = self._store.collection.find({}, {"outbox": 0})
        stored = [self._loaded(doc) async for doc in cursor]
        if self._former is None:
            return stored
        former = await self._former.by_network()
        have = {loaded.aggregate.network_id for loaded in stored}
        stored += [Loaded(self.kind(network_id=n), 0, 0) for n in sorted(former) if n not in have]
        for loaded in stored:
            await self._add_former(loaded, former.get(loaded.aggregate.network_id, []))
        return stored

    async def rewrite(self, loaded: Loaded[PartT]) -> int:
        """Store the part without an event (see _Writer.rewrite), its former ones first;
        returns its document's new version."""
        part = loaded.aggregate
        await self._store_former(loaded)
        if loaded.version == 0:  # no document: only former ones were changed
            return 0
        doc_id = self.aggregate_id(part.network_id)
        return await self._writer.rewrite(doc_id, _stored(part), loaded)

    def _validate(self, doc: Document) -> PartT:
        return self.kind.model_validate(_state(doc))

    async def save(
        self, loaded: Loaded[PartT], events: Sequence[EventPayload], cause: Cause
    ) -> int:
        """Store the part's change and its events; returns the document's new version. Whoever
        left in the change is stored as former first (see the module's notes)."""
        part = loaded.aggregate
        if events:
            await self._store_former(loaded)
        doc_id = self.aggregate_id(part.network_id)
        state = _stored(part)
        try:
            return await self._writer.write(doc_id, part.network_id, state, loaded, events, cause)
        except DuplicateKeyError as error:  # another instance wrote it first
            raise ConcurrentWrite(f"{doc_id} was written meanwhile") from error


class DistrictRepository:
    def __init__(self, store: AggregateStore, bulletins: AggregateStore, topic: str) -> None:
        self._store = store
        self._writer = _Writer(store, topic)
        self._bulletins = _Writer(bulletins, topic)

    def locked(self) -> contextlib.AbstractAsyncContextManager[None]:
        return self._store.locked(DISTRICT_ID)

    async def get(self) -> Loaded[DistrictCoordination] | None:
        doc = await self._store.load(DISTRICT_ID)
        if doc is None:
            return None
        district = _with_id(DistrictCoordination, doc)
        return Loaded(district, int(doc["version"]), int(doc.get("event_count", 0)))

    async def put(
        self,
        loaded: Loaded[DistrictCoordination],
        events: Sequence[EventPayload],
        cause: Cause,
    ) -> int:
        """Store the district coordination (new at version 0); returns its new version."""
        state = loaded.aggregate.model_dump(mode="json", exclude={"id"})
        return await self._writer.write(DISTRICT_ID, DISTRICT_ID, state, loaded, events, cause)

    async def rewrite(self, loaded: Loaded[DistrictCoordination]) -> int:
        """Store the district coordination without an event (an anonymised person)."""
        state = loaded.aggregate.model_dump(mode="json", exclude={"id"})
        return await self._writer.rewrite(DISTRICT_ID, state, loaded)

    async def bulletins_by(self, address: str) -> list[Loaded[Bulletin]]:
        """The bulletins whose author has this (canonical) address."""
        cursor = self._bulletins.store.collection.find({"author.email": address}, {"outbox": 0})
        return [
            Loaded(_with_id(Bulletin, d), int(d["version"]), int(d.get("event_count", 0)))
            async for d in cursor
        ]

    async def rewrite_bulletin(self, loaded: Loaded[Bulletin]) -> int:
        bulletin = loaded.aggregate
        state = bulletin.model_dump(mode="json", exclude={"id"})
        return await self._bulletins.rewrite(bulletin.id, state, loaded)

    async def add_bulletin(
        self, bulletin: Bulletin, events: Sequence[EventPayload], cause: Cause
    ) -> None:
        state = bulletin.model_dump(mode="json", exclude={"id"})
        await self._bulletins.write(
            bulletin.id, DISTRICT_ID, state, Loaded(bulletin, 0, 0), events, cause
        )

    async def bulletins(self, *, limit: int, offset: int) -> tuple[list[Bulletin], int]:
        collection = self._bulletins.store.collection
        total = await collection.count_documents({})
        cursor = (
            collection.find({}, {"outbox": 0})
            .sort([("published_on", -1), ("_id", -1)])
            .skip(offset)
            .limit(limit)
        )
        return [_with_id(Bulletin, d) async for d in cursor], total


class ErasureRepository:
    """`erasures`: one document per erased subject (the last erasure), with the outbox of its
    `person-erased`. The same collection and fields rbn_shared.privacy.ErasureLedger reads."""

    def __init__(self, store: AggregateStore, topic: str) -> None:
        self._store = store
        self._writer = _Writer(store, topic)

    def locked(self, subject: str) -> contextlib.AbstractAsyncContextManager[None]:
        return self._store.locked(subject)

    async def get(self, subject: str) -> Loaded[ErasureRecord] | None:
        doc = await self._store.load(subject)
        if doc is None:
            return None
        erasure = ErasureRecord.model_validate({**_state(doc), "subject": doc["_id"]})
        return Loaded(erasure, int(doc["version"]), int(doc.get("event_count", 0)))

    async def with_placeholder(self, placeholder: str) -> ErasureRecord | None:
        """The erasure whose person's placeholder address is this one (a record anonymised
        already names no address, only the placeholder)."""
        prefix = placeholder.removeprefix("entfernt-")[:16]
        if not re.fullmatch(r"[0-9a-f]{16}", prefix):
            return None
        cursor = self._store.collection.find({"_id": {"$regex": f"^{prefix}"}}, {"outbox": 0})
        async for doc in cursor:
            if erased_address(doc["_id"]) == placeholder:
                return ErasureRecord.model_validate({**_state(doc), "subject": doc["_id"]})
        return None

    async def save(
        self,
        erasure: ErasureRecord,
        earlier: Loaded[ErasureRecord] | None,
        events: Sequence[EventPayload],
        cause: Cause,
    ) -> int:
        """Store the erasure in place of an earlier one of the subject, with its event, keyed
        `district` like the district coordination's."""
        loaded = earlier or Loaded(erasure, 0, 0)
        state = erasure.model_dump(exclude={"subject"})  # erased_at stays a date-time
        try:
            return await self._writer.write(
                erasure.subject, DISTRICT_ID, state, loaded, events, cause
            )
        except DuplicateKeyError as error:  # another instance recorded it first
            raise ConcurrentWrite(
                f"the erasure of {erasure.subject} was written meanwhile"
            ) from error


@dataclass(frozen=True)
class Repositories:
    """All of the registry's storage, on the stores `store(collection)` gives."""

    networks: NetworkRepository
    agreements: PartRepository[Agreements]
    committees: PartRepository[Committee]
    offices: PartRepository[Office]
    fields: PartRepository[FieldsOfAction]
    district: DistrictRepository
    erasures: ErasureRepository

    @classmethod
    def on(cls, store: Callable[[str], AggregateStore], topic: str) -> Repositories:
        def former(collection: str, kind: type[TenureT]) -> FormerRepository[TenureT]:
            return FormerRepository(store(collection).collection, kind)

        members = former("former_members", CommitteeMember)
        staff = former("former_staff", OfficeStaff)
        return cls(
            networks=NetworkRepository(store("networks"), topic),
            agreements=PartRepository(store("agreements"), topic, Agreements, "agreements"),
            committees=PartRepository(store("committees"), topic, Committee, "committee", members),
            offices=PartRepository(store("offices"), topic, Office, "office", staff),
            fields=PartRepository(store("fields_of_action"), topic, FieldsOfAction, "fields"),
            district=DistrictRepository(store("district"), store("bulletins"), topic),
            erasures=ErasureRepository(store(ERASURES_COLLECTION), topic),
        )

    def parts(self, kind: type[PartT]) -> PartRepository[PartT]:
        """The repository of one kind of part."""
        repositories: list[PartRepository[Any]] = [
            self.agreements,
            self.committees,
            self.offices,
            self.fields,
        ]
        return next(parts for parts in repositories if parts.kind is kind)

    async def create_indexes(self) -> None:
        await self.networks.create_indexes()
