"""The one place where the registry is wired: storage, outbox relay, service layer, HTTP API."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import FastAPI

from rbn_shared.auth import TokenTable
from rbn_shared.http import BodySizeLimit, CorrelationIdMiddleware, install_problem_handlers
from rbn_shared.runtime import Runtime
from registry.adapters.repository import DistrictRepository, NetworkRepository
from registry.entrypoints.api import install_domain_errors, router
from registry.service_layer.services import RegistryService
from registry.settings import RegistrySettings

SERVICE = "registry"


@dataclass
class Registry:
    runtime: Runtime
    service: RegistryService

    async def prepare(self) -> None:
        await self.service.networks.create_indexes()


def build(settings: RegistrySettings) -> Registry:
    runtime = Runtime(settings, SERVICE)
    topics = settings.topics
    networks = NetworkRepository(runtime.store("networks"), topics)
    district = DistrictRepository(runtime.store("district"), runtime.store("bulletins"), topics)
    return Registry(runtime, RegistryService(networks, district))


def create_app(settings: RegistrySettings | None = None) -> FastAPI:
    settings = settings or RegistrySettings()
    registry = build(settings)
    app = FastAPI(
        title="RBN Registry",
        version="1.0",
        description=(
            "The twelve Regionale Bildungsnetzwerke of the Regierungsbezirk Arnsberg: cooperation "
            "agreements, steering committees, education offices, fields of action and the "
            "district coordination. Every change is published as an event."
        ),
        lifespan=registry.runtime.fastapi_lifespan(registry.prepare),
        # Refused with 413 before a byte of it is parsed (Content-Length, or while it arrives).
    )
    app.state.service = registry.service
    app.state.runtime = registry.runtime
    app.state.tokens = TokenTable(settings.auth_tokens)
    install_problem_handlers(app)
    install_domain_errors(app)
    app.add_middleware(CorrelationIdMiddleware)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    for operational in registry.runtime.routers():
        app.include_router(operational)
    app.include_router(router)
    return app
