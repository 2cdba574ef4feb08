"""The one place where the conferences service is wired together."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from fastapi import FastAPI

from conferences.adapters.links import ReplyAddresses, ResponseLinks
from conferences.adapters.previews import NotificationsPreviews
from conferences.adapters.repositories import (
    CONFERENCES,
    NETWORKS,
    ConferenceRepository,
    NetworkProjection,
)
from conferences.entrypoints import api, consumers, page, privacy
from conferences.service_layer.privacy import PrivacyService
from conferences.service_layer.services import ConferenceService
from conferences.settings import ConferencesSettings
from rbn_shared.auth import authenticator_from
from rbn_shared.changes import shifted_clock
from rbn_shared.http import (
    BodySizeLimit,
    CorrelationIdMiddleware,
    document_problems,
    install_problem_handlers,
)
from rbn_shared.logging import get_logger
from rbn_shared.privacy import ErasureLedger, PrivacyAudit
from rbn_shared.runtime import Runtime

log = get_logger(__name__)

SERVICE = "conferences"


@dataclass
class Wiring:
    runtime: Runtime
    service: ConferenceService
    privacy: PrivacyService
    app: FastAPI


def build(settings: ConferencesSettings) -> Wiring:
    runtime = Runtime(settings, SERVICE)
    conferences = ConferenceRepository(runtime.store(CONFERENCES))
    networks = NetworkProjection(runtime.db[NETWORKS], runtime.locks)
    # The response links and the reply addresses are signed with the same secret (each under a
    # salt of its own, see adapters/links.py) and stop working the same time after the end.
    secret = settings.link_secret.get_secret_value()
    valid_after_end = timedelta(days=settings.link_valid_days_after_end)
    links = ResponseLinks(secret, settings.public_base_url, valid_after_end)
    service = ConferenceService(
        conferences,
        networks,
        links,
        topic=settings.topics.conferences,
        clock=shifted_clock(settings.clock_shift_seconds),
        reminder_offsets=settings.reminder_offsets_seconds,
        previews=NotificationsPreviews(settings.notifications_url),
        replies=ReplyAddresses(secret, settings.reply_domain, valid_after_end),
    )
    privacy_service = PrivacyService(
        conferences,
        networks,
        ErasureLedger(runtime.db),
        PrivacyAudit(runtime.db),
        runtime.db,
        clock=service.clock,
        retention=timedelta(days=settings.personal_data_retention_days),
    )
    for name, reactions in consumers.reactions(service, privacy_service).items():
        runtime.react(name, reactions)

    runtime.every("reminders", settings.reminder_poll_seconds, service.send_due_reminders)
    runtime.every("retention", settings.retention_poll_seconds, privacy_service.forget_ended)

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
    app.state.authenticator = authenticator_from(settings, tokens=settings.auth_tokens)
    app.state.service = service
    app.state.privacy = privacy_service
    app.state.legal = settings.legal  # linked from the public response page
    install_problem_handlers(app)
    api.install_domain_error_handlers(app)
    app.include_router(api.router)
    app.include_router(page.router)
    app.include_router(privacy.router)
    for router in runtime.routers():  # /health, /ready, /metrics
        app.include_router(router)
    app.add_middleware(CorrelationIdMiddleware)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    document_problems(app)
    return Wiring(runtime, service, privacy_service, app)
