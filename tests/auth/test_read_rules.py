"""Who sees whose people, across the three services, with real sign-ins: the services as
processes validating the real Keycloak's access tokens, on real Kafka, FerretDB and Mailpit.

Every role (district, Bochum's office, Dortmund's office, a reader, the operators' machine client,
no token) against Bochum's personal data in every service, and against a change in Bochum."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import pytest

from tests.conferences.support import berlin, future
from tests.e2e.conftest import System, started_on_shared_mailpit, wait_until
from tests.support.infra import Infra
from tests.support.keycloak import Keycloak, demo_users

UID = uuid.uuid4().hex[:8]
MEMBER_EMAIL = f"jana.wolf.{UID}@schule-bochum.example"

# role -> may it see Bochum's people (and change Bochum)?
SEES_BOCHUM = {"district": True, "ops": True, "bochum": True, "dortmund": False, "reader": False}


@pytest.fixture(scope="module")
async def system(
    infra: Infra, keycloak: Keycloak, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[System]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RBN_OIDC_ISSUER", keycloak.issuer)  # the processes inherit it
        async with started_on_shared_mailpit(
            infra, tmp_path_factory.mktemp("read-rules")
        ) as running:
            yield running


@pytest.fixture(scope="module")
def tokens(keycloak: Keycloak) -> dict[str, str]:
    users = demo_users()
    return {
        "district": keycloak.user_token(users["district"]),
        "bochum": keycloak.user_token(users["office-bochum"]),
        "dortmund": keycloak.user_token(users["office-dortmund"]),
        "reader": keycloak.user_token(users["readers"]),
        "ops": keycloak.client_token(),
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
async def bochum_has_people(system: System, tokens: dict[str, str]) -> dict[str, Any]:
    """A committee member and a conference in Bochum, made by Bochum's office; their mails."""
    office = bearer(tokens["bochum"])
    async with system.registry.client() as registry:
        added = await registry.post(
            "/networks/bochum/committee/members",
            headers=office,
            json={
                "person": {"name": f"Jana Wolf {UID}", "email": MEMBER_EMAIL},
                "side": "municipality",
                "role": "member",
                "term_start": "2027-01-01",
            },
        )
        assert added.status_code == 201, added.text
    start = future(days=40)
    async with system.conferences.client() as conferences:

        async def member_projected() -> bool:
            view = await conferences.get("/networks/bochum", headers=bearer(tokens["district"]))
            return view.status_code == 200 and view.json()["agreement_active"]

        await wait_until(member_projected, what="Bochum in the conferences' projection")
        scheduled = await conferences.post(
            "/conferences",
            headers=office,
            json={
                "network_id": "bochum",
                "title": f"Bildungskonferenz Bochum {UID}",
                "starts_at": berlin(start),
                "ends_at": berlin(start + timedelta(hours=3)),
                "venue": {"name": "Rathaus", "address": "Willy-Brandt-Platz 2, 44777 Bochum"},
            },
        )
        assert scheduled.status_code == 201, scheduled.text
        url = f"/conferences/{scheduled.json()['id']}"

        async def member_invited() -> bool:
            seen = await conferences.get(url, headers=bearer(tokens["district"]))
            return any(i["email"] == MEMBER_EMAIL for i in seen.json()["invitations"])

        await wait_until(member_invited, what="the new member invited to Bochum's conference")
    async with system.notifications.client() as notifications:

        async def welcomed() -> bool:
            found = await notifications.get(
                "/deliveries", params={"recipient": MEMBER_EMAIL}, headers=bearer(tokens["ops"])
            )
            return found.status_code == 200 and bool(found.json())

        await wait_until(welcomed, what="the new member's welcome delivery")
    body: dict[str, Any] = scheduled.json()
    return body


@pytest.mark.parametrize("role", [*SEES_BOCHUM, None])
async def test_bochums_people_only_for_the_district_and_bochums_office(
    system: System, tokens: dict[str, str], bochum_has_people: dict[str, Any], role: str | None
) -> None:
    headers = bearer(tokens[role]) if role else {}
    sees = SEES_BOCHUM.get(role or "", False)
    conference_id = bochum_has_people["id"]
    async with (
        system.registry.client() as registry,
        system.conferences.client() as conferences,
        system.notifications.client() as notifications,
    ):
        answers = {
            "network": await registry.get("/networks/bochum", headers=headers),
            "members": await registry.get("/networks/bochum/committee/members", headers=headers),
            "staff": await registry.get("/networks/bochum/office/staff", headers=headers),
            "trail": await registry.get("/networks/bochum/changes", headers=headers),
            "conference": await conferences.get(f"/conferences/{conference_id}", headers=headers),
            "deliveries": await notifications.get(
                "/deliveries", params={"network_id": "bochum"}, headers=headers
            ),
            "preferences": await notifications.get(f"/preferences/{MEMBER_EMAIL}", headers=headers),
        }
        if role is None:
            for name, answer in answers.items():
                assert answer.status_code == 401, name
                assert answer.headers["content-type"] == "application/problem+json"
            return
        network, conference = answers["network"].json(), answers["conference"].json()
        assert answers["network"].status_code == answers["conference"].status_code == 200
        assert network["committee_size"] >= 1
        assert conference["counts"]["pending"] >= 1
        for personal in ("members", "staff", "trail", "deliveries"):
            assert answers[personal].status_code == (200 if sees else 403), personal
        # Preferences belong to no network: every staff member, not a reader.
        assert answers["preferences"].status_code == (403 if role == "reader" else 200)
        if sees:
            assert f"Jana Wolf {UID}" in answers["network"].text
            assert MEMBER_EMAIL in answers["deliveries"].text
            assert isinstance(conference["invitations"], list)
            assert conference["invitations"]
        else:
            assert network["committee"] is None
            assert network["staff"] is None
            assert conference["invitations"] is None
        # The personal data never leaks into what may be seen.
        for name, answer in answers.items():
            if answer.status_code == 200 and (sees or name == "preferences"):
                continue
            assert f"Jana Wolf {UID}" not in answer.text, name
            if name != "preferences":  # its refusal names the path, the address asked about
                assert MEMBER_EMAIL not in answer.text, name


@pytest.mark.parametrize("role", [*SEES_BOCHUM, None])
async def test_only_the_district_and_bochums_office_change_bochum(
    system: System, tokens: dict[str, str], role: str | None
) -> None:
    async with system.registry.client() as registry:
        proposed = await registry.post(
            "/networks/bochum/fields-of-action",
            headers=bearer(tokens[role]) if role else {},
            json={
                "title": f"Übergang Schule-Beruf {role} {UID}",
                "starting_situation": "Viele Jugendliche ohne Anschluss.",
                "development_needs": "Berufsorientierung ab Klasse 8.",
            },
        )
    expected = 401 if role is None else 201 if SEES_BOCHUM[role] else 403
    assert proposed.status_code == expected, proposed.text
