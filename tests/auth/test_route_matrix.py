"""Every route of the conferences and notifications services × every role, with real sign-ins.

`MATRIX` below decides each route of both apps: who may call it (public, anyone signed in, the
staff, Bochum's people and changes, the district) and what those who may get; everyone else gets
403 (a signed-in role) or 401 (no token, or a tampered one), each a problem document. The
services run as processes (tests/auth/conftest.py `system`) validating the real Keycloak's access
tokens; every call is about Bochum: Bochum's office is the own office, Dortmund's the other one.

A read shows Bochum's people (names, addresses, invitations, deliveries) only to the district,
the operators' client and Bochum's office; no answer to anyone else carries them. A write by a
role that may is sent valid (201/200), except where a real change would spoil the shared
conference or cannot be had: `conclude` (before the end) names a field of action that is no
adopted one, a 422 the use case gives after the role check; discarding a dead letter names none,
a 404 after the role check. Public routes (health, readiness, metrics, the OpenAPI document and
its pages, the signed response and unsubscribe links) answer the same whatever token comes along.

`test_every_route_has_a_decision` builds both apps (no servers) and fails for a route the matrix
does not decide, or decides but the app no longer has.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from notifications.domain.preferences import Topic
from notifications.rendering.links import UnsubscribeLinks
from rbn_shared.http import MERGE_PATCH_JSON, PROBLEM_JSON
from rbn_tools.mail_examples import Examples
from tests.auth.conftest import (
    MEMBER_EMAIL,
    MEMBER_NAME,
    UID,
    bearer,
    headers_of,
    served_routes,
)
from tests.conferences.support import berlin, future
from tests.e2e.conftest import System

ROLES = ("district", "ops", "bochum", "dortmund", "reader", "no-token", "invalid-token")
SLOT = {role: i for i, role in enumerate(ROLES)}  # distinct times and addresses per role

PUBLIC = None  # no token needed; the answer does not depend on one
SIGNED_IN = frozenset({"district", "ops", "bochum", "dortmund", "reader"})
STAFF = SIGNED_IN - {"reader"}
BOCHUM = frozenset({"district", "ops", "bochum"})  # see Bochum's people, change Bochum
DISTRICT = frozenset({"district", "ops"})  # ops: the machine client, in the district group

DELEGATE_NAME = f"Dora Yilmaz {UID}"
DELEGATE_EMAIL = f"dora.yilmaz.{UID}@gesamtschule-bochum.example"
VENUE = {"name": "Rathaus", "address": "Willy-Brandt-Platz 2, 44777 Bochum"}


@dataclass(frozen=True)
class Bochum:
    """What the calls name: Bochum's conference, two of its invitations (the committee member's
    and an external delegate's), the delegate's response link, the member's welcome delivery and
    an unsubscribe link for the member."""

    system: System
    district: dict[str, str]  # headers of the district, for what a call needs to read first
    conference_id: str
    member_invitation: str
    delegate_invitation: str
    response_token: str
    delivery_id: str
    unsubscribe_token: str

    @property
    def conference(self) -> str:
        return f"/conferences/{self.conference_id}"

    async def if_match(self, http: httpx.AsyncClient, url: str | None = None) -> dict[str, str]:
        read = await http.get(url or self.conference, headers=self.district)
        assert read.status_code == 200, read.text
        return {"If-Match": read.headers["ETag"]}


Client = httpx.AsyncClient
Headers = dict[str, str]
Answer = httpx.Response
Send = Callable[[Bochum, Client, str, Headers], Awaitable[Answer]]  # (…, role, its headers)
Check = Callable[[Bochum, Answer, bool], None]  # (…, the answer, sees Bochum's people)


@dataclass(frozen=True)
class Decision:
    who: frozenset[str] | None  # the roles that may; PUBLIC (None): anyone, with or without token
    status: int  # what they get
    send: Send
    check: Check | None = None  # more about a permitted answer
    link: bool = False  # behind a signed link: its holder sees their own name and address


# ---------------------------------------------------------------------------- conferences


def schedule_body(days: float, title: str) -> dict[str, Any]:
    start = future(days=days)
    return {
        "network_id": "bochum",
        "title": f"{title} {UID}",
        "starts_at": berlin(start),
        "ends_at": berlin(start + timedelta(hours=3)),
        "venue": VENUE,
    }


async def schedule(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    body = schedule_body(50 + SLOT[role], f"Planung {role}")
    return await http.post("/conferences", headers=h, json=body)


def located(b: Bochum, response: httpx.Response, sees: bool) -> None:
    assert response.headers["Location"] == f"/conferences/{response.json()['id']}"


async def list_bochums(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    return await http.get("/conferences", params={"network_id": "bochum"}, headers=h)


def people_in(conference: dict[str, Any], sees: bool) -> None:
    if sees:
        emails = {i["email"] for i in conference["invitations"]}
        assert {MEMBER_EMAIL, DELEGATE_EMAIL} <= emails
    else:
        assert conference["invitations"] is None
    counts = conference["counts"]
    assert sum(counts[k] for k in ("accepted", "declined", "tentative", "pending")) >= 2


def people_in_list(b: Bochum, response: httpx.Response, sees: bool) -> None:
    listed = {c["id"]: c for c in response.json()["items"]}
    assert {c["network_id"] for c in listed.values()} == {"bochum"}
    people_in(listed[b.conference_id], sees)
    for conference in listed.values():
        assert (conference["invitations"] is None) is not sees


async def get_one(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    return await http.get(b.conference, headers=h)


def people_in_one(b: Bochum, response: httpx.Response, sees: bool) -> None:
    people_in(response.json(), sees)
    assert response.headers["ETag"]


async def reschedule(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    start = future(days=40, hour=8 + SLOT[role])
    body = {
        "starts_at": berlin(start),
        "ends_at": berlin(start + timedelta(hours=2)),
        "venue": VENUE,
    }
    headers = h | await b.if_match(http)
    return await http.post(f"{b.conference}/reschedule", headers=headers, json=body)


async def cancel(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    """Who may cancels a conference of their own, scheduled for it; who may not, the shared one."""
    url = b.conference
    if role in BOCHUM:
        body = schedule_body(70 + SLOT[role], f"Abzusagen {role}")
        made = await http.post("/conferences", headers=b.district, json=body)
        assert made.status_code == 201, made.text
        url = made.headers["Location"]
    headers = h | await b.if_match(http, url)
    return await http.post(f"{url}/cancel", headers=headers, json={"reason": f"Probe {role}"})


async def conclude(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    body = {
        "summary": "Ergebnisse",
        "recommendations": [{"field_of_action_id": "no-such-field", "text": "Mehr davon."}],
    }
    headers = h | await b.if_match(http)
    return await http.post(f"{b.conference}/conclude", headers=headers, json=body)


def field_refused(b: Bochum, response: httpx.Response, sees: bool) -> None:
    # The use case's own check, after the role's: the field is no adopted one of Bochum.
    assert response.headers["content-type"] == PROBLEM_JSON
    fields = [e["field"] for e in response.json()["errors"]]
    assert fields == ["recommendations.0.field_of_action_id"]


async def invite(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    body = {
        "name": f"Probe {role}",
        "email": f"probe.{role}.{UID}@schule.example",
        "group": "other",
    }
    headers = h | await b.if_match(http)
    return await http.post(f"{b.conference}/invitations", headers=headers, json=body)


async def correct(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    headers = h | await b.if_match(http) | {"Content-Type": MERGE_PATCH_JSON}
    patch = json.dumps({"institution": f"Gesamtschule {role}"})
    url = f"{b.conference}/invitations/{b.delegate_invitation}"
    return await http.patch(url, headers=headers, content=patch)


async def withdraw(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    """Who may takes off a delegate invited for it; who may not, the shared delegate."""
    invitation = b.delegate_invitation
    if role in BOCHUM:
        email = f"abzuladen.{role}.{UID}@schule.example"
        body = {"name": f"Abzuladen {role}", "email": email, "group": "other"}
        headers = b.district | await b.if_match(http)
        invited = await http.post(f"{b.conference}/invitations", headers=headers, json=body)
        assert invited.status_code == 201, invited.text
        by_email = {i["email"]: i for i in invited.json()["invitations"]}
        invitation = by_email[email]["invitation_id"]
    headers = h | await b.if_match(http)
    return await http.delete(f"{b.conference}/invitations/{invitation}", headers=headers)


def withdrawn(b: Bochum, response: httpx.Response, sees: bool) -> None:
    shown = {i["email"] for i in response.json()["invitations"]}
    assert DELEGATE_EMAIL in shown, "the shared delegate stays invited"
    assert not any(email.startswith("abzuladen.") for email in shown)


async def record(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    answer = ("accepted", "declined", "tentative")[SLOT[role] % 3]
    headers = h | await b.if_match(http)
    url = f"{b.conference}/invitations/{b.member_invitation}/response"
    return await http.put(url, headers=headers, json={"response": answer})


async def edit(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    """A change nobody's invitation shows (the capacity), so no mail goes out for it."""
    headers = h | await b.if_match(http) | {"Content-Type": MERGE_PATCH_JSON}
    return await http.patch(b.conference, headers=headers, content=json.dumps({"capacity": 200}))


async def own_draft_or_the_conference(b: Bochum, http: Client, role: str) -> str:
    """Who may acts on a draft of their own, made for it; who may not, on the shared conference
    (a draft is hidden from them, and the role is judged first either way)."""
    if role not in BOCHUM:
        return b.conference
    body = schedule_body(90 + SLOT[role], f"Entwurf {role}") | {"draft": True}
    made = await http.post("/conferences", headers=b.district, json=body)
    assert made.status_code == 201, made.text
    assert made.json()["status"] == "draft"
    return str(made.headers["Location"])


async def publish(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    url = await own_draft_or_the_conference(b, http, role)
    return await http.post(f"{url}/publish", headers=h | await b.if_match(http, url))


def published(b: Bochum, response: httpx.Response, sees: bool) -> None:
    assert response.json()["status"] == "scheduled"


async def discard_draft(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    url = await own_draft_or_the_conference(b, http, role)
    return await http.delete(url, headers=h | await b.if_match(http, url))


async def preview(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    params = {"invitation_id": b.delegate_invitation}
    return await http.get(f"{b.conference}/preview", params=params, headers=h)


def the_delegates_invitation(b: Bochum, response: httpx.Response, sees: bool) -> None:
    shown = response.json()
    assert shown["recipient"] == DELEGATE_EMAIL
    assert shown["calendar_method"] == "REQUEST"
    assert "BEGIN:VCALENDAR" in shown["ics"]


async def render_preview(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    examples = Examples(tag=UID)  # a Bochum conference, as the caller would send it
    invitee = examples.invitee(1)
    body = {
        "event_type": "conference-scheduled",
        "payload": examples.conference_scheduled([invitee]).model_dump(mode="json"),
        "invitation_id": invitee.invitation_id,
    }
    return await http.post("/previews", headers=h, json=body)


def the_rendered_invitation(b: Bochum, response: httpx.Response, sees: bool) -> None:
    assert "Einladung" in response.json()["subject"]


async def link_read(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    return await http.get(f"/responses/{b.response_token}", headers=h)


def the_holder(b: Bochum, response: httpx.Response, sees: bool) -> None:
    assert response.json()["name"] == DELEGATE_NAME


async def link_answer(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    return await http.put(
        f"/responses/{b.response_token}", headers=h, json={"response": "tentative"}
    )


async def page(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    return await http.get(f"/respond/{b.response_token}", headers=h)


async def page_answer(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    return await http.post(f"/respond/{b.response_token}", headers=h, data={"response": "accepted"})


async def network(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    return await http.get("/networks/bochum", headers=h)


def people_in_network(b: Bochum, response: httpx.Response, sees: bool) -> None:
    view = response.json()
    assert view["agreement_active"] is True
    if sees:
        assert MEMBER_NAME in view["committee"].values()
        assert isinstance(view["staff"], dict)
    else:
        assert view["committee"] is None
        assert view["staff"] is None


# ---------------------------------------------------------------------------- notifications


async def deliveries(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    return await http.get("/deliveries", params={"network_id": "bochum"}, headers=h)


def bochums_deliveries(b: Bochum, response: httpx.Response, sees: bool) -> None:
    listed = response.json()["items"]
    assert {d["network_id"] for d in listed} == {"bochum"}
    assert MEMBER_EMAIL in {d["recipient"] for d in listed}


async def delivery(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    return await http.get(f"/deliveries/{b.delivery_id}", headers=h)


def the_welcome(b: Bochum, response: httpx.Response, sees: bool) -> None:
    assert response.json()["recipient"] == MEMBER_EMAIL


async def preferences(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    return await http.get(f"/preferences/{MEMBER_EMAIL}", headers=h)


async def switch(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    return await http.put(f"/preferences/{MEMBER_EMAIL}", headers=h, json={"reminders": True})


def link_page(method: str, path: str) -> Send:
    async def send(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
        return await http.request(method, path, params={"token": b.unsubscribe_token}, headers=h)

    return send


# ---------------------------------------------------------------------------- both


def plain_get(path: str) -> Send:
    async def send(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
        return await http.get(path, headers=h)

    return send


async def discard(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    body = {"reason": f"Probe {role}"}  # no dead letter of that id: 404 after the role check
    return await http.post("/dead-letters/no-such-letter/discard", headers=h, json=body)


async def access_export(b: Bochum, http: Client, role: str, h: Headers) -> Answer:
    return await http.post("/privacy/access", headers=h, json={"email": MEMBER_EMAIL})


def every_service(service: str) -> dict[tuple[str, str, str], Decision]:
    return {
        (service, "GET", "/health"): Decision(PUBLIC, 200, plain_get("/health")),
        (service, "GET", "/ready"): Decision(PUBLIC, 200, plain_get("/ready")),
        (service, "GET", "/metrics"): Decision(PUBLIC, 200, plain_get("/metrics")),
        (service, "GET", "/openapi.json"): Decision(PUBLIC, 200, plain_get("/openapi.json")),
        (service, "GET", "/docs"): Decision(PUBLIC, 200, plain_get("/docs")),
        (service, "GET", "/docs/oauth2-redirect"): Decision(
            PUBLIC, 200, plain_get("/docs/oauth2-redirect")
        ),
        (service, "GET", "/redoc"): Decision(PUBLIC, 200, plain_get("/redoc")),
        (service, "GET", "/dead-letters"): Decision(DISTRICT, 200, plain_get("/dead-letters")),
        (service, "POST", "/dead-letters/{dead_letter_id}/discard"): Decision(
            DISTRICT, 404, discard
        ),
    }


ONE = "/conferences/{conference_id}"
INVITATION = f"{ONE}/invitations/{{invitation_id}}"

# (service, method, path as the app names it) -> who may, what they get, the call
MATRIX: dict[tuple[str, str, str], Decision] = {
    ("conferences", "POST", "/conferences"): Decision(BOCHUM, 201, schedule, located),
    ("conferences", "GET", "/conferences"): Decision(SIGNED_IN, 200, list_bochums, people_in_list),
    ("conferences", "GET", ONE): Decision(SIGNED_IN, 200, get_one, people_in_one),
    ("conferences", "POST", f"{ONE}/reschedule"): Decision(BOCHUM, 200, reschedule),
    ("conferences", "POST", f"{ONE}/cancel"): Decision(BOCHUM, 200, cancel),
    ("conferences", "POST", f"{ONE}/conclude"): Decision(BOCHUM, 422, conclude, field_refused),
    ("conferences", "POST", f"{ONE}/invitations"): Decision(BOCHUM, 201, invite),
    ("conferences", "PATCH", INVITATION): Decision(BOCHUM, 200, correct),
    ("conferences", "DELETE", INVITATION): Decision(BOCHUM, 200, withdraw, withdrawn),
    ("conferences", "PUT", f"{INVITATION}/response"): Decision(BOCHUM, 200, record),
    ("conferences", "PATCH", ONE): Decision(BOCHUM, 200, edit),
    ("conferences", "POST", f"{ONE}/publish"): Decision(BOCHUM, 200, publish, published),
    ("conferences", "DELETE", ONE): Decision(BOCHUM, 204, discard_draft),
    ("conferences", "GET", f"{ONE}/preview"): Decision(
        BOCHUM, 200, preview, the_delegates_invitation
    ),
    ("conferences", "GET", "/responses/{token}"): Decision(
        PUBLIC, 200, link_read, the_holder, link=True
    ),
    ("conferences", "PUT", "/responses/{token}"): Decision(
        PUBLIC, 200, link_answer, the_holder, link=True
    ),
    ("conferences", "GET", "/respond/{token}"): Decision(PUBLIC, 200, page, link=True),
    ("conferences", "POST", "/respond/{token}"): Decision(PUBLIC, 303, page_answer, link=True),
    ("conferences", "GET", "/networks/{network_id}"): Decision(
        SIGNED_IN, 200, network, people_in_network
    ),
    ("conferences", "POST", "/privacy/access"): Decision(DISTRICT, 200, access_export),
    ("conferences", "GET", "/privacy/audit"): Decision(DISTRICT, 200, plain_get("/privacy/audit")),
    **every_service("conferences"),
    ("notifications", "GET", "/deliveries"): Decision(BOCHUM, 200, deliveries, bochums_deliveries),
    ("notifications", "GET", "/deliveries/{delivery_id}"): Decision(
        BOCHUM, 200, delivery, the_welcome
    ),
    ("notifications", "POST", "/previews"): Decision(
        BOCHUM, 200, render_preview, the_rendered_invitation
    ),
    ("notifications", "GET", "/preferences/{email}"): Decision(STAFF, 200, preferences),
    ("notifications", "PUT", "/preferences/{email}"): Decision(BOCHUM, 200, switch),
    ("notifications", "GET", "/district/report"): Decision(
        DISTRICT, 200, plain_get("/district/report")
    ),
    ("notifications", "POST", "/privacy/access"): Decision(DISTRICT, 200, access_export),
    ("notifications", "GET", "/privacy/audit"): Decision(
        DISTRICT, 200, plain_get("/privacy/audit")
    ),
    ("notifications", "GET", "/unsubscribe"): Decision(
        PUBLIC, 200, link_page("GET", "/unsubscribe"), link=True
    ),
    ("notifications", "POST", "/unsubscribe"): Decision(
        PUBLIC, 200, link_page("POST", "/unsubscribe"), link=True
    ),
    ("notifications", "POST", "/subscribe"): Decision(
        PUBLIC, 200, link_page("POST", "/subscribe"), link=True
    ),
    **every_service("notifications"),
}


# ---------------------------------------------------------------------------- the routes


def built_app(service: str) -> FastAPI:
    """The service's app as its process builds it (no server is contacted)."""
    if service == "conferences":
        from conferences.bootstrap import build as conferences
        from conferences.settings import ConferencesSettings

        return conferences(ConferencesSettings()).app
    from notifications.bootstrap import build as notifications
    from notifications.settings import NotificationsSettings

    app: FastAPI = notifications(NotificationsSettings()).app
    return app


@pytest.mark.parametrize("service", ["conferences", "notifications"])
def test_every_route_has_a_decision(service: str) -> None:
    served = served_routes(built_app(service))
    decided = {(method, path) for s, method, path in MATRIX if s == service}
    assert sorted(served - decided) == [], "routes without a decision in MATRIX"
    assert sorted(decided - served) == [], "decisions for routes the app does not have"


# ---------------------------------------------------------------------------- the matrix


@pytest.fixture(scope="module")
async def bochum(
    system: System, tokens: dict[str, str], bochum_has_people: dict[str, Any]
) -> Bochum:
    """Bochum's conference (conftest) with an external delegate invited, and what the calls
    name besides."""
    district = bearer(tokens["district"])
    url = f"/conferences/{bochum_has_people['id']}"
    async with system.conferences.client() as conferences:
        version = (await conferences.get(url, headers=district)).headers["ETag"]
        invited = await conferences.post(
            f"{url}/invitations",
            headers=district | {"If-Match": version},
            json={"name": DELEGATE_NAME, "email": DELEGATE_EMAIL, "group": "school"},
        )
        assert invited.status_code == 201, invited.text
    by_email = {i["email"]: i for i in invited.json()["invitations"]}
    async with system.notifications.client() as notifications:
        welcome = await notifications.get(
            "/deliveries", params={"recipient": MEMBER_EMAIL}, headers=district
        )
    delivery = welcome.json()["items"][0]  # the welcome, or the invitation
    assert delivery["network_id"] == "bochum"
    links = UnsubscribeLinks(
        system.notifications.settings["UNSUBSCRIBE_SECRET"], system.notifications.url
    )
    return Bochum(
        system=system,
        district=district,
        conference_id=bochum_has_people["id"],
        member_invitation=by_email[MEMBER_EMAIL]["invitation_id"],
        delegate_invitation=by_email[DELEGATE_EMAIL]["invitation_id"],
        response_token=by_email[DELEGATE_EMAIL]["response_url"].rsplit("/", 1)[1],
        delivery_id=delivery["delivery_id"],
        unsubscribe_token=links.token(MEMBER_EMAIL, Topic.REMINDERS),
    )


@pytest.fixture(scope="module")
async def clients(system: System) -> AsyncIterator[dict[str, Client]]:
    """One client per service for all the calls (a client per call costs more than the call)."""
    async with (
        system.conferences.client() as conferences,
        system.notifications.client() as notifications,
    ):
        yield {"conferences": conferences, "notifications": notifications}


def expected(decision: Decision, role: str) -> int:
    if decision.who is PUBLIC:
        return decision.status
    if role in ("no-token", "invalid-token"):
        return 401
    return decision.status if role in decision.who else 403


CASES = [(route, role) for route in MATRIX for role in ROLES]


@pytest.mark.integration
@pytest.mark.e2e
@pytest.mark.parametrize(
    ("route", "role"), CASES, ids=[f"{s} {m} {p} [{role}]" for (s, m, p), role in CASES]
)
async def test_route_matrix(
    bochum: Bochum,
    clients: dict[str, Client],
    tokens: dict[str, str],
    route: tuple[str, str, str],
    role: str,
) -> None:
    service, _, path = route
    decision = MATRIX[route]
    response = await decision.send(bochum, clients[service], role, headers_of(role, tokens))
    status = expected(decision, role)
    assert response.status_code == status, response.text
    if status == 401:  # RFC 6750 §3: no error code without a token, invalid_token with one
        challenge = response.headers["WWW-Authenticate"]
        if role == "no-token":
            assert challenge == "Bearer"
        else:
            assert challenge.startswith('Bearer error="invalid_token", error_description=')
    if status in (401, 403):
        assert response.headers["content-type"] == PROBLEM_JSON
        kind = "unauthorized" if status == 401 else "forbidden"
        assert response.json()["type"].endswith(f":{kind}")
    elif decision.check is not None:
        decision.check(bochum, response, role in BOCHUM)
    if role not in BOCHUM and not decision.link:  # Bochum's people are not in the answer
        for name in (MEMBER_NAME, DELEGATE_NAME):
            assert name not in response.text
        if "{email}" not in path:  # (the address asked about is named in the refusal)
            for email in (MEMBER_EMAIL, DELEGATE_EMAIL):
                assert email not in response.text


@pytest.mark.integration
@pytest.mark.e2e
@pytest.mark.usefixtures("bochum")
@pytest.mark.parametrize("role", ["bochum", "dortmund"])
async def test_an_office_naming_no_network_lists_its_own_deliveries_only(
    clients: dict[str, Client], tokens: dict[str, str], role: str
) -> None:
    listed = await clients["notifications"].get("/deliveries", headers=bearer(tokens[role]))
    assert listed.status_code == 200, listed.text
    assert {d["network_id"] for d in listed.json()["items"]} <= {role}
    assert (MEMBER_EMAIL in listed.text) is (role == "bochum")


# The signed links are the authorization of the public routes behind them: a forged one is
# refused whatever token comes along (the conferences' JSON with a problem, the pages with a page).
FORGED = [
    ("conferences", "GET", "/responses/{token}", 403),
    ("conferences", "PUT", "/responses/{token}", 403),
    ("conferences", "GET", "/respond/{token}", 403),
    ("conferences", "POST", "/respond/{token}", 403),
    ("notifications", "GET", "/unsubscribe", 400),
    ("notifications", "POST", "/unsubscribe", 400),
    ("notifications", "POST", "/subscribe", 400),
]


@pytest.mark.integration
@pytest.mark.e2e
@pytest.mark.parametrize(("service", "method", "path", "status"), FORGED)
async def test_a_forged_link_is_refused_even_with_the_districts_token(
    bochum: Bochum,
    clients: dict[str, Client],
    tokens: dict[str, str],
    service: str,
    method: str,
    path: str,
    status: int,
) -> None:
    assert MATRIX[(service, method, path)].link
    forged = bochum.response_token if service == "conferences" else bochum.unsubscribe_token
    forged = forged[:-4] + ("AAAA" if not forged.endswith("AAAA") else "BBBB")
    kwargs: dict[str, Any] = {"headers": bearer(tokens["district"])}
    if service == "conferences":
        url = path.format(token=forged)
        if method == "PUT":
            kwargs["json"] = {"response": "declined"}
        elif method == "POST":
            kwargs["data"] = {"response": "declined"}
    else:
        url, kwargs["params"] = path, {"token": forged}
    response = await clients[service].request(method, url, **kwargs)
    assert response.status_code == status, response.text
    assert DELEGATE_NAME not in response.text
    assert MEMBER_EMAIL not in response.text
