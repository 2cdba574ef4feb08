"""One bad value fails one delivery, visibly and fixably: failed mails mark invitations, corrected
addresses send the invitation again (once), and unclean input is refused at the edge. The service
runs as a process; registry and notification events travel over the real Kafka."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from rbn_shared.events import Envelope, parse_payload
from rbn_shared.events.base import NetworkRef, Person, Side
from rbn_shared.events.conferences import ParticipantInvited
from rbn_shared.events.notifications import NotificationFailed
from rbn_shared.events.registry import CommitteeMemberUpdated, CommitteeRole
from tests.conferences.support import (
    ConferencesService,
    RegistryFeed,
    berlin,
    conference_events,
    eventually,
    future,
    of_conference,
    office_token,
)
from tests.support.infra import Infra
from tests.support.kafka_reader import read_topic

pytestmark = pytest.mark.integration

FAILED_AT = datetime(2027, 1, 11, 9, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def notifications(infra: Infra, module_isolated: dict[str, str]) -> RegistryFeed:
    """Publishes to the notifications topic as the notifications service would."""
    return RegistryFeed(
        infra.kafka_bootstrap, module_isolated["RBN_TOPIC_PREFIX"] + "notifications.events"
    )


@pytest.fixture(scope="module")
async def hagen(feed: RegistryFeed, service: ConferencesService) -> NetworkRef:
    ref = await feed.network("hagen")
    async with service.client() as http:

        async def known() -> bool:
            response = await http.get("/networks/hagen")
            # Fields of action are the last events feed.network() sends.
            return response.status_code == 200 and response.json()["fields_of_action"] != {}

        await eventually(known)
    return ref


async def failed(
    notifications: RegistryFeed,
    *,
    conference_id: str,
    invitation_id: str,
    recipient: str,
    reason: str = "550 5.1.1 mailbox unavailable",
) -> Envelope:
    delivery_id = uuid.uuid4().hex[:12]
    return await notifications.publish(
        NotificationFailed(
            delivery_id=delivery_id,
            cause_event_id=uuid.uuid4(),
            cause_event_type="conference-scheduled",
            network_id="hagen",
            recipient=recipient,
            conference_id=conference_id,
            invitation_id=invitation_id,
            template="invitation",
            subject="Einladung",
            attempts=1,
            failed_at=FAILED_AT,
            reason=reason,
            permanent=True,
        ),
        network_id="hagen",
        aggregate_id=delivery_id,
    )


def schedule_body(start: datetime, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "network_id": "hagen",
        "title": "Regionale Bildungskonferenz Hagen",
        "starts_at": berlin(start),
        "ends_at": berlin(start + timedelta(hours=3)),
        "venue": {"name": "Rathaus", "address": "Rathausstraße 11, 58095 Hagen"},
        "delegates": [
            {
                "name": "Dora Yilmaz",
                "email": "dora.yilmaz@gesamtschule.example.org",
                "institution": "Gesamtschule Hagen",
                "group": "school",
            },
            {"name": "Emil Hoffmann", "email": "emil@jugendamt.example.org", "group": "other"},
        ],
    }
    return body | changes


async def schedule(http: httpx.AsyncClient, start: datetime) -> dict[str, Any]:
    created = await http.post("/conferences", json=schedule_body(start))
    assert created.status_code == 201, created.text
    body: dict[str, Any] = created.json()
    return body


def invitation(conference: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(i for i in conference["invitations"] if i["name"] == name)
    return found


def invited(events: list[Envelope], conference_id: str, invitation_id: str) -> list[Envelope]:
    return [
        e
        for e in of_conference(events, conference_id, "participant-invited")
        if e.payload["invitee"]["invitation_id"] == invitation_id
    ]


async def test_a_failed_mail_marks_only_that_invitation_undeliverable(
    service: ConferencesService, hagen: NetworkRef, notifications: RegistryFeed, infra: Infra
) -> None:
    async with service.client(office_token("hagen")) as http:
        conference = await schedule(http, future(days=40))
        conference_id = conference["id"]
        dora, emil = invitation(conference, "Dora Yilmaz"), invitation(conference, "Emil Hoffmann")
        assert (dora["undeliverable"], dora["delivery_problem"]) == (False, None)
        assert conference["counts"]["undeliverable"] == 0

        # Ignored: an unknown conference, an unknown invitation, another address than Emil's.
        await failed(notifications, conference_id="nope", invitation_id="inv-1", recipient="a@b.de")
        await failed(
            notifications, conference_id=conference_id, invitation_id="inv-99", recipient="a@b.de"
        )
        await failed(
            notifications,
            conference_id=conference_id,
            invitation_id=emil["invitation_id"],
            recipient="emil.alt@jugendamt.example.org",
        )
        # Marked, whatever the spelling of the same address; then the very event once more.
        marking = await failed(
            notifications,
            conference_id=conference_id,
            invitation_id=dora["invitation_id"],
            recipient="Dora.Yilmaz@Gesamtschule.example.org",
        )
        await notifications.send(marking)

        async def marked() -> dict[str, Any] | None:
            body: dict[str, Any] = (await http.get(f"/conferences/{conference_id}")).json()
            return body if invitation(body, "Dora Yilmaz")["undeliverable"] else None

        body = await eventually(marked)
        problem = invitation(body, "Dora Yilmaz")["delivery_problem"]
        assert datetime.fromisoformat(problem.pop("failed_at")) == FAILED_AT
        assert problem == {
            "reason": "550 5.1.1 mailbox unavailable",
            "address": "Dora.Yilmaz@Gesamtschule.example.org",
        }
        assert invitation(body, "Emil Hoffmann")["undeliverable"] is False
        assert body["counts"]["undeliverable"] == 1
        assert body["version"] == 2, "one change: the mark (the repeat changed nothing)"

    # The ignored events were handled without error: none went to the dead letters.
    dead = await read_topic(
        infra.kafka_bootstrap, notifications.topic + ".dlq", until=bool, timeout=3
    )
    assert dead == []


async def test_a_corrected_registry_address_gets_the_invitation_once_and_clears_the_mark(
    service: ConferencesService,
    hagen: NetworkRef,
    feed: RegistryFeed,
    notifications: RegistryFeed,
    infra: Infra,
    conferences_topic: str,
) -> None:
    async with service.client(office_token("hagen")) as http:
        conference = await schedule(http, future(days=60))
        conference_id = conference["id"]
        anna = invitation(conference, "Anna Schulte")
        assert anna["email"] == "anna.schulte@hagen.example.org"
        await failed(
            notifications,
            conference_id=conference_id,
            invitation_id=anna["invitation_id"],
            recipient=anna["email"],
        )

        async def marked() -> bool:
            body = (await http.get(f"/conferences/{conference_id}")).json()
            return bool(invitation(body, "Anna Schulte")["undeliverable"])

        await eventually(marked)

        corrected = await feed.publish(
            CommitteeMemberUpdated(
                network=hagen,
                member_id="m1",
                person=Person(name="Anna Schulte", email="anna.schulte@neu.example.org"),
                side=Side.STATE,
                role=CommitteeRole.MEMBER,
                term_start=date(2024, 1, 1),
            ),
            network_id="hagen",
            aggregate_id="hagen-m1",
        )
        await feed.send(corrected)  # delivered twice: still one invitation mail
        marker = await feed.member_added(hagen, "m7", "Gerda Marker")

        async def followed() -> dict[str, Any] | None:
            body: dict[str, Any] = (await http.get(f"/conferences/{conference_id}")).json()
            return body if any(i["name"] == "Gerda Marker" for i in body["invitations"]) else None

        body = await eventually(followed)
        anna_now = invitation(body, "Anna Schulte")
        assert anna_now["email"] == "anna.schulte@neu.example.org"
        assert (anna_now["undeliverable"], anna_now["delivery_problem"]) == (False, None)
        assert body["counts"]["undeliverable"] == 0

    def marker_invited(events: list[Envelope]) -> bool:
        return any(
            e.payload["invitee"]["person"]["name"] == "Gerda Marker"
            for e in of_conference(events, conference_id, "participant-invited")
        )

    events = await conference_events(infra.kafka_bootstrap, conferences_topic, until=marker_invited)
    [again] = invited(events, conference_id, anna["invitation_id"])
    payload = parse_payload(again)
    assert isinstance(payload, ParticipantInvited)
    assert payload.invitee.person.email == "anna.schulte@neu.example.org"
    assert again.causation_id == str(corrected.event_id)
    assert marker.type == "committee-member-added"


async def test_correcting_a_delegate_with_a_merge_patch(
    service: ConferencesService,
    hagen: NetworkRef,
    notifications: RegistryFeed,
    infra: Infra,
    conferences_topic: str,
) -> None:
    merge = {"Content-Type": "application/merge-patch+json"}
    async with service.client(office_token("hagen")) as http:
        conference = await schedule(http, future(days=80))
        conference_id = conference["id"]
        dora, anna = invitation(conference, "Dora Yilmaz"), invitation(conference, "Anna Schulte")
        url = f"/conferences/{conference_id}/invitations/{dora['invitation_id']}"
        await failed(
            notifications,
            conference_id=conference_id,
            invitation_id=dora["invitation_id"],
            recipient=dora["email"],
        )

        async def marked() -> dict[str, Any] | None:
            body: dict[str, Any] = (await http.get(f"/conferences/{conference_id}")).json()
            return body if invitation(body, "Dora Yilmaz")["undeliverable"] else None

        read = await eventually(marked)
        tag = f'"{read["version"]}"'

        missing = await http.patch(url, content=b'{"name": "Dora"}', headers=merge)
        assert missing.status_code == 428
        stale = await http.patch(
            url, content=b'{"name": "Dora"}', headers=merge | {"If-Match": '"1"'}
        )
        assert stale.status_code == 409
        assert stale.json()["type"].endswith("version-conflict")
        registry = await http.patch(
            f"/conferences/{conference_id}/invitations/{anna['invitation_id']}",
            json={"email": "anna@privat.example.org"},
            headers={"If-Match": tag},
        )
        assert registry.status_code == 409
        assert registry.json()["type"].endswith("managed-in-registry")
        assert "registry" in registry.json()["detail"]
        taken = await http.patch(
            url, json={"email": "EMIL@jugendamt.example.org"}, headers={"If-Match": tag}
        )
        assert taken.status_code == 409
        assert taken.json()["type"].endswith("already-invited")
        nameless = await http.patch(
            url, content=b'{"name": null, "colour": "red"}', headers=merge | {"If-Match": tag}
        )
        assert nameless.status_code == 422
        assert {e["field"] for e in nameless.json()["errors"]} == {"name", "colour"}
        unknown = await http.patch(
            f"/conferences/{conference_id}/invitations/inv-99",
            json={"name": "X"},
            headers={"If-Match": tag},
        )
        assert unknown.status_code == 404

        renamed = await http.patch(
            url, content='{"name": "Dora Yılmaz"}'.encode(), headers=merge | {"If-Match": tag}
        )
        assert renamed.status_code == 200, renamed.text
        assert renamed.headers["ETag"] == f'"{read["version"] + 1}"'
        after_rename = invitation(renamed.json(), "Dora Yılmaz")
        assert after_rename["undeliverable"] is True, "a new name does not fix an address"

        moved = await http.patch(
            url,
            json={"email": "Dora@Neu.Example.org", "institution": None},
            headers={"If-Match": renamed.headers["ETag"]},
        )
        assert moved.status_code == 200, moved.text
        dora_now = invitation(moved.json(), "Dora Yılmaz")
        assert dora_now["email"] == "dora@neu.example.org", "stored in canonical form"
        assert dora_now["institution"] is None
        assert (dora_now["undeliverable"], dora_now["delivery_problem"]) == (False, None)
        assert moved.json()["counts"]["undeliverable"] == 0

        stored = (await http.get(f"/conferences/{conference_id}")).json()
        assert invitation(stored, "Dora Yılmaz") == dora_now
        assert stored["version"] == read["version"] + 2, "refusals stored nothing"

    def reinvited(events: list[Envelope]) -> bool:
        return bool(invited(events, conference_id, dora["invitation_id"]))

    events = await conference_events(infra.kafka_bootstrap, conferences_topic, until=reinvited)
    mine = of_conference(events, conference_id)
    assert [e.type for e in mine] == ["conference-scheduled", "participant-invited"], (
        "the rename sent nothing, the new address one invitation"
    )
    payload = parse_payload(mine[1])
    assert isinstance(payload, ParticipantInvited)
    assert payload.invitee.invitation_id == dora["invitation_id"]
    assert payload.invitee.person.email == "dora@neu.example.org"
    assert payload.invitee.person.name == "Dora Yılmaz"


async def test_unclean_input_is_refused_at_the_edge_and_nothing_is_stored_or_published(
    service: ConferencesService, hagen: NetworkRef, infra: Infra, conferences_topic: str
) -> None:
    start = future(days=100)
    async with service.client(office_token("hagen")) as http:
        before = (await http.get("/conferences", params={"network_id": "hagen"})).json()["total"]

        async def refused(body: dict[str, Any], field: str) -> dict[str, Any]:
            response = await http.post("/conferences", json=body)
            assert response.status_code == 422, response.text
            assert response.headers["content-type"] == "application/problem+json"
            problem: dict[str, Any] = response.json()
            assert field in {e["field"] for e in problem["errors"]}, problem
            return problem

        for network_id in ("dortmund ", "hagen "):  # "hagen" alone is a known network
            problem = await refused(schedule_body(start, network_id=network_id), "network_id")
            assert "unknown network" not in str(problem), "refused as written, never trimmed"
        await refused(schedule_body(start, title="Konferenz\r\nBcc: alle@example.org"), "title")
        display_name = {
            "name": "Anna Schmidt",
            "email": "Anna Schmidt <anna@x.de>",
            "group": "school",
        }
        await refused(schedule_body(start, delegates=[display_name]), "delegates.0.email")

        conference = await schedule(http, start)
        conference_id = conference["id"]
        tag = f'"{conference["version"]}"'
        invite = await http.post(
            f"/conferences/{conference_id}/invitations",
            json=display_name,
            headers={"If-Match": tag},
        )
        assert invite.status_code == 422
        assert [e["field"] for e in invite.json()["errors"]] == ["email"]
        dora = invitation(conference, "Dora Yilmaz")
        patched = await http.patch(
            f"/conferences/{conference_id}/invitations/{dora['invitation_id']}",
            json={"email": "Dora Yilmaz <dora@x.de>"},
            headers={"If-Match": tag},
        )
        assert patched.status_code == 422
        assert [e["field"] for e in patched.json()["errors"]] == ["email"]

        malformed = await http.post(
            "/conferences",
            content=b'{\n  "network_id": "hagen",\n  oops\n}',
            headers={"Content-Type": "application/json"},
        )
        assert malformed.status_code == 400
        assert malformed.headers["content-type"] == "application/problem+json"
        assert "line 3, column 3" in malformed.json()["detail"]

        too_large = await http.post("/conferences", json=schedule_body(start, title="x" * 300_000))
        assert too_large.status_code == 413
        assert too_large.headers["content-type"] == "application/problem+json"

        async def chunks() -> AsyncIterator[bytes]:
            yield json.dumps(schedule_body(start, title="x" * 300_000)).encode()

        streamed = await http.post(  # no Content-Length: refused while reading
            "/conferences", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert streamed.status_code == 413
        assert streamed.headers["content-type"] == "application/problem+json"
        assert streamed.json()["type"] == "urn:rbn-arnsberg:problem:payload-too-large"

        listed = await http.get("/conferences", params={"network_id": "hagen", "limit": 100})
        after = listed.json()["items"]
        assert listed.json()["total"] == before + 1, "only the one good conference was stored"
        assert (await http.get(f"/conferences/{conference_id}")).json()["version"] == 1

    events = await conference_events(
        infra.kafka_bootstrap,
        conferences_topic,
        until=lambda es: bool(of_conference(es, conference_id)),
    )
    assert [e.type for e in of_conference(events, conference_id)] == ["conference-scheduled"]
    scheduled = {e.aggregate_id for e in events if e.type == "conference-scheduled"}
    assert scheduled == {c["id"] for c in after}, "no event for any refused request"
