"""Erasure, access and retention against the real Kafka and FerretDB, the service running.

A committee member of Soest is invited to two conferences (as the committee is) and answers one;
the registry's `person-erased` (published here as the registry does) leaves no trace of their name
or address in any collection, every count as it was; a repeat changes nothing, and an older
`committee-member-added` read afterwards, or a rebuild of the projection, does not bring them
back.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from rbn_shared.events import new_event
from rbn_shared.events.base import Side
from rbn_shared.events.registry import CommitteeMemberAdded, CommitteeRole, PersonErased
from rbn_shared.privacy import ERASED_NAME, subject_of
from tests.conferences.support import (
    READER_TOKEN,
    ConferencesService,
    RegistryFeed,
    berlin,
    eventually,
    future,
    office_token,
)

pytestmark = pytest.mark.integration

Mongo = AsyncMongoClient[dict[str, object]]

NAME = "Anna Schulte"
ADDRESS = "anna.schulte@soest.example.org"
SUBJECT = subject_of(ADDRESS)
ACTOR = "district-user-7"


def plenary(title: str, days: float) -> dict[str, object]:
    start = future(days)
    return {
        "network_id": "soest",
        "title": title,
        "starts_at": berlin(start),
        "ends_at": berlin(start + timedelta(hours=2)),
        "online_url": "https://konferenz.example.org/raum/7",
    }


def strings(value: Any) -> list[str]:
    """Every string inside a document, its keys too."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in [str(k), *strings(v)]]
    if isinstance(value, list | tuple):
        return [s for v in value for s in strings(v)]
    return []


async def traces(mongo: Mongo, database: str) -> list[str]:
    """Where in the service's database the person's name or address still stands."""
    db = mongo[database]
    found = []
    for name in await db.list_collection_names():
        async for doc in db[name].find():
            for text in strings(doc):
                folded = text.casefold()
                if NAME.casefold() in folded or ADDRESS.casefold() in folded:
                    found.append(f"{name}/{doc['_id']}")
    return found


async def send_raw(feed: RegistryFeed, key: str, value: bytes) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=feed.bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(feed.topic, value, key=key.encode())
    finally:
        await producer.stop()


async def test_an_erased_person_leaves_no_trace_and_every_count_stays(
    service: ConferencesService,
    feed: RegistryFeed,
    mongo: Mongo,
    module_isolated: dict[str, str],
) -> None:
    database = module_isolated["RBN_MONGO_DATABASE"]
    ref = await feed.network("soest")
    # A committee-member-added the consumer cannot read: a dead letter quoting the address.
    broken = json.loads(
        new_event(
            CommitteeMemberAdded(
                network=ref,
                member_id="m9",
                person={"name": NAME, "email": ADDRESS},
                side=Side.STATE,
                role=CommitteeRole.MEMBER,
                term_start=datetime(2024, 1, 1).date(),
            ),
            key="soest",
            aggregate_id="soest-m9",
            aggregate_version=1,
            correlation_id="broken",
        ).to_wire()
    )
    broken["payload"]["person"]["email"] = f"{ADDRESS} "  # no address: refused, quoted
    del broken["payload"]["side"]
    await send_raw(feed, "soest", json.dumps(broken).encode())

    async with service.client() as http:

        async def known() -> bool:
            response = await http.get("/networks/soest")
            return response.status_code == 200 and response.json()["fields_of_action"] != {}

        await eventually(known)
        ids = []
        for title, days in (("Erste Konferenz", 40), ("Zweite Konferenz", 50)):
            created = await http.post("/conferences", json=plenary(title, days))
            assert created.status_code == 201, created.text
            ids.append(created.json()["id"])
        first = (await http.get(f"/conferences/{ids[0]}")).json()
        anna = next(i for i in first["invitations"] if i["name"] == NAME)
        async with service.client(None) as anonymous:
            answered = await anonymous.put(
                anna["response_url"].replace("/respond/", "/responses/"),
                json={"response": "accepted"},
            )
            assert answered.status_code == 200, answered.text

        # Access: each record once; the district's only.
        for token in (READER_TOKEN, office_token("soest")):
            async with service.client(token) as other:
                refused = await other.post("/privacy/access", json={"email": ADDRESS})
                assert refused.status_code == 403
        export = await http.post("/privacy/access", json={"email": ADDRESS.upper()})
        assert export.status_code == 200, export.text
        body = export.json()
        assert (body["service"], body["subject"]) == ("conferences", SUBJECT)
        kinds = sorted((item["kind"], item["id"]) for item in body["items"])
        assert kinds == sorted(
            [
                ("committee-seat", "m1"),
                ("invitation", f"{ids[0]}/{anna['invitation_id']}"),
                ("invitation", f"{ids[1]}/{anna['invitation_id']}"),
            ]
        ), kinds
        answers = {i["data"]["conference_id"]: i["data"]["response"] for i in body["items"][:2]}
        assert answers == {ids[0]: "accepted", ids[1]: "pending"}

        async def dead_lettered() -> bool:
            return bool(await mongo[database]["dead_letters"].count_documents({}))

        await eventually(dead_lettered)

        async def state() -> list[tuple[dict[str, Any], str]]:
            shown = [await http.get(f"/conferences/{c}") for c in ids]
            return [(r.json()["counts"], r.headers["etag"]) for r in shown]

        before = await state()
        assert await traces(mongo, database)

        # The erasure, as the registry publishes it.
        erasure_id = uuid.uuid4().hex
        erased = PersonErased(
            erasure_id=erasure_id, subject=SUBJECT, network_ids=["soest"], member_ids=["m1"]
        )
        envelope = new_event(
            erased,
            key="district",
            aggregate_id="district",
            aggregate_version=1,
            correlation_id="erasure",
            actor=ACTOR,
        )
        await feed.send(envelope)

        async def anonymised() -> bool:
            shown = [(await http.get(f"/conferences/{c}")).json() for c in ids]
            names = {i["name"] for c in shown for i in c["invitations"]}
            return ERASED_NAME in names and NAME not in names

        await eventually(anonymised)
        assert await traces(mongo, database) == []
        after = await state()
        assert [counts for counts, _ in after] == [counts for counts, _ in before]
        first = (await http.get(f"/conferences/{ids[0]}")).json()
        erased_invitation = next(
            i for i in first["invitations"] if i["invitation_id"] == anna["invitation_id"]
        )
        assert erased_invitation["response"] == "accepted"
        assert erased_invitation["email"].endswith("@entfernt.invalid")
        network = (await http.get("/networks/soest")).json()
        assert network["committee"]["m1"] == ERASED_NAME

        # The same erasure again (a new record of it): nothing changes, not even a version.
        again = new_event(
            erased,
            key="district",
            aggregate_id="district",
            aggregate_version=1,
            correlation_id="erasure-again",
            actor=ACTOR,
        )
        await feed.send(again)
        # Then the erasure of someone else, on the same key: once it is audited, the repeat
        # before it was read too.
        nobody = subject_of("nobody@example.org")
        await feed.send(
            new_event(
                PersonErased(erasure_id=uuid.uuid4().hex, subject=nobody),
                key="district",
                aggregate_id="district",
                aggregate_version=2,
                correlation_id="erasure-other",
            )
        )

        async def audited() -> bool:
            trail = await http.get("/privacy/audit", params={"subject": nobody})
            return bool(trail.json()["items"])

        await eventually(audited)
        assert await state() == after

        # An older committee-member-added (before the erasure), read only now: anonymised.
        late = new_event(
            CommitteeMemberAdded(
                network=ref,
                member_id="m7",
                person={"name": NAME, "email": ADDRESS},
                side=Side.STATE,
                role=CommitteeRole.MEMBER,
                term_start=datetime(2024, 1, 1).date(),
            ),
            key="soest",
            aggregate_id="soest-m7",
            aggregate_version=1,
            correlation_id="late",
            occurred_at=envelope.occurred_at - timedelta(minutes=5),
        )
        await feed.send(late)

        async def seated() -> bool:
            committee = (await http.get("/networks/soest")).json()["committee"]
            return "m7" in committee and committee["m7"] == ERASED_NAME

        await eventually(seated)
        assert await traces(mongo, database) == []

        audit = (await http.get("/privacy/audit", params={"subject": SUBJECT})).json()["items"]
        # Each export and the erasure once (a static token has no subject: no actor).
        assert [(e["action"], e["actor"]) for e in audit] == [
            ("access-export", None),
            ("erasure", ACTOR),
        ]
        async with service.client(READER_TOKEN) as reader:
            assert (await reader.get("/privacy/audit")).status_code == 403
        # The export after the erasure finds nothing under the old address.
        empty = (await http.post("/privacy/access", json={"email": ADDRESS})).json()
        assert empty["items"] == []

        # A rebuild replays the whole registry topic, the person's events among them: the
        # ledger keeps them anonymised.
        projection = mongo[database]["network_projection"]
        before_rebuild = await projection.find_one({"_id": "soest"})
        command = service.run_command("rebuild-projection")
        assert "projection rebuilt" in command.output
        assert await projection.find_one({"_id": "soest"}) == before_rebuild
        assert await traces(mongo, database) == []
