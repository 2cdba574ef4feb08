"""The conference lifecycle through the HTTP API, with the events read back from the real topic."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from rbn_shared.events import Envelope, parse_payload
from rbn_shared.events.conferences import (
    ConferenceConcluded,
    ConferenceRescheduled,
    ConferenceScheduled,
    ParticipantInvited,
    ParticipantResponded,
)
from tests.conferences.support import (
    DISTRICT_TOKEN,
    LINK_SECRET,
    READER_TOKEN,
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

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def networks(feed: RegistryFeed, service: ConferencesService) -> list[str]:
    """hamm and unna with an agreement; soest without one."""
    await feed.network("hamm", fields={"f1": "adopted", "f2": "proposed"})
    await feed.network("unna")
    await feed.network("soest", agreement=False)
    async with service.client() as http:
        for network_id in ("hamm", "unna", "soest"):

            async def known(n: str = network_id) -> bool:
                response = await http.get(f"/networks/{n}")
                # Fields of action are the last events feed.network() sends.
                return response.status_code == 200 and response.json()["fields_of_action"] != {}

            await eventually(known)
    return ["hamm", "unna", "soest"]


def schedule_body(network_id: str, start: datetime, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "network_id": network_id,
        "title": "Regionale Bildungskonferenz 2027",
        "kind": "plenary",
        "starts_at": berlin(start),
        "ends_at": berlin(start + timedelta(hours=3)),
        "venue": {"name": "Rathaus, Ratssaal", "address": "Theodor-Heuss-Platz 16, 59065 Hamm"},
        "agenda": [
            {"title": "Begrüßung"},
            {"title": "Übergang Schule–Beruf", "field_of_action_id": "f1"},
        ],
        "capacity": 80,
        "delegates": [
            {
                "name": "Dora Yilmaz",
                "email": "dora.yilmaz@gesamtschule.example.org",
                "institution": "Gesamtschule Hamm",
                "group": "school",
            }
        ],
    }
    body.update(changes)
    return body


def etag(response: httpx.Response) -> str:
    return response.headers["ETag"]


async def test_whole_lifecycle_through_the_api_with_events_on_the_topic(
    service: ConferencesService,
    networks: list[str],
    feed: RegistryFeed,
    infra: Infra,
    conferences_topic: str,
) -> None:
    start = future(days=40)
    async with service.client(office_token("hamm")) as http:
        created = await http.post(
            "/conferences",
            json=schedule_body("hamm", start),
            headers={"X-Correlation-ID": "corr-schedule"},
        )
        assert created.status_code == 201, created.text
        conference = created.json()
        conference_id = conference["id"]
        assert created.headers["Location"] == f"/conferences/{conference_id}"
        assert etag(created) == '"1"'
        # Entered as Berlin local time, stored in UTC.
        assert datetime.fromisoformat(conference["starts_at"]) == start.astimezone(UTC)
        assert conference["starts_at_local"].startswith(berlin(start))
        invitees = {i["name"]: i for i in conference["invitations"]}
        assert set(invitees) == {"Anna Schulte", "Bernd Krüger", "Clara Becker", "Dora Yilmaz"}
        assert invitees["Anna Schulte"]["group"] == "steering_committee"
        assert invitees["Clara Becker"]["group"] == "education_office"
        assert conference["agenda"][1]["field_of_action_title"] == "Handlungsfeld f1"
        assert [r["offset_seconds"] for r in conference["reminders"]] == [7 * 86400, 86400]

        # Rescheduled twice; a stale If-Match is refused and changes nothing.
        later = start + timedelta(days=1)
        moved = await http.post(
            f"/conferences/{conference_id}/reschedule",
            json={"starts_at": berlin(later), "ends_at": berlin(later + timedelta(hours=2))},
            headers={"If-Match": etag(created)},
        )
        assert moved.status_code == 200, moved.text
        assert moved.json()["sequence"] == 1
        stale = await http.post(
            f"/conferences/{conference_id}/reschedule",
            json={"starts_at": berlin(start), "ends_at": berlin(start + timedelta(hours=2))},
            headers={"If-Match": etag(created)},
        )
        assert stale.status_code == 409
        assert stale.headers["content-type"] == "application/problem+json"
        assert stale.json()["type"].endswith("version-conflict")
        even_later = later + timedelta(days=1)
        moved_again = await http.post(
            f"/conferences/{conference_id}/reschedule",
            json={
                "starts_at": berlin(even_later),
                "ends_at": berlin(even_later + timedelta(hours=2)),
            },
            headers={"If-Match": etag(moved)},
        )
        assert moved_again.json()["sequence"] == 2
        due = [datetime.fromisoformat(r["due_at"]) for r in moved_again.json()["reminders"]]
        assert due == [
            even_later.astimezone(UTC) - timedelta(days=7),
            even_later.astimezone(UTC) - timedelta(days=1),
        ], "rescheduling moves the reminders"

        # An external delegate, an answer through the API.
        invited = await http.post(
            f"/conferences/{conference_id}/invitations",
            json={
                "name": "Emil Hoffmann",
                "email": "emil.hoffmann@jugendamt.example.org",
                "institution": "Jugendamt Hamm",
                "group": "youth_welfare",
            },
            headers={"If-Match": etag(moved_again)},
        )
        assert invited.status_code == 201, invited.text
        emil = next(i for i in invited.json()["invitations"] if i["name"] == "Emil Hoffmann")
        answered = await http.put(
            f"/conferences/{conference_id}/invitations/{emil['invitation_id']}/response",
            json={"response": "tentative"},
            headers={"If-Match": etag(invited), "X-Correlation-ID": "corr-answer"},
        )
        assert answered.status_code == 200, answered.text
        assert answered.json()["counts"]["tentative"] == 1

    # A new committee member in the registry joins the invitee list of the planned conference.
    ref = next(e for e in feed.sent if e.type == "network-registered" and e.key == "hamm")
    joined = await feed.member_added(parse_payload(ref).network, "m3", "Frieda Lange")  # type: ignore[attr-defined]
    async with service.client(DISTRICT_TOKEN) as http:

        async def frieda_invited() -> dict[str, Any] | None:
            body: dict[str, Any] = (await http.get(f"/conferences/{conference_id}")).json()
            names = {i["name"] for i in body["invitations"]}
            return body if "Frieda Lange" in names else None

        current = await eventually(frieda_invited)
    for outsider in (READER_TOKEN, office_token("hagen")):
        async with service.client(outsider) as http:
            seen = (await http.get(f"/conferences/{conference_id}")).json()
            assert seen["invitations"] is None, "readers and other offices see no one"
            assert seen["counts"] == current["counts"], "but how many answered what"
            listed = (await http.get("/conferences", params={"network_id": "hamm"})).json()
            assert listed["items"], "the office's conference is listed for outsiders too"
            assert all(c["invitations"] is None for c in listed["items"])

    async with service.client(office_token("hamm")) as http:
        fresh = await http.get(f"/conferences/{conference_id}")
        cancelled = await http.post(
            f"/conferences/{conference_id}/cancel",
            json={"reason": "Der Ratssaal steht nicht zur Verfügung."},
            headers={"If-Match": etag(fresh)},
        )
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "cancelled"
        assert all(r["state"] != "pending" for r in cancelled.json()["reminders"]), (
            "cancelling drops the reminders"
        )

    events = await conference_events(
        infra.kafka_bootstrap,
        conferences_topic,
        until=lambda es: bool(of_conference(es, conference_id, "conference-cancelled")),
    )
    mine = of_conference(events, conference_id)
    assert [e.type for e in mine] == [
        "conference-scheduled",
        "conference-rescheduled",
        "conference-rescheduled",
        "participant-invited",
        "participant-responded",
        "participant-invited",
        "conference-cancelled",
    ]
    assert {e.key for e in mine} == {"hamm"}, "keyed by the network"
    scheduled = parse_payload(mine[0])
    assert isinstance(scheduled, ConferenceScheduled)
    assert mine[0].correlation_id == "corr-schedule"
    assert scheduled.network.name == "Bildungsnetzwerk hamm"
    assert scheduled.organizer.email == "buero@hamm.example.org"
    assert scheduled.venue is not None
    assert scheduled.venue.name == "Rathaus, Ratssaal"
    assert [a.title for a in scheduled.agenda] == ["Begrüßung", "Übergang Schule–Beruf"]
    assert {str(i.person.email) for i in scheduled.invitees} >= {
        "anna.schulte@hamm.example.org",
        "dora.yilmaz@gesamtschule.example.org",
    }
    assert all(
        str(i.response_url).startswith(service.base_url + "/respond/") for i in scheduled.invitees
    )
    second = parse_payload(mine[2])
    assert isinstance(second, ConferenceRescheduled)
    assert second.sequence == 2
    assert second.previous_starts_at == later.astimezone(UTC)
    answer = parse_payload(mine[4])
    assert isinstance(answer, ParticipantResponded)
    assert answer.invitee.response == "tentative"
    assert mine[4].correlation_id == "corr-answer"
    followed = parse_payload(mine[5])
    assert isinstance(followed, ParticipantInvited)
    assert followed.invitee.person.name == "Frieda Lange"
    assert mine[5].causation_id == str(joined.event_id), "caused by the registry event"
    assert mine[5].correlation_id == joined.correlation_id
    assert [e.aggregate_version for e in mine] == sorted(e.aggregate_version for e in mine)


async def test_conclusion_only_after_the_end_with_recommendations(
    service: ConferencesService, networks: list[str], infra: Infra, conferences_topic: str
) -> None:
    soon = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=6)
    async with service.client(office_token("unna")) as http:
        created = await http.post(
            "/conferences",
            json=schedule_body(
                "unna",
                soon,
                ends_at=berlin(soon + timedelta(seconds=2)),
                agenda=[],
                delegates=[],
            ),
        )
        assert created.status_code == 201, created.text
        conference_id = created.json()["id"]
        results = {
            "summary": "Die Konferenz empfiehlt, den Übergang Schule–Beruf zu stärken.",
            "recommendations": [
                {"field_of_action_id": "f1", "text": "Berufsorientierung ab Klasse 8 ausbauen."}
            ],
        }
        early = await http.post(
            f"/conferences/{conference_id}/conclude", json=results, headers={"If-Match": '"1"'}
        )
        assert early.status_code == 409
        assert early.json()["type"].endswith("not-ended")

        await asyncio.sleep(
            max(0.0, (soon + timedelta(seconds=3) - datetime.now(UTC)).total_seconds())
        )
        # Once it has started, the response page shows the answer but takes no new one.
        link = created.json()["invitations"][0]["response_url"]
        async with service.client(None) as anonymous:
            page = await anonymous.get(link)
            assert "bereits begonnen" in page.text
            assert "<button" not in page.text
            too_late = await anonymous.post(link, data={"response": "accepted"})
            assert too_late.status_code == 409
            assert 'data-response="pending"' in too_late.text
        unknown = await http.post(
            f"/conferences/{conference_id}/conclude",
            json={**results, "recommendations": [{"field_of_action_id": "nope", "text": "x"}]},
            headers={"If-Match": '"1"'},
        )
        assert unknown.status_code == 422
        assert unknown.json()["errors"][0]["field"] == "recommendations.0.field_of_action_id"
        concluded = await http.post(
            f"/conferences/{conference_id}/conclude", json=results, headers={"If-Match": '"1"'}
        )
        assert concluded.status_code == 200, concluded.text
        assert concluded.json()["status"] == "concluded"

    events = await conference_events(
        infra.kafka_bootstrap,
        conferences_topic,
        until=lambda es: bool(of_conference(es, conference_id, "conference-concluded")),
    )
    mine = of_conference(events, conference_id)
    assert [e.type for e in mine] == ["conference-scheduled", "conference-concluded"]
    result = parse_payload(mine[1])
    assert isinstance(result, ConferenceConcluded)
    assert result.recommendations[0].field_of_action_title == "Handlungsfeld f1"
    assert result.attendance.pending == 3


async def test_refusals_store_and_publish_nothing(
    service: ConferencesService, networks: list[str], infra: Infra, conferences_topic: str
) -> None:
    start = future(days=60)
    async with service.client() as http:
        first = await http.post("/conferences", json=schedule_body("hamm", start))
        assert first.status_code == 201, first.text
        before = (
            await http.get("/conferences", params={"network_id": "hamm", "limit": 100})
        ).json()

        overlap = await http.post(
            "/conferences",
            json=schedule_body("hamm", start + timedelta(hours=1), title="Teilversammlung"),
        )
        assert overlap.status_code == 409
        assert overlap.json()["type"] == "urn:rbn-arnsberg:problem:overlap"

        past = await http.post(
            "/conferences", json=schedule_body("hamm", datetime.now(UTC) - timedelta(days=1))
        )
        assert past.status_code == 422
        assert {"starts_at"} <= {e["field"] for e in past.json()["errors"]}

        unknown_field = schedule_body(
            "hamm", start + timedelta(days=2), agenda=[{"title": "X", "field_of_action_id": "f9"}]
        )
        refused = await http.post("/conferences", json=unknown_field)
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "agenda.0.field_of_action_id"
        proposed_only = schedule_body(
            "hamm", start + timedelta(days=2), agenda=[{"title": "X", "field_of_action_id": "f2"}]
        )
        assert (await http.post("/conferences", json=proposed_only)).status_code == 422

        no_agreement = await http.post("/conferences", json=schedule_body("soest", start))
        assert no_agreement.status_code == 409
        assert no_agreement.json()["type"] == "urn:rbn-arnsberg:problem:no-active-agreement"

        extra = await http.post(
            "/conferences", json={**schedule_body("hamm", start + timedelta(days=3)), "colour": 1}
        )
        assert extra.status_code == 422
        assert extra.json()["errors"][0]["field"] == "colour"

        summer_gap = await http.post(
            "/conferences",
            json=schedule_body(
                "hamm", start, starts_at="2031-03-30T02:30:00", ends_at="2031-03-30T05:00:00"
            ),
        )
        assert summer_gap.status_code == 422, "02:30 does not exist on that day in Berlin"

        after = (await http.get("/conferences", params={"network_id": "hamm", "limit": 100})).json()
        assert [c["id"] for c in after["items"]] == [c["id"] for c in before["items"]]
        assert after["total"] == before["total"]
        last = {"network_id": "hamm", "limit": 1, "offset": before["total"] - 1}
        page = (await http.get("/conferences", params=last)).json()
        assert [c["id"] for c in page["items"]] == [before["items"][-1]["id"]], "earliest first"
        assert (page["total"], page["limit"], page["offset"]) == (
            before["total"],
            1,
            last["offset"],
        )
        soest = (await http.get("/conferences", params={"network_id": "soest"})).json()
        assert (soest["items"], soest["total"]) == ([], 0)

        marker = await http.post("/conferences", json=schedule_body("unna", future(days=90)))
        assert marker.status_code == 201

    events = await conference_events(
        infra.kafka_bootstrap,
        conferences_topic,
        until=lambda es: bool(of_conference(es, marker.json()["id"])),
    )
    scheduled_ids = {e.aggregate_id for e in events if e.type == "conference-scheduled"}
    assert {c["id"] for c in after["items"]} <= scheduled_ids
    assert not any(e.key == "soest" for e in events)
    hamm_scheduled = [e for e in events if e.type == "conference-scheduled" and e.key == "hamm"]
    assert len(hamm_scheduled) == after["total"], "no event for any refused request"


async def test_roles_and_preconditions(service: ConferencesService, networks: list[str]) -> None:
    start = future(days=120)
    async with service.client(office_token("unna")) as other_office:
        foreign = await other_office.post("/conferences", json=schedule_body("hamm", start))
        assert foreign.status_code == 403
    async with service.client(READER_TOKEN) as reader:
        assert (
            await reader.post("/conferences", json=schedule_body("hamm", start))
        ).status_code == 403
    async with service.client(None) as anonymous:
        assert (await anonymous.get("/conferences")).status_code == 401
    async with service.client(office_token("hamm")) as http:
        created = await http.post("/conferences", json=schedule_body("hamm", start))
        conference_id = created.json()["id"]
        missing = await http.post(f"/conferences/{conference_id}/cancel", json={"reason": "Test"})
        assert missing.status_code == 428
        assert (await http.get(f"/conferences/{conference_id}")).json()["status"] == "scheduled"

        huge = schedule_body("hamm", start + timedelta(days=1), title="x" * 300_000)
        too_large = await http.post("/conferences", json=huge)
        assert too_large.status_code == 413

        async def chunks() -> AsyncIterator[bytes]:
            for _ in range(40):
                yield b" " * 10_000  # no Content-Length: sent chunked

        chunked = await http.post(
            "/conferences", content=chunks(), headers={"Content-Type": "application/json"}
        )
        assert chunked.status_code == 413
        assert chunked.json()["type"].endswith("payload-too-large")


async def test_response_link_accepted_tampered_expired(
    service: ConferencesService, networks: list[str]
) -> None:
    from conferences.adapters.links import ResponseLinks

    async with service.client() as http:
        created = await http.post("/conferences", json=schedule_body("unna", future(days=150)))
        conference = created.json()
        dora = next(i for i in conference["invitations"] if i["name"] == "Dora Yilmaz")
        link: str = dora["response_url"]
        token = link.rsplit("/", 1)[1]

    async with service.client(None) as anonymous:
        page = await anonymous.get(link)
        assert page.status_code == 200
        assert "Noch keine Antwort" in page.text
        posted = await anonymous.post(link, data={"response": "accepted"})
        assert posted.status_code == 303
        shown = await anonymous.get(posted.headers["Location"])
        assert 'data-response="accepted"' in shown.text
        assert "Vielen Dank" in shown.text

        tampered = token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB")
        forged = await anonymous.post(f"/respond/{tampered}", data={"response": "declined"})
        assert forged.status_code == 403
        assert "ungültig" in forged.text
        forged_json = await anonymous.put(f"/responses/{tampered}", json={"response": "declined"})
        assert forged_json.status_code == 403

        links = ResponseLinks(LINK_SECRET, service.base_url, timedelta(days=1))
        expired = links.token(
            conference["id"],
            dora["invitation_id"],
            conference_ends_at=datetime.now(UTC) + timedelta(days=150),
            expires_at=datetime.now(UTC) - timedelta(minutes=1),
        )
        late = await anonymous.put(f"/responses/{expired}", json={"response": "declined"})
        assert late.status_code == 403
        assert (await anonymous.get(f"/respond/{expired}")).status_code == 403

        still = await anonymous.get(f"/responses/{token}")
        assert still.json()["response"] == "accepted", "forged and expired links changed nothing"

    async with service.client() as http:
        body = (await http.get(f"/conferences/{conference['id']}")).json()
        assert body["version"] == 2, "exactly one change: the genuine answer"


async def test_waiting_list_promotes_in_order_when_someone_declines(
    service: ConferencesService, networks: list[str], infra: Infra, conferences_topic: str
) -> None:
    delegates = [
        {"name": n, "email": f"{n.lower()}@schule.example.org", "group": "school"}
        for n in ("Ida", "Jan", "Kim")
    ]
    async with service.client() as http:
        created = await http.post(
            "/conferences",
            json=schedule_body("unna", future(days=200), capacity=1, delegates=delegates),
        )
        conference = created.json()
        links = {i["name"]: i["response_url"].rsplit("/", 1)[1] for i in conference["invitations"]}

    async with service.client(None) as anonymous:
        for name in ("Ida", "Jan", "Kim"):
            answer = await anonymous.put(f"/responses/{links[name]}", json={"response": "accepted"})
            assert answer.status_code == 200, answer.text
        jan = (await anonymous.get(f"/responses/{links['Jan']}")).json()
        kim = (await anonymous.get(f"/responses/{links['Kim']}")).json()
        assert (jan["waitlisted"], jan["waitlist_position"]) == (True, 1)
        assert (kim["waitlisted"], kim["waitlist_position"]) == (True, 2)

        declined = await anonymous.put(f"/responses/{links['Ida']}", json={"response": "declined"})
        assert declined.status_code == 200
        jan = (await anonymous.get(f"/responses/{links['Jan']}")).json()
        kim = (await anonymous.get(f"/responses/{links['Kim']}")).json()
        assert (jan["response"], jan["waitlisted"]) == ("accepted", False)
        assert (kim["waitlisted"], kim["waitlist_position"]) == (True, 1)

    def promoted(events: list[Envelope]) -> list[Envelope]:
        return [
            e
            for e in of_conference(events, conference["id"], "participant-responded")
            if e.payload.get("promoted_from_waitlist")
        ]

    events = await conference_events(
        infra.kafka_bootstrap, conferences_topic, until=lambda es: bool(promoted(es))
    )
    [promotion] = promoted(events)
    payload = parse_payload(promotion)
    assert isinstance(payload, ParticipantResponded)
    assert payload.invitee.person.name == "Jan"
    assert payload.counts.accepted == 1
    assert payload.counts.waitlisted == 1


async def test_concurrent_acceptances_never_exceed_the_capacity(
    service: ConferencesService, networks: list[str]
) -> None:
    names = [f"Person {n}" for n in range(6)]
    delegates = [
        {"name": n, "email": f"p{i}@verein.example.org", "group": "other"}
        for i, n in enumerate(names)
    ]
    async with service.client() as http:
        created = await http.post(
            "/conferences",
            json=schedule_body("unna", future(days=250), capacity=2, delegates=delegates),
        )
        assert created.status_code == 201, created.text
        tokens = [
            i["response_url"].rsplit("/", 1)[1]
            for i in created.json()["invitations"]
            if i["name"] in names
        ]

    async with service.client(None) as anonymous:
        answers = await asyncio.gather(
            *(anonymous.put(f"/responses/{t}", json={"response": "accepted"}) for t in tokens)
        )
        assert [a.status_code for a in answers] == [200] * 6

    async with service.client() as http:
        body = (await http.get(f"/conferences/{created.json()['id']}")).json()
    assert body["counts"]["accepted"] == 2
    assert body["counts"]["waitlisted"] == 4
    positions = sorted(i["waitlist_position"] for i in body["invitations"] if i["waitlisted"])
    assert positions == [1, 2, 3, 4]
