"""Bearer tokens from the environment, mapped to roles.

Roles: `district` (every network), `office:<network id>` (its own network only) and `reader`
(read only). The token table is a JSON object in the service's `..._AUTH_TOKENS` variable, e.g.
`{"<long random token>": "district", "<another>": "office:bochum"}`. Tokens are compared in
constant time and never logged.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr

from rbn_shared.http import Problem

DISTRICT = "district"
READER = "reader"
OFFICE_PREFIX = "office:"


@dataclass(frozen=True)
class Principal:
    role: str  # district, office or reader
    network_id: str | None = None  # for an office: its network

    @classmethod
    def parse(cls, role: str) -> Principal:
        if role == DISTRICT:
            return cls(DISTRICT)
        if role == READER:
            return cls(READER)
        if role.startswith(OFFICE_PREFIX) and len(role) > len(OFFICE_PREFIX):
            return cls("office", role[len(OFFICE_PREFIX) :])
        raise ValueError(f"unknown role {role!r}: use district, reader or office:<network id>")

    def can_read(self, network_id: str | None = None) -> bool:
        return True

    def can_write(self, network_id: str | None) -> bool:
        """District staff write everywhere; an office only in its own network."""
        if self.role == DISTRICT:
            return True
        return self.role == "office" and network_id is not None and network_id == self.network_id

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


class TokenTable:
    def __init__(self, tokens: dict[str, str] | dict[SecretStr, str] | None) -> None:
        self._entries = [
            ((t.get_secret_value() if isinstance(t, SecretStr) else t).encode(), Principal.parse(r))
            for t, r in (tokens or {}).items()
        ]

    def principal_for(self, token: str) -> Principal | None:
        presented = token.encode()
        found = None
        for secret, principal in self._entries:  # no early exit: constant time over the table
            if hmac.compare_digest(secret, presented):
                found = principal
        return found


_bearer = HTTPBearer(auto_error=False)


def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """FastAPI dependency: the caller's principal, or 401."""
    table: TokenTable = request.app.state.tokens
    principal = table.principal_for(credentials.credentials) if credentials else None
    if principal is None:
        raise Problem(
            401,
            "Unauthorized",
            "A valid bearer token is required.",
            kind="unauthorized",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return principal


Caller = Annotated[Principal, Depends(authenticated)]
