"""A sign-in outlives its first access token: shortly before the token expires the portal
refreshes it at the real Keycloak; when Keycloak no longer refreshes it, the session ends and
the person is asked to sign in again (`SignInExpired`), instead of pages failing one by one."""

from __future__ import annotations

import time

import jwt
import pytest

from portal.adapters.apis import SignInExpired
from portal.adapters.sign_in import SignedIn, SignIn
from portal.settings import PortalSettings
from rbn_shared.auth import Principal
from rbn_shared.oidc import OidcAuthenticator
from rbn_shared.settings import AuthSettings
from tests.support.keycloak import DEV_CLIENT, Keycloak, demo_users

pytestmark = pytest.mark.integration


def sign_in_for(keycloak: Keycloak) -> tuple[SignIn, SignedIn]:
    """The portal's sign-in against the real realm, with a session as a code exchange leaves it
    (its tokens from the development client's password grant: a refresh token is the client's
    own, so the portal's sign-in is configured as that client here)."""
    auth = AuthSettings(
        environment="development", oidc_issuer=keycloak.issuer, oidc_audience="rbn-api"
    )
    settings = PortalSettings(auth=auth, oidc_client_id=DEV_CLIENT)
    sign_in = SignIn(settings, OidcAuthenticator(auth))
    user = demo_users()["office-bochum"]
    tokens = keycloak.password_login(user.username, user.password)
    session = SignedIn(
        session_id="s-1",
        name="Aylin Yılmaz",
        principal=Principal("office", "bochum"),
        access_token=tokens["access_token"],
        access_expires_at=time.time() + 3600,
        refresh_token=tokens["refresh_token"],
        id_token=tokens.get("id_token"),
        ends_at=time.time() + 3600,
    )
    sign_in.sessions.add(session)
    return sign_in, session


async def test_a_token_about_to_expire_is_refreshed_and_a_fresh_one_kept(
    keycloak: Keycloak,
) -> None:
    sign_in, session = sign_in_for(keycloak)
    first = session.access_token
    assert await sign_in.access_token(session) == first  # far from expiry: used as it is

    session.access_expires_at = time.time() + 5  # within the refresh margin
    refreshed = await sign_in.access_token(session)
    assert refreshed != first
    claims = jwt.decode(refreshed, options={"verify_signature": False})
    assert claims["iss"] == keycloak.issuer
    assert session.access_expires_at > time.time() + 60
    assert sign_in.sessions.get("s-1") is session


async def test_a_refresh_keycloak_refuses_ends_the_session(keycloak: Keycloak) -> None:
    sign_in, session = sign_in_for(keycloak)
    assert session.refresh_token is not None
    session.refresh_token = session.refresh_token[:-4] + "AAAA"  # no longer Keycloak's
    session.access_expires_at = time.time()
    with pytest.raises(SignInExpired):
        await sign_in.access_token(session)
    assert sign_in.sessions.get("s-1") is None
