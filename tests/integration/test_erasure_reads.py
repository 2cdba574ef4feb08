"""The erasure ledger against the real FerretDB: look-ups at the same
moment (the lanes of a consumer's batch, each checking its event's people) take one query, and
each caller is answered about its own addresses only."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from rbn_shared.privacy import ERASURES_COLLECTION, Erasure, ErasureLedger
from rbn_shared.subjects import subject_of
from tests.support.measure import CommandCounter

pytestmark = pytest.mark.integration

ERASED_AT = datetime(2027, 2, 1, 9, 0, tzinfo=UTC)


async def test_look_ups_at_the_same_moment_take_one_query_each_answered_its_own(
    isolated: dict[str, str],
) -> None:
    counter = CommandCounter()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        isolated["RBN_MONGO_URL"], event_listeners=[counter], tz_aware=True
    )
    try:
        ledger = ErasureLedger(client[isolated["RBN_MONGO_DATABASE"]])
        gone = "erased.person@example.org"
        assert await ledger.remember(Erasure(subject_of(gone), "era-1", ERASED_AT))
        counter.counts.clear()

        answers = await asyncio.gather(
            ledger.erased_at(["kept.one@example.org", gone]),
            ledger.erased_at(["kept.two@example.org"]),
            ledger.erased_after([gone], datetime(2027, 1, 1, tzinfo=UTC)),  # erased after it
            ledger.erased_after([gone], datetime(2027, 3, 1, tzinfo=UTC)),  # erased before it
            ledger.erased_at([]),
        )

        assert list(answers) == [{gone: ERASED_AT}, {}, {gone}, set(), {}]
        assert counter.counts[("find", ERASURES_COLLECTION)] == 1
    finally:
        await client.close()
