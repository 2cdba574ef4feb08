"""Each conference event's aggregate_version is its position in the conference's history, counted
in the stored `event_count` (real FerretDB): several events of one write get consecutive
positions, and a document stored before the count existed goes on above its version."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient

from conferences.adapters.links import ResponseLinks
from conferences.adapters.repositories import ConferenceRepository, NetworkProjection
from conferences.domain.model import ConferenceDraft, Delegate
from conferences.domain.projection import NetworkView
from conferences.service_layer.services import ConferenceService
from rbn_shared.changes import Cause
from rbn_shared.events import Envelope
from rbn_shared.events.conferences import ConferenceKind, Response, StakeholderGroup
from rbn_shared.outbox import AggregateStore, KeyedLocks

pytestmark = pytest.mark.integration

Mongo = AsyncMongoClient[dict[str, object]]
NOW = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
START = datetime(2027, 3, 10, 13, 0, tzinfo=UTC)


async def test_events_of_one_write_get_consecutive_positions_from_the_stored_count(
    mongo: Mongo, isolated: dict[str, str]
) -> None:
    db = mongo[isolated["RBN_MONGO_DATABASE"]]
    locks = KeyedLocks()
    networks = NetworkProjection(db["network_projection"], locks)
    await networks.put(
        NetworkView(
            "hamm",
            name="Bildungsnetzwerk Hamm",
            office_email="buero@example.org",
            agreement_active=True,
            staff={"s1": {"person": {"name": "Clara Becker", "email": "clara@example.org"}}},
        )
    )
    service = ConferenceService(
        ConferenceRepository(AggregateStore(db["conferences"], locks)),
        networks,
        ResponseLinks("secret", "https://konferenzen.example.org", timedelta(days=30)),
        topic="test.conferences.events",
        clock=lambda: NOW,
        reminder_offsets=[],
    )
    cause = Cause(correlation_id="test")
    conference, version = await service.schedule(
        "hamm",
        ConferenceDraft(
            title="Konferenz",
            kind=ConferenceKind.PLENARY,
            starts_at=START,
            ends_at=START + timedelta(hours=2),
            online_url="https://konferenz.example.org/1",
            capacity=1,
            delegates=(Delegate("Dora Yilmaz", "dora@example.org", None, StakeholderGroup.SCHOOL),),
        ),
        cause,
    )
    conference_id = conference.conference_id
    clara, dora = (i.invitation_id for i in conference.invitations)
    for invitation_id in (clara, dora):  # Clara takes the one seat, Dora waits
        conference, version = await service.respond(
            conference_id, invitation_id, Response.ACCEPTED, cause, expected_version=version
        )
    # Clara declines: her answer and Dora's promotion are one write with two events.
    conference, version = await service.respond(
        conference_id, clara, Response.DECLINED, cause, expected_version=version
    )
    collection = db["conferences"]
    stored = await collection.find_one({"_id": conference_id})
    assert stored is not None
    outbox = [Envelope.from_wire(r["value"].encode()) for r in stored["outbox"]]  # type: ignore[attr-defined]
    assert [e.aggregate_version for e in outbox] == [1, 2, 3, 4, 5]
    assert [e.type for e in outbox[-2:]] == ["participant-responded", "participant-responded"]
    assert (stored["version"], stored["event_count"]) == (version, 5) == (4, 5)

    # A document from before `event_count` (the count removed here): its events carried the
    # document's version, never more, so the next one comes at the version + 1.
    await collection.update_one({"_id": conference_id}, {"$unset": {"event_count": ""}})
    conference, version = await service.respond(
        conference_id, dora, Response.TENTATIVE, cause, expected_version=version
    )
    again = await collection.find_one({"_id": conference_id})
    assert again is not None
    last = Envelope.from_wire(again["outbox"][-1]["value"].encode())  # type: ignore[index]
    assert (last.aggregate_version, again["event_count"], again["version"]) == (5, 5, 5)
