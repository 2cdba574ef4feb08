"""MongoDB storage of deliveries, the recipients projection, preferences and report state.

Every read-decide-write of one document runs under `store.locked(id)` (see rbn_shared.outbox).
The one decision that must hold across instances, "who may make attempt n of a delivery", is an
insert with a unique `_id`: atomic on MongoDB and on FerretDB alike.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import DuplicateKeyError

from notifications.domain.delivery import Delivery, DeliveryStatus
from notifications.domain.preferences import Preferences, Topic
from notifications.domain.recipients import DISTRICT_ID, DistrictCoordination, NetworkDirectory
from notifications.domain.report import Development, ReportSchedule
from rbn_shared.mongo import Document
from rbn_shared.outbox import AggregateStore, OutboxRecord

DELIVERIES = "deliveries"
ATTEMPTS = "delivery_attempts"
DIRECTORY = "directory"
PREFERENCES = "preferences"
DEVELOPMENTS = "developments"
SCHEDULES = "schedules"

REPORT_SCHEDULE_ID = "district-report"


class DeliveryRepository:
    def __init__(self, store: AggregateStore, attempts: AsyncCollection[Document]) -> None:
        self.store = store
        self._attempts = attempts

    async def create_indexes(self) -> None:
        deliveries = self.store.collection
        await deliveries.create_index([("status", ASCENDING), ("next_attempt_at", ASCENDING)])
        await deliveries.create_index([("recipient", ASCENDING), ("created_at", DESCENDING)])
        await deliveries.create_index([("cause_event_id", ASCENDING)])

    async def add(self, delivery: Delivery) -> bool:
        """Store a new delivery; False if one for this (event, recipient) exists already."""
        try:
            await self.store.insert(delivery.to_document())
        except DuplicateKeyError:
            return False
        return True

    async def get(self, delivery_id: str) -> tuple[Delivery, int] | None:
        doc = await self.store.load(delivery_id)
        if doc is None:
            return None
        return Delivery.from_document(doc), int(doc["version"])

    async def save(
        self, delivery: Delivery, expected_version: int, events: Sequence[OutboxRecord] = ()
    ) -> int:
        return await self.store.save(delivery.to_document(), expected_version, events)

    async def due(self, now: datetime, limit: int) -> list[Delivery]:
        cursor = (
            self.store.collection.find(
                {"status": DeliveryStatus.PENDING.value, "next_attempt_at": {"$lte": now}},
                {"outbox": 0},
            )
            .sort("next_attempt_at", ASCENDING)
            .limit(limit)
        )
        return [Delivery.from_document(doc) async for doc in cursor]

    async def search(
        self,
        *,
        recipient: str | None = None,
        cause_event_id: str | None = None,
        status: DeliveryStatus | None = None,
        network_id: str | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        query: dict[str, Any] = {}
        if recipient:
            query["recipient"] = recipient.lower()
        if cause_event_id:
            query["cause_event_id"] = cause_event_id
        if status:
            query["status"] = status.value
        if network_id:
            query["network_id"] = network_id
        cursor = (
            self.store.collection.find(query, {"outbox": 0})
            .sort("created_at", DESCENDING)
            .limit(limit)
        )
        return [Delivery.from_document(doc) async for doc in cursor]

    # ------------------------------------------------------------------ attempts

    async def claim(self, delivery_id: str, attempt: int, instance: str, now: datetime) -> bool:
        """Reserve attempt `attempt` of a delivery; only one claimant in the world gets it."""
        try:
            await self._attempts.insert_one(
                {
                    "_id": f"{delivery_id}#{attempt}",
                    "delivery_id": delivery_id,
                    "attempt": attempt,
                    "instance": instance,
                    "started_at": now,
                }
            )
        except DuplicateKeyError:
            return False
        return True

    async def claim_started_at(self, delivery_id: str, attempt: int) -> datetime | None:
        doc = await self._attempts.find_one({"_id": f"{delivery_id}#{attempt}"})
        return doc["started_at"] if doc else None


class DirectoryRepository:
    """The recipients projection: one document per network, one for the district."""

    def __init__(self, store: AggregateStore) -> None:
        self.store = store

    async def network(self, network_id: str) -> tuple[NetworkDirectory | None, int | None]:
        doc = await self.store.load(network_id)
        if doc is None:
            return None, None
        return NetworkDirectory.from_document(doc), int(doc["version"])

    async def save_network(self, network: NetworkDirectory, version: int | None) -> None:
        if version is None:
            await self.store.insert(network.to_document())
        else:
            await self.store.save(network.to_document(), version)

    async def networks(self) -> list[NetworkDirectory]:
        cursor = self.store.collection.find({"_id": {"$ne": DISTRICT_ID}}, {"outbox": 0})
        return [NetworkDirectory.from_document(doc) async for doc in cursor]

    async def district(self) -> tuple[DistrictCoordination | None, int | None]:
        doc = await self.store.load(DISTRICT_ID)
        if doc is None:
            return None, None
        return DistrictCoordination.from_document(doc), int(doc["version"])

    async def save_district(self, district: DistrictCoordination, version: int | None) -> None:
        if version is None:
            await self.store.insert(district.to_document())
        else:
            await self.store.save(district.to_document(), version)


class PreferencesRepository:
    def __init__(self, store: AggregateStore) -> None:
        self.store = store

    async def get(self, email: str) -> tuple[Preferences, int | None]:
        doc = await self.store.load(email.lower())
        if doc is None:
            return Preferences(email.lower()), None
        topics = frozenset(Topic(t) for t in doc.get("opted_out", []))
        return Preferences(email.lower(), topics), int(doc["version"])

    async def save(self, preferences: Preferences, version: int | None, now: datetime) -> None:
        doc = {
            "_id": preferences.email,
            "opted_out": sorted(t.value for t in preferences.opted_out),
            "updated_at": now,
        }
        if version is None:
            await self.store.insert(doc)
        else:
            await self.store.save(doc, version)


class DevelopmentRepository:
    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self.collection = collection

    async def create_indexes(self) -> None:
        await self.collection.create_index([("recorded_at", ASCENDING)])

    async def add(self, development: Development) -> None:
        """Record once per event; a repeated event keeps its first recording (and period)."""
        with contextlib.suppress(DuplicateKeyError):
            await self.collection.insert_one(development.to_document())

    async def recorded_between(self, start: datetime, end: datetime) -> list[Development]:
        cursor = self.collection.find({"recorded_at": {"$gte": start, "$lt": end}})
        return [Development.from_document(doc) async for doc in cursor]


class ScheduleRepository:
    def __init__(self, store: AggregateStore) -> None:
        self.store = store

    async def report_schedule(self) -> tuple[ReportSchedule | None, int | None]:
        doc = await self.store.load(REPORT_SCHEDULE_ID)
        if doc is None:
            return None, None
        return ReportSchedule(doc["period_start"], doc["next_due_at"]), int(doc["version"])

    async def save_report_schedule(self, schedule: ReportSchedule, version: int | None) -> None:
        doc = {
            "_id": REPORT_SCHEDULE_ID,
            "period_start": schedule.period_start,
            "next_due_at": schedule.next_due_at,
        }
        if version is None:
            await self.store.insert(doc)
        else:
            await self.store.save(doc, version)
