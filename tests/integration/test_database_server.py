"""What the services assume of the database server: a lookup by `_id` uses the `_id` index,
also when the filter says more (`{_id, version}`, the store's guarded update) or names many ids
(`{_id: {$in: [...]}}`, the batched deletes); and a guarded update is atomic, so of two clients
updating one document at the version they both read exactly one succeeds, also while other
collections are being written.

The local FerretDB is built with patches (deploy/local/ferretdb/patches) because upstream v1.24.2
used that index on SQLite only for a filter of `_id` alone, and not even then: every such read,
update and delete scanned and decoded the whole collection.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pymongo import AsyncMongoClient

pytestmark = pytest.mark.integration

Mongo = AsyncMongoClient[dict[str, Any]]


FILTERS: dict[str, dict[str, Any]] = {
    "the id alone": {"_id": "item-7"},
    "the id and a version": {"_id": "item-7", "n": 7},
    "a list of ids": {"_id": {"$in": ["item-7", "item-9", "item-11"]}},
}


@pytest.mark.parametrize("name", list(FILTERS))
async def test_a_lookup_by_id_uses_the_id_index(
    name: str, isolated: dict[str, str], mongo: Mongo
) -> None:
    """FerretDB's update and delete find their documents with the same query (its `explain`
    reports only `find` faithfully); docs/benchmarks/README.md has the before and after."""
    db = mongo[isolated["RBN_MONGO_DATABASE"]]
    await db.items.insert_many([{"_id": f"item-{i}", "n": i} for i in range(50)])

    plan = await db.command("explain", {"find": "items", "filter": FILTERS[name]})
    found = await db.items.find(FILTERS[name]).to_list()
    assert sorted(int(doc["n"]) for doc in found) == sorted(
        i for i in range(50) if _matches(FILTERS[name], i)
    )

    server = await mongo.admin.command("buildInfo")
    if "ferretdbVersion" in server:
        steps = " ".join(plan["queryPlanner"]["Plan"])
        assert "USING INDEX" in steps, steps
        assert "SCAN" not in steps, steps
    else:  # MongoDB: the _id fast path or an index scan, never a collection scan
        assert "COLLSCAN" not in str(plan["queryPlanner"]), plan


def _matches(query: dict[str, Any], n: int) -> bool:
    """What MongoDB would match among the items, for the filters above."""
    wanted = query["_id"]
    ids = wanted["$in"] if isinstance(wanted, dict) else [wanted]
    return f"item-{n}" in ids and query.get("n", n) == n


async def test_of_two_guarded_updates_of_one_document_exactly_one_applies(
    isolated: dict[str, str], mongo: Mongo
) -> None:
    """Upstream FerretDB matched the document for both and let the second overwrite the first
    (patch 0003 serializes each collection's read-modify-write commands); the writes into
    another collection beside them must neither break nor be needed for that."""
    url = isolated["RBN_MONGO_URL"]
    second: Mongo = AsyncMongoClient(url)
    try:
        db = mongo[isolated["RBN_MONGO_DATABASE"]]
        other = second[isolated["RBN_MONGO_DATABASE"]]
        await db.docs.insert_one({"_id": "x", "version": 1, "by": []})
        await db.elsewhere.insert_one({"_id": "y", "n": 0})
        both = 0
        for version in range(1, 41):
            guard = {"_id": "x", "version": version}
            first, other_one, _ = await asyncio.gather(
                db.docs.update_one(guard, {"$set": {"version": version + 1}, "$push": {"by": 1}}),
                other.docs.update_one(
                    guard, {"$set": {"version": version + 1}, "$push": {"by": 2}}
                ),
                other.elsewhere.update_one({"_id": "y"}, {"$inc": {"n": 1}}),
            )
            both += first.matched_count + other_one.matched_count != 1
        stored = await db.docs.find_one({"_id": "x"})
        assert both == 0
        assert stored is not None
        assert stored["version"] == 41
        assert len(stored["by"]) == 40
        assert (await db.elsewhere.find_one({"_id": "y"}) or {}).get("n") == 40
    finally:
        await second.close()
