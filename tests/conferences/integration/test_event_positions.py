"""Each conference event's aggregate_version is its position in the conference's history, counted
in the stored `event_count` (real FerretDB): several events of one write get consecutive
positions, and a document stored before the count existed goes on above its version."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pymongo import AsyncMongoClient

from conferences.domain.model import Delegate
from rbn_shared.events import Envelope
from rbn_shared.events.conferences import Response, StakeholderGroup
from tests.conferences.use_cases import answer, schedule_online, service_on

pytestmark = pytest.mark.integration

Mongo = AsyncMongoClient[dict[str, object]]
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
START = datetime(2027, 3, 10, 13, 0, tzinfo=UTC)


async def test_events_of_one_write_get_consecutive_positions_from_the_stored_count(
    mongo: Mongo, isolated: dict[str, str]
) -> None:
    db = mongo[isolated["RBN_MONGO_DATABASE"]]
    service = await service_on(db, lambda: NOW)
    dora_as_delegate = Delegate("Dora Yilmaz", "dora@example.org", None, StakeholderGroup.SCHOOL)
    current = await schedule_online(service, START, capacity=1, delegates=(dora_as_delegate,))
    conference_id = current.value.conference_id
    clara, dora = (i.invitation_id for i in current.value.invitations)
    for invitation_id in (clara, dora):  # Clara takes the one seat, Dora waits
        current = await answer(service, current, invitation_id, Response.ACCEPTED)
    # Clara declines: her answer and Dora's promotion are one write with two events.
    current = await answer(service, current, clara, Response.DECLINED)
    collection = db["conferences"]
    stored = await collection.find_one({"_id": conference_id})
    assert stored is not None
    outbox = [Envelope.from_wire(r["value"].encode()) for r in stored["outbox"]]  # type: ignore[attr-defined]
    assert [e.aggregate_version for e in outbox] == [1, 2, 3, 4, 5]
    assert [e.type for e in outbox[-2:]] == ["participant-responded", "participant-responded"]
    assert (stored["version"], stored["event_count"]) == (current.version, 5) == (4, 5)

    # A document from before `event_count` (the count removed here): its events carried the
    # document's version, never more, so the next one comes at the version + 1.
    await collection.update_one({"_id": conference_id}, {"$unset": {"event_count": ""}})
    await answer(service, current, dora, Response.TENTATIVE)
    again = await collection.find_one({"_id": conference_id})
    assert again is not None
    last = Envelope.from_wire(again["outbox"][-1]["value"].encode())  # type: ignore[index]
    assert (last.aggregate_version, again["event_count"], again["version"]) == (5, 5, 5)
