"""Erasure (Art. 17), access export (Art. 15) and retention, against the real FerretDB and Kafka.

After an erasure no document of any collection of the registry's database names the person
(every string, ignoring case); the one `person-erased` is on the topic, a repeat publishes none.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date
from typing import Any

import pytest

from rbn_shared.changes import shifted_clock
from rbn_shared.mongo import connect, database
from rbn_shared.privacy import ERASED_NAME, erased_address, mentions, subject_of
from registry.domain.privacy import DataSubject
from registry.service_layer.privacy import PrivacyService
from tests.registry.integration.conftest import RegistryUnderTest, auth
from tests.support.events import events_with_correlation, validate_against_schema

pytestmark = pytest.mark.integration

DAY = 86_400.0
TODAY = date.today().isoformat()


def cid() -> str:
    return f"test-{uuid.uuid4()}"


def person(uid: str, who: str = "Henrike Vogelsang") -> tuple[str, str]:
    """A name and an address that nothing else in the database carries."""
    first, last = who.split()
    return f"{who} {uid}", f"{first[0].lower()}.{last.lower()}.{uid}@schule-test.example"


def member_body(name: str, address: str, **values: Any) -> dict[str, Any]:
    return {
        "person": {"name": name, "email": address, "organisation": "Gymnasium", "function": "SL"},
        "side": "municipality",
        "role": "member",
        "term_start": "2026-01-01",
        **values,
    }


def staff_body(name: str, address: str) -> dict[str, Any]:
    return {
        "person": {"name": name, "email": address, "function": "Referentin"},
        "employer": "municipality",
        "start_date": "2026-01-01",
    }


async def add_member(registry: RegistryUnderTest, network: str, body: dict[str, Any]) -> str:
    response = await registry.http.post(
        f"/networks/{network}/committee/members", json=body, headers=auth(f"{network}-token")
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def remove_member(registry: RegistryUnderTest, network: str, member_id: str) -> None:
    url = f"/networks/{network}/committee/members/{member_id}"
    current = await registry.http.get(url, headers=auth("district-token"))
    response = await registry.http.post(
        f"{url}/removal",
        json={"removed_on": TODAY, "reason": "Wechsel der Schule"},
        headers={**auth("district-token"), "If-Match": current.headers["ETag"]},
    )
    assert response.status_code == 200, response.text


async def assign_staff(registry: RegistryUnderTest, network: str, body: dict[str, Any]) -> str:
    response = await registry.http.post(
        f"/networks/{network}/office/staff", json=body, headers=auth("district-token")
    )
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def erase(registry: RegistryUnderTest, body: dict[str, Any], correlation: str) -> Any:
    return await registry.http.post(
        "/privacy/erasures",
        json=body,
        headers={**auth("district-token"), "X-Correlation-ID": correlation},
    )


def in_database(registry: RegistryUnderTest, collection: str) -> Any:
    """A collection of the registry's database, through the app's own client."""
    return registry.privacy.db[collection]


async def mentioning(registry: RegistryUnderTest, needles: list[str]) -> list[str]:
    """Where in the registry's database (collection/document id) any text names the needles."""
    client = connect(registry.settings)
    try:
        db = database(client, registry.settings)
        found = []
        for name in await db.list_collection_names():
            async for doc in db[name].find():
                if mentions(doc, needles):
                    found.append(f"{name}/{doc['_id']}")
        return found
    finally:
        await client.close()


async def nowhere(registry: RegistryUnderTest, needles: list[str]) -> None:
    """No document names the needles; pending outbox records may take the relay a moment."""
    for _ in range(50):
        found = await mentioning(registry, needles)
        if not found:
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"still named in {found}")


async def test_erasure_by_address_leaves_no_trace_in_any_collection_and_is_idempotent(
    registry: RegistryUnderTest,
) -> None:
    uid = uuid.uuid4().hex[:8]
    name, address = person(uid)
    removed = await add_member(registry, "bochum", member_body(name, address))
    await remove_member(registry, "bochum", removed)
    current = await add_member(registry, "bochum", member_body(name, address, role="chair"))
    elsewhere = await add_member(registry, "hagen", member_body(name, address))
    post = await assign_staff(registry, "hagen", staff_body(name, address))
    other_name, other_address = person(uid, "Bernd Lindner")
    bystander = await add_member(registry, "bochum", member_body(other_name, other_address))
    # A dead letter quoting them, and a change-log entry written with a payload (the trail
    # keeps none, but erasure must not rely on that).
    letter = f"registry.audit-trail:{uid}"
    await in_database(registry, "dead_letters").insert_one(
        {"_id": letter, "error": f"invalid: {address!r}", "topic": "t"}
    )
    legacy = {"_id": f"legacy-{uid}", "network_id": "bochum", "type": "committee-member-added"}
    await in_database(registry, "changes").insert_one(
        {**legacy, "actor": "sub-1", "payload": {"person": {"name": name, "email": address}}}
    )
    assert await mentioning(registry, [address, name])  # the scan does find them

    first = cid()
    erased = await erase(registry, {"email": address.upper()}, first)  # any spelling
    assert erased.status_code == 201, erased.text
    answer = erased.json()
    assert answer["subject"] == subject_of(address)
    assert answer["network_ids"] == ["bochum", "hagen"]
    assert sorted(answer["member_ids"]) == sorted([removed, current, elsewhere])
    assert answer["staff_ids"] == [post]
    assert address not in erased.text
    assert name not in erased.text

    [event] = await events_with_correlation(registry.bootstrap, registry.topic, first, expected=1)
    validate_against_schema(event)
    assert (event["type"], event["key"]) == ("person-erased", "district")
    payload = event["payload"]
    assert payload["erasure_id"] == answer["erasure_id"]
    assert (payload["subject"], payload["staff_ids"]) == (answer["subject"], [post])
    assert sorted(payload["member_ids"]) == sorted(answer["member_ids"])

    await nowhere(registry, [address, name])
    assert await in_database(registry, "dead_letters").find_one({"_id": letter}) is None
    change = await in_database(registry, "changes").find_one({"_id": legacy["_id"]})
    assert change is not None
    assert (change["type"], change["actor"]) == ("committee-member-added", "sub-1")  # who, what

    seats = "/networks/bochum/committee/members"
    seat = (await registry.http.get(f"{seats}/{removed}", headers=auth("district-token"))).json()
    assert seat["person"] == {
        "name": ERASED_NAME,
        "email": erased_address(subject_of(address)),
        "organisation": None,
        "function": None,
    }
    assert (seat["removed_on"], seat["term_start"], seat["side"]) == (
        TODAY,
        "2026-01-01",
        "municipality",
    )
    chair = (await registry.http.get(f"{seats}/{current}", headers=auth("district-token"))).json()
    assert chair["role"] == "chair"
    assert chair["removed_on"] is None
    other = (await registry.http.get(f"{seats}/{bystander}", headers=auth("district-token"))).json()
    assert other["person"]["name"] == other_name

    again = cid()
    repeated = await erase(registry, {"email": address}, again)
    assert repeated.status_code == 200, repeated.text
    assert repeated.json() == answer
    assert (
        await events_with_correlation(
            registry.bootstrap, registry.topic, again, expected=1, timeout=3
        )
        == []
    )

    audit = await registry.http.get(
        "/privacy/audit", params={"subject": answer["subject"]}, headers=auth("district-token")
    )
    assert audit.status_code == 200, audit.text
    entries = audit.json()["items"]
    assert [e["action"] for e in entries] == ["erasure", "erasure"]
    # The actor as on the envelope: the static test token has no subject.
    assert {e["actor"] for e in entries} == {event["actor"]}
    assert address not in audit.text


async def test_erasure_by_a_member_id_and_of_an_address_never_held(
    registry: RegistryUnderTest,
) -> None:
    uid = uuid.uuid4().hex[:8]
    name, address = person(uid)
    member = await add_member(registry, "hagen", member_body(name, address))
    by_id = await erase(registry, {"network_id": "hagen", "member_id": member}, cid())
    assert by_id.status_code == 201, by_id.text
    assert (by_id.json()["member_ids"], by_id.json()["subject"]) == ([member], subject_of(address))
    await nowhere(registry, [address, name])
    # The seat is anonymised now; naming it again finds the erasure that did it.
    again = await erase(registry, {"network_id": "hagen", "member_id": member}, cid())
    assert again.status_code == 200, again.text
    assert again.json()["erasure_id"] == by_id.json()["erasure_id"]

    stranger = f"nie.gesehen.{uid}@example.org"
    correlation = cid()
    unknown = await erase(registry, {"email": stranger}, correlation)
    assert unknown.status_code == 201, unknown.text  # they may be in conferences, notifications
    assert unknown.json()["member_ids"] == unknown.json()["network_ids"] == []
    [event] = await events_with_correlation(
        registry.bootstrap, registry.topic, correlation, expected=1
    )
    assert event["payload"]["subject"] == subject_of(stranger)
    assert (await erase(registry, {"email": stranger}, cid())).status_code == 200


async def test_an_erasure_interrupted_after_anonymising_is_finished_by_asking_again(
    registry: RegistryUnderTest,
) -> None:
    uid = uuid.uuid4().hex[:8]
    name, address = person(uid, "Greta Albers")
    member = await add_member(registry, "bochum", member_body(name, address))
    # The process died after the records were anonymised, before the erasure was stored.
    assert await registry.privacy._anonymise(DataSubject.of(address))
    correlation = cid()
    finished = await erase(registry, {"email": address}, correlation)
    assert finished.status_code == 201, finished.text
    assert finished.json()["member_ids"] == [member]  # found by the placeholder
    [event] = await events_with_correlation(
        registry.bootstrap, registry.topic, correlation, expected=1
    )
    assert event["payload"]["member_ids"] == [member]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "email"),
        ({"network_id": "hagen"}, "member_id"),
        ({"email": "a@b.example", "network_id": "hagen", "member_id": "mem-1"}, "network_id"),
        ({"network_id": "hagen", "member_id": "mem-1", "staff_id": "stf-1"}, "staff_id"),
        ({"email": "kein-address"}, "email"),
        ({"email": "a@b.example", "name": "Anna"}, "name"),
    ],
)
async def test_an_erasure_that_is_not_exactly_one_form_is_refused_naming_the_field(
    registry: RegistryUnderTest, body: dict[str, Any], field: str
) -> None:
    response = await erase(registry, body, cid())
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert field in [e["field"] for e in response.json()["errors"]]


async def test_unknown_records_are_404_and_only_the_district_may(
    registry: RegistryUnderTest,
) -> None:
    for body in (
        {"network_id": "hagen", "member_id": "mem-nosuch"},
        {"network_id": "hagen", "staff_id": "stf-nosuch"},
        {"network_id": "nowhere", "member_id": "mem-1"},
    ):
        response = await erase(registry, body, cid())
        assert response.status_code == 404, response.text
    for token in ("bochum-token", "reader-token"):
        refused: list[tuple[str, str, dict[str, str] | None]] = [
            ("POST", "/privacy/erasures", {}),  # refused before the body is judged
            ("POST", "/privacy/access", {"email": "a@b.example"}),
            ("GET", "/privacy/audit", None),
        ]
        for method, path, sent in refused:
            response = await registry.http.request(method, path, json=sent, headers=auth(token))
            assert response.status_code == 403, (token, path, response.text)
    assert (await registry.http.get("/privacy/audit")).status_code == 401


async def test_the_access_export_lists_every_record_once_and_is_audited(
    registry: RegistryUnderTest,
) -> None:
    uid = uuid.uuid4().hex[:8]
    name, address = person(uid, "Clara Brandt")
    seat = await add_member(registry, "bochum", member_body(name, address))
    post = await assign_staff(registry, "hagen", staff_body(name, address))
    response = await registry.http.post(
        "/privacy/access", json={"email": address}, headers=auth("district-token")
    )
    assert response.status_code == 200, response.text
    export = response.json()
    assert (export["service"], export["subject"]) == ("registry", subject_of(address))
    items = [(i["kind"], i["id"], i["network_id"]) for i in export["items"]]
    assert items == [("committee-seat", seat, "bochum"), ("office-post", post, "hagen")]
    assert export["items"][0]["data"]["person"]["name"] == name  # theirs, to see
    audit = await registry.http.get(
        "/privacy/audit", params={"subject": subject_of(address)}, headers=auth("district-token")
    )
    assert [e["action"] for e in audit.json()["items"]] == ["access-export"]


async def test_retention_anonymises_who_left_long_ago_unless_still_there(
    registry: RegistryUnderTest,
) -> None:
    uid = uuid.uuid4().hex[:8]
    gone_name, gone = person(uid, "Dora Kern")
    back_name, back = person(uid, "Emil Sauer")
    left = await add_member(registry, "hagen", member_body(gone_name, gone))
    await remove_member(registry, "hagen", left)
    returned = await add_member(registry, "hagen", member_body(back_name, back))
    await remove_member(registry, "hagen", returned)
    await assign_staff(registry, "hagen", staff_body(back_name, back))  # still in the office

    def moved(seconds: float) -> PrivacyService:
        privacy = registry.privacy
        return PrivacyService(
            privacy.storage,
            privacy.changes,
            privacy.db,
            retention_days=730,
            clock=shifted_clock(seconds),
        )

    committee = in_database(registry, "committees")
    events_before = (await committee.find_one({"_id": "hagen:committee"}))["event_count"]
    before = await moved(729 * DAY).anonymise_past_retention()
    assert left not in before.member_ids
    assert await mentioning(registry, [gone_name])

    after = await moved(731 * DAY).anonymise_past_retention()
    assert left in after.member_ids
    assert returned not in after.member_ids
    url = "/networks/hagen/committee/members"
    seat = (await registry.http.get(f"{url}/{left}", headers=auth("district-token"))).json()
    assert seat["person"]["name"] == ERASED_NAME
    assert seat["removed_on"] == TODAY
    await nowhere(registry, [gone, gone_name])
    kept = (await registry.http.get(f"{url}/{returned}", headers=auth("district-token"))).json()
    assert kept["person"]["name"] == back_name
    # No event of its own: the committee caused none, and nothing waits in its outbox.
    stored = await committee.find_one({"_id": "hagen:committee"})
    assert stored["event_count"] == events_before


async def test_the_district_coordinator_and_a_bulletin_author_are_anonymised(
    registry: RegistryUnderTest,
) -> None:
    uid = uuid.uuid4().hex[:8]
    name, address = person(uid, "Ida Hoffmann")
    district = auth("district-token")
    current = await registry.http.get("/district", headers=district)
    coordination = {
        "coordinator": {"name": name, "email": address, "function": "Obere Schulaufsicht"},
        "service_unit": {"name": "Servicestelle", "email": f"service.{uid}@bra.example"},
    }
    put = await registry.http.put(
        "/district",
        json=coordination,
        headers={**district, "If-Match": current.headers["ETag"]},
    )
    assert put.status_code == 200, put.text
    bulletin = await registry.http.post(
        "/district/bulletins",
        json={
            "title": f"Hinweis {uid}",
            "body": "Text",
            "author": {"name": name, "email": address},
        },
        headers=district,
    )
    assert bulletin.status_code == 201, bulletin.text

    erased = await erase(registry, {"email": address}, cid())
    assert erased.status_code == 201, erased.text
    await nowhere(registry, [address, name])
    shown = (await registry.http.get("/district", headers=district)).json()
    assert shown["coordinator"]["name"] == ERASED_NAME
    assert shown["service_unit"]["name"] == "Servicestelle"  # not theirs: kept
    listed = (await registry.http.get("/district/bulletins", headers=district)).json()
    [ours] = [b for b in listed["items"] if b["id"] == bulletin.json()["id"]]
    assert ours["author"]["name"] == ERASED_NAME
    assert ours["title"] == f"Hinweis {uid}"
