"""Personal response links: a signed token naming one invitation, with an expiry.

A link expires a grace period after its conference ends (so the same conference always gets
the same link, and no link outlives its conference by long); a withdrawn invitation's link is
refused by the service however long it would still run.

The token is signed with `itsdangerous` (HMAC-SHA1 over the payload, keyed with the service's
link secret and a purpose-specific salt), so anyone holding it may answer for that one invitation
and nobody can make one up or change its conference, invitation or expiry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer

SALT = "rbn-conferences-response-link-v1"


@dataclass(frozen=True)
class LinkClaims:
    conference_id: str
    invitation_id: str
    expires_at: datetime


class InvalidLink(Exception):
    """Forged, altered or expired: the caller gets 403 and nothing changes."""


class ResponseLinks:
    def __init__(self, secret: str, base_url: str, valid_after_end: timedelta) -> None:
        self._serializer = URLSafeSerializer(secret, salt=SALT)
        self._base_url = base_url.rstrip("/")
        self._valid_after_end = valid_after_end

    def token(
        self,
        conference_id: str,
        invitation_id: str,
        *,
        conference_ends_at: datetime,
        expires_at: datetime | None = None,
    ) -> str:
        expiry = expires_at or (conference_ends_at + self._valid_after_end)
        return str(
            self._serializer.dumps(
                {"c": conference_id, "i": invitation_id, "e": int(expiry.timestamp())}
            )
        )

    def url(self, conference_id: str, invitation_id: str, *, conference_ends_at: datetime) -> str:
        token = self.token(conference_id, invitation_id, conference_ends_at=conference_ends_at)
        return f"{self._base_url}/respond/{token}"

    def verify(self, token: str, *, now: datetime) -> LinkClaims:
        try:
            data = self._serializer.loads(token)
            claims = LinkClaims(
                conference_id=str(data["c"]),
                invitation_id=str(data["i"]),
                expires_at=datetime.fromtimestamp(int(data["e"]), UTC),
            )
        except (BadSignature, KeyError, TypeError, ValueError) as error:
            raise InvalidLink("this link is not valid") from error
        if now >= claims.expires_at:
            raise InvalidLink("this link has expired")
        return claims
