"""Clean input at every edge, against the real FerretDB and Kafka.

What a person types is refused with the field and the reason, or stored in one clean form:
names are one line, addresses canonical, ids exact. A refused request stores and publishes
nothing, which each case checks by reading the resource again and the topic for its
correlation id. PATCH bodies are JSON merge patches (RFC 7386) of the entity.
"""

from __future__ import annotations

import json
import unicodedata
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from rbn_shared.http import MERGE_PATCH_JSON
from tests.registry.integration.conftest import RegistryUnderTest, auth
from tests.support.events import events_with_correlation, validate_against_schema

pytestmark = pytest.mark.integration

# Reads everything a refusal must leave unchanged, people included: the district.
SEES_ALL = auth("district-token")
NETWORK = "/networks/hamm"
MEMBERS = f"{NETWORK}/committee/members"


def cid() -> str:
    return f"hygiene-{uuid.uuid4()}"


def headers(correlation_id: str, version: str | None = None) -> dict[str, str]:
    h = {**auth("district-token"), "X-Correlation-ID": correlation_id}
    if version is not None:
        h["If-Match"] = version
    return h


def person(**changes: Any) -> dict[str, Any]:
    return {
        "name": "Anna Schmidt",
        "email": f"anna.{uuid.uuid4().hex[:8]}@schulamt-hamm.example",
        "organisation": "Schulamt Hamm",
        "function": "Schulrätin",
        **changes,
    }


def member(**changes: Any) -> dict[str, Any]:
    return {
        "person": person(),
        "side": "state",
        "role": "member",
        "supervision": "lower",
        "term_start": "2026-01-01",
        "term_end": "2028-12-31",
        **changes,
    }


def fields_named(response: httpx.Response) -> list[str]:
    return [e["field"] for e in response.json().get("errors", [])]


async def published(registry: RegistryUnderTest, correlation_id: str) -> list[dict[str, Any]]:
    """What the request published; waits briefly, as refused requests publish nothing."""
    return await events_with_correlation(
        registry.bootstrap, registry.topic, correlation_id, expected=1, timeout=1.5
    )


@dataclass
class Snapshot:
    """A resource as read before a request, to show afterwards that nothing changed."""

    path: str
    etag: str | None = None
    body: Any = None

    async def read(self, registry: RegistryUnderTest) -> Snapshot:
        response = await registry.http.get(self.path, headers=SEES_ALL)
        assert response.status_code == 200, response.text
        return Snapshot(self.path, response.headers.get("ETag"), response.json())


async def assert_refused(
    registry: RegistryUnderTest,
    response: httpx.Response,
    status: int,
    field_name: str,
    correlation_id: str,
    before: Snapshot,
    *,
    as_problem: bool = True,
) -> None:
    assert response.status_code == status, response.text
    if as_problem:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["status"] == status
    if field_name:
        assert field_name in fields_named(response), response.json()
    assert await before.read(registry) == before
    assert await published(registry, correlation_id) == []


async def added_member(registry: RegistryUnderTest, body: dict[str, Any]) -> dict[str, Any]:
    response = await registry.http.post(MEMBERS, json=body, headers=headers(cid()))
    assert response.status_code == 201, response.text
    added: dict[str, Any] = response.json()
    return added


# ----------------------------------------------------------------------------- refused input

DISPLAY_NAME = "Anna Schmidt <anna.schmidt@schulamt-hamm.example>"
DISTRICT = {
    "coordinator": {"name": "Bezirkskoordination", "email": "bk@bezreg-arnsberg.example"},
    "service_unit": {"name": "Servicestelle", "email": "Servicestelle <s@bezreg.example>"},
}
NEW_NETWORK = {
    "id": "hamm-neu ",
    "name": "Regionales Bildungsnetzwerk Hamm (neu)",
    "municipality": {"name": "Hamm", "kind": "city"},
    "office": {"name": "Bildungsbüro", "email": "buero@hamm-neu.example"},
}
# (case, method, path, body, status, field, resource that must stay as it was)
REFUSED: list[tuple[str, str, str, Any, int, str, str]] = [
    (
        "display name in a person's address",
        "POST",
        MEMBERS,
        member(person=person(email=DISPLAY_NAME)),
        422,
        "person.email",
        NETWORK,
    ),
    (
        "display name in the office address",
        "PATCH",
        NETWORK,
        {"office": {"email": "Bildungsbüro <buero@hamm.example>"}},
        422,
        "office.email",
        NETWORK,
    ),
    (
        "display name in the service unit address",
        "PUT",
        "/district",
        DISTRICT,
        422,
        "service_unit.email",
        "/district",
    ),
    (
        "CR/LF and <script> in a name",
        "POST",
        MEMBERS,
        member(person=person(name="<script>x</script>\r\nBcc: alle@schule.example")),
        422,
        "person.name",
        NETWORK,
    ),
    (
        "NUL in a name",
        "POST",
        MEMBERS,
        member(person=person(name="Anna\x00Schmidt")),
        422,
        "person.name",
        NETWORK,
    ),
    (
        "line separator in a function",
        "POST",
        MEMBERS,
        member(person=person(function="Schul\u2028rätin")),
        422,
        "person.function",
        NETWORK,
    ),
    (
        "line break in a bulletin title",
        "POST",
        "/district/bulletins",
        {
            "title": "Erlass\nzur Ganztagsbetreuung",
            "body": "Text",
            "author": {"name": "Bezirkskoordination", "email": "bk@bezreg-arnsberg.example"},
        },
        422,
        "title",
        "/district/bulletins",
    ),
    ("unknown field", "POST", MEMBERS, {**member(), "admin": True}, 422, "admin", NETWORK),
    (
        "unknown nested field",
        "POST",
        MEMBERS,
        member(person=person(title="Dr.")),
        422,
        "person.title",
        NETWORK,
    ),
    ("network id with a trailing space", "POST", "/networks", NEW_NETWORK, 422, "id", "/networks"),
    (
        "path id with a trailing space",
        "POST",
        "/networks/hamm%20/committee/members",
        member(),
        404,
        "",
        NETWORK,
    ),
]


@pytest.mark.parametrize(
    ("case", "method", "path", "body", "status", "field_name", "watched"),
    REFUSED,
    ids=[c[0] for c in REFUSED],
)
async def test_unclean_input_is_refused_naming_the_field_and_changes_nothing(
    registry: RegistryUnderTest,
    case: str,
    method: str,
    path: str,
    body: Any,
    status: int,
    field_name: str,
    watched: str,
) -> None:
    before = await Snapshot(watched).read(registry)
    c = cid()
    response = await registry.http.request(
        method, path, json=body, headers=headers(c, before.etag if method != "POST" else None)
    )
    await assert_refused(registry, response, status, field_name, c, before)


async def test_ids_in_paths_are_matched_exactly(registry: RegistryUnderTest) -> None:
    assert (await registry.http.get("/networks/hamm", headers=SEES_ALL)).status_code == 200
    for path in ("/networks/hamm%20", "/networks/%20hamm", "/networks/Hamm"):
        response = await registry.http.get(path, headers=SEES_ALL)
        assert response.status_code == 404, path
        assert response.headers["content-type"] == "application/problem+json"
    added = await added_member(registry, member())
    response = await registry.http.get(f"{MEMBERS}/{added['id']}%20", headers=SEES_ALL)
    assert response.status_code == 404


async def test_malformed_json_is_400_naming_line_and_column(registry: RegistryUnderTest) -> None:
    text = '{\n  "side": "state",\n  "role": "member",,\n}'
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    before = await Snapshot(NETWORK).read(registry)
    c = cid()
    response = await registry.http.post(
        MEMBERS,
        content=text,
        headers={**headers(c), "Content-Type": "application/json"},
    )
    await assert_refused(registry, response, 400, "body", c, before)
    where = f"line {expected.value.lineno}, column {expected.value.colno}"
    assert (expected.value.lineno, expected.value.colno) == (3, 20)
    assert where in response.json()["detail"]
    assert where in response.json()["errors"][0]["reason"]


async def test_a_30_mb_body_is_refused_with_413_before_it_is_parsed(
    registry: RegistryUnderTest,
) -> None:
    # Not JSON at all: had the body been parsed, the answer would be 400.
    body = b"{" + b"x" * (30 * 1024 * 1024)
    before = await Snapshot(NETWORK).read(registry)
    c = cid()
    response = await registry.http.post(
        MEMBERS, content=body, headers={**headers(c), "Content-Type": "application/json"}
    )
    # Refused on its declared Content-Length, as a problem document, before anything is read.
    await assert_refused(registry, response, 413, "", c, before)
    assert response.json()["type"].endswith("payload-too-large")


async def test_a_streamed_body_is_cut_off_once_it_is_too_big(registry: RegistryUnderTest) -> None:
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it arrives
        for n in range(30):
            sent.append(n)
            yield b" " * (1024 * 1024)

    before = await Snapshot(NETWORK).read(registry)
    c = cid()
    response = await registry.http.post(
        MEMBERS, content=chunks(), headers={**headers(c), "Content-Type": "application/json"}
    )
    await assert_refused(registry, response, 413, "", c, before)
    assert response.json()["type"].endswith("payload-too-large")
    assert len(sent) < 30


# ----------------------------------------------------------------------------- clean forms


async def test_a_script_tag_is_plain_text_stored_and_published_verbatim(
    registry: RegistryUnderTest,
) -> None:
    name = "<script>alert('x')</script> & Söhne"
    c = cid()
    response = await registry.http.post(
        MEMBERS, json=member(person=person(name=name)), headers=headers(c)
    )
    assert response.status_code == 201, response.text
    stored = (await registry.http.get(response.headers["Location"], headers=SEES_ALL)).json()
    assert stored["person"]["name"] == name
    [event] = await published(registry, c)
    validate_against_schema(event)
    assert event["payload"]["person"]["name"] == name


async def test_texts_are_trimmed_and_nfc_and_addresses_canonical(
    registry: RegistryUnderTest,
) -> None:
    decomposed = unicodedata.normalize("NFD", "Jürgen Müller")
    local = f"J.Mueller.{uuid.uuid4().hex[:6]}"
    c = cid()
    response = await registry.http.post(
        MEMBERS,
        json=member(
            person=person(
                name=f"  {decomposed}\t",
                email=f"  {local}@Schule-Hamm.Example ",
                function=" Schulleiter ",
            )
        ),
        headers=headers(c),
    )
    assert response.status_code == 201, response.text
    stored = (await registry.http.get(response.headers["Location"], headers=SEES_ALL)).json()
    assert stored["person"]["name"] == "Jürgen Müller" != decomposed
    assert stored["person"]["email"] == f"{local.lower()}@schule-hamm.example"
    assert stored["person"]["function"] == "Schulleiter"
    [event] = await published(registry, c)
    assert event["payload"]["person"] == stored["person"]


async def test_an_umlaut_domain_is_stored_in_unicode_and_its_punycode_twin_is_a_duplicate(
    registry: RegistryUnderTest,
) -> None:
    path = "/networks/kreis-soest/committee/members"
    added = await registry.http.post(
        path,
        json=member(person=person(email="info@xn--schule-mller-klb.example")),
        headers=headers(cid()),
    )
    assert added.status_code == 201, added.text
    assert added.json()["person"]["email"] == "info@schule-müller.example"

    before = await Snapshot("/networks/kreis-soest").read(registry)
    c = cid()
    twin = await registry.http.post(
        path,
        json=member(person=person(email="Info@Schule-Müller.example", name="Anna S.")),
        headers=headers(c),
    )
    await assert_refused(registry, twin, 409, "person.email", c, before)
    stored = before.body["committee"]
    assert [m["person"]["email"] for m in stored] == ["info@schule-müller.example"]


# ----------------------------------------------------------------------------- merge patch


async def patch(
    registry: RegistryUnderTest,
    path: str,
    body: Any,
    correlation_id: str,
    version: str | None,
) -> httpx.Response:
    return await registry.http.patch(
        path,
        content=json.dumps(body),
        headers={**headers(correlation_id, version), "Content-Type": MERGE_PATCH_JSON},
    )


async def test_a_merge_patch_changes_only_what_it_names(registry: RegistryUnderTest) -> None:
    added = await added_member(registry, member())
    url = f"{MEMBERS}/{added['id']}"
    c = cid()
    response = await patch(registry, url, {"person": {"function": "Schulleiterin"}}, c, '"1"')
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"2"'
    stored = (await registry.http.get(url, headers=SEES_ALL)).json()
    assert stored["person"] == {**added["person"], "function": "Schulleiterin"}
    assert {k: v for k, v in stored.items() if k not in ("person", "version")} == {
        k: v for k, v in added.items() if k not in ("person", "version")
    }
    [event] = await published(registry, c)
    validate_against_schema(event)
    assert event["type"] == "committee-member-updated"
    assert event["payload"]["person"] == stored["person"]
    assert event["payload"]["term_end"] == "2028-12-31"


async def test_null_in_a_merge_patch_clears_term_end_and_supervision(
    registry: RegistryUnderTest,
) -> None:
    added = await added_member(registry, member())
    url = f"{MEMBERS}/{added['id']}"
    c = cid()
    response = await patch(registry, url, {"term_end": None}, c, '"1"')
    assert response.status_code == 200, response.text
    assert response.json()["term_end"] is None
    assert response.json()["supervision"] == "lower"
    response = await patch(registry, url, {"supervision": None}, c, '"2"')
    assert response.status_code == 200, response.text
    stored = (await registry.http.get(url, headers=SEES_ALL)).json()
    assert (stored["term_end"], stored["supervision"], stored["version"]) == (None, None, 3)
    first, second = await events_with_correlation(registry.bootstrap, registry.topic, c, expected=2)
    assert (first["payload"]["term_end"], first["payload"]["supervision"]) == (None, "lower")
    assert (second["payload"]["term_end"], second["payload"]["supervision"]) == (None, None)


async def test_a_merge_patch_also_comes_as_application_json(registry: RegistryUnderTest) -> None:
    added = await added_member(registry, member())
    url = f"{MEMBERS}/{added['id']}"
    response = await registry.http.patch(
        url, json={"person": {"organisation": None}}, headers=headers(cid(), '"1"')
    )
    assert response.status_code == 200, response.text
    assert response.json()["person"]["organisation"] is None
    assert response.json()["person"]["name"] == added["person"]["name"]


MEMBER_PATCHES: list[tuple[str, Any, str | None, int, str]] = [
    ("person removed", {"person": None}, '"1"', 422, "person"),
    ("required member removed", {"person": {"name": None}}, '"1"', 422, "person.name"),
    ("display-name address", {"person": {"email": DISPLAY_NAME}}, '"1"', 422, "person.email"),
    ("line break in a name", {"person": {"name": "Anna\nSchmidt"}}, '"1"', 422, "person.name"),
    ("unknown field", {"admin": True}, '"1"', 422, "admin"),
    ("unknown nested field", {"person": {"title": "Dr."}}, '"1"', 422, "person.title"),
    ("not an object", ["role", "chair"], '"1"', 422, "body"),
    ("supervision on the municipal side", {"side": "municipality"}, '"1"', 422, "supervision"),
    ("term end before its start", {"term_end": "2020-01-01"}, '"1"', 422, "term_end"),
    ("stale version", {"role": "chair"}, '"7"', 409, ""),
    ("stale version and a bad patch", {"person": None}, '"7"', 409, ""),
    ("no If-Match", {"role": "chair"}, None, 428, ""),
]


@pytest.mark.parametrize(
    ("case", "body", "version", "status", "field_name"),
    MEMBER_PATCHES,
    ids=[c[0] for c in MEMBER_PATCHES],
)
async def test_a_bad_merge_patch_is_refused_and_changes_nothing(
    registry: RegistryUnderTest,
    case: str,
    body: Any,
    version: str | None,
    status: int,
    field_name: str,
) -> None:
    added = await added_member(registry, member())
    before = await Snapshot(f"{MEMBERS}/{added['id']}").read(registry)
    c = cid()
    response = await patch(registry, before.path, body, c, version)
    await assert_refused(registry, response, status, field_name, c, before)


async def test_a_merge_patch_that_changes_nothing_publishes_nothing(
    registry: RegistryUnderTest,
) -> None:
    added = await added_member(registry, member())
    url = f"{MEMBERS}/{added['id']}"
    c = cid()
    same = {"role": "member", "person": {"name": f"  {added['person']['name']} "}}
    response = await patch(registry, url, same, c, '"1"')
    assert response.status_code == 200, response.text
    assert response.headers["ETag"] == '"1"'
    assert await published(registry, c) == []


async def test_a_network_merge_patch_keeps_the_rest_of_the_contacts(
    registry: RegistryUnderTest,
) -> None:
    path = "/networks/kreis-unna"
    before = await Snapshot(path).read(registry)
    c = cid()
    response = await patch(registry, path, {"office": {"phone": " 02303 27-0 "}}, c, before.etag)
    assert response.status_code == 200, response.text
    office = response.json()["office"]
    assert office == {**before.body["office"], "phone": "02303 27-0"}
    assert response.json()["name"] == before.body["name"]
    [event] = await published(registry, c)
    validate_against_schema(event)
    assert event["type"] == "network-updated"
    assert event["payload"]["office"]["phone"] == "02303 27-0"
    assert event["payload"]["office"]["email"] == before.body["office"]["email"]

    removed = await patch(
        registry, path, {"office": {"phone": None}}, cid(), response.headers["ETag"]
    )
    assert removed.status_code == 200, removed.text
    assert removed.json()["office"].get("phone") is None

    after = await Snapshot(path).read(registry)
    for refused, field_name in (({"id": "unna"}, "id"), ({"name": None}, "name")):
        c = cid()
        response = await patch(registry, path, refused, c, after.etag)
        await assert_refused(registry, response, 422, field_name, c, after)


async def test_a_field_merge_patch_keeps_the_other_texts(registry: RegistryUnderTest) -> None:
    path = "/networks/kreis-olpe/fields-of-action"
    proposed = await registry.http.post(
        path,
        json={
            "title": "Inklusion",
            "starting_situation": "Zeile eins\r\nZeile zwei",
            "development_needs": "Fortbildungen",
        },
        headers=headers(cid()),
    )
    assert proposed.status_code == 201, proposed.text
    assert proposed.json()["starting_situation"] == "Zeile eins\nZeile zwei"
    url = f"{path}/{proposed.json()['id']}"
    c = cid()
    response = await patch(registry, url, {"development_needs": "Mehr Beratung"}, c, '"1"')
    assert response.status_code == 200, response.text
    assert response.json()["title"] == "Inklusion"
    assert response.json()["starting_situation"] == "Zeile eins\nZeile zwei"
    assert response.json()["development_needs"] == "Mehr Beratung"
    [event] = await published(registry, c)
    assert event["payload"]["development_needs"] == "Mehr Beratung"

    before = await Snapshot(url).read(registry)
    c = cid()
    response = await patch(registry, url, {"title": None}, c, before.etag)
    await assert_refused(registry, response, 422, "title", c, before)


async def test_the_openapi_documents_patch_bodies_as_merge_patches(
    registry: RegistryUnderTest,
) -> None:
    paths = (await registry.http.get("/openapi.json")).json()["paths"]
    for path in (
        "/networks/{network_id}",
        "/networks/{network_id}/committee/members/{member_id}",
        "/networks/{network_id}/fields-of-action/{field_id}",
    ):
        content = paths[path]["patch"]["requestBody"]["content"]
        assert MERGE_PATCH_JSON in content, (path, content)
