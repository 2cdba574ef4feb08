"""Idempotent event consumption with bounded retries and dead letters.

For every record: decode the envelope (undecodable or invalid: dead letter), skip it if this
consumer has processed its event id before, run the handler, and record the event id as processed.
The offset is committed by FastStream only after `process` returned, so a crash at any point before
that redelivers the record; the handler's own writes are idempotent (version-guarded or keyed by
event), so a redelivery after the effect but before the record has no second effect.

A handler that fails because the database is unreachable is retried until it comes back (the
record must not be lost); any other failure is retried a bounded number of times and then the
record goes to `<topic>.dlq` with the reason in its headers, and the partition moves on.

Every dead letter is also logged in the consumer's database (`dead_letters`), so a service can
show what is unresolved; a dead letter is resolved when its event, replayed by `rbn dlq replay`
(header `dlq-replayed-at`), is processed, or when an operator discards it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from pydantic import ValidationError
from pymongo import DESCENDING
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from rbn_shared.events.catalogue import CATALOGUE, UnknownEvent, parse_payload
from rbn_shared.events.envelope import Envelope, utc_now
from rbn_shared.events.topics import Topics
from rbn_shared.logging import bound, get_logger
from rbn_shared.metrics import DEAD_LETTERS, EVENTS_CONSUMED, HANDLER_SECONDS
from rbn_shared.mongo import Document, insert_new
from rbn_shared.retrying import DATABASE_OUTAGE, HANDLER_FAILURE

log = get_logger(__name__)

Handler = Callable[[Envelope, Any], Awaitable[None]]


@dataclass(frozen=True)
class Together:
    """A handler for a run of one lane's consecutive events of `types` at once: it must do
    what their handlers do one by one, in their order, only with fewer database round trips
    (a projection folding forty events into one read and one write). Should it fail, the run's
    events go through their handlers one by one, so a bad one is retried and dead-lettered
    alone."""

    types: frozenset[str]
    handler: Callable[[list[tuple[Envelope, Any]]], Awaitable[None]]


PROCESSED_COLLECTION = "processed_events"
DEAD_LETTERS_COLLECTION = "dead_letters"
REPLAYED_HEADER = "dlq-replayed-at"  # set by `rbn dlq replay` on every record it sends back
RESOLVED_BY_REPLAY = "processed after replay"


class Outcome(StrEnum):
    PROCESSED = "processed"
    DUPLICATE = "duplicate"
    IGNORED = "ignored"  # an event type this consumer does not handle
    DEAD_LETTERED = "dead_lettered"


@dataclass(frozen=True)
class Incoming:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    value: bytes
    headers: Mapping[str, str] = field(default_factory=dict)
    highwater: int | None = None  # the partition's end offset when the record was fetched


class DeadLetterSink(Protocol):
    async def send(
        self, topic: str, key: bytes | None, value: bytes, headers: dict[str, str]
    ) -> None: ...


def dead_letter_id(
    consumer: str, event_id: str | None, topic: str, partition: int, offset: int
) -> str:
    """One dead letter per consumer and event; a record without an event id by its position."""
    if event_id:
        return f"{consumer}:{event_id}"
    return f"{consumer}:{topic}:{partition}:{offset}"


class DeadLetterLog:
    """The `dead_letters` collection: one document per dead letter, until it is resolved.

    Written only when something is dead-lettered or resolved, read by readiness and the operator
    API; the ordinary record never touches it.
    """

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._collection: AsyncCollection[Document] = db[DEAD_LETTERS_COLLECTION]

    async def record(self, document: Document) -> None:
        """Log a dead letter; a repeat (redelivery, a replay that failed again) refreshes it."""
        fields = {k: v for k, v in document.items() if k != "_id"}
        await self._collection.update_one(
            {"_id": document["_id"]},
            {"$set": {**fields, "resolved_at": None, "resolution": None}},
            upsert=True,
        )

    async def resolve(self, dead_letter_id: str, resolution: str) -> bool:
        """Mark a dead letter resolved; False if there is no unresolved one of that id."""
        result = await self._collection.update_one(
            {"_id": dead_letter_id, "resolved_at": None},
            {"$set": {"resolved_at": utc_now(), "resolution": resolution}},
        )
        return result.modified_count == 1

    async def get(self, dead_letter_id: str) -> Document | None:
        return await self._collection.find_one({"_id": dead_letter_id})

    async def unresolved(self, *, limit: int, offset: int) -> tuple[list[Document], int]:
        """The unresolved dead letters, newest first, and how many there are in all."""
        found = (
            self._collection.find({"resolved_at": None})
            .sort([("dead_lettered_at", DESCENDING), ("_id", DESCENDING)])
            .skip(offset)
            .limit(limit)
        )
        items = [doc async for doc in found]
        return items, await self._collection.count_documents({"resolved_at": None})

    async def unresolved_by_consumer(self) -> dict[str, int]:
        """Unresolved dead letters per consumer, counted by the database in one command."""
        grouped = await self._collection.aggregate(
            [
                {"$match": {"resolved_at": None}},
                {"$group": {"_id": "$consumer", "count": {"$sum": 1}}},
            ]
        )
        return {str(doc["_id"]): int(doc["count"]) async for doc in grouped}


# Markers looked up per read: FerretDB narrows `_id: {$in: [...]}` by its index up to 1,000 ids.
MARKER_LOOKUP_BATCH = 500


class EventConsumer:
    def __init__(
        self,
        *,
        name: str,
        service: str,
        db: AsyncDatabase[Document],
        handlers: Mapping[str, Handler],
        dead_letters: DeadLetterSink,
        max_attempts: int = 5,
        retry_base_seconds: float = 0.2,
        retry_max_seconds: float = 10.0,
        concurrency: int = 16,
        together: Together | None = None,
    ) -> None:
        unknown = set(handlers) - set(CATALOGUE)
        if unknown:
            raise ValueError(f"handlers for event types not in the catalogue: {sorted(unknown)}")
        self.name = name
        self.service = service
        self.lag: dict[tuple[str, int], int] = {}
        self._processed = db[PROCESSED_COLLECTION]
        self.dead_letter_log = DeadLetterLog(db)
        self._handlers = dict(handlers)
        if together is not None and not together.types <= set(handlers):
            raise ValueError("events handled together must have their handlers one by one too")
        self._together = together
        self._dead_letters = dead_letters
        waits = {
            "wait_initial": retry_base_seconds,
            "wait_max": retry_max_seconds,
            "wait_jitter": retry_base_seconds,
        }
        self._database_outage = DATABASE_OUTAGE.but(**waits, on_failure=self._database_unreachable)
        self._handler_failure = HANDLER_FAILURE.but(**waits, attempts=max_attempts)
        self._lanes = asyncio.Semaphore(concurrency)
        self.healthy = True
        self.counts: dict[Outcome, int] = dict.fromkeys(Outcome, 0)

    @property
    def handled_types(self) -> list[str]:
        return sorted(self._handlers)

    async def process(self, record: Incoming) -> Outcome:
        """Process one record and record it as processed."""
        markers: list[Document] = []
        outcome = await self._process_one(record, markers, {})
        await self._retrying_db(self._insert_markers, markers)
        return outcome

    async def _processed_before(self, records: Sequence[Incoming]) -> dict[str, bool]:
        """Which of the batch's events were processed before, by their markers, in one read;
        the batch then notes there what it processes itself.

        The event id is taken from the record's header; an event whose body names another id is
        looked up on its own in `_process`. Records whose type header names a type this
        consumer does not handle are not looked up: they are ignored before any marker is
        asked (a topic's other events, say every sent mail where only failures matter).
        """
        wanted = sorted(
            {
                f"{self.name}:{r.headers['event_id']}"
                for r in records
                if "event_id" in r.headers and r.headers.get("event_type", "") in self._handlers
            }
        )
        done: set[str] = set()
        for start in range(0, len(wanted), MARKER_LOOKUP_BATCH):
            chunk = wanted[start : start + MARKER_LOOKUP_BATCH]
            found = self._processed.find({"_id": {"$in": chunk}}, {"_id": 1})
            done.update([str(doc["_id"]) async for doc in found])
        return {marker: marker in done for marker in wanted}

    async def _process_one(
        self, record: Incoming, markers: list[Document], known: dict[str, bool]
    ) -> Outcome:
        started = time.perf_counter()
        outcome = await self._process(record, markers, known)
        event_type = record.headers.get("event_type", "unknown")
        self._count(record, event_type, outcome, time.perf_counter() - started)
        return outcome

    async def process_batch(self, records: Sequence[Incoming]) -> list[Outcome]:
        """Process a fetched batch: in order within a key, different keys side by side.

        Records of one key (one network) share a partition and stay in their order; records of
        different keys do not depend on each other, so their database round trips overlap. The
        processed markers of the whole batch are written at the end in one insert, before the
        offsets are committed: a crash in between redelivers the batch, and the handlers'
        writes are idempotent, so the repeat has no second effect.
        """
        lanes: dict[tuple[str, int, bytes | None], list[Incoming]] = {}
        for record in records:
            lanes.setdefault((record.topic, record.partition, record.key), []).append(record)
        markers: list[Document] = []
        known = await self._retrying_db(self._processed_before, records)

        async def run_lane(lane: list[Incoming]) -> list[Outcome]:
            async with self._lanes:
                if self._together is not None:
                    return await self._process_together(self._together, lane, markers, known)
                return [await self._process_one(record, markers, known) for record in lane]

        done = await asyncio.gather(*(run_lane(lane) for lane in lanes.values()))
        await self._retrying_db(self._insert_markers, markers)
        return [outcome for lane_outcomes in done for outcome in lane_outcomes]

    async def _process_together(
        self,
        together: Together,
        lane: list[Incoming],
        markers: list[Document],
        known: dict[str, bool],
    ) -> list[Outcome]:
        """A lane whose runs of events of `together.types` go to that handler at once; every
        other record (undecodable, another type, processed before, replayed) one by one, in
        its place in the lane's order."""
        outcomes: list[Outcome] = []
        run: list[tuple[Incoming, Envelope, Any]] = []
        in_run: set[str] = set()  # the run's event ids
        for record in lane:
            item = self._joins_run(together, record, known, in_run)
            if item is not None:
                run.append((record, *item))
                in_run.add(str(item[0].event_id))
                continue
            outcomes += await self._process_run(together, run, markers, known)
            run, in_run = [], set()
            outcomes.append(await self._process_one(record, markers, known))
        outcomes += await self._process_run(together, run, markers, known)
        return outcomes

    def _joins_run(
        self, together: Together, record: Incoming, known: dict[str, bool], in_run: set[str]
    ) -> tuple[Envelope, Any] | None:
        """The record's event and payload if it can be handled with the others of its run."""
        if REPLAYED_HEADER in record.headers:
            return None
        try:
            envelope = Envelope.from_wire(record.value)
            if envelope.type not in together.types:
                return None
            payload = parse_payload(envelope)
        except (ValidationError, ValueError, UnknownEvent):
            return None  # dead-lettered one by one, with its reason
        marker = f"{self.name}:{envelope.event_id}"
        if known.get(marker, True) or str(envelope.event_id) in in_run:
            return None  # processed before, not looked up with the batch, or twice in the run
        return envelope, payload

    async def _process_run(
        self,
        together: Together,
        run: list[tuple[Incoming, Envelope, Any]],
        markers: list[Document],
        known: dict[str, bool],
    ) -> list[Outcome]:
        if len(run) < 2:
            return [await self._process_one(record, markers, known) for record, _, _ in run]
        started = time.perf_counter()
        try:
            await self._retrying_db(together.handler, [(e, p) for _, e, p in run])
        except Exception as error:
            log.warning(
                "events handled together failed, handling them one by one",
                consumer=self.name,
                events=len(run),
                error=_short(error),
            )
            return [await self._process_one(record, markers, known) for record, _, _ in run]
        seconds = (time.perf_counter() - started) / len(run)
        for record, envelope, _ in run:
            self._note_processed(envelope, markers, known)
            self._count(record, envelope.type, Outcome.PROCESSED, seconds)
        log.info("events processed together", consumer=self.name, events=len(run))
        return [Outcome.PROCESSED] * len(run)

    def _note_processed(
        self, envelope: Envelope, markers: list[Document], known: dict[str, bool]
    ) -> None:
        """The event's marker, written with the batch's; a repeat later in the same batch is a
        duplicate."""
        marker = f"{self.name}:{envelope.event_id}"
        markers.append({"_id": marker, "type": envelope.type, "processed_at": utc_now()})
        known[marker] = True

    def _count(self, record: Incoming, event_type: str, outcome: Outcome, seconds: float) -> None:
        self.counts[outcome] += 1
        EVENTS_CONSUMED.labels(self.service, self.name, event_type, outcome.value).inc()
        HANDLER_SECONDS.labels(self.service, self.name, event_type).observe(seconds)
        if record.highwater is not None:
            self.lag[(record.topic, record.partition)] = max(
                0, record.highwater - record.offset - 1
            )

    @property
    def total_lag(self) -> int:
        return sum(self.lag.values())

    async def _process(
        self, record: Incoming, markers: list[Document], known: dict[str, bool]
    ) -> Outcome:
        try:
            envelope = Envelope.from_wire(record.value)
        except (ValidationError, ValueError) as error:
            return await self._dead_letter(record, "undecodable", _short(error))
        handler = self._handlers.get(envelope.type)
        if handler is None:
            return Outcome.IGNORED
        with bound(
            correlation_id=envelope.correlation_id,
            event_id=str(envelope.event_id),
            event_type=envelope.type,
        ):
            try:
                payload = parse_payload(envelope)
            except UnknownEvent as error:
                return await self._dead_letter(record, "unsupported-version", str(error), envelope)
            except ValidationError as error:
                return await self._dead_letter(record, "invalid-payload", _short(error), envelope)
            marker = f"{self.name}:{envelope.event_id}"
            if await self._was_processed(marker, known):
                log.debug("event already processed, skipped")
                await self._resolve_if_replayed(record, envelope)
                return Outcome.DUPLICATE
            failure = await self._run_handler(handler, envelope, payload)
            if failure is not None:
                return await self._dead_letter(record, "handler-failed", failure, envelope)
            self._note_processed(envelope, markers, known)
            log.info("event processed", consumer=self.name)
            await self._resolve_if_replayed(record, envelope)
            return Outcome.PROCESSED

    async def _resolve_if_replayed(self, record: Incoming, envelope: Envelope) -> None:
        """A replayed event this consumer has now processed (or had processed): its dead letter,
        if it has one, is resolved. Only replayed records cost this one database command."""
        if REPLAYED_HEADER not in record.headers:
            return
        dead_letter = dead_letter_id(
            self.name, str(envelope.event_id), record.topic, record.partition, record.offset
        )
        await self._retrying_db(self.dead_letter_log.resolve, dead_letter, RESOLVED_BY_REPLAY)

    async def _was_processed(self, marker: str, known: dict[str, bool]) -> bool:
        if marker not in known:  # not looked up with the batch (no or another event_id header)
            known[marker] = bool(await self._retrying_db(self._processed.find_one, {"_id": marker}))
        return known[marker]

    async def _run_handler(self, handler: Handler, envelope: Envelope, payload: Any) -> str | None:
        """Run until it succeeds (None) or fails for good (the reason).

        A database outage inside the handler is waited out (DATABASE_OUTAGE, not counted); any
        other error counts as a failed attempt (HANDLER_FAILURE).
        """
        try:
            await self._handler_failure.call(self._retrying_db, handler, envelope, payload)
        except Exception as error:
            log.error(
                "handler failed, sending the event to the dead-letter topic",
                attempts=self._handler_failure.attempts,
                error=_short(error),
                exc_info=True,
            )
            attempts = self._handler_failure.attempts
            return f"{type(error).__name__} after {attempts} attempts: {_short(error)}"
        return None

    async def _retrying_db(self, operation: Callable[..., Awaitable[Any]], *args: Any) -> Any:
        """`operation(*args)`, waiting out a database outage; the consumer is unhealthy while
        it lasts."""
        result = await self._database_outage.call(operation, *args)
        self.healthy = True
        return result

    def _database_unreachable(self, _error: Exception, _attempt: int) -> None:
        self.healthy = False

    async def _insert_markers(self, documents: list[Document]) -> None:
        # A parallel redelivery may have got there first; the effect is the same.
        await insert_new(self._processed, documents)

    async def _insert_marker(self, document: Document) -> None:
        with contextlib.suppress(DuplicateKeyError):
            await self._processed.insert_one(document)

    async def _dead_letter(
        self, record: Incoming, reason: str, detail: str, envelope: Envelope | None = None
    ) -> Outcome:
        """Send a record to `<topic>.dlq` once, even when it is redelivered after a crash, and
        log it in `dead_letters` (a repeat after a crash refreshes the same document).

        Undecodable records have no event id, so the marker names the record's position.
        """
        marker = f"{self.name}:dlq:{record.topic}:{record.partition}:{record.offset}"
        if await self._retrying_db(self._processed.find_one, {"_id": marker}):
            return Outcome.DEAD_LETTERED
        topic = Topics.dead_letters_of(record.topic)
        failed_at = utc_now()
        headers = {
            **record.headers,
            "dlq-reason": reason,
            "dlq-error": detail[:2000],
            "dlq-consumer": self.name,
            "dlq-original-topic": record.topic,
            "dlq-original-partition": str(record.partition),
            "dlq-original-offset": str(record.offset),
            "dlq-failed-at": failed_at.isoformat(),
        }
        await self._dead_letters.send(topic, record.key, record.value, headers)
        await self._retrying_db(
            self.dead_letter_log.record,
            self._dead_letter_document(record, reason, detail, envelope, failed_at),
        )
        await self._retrying_db(self._insert_marker, {"_id": marker, "dead_lettered_at": utc_now()})
        DEAD_LETTERS.labels(self.service, self.name, reason).inc()
        log.warning(
            "record sent to the dead-letter topic",
            reason=reason,
            dlq_topic=topic,
            partition=record.partition,
            offset=record.offset,
        )
        return Outcome.DEAD_LETTERED

    def _dead_letter_document(
        self,
        record: Incoming,
        reason: str,
        detail: str,
        envelope: Envelope | None,
        failed_at: datetime,
    ) -> Document:
        # An undecodable record may still name its event in the headers the producer set.
        event_id = str(envelope.event_id) if envelope else record.headers.get("event_id")
        return {
            "_id": dead_letter_id(
                self.name, event_id, record.topic, record.partition, record.offset
            ),
            "consumer": self.name,
            "topic": record.topic,
            "partition": record.partition,
            "offset": record.offset,
            "event_id": event_id,
            "event_type": envelope.type if envelope else record.headers.get("event_type"),
            "reason": reason,
            "error": detail[:2000],
            "dead_lettered_at": failed_at,
        }


def _short(error: BaseException) -> str:
    text = str(error).replace("\n", " ")
    return text if len(text) <= 500 else text[:497] + "..."
