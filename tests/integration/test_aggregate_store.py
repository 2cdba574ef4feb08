"""The aggregate store's batched save against the real FerretDB: several guarded updates in one
write, each written only if its document is still at the version it was read at, and told apart
afterwards although the server answers only how many matched."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pymongo import AsyncMongoClient
from pymongo.errors import DuplicateKeyError

from rbn_shared.errors import ConcurrentWrite
from rbn_shared.outbox import WRITE_MARK, AggregateStore, KeyedLocks, OutboxRecord, Saved
from tests.support.measure import CommandCounter

pytestmark = pytest.mark.integration

Mongo = AsyncMongoClient[dict[str, Any]]


def _record(event_id: str) -> OutboxRecord:
    return OutboxRecord({"event_id": event_id, "topic": "t", "key": "k", "value": "{}"})


async def test_saved_together_each_change_is_written_at_its_version_or_not_at_all(
    isolated: dict[str, str], mongo: Mongo
) -> None:
    store = AggregateStore(mongo[isolated["RBN_MONGO_DATABASE"]].items, KeyedLocks())
    for name in ("a", "b", "c"):
        await store.insert({"_id": name, "state": "open"})
    announced: list[tuple[object, list[str]]] = []
    store.on_write(
        lambda _s, doc_id, events: announced.append((doc_id, [e["event_id"] for e in events]))
    )
    await store.save({"_id": "b", "state": "moved on"}, 1)  # b is at version 2 now

    written = await store.save_all(
        [
            Saved({"_id": "a", "state": "sent"}, 1, [_record("e-a")]),
            Saved({"_id": "b", "state": "sent"}, 1, [_record("e-b")]),  # read before the move
            Saved({"_id": "c", "state": "sent"}, 1, [_record("e-c")]),
        ]
    )

    assert written == [True, False, True]
    docs = {doc["_id"]: doc async for doc in store.collection.find({})}
    assert (docs["a"]["state"], docs["a"]["version"]) == ("sent", 2)
    assert (docs["b"]["state"], docs["b"]["version"]) == ("moved on", 2)
    assert (docs["c"]["state"], docs["c"]["version"]) == ("sent", 2)
    assert [r["event_id"] for r in docs["a"]["outbox"]] == ["e-a"]
    assert docs["b"]["outbox"] == []  # nothing of the refused change was stored
    assert announced == [("a", ["e-a"]), ("c", ["e-c"])]  # the relay hears of the written ones


async def test_saved_together_all_at_their_versions_are_all_written(
    isolated: dict[str, str], mongo: Mongo
) -> None:
    store = AggregateStore(mongo[isolated["RBN_MONGO_DATABASE"]].items, KeyedLocks())
    for i in range(20):
        await store.insert({"_id": f"d-{i}", "n": 0})

    written = await store.save_all([Saved({"_id": f"d-{i}", "n": i}, 1) for i in range(20)])

    assert written == [True] * 20
    stored = {doc["_id"]: (doc["n"], doc["version"]) async for doc in store.collection.find({})}
    assert stored == {f"d-{i}": (i, 2) for i in range(20)}
    assert await store.save_all([]) == []


async def test_one_save_alone_is_told_by_its_match_and_a_stale_one_is_refused(
    isolated: dict[str, str], mongo: Mongo
) -> None:
    store = AggregateStore(mongo[isolated["RBN_MONGO_DATABASE"]].items, KeyedLocks())
    await store.insert({"_id": "x", "n": 0})

    assert await store.save_all([Saved({"_id": "x", "n": 1}, 5)]) == [False]  # never at 5
    assert await store.save_together({"_id": "x", "n": 1}, 1) == 2
    with pytest.raises(ConcurrentWrite):
        await store.save_together({"_id": "x", "n": 2}, 1)  # read before the save above

    loaded = await store.load("x")
    assert loaded is not None
    assert (loaded["n"], loaded["version"]) == (1, 2)
    assert WRITE_MARK not in loaded  # the mark stays the store's own


async def test_saves_at_the_same_moment_go_in_one_write(
    isolated: dict[str, str], mongo: Mongo
) -> None:
    counter = CommandCounter()
    client: Mongo = AsyncMongoClient(
        isolated["RBN_MONGO_URL"], event_listeners=[counter], tz_aware=True
    )
    try:
        store = AggregateStore(client[isolated["RBN_MONGO_DATABASE"]].items, KeyedLocks())
        for i in range(5):
            await store.insert({"_id": f"s-{i}", "n": 0})
        counter.counts.clear()
        versions = await asyncio.gather(
            *(store.save_together({"_id": f"s-{i}", "n": i}, 1) for i in range(5)),
            store.save_together({"_id": "s-0", "n": 99}, 1),  # the same version, read twice
            return_exceptions=True,
        )
        assert versions[:5] == [2] * 5
        assert isinstance(versions[5], ConcurrentWrite)
        assert counter.counts[("update", "items")] == 1
        loaded = await store.load("s-0")
        assert loaded is not None
        assert loaded["n"] == 0  # the first of the two won, not the 99
    finally:
        await client.close()


async def test_a_change_the_database_refuses_fails_alone(
    isolated: dict[str, str], mongo: Mongo
) -> None:
    """A rename to a name in use (a unique index) is refused as that change's own error; the
    other changes of the same write are stored."""
    store = AggregateStore(mongo[isolated["RBN_MONGO_DATABASE"]].items, KeyedLocks())
    await store.collection.create_index("name", unique=True)
    for name in ("a", "b", "c"):
        await store.insert({"_id": name, "name": name.upper()})

    outcomes = await store.save_all(
        [
            Saved({"_id": "a", "name": "B"}, 1),  # B is b's
            Saved({"_id": "c", "name": "C2"}, 1),
        ]
    )

    assert isinstance(outcomes[0], DuplicateKeyError)
    assert outcomes[1] is True
    names = {doc["_id"]: doc["name"] async for doc in store.collection.find({})}
    assert names == {"a": "A", "b": "B", "c": "C2"}
    with pytest.raises(DuplicateKeyError):
        await store.save_together({"_id": "a", "name": "C2"}, 1)
