"""What the services assume of the database server: a lookup by `_id` uses the `_id` index.

The local FerretDB is built with a patch (deploy/local/ferretdb/patches) because upstream v1.24.2
never used that index on SQLite: every read, update and delete by `_id` scanned the collection.
"""

from __future__ import annotations

import pytest
from pymongo import AsyncMongoClient

pytestmark = pytest.mark.integration

Mongo = AsyncMongoClient[dict[str, object]]


async def test_a_lookup_by_id_uses_the_id_index(isolated: dict[str, str], mongo: Mongo) -> None:
    """FerretDB's update and delete find their documents with the same query (its `explain`
    reports only `find` faithfully); docs/benchmarks/pipeline.md has the before and after."""
    db = mongo[isolated["RBN_MONGO_DATABASE"]]
    await db.items.insert_many([{"_id": f"item-{i}", "n": i} for i in range(50)])

    plan = await db.command("explain", {"find": "items", "filter": {"_id": "item-7"}})

    server = await mongo.admin.command("buildInfo")
    if "ferretdbVersion" in server:
        steps = " ".join(plan["queryPlanner"]["Plan"])
        assert "USING INDEX" in steps, steps
        assert "SCAN" not in steps, steps
    else:  # MongoDB: the _id fast path or an index scan, never a collection scan
        assert "COLLSCAN" not in str(plan["queryPlanner"]), plan
