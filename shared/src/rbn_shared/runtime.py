"""The plumbing a service runs on: MongoDB, the Kafka broker, the outbox relay, its consumers.

A service's bootstrap builds one `Runtime`, registers its stores, consumers and background jobs,
and hands `runtime.lifespan` to FastAPI. Start-up creates the topics, connects, and starts the
relay and the consumers; shutdown stops them in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any, Union

from fastapi import APIRouter, FastAPI

from rbn_shared.consumer import EventConsumer, Handler
from rbn_shared.events.catalogue import CATALOGUE
from rbn_shared.events.export import typed_envelope
from rbn_shared.http import health_router
from rbn_shared.kafka import (
    BrokerDeadLetters,
    KafkaPublisher,
    attach_consumer,
    ensure_project_topics,
    make_broker,
)
from rbn_shared.logging import get_logger
from rbn_shared.metrics import CONSUMER_LAG, OUTBOX_BACKLOG, metrics_router
from rbn_shared.mongo import TRANSIENT_DB_ERRORS, connect, database, ping
from rbn_shared.outbox import AggregateStore, KeyedLocks, OutboxRelay
from rbn_shared.settings import ServiceSettings

log = get_logger(__name__)

# Beyond these a service reports itself not ready: it is up, but falling behind.
MAX_OUTBOX_BACKLOG = 10_000
MAX_LAG = 10_000
READINESS_TIMEOUT = 1.0  # seconds per dependency
STOP_SECONDS = 15.0  # how long a shutdown waits for the background jobs to end


def _where(task: asyncio.Task[None]) -> str:
    """Where a task waits: its chain of awaits, innermost last."""
    places: list[str] = []
    awaited: Any = task.get_coro()
    while awaited is not None:
        frame = getattr(awaited, "cr_frame", None) or getattr(awaited, "gi_frame", None)
        if frame is not None:
            places.append(f"{frame.f_code.co_name} ({frame.f_code.co_filename}:{frame.f_lineno})")
        awaited = getattr(awaited, "cr_await", None) or getattr(awaited, "gi_yieldfrom", None)
    return " -> ".join(places)


BackgroundJob = Callable[[], Awaitable[None]]


class Runtime:
    def __init__(self, settings: ServiceSettings, service: str) -> None:
        self.settings = settings
        self.service = service
        self.client = connect(settings)
        self.db = database(self.client, settings)
        self.broker = make_broker(settings, client_id=service)
        self.locks = KeyedLocks()
        self.stores: list[AggregateStore] = []
        self.consumers: list[EventConsumer] = []
        self.relay: OutboxRelay | None = None
        self._jobs: list[tuple[str, BackgroundJob]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False
        self._document_published_events()

    def _document_published_events(self) -> None:
        """Declare the service's own topic and event schemas, for its AsyncAPI document.

        The outbox relay publishes through the broker directly; this publisher only describes.
        """
        specs = [s for s in CATALOGUE.values() if s.producer == self.service]
        if not specs:
            return
        schemas: Any = Union[tuple(typed_envelope(s) for s in specs)]  # noqa: UP007
        self.broker.publisher(
            self.settings.topics.events_of(self.service),
            title=f"{self.service} events",
            description=(
                f"Events of the {self.service}, keyed by network id (or `district`): "
                + ", ".join(f"`{s.event_type}`" for s in specs)
            ),
            schema=schemas,
        )

    # ------------------------------------------------------------------ wiring

    def store(self, collection: str) -> AggregateStore:
        """A versioned collection whose outbox the relay publishes."""
        store = AggregateStore(self.db[collection], self.locks)
        self.stores.append(store)
        return store

    def consume(
        self, name: str, topics: Sequence[str], handlers: dict[str, Handler]
    ) -> EventConsumer:
        """Consume `topics` in consumer group `<topic prefix><service>.<name>`, idempotently."""
        consumer = EventConsumer(
            name=f"{self.service}.{name}",
            service=self.service,
            db=self.db,
            handlers=handlers,
            dead_letters=BrokerDeadLetters(self.broker),
            max_attempts=self.settings.consumer_max_attempts,
        )
        # The group id carries the topic prefix, so stacks that share a Kafka (test runs, a
        # benchmark beside a development stack) never rebalance each other's consumers.
        group_id = f"{self.settings.topic_prefix}{self.service}.{name}"
        attach_consumer(self.broker, consumer, topics, group_id=group_id)
        self.consumers.append(consumer)
        return consumer

    def background(self, name: str, job: BackgroundJob) -> None:
        """A coroutine that runs as long as the service does (a scheduler, say)."""
        self._jobs.append((name, job))

    # ------------------------------------------------------------------ lifecycle

    async def start(self, prepare: Callable[[], Awaitable[None]] | None = None) -> None:
        await ensure_project_topics(self.settings)
        if prepare is not None:
            await prepare()  # indexes, seed data: before anything consumes or publishes
        await self.broker.start()
        self.relay = OutboxRelay(
            self.stores,
            KafkaPublisher(self.broker),
            service=self.service,
            poll_seconds=self.settings.outbox_poll_seconds,
            sweep_seconds=self.settings.outbox_sweep_seconds,
        )
        self._spawn("outbox-relay", self.relay.run)
        for name, job in self._jobs:
            self._spawn(name, job)
        self._started = True
        log.info("service started", topics_prefix=self.settings.topic_prefix)

    def _spawn(self, name: str, job: BackgroundJob) -> None:
        async def guarded() -> None:
            while True:
                try:
                    await job()
                    return
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("background job failed, restarting it in 1s", job=name)
                    await asyncio.sleep(1.0)

        self._tasks.append(asyncio.create_task(guarded(), name=name))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            _, stuck = await asyncio.wait(self._tasks, timeout=STOP_SECONDS)
            for task in stuck:  # never hang a shutdown on one job; say where it was
                log.error(
                    "a background job did not stop in time", job=task.get_name(), at=_where(task)
                )
        self._tasks.clear()
        await self.broker.stop()
        await self.client.close()
        self._started = False
        log.info("service stopped")

    @contextlib.asynccontextmanager
    async def lifespan(
        self,
        prepare: Callable[[], Awaitable[None]] | None = None,
    ) -> AsyncIterator[None]:
        await self.start(prepare)
        try:
            yield
        finally:
            await self.stop()

    def fastapi_lifespan(
        self, prepare: Callable[[], Awaitable[None]] | None = None
    ) -> Callable[[FastAPI], contextlib.AbstractAsyncContextManager[None]]:
        def lifespan(_app: FastAPI) -> contextlib.AbstractAsyncContextManager[None]:
            return self.lifespan(prepare)

        return lifespan

    # ------------------------------------------------------------------ readiness

    async def readiness(self) -> dict[str, Any]:
        """Answers within about two seconds even while a dependency hangs."""
        try:
            database_ok = await asyncio.wait_for(ping(self.db), READINESS_TIMEOUT)
        except TimeoutError:
            database_ok = False
        try:
            kafka_ok = bool(await self.broker.ping(timeout=READINESS_TIMEOUT))
        except Exception:  # any failure means: not reachable
            kafka_ok = False
        backlog = await self.relay.backlog() if (self.relay and database_ok) else None
        return {
            "started": self._started,
            "database": database_ok,
            "kafka": kafka_ok,
            "outbox": {
                "ok": self.relay is not None
                and self.relay.healthy
                and backlog is not None
                and backlog <= MAX_OUTBOX_BACKLOG,
                "backlog": backlog,
            },
            "consumers": {
                "ok": all(c.healthy and c.total_lag <= MAX_LAG for c in self.consumers),
                "lag": {c.name: c.total_lag for c in self.consumers},
            },
        }

    async def refresh_metrics(self) -> None:
        """Gauges read on demand: the outbox backlog and the consumers' lag."""
        if self.relay is not None:
            with contextlib.suppress(*TRANSIENT_DB_ERRORS):
                OUTBOX_BACKLOG.labels(self.service).set(await self.relay.backlog())
        for consumer in self.consumers:
            CONSUMER_LAG.labels(self.service, consumer.name).set(consumer.total_lag)

    def routers(self) -> list[APIRouter]:
        """/health, /ready and /metrics for the service's FastAPI app."""
        return [health_router(self.readiness), metrics_router(self.refresh_metrics)]
