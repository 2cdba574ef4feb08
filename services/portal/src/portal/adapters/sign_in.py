"""Signing staff in through the OpenID Connect provider, and who is signed in.

Authorization code with PKCE (S256) through Authlib's Starlette client: the browser goes to the
provider's page and comes back with a code, which the portal exchanges for the person's tokens.
The tokens stay on the server (`Sessions`); the browser's cookie holds only a random session id
(signed, HttpOnly, SameSite=Lax, Secure outside development). Each API call takes the access
token, refreshed shortly before it expires; who the person is for the APIs (district, an
office, reader) is read from that token exactly as the services read it.

Sessions live in this process's memory: a restart of the portal signs everyone out, which costs
a click at the provider (its own session usually still stands). One portal instance runs per
deployment; several would need a shared store.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from authlib.integrations.starlette_client import OAuth
from starlette.requests import Request
from starlette.responses import RedirectResponse

from portal.adapters.apis import SignInExpired
from portal.settings import PortalSettings
from rbn_shared.auth import Principal
from rbn_shared.logging import get_logger
from rbn_shared.oidc import OidcAuthenticator

log = get_logger(__name__)

PROVIDER = "provider"
REFRESH_AHEAD_SECONDS = 30.0
"""An access token this close to its expiry is refreshed before a call."""


@dataclass
class SignedIn:
    """One person's sign-in: their tokens, who they are, the CSRF token of their forms."""

    session_id: str
    name: str
    principal: Principal
    access_token: str
    access_expires_at: float
    refresh_token: str | None
    id_token: str | None
    ends_at: float
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    notice: str | None = None  # what their last change did, for the next page to say
    email: str | None = None  # their address, as the provider says it
    refreshing: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def is_district(self) -> bool:
        return self.principal.role == "district"

    @property
    def own_network(self) -> str | None:
        return self.principal.network_id


class Sessions:
    """Who is signed in, by session id, each until their sign-in ends."""

    def __init__(self) -> None:
        self._by_id: dict[str, SignedIn] = {}

    def add(self, signed_in: SignedIn) -> None:
        now = time.time()
        for ended in [k for k, s in self._by_id.items() if s.ends_at <= now]:
            del self._by_id[ended]
        self._by_id[signed_in.session_id] = signed_in

    def get(self, session_id: str | None) -> SignedIn | None:
        found = self._by_id.get(session_id or "")
        if found is None or found.ends_at <= time.time():
            return None
        return found

    def end(self, session_id: str | None) -> SignedIn | None:
        return self._by_id.pop(session_id or "", None)


class SignIn:
    """The provider, the sessions and the rules of one sign-in."""

    SESSION_KEY = "sid"

    def __init__(self, settings: PortalSettings, authenticator: OidcAuthenticator) -> None:
        self.settings = settings
        self.sessions = Sessions()
        self._authenticator = authenticator
        self._oauth = OAuth()
        self._oauth.register(
            PROVIDER,
            client_id=settings.oidc_client_id,
            server_metadata_url=settings.discovery_url,
            client_kwargs={
                "scope": settings.oidc_scope,
                "code_challenge_method": "S256",
                "token_endpoint_auth_method": "none",
                "timeout": settings.api_timeout_seconds,
            },
        )
        self._provider: Any = self._oauth.create_client(PROVIDER)

    @property
    def callback_url(self) -> str:
        return self.settings.url("/anmelden/rueckkehr")

    async def start(self, request: Request) -> RedirectResponse:
        """To the provider's sign-in page."""
        response: RedirectResponse = await self._provider.authorize_redirect(
            request, self.callback_url
        )
        return response

    async def finish(self, request: Request) -> SignedIn:
        """The provider sent the person back: exchange the code, check the ID token (nonce,
        issuer, audience, signature), read the role from the access token, start a session.
        Raises `Problem` 403 for an account without a role and `OAuthError` for a refused
        code."""
        token = await self._provider.authorize_access_token(request)
        principal = await self._authenticator.authenticate(str(token["access_token"]))
        claims: dict[str, Any] = dict(token.get("userinfo") or {})
        name = str(
            claims.get("name") or claims.get("preferred_username") or principal.subject or ""
        )
        now = time.time()
        signed_in = SignedIn(
            session_id=secrets.token_urlsafe(32),
            name=name,
            principal=principal,
            access_token=str(token["access_token"]),
            access_expires_at=_expires_at(token, now),
            refresh_token=token.get("refresh_token"),
            id_token=token.get("id_token"),
            ends_at=now + self.settings.session_hours * 3600,
            email=claims.get("email"),
        )
        self.sessions.add(signed_in)
        request.session.clear()
        request.session[self.SESSION_KEY] = signed_in.session_id
        log.info("signed in", role=principal.role, network=principal.network_id)
        return signed_in

    def current(self, request: Request) -> SignedIn | None:
        return self.sessions.get(request.session.get(self.SESSION_KEY))

    async def access_token(self, signed_in: SignedIn) -> str:
        """The person's access token, refreshed first when it is about to expire; raises
        `SignInExpired` when the provider no longer refreshes it."""
        async with signed_in.refreshing:
            if signed_in.access_expires_at - REFRESH_AHEAD_SECONDS > time.time():
                return signed_in.access_token
            if signed_in.refresh_token is None:
                raise SignInExpired("provider")
            try:
                token = await self._provider.fetch_access_token(
                    grant_type="refresh_token", refresh_token=signed_in.refresh_token
                )
            except Exception as error:  # the provider said no (OAuthError) or did not answer
                log.info("refreshing the sign-in failed", error=type(error).__name__)
                self.sessions.end(signed_in.session_id)
                raise SignInExpired("provider") from error
            signed_in.access_token = str(token["access_token"])
            signed_in.access_expires_at = _expires_at(token, time.time())
            signed_in.refresh_token = token.get("refresh_token", signed_in.refresh_token)
            signed_in.id_token = token.get("id_token", signed_in.id_token)
            return signed_in.access_token

    async def end(self, request: Request) -> str:
        """Sign out here and at the provider; the address to send the browser to."""
        signed_in = self.sessions.end(request.session.get(self.SESSION_KEY))
        request.session.clear()
        back = self.settings.url("/abgemeldet")
        try:
            metadata = await self._provider.load_server_metadata()
        except Exception:  # the provider is away: signed out here at least
            return back
        end_session = metadata.get("end_session_endpoint")
        if not end_session:
            return back
        query = {"post_logout_redirect_uri": back, "client_id": self.settings.oidc_client_id}
        if signed_in is not None and signed_in.id_token:
            query["id_token_hint"] = signed_in.id_token
        return f"{end_session}?{urlencode(query)}"


def _expires_at(token: dict[str, Any], now: float) -> float:
    if token.get("expires_at"):
        return float(token["expires_at"])
    return now + float(token.get("expires_in") or 60)
