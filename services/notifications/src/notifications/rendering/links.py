"""Signed unsubscribe links: whoever holds one may switch off that one kind of mail for that one
address, and nothing else. The signature (itsdangerous, HMAC) makes them unguessable; they do not
expire, because an old reminder's link should still work."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeSerializer

from notifications.domain.preferences import Topic

SALT = "rbn-notifications-unsubscribe"


class InvalidLink(ValueError):
    """The token was altered, or signed with another secret."""


@dataclass(frozen=True)
class Unsubscribe:
    email: str
    topic: Topic


class UnsubscribeLinks:
    def __init__(self, secret: str, base_url: str) -> None:
        self._serializer = URLSafeSerializer(secret, salt=SALT)
        self._base_url = base_url.rstrip("/")

    def token(self, email: str, topic: Topic) -> str:
        return str(self._serializer.dumps({"e": email.lower(), "t": topic.value}))

    def url(self, email: str, topic: Topic) -> str:
        return f"{self._base_url}/unsubscribe?token={quote(self.token(email, topic))}"

    def read(self, token: str) -> Unsubscribe:
        try:
            data = self._serializer.loads(token)
            return Unsubscribe(str(data["e"]), Topic(data["t"]))
        except (BadSignature, KeyError, TypeError, ValueError) as error:
            raise InvalidLink("this unsubscribe link is not valid") from error
