"""The three services' HTTP APIs, called with the signed-in person's access token.

The portal decides nothing about access itself: what a person may see or change is what the
services answer for their token. An answer comes back as it is (status, JSON, ETag); only a
refused token (401) and a service that does not answer are exceptions, because no page can show
them beside a field.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from rbn_shared.http import CLIENT_KEEPALIVE_SECONDS, version_from_if_match


class SignInExpired(Exception):
    """The service refused the token: the person must sign in again."""


class ServiceUnavailable(Exception):
    """A service did not answer, or answered with a server error."""

    def __init__(self, service: str) -> None:
        super().__init__(service)
        self.service = service


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    etag: str | None

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def version(self) -> int | None:
        """The version the ETag names, which a later change sends back as If-Match."""
        return None if self.etag is None else version_from_if_match(self.etag)


class Api:
    """One service's API."""

    def __init__(self, name: str, client: httpx.AsyncClient) -> None:
        self.name = name
        self._client = client

    async def get(self, path: str, token: str, params: dict[str, Any] | None = None) -> Answer:
        return await self._call("GET", path, token, params=params)

    async def send(
        self,
        method: str,
        path: str,
        token: str,
        body: Any = None,
        *,
        version: int | None = None,
    ) -> Answer:
        """A change; `version` is the one the form was read at (If-Match), so a change made
        meanwhile by someone else is refused with 409 instead of overwritten."""
        headers = {} if version is None else {"If-Match": f'"{version}"'}
        return await self._call(method, path, token, json=body, headers=headers)

    async def _call(self, method: str, path: str, token: str, **kwargs: Any) -> Answer:
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        try:
            response = await self._client.request(method, path, headers=headers, **kwargs)
        except httpx.HTTPError as error:
            raise ServiceUnavailable(self.name) from error
        if response.status_code == 401:
            raise SignInExpired(self.name)
        if response.status_code >= 500:
            raise ServiceUnavailable(self.name)
        body = response.json() if response.content else None
        return Answer(response.status_code, body, response.headers.get("ETag"))

    async def close(self) -> None:
        await self._client.aclose()


@dataclass(frozen=True)
class Apis:
    registry: Api
    conferences: Api
    notifications: Api

    @classmethod
    def at(
        cls,
        registry: str,
        conferences: str,
        notifications: str,
        timeout: float,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> Apis:
        def api(name: str, url: str) -> Api:
            # Idle connections dropped before the service drops them (see rbn_shared.http).
            limits = httpx.Limits(
                max_connections=100,
                max_keepalive_connections=20,
                keepalive_expiry=CLIENT_KEEPALIVE_SECONDS,
            )
            client = httpx.AsyncClient(
                base_url=url, timeout=timeout, transport=transport, limits=limits
            )
            return Api(name, client)

        return cls(
            api("registry", registry),
            api("conferences", conferences),
            api("notifications", notifications),
        )

    async def close(self) -> None:
        for api in (self.registry, self.conferences, self.notifications):
            await api.close()
