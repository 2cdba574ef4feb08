"""Every route of the registry × every role, with real sign-ins.

`MATRIX` below decides each route of the registry's app, as tests/auth/test_route_matrix.py
does for the conferences and notifications: who may call it (public, anyone signed in, Bochum's
people and changes, the district) and what those who may get; everyone else gets 403 (a
signed-in role) or 401 (no token, or a tampered one), each a problem document. The services run
as processes (tests/auth/conftest.py `system`) validating the real Keycloak's access tokens;
every call is about Bochum: Bochum's office is the own office, Dortmund's the other one. The
district-only writes (register a network, set the district coordination, publish a bulletin)
are refused to both offices and the reader.

A read shows Bochum's people (committee members, office staff, the audit trail) only to the
district, the operators' client and Bochum's office; the network's view shows everyone else
only how many there are (committee and staff null), and no answer to anyone else carries a
name or an address of Bochum's people. A write by a role that may is sent valid, with the
If-Match it read just before (201/200); where it would spoil what another case needs (a removal,
an adoption, a closure, the one active agreement) it acts on an entity of its own, made for it
by the district. Discarding a dead letter names none: a 404 after the role check.

`test_every_route_has_a_decision` builds the app (no servers) and fails for a route the matrix
does not decide, or decides but the app no longer has. `test_a_refused_role_is_refused_before_
its_body_is_judged` sends every write an invalid body from the roles that may not: still 403.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from rbn_shared.http import MERGE_PATCH_JSON, PROBLEM_JSON
from tests.auth.conftest import (
    MEMBER_EMAIL,
    MEMBER_NAME,
    UID,
    bearer,
    headers_of,
    served_routes,
)
from tests.e2e.conftest import System, wait_until
from tests.support.keycloak import unverified

ROLES = ("district", "ops", "bochum", "dortmund", "reader", "no-token", "invalid-token")
SLOT = {role: i for i, role in enumerate(ROLES)}  # distinct values per role

PUBLIC = None  # no token needed; the answer does not depend on one
SIGNED_IN = frozenset({"district", "ops", "bochum", "dortmund", "reader"})
BOCHUM = frozenset({"district", "ops", "bochum"})  # see Bochum's people, change Bochum
DISTRICT = frozenset({"district", "ops"})  # ops: the machine client, in the district group

# Every person this module puts into Bochum carries PEOPLE in name and address.
PEOPLE = f"p{uuid.uuid4().hex[:8]}"
STAFF_NAME = f"Lea Brandt {PEOPLE}"  # Bochum's office staff member
STAFF_EMAIL = f"lea.brandt.{PEOPLE}@bochum.example"

BOCHUM_NET = "/networks/bochum"
AGREEMENTS = f"{BOCHUM_NET}/agreements"
MEMBERS = f"{BOCHUM_NET}/committee/members"
STAFF = f"{BOCHUM_NET}/office/staff"
FIELDS = f"{BOCHUM_NET}/fields-of-action"


@dataclass(frozen=True)
class Bochum:
    """What the calls name: Bochum's committee member (conftest), its staff member, a proposed
    field of action; the subjects that may appear in its audit trail."""

    system: System
    district: dict[str, str]  # headers of the district, for what a call needs to read first
    member_id: str
    staff_id: str
    field_id: str
    changers: frozenset[str]  # the subjects of the district, ops and Bochum's office

    async def if_match(self, http: httpx.AsyncClient, url: str) -> dict[str, str]:
        read = await http.get(url, headers=self.district)
        assert read.status_code == 200, read.text
        return {"If-Match": read.headers["ETag"]}

    async def made(self, http: httpx.AsyncClient, url: str, body: dict[str, Any]) -> str:
        """A new entity, made by the district for one case: its URL."""
        made = await http.post(url, headers=self.district, json=body)
        assert made.status_code == 201, made.text
        location: str = made.headers["Location"]
        return location

    async def agreements(self, http: httpx.AsyncClient) -> list[dict[str, Any]]:
        listed = await http.get(AGREEMENTS, params={"limit": 100}, headers=self.district)
        assert listed.status_code == 200, listed.text
        items: list[dict[str, Any]] = listed.json()["items"]
        return items


Client = httpx.AsyncClient
Headers = dict[str, str]
Answer = httpx.Response
Send = Callable[[Bochum, Client, str, Headers], Awaitable[Answer]]  # (…, role, its headers)
Check = Callable[[Bochum, Answer, str], None]  # (…, the answer, the role)


@dataclass(frozen=True)
class Decision:
    who: frozenset[str] | None  # the roles that may; PUBLIC (None): anyone, with or without token
    status: int  # what they get
    send: Send
    check: Check | None = None  # more about a permitted answer


def version(entity: dict[str, Any]) -> dict[str, str]:
    return {"If-Match": f'"{entity["version"]}"'}


def located(b: Bochum, response: Answer, role: str) -> None:
    assert response.headers["Location"].endswith(f"/{response.json()['id']}")
    assert response.headers["ETag"]


def plain_get(path: str, **params: Any) -> Send:
    async def send(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
        return await http.get(path, params=params, headers=h)

    return send


def probe_person(role: str, what: str) -> dict[str, str]:
    return {
        "name": f"Probe {what} {role} {PEOPLE}",
        "email": f"{what}.{role}.{PEOPLE}@bochum.example",
    }


# ---------------------------------------------------------------------------- networks


def people_in_network(view: dict[str, Any], sees: bool) -> None:
    assert view["committee_size"] >= 1
    assert view["staff_size"] >= 1
    if sees:
        assert MEMBER_EMAIL in {m["person"]["email"] for m in view["committee"]}
        assert STAFF_EMAIL in {s["person"]["email"] for s in view["staff"]}
    else:
        assert view["committee"] is None
        assert view["staff"] is None


def sees_people_of(role: str, network_id: str) -> bool:
    return role in DISTRICT or role == network_id


def people_in_list(b: Bochum, response: Answer, role: str) -> None:
    listed = {n["id"]: n for n in response.json()["items"]}
    assert {"bochum", "dortmund"} <= set(listed)
    people_in_network(listed["bochum"], role in BOCHUM)
    for network_id, network in listed.items():  # every network: its people for its own only
        assert (network["committee"] is not None) is sees_people_of(role, network_id)
        assert (network["staff"] is not None) is sees_people_of(role, network_id)


def people_in_one(b: Bochum, response: Answer, role: str) -> None:
    assert response.json()["id"] == "bochum"
    assert response.headers["ETag"]
    people_in_network(response.json(), role in BOCHUM)


async def register(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    network_id = f"probe-{role}-{UID}"
    body = {
        "id": network_id,
        "name": f"Regionales Bildungsnetzwerk Probe {role} {UID}",
        "municipality": {"name": f"Probe {role}", "kind": "city"},
        "office": {"name": "Bildungsbüro Probe", "email": f"buero.{role}.{UID}@probe.example"},
    }
    return await http.post("/networks", headers=h, json=body)


async def update_network(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    headers = h | await b.if_match(http, BOCHUM_NET) | {"Content-Type": MERGE_PATCH_JSON}
    patch = json.dumps({"office": {"phone": f"0234 910-{SLOT[role]}"}})
    return await http.patch(BOCHUM_NET, headers=headers, content=patch)


def updated_network(b: Bochum, response: Answer, role: str) -> None:
    assert response.json()["office"]["phone"] == f"0234 910-{SLOT[role]}"
    people_in_network(response.json(), True)  # only those who may see people may change


# ---------------------------------------------------------------------------- agreements


def agreements_listed(b: Bochum, response: Answer, role: str) -> None:
    assert response.json()["total"] >= 1


async def sign(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    """Who may signs after the district terminated the active agreement (there is one at most)."""
    if role in BOCHUM:
        for active in [a for a in await b.agreements(http) if a["status"] == "active"]:
            body = {"terminated_on": "2026-06-30", "reason": f"Neu zu zeichnen {role}"}
            url = f"{AGREEMENTS}/{active['id']}/termination"
            ended = await http.post(url, headers=b.district | version(active), json=body)
            assert ended.status_code == 200, ended.text
    body = {"signed_on": f"2025-07-0{SLOT[role] + 1}", "valid_from": "2025-08-01"}
    return await http.post(AGREEMENTS, headers=h, json=body)


async def terminate(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    """Who may terminates the active agreement (signed by the district if there is none);
    who may not, the first one."""
    agreements = await b.agreements(http)
    target = agreements[0]
    if role in BOCHUM:
        active = [a for a in agreements if a["status"] == "active"]
        if not active:
            made = await http.post(
                AGREEMENTS,
                headers=b.district,
                json={"signed_on": "2025-01-01", "valid_from": "2025-01-01"},
            )
            assert made.status_code == 201, made.text
            active = [made.json()]
        target = active[0]
    body = {"terminated_on": "2026-06-30", "reason": f"Probe {role}"}
    url = f"{AGREEMENTS}/{target['id']}/termination"
    return await http.post(url, headers=h | version(target), json=body)


def terminated(b: Bochum, response: Answer, role: str) -> None:
    assert response.json()["status"] == "terminated"


# ---------------------------------------------------------------------------- steering committee


def members_listed(b: Bochum, response: Answer, role: str) -> None:
    assert MEMBER_EMAIL in {m["person"]["email"] for m in response.json()["items"]}


def the_member(b: Bochum, response: Answer, role: str) -> None:
    assert response.json()["person"]["name"] == MEMBER_NAME
    assert response.headers["ETag"]


def member_body(role: str) -> dict[str, Any]:
    return {
        "person": probe_person(role, "mitglied"),
        "side": "municipality",
        "role": "member",
        "term_start": "2026-01-01",
    }


async def add_member(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    return await http.post(MEMBERS, headers=h, json=member_body(role))


async def update_member(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    url = f"{MEMBERS}/{b.member_id}"
    headers = h | await b.if_match(http, url) | {"Content-Type": MERGE_PATCH_JSON}
    patch = json.dumps({"person": {"function": f"Funktion {role}"}})
    return await http.patch(url, headers=headers, content=patch)


async def remove_member(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    """Who may removes a member made for it; who may not, the shared one."""
    url = f"{MEMBERS}/{b.member_id}"
    if role in BOCHUM:
        url = await b.made(http, MEMBERS, member_body(f"{role}-leaving"))
    headers = h | await b.if_match(http, url)
    body = {"removed_on": "2027-06-30", "reason": f"Probe {role}"}
    return await http.post(f"{url}/removal", headers=headers, json=body)


# ---------------------------------------------------------------------------- education office


def staff_listed(b: Bochum, response: Answer, role: str) -> None:
    assert STAFF_EMAIL in {s["person"]["email"] for s in response.json()["items"]}


def the_staff_member(b: Bochum, response: Answer, role: str) -> None:
    assert response.json()["person"]["name"] == STAFF_NAME
    assert response.headers["ETag"]


def staff_body(role: str) -> dict[str, Any]:
    return {
        "person": probe_person(role, "buero"),
        "employer": "municipality",
        "start_date": "2026-01-01",
    }


async def assign_staff(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    return await http.post(STAFF, headers=h, json=staff_body(role))


async def remove_staff(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    """Who may lets a staff member made for it leave; who may not, the shared one."""
    url = f"{STAFF}/{b.staff_id}"
    if role in BOCHUM:
        url = await b.made(http, STAFF, staff_body(f"{role}-leaving"))
    headers = h | await b.if_match(http, url)
    body = {"end_date": "2026-12-31", "reason": f"Probe {role}"}
    return await http.post(f"{url}/removal", headers=headers, json=body)


# ---------------------------------------------------------------------------- fields of action


def field_body(role: str, what: str = "Vorschlag") -> dict[str, str]:
    return {
        "title": f"{what} {role} {UID}",
        "starting_situation": "Viele Jugendliche ohne Anschluss.",
        "development_needs": "Berufsorientierung ab Klasse 8.",
    }


def fields_listed(b: Bochum, response: Answer, role: str) -> None:
    assert b.field_id in {f["id"] for f in response.json()["items"]}


def the_field(b: Bochum, response: Answer, role: str) -> None:
    assert response.json()["id"] == b.field_id
    assert response.headers["ETag"]


async def propose(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    return await http.post(FIELDS, headers=h, json=field_body(role))


async def update_field(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    url = f"{FIELDS}/{b.field_id}"
    headers = h | await b.if_match(http, url) | {"Content-Type": MERGE_PATCH_JSON}
    patch = json.dumps({"development_needs": f"Mehr Beratung {role}"})
    return await http.patch(url, headers=headers, content=patch)


async def adopt(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    """Who may adopts a field proposed for it; who may not, the shared one."""
    url = f"{FIELDS}/{b.field_id}"
    if role in BOCHUM:
        url = await b.made(http, FIELDS, field_body(role, "Anzunehmen"))
    headers = h | await b.if_match(http, url)
    return await http.post(f"{url}/adoption", headers=headers, json={"adopted_on": "2026-03-01"})


async def close(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    """Who may closes a field adopted for it; who may not, the shared one (403 first)."""
    url = f"{FIELDS}/{b.field_id}"
    if role in BOCHUM:
        url = await b.made(http, FIELDS, field_body(role, "Abzuschliessen"))
        adopted = await http.post(
            f"{url}/adoption",
            headers=b.district | await b.if_match(http, url),
            json={"adopted_on": "2026-03-01"},
        )
        assert adopted.status_code == 200, adopted.text
    headers = h | await b.if_match(http, url)
    return await http.post(f"{url}/closure", headers=headers, json={"closed_on": "2026-09-30"})


def field_status(status: str) -> Check:
    def check(b: Bochum, response: Answer, role: str) -> None:
        assert response.json()["status"] == status

    return check


# ---------------------------------------------------------------------------- district


def the_district(b: Bochum, response: Answer, role: str) -> None:
    assert response.json()["coordinator"]["email"]
    assert response.headers["ETag"]


async def set_district(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    current = await http.get("/district", headers=b.district)
    assert current.status_code == 200, current.text
    now = current.json()
    body = {
        "coordinator": {k: v for k, v in now["coordinator"].items() if v is not None},
        "service_unit": {k: v for k, v in now["service_unit"].items() if v is not None}
        | {"phone": f"02931 82-{SLOT[role]}"},
    }
    headers = h | {"If-Match": current.headers["ETag"]}
    return await http.put("/district", headers=headers, json=body)


def district_set(b: Bochum, response: Answer, role: str) -> None:
    assert response.json()["service_unit"]["phone"] == f"02931 82-{SLOT[role]}"


async def publish(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    body = {
        "title": f"Rundschreiben {role} {UID}",
        "body": "Informationen des Schulministeriums.",
        "author": {"name": "Bezirkskoordination", "email": "bezirk@bezreg-arnsberg.example"},
    }
    return await http.post("/district/bulletins", headers=h, json=body)


def to_all_networks(b: Bochum, response: Answer, role: str) -> None:
    assert {"bochum", "dortmund"} <= set(response.json()["network_ids"])


# ---------------------------------------------------------------------------- audit trail


def the_trail(b: Bochum, response: Answer, role: str) -> None:
    items = response.json()["items"]
    assert items
    # Only who may change Bochum (or the system itself, None) changed it.
    assert {c["actor"] for c in items} <= b.changers | {None}


# ---------------------------------------------------------------------------- dead letters


async def discard(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    body = {"reason": f"Probe {role}"}  # no dead letter of that id: 404 after the role check
    return await http.post("/dead-letters/no-such-letter/discard", headers=h, json=body)


# ---------------------------------------------------------------------------- privacy


async def erase_probe(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    # An address of the role's own that nobody holds: erasing it touches none of Bochum's people.
    body = {"email": probe_person(role, "erased")["email"]}
    return await http.post("/privacy/erasures", headers=h, json=body)


async def access_probe(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    body = {"email": probe_person(role, "exported")["email"]}
    return await http.post("/privacy/access", headers=h, json=body)


# (method, path as the app names it) -> who may, what they get, the call
ONE = "/networks/{network_id}"
MEMBER = f"{ONE}/committee/members/{{member_id}}"
STAFF_ONE = f"{ONE}/office/staff/{{staff_id}}"
FIELD = f"{ONE}/fields-of-action/{{field_id}}"


async def member_get(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    return await http.get(f"{MEMBERS}/{b.member_id}", headers=h)


async def staff_get(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    return await http.get(f"{STAFF}/{b.staff_id}", headers=h)


async def field_get(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    return await http.get(f"{FIELDS}/{b.field_id}", headers=h)


MATRIX: dict[tuple[str, str], Decision] = {
    ("GET", "/health"): Decision(PUBLIC, 200, plain_get("/health")),
    ("GET", "/ready"): Decision(PUBLIC, 200, plain_get("/ready")),
    ("GET", "/metrics"): Decision(PUBLIC, 200, plain_get("/metrics")),
    ("GET", "/openapi.json"): Decision(PUBLIC, 200, plain_get("/openapi.json")),
    ("GET", "/docs"): Decision(PUBLIC, 200, plain_get("/docs")),
    ("GET", "/docs/oauth2-redirect"): Decision(PUBLIC, 200, plain_get("/docs/oauth2-redirect")),
    ("GET", "/redoc"): Decision(PUBLIC, 200, plain_get("/redoc")),
    ("GET", "/dead-letters"): Decision(DISTRICT, 200, plain_get("/dead-letters")),
    ("POST", "/dead-letters/{dead_letter_id}/discard"): Decision(DISTRICT, 404, discard),
    ("GET", "/networks"): Decision(
        SIGNED_IN, 200, plain_get("/networks", limit=100), people_in_list
    ),
    ("POST", "/networks"): Decision(DISTRICT, 201, register, located),
    ("GET", ONE): Decision(SIGNED_IN, 200, plain_get(BOCHUM_NET), people_in_one),
    ("PATCH", ONE): Decision(BOCHUM, 200, update_network, updated_network),
    ("GET", f"{ONE}/agreements"): Decision(
        SIGNED_IN, 200, plain_get(AGREEMENTS), agreements_listed
    ),
    ("POST", f"{ONE}/agreements"): Decision(BOCHUM, 201, sign, located),
    ("POST", f"{ONE}/agreements/{{agreement_id}}/termination"): Decision(
        BOCHUM, 200, terminate, terminated
    ),
    ("GET", f"{ONE}/committee/members"): Decision(BOCHUM, 200, plain_get(MEMBERS), members_listed),
    ("POST", f"{ONE}/committee/members"): Decision(BOCHUM, 201, add_member, located),
    ("GET", MEMBER): Decision(BOCHUM, 200, member_get, the_member),
    ("PATCH", MEMBER): Decision(BOCHUM, 200, update_member, the_member),
    ("POST", f"{MEMBER}/removal"): Decision(BOCHUM, 200, remove_member),
    ("GET", f"{ONE}/office/staff"): Decision(BOCHUM, 200, plain_get(STAFF), staff_listed),
    ("POST", f"{ONE}/office/staff"): Decision(BOCHUM, 201, assign_staff, located),
    ("GET", STAFF_ONE): Decision(BOCHUM, 200, staff_get, the_staff_member),
    ("POST", f"{STAFF_ONE}/removal"): Decision(BOCHUM, 200, remove_staff),
    ("GET", f"{ONE}/fields-of-action"): Decision(
        SIGNED_IN, 200, plain_get(FIELDS, limit=100), fields_listed
    ),
    ("POST", f"{ONE}/fields-of-action"): Decision(BOCHUM, 201, propose, located),
    ("GET", FIELD): Decision(SIGNED_IN, 200, field_get, the_field),
    ("PATCH", FIELD): Decision(BOCHUM, 200, update_field, the_field),
    ("POST", f"{FIELD}/adoption"): Decision(BOCHUM, 200, adopt, field_status("adopted")),
    ("POST", f"{FIELD}/closure"): Decision(BOCHUM, 200, close, field_status("closed")),
    ("GET", "/district"): Decision(SIGNED_IN, 200, plain_get("/district"), the_district),
    ("PUT", "/district"): Decision(DISTRICT, 200, set_district, district_set),
    ("GET", "/district/bulletins"): Decision(SIGNED_IN, 200, plain_get("/district/bulletins")),
    ("POST", "/district/bulletins"): Decision(DISTRICT, 201, publish, to_all_networks),
    ("GET", f"{ONE}/changes"): Decision(
        BOCHUM, 200, plain_get(f"{BOCHUM_NET}/changes", limit=100), the_trail
    ),
    ("POST", "/privacy/erasures"): Decision(DISTRICT, 201, erase_probe),
    ("POST", "/privacy/access"): Decision(DISTRICT, 200, access_probe),
    ("GET", "/privacy/audit"): Decision(DISTRICT, 200, plain_get("/privacy/audit")),
}


# ---------------------------------------------------------------------------- the routes


def built_app() -> FastAPI:
    """The registry's app as its process builds it (no server is contacted)."""
    from registry.bootstrap import build
    from registry.settings import RegistrySettings

    return build(RegistrySettings()).app


def test_every_route_has_a_decision() -> None:
    served = served_routes(built_app())
    assert sorted(served - set(MATRIX)) == [], "routes without a decision in MATRIX"
    assert sorted(set(MATRIX) - served) == [], "decisions for routes the app does not have"


# ---------------------------------------------------------------------------- the matrix


@pytest.fixture(scope="module")
async def bochum(system: System, tokens: dict[str, str], bochum_member: dict[str, Any]) -> Bochum:
    """Bochum's committee member (conftest), a staff member and a field of action, made by
    Bochum's office; waits until the audit trail has them."""
    office = bearer(tokens["bochum"])
    async with system.registry.client() as registry:
        assigned = await registry.post(
            STAFF,
            headers=office,
            json={
                "person": {"name": STAFF_NAME, "email": STAFF_EMAIL},
                "employer": "municipality",
                "start_date": "2026-01-01",
            },
        )
        assert assigned.status_code == 201, assigned.text
        proposed = await registry.post(FIELDS, headers=office, json=field_body("bochum", "Geteilt"))
        assert proposed.status_code == 201, proposed.text

        async def recorded() -> bool:
            trail = await registry.get(f"{BOCHUM_NET}/changes", headers=office)
            return trail.status_code == 200 and "field-of-action-proposed" in {
                c["type"] for c in trail.json()["items"]
            }

        await wait_until(recorded, what="the new field of action on Bochum's audit trail")
    return Bochum(
        system=system,
        district=bearer(tokens["district"]),
        member_id=bochum_member["id"],
        staff_id=assigned.json()["id"],
        field_id=proposed.json()["id"],
        changers=frozenset(unverified(tokens[r])["sub"] for r in BOCHUM),
    )


@pytest.fixture(scope="module")
async def registry(system: System) -> AsyncIterator[Client]:
    """One client for all the calls (a client per call costs more than the call)."""
    async with system.registry.client() as client:
        yield client


def expected(decision: Decision, role: str) -> int:
    if decision.who is PUBLIC:
        return decision.status
    if role in ("no-token", "invalid-token"):
        return 401
    return decision.status if role in decision.who else 403


def refused_properly(response: Answer, status: int, role: str) -> None:
    if status == 401:  # RFC 6750 §3: no error code without a token, invalid_token with one
        challenge = response.headers["WWW-Authenticate"]
        if role == "no-token":
            assert challenge == "Bearer"
        else:
            assert challenge.startswith('Bearer error="invalid_token", error_description=')
    assert response.headers["content-type"] == PROBLEM_JSON
    kind = "unauthorized" if status == 401 else "forbidden"
    assert response.json()["type"].endswith(f":{kind}")


def no_people_of_bochum(response: Answer) -> None:
    for personal in (MEMBER_NAME, MEMBER_EMAIL, STAFF_NAME, STAFF_EMAIL, PEOPLE):
        assert personal not in response.text


CASES = [(route, role) for route in MATRIX for role in ROLES]


@pytest.mark.integration
@pytest.mark.e2e
@pytest.mark.parametrize(
    ("route", "role"), CASES, ids=[f"{m} {p} [{role}]" for (m, p), role in CASES]
)
async def test_route_matrix(
    bochum: Bochum,
    registry: Client,
    tokens: dict[str, str],
    route: tuple[str, str],
    role: str,
) -> None:
    decision = MATRIX[route]
    response = await decision.send(bochum, registry, role, headers_of(role, tokens))
    status = expected(decision, role)
    assert response.status_code == status, response.text
    if status in (401, 403):
        refused_properly(response, status, role)
    elif decision.check is not None:
        decision.check(bochum, response, role)
    if role not in BOCHUM:  # Bochum's people are not in the answer
        no_people_of_bochum(response)


# The roles that may not change Bochum, or not the district, are refused before the body is
# judged: an invalid body (a JSON array where an object belongs) still gets 403, not 422.
WRITES = [
    (method, path)
    for (method, path), decision in MATRIX.items()
    if method != "GET" and decision.who is not PUBLIC
]
REFUSED = [
    (route, role) for route in WRITES for role in sorted(SIGNED_IN - (MATRIX[route].who or set()))
]
EXAMPLE_IDS = {
    "{network_id}": "bochum",
    "{agreement_id}": "agr-1",
    "{member_id}": "mem-1",
    "{staff_id}": "staff-1",
    "{field_id}": "hf-1",
    "{dead_letter_id}": "no-such-letter",
}


@pytest.mark.integration
@pytest.mark.e2e
@pytest.mark.parametrize(
    ("route", "role"), REFUSED, ids=[f"{m} {p} [{role}]" for (m, p), role in REFUSED]
)
async def test_a_refused_role_is_refused_before_its_body_is_judged(
    registry: Client, tokens: dict[str, str], route: tuple[str, str], role: str
) -> None:
    method, path = route
    for name, value in EXAMPLE_IDS.items():
        path = path.replace(name, value)
    headers = bearer(tokens[role]) | {"If-Match": '"1"', "Content-Type": "application/json"}
    response = await registry.request(method, path, headers=headers, content=b"[]")
    assert response.status_code == 403, response.text
    refused_properly(response, 403, role)
