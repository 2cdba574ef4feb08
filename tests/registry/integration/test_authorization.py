"""Who may do what: the whole matrix of roles and operations."""

from __future__ import annotations

from typing import Any

import pytest

from tests.registry.integration.conftest import RegistryUnderTest, auth

pytestmark = pytest.mark.integration

FIELD = {"title": "Berufsorientierung {n}", "starting_situation": "a", "development_needs": "b"}

# (operation, method, path, body, needs): needs is "read", "own" (the network's office or the
# district) or "district".
OPERATIONS: list[tuple[str, str, str, dict[str, Any] | None, str]] = [
    ("list networks", "GET", "/networks", None, "read"),
    ("read a network", "GET", "/networks/bochum", None, "read"),
    ("read bochum's committee", "GET", "/networks/bochum/committee/members", None, "own"),
    ("read bochum's office staff", "GET", "/networks/bochum/office/staff", None, "own"),
    ("read bochum's audit trail", "GET", "/networks/bochum/changes", None, "own"),
    ("read the district", "GET", "/district", None, "read"),
    ("propose a field in bochum", "POST", "/networks/bochum/fields-of-action", FIELD, "own"),
    (
        "register a network",
        "POST",
        "/networks",
        {
            "id": "probe-{n}",
            "name": "Probe {n}",
            "municipality": {"name": "P", "kind": "city"},
            "office": {"name": "Büro", "email": "b@p.example"},
        },
        "district",
    ),
    (
        "publish a bulletin",
        "POST",
        "/district/bulletins",
        {"title": "T", "body": "B", "author": {"name": "A", "email": "a@bezreg.example"}},
        "district",
    ),
]

# token -> what it may do in bochum
ROLES = {
    None: set(),
    "not-a-token": set(),
    "reader-token": {"read"},
    "hagen-token": {"read"},
    "bochum-token": {"read", "own"},
    "district-token": {"read", "own", "district"},
}


def expected_status(token: str | None, needs: str, method: str) -> int:
    may = ROLES[token]
    if not may:
        return 401
    if needs in may:
        return 201 if method == "POST" else 200
    return 403


CASES = [(token, *op) for token in ROLES for op in OPERATIONS]


@pytest.mark.parametrize(
    ("token", "operation", "method", "path", "body", "needs"),
    CASES,
    ids=[f"{t or 'no-token'}:{op[0]}" for t, *op in CASES],
)
async def test_authorization_matrix(
    registry: RegistryUnderTest,
    token: str | None,
    operation: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    needs: str,
) -> None:
    n = abs(hash((token, operation))) % 10**8
    filled = {k: (v.format(n=n) if isinstance(v, str) else v) for k, v in (body or {}).items()}
    response = await registry.http.request(
        method,
        path.format(n=n),
        json=filled if body else None,
        headers=auth(token) if token else {},
    )
    expected = expected_status(token, needs, method)
    assert response.status_code == expected, response.text
    if expected == 401:  # RFC 6750 §3: no error code without a token, invalid_token with one
        assert response.headers["WWW-Authenticate"] == (
            'Bearer error="invalid_token", error_description="unknown token"' if token else "Bearer"
        )
    if expected in (401, 403):
        assert response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize("token", [t for t in ROLES if t and "read" in ROLES[t]])
async def test_people_are_in_a_network_only_for_the_district_and_its_own_office(
    registry: RegistryUnderTest, token: str
) -> None:
    one = await registry.http.get("/networks/bochum", headers=auth(token))
    listed = await registry.http.get("/networks?limit=100", headers=auth(token))
    assert one.status_code == listed.status_code == 200
    [in_list] = [n for n in listed.json()["items"] if n["id"] == "bochum"]
    for network in (one.json(), in_list):
        assert isinstance(network["committee_size"], int)
        if "own" in ROLES[token]:
            assert isinstance(network["committee"], list)
            assert isinstance(network["staff"], list)
        else:
            assert network["committee"] is None
            assert network["staff"] is None
