"""Prometheus metrics every service exposes at /metrics.

Defined once per process (module level), labelled by service, so several apps in one test process
share them without clashing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

# Every metric is labelled by service; most of the rest by the consumer a record went through.
BY_SERVICE = ("service",)
BY_CONSUMER = (*BY_SERVICE, "consumer")

EVENTS_CONSUMED = Counter(
    "rbn_events_consumed_total",
    "Records a consumer finished, by outcome (processed, duplicate, ignored, dead_lettered).",
    [*BY_CONSUMER, "event_type", "outcome"],
)
HANDLER_SECONDS = Histogram(
    "rbn_handler_seconds",
    "Time from receiving a record to committing it, retries included.",
    [*BY_CONSUMER, "event_type"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
DEAD_LETTERS = Counter(
    "rbn_dead_letters_total",
    "Records sent to a dead-letter topic, by reason.",
    [*BY_CONSUMER, "reason"],
)
EVENTS_PUBLISHED = Counter(
    "rbn_events_published_total",
    "Events the outbox relay published and Kafka acknowledged.",
    [*BY_SERVICE, "event_type"],
)
OUTBOX_BACKLOG = Gauge("rbn_outbox_backlog", "Events stored but not yet published.", BY_SERVICE)
CONSUMER_LAG = Gauge(
    "rbn_consumer_lag",
    "Records behind the end of the partitions a consumer reads.",
    BY_CONSUMER,
)
MAILS = Counter(
    "rbn_mails_total",
    "Mails handed to the SMTP server (sent) or given up (failed).",
    [*BY_SERVICE, "outcome"],
)
DELIVERIES_FAILED = Counter(
    "rbn_deliveries_failed_total",
    "Deliveries given up, by the consumer whose event caused them and the stage that failed "
    "(address, compose, smtp).",
    [*BY_CONSUMER, "stage"],
)
CALENDAR_REPLIES_REFUSED = Counter(
    "rbn_calendar_replies_refused_total",
    "Calendar replies (iMIP) that changed nothing because they could not be tied to an "
    "invitation or came too late, by reason: refused at the inbound SMTP listener "
    "(notifications) or when applied (conferences).",
    [*BY_SERVICE, "reason"],
)
DEAD_LETTERS_UNRESOLVED = Gauge(
    "rbn_dead_letters_unresolved",
    "Dead letters of a consumer that were neither processed after a replay nor discarded.",
    BY_CONSUMER,
)

DB_COMMAND_SECONDS = Histogram(
    "rbn_db_command_seconds",
    "Database commands by name, collection and outcome, with the time until the answer arrived.",
    [*BY_SERVICE, "command", "collection", "outcome"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5),
)


def metrics_router(refresh: Callable[[], Awaitable[None]]) -> APIRouter:
    """`/metrics` in Prometheus' text format; `refresh` updates gauges that are read on demand."""
    router = APIRouter(tags=["health"])

    @router.get(
        "/metrics",
        summary="Prometheus metrics",
        response_class=Response,
        responses={
            200: {
                "description": "Prometheus' text format",
                "content": {"text/plain": {"schema": {"type": "string"}}},
            }
        },
    )
    async def metrics() -> Response:
        await refresh()
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
