"""Sign-in tests: the real Keycloak (tests/support/keycloak.py) and validators made per test;
for the modules that run the whole system with real sign-ins (test_read_rules.py,
test_route_matrix.py, test_registry_route_matrix.py): the system, the demo users' tokens, and
people in Bochum."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

from rbn_shared.settings import AuthSettings
from tests.conferences.support import berlin, future
from tests.e2e.conftest import System, started_on_shared_mailpit, wait_until
from tests.support.infra import Infra
from tests.support.keycloak import Keycloak, demo_users, keycloak

__all__ = ["keycloak"]  # the session fixture, for the tests in this folder

UID = uuid.uuid4().hex[:8]
MEMBER_NAME = f"Jana Wolf {UID}"  # a committee member of Bochum (`bochum_has_people`)
MEMBER_EMAIL = f"jana.wolf.{UID}@schule-bochum.example"


@pytest.fixture
def auth_settings(keycloak: Keycloak) -> Callable[..., AuthSettings]:
    """`auth_settings(oidc_leeway_seconds=0)`: development settings against the local realm."""

    def make(**overrides: Any) -> AuthSettings:
        values: dict[str, Any] = {
            "environment": "development",
            "oidc_issuer": keycloak.issuer,
            "oidc_audience": "rbn-api",
            "oidc_jwks_refresh_cooldown_seconds": 0.0,
        }
        values.update(overrides)
        return AuthSettings(**values)

    return make


@pytest.fixture(scope="module")
async def system(
    infra: Infra, keycloak: Keycloak, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[System]:
    """The three services as processes, seeded, accepting the local Keycloak's tokens."""
    with pytest.MonkeyPatch.context() as env:
        env.setenv("RBN_OIDC_ISSUER", keycloak.issuer)  # the processes inherit it
        async with started_on_shared_mailpit(
            infra, tmp_path_factory.mktemp("auth-system")
        ) as running:
            yield running


@pytest.fixture(scope="module")
def tokens(keycloak: Keycloak) -> dict[str, str]:
    """Access tokens by role (they live 5 minutes: a module's tests must fit in that)."""
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
async def bochum_member(system: System, tokens: dict[str, str]) -> dict[str, Any]:
    """A committee member of Bochum (MEMBER_NAME), added by Bochum's office: the registry's
    answer (for the registry alone, without waiting for the other services)."""
    async with system.registry.client() as registry:
        added = await registry.post(
            "/networks/bochum/committee/members",
            headers=bearer(tokens["bochum"]),
            json={
                "person": {"name": MEMBER_NAME, "email": MEMBER_EMAIL},
                "side": "municipality",
                "role": "member",
                "term_start": "2027-01-01",
            },
        )
        assert added.status_code == 201, added.text
    member: dict[str, Any] = added.json()
    return member


@pytest.fixture(scope="module")
async def bochum_has_people(
    system: System, tokens: dict[str, str], bochum_member: dict[str, Any]
) -> dict[str, Any]:
    """A committee member and a conference in Bochum, made by Bochum's office; their mails."""
    office = bearer(tokens["bochum"])
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
            return found.status_code == 200 and bool(found.json()["items"])

        await wait_until(welcomed, what="the new member's welcome delivery")
    body: dict[str, Any] = scheduled.json()
    return body


# The route matrices' common parts (test_route_matrix.py, test_registry_route_matrix.py).
def served_routes(app: FastAPI) -> set[tuple[str, str]]:
    return {
        (method, route.path)
        for route in iter_route_contexts(app.routes)
        for method in route.methods or ()
        if method != "HEAD" and route.path
    }


def tampered(token: str) -> str:
    """The token with one character of its signature changed: a bad signature."""
    head, _, signature = token.rpartition(".")
    middle = len(signature) // 2
    swapped = "A" if signature[middle] != "A" else "B"
    return f"{head}.{signature[:middle]}{swapped}{signature[middle + 1 :]}"


def headers_of(role: str, tokens: dict[str, str]) -> dict[str, str]:
    if role == "no-token":
        return {}
    if role == "invalid-token":
        return bearer(tampered(tokens["district"]))
    return bearer(tokens[role])
