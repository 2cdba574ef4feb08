"""The registry's API against the real FerretDB and Kafka, with its events read back from Kafka."""

from __future__ import annotations

import uuid
from collections import Counter
from typing import Any

import httpx
import pytest

from registry.seed.seeding import default_seed_file, load_seed, seed
from tests.registry.integration.conftest import RegistryUnderTest, auth
from tests.support.events import all_events, events_with_correlation, validate_against_schema

pytestmark = pytest.mark.integration


def cid() -> str:
    return f"test-{uuid.uuid4()}"


def headers(token: str, correlation_id: str, version: str | None = None) -> dict[str, str]:
    h = {**auth(token), "X-Correlation-ID": correlation_id}
    if version is not None:
        h["If-Match"] = version
    return h


MEMBER = {
    "person": {
        "name": "Anna Schmidt",
        "email": "anna.schmidt@schulamt-bochum.example",
        "organisation": "Schulamt Bochum",
        "function": "Schulrätin",
    },
    "side": "state",
    "role": "member",
    "supervision": "lower",
    "term_start": "2026-01-01",
}


async def test_seeding_twice_gives_twelve_networks_and_no_duplicate_events(
    registry: RegistryUnderTest,
) -> None:
    report = await seed(registry.service, load_seed(default_seed_file()), progress=lambda _: None)
    assert (report.created, report.left, report.agreements) == (0, 12, 0)
    listed = (await registry.http.get("/networks?limit=100", headers=auth("reader-token"))).json()
    assert listed["total"] == 12
    assert {n["municipality"]["kind"] for n in listed["items"]} == {"city", "district"}
    events = [
        e
        for e in await all_events(registry.bootstrap, registry.topic)
        if e["correlation_id"] == "registry-seed"
    ]
    assert Counter(e["type"] for e in events) == {
        "network-registered": 12,
        "cooperation-agreement-signed": 12,
        "district-coordination-changed": 1,
    }
    assert len({e["event_id"] for e in events}) == len(events)
    for event in events:
        validate_against_schema(event)


async def test_committee_member_lifecycle_with_etags_and_events(
    registry: RegistryUnderTest,
) -> None:
    added_cid, stale_cid, changed_cid, removed_cid = cid(), cid(), cid(), cid()
    response = await registry.http.post(
        "/networks/bochum/committee/members",
        json=MEMBER,
        headers=headers("bochum-token", added_cid),
    )
    assert response.status_code == 201, response.text
    member = response.json()
    assert response.headers["ETag"] == '"1"'
    url = f"/networks/bochum/committee/members/{member['id']}"
    assert response.headers["Location"] == url

    response = await registry.http.patch(
        url, json={"role": "chair"}, headers=headers("bochum-token", changed_cid, '"1"')
    )
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'

    stale = await registry.http.patch(
        url, json={"role": "deputy"}, headers=headers("bochum-token", stale_cid, '"1"')
    )
    assert stale.status_code == 409
    assert stale.headers["content-type"] == "application/problem+json"
    assert (await registry.http.get(url, headers=auth("district-token"))).json()["role"] == "chair"

    response = await registry.http.post(
        url + "/removal",
        json={"removed_on": "2026-09-30", "reason": "Wechsel nach Dortmund"},
        headers=headers("bochum-token", removed_cid, '"2"'),
    )
    assert response.status_code == 200, response.text
    gone = await registry.http.get(url, headers=auth("bochum-token"))
    assert (gone.status_code, gone.headers["ETag"]) == (200, '"3"')
    assert gone.json()["removed_on"] == "2026-09-30"  # kept from-to, found by its id
    listing = "/networks/bochum/committee/members?limit=100"
    now = (await registry.http.get(listing, headers=auth("bochum-token"))).json()
    ever = await registry.http.get(listing + "&include_removed=true", headers=auth("bochum-token"))
    assert member["id"] not in {m["id"] for m in now["items"]}
    assert [m["removed_on"] for m in ever.json()["items"] if m["id"] == member["id"]] == [
        "2026-09-30"
    ]
    network = (await registry.http.get("/networks/bochum", headers=auth("bochum-token"))).json()
    assert member["id"] not in {m["id"] for m in network["committee"]}  # the committee now
    again = await registry.http.post(
        url + "/removal",
        json={"removed_on": "2026-10-01", "reason": "noch einmal"},
        headers=headers("bochum-token", cid(), '"3"'),
    )
    assert again.status_code == 404, again.text  # removed once
    assert again.json()["detail"] == f"committee member {member['id']} was removed on 2026-09-30"

    [added] = await events_with_correlation(
        registry.bootstrap, registry.topic, added_cid, expected=1
    )
    [changed] = await events_with_correlation(
        registry.bootstrap, registry.topic, changed_cid, expected=1
    )
    [removed] = await events_with_correlation(
        registry.bootstrap, registry.topic, removed_cid, expected=1
    )
    for event in (added, changed, removed):
        validate_against_schema(event)
        assert event["key"] == "bochum"
        assert event["payload"]["member_id"] == member["id"]
        assert event["payload"]["network"]["name"] == "Regionales Bildungsnetzwerk Bochum"
        assert event["payload"]["network"]["office_email"] == "bildungsbuero@bochum.example"
    assert added["type"] == "committee-member-added"
    assert added["payload"]["person"]["email"] == MEMBER["person"]["email"]  # type: ignore[index]
    assert added["payload"]["supervision"] == "lower"
    assert changed["payload"]["role"] == "chair"
    assert removed["payload"]["reason"] == "Wechsel nach Dortmund"
    assert added["aggregate_version"] < changed["aggregate_version"] < removed["aggregate_version"]
    assert (
        await events_with_correlation(
            registry.bootstrap, registry.topic, stale_cid, expected=1, timeout=2
        )
        == []
    )


async def test_staff_fields_and_agreements_publish_their_events(
    registry: RegistryUnderTest,
) -> None:
    c = cid()
    h = headers("hagen-token", c)
    staff = await registry.http.post(
        "/networks/hagen/office/staff",
        headers=h,
        json={
            "person": {"name": "Jonas Weber", "email": "j.weber@gs-hagen.example"},
            "employer": "state",
            "released_from_school": "Grundschule Emst",
            "hours_share": 0.5,
            "start_date": "2026-08-01",
        },
    )
    assert staff.status_code == 201, staff.text
    field = await registry.http.post(
        "/networks/hagen/fields-of-action",
        headers=h,
        json={
            "title": "Übergang Kita–Grundschule",
            "starting_situation": "Uneinheitliche Verfahren",
            "development_needs": "Gemeinsame Standards",
        },
    )
    assert field.status_code == 201, field.text
    adopted = await registry.http.post(
        f"/networks/hagen/fields-of-action/{field.json()['id']}/adoption",
        json={"adopted_on": "2026-10-01"},
        headers={**h, "If-Match": '"1"'},
    )
    assert adopted.status_code == 200, adopted.text
    assert adopted.json()["status"] == "adopted"

    network = (await registry.http.get("/networks/hagen", headers=auth("reader-token"))).json()
    [agreement] = network["agreements"]
    terminated = await registry.http.post(
        f"/networks/hagen/agreements/{agreement['id']}/termination",
        json={"terminated_on": "2026-12-31", "reason": "Neufassung"},
        headers={**h, "If-Match": '"1"'},
    )
    assert terminated.status_code == 200, terminated.text
    signed = await registry.http.post(
        "/networks/hagen/agreements",
        headers=h,
        json={"signed_on": "2027-01-01", "valid_from": "2027-01-01"},
    )
    assert signed.status_code == 201, signed.text

    events = await events_with_correlation(registry.bootstrap, registry.topic, c, expected=5)
    assert [e["type"] for e in events] == [
        "office-staff-assigned",
        "field-of-action-proposed",
        "field-of-action-adopted",
        "cooperation-agreement-terminated",
        "cooperation-agreement-signed",
    ]
    for event in events:
        validate_against_schema(event)
    assert events[0]["payload"]["hours_share"] == 0.5
    assert events[2]["payload"]["adopted_on"] == "2026-10-01"


async def test_bulletin_reaches_all_twelve_networks(registry: RegistryUnderTest) -> None:
    c = cid()
    response = await registry.http.post(
        "/district/bulletins",
        headers=headers("district-token", c),
        json={
            "title": "Neuer Erlass zur Ganztagsbetreuung",
            "body": "Sehr geehrte Damen und Herren, ...",
            "author": {"name": "Bezirkskoordination", "email": "bk@bezreg.example"},
        },
    )
    assert response.status_code == 201, response.text
    [event] = await events_with_correlation(registry.bootstrap, registry.topic, c, expected=1)
    validate_against_schema(event)
    assert event["type"] == "district-bulletin-published"
    assert event["key"] == "district"
    assert len(event["payload"]["network_ids"]) == 12


async def test_lists_filter_and_paginate(registry: RegistryUnderTest) -> None:
    reader = auth("reader-token")
    cities = (
        await registry.http.get("/networks?kind=city&limit=2&offset=1", headers=reader)
    ).json()
    assert cities["total"] == 5
    assert [n["id"] for n in cities["items"]] == ["dortmund", "hagen"]
    found = (await registry.http.get("/networks?name=sauerland", headers=reader)).json()
    assert [n["id"] for n in found["items"]] == ["hochsauerlandkreis"]
    too_big = await registry.http.get("/networks?limit=1000", headers=reader)
    assert too_big.status_code == 422
    assert too_big.json()["errors"][0]["field"] == "query.limit"


# ----------------------------------------------------------------------------- bad input

TOO_LONG = "x" * 201
BAD_INPUT: list[tuple[str, str, dict[str, Any], int, str]] = [
    (
        "invalid e-mail",
        "/networks/herne/committee/members",
        {**MEMBER, "person": {"name": "A", "email": "kein-at-zeichen"}},
        422,
        "person.email",
    ),
    (
        "empty name",
        "/networks/herne/committee/members",
        {**MEMBER, "person": {"name": "  ", "email": "a@b.example"}},
        422,
        "person.name",
    ),
    (
        "oversized name",
        "/networks/herne/committee/members",
        {**MEMBER, "person": {"name": TOO_LONG, "email": "a@b.example"}},
        422,
        "person.name",
    ),
    ("unknown field", "/networks/herne/committee/members", {**MEMBER, "admin": True}, 422, "admin"),
    (
        "wrong type",
        "/networks/herne/committee/members",
        {**MEMBER, "term_start": 17},
        422,
        "term_start",
    ),
    (
        "dates in the wrong order",
        "/networks/herne/committee/members",
        {**MEMBER, "term_end": "2025-01-01"},
        422,
        "term_end",
    ),
    (
        "supervision on the municipal side",
        "/networks/herne/committee/members",
        {**MEMBER, "side": "municipality"},
        422,
        "supervision",
    ),
    (
        "a second active agreement",
        "/networks/herne/agreements",
        {"signed_on": "2026-05-01", "valid_from": "2026-05-01"},
        409,
        "",
    ),
    ("unknown network", "/networks/atlantis/committee/members", MEMBER, 404, ""),
]


async def assert_nothing_changed(
    registry: RegistryUnderTest, before: httpx.Response, correlation_id: str
) -> None:
    """Herne is as it was read before the refused request, and that request published nothing."""
    after = await registry.http.get("/networks/herne", headers=auth("district-token"))
    assert after.headers["ETag"] == before.headers["ETag"]
    assert after.json() == before.json()
    assert (
        await events_with_correlation(
            registry.bootstrap, registry.topic, correlation_id, expected=1, timeout=1.5
        )
        == []
    )


@pytest.mark.parametrize(
    ("case", "path", "body", "status", "field"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT]
)
async def test_bad_input_is_refused_naming_the_field_and_changes_nothing(
    registry: RegistryUnderTest,
    case: str,
    path: str,
    body: dict[str, Any],
    status: int,
    field: str,
) -> None:
    before = await registry.http.get("/networks/herne", headers=auth("district-token"))
    c = cid()
    response = await registry.http.post(path, json=body, headers=headers("district-token", c))
    assert response.status_code == status, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert problem["status"] == status
    assert problem["title"]
    if field:
        assert field in [e["field"] for e in problem["errors"]], problem
    await assert_nothing_changed(registry, before, c)


async def test_a_write_without_if_match_is_refused(registry: RegistryUnderTest) -> None:
    response = await registry.http.patch(
        "/networks/herne", json={"name": "X"}, headers=auth("district-token")
    )
    assert response.status_code == 428
    assert "If-Match" in response.json()["detail"]


async def test_a_network_renamed_to_anothers_name_is_refused_naming_the_field(
    registry: RegistryUnderTest,
) -> None:
    """The unique name: 409 beside `name`, nothing changed (FerretDB reports the unique index's
    refusal of an update as an internal error; the store says what it is)."""
    herne = await registry.http.get("/networks/herne", headers=auth("district-token"))
    hagen = await registry.http.get("/networks/hagen", headers=auth("district-token"))
    c = cid()
    response = await registry.http.patch(
        "/networks/herne",
        json={"name": hagen.json()["name"]},
        headers=headers("district-token", c, herne.headers["ETag"]),
    )
    assert response.status_code == 409, response.text
    problem = response.json()
    assert response.headers["content-type"] == "application/problem+json"
    assert "name" in [e["field"] for e in problem["errors"]], problem
    assert problem["detail"] == f"another network is named {hagen.json()['name']!r}"
    await assert_nothing_changed(registry, herne, c)
