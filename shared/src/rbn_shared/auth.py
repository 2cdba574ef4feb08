"""Who is calling: bearer tokens mapped to roles.

Roles: `district` (every network), `office:<network id>` (its own network only) and `reader`
(read only). Two ways a token becomes a `Principal`:

- **OpenID Connect** (`rbn_shared.oidc`, docs/sign-in.md): an access token signed by the
  provider named in RBN_OIDC_ISSUER; its groups or roles claim gives the role, its `sub` the
  subject.
- **A static token table**, for tests and development only: a JSON object in the service's
  `..._AUTH_TOKENS` variable, e.g. `{"<long random token>": "district", "<another>":
  "office:bochum"}`. With RBN_ENVIRONMENT=production a service refuses to start with one.

A service's bootstrap sets `app.state.authenticator = authenticator_from(settings,
tokens=settings.auth_tokens)`; the `Caller` dependency then asks it. Tokens are compared in
constant time and never logged.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Protocol

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from rbn_shared.http import Problem
from rbn_shared.logging import get_logger
from rbn_shared.settings import AuthSettings, ServiceSettings

log = get_logger(__name__)

DISTRICT = "district"
READER = "reader"
OFFICE = "office"
OFFICE_PREFIX = "office:"


@dataclass(frozen=True)
class Principal:
    role: str  # district, office or reader
    network_id: str | None = None  # for an office: its network
    subject: str | None = None  # who: the access token's `sub` (None for a static token)

    @classmethod
    def parse(cls, role: str, subject: str | None = None) -> Principal:
        if role == DISTRICT:
            return cls(DISTRICT, subject=subject)
        if role == READER:
            return cls(READER, subject=subject)
        if role.startswith(OFFICE_PREFIX) and len(role) > len(OFFICE_PREFIX):
            return cls(OFFICE, role[len(OFFICE_PREFIX) :], subject=subject)
        raise ValueError(f"unknown role {role!r}: use district, reader or office:<network id>")

    def sees_personal_data(self, network_id: str | None) -> bool:
        """People's names, addresses, answers and deliveries: the district coordination sees
        them everywhere, an office in its own network; readers and other offices never: the
        same people who may change the network."""
        return self.can_write(network_id)

    def require_personal_data(self, network_id: str | None) -> None:
        if self.sees_personal_data(network_id):
            return
        detail = (
            f"Personal data of network {network_id!r} is for the district coordination and the "
            "network's own education office only."
            if network_id
            else "Personal data of no single network is for the district coordination only."
        )
        raise Problem(403, "Forbidden", detail, kind="forbidden")

    def can_write(self, network_id: str | None) -> bool:
        """District staff write everywhere; an office only in its own network."""
        if self.role == DISTRICT:
            return True
        return self.role == OFFICE and network_id is not None and network_id == self.network_id

    def require_write(self, network_id: str | None) -> None:
        if self.role == READER:
            raise Problem(403, "Forbidden", "This token may only read.", kind="forbidden")
        if not self.can_write(network_id):
            where = f"network {network_id!r}" if network_id else "the district as a whole"
            raise Problem(403, "Forbidden", f"This token may not change {where}.", kind="forbidden")

    def require_district(self) -> None:
        if self.role != DISTRICT:
            raise Problem(
                403, "Forbidden", "Only the district coordination may do this.", kind="forbidden"
            )


def missing_token() -> Problem:
    """401 for a request without a bearer token (RFC 6750: no error code then)."""
    return Problem(
        401,
        "Unauthorized",
        "A valid bearer token is required.",
        kind="unauthorized",
        headers={"WWW-Authenticate": "Bearer"},
    )


def invalid_token(description: str) -> Problem:
    """401 for a token that is not accepted; `description` says why (ASCII, no secrets)."""
    return Problem(
        401,
        "Unauthorized",
        f"The bearer token is not accepted: {description}",
        kind="unauthorized",
        headers={
            "WWW-Authenticate": f'Bearer error="invalid_token", error_description="{description}"'
        },
    )


class Authenticator(Protocol):
    """Turns a presented bearer token into a principal, or raises a `Problem` (401, 403, 503)."""

    async def authenticate(self, token: str) -> Principal: ...

    async def prepare(self) -> None:
        """Optional warm-up at start-up (fetches the provider's keys); never raises."""


class TokenTable:
    """Static bearer tokens (tests and development only)."""

    def __init__(self, tokens: Mapping[str, str] | Mapping[SecretStr, str] | None = None) -> None:
        self._entries = [
            ((t.get_secret_value() if isinstance(t, SecretStr) else t).encode(), Principal.parse(r))
            for t, r in (tokens or {}).items()
        ]

    @property
    def empty(self) -> bool:
        return not self._entries

    def principal_for(self, token: str) -> Principal | None:
        presented = token.encode()
        found = None
        for secret, principal in self._entries:  # no early exit: constant time over the table
            if hmac.compare_digest(secret, presented):
                found = principal
        return found

    async def authenticate(self, token: str) -> Principal:
        principal = self.principal_for(token)
        if principal is None:
            raise invalid_token("unknown token")
        return principal

    async def prepare(self) -> None:
        return None


class TableThenOidc:
    """Development: a static token from the table if it is one, else an OpenID Connect token."""

    def __init__(self, table: TokenTable, oidc: Authenticator) -> None:
        self.table = table
        self.oidc = oidc

    async def authenticate(self, token: str) -> Principal:
        return self.table.principal_for(token) or await self.oidc.authenticate(token)

    async def prepare(self) -> None:
        await self.oidc.prepare()


class AuthConfigurationError(ValueError):
    """The sign-in settings do not fit the environment; the service must not start."""


def authenticator_from(
    settings: AuthSettings | ServiceSettings,
    *,
    tokens: Mapping[str, str] | Mapping[SecretStr, str] | None = None,
) -> Authenticator:
    """The authenticator a service uses, from its settings (`settings.auth`) and token table.

    Production: OpenID Connect only; a token table or a missing issuer is an
    `AuthConfigurationError`. Development: the table (if any) first, then OpenID Connect (if an
    issuer is set). No network call is made here: keys are fetched at the first token.
    """
    auth = settings.auth if isinstance(settings, ServiceSettings) else settings
    table = TokenTable(tokens)
    if auth.environment == "production":
        if not table.empty:
            raise AuthConfigurationError(
                "RBN_ENVIRONMENT=production refuses static bearer tokens (the service's "
                "..._AUTH_TOKENS): they are for tests and development only. Staff and machine "
                "clients sign in through OpenID Connect (RBN_OIDC_ISSUER, docs/sign-in.md); set "
                "RBN_ENVIRONMENT=development to use a token table locally."
            )
        if auth.oidc_issuer is None:
            raise AuthConfigurationError(
                "RBN_ENVIRONMENT=production needs RBN_OIDC_ISSUER (the OpenID Connect provider "
                "whose access tokens the API accepts, e.g. https://login.example/realms/rbn) "
                "and RBN_OIDC_AUDIENCE (default rbn-api); see docs/sign-in.md."
            )
    if auth.oidc_issuer is None:
        if table.empty:
            log.warning(
                "no way to sign in: neither RBN_OIDC_ISSUER nor a token table is set, every "
                "request with a token is refused"
            )
        return table
    from rbn_shared.oidc import OidcAuthenticator  # oidc imports this module

    oidc = OidcAuthenticator(auth)
    return oidc if table.empty else TableThenOidc(table, oidc)


_bearer = HTTPBearer(auto_error=False)


async def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """FastAPI dependency: the caller's principal, or a problem (401, 403, 503)."""
    authenticator: Authenticator = request.app.state.authenticator
    if credentials is None:
        raise missing_token()
    return await authenticator.authenticate(credentials.credentials)


Caller = Annotated[Principal, Depends(authenticated)]


async def district_caller(caller: Caller) -> Principal:
    """FastAPI dependency: the caller, who must be of the district coordination (403 otherwise),
    checked before a request body is judged."""
    caller.require_district()
    return caller


def district_router(prefix: str, tag: str) -> APIRouter:
    """A router whose every route is the district coordination's only: the role is checked
    once for all of them (401 without a valid token, 403 for any other role), before a
    request body is judged."""
    return APIRouter(prefix=prefix, tags=[tag], dependencies=[Depends(district_caller)])
