"""The one place where the notifications service is wired together."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

from fastapi import FastAPI

from notifications.adapters.repositories import DELIVERIES, Repositories
from notifications.adapters.smtp import SmtpConfig, SmtpSender
from notifications.domain.delivery import InDoubtPolicy, RetryPolicy
from notifications.entrypoints import api, previews
from notifications.entrypoints.consumers import reactions
from notifications.entrypoints.inbound_smtp import serve_inbound
from notifications.rendering.links import UnsubscribeLinks
from notifications.rendering.mails import LegalLinks, MailRenderer, PageRenderer
from notifications.service_layer.digests import ResponseDigests
from notifications.service_layer.dispatch import Dispatcher, Sending
from notifications.service_layer.erasure import Erasures
from notifications.service_layer.inbound import INBOUND_MAILS, InboundReplies
from notifications.service_layer.notifier import Notifier, Sender
from notifications.service_layer.reports import ReportScheduler
from notifications.service_layer.retention import Retention
from notifications.settings import DEVELOPMENT_SIGNING_SECRET, NotificationsSettings
from rbn_shared.auth import authenticator_from
from rbn_shared.events import utc_now
from rbn_shared.http import (
    BodySizeLimit,
    CorrelationIdMiddleware,
    document_problems,
    install_problem_handlers,
)
from rbn_shared.logging import get_logger
from rbn_shared.runtime import Runtime

log = get_logger(__name__)

SERVICE = "notifications"


@dataclass
class Wiring:
    """What `build` wired: the app to serve, and its parts (for tests and tools)."""

    settings: NotificationsSettings
    runtime: Runtime
    notifier: Notifier
    dispatcher: Dispatcher
    reports: ReportScheduler
    app: FastAPI
    digests: ResponseDigests
    inbound: InboundReplies
    erasures: Erasures


def build(settings: NotificationsSettings) -> Wiring:
    runtime = Runtime(settings, SERVICE)
    # The relay's full sweep reads every delivery (on FerretDB every document), so notifications
    # sweeps every OUTBOX_SWEEP_SECONDS (default 300 s), not 10 s. Events of this process's own
    # writes go out at once regardless. The rendered messages live apart.
    repositories = Repositories.over(runtime.db, runtime.locks, runtime.store(DELIVERIES))

    links = UnsubscribeLinks(settings.unsubscribe_secret.get_secret_value(), settings.base_url)
    legal = LegalLinks.of(settings.legal)
    smtp = SmtpSender(
        SmtpConfig(
            host=settings.smtp_host,
            port=settings.smtp_port,
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password.get_secret_value() if settings.smtp_password else None,
            timeout=settings.smtp_timeout_seconds,
            pool_size=settings.send_concurrency,
        )
    )
    sending = Sending(
        envelope_sender=str(settings.mail_from),
        concurrency=settings.send_concurrency,
        poll_seconds=settings.dispatch_poll_seconds,
        retry=RetryPolicy(
            settings.send_max_attempts, settings.retry_base_seconds, settings.retry_max_seconds
        ),
        lease=timedelta(seconds=settings.claim_lease_seconds),
        in_doubt=InDoubtPolicy(settings.in_doubt_policy),
    )
    dispatcher = Dispatcher(
        deliveries=repositories.deliveries,
        sender=smtp,
        sending=sending,
        events_topic=settings.topics.notifications,
        clock=utc_now,
        service=SERVICE,
        # A failed committee welcome is remembered, to go again to a corrected address.
        on_failed=lambda delivery: notifier.remember_unsent_welcome(delivery),
    )
    notifier = Notifier(
        repositories=repositories,
        renderer=MailRenderer(links, legal),
        sender=Sender(str(settings.mail_from), settings.mail_from_name),
        clock=utc_now,
        on_new_deliveries=dispatcher.announce,
        events_topic=settings.topics.notifications,
    )
    reports = ReportScheduler(
        repositories=repositories,
        notifier=notifier,
        calendar=settings.report_calendar,
        clock=utc_now,
    )

    digests = ResponseDigests(
        repositories=repositories,
        notifier=notifier,
        calendar=settings.digest_calendar,
        clock=utc_now,
    )

    # notifications.registry and notifications.conferences: types and topics from the tables.
    erasures = Erasures(repositories=repositories, db=runtime.db, clock=utc_now)
    for name, table in reactions(notifier, digests, erasures).items():
        runtime.react(name, table)

    async def repair_queue() -> None:
        await dispatcher.requeue_missing()

    async def check_report() -> None:
        await reports.tick()

    async def check_digest() -> None:
        await digests.tick()

    retention = Retention(
        deliveries=repositories.deliveries,
        clock=utc_now,
        message_days=settings.message_retention_days,
        delivery_days=settings.delivery_retention_days,
        answers=repositories.responses,
        developments=repositories.developments,
    )

    async def apply_retention() -> None:
        await retention.tick()

    # Calendar replies by mail: their events go out through the outbox of `inbound_mails`.
    inbound = InboundReplies(
        store=runtime.store(INBOUND_MAILS),
        repositories=repositories,
        notifier=notifier,
        clock=utc_now,
        events_topic=settings.topics.notifications,
    )
    inbound_port = settings.inbound_smtp_port
    if inbound_port is not None:

        async def listen() -> None:
            await serve_inbound(
                inbound,
                host=settings.inbound_smtp_host,
                port=inbound_port,
                max_bytes=settings.inbound_max_bytes,
                hostname=settings.mail_from.rpartition("@")[2],
            )

        runtime.background("inbound-smtp", listen)

    runtime.background("dispatcher", dispatcher.run)  # its own loop, woken by new deliveries
    runtime.every("delivery-queue-repair", settings.queue_repair_seconds, repair_queue)
    runtime.every("district-report", settings.report_check_seconds, check_report)
    runtime.every("response-digest", settings.digest_check_seconds, check_digest)
    runtime.every("retention", settings.retention_check_seconds, apply_retention)

    async def prepare() -> None:
        await repositories.deliveries.create_indexes()
        await repositories.developments.create_indexes()
        await repositories.responses.create_indexes()
        if settings.unsubscribe_secret.get_secret_value() == DEVELOPMENT_SIGNING_SECRET:
            log.warning(
                "NOTIFICATIONS_UNSUBSCRIBE_SECRET is not set: unsubscribe links are signed with "
                "a development secret"
            )

    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        async with runtime.lifespan(prepare):
            try:
                yield
            finally:
                await smtp.close()

    app = FastAPI(
        title="RBN notifications",
        description="German e-mails with calendar invitations for the Regionale "
        "Bildungsnetzwerke: deliveries, preferences and unsubscribe links.",
        version="1.0.0",
        lifespan=lifespan,
    )
    app.add_middleware(CorrelationIdMiddleware)
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    install_problem_handlers(app)
    document_problems(app)
    app.state.authenticator = authenticator_from(settings, tokens=settings.auth_tokens)
    app.state.services = api.ApiServices(
        repositories=repositories,
        links=links,
        pages=PageRenderer(legal),
        renderer=MailRenderer(links, legal),
        clock=utc_now,
        report_calendar=settings.report_calendar,
    )

    for router in runtime.routers():  # /health, /ready, /metrics
        app.include_router(router)
    app.include_router(api.router)
    app.include_router(previews.router)
    return Wiring(settings, runtime, notifier, dispatcher, reports, app, digests, inbound, erasures)
