"""Access tokens from the real Keycloak: accepted with the right role, refused when forged or off.

Every refusal is checked for its reason, so a token refused for the wrong reason fails the test.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from rbn_shared.auth import Principal, TableThenOidc, authenticator_from
from rbn_shared.http import Problem
from rbn_shared.oidc import OidcAuthenticator, TokenRejected
from rbn_shared.settings import AuthSettings
from tests.support.keycloak import (
    DemoUser,
    Keycloak,
    demo_users,
    unverified,
    unverified_header,
)

pytestmark = pytest.mark.integration

USERS = demo_users()
Settings = Callable[..., AuthSettings]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any]) -> str:
    return f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"


async def refusal(authenticator: OidcAuthenticator, token: str) -> Problem:
    with pytest.raises(Problem) as refused:
        await authenticator.authenticate(token)
    return refused.value


def assert_invalid(problem: Problem, reason: str) -> None:
    assert problem.status == 401
    assert problem.kind == "unauthorized"
    assert problem.headers["WWW-Authenticate"] == (
        f'Bearer error="invalid_token", error_description="{reason}"'
    )


@pytest.fixture(scope="module")
def district_token(keycloak: Keycloak) -> str:
    return keycloak.user_token(USERS["district"])


@pytest.mark.parametrize(
    ("group", "role", "network"),
    [
        ("district", "district", None),
        ("office-bochum", "office", "bochum"),
        ("office-dortmund", "office", "dortmund"),
        ("readers", "reader", None),
    ],
)
async def test_a_demo_users_token_maps_to_its_role_and_subject(
    keycloak: Keycloak, auth_settings: Settings, group: str, role: str, network: str | None
) -> None:
    user: DemoUser = USERS[group]
    token = keycloak.user_token(user)
    principal = await OidcAuthenticator(auth_settings()).authenticate(token)
    assert principal == Principal(role, network, subject=keycloak.user_id(user.username))
    assert principal.can_write("bochum") == (role == "district" or network == "bochum")


async def test_the_machine_client_signs_in_with_client_credentials_as_district(
    keycloak: Keycloak, auth_settings: Settings
) -> None:
    token = keycloak.client_token()
    assert unverified(token)["azp"] == "rbn-ops"
    principal = await OidcAuthenticator(auth_settings()).authenticate(token)
    assert principal == Principal("district", subject=keycloak.service_account_id())


async def test_a_user_without_a_group_is_forbidden_not_unauthorized(
    keycloak: Keycloak, auth_settings: Settings
) -> None:
    username = f"ohne.rolle.{uuid.uuid4().hex[:6]}"
    keycloak.create_user(username, "kein-gruppen-passwort", groups=[])
    try:
        token: str = keycloak.password_login(username, "kein-gruppen-passwort")["access_token"]
        problem = await refusal(OidcAuthenticator(auth_settings()), token)
        assert (problem.status, problem.kind) == (403, "forbidden")
        assert "no role" in (problem.detail or "")
    finally:
        keycloak.delete_user(username)


@pytest.fixture(scope="module")
def short_lived_client(keycloak: Keycloak) -> Iterator[str]:
    client_id = keycloak.create_password_client(lifespan_seconds=1)
    yield client_id
    keycloak.delete_client(client_id)


async def test_an_expired_token_is_refused_within_no_leeway_and_accepted_within_leeway(
    keycloak: Keycloak, auth_settings: Settings, short_lived_client: str
) -> None:
    user = USERS["district"]
    tokens = keycloak.password_login(user.username, user.password, client_id=short_lived_client)
    token: str = tokens["access_token"]
    claims = unverified(token)
    assert claims["exp"] - claims["iat"] == 1
    await asyncio.sleep(max(0.0, claims["exp"] + 0.2 - time.time()))  # a second at most

    assert_invalid(
        await refusal(OidcAuthenticator(auth_settings(oidc_leeway_seconds=0)), token), "expired"
    )
    lenient = OidcAuthenticator(auth_settings(oidc_leeway_seconds=30))
    assert (await lenient.authenticate(token)).role == "district"


async def test_a_token_for_another_audience_is_refused(
    keycloak: Keycloak, auth_settings: Settings, district_token: str
) -> None:
    other_api = OidcAuthenticator(auth_settings(oidc_audience="rbn-other-api"))
    assert_invalid(await refusal(other_api, district_token), "wrong audience")
    # The ID token Keycloak issues with the same login is signed alike but meant for the client.
    user = USERS["district"]
    id_token: str = keycloak.password_login(user.username, user.password)["id_token"]
    assert unverified(id_token)["aud"] == "rbn-dev"
    assert_invalid(await refusal(OidcAuthenticator(auth_settings()), id_token), "wrong audience")


async def test_a_token_from_another_issuer_is_refused(
    keycloak: Keycloak, auth_settings: Settings, district_token: str
) -> None:
    # Signed by the right keys (fetched directly), but the service expects another issuer.
    elsewhere = OidcAuthenticator(
        auth_settings(
            oidc_issuer="http://localhost:8080/realms/rbn-elsewhere",
            oidc_jwks_url=keycloak.jwks_url,
        )
    )
    assert_invalid(await refusal(elsewhere, district_token), "wrong issuer")


async def test_a_provider_naming_another_issuer_in_its_discovery_is_unavailable_not_trusted(
    keycloak: Keycloak, auth_settings: Settings, district_token: str
) -> None:
    # localhost answers with Keycloak's configuration, whose issuer is pinned to 127.0.0.1.
    issuer = f"http://localhost:{keycloak.port}/realms/rbn"
    problem = await refusal(OidcAuthenticator(auth_settings(oidc_issuer=issuer)), district_token)
    assert (problem.status, problem.kind) == (503, "sign-in-unavailable")
    assert problem.headers["Retry-After"] == "5"


def forged_rsa_token(claims: dict[str, Any], kid: str) -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(claims, key, algorithm="RS256", headers={"kid": kid})


async def test_a_token_signed_by_an_unknown_key_is_refused(
    auth_settings: Settings, district_token: str
) -> None:
    claims = unverified(district_token)
    real_kid = unverified_header(district_token)["kid"]
    authenticator = OidcAuthenticator(auth_settings())
    assert_invalid(
        await refusal(authenticator, forged_rsa_token(claims, kid="forged-key")),
        "unknown signing key",
    )
    # The same claims and Keycloak's own key id, signed by another key.
    assert_invalid(
        await refusal(authenticator, forged_rsa_token(claims, kid=real_kid)), "bad signature"
    )


async def test_unknown_key_ids_refresh_the_keys_at_most_once_per_cooldown(
    auth_settings: Settings, district_token: str
) -> None:
    claims = unverified(district_token)
    patient = OidcAuthenticator(auth_settings(oidc_jwks_refresh_cooldown_seconds=60))
    await patient.authenticate(district_token)
    assert patient.keys.fetches == 1
    for n in range(5):
        token = forged_rsa_token(claims, kid=f"forged-{n}")
        assert_invalid(await refusal(patient, token), "unknown signing key")
    assert patient.keys.fetches == 1  # no fetch for any of the forged key ids

    eager = OidcAuthenticator(auth_settings(oidc_jwks_refresh_cooldown_seconds=0))
    await eager.authenticate(district_token)
    assert_invalid(
        await refusal(eager, forged_rsa_token(claims, kid="forged")), "unknown signing key"
    )
    assert eager.keys.fetches == 2  # the unknown key id made it look again


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
async def test_an_unsigned_token_is_refused(
    auth_settings: Settings, district_token: str, alg: str
) -> None:
    header = {"alg": alg, "typ": "JWT", "kid": unverified_header(district_token)["kid"]}
    token = unsigned(header, unverified(district_token)) + "."
    authenticator = OidcAuthenticator(auth_settings())
    assert_invalid(await refusal(authenticator, token), "signature algorithm not allowed")
    assert authenticator.keys.fetches == 0  # refused before any key is looked up


async def test_a_token_signed_with_the_public_key_as_hmac_secret_is_refused(
    keycloak: Keycloak, auth_settings: Settings, district_token: str
) -> None:
    kid = unverified_header(district_token)["kid"]
    jwks = keycloak.jwks()
    public_key = jwt.PyJWK(next(k for k in jwks["keys"] if k["kid"] == kid)).key
    pem = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    authenticator = OidcAuthenticator(auth_settings())
    for secret in (pem, pem.strip(), json.dumps(jwks).encode()):
        signing_input = unsigned(
            {"alg": "HS256", "typ": "JWT", "kid": kid}, unverified(district_token)
        )
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        token = f"{signing_input}.{b64(signature)}"
        assert_invalid(await refusal(authenticator, token), "signature algorithm not allowed")
        # And below the header check: the key is bound to RS256, PyJWT refuses HS256 with it.
        key = await asyncio.to_thread(authenticator.keys.lookup, kid, "RS256")
        with pytest.raises(TokenRejected):
            authenticator.validator.decode(token, key, "HS256")


async def test_a_new_signing_key_in_keycloak_is_followed_without_restart(
    keycloak: Keycloak, auth_settings: Settings
) -> None:
    user = USERS["office-bochum"]
    cooldown = 0.5
    authenticator = OidcAuthenticator(auth_settings(oidc_jwks_refresh_cooldown_seconds=cooldown))
    before = keycloak.user_token(user)
    first = await authenticator.authenticate(before)
    fetched_at = time.monotonic()
    assert authenticator.keys.fetches == 1

    component = keycloak.add_rsa_key(priority=1000)  # above the realm's generated key (100)
    try:
        after = keycloak.user_token(user)
        new_kid = unverified_header(after)["kid"]
        assert new_kid != unverified_header(before)["kid"]
        assert new_kid == keycloak.active_rs256_kid()
        await asyncio.sleep(max(0.0, fetched_at + cooldown - time.monotonic()))

        assert await authenticator.authenticate(after) == first  # same user, new key
        assert authenticator.keys.fetches == 2
        assert await authenticator.authenticate(before) == first  # the old key is still published
        assert authenticator.keys.fetches == 2
    finally:
        keycloak.remove_component(component)


async def test_prepare_fetches_the_keys_ahead_and_survives_an_absent_provider(
    keycloak: Keycloak, auth_settings: Settings, district_token: str
) -> None:
    authenticator = authenticator_from(auth_settings(), tokens={"static": "reader"})
    assert isinstance(authenticator, TableThenOidc)
    assert isinstance(authenticator.oidc, OidcAuthenticator)
    await authenticator.prepare()
    assert authenticator.oidc.keys.fetches == 1
    assert (await authenticator.authenticate(district_token)).role == "district"
    assert authenticator.oidc.keys.fetches == 1  # the token's key was among those fetched

    absent = OidcAuthenticator(auth_settings(oidc_jwks_url="http://127.0.0.1:1/certs"))
    await absent.prepare()  # only logged
    assert absent.keys.fetches == 0
