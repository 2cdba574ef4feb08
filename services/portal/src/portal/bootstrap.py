"""Wiring: the settings → the API clients, the sign-in → the web application."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from portal.adapters.apis import Apis, ServiceUnavailable, SignInExpired
from portal.adapters.sign_in import SignIn
from portal.entrypoints import (
    committee_pages,
    conference_pages,
    delivery_pages,
    district_pages,
    export_pages,
    fields_pages,
    network_pages,
    office_pages,
    sign_in_pages,
)
from portal.entrypoints.web import CsrfRefused, NotSignedIn, Portal, page
from portal.settings import PortalSettings
from rbn_shared.http import CorrelationIdMiddleware, health_router
from rbn_shared.oidc import OidcAuthenticator

HERE = Path(__file__).parent / "entrypoints"
SESSION_COOKIE = "rbn_portal"


def build(settings: PortalSettings) -> FastAPI:
    apis = Apis.at(
        str(settings.registry_url),
        str(settings.conferences_url),
        str(settings.notifications_url),
        settings.api_timeout_seconds,
    )
    templates = Jinja2Templates(directory=HERE / "templates")
    # The operator's Impressum and Datenschutzerklärung, in every page's footer.
    legal = settings.legal
    templates.env.globals["imprint_url"] = str(legal.imprint_url) if legal.imprint_url else None
    templates.env.globals["privacy_notice_url"] = (
        str(legal.privacy_notice_url) if legal.privacy_notice_url else None
    )
    portal = Portal(
        apis=apis, sign_in=SignIn(settings, OidcAuthenticator(settings.auth)), templates=templates
    )
    app = FastAPI(
        title="RBN Portal",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        on_shutdown=[apis.close],
    )
    app.state.portal = portal
    areas = (sign_in_pages, network_pages, committee_pages, office_pages, fields_pages)
    for pages in (*areas, conference_pages, export_pages, delivery_pages, district_pages):
        app.include_router(pages.router)
    app.include_router(health_router(_ready))
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    _handle_refusals(app)
    app.add_middleware(
        SessionMiddleware,
        secret_key=settings.session_secret.get_secret_value(),
        session_cookie=SESSION_COOKIE,
        max_age=int(settings.session_hours * 3600),
        same_site="lax",
        https_only=not settings.development,
    )
    app.add_middleware(SecurityHeaders, provider=_origin(str(settings.auth.oidc_issuer or "")))
    app.add_middleware(CorrelationIdMiddleware)
    return app


async def _ready() -> dict[str, object]:
    """The portal serves pages as long as it runs; the services' state shows on each page."""
    return {"portal": {"ok": True}}


def _handle_refusals(app: FastAPI) -> None:
    @app.exception_handler(NotSignedIn)
    async def not_signed_in(request: Request, _: Exception) -> Response:
        return RedirectResponse("/", status_code=303)

    @app.exception_handler(SignInExpired)
    async def expired(request: Request, _: Exception) -> Response:
        request.session.clear()
        return RedirectResponse("/anmelden", status_code=303)

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(request: Request, _: Exception) -> HTMLResponse:
        message = (
            "Das Formular war veraltet oder kam nicht aus dem Portal. Es wurde nichts geändert; "
            "bitte laden Sie die Seite neu und versuchen Sie es noch einmal."
        )
        person = app.state.portal.sign_in.current(request)
        return page(request, "refused.html", person, status_code=403, message=message)

    @app.exception_handler(ServiceUnavailable)
    async def unavailable(request: Request, error: Exception) -> HTMLResponse:
        person = app.state.portal.sign_in.current(request)
        service = getattr(error, "service", "")
        return page(request, "unavailable.html", person, status_code=503, service=service)


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else ""


class SecurityHeaders:
    """No scripts at all, no framing of the portal, forms only to itself and the provider
    (sign-out continues there), no referrer to other sites."""

    def __init__(self, app: ASGIApp, provider: str) -> None:
        self.app = app
        policy = (
            "default-src 'self'; script-src 'none'; style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; frame-src 'self'; frame-ancestors 'none'; "
            f"form-action 'self' {provider}; base-uri 'none'; object-src 'none'"
        )
        self.headers = [
            (b"content-security-policy", policy.strip().encode()),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"same-origin"),
            (b"cache-control", b"no-store"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *self.headers]
            await send(message)

        await self.app(scope, receive, with_headers)


def create_app(settings: PortalSettings | None = None) -> FastAPI:
    return build(settings or PortalSettings())
