"""The one place where the conferences service is wired together."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime, timedelta

from fastapi import FastAPI

from conferences.adapters.links import ResponseLinks
from conferences.adapters.repositories import (
    CONFERENCES,
    NETWORKS,
    ConferenceRepository,
    NetworkProjection,
)
from conferences.entrypoints import api, page
from conferences.entrypoints.consumers import delivery_feedback_handlers, registry_handlers
from conferences.service_layer.services import Clock, ConferenceService
from conferences.settings import ConferencesSettings
from rbn_shared.auth import TokenTable
from rbn_shared.events import utc_now
from rbn_shared.http import BodySizeLimit, CorrelationIdMiddleware, install_problem_handlers
from rbn_shared.logging import get_logger
from rbn_shared.runtime import Runtime

log = get_logger(__name__)

SERVICE = "conferences"


def make_clock(settings: ConferencesSettings) -> Clock:
    shift = timedelta(seconds=settings.clock_shift_seconds)

    def now() -> datetime:
        return utc_now() + shift

    return now


@dataclass
class Wiring:
    runtime: Runtime
    service: ConferenceService
    app: FastAPI


def build(settings: ConferencesSettings) -> Wiring:
    runtime = Runtime(settings, SERVICE)
    conferences = ConferenceRepository(runtime.store(CONFERENCES))
    networks = NetworkProjection(runtime.db[NETWORKS], runtime.locks)
    links = ResponseLinks(
        settings.link_secret.get_secret_value(),
        settings.public_base_url,
        timedelta(days=settings.link_valid_days),
    )
    service = ConferenceService(
        conferences,
        networks,
        links,
        topic=settings.topics.conferences,
        clock=make_clock(settings),
        reminder_offsets=settings.reminder_offsets_seconds,
    )
    runtime.consume("registry-projection", [settings.topics.registry], registry_handlers(service))
    runtime.consume(
        "delivery-feedback", [settings.topics.notifications], delivery_feedback_handlers(service)
    )

    async def reminders() -> None:
        while True:
            await service.send_due_reminders()
            await asyncio.sleep(settings.reminder_poll_seconds)

    runtime.background("reminders", reminders)

    async def prepare() -> None:
        await conferences.create_indexes()

    app = FastAPI(
        title="RBN Arnsberg – conferences",
        description=(
            "Planning of the Regionale Bildungskonferenzen: scheduling, invitations, answers, "
            "waiting lists, reminders and results. Times are entered in Europe/Berlin and "
            "stored in UTC."
        ),
        version="1",
        lifespan=runtime.fastapi_lifespan(prepare),
        # FastAPI's own limit: 413 before a larger body is read (our handler makes it a problem).
    )
    app.state.tokens = TokenTable(settings.auth_tokens)
    app.state.service = service
    install_problem_handlers(app)
    api.install_domain_error_handlers(app)
    app.include_router(api.router)
    app.include_router(page.router)
    for router in runtime.routers():  # /health, /ready, /metrics
        app.include_router(router)
    app.add_middleware(CorrelationIdMiddleware)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    return Wiring(runtime, service, app)
