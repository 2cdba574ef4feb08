"""The `Caller` dependency end to end: a small FastAPI app, tokens from the real Keycloak."""

from __future__ import annotations

import base64
import json
import socket
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from rbn_shared.auth import Caller, authenticator_from
from rbn_shared.http import install_problem_handlers
from rbn_shared.logging import configure_logging
from rbn_shared.settings import AuthSettings
from tests.support.keycloak import Keycloak, demo_users

pytestmark = pytest.mark.integration

USERS = demo_users()
STATIC = "static-development-token-for-hagen"


def app_with(settings: AuthSettings, tokens: dict[str, str] | None = None) -> FastAPI:
    app = FastAPI()
    install_problem_handlers(app)
    app.state.authenticator = authenticator_from(settings, tokens=tokens)

    @app.get("/whoami")
    async def whoami(caller: Caller) -> dict[str, Any]:
        return {"role": caller.role, "network": caller.network_id, "subject": caller.subject}

    @app.post("/networks/{network_id}/notes")
    async def write(network_id: str, caller: Caller) -> dict[str, str]:
        caller.require_write(network_id)
        return {"written": network_id}

    return app


@pytest.fixture
async def client(
    auth_settings: Callable[..., AuthSettings],
) -> AsyncIterator[httpx.AsyncClient]:
    app = app_with(auth_settings(), tokens={STATIC: "office:hagen"})
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as http:
        yield http


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_keycloak_token_is_the_caller(
    keycloak: Keycloak, client: httpx.AsyncClient
) -> None:
    user = USERS["office-bochum"]
    token = keycloak.user_token(user)
    response = await client.get("/whoami", headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json() == {
        "role": "office",
        "network": "bochum",
        "subject": keycloak.user_id(user.username),
    }
    assert (await client.post("/networks/bochum/notes", headers=bearer(token))).status_code == 200
    other = await client.post("/networks/dortmund/notes", headers=bearer(token))
    assert other.status_code == 403
    assert other.headers["content-type"] == "application/problem+json"


async def test_in_development_a_static_token_still_works_beside_oidc(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/whoami", headers=bearer(STATIC))
    assert response.json() == {"role": "office", "network": "hagen", "subject": None}


async def test_no_token_is_401_with_a_bare_bearer_challenge(client: httpx.AsyncClient) -> None:
    for headers in ({}, {"Authorization": "Basic dXNlcjpwYXNz"}):
        response = await client.get("/whoami", headers=headers)
        assert response.status_code == 401
        assert response.headers["WWW-Authenticate"] == "Bearer"
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"] == "urn:rbn-arnsberg:problem:unauthorized"


async def test_a_refused_token_is_401_invalid_token_and_never_logged(
    keycloak: Keycloak, client: httpx.AsyncClient, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging("auth-test", "DEBUG", "json")  # DEBUG: nothing is masked, still no token
    try:
        good = keycloak.user_token(USERS["readers"])
        header, claims, signature = good.split(".")
        tampered = f"{header}.{claims}.{signature[:-4]}AAAA"
        for token, reason in ((tampered, "bad signature"), ("not-a-jwt", "malformed token")):
            response = await client.get("/whoami", headers=bearer(token))
            assert response.status_code == 401
            assert response.headers["WWW-Authenticate"] == (
                f'Bearer error="invalid_token", error_description="{reason}"'
            )
            assert response.headers["content-type"] == "application/problem+json"
            body = response.json()
            assert body["type"] == "urn:rbn-arnsberg:problem:unauthorized"
            assert body["status"] == 401
            assert reason in body["detail"]
        logged = capsys.readouterr().err
        refusals = [
            json.loads(line) for line in logged.splitlines() if "bearer token refused" in line
        ]
        assert [r["reason"] for r in refusals] == ["bad signature", "malformed token"]
        assert signature[:20] not in logged
        assert tampered not in logged
    finally:
        configure_logging("auth-test", "INFO", "json")  # the other tests' level


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


async def test_an_unreachable_provider_is_503_not_500(
    keycloak: Keycloak, auth_settings: Callable[..., AuthSettings]
) -> None:
    token = keycloak.user_token(USERS["district"])
    app = app_with(auth_settings(oidc_jwks_url=f"http://127.0.0.1:{closed_port()}/certs"))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        response = await http.get("/whoami", headers=bearer(token))
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:rbn-arnsberg:problem:sign-in-unavailable"


@contextmanager
def flaky_jwks(jwks: bytes) -> Iterator[tuple[str, threading.Event]]:
    """A JWKS endpoint that serves `jwks` while the event is set and answers 500 otherwise."""
    up = threading.Event()
    up.set()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            status, body = (200, jwks) if up.is_set() else (500, b"{}")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/certs", up
    finally:
        server.shutdown()
        server.server_close()


async def test_keys_fetched_earlier_keep_working_while_the_provider_is_away(
    keycloak: Keycloak, auth_settings: Callable[..., AuthSettings]
) -> None:
    token = keycloak.user_token(USERS["district"])
    with flaky_jwks(json.dumps(keycloak.jwks()).encode()) as (url, up):
        settings = auth_settings(oidc_jwks_url=url, oidc_jwks_cache_seconds=0.001)
        app = app_with(settings)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            assert (await http.get("/whoami", headers=bearer(token))).status_code == 200
            up.clear()  # the cache has expired already: every request tries to fetch, and fails
            response = await http.get("/whoami", headers=bearer(token))
            assert response.status_code == 200, response.text  # the keys fetched earlier
            forged = keycloak.user_token(USERS["readers"]).split(".")
            forged[0] = (
                base64.urlsafe_b64encode(
                    json.dumps({"alg": "RS256", "kid": "rotated-while-away"}).encode()
                )
                .decode()
                .rstrip("=")
            )
            unknown = await http.get("/whoami", headers=bearer(".".join(forged)))
            assert unknown.status_code == 503  # a key it cannot fetch: not the token's fault
