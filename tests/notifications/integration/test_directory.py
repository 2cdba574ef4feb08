"""The recipients projection against FerretDB: a network this process wrote is not read back
for its next change, and a write by another instance meanwhile is noticed, not overwritten."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from notifications.adapters.repositories import DIRECTORY, DirectoryRepository
from notifications.service_layer.projection import RecipientsProjection
from rbn_shared.errors import ConcurrentWrite
from rbn_shared.events import NetworkRef, Person, new_event
from rbn_shared.events.base import Side
from rbn_shared.events.registry import CommitteeMemberAdded, CommitteeRole
from rbn_shared.outbox import AggregateStore, KeyedLocks
from tests.support.infra import Infra
from tests.support.measure import CommandCounter

pytestmark = pytest.mark.integration

NETWORK = NetworkRef(id="soest", name="Regionales Bildungsnetzwerk Soest")


def instance(client: AsyncMongoClient[dict[str, Any]], database: str) -> RecipientsProjection:
    """What one service instance builds: its own locks and memory, the shared database."""
    store = AggregateStore(client[database][DIRECTORY], KeyedLocks())
    return RecipientsProjection(DirectoryRepository(store))


async def add(projection: RecipientsProjection, n: int, version: int) -> None:
    event = new_event(
        CommitteeMemberAdded(
            network=NETWORK,
            member_id=f"mem-{n}",
            person=Person(name=f"Person {n}", email=f"p{n}@schule-soest.example"),
            side=Side.MUNICIPALITY,
            role=CommitteeRole.MEMBER,
            term_start=date(2026, 1, 1),
        ),
        key=NETWORK.id,
        aggregate_id=f"{NETWORK.id}:committee",
        aggregate_version=version,
        correlation_id=f"test-{n}",
    )
    await projection.committee_member_added(event, CommitteeMemberAdded(**event.payload))


async def test_a_network_written_here_is_changed_without_reading_it_back(
    isolated: dict[str, str], infra: Infra
) -> None:
    counter = CommandCounter()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        infra.mongo_url, tz_aware=True, event_listeners=[counter]
    )
    try:
        here = instance(client, isolated["RBN_MONGO_DATABASE"])
        await add(here, 1, 1)
        counter.counts.clear()

        await add(here, 2, 2)
        await add(here, 3, 3)

        assert counter.counts[("find", DIRECTORY)] == 0
        assert counter.counts[("update", DIRECTORY)] == 2
        stored = await client[isolated["RBN_MONGO_DATABASE"]][DIRECTORY].find_one({"_id": "soest"})
        assert stored is not None
        assert sorted(m["id"] for m in stored["committee"]) == ["mem-1", "mem-2", "mem-3"]
    finally:
        await client.close()


async def test_a_write_by_another_instance_meanwhile_is_noticed_and_kept(
    isolated: dict[str, str], infra: Infra
) -> None:
    """The partition moved to another instance and back: the first one's memory is stale, its
    guarded write is refused, and the change repeated on what is stored keeps both."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongo_url, tz_aware=True)
    try:
        database = isolated["RBN_MONGO_DATABASE"]
        first, second = instance(client, database), instance(client, database)
        await add(first, 1, 1)
        await add(second, 2, 2)  # reads what the first wrote, writes on top

        with pytest.raises(ConcurrentWrite):
            await add(first, 3, 3)
        await add(first, 3, 3)  # the consumer's repeat: read from the database this time

        stored = await client[database][DIRECTORY].find_one({"_id": "soest"})
        assert stored is not None
        assert sorted(m["id"] for m in stored["committee"]) == ["mem-1", "mem-2", "mem-3"]
    finally:
        await client.close()
