"""The one place where the registry is wired: storage, outbox relay, service layer, HTTP API."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI

from rbn_shared.auth import authenticator_from
from rbn_shared.events.envelope import utc_now
from rbn_shared.http import (
    BodySizeLimit,
    CorrelationIdMiddleware,
    document_problems,
    install_problem_handlers,
)
from rbn_shared.runtime import Runtime
from registry.adapters.changes import ChangeLog
from registry.adapters.repositories import Repositories
from registry.entrypoints import changes as audit_routes
from registry.entrypoints import privacy as privacy_routes
from registry.entrypoints.api import router
from registry.entrypoints.errors import install_domain_errors
from registry.service_layer.audit import audit_trail
from registry.service_layer.privacy import PrivacyService
from registry.service_layer.services import RegistryService
from registry.settings import RegistrySettings

SERVICE = "registry"


@dataclass
class Wiring:
    runtime: Runtime
    service: RegistryService
    app: FastAPI

    async def prepare(self) -> None:
        """What the storage needs before the first write (for the seed; the app does it on
        start-up)."""
        await self.service.storage.create_indexes()


def build(settings: RegistrySettings) -> Wiring:
    runtime = Runtime(settings, SERVICE)
    service = RegistryService(Repositories.on(runtime.store, settings.topics.registry))
    changes = ChangeLog(runtime.db["changes"])
    runtime.react("audit-trail", audit_trail(changes))
    privacy = PrivacyService(
        service.storage,
        changes,
        runtime.db,
        retention_days=settings.removed_people_retention_days,
        clock=utc_now,
    )
    runtime.every(
        "people-retention", settings.retention_check_seconds, privacy.anonymise_past_retention
    )

    async def prepare_storage() -> None:
        await service.storage.create_indexes()
        await changes.create_indexes()

    app = FastAPI(
        title="RBN Registry",
        version="1.0",
        description=(
            "The twelve Regionale Bildungsnetzwerke of the Regierungsbezirk Arnsberg: cooperation "
            "agreements, steering committees, education offices, fields of action and the "
            "district coordination. Every change is published as an event."
        ),
        lifespan=runtime.fastapi_lifespan(prepare_storage),
    )
    app.state.service = service
    app.state.runtime = runtime
    app.state.changes = changes
    app.state.privacy = privacy
    app.state.authenticator = authenticator_from(settings, tokens=settings.auth_tokens)
    install_problem_handlers(app)
    install_domain_errors(app)
    # Bodies are refused with 413 before a byte of them is parsed (Content-Length, or as they come).
    app.add_middleware(CorrelationIdMiddleware)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    for operational in runtime.routers():
        app.include_router(operational)
    app.include_router(router)
    app.include_router(audit_routes.router)
    app.include_router(privacy_routes.router)
    document_problems(app)
    return Wiring(runtime, service, app)


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    return build(settings or RegistrySettings()).app
