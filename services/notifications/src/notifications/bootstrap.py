"""The one place where the notifications service is wired together."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import FastAPI

from notifications.adapters.repositories import (
    ATTEMPTS,
    DELIVERIES,
    DEVELOPMENTS,
    DIRECTORY,
    PREFERENCES,
    QUEUE,
    SCHEDULES,
    DeliveryRepository,
    DevelopmentRepository,
    DirectoryRepository,
    PreferencesRepository,
    ScheduleRepository,
)
from notifications.adapters.smtp import SmtpConfig, SmtpSender
from notifications.domain.delivery import InDoubtPolicy, RetryPolicy
from notifications.entrypoints import api
from notifications.entrypoints.consumers import (
    CONFERENCE_EVENT_TYPES,
    REGISTRY_EVENT_TYPES,
    event_handlers,
)
from notifications.rendering.links import UnsubscribeLinks
from notifications.rendering.mails import MailRenderer, PageRenderer
from notifications.service_layer.dispatch import Dispatcher
from notifications.service_layer.notifier import Notifier, Sender
from notifications.service_layer.reports import ReportScheduler
from notifications.settings import DEVELOPMENT_SIGNING_SECRET, NotificationsSettings
from rbn_shared.auth import TokenTable
from rbn_shared.events import utc_now
from rbn_shared.http import CorrelationIdMiddleware, health_router, install_problem_handlers
from rbn_shared.kafka import KafkaPublisher
from rbn_shared.logging import get_logger
from rbn_shared.metrics import OUTBOX_BACKLOG, metrics_router
from rbn_shared.mongo import TRANSIENT_DB_ERRORS
from rbn_shared.outbox import AggregateStore, OutboxRelay
from rbn_shared.runtime import MAX_OUTBOX_BACKLOG, Runtime

log = get_logger(__name__)

SERVICE = "notifications"


@dataclass
class NotificationsService:
    settings: NotificationsSettings
    runtime: Runtime
    notifier: Notifier
    dispatcher: Dispatcher
    reports: ReportScheduler
    app: FastAPI


def build(settings: NotificationsSettings) -> NotificationsService:
    runtime = Runtime(settings, SERVICE)
    db = runtime.db
    # The deliveries get a relay of their own instead of the runtime's: its full sweep reads
    # every delivery (on FerretDB every document, rendered message included), so it runs every
    # OUTBOX_SWEEP_SECONDS, not every 10 s. Events of this process's own writes go out at once
    # as before; the sweep is only for what a crash or Kafka outage left behind, and it also
    # runs at start-up and right after an outage.
    deliveries_store = AggregateStore(db[DELIVERIES], runtime.locks)
    relay = OutboxRelay(
        [deliveries_store],
        KafkaPublisher(runtime.broker),
        service=SERVICE,
        poll_seconds=settings.outbox_poll_seconds,
        sweep_seconds=settings.outbox_sweep_seconds,
    )
    deliveries = DeliveryRepository(deliveries_store, db[ATTEMPTS], db[QUEUE])
    # Stores without events of their own: versioned and locked, but not scanned by the relay.
    directory = DirectoryRepository(AggregateStore(db[DIRECTORY], runtime.locks))
    preferences = PreferencesRepository(AggregateStore(db[PREFERENCES], runtime.locks))
    schedules = ScheduleRepository(AggregateStore(db[SCHEDULES], runtime.locks))
    developments = DevelopmentRepository(db[DEVELOPMENTS])

    links = UnsubscribeLinks(settings.unsubscribe_secret.get_secret_value(), settings.base_url)
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
    dispatcher = Dispatcher(
        deliveries=deliveries,
        sender=smtp,
        envelope_sender=str(settings.mail_from),
        events_topic=settings.topics.notifications,
        retry=RetryPolicy(
            settings.send_max_attempts, settings.retry_base_seconds, settings.retry_max_seconds
        ),
        lease=timedelta(seconds=settings.claim_lease_seconds),
        in_doubt=InDoubtPolicy(settings.in_doubt_policy),
        concurrency=settings.send_concurrency,
        poll_seconds=settings.dispatch_poll_seconds,
        clock=utc_now,
        repair_seconds=settings.queue_repair_seconds,
        service=SERVICE,
    )
    notifier = Notifier(
        deliveries=deliveries,
        directory=directory,
        preferences=preferences,
        developments=developments,
        renderer=MailRenderer(links),
        sender=Sender(str(settings.mail_from), settings.mail_from_name),
        clock=utc_now,
        on_new_deliveries=dispatcher.announce,
    )
    reports = ReportScheduler(
        schedules=schedules,
        developments=developments,
        notifier=notifier,
        interval=settings.report_interval,
        check_seconds=settings.report_check_seconds,
        clock=utc_now,
    )

    topics = settings.topics
    runtime.consume("registry", [topics.registry], event_handlers(notifier, REGISTRY_EVENT_TYPES))
    runtime.consume(
        "conferences", [topics.conferences], event_handlers(notifier, CONFERENCE_EVENT_TYPES)
    )
    runtime.background("deliveries-outbox-relay", relay.run)
    runtime.background("dispatcher", dispatcher.run)
    runtime.background("delivery-queue-repair", dispatcher.repair_queue)
    runtime.background("district-report", reports.run)

    async def prepare() -> None:
        await deliveries.create_indexes()
        await developments.create_indexes()
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
    install_problem_handlers(app)
    app.state.tokens = TokenTable(settings.auth_tokens)
    app.state.services = api.ApiServices(
        deliveries=deliveries,
        preferences=preferences,
        directory=directory,
        links=links,
        pages=PageRenderer(),
        clock=utc_now,
    )

    async def readiness() -> dict[str, Any]:
        checks = await runtime.readiness()
        backlog = await relay.backlog() if checks["database"] else None
        checks["outbox"] = {
            "ok": relay.healthy and backlog is not None and backlog <= MAX_OUTBOX_BACKLOG,
            "backlog": backlog,
        }
        return checks

    async def refresh_metrics() -> None:
        await runtime.refresh_metrics()
        with contextlib.suppress(*TRANSIENT_DB_ERRORS):
            OUTBOX_BACKLOG.labels(SERVICE).set(await relay.backlog())

    app.include_router(health_router(readiness))  # /health, /ready
    app.include_router(metrics_router(refresh_metrics))  # /metrics
    app.include_router(api.router)
    return NotificationsService(settings, runtime, notifier, dispatcher, reports, app)
