"""Personal response links and calendar reply addresses: signed tokens naming one invitation,
with an expiry.

A link expires a grace period after its conference ends (so the same conference always gets
the same link, and no link outlives its conference by long); a withdrawn invitation's link is
refused by the service however long it would still run.

The token is signed with `itsdangerous` (HMAC-SHA1 over the payload, keyed with the service's
link secret and a purpose-specific salt), so anyone holding it may answer for that one invitation
and nobody can make one up or change its conference, invitation or expiry.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeSerializer

from rbn_shared.calendar_addresses import reply_address, token_parts

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


# ---------------------------------------------------------------------------- calendar replies

REPLY_SALT = "rbn-conferences-calendar-reply-v1"
_SIGNATURE_BYTES = 10  # 80 bits: a forgery has to be tried online, one mail at a time


class InvalidReply(Exception):
    """A calendar reply's token that is absent, malformed, forged or expired; `reason` is the
    label it is counted under."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ReplyAddresses:
    """The ORGANIZER address of an invitation: `antwort+<token>@<reply domain>`.

    The token names the conference, the invitation and an expiry, and carries an HMAC-SHA256
    over them keyed with the link secret and its own salt, so it is signed like the response
    links but cannot be used as one. It is short and of lower-case letters, digits, dots and
    dashes only: a mail address's local part holds 64 characters, and mail servers may change
    its case.
    """

    def __init__(self, secret: str, domain: str | None, valid_after_end: timedelta) -> None:
        self._key = hmac.new(secret.encode(), REPLY_SALT.encode(), hashlib.sha256).digest()
        self._domain = domain.lower() if domain else None
        self._valid_after_end = valid_after_end

    @property
    def issues_addresses(self) -> bool:
        """Without a reply domain no address is issued (tokens issued before still verify)."""
        return self._domain is not None

    def address(
        self, conference_id: str, invitation_id: str, *, conference_ends_at: datetime
    ) -> str | None:
        if self._domain is None:
            return None
        expiry = int((conference_ends_at + self._valid_after_end).timestamp())
        token = self.token(conference_id, invitation_id, expiry)
        return reply_address(token, self._domain)

    def token(self, conference_id: str, invitation_id: str, expiry: int) -> str:
        body = f"{conference_id}.{invitation_id}.{_base36(expiry)}"
        return f"{body}.{self._signature(body)}"

    def verify(self, token: str | None, *, now: datetime) -> LinkClaims:
        """The claims of a token this service issued and that has not expired."""
        if not token:
            raise InvalidReply("no-token")
        parts = token_parts(token)
        if parts is None:
            raise InvalidReply("malformed-token")
        conference_id, invitation_id, expiry, signature = parts
        body = f"{conference_id}.{invitation_id}.{expiry}"
        if not hmac.compare_digest(signature, self._signature(body)):
            raise InvalidReply("bad-signature")
        try:
            expires_at = datetime.fromtimestamp(int(expiry, 36), UTC)
        except (ValueError, OverflowError, OSError) as error:
            raise InvalidReply("malformed-token") from error
        if now >= expires_at:
            raise InvalidReply("expired")
        return LinkClaims(conference_id, invitation_id, expires_at)

    def _signature(self, body: str) -> str:
        digest = hmac.new(self._key, body.encode(), hashlib.sha256).digest()[:_SIGNATURE_BYTES]
        return base64.b32encode(digest).decode().lower()


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if number == 0:
            return out
