"""The audit trail, with real sign-ins: the registry as a process validating the real Keycloak's
tokens, real Kafka and FerretDB. A change made by an office's staff member carries their
pseudonymous subject as its actor; the trail is for the district and the network's own office."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.keycloak import Keycloak, demo_users, unverified
from tests.support.services import ServiceProcess, running


async def _trail(registry: httpx.AsyncClient, token: str) -> httpx.Response:
    return await registry.get(
        "/networks/bochum/changes", headers={"Authorization": f"Bearer {token}"}
    )


async def _until_recorded(
    registry: httpx.AsyncClient, token: str, event_type: str
) -> list[dict[str, Any]]:
    for _ in range(150):
        answer = await _trail(registry, token)
        assert answer.status_code == 200, answer.text
        found = [c for c in answer.json()["items"] if c["type"] == event_type]
        if found:
            return found
        await asyncio.sleep(0.2)
    raise AssertionError(f"no {event_type} in the trail: {answer.json()}")


async def test_a_change_names_who_made_it_and_only_district_and_own_office_read_it(
    isolated: dict[str, str],
    keycloak: Keycloak,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RBN_OIDC_ISSUER", keycloak.issuer)  # inherited by the process
    users = demo_users()
    bochum, dortmund = users["office-bochum"], users["office-dortmund"]
    office_token = keycloak.user_token(bochum)
    registry = ServiceProcess("registry", isolated, tmp_path, AUTH_TOKENS="{}")
    with running([registry], isolated, tmp_path):
        async with registry.client() as http:
            uid = uuid.uuid4().hex[:8]
            added = await http.post(
                "/networks/bochum/committee/members",
                headers={"Authorization": f"Bearer {office_token}"},
                json={
                    "person": {
                        "name": f"Aylin Demir {uid}",
                        "email": f"a.demir.{uid}@bochum.example",
                    },
                    "side": "municipality",
                    "role": "member",
                    "term_start": "2027-01-01",
                },
            )
            assert added.status_code == 201, added.text

            [change] = await _until_recorded(http, office_token, "committee-member-added")
            assert change["actor"] == unverified(office_token)["sub"]
            assert change["producer"] == "registry"
            # The seed registered the network without a caller: no actor, but on the trail.
            [registered] = await _until_recorded(http, office_token, "network-registered")
            assert registered["actor"] is None
            # Names and addresses stay out of the trail.
            assert uid not in (await _trail(http, office_token)).text

            district = await _trail(http, keycloak.user_token(users["district"]))
            assert district.status_code == 200
            assert change in district.json()["items"]
            for outsider in (dortmund, users["readers"]):
                refused = await _trail(http, keycloak.user_token(outsider))
                assert refused.status_code == 403, refused.text
                assert refused.headers["content-type"] == "application/problem+json"
