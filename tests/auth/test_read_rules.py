"""Who sees whose people, across the three services, with real sign-ins: the services as
processes validating the real Keycloak's access tokens, on real Kafka, FerretDB and Mailpit.

Every role (district, Bochum's office, Dortmund's office, a reader, the operators' machine client,
no token) against Bochum's personal data in every service, and against a change in Bochum."""

from __future__ import annotations

from typing import Any

import pytest

from tests.auth.conftest import MEMBER_EMAIL, UID, bearer
from tests.e2e.conftest import System

# role -> may it see Bochum's people (and change Bochum)?
SEES_BOCHUM = {"district": True, "ops": True, "bochum": True, "dortmund": False, "reader": False}


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
