"""The network projection, built from real registry events on Kafka, and rebuilt from scratch."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from rbn_shared.events.base import Person, Side
from rbn_shared.events.registry import (
    CommitteeMemberUpdated,
    CommitteeRole,
    FieldOfActionClosed,
    FieldStatus,
)
from tests.conferences.support import ConferencesService, RegistryFeed, eventually

pytestmark = pytest.mark.integration

Mongo = AsyncMongoClient[dict[str, object]]


async def test_projection_follows_registry_events_ignores_repeats_and_rebuilds_to_the_same_state(
    service: ConferencesService,
    feed: RegistryFeed,
    mongo: Mongo,
    module_isolated: dict[str, str],
) -> None:
    ref = await feed.network("hagen", fields={"f1": "adopted", "f2": "adopted", "f3": "proposed"})
    await feed.network("herne", agreement=False)
    # A member update (version 2), then the original "added" (version 1) once more: stale.
    added = next(e for e in feed.sent if e.type == "committee-member-added" and e.key == "hagen")
    updated = await feed.publish(
        CommitteeMemberUpdated(
            network=ref,
            member_id="m1",
            person=Person(name="Dr. Anna Schulte", email="anna.schulte@hagen.example.org"),
            side=Side.STATE,
            role=CommitteeRole.CHAIR,
            term_start=date(2024, 1, 1),
        ),
        network_id="hagen",
        aggregate_id="hagen-m1",
    )
    await feed.send(added)  # the very same event again: a duplicate delivery
    stale = added.model_copy(update={"event_id": uuid.uuid4()})
    await feed.send(stale)  # a different event id, but an older version of the member: stale
    await feed.publish(
        FieldOfActionClosed(
            network=ref,
            field_id="f2",
            title="Handlungsfeld f2",
            starting_situation="Ausgangslage",
            development_needs="Entwicklungsbedarfe",
            status=FieldStatus.CLOSED,
        ),
        network_id="hagen",
        aggregate_id="hagen-f2",
    )
    marker = await feed.member_added(ref, "m9", "Marker Person")  # the last event of the test

    async with service.client() as http:

        async def hagen() -> dict[str, Any] | None:
            response = await http.get("/networks/hagen")
            body: dict[str, Any] = response.json()
            return body if response.status_code == 200 and "m9" in body["committee"] else None

        view = await eventually(hagen)
        herne = (await http.get("/networks/herne")).json()

    assert view["name"] == "Bildungsnetzwerk hagen"
    assert view["agreement_active"] is True
    assert view["committee"] == {
        "m1": "Dr. Anna Schulte",  # the update won over the stale and the repeated "added"
        "m2": "Bernd Krüger",
        "m9": "Marker Person",
    }
    assert view["staff"] == {"s1": "Clara Becker"}
    assert view["fields_of_action"] == {"f1": "adopted", "f2": "closed", "f3": "proposed"}
    assert herne["agreement_active"] is False
    assert updated.aggregate_version == 2
    assert marker.type == "committee-member-added"

    projection = mongo[module_isolated["RBN_MONGO_DATABASE"]]["network_projection"]
    before = [doc async for doc in projection.find().sort("_id")]
    assert [d["_id"] for d in before] == ["hagen", "herne"]

    command = service.run_command("rebuild-projection")
    assert "projection rebuilt" in command.output
    after = [doc async for doc in projection.find().sort("_id")]
    assert after == before
