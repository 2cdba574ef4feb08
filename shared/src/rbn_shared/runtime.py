"""The plumbing a service runs on: MongoDB, the Kafka broker, the outbox relay, its consumers.

A service's bootstrap builds one `Runtime`, registers its stores, consumers and background jobs,
and hands `runtime.lifespan` to FastAPI. Start-up creates the topics, connects, and starts the
relay and the consumers; shutdown stops them in reverse order.

`routers()` gives every service `/health`, `/ready`, `/metrics` and the operator's view of its
dead letters (`/dead-letters`: list the unresolved ones, discard one).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import datetime
from typing import Annotated, Any, Union

from fastapi import APIRouter, FastAPI, Query
from pydantic import BaseModel, ConfigDict, Field

from rbn_shared.auth import district_router
from rbn_shared.consumer import DeadLetterLog, EventConsumer, Handler, Together
from rbn_shared.events.catalogue import CATALOGUE
from rbn_shared.events.schemas import typed_envelope
from rbn_shared.http import Problem, health_router, problem_responses
from rbn_shared.kafka import (
    BrokerDeadLetters,
    KafkaPublisher,
    attach_consumer,
    ensure_project_topics,
    make_broker,
)
from rbn_shared.logging import get_logger
from rbn_shared.metrics import (
    CONSUMER_LAG,
    DEAD_LETTERS_UNRESOLVED,
    OUTBOX_BACKLOG,
    metrics_router,
)
from rbn_shared.mongo import TRANSIENT_DB_ERRORS, Document, connect, database, ping
from rbn_shared.outbox import AggregateStore, KeyedLocks, OutboxRelay
from rbn_shared.reactions import Reactions
from rbn_shared.settings import ServiceSettings
from rbn_shared.text import Reason

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


BackgroundJob = Callable[[], Awaitable[object]]  # what it returns is not used


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
        self.dead_letter_log = DeadLetterLog(self.db)  # what its consumers dead-lettered
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
        self,
        name: str,
        topics: Sequence[str],
        handlers: dict[str, Handler],
        together: Together | None = None,
    ) -> EventConsumer:
        """Consume `topics` in consumer group `<topic prefix><service>.<name>`, idempotently."""
        consumer = EventConsumer(
            name=f"{self.service}.{name}",
            service=self.service,
            db=self.db,
            handlers=handlers,
            dead_letters=BrokerDeadLetters(self.broker),
            max_attempts=self.settings.consumer_max_attempts,
            together=together,
        )
        # The group id carries the topic prefix, so stacks that share a Kafka (test runs, a
        # benchmark beside a development stack) never rebalance each other's consumers.
        group_id = f"{self.settings.topic_prefix}{self.service}.{name}"
        attach_consumer(self.broker, consumer, topics, group_id=group_id)
        self.consumers.append(consumer)
        return consumer

    def react(self, name: str, reactions: Reactions) -> EventConsumer:
        """Consume the events of a reaction table, from the topics its payloads arrive on."""
        topics = reactions.topics(self.settings.topics)
        return self.consume(name, topics, reactions.handlers(), reactions.together)

    def background(self, name: str, job: BackgroundJob) -> None:
        """A coroutine that runs as long as the service does (a scheduler, say)."""
        self._jobs.append((name, job))

    def every(self, name: str, seconds: float, job: BackgroundJob) -> None:
        """Run `job` now and then every `seconds` (after the last run ended), as long as the
        service runs. A run that fails is logged; the next one comes as planned. A database
        outage is not an error here: the next run tries again."""

        async def periodically() -> None:
            while True:
                try:
                    await job()
                except asyncio.CancelledError:
                    raise
                except TRANSIENT_DB_ERRORS as error:
                    log.warning(
                        "database unreachable in a periodic job", job=name, error=str(error)
                    )
                except Exception:
                    log.exception("periodic job failed; it runs again as planned", job=name)
                await asyncio.sleep(seconds)

        self.background(name, periodically)

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
        """Answers within about three seconds even while a dependency hangs.

        Unresolved dead letters are reported, not counted as an outage: `/ready` then says
        "degraded" and the instance keeps serving.
        """
        try:
            database_ok = await asyncio.wait_for(ping(self.db), READINESS_TIMEOUT)
        except TimeoutError:
            database_ok = False
        try:
            kafka_ok = bool(await self.broker.ping(timeout=READINESS_TIMEOUT))
        except Exception:  # any failure means: not reachable
            kafka_ok = False
        backlog = await self.relay.backlog() if (self.relay and database_ok) else None
        dead_letters = await self._unresolved_dead_letters() if database_ok else None
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
            "dead_letters": {
                # None: not known while the database is unreachable
                "unresolved": sum(dead_letters.values()) if dead_letters is not None else None,
                "by_consumer": dead_letters or {},
            },
        }

    async def _unresolved_dead_letters(self) -> dict[str, int] | None:
        """Unresolved dead letters per consumer (this service's consumers always named), or None
        if the database does not answer in time. Shared by all instances of the service."""
        try:
            counts = await asyncio.wait_for(
                self.dead_letter_log.unresolved_by_consumer(), READINESS_TIMEOUT
            )
        except TimeoutError:
            return None
        except TRANSIENT_DB_ERRORS:
            return None
        return {**{c.name: 0 for c in self.consumers}, **counts}

    async def refresh_metrics(self) -> None:
        """Gauges read on demand: the outbox backlog, the consumers' lag, unresolved dead
        letters."""
        if self.relay is not None:
            with contextlib.suppress(*TRANSIENT_DB_ERRORS):
                OUTBOX_BACKLOG.labels(self.service).set(await self.relay.backlog())
        for consumer in self.consumers:
            CONSUMER_LAG.labels(self.service, consumer.name).set(consumer.total_lag)
        dead_letters = await self._unresolved_dead_letters()
        for name, count in (dead_letters or {}).items():  # unknown: keep the last value
            DEAD_LETTERS_UNRESOLVED.labels(self.service, name).set(count)

    def routers(self) -> list[APIRouter]:
        """/health, /ready, /metrics and /dead-letters for the service's FastAPI app."""
        return [
            health_router(self.readiness),
            metrics_router(self.refresh_metrics),
            dead_letters_router(self.dead_letter_log),
        ]


# ---------------------------------------------------------------------------- dead letters API


class DeadLetter(BaseModel):
    """A record one of the service's consumers gave up on (its copy is in `<topic>.dlq`)."""

    id: str = Field(
        description="`<consumer>:<event id>`, or `<consumer>:<topic>:<partition>:<offset>` for "
        "a record without an event id"
    )
    consumer: str = Field(description="The consumer that failed, e.g. `conferences.registry`")
    topic: str = Field(description="Where the record was read")
    partition: int
    offset: int
    event_id: str | None
    event_type: str | None
    reason: str = Field(
        description="undecodable, invalid-payload, unsupported-version or handler-failed"
    )
    error: str = Field(description="What went wrong, shortened")
    dead_lettered_at: datetime
    resolved_at: datetime | None = Field(description="None while unresolved")
    resolution: str | None = Field(
        description='"processed after replay" or "discarded: <reason>"; None while unresolved'
    )

    @classmethod
    def of(cls, document: Document) -> DeadLetter:
        return cls.model_validate({**document, "id": document["_id"]})


class DeadLetterPage(BaseModel):
    items: list[DeadLetter] = Field(description="Newest first")
    total: int = Field(description="Unresolved dead letters in all")
    limit: int
    offset: int


class DiscardRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason = Field(description="Why the dead letter needs no processing")


def dead_letters_router(log: DeadLetterLog) -> APIRouter:
    """The operator's view of the service's dead letters; district role only."""
    router = district_router("/dead-letters", "dead letters")

    # 401 without a valid token, 403 for any role but the district, 422 for a bad page.
    @router.get(
        "",
        summary="The unresolved dead letters, newest first",
        responses=problem_responses(401, 403, 422),
    )
    async def list_dead_letters(
        limit: Annotated[int, Query(ge=1, le=500, description="Page size")] = 50,
        offset: Annotated[int, Query(ge=0, le=100_000, description="Items to skip")] = 0,
    ) -> DeadLetterPage:
        documents, total = await log.unresolved(limit=limit, offset=offset)
        items = [DeadLetter.of(d) for d in documents]
        return DeadLetterPage(items=items, total=total, limit=limit, offset=offset)

    @router.post(
        "/{dead_letter_id}/discard",
        summary="Mark a dead letter resolved without processing it",
        # 400 malformed JSON, 404 no dead letter of that id, 409 resolved already,
        # 413 body too large, 422 no reason given.
        responses=problem_responses(400, 401, 403, 404, 409, 413, 422),
    )
    async def discard_dead_letter(dead_letter_id: str, body: DiscardRequest) -> DeadLetter:
        resolved = await log.resolve(dead_letter_id, f"discarded: {body.reason}")
        document = await log.get(dead_letter_id)
        if document is None:
            raise Problem(
                404, "Not found", f"There is no dead letter {dead_letter_id!r}.", kind="not-found"
            )
        if not resolved:
            raise Problem(
                409,
                "Already resolved",
                f"Dead letter {dead_letter_id!r} was resolved already: {document['resolution']}.",
                kind="already-resolved",
            )
        return DeadLetter.of(document)

    return router
