"""Sending pending deliveries: claim an attempt, hand the mail to SMTP, record the outcome.

Due deliveries are found in the small delivery queue (see adapters.repositories), never by a
search of the deliveries; each is then read by its id. The record is the truth: a queue entry
whose delivery is settled, missing or not yet due is corrected, and `requeue_missing` (a periodic
job of the service) re-creates entries that a crash left missing.

For each due delivery: insert the claim for attempt n (unique id, so one sender in the world gets
it); read its rendered message by id; send; then, in ONE write, move the record to sent (or retry
later, or failed) and put the `notification-sent` / `notification-failed` event into its outbox.

The one remaining window: the SMTP server accepted the mail, and the process died before that
write. The record still says pending, its claim is older than the lease, and nobody can know
whether the mail went out. The in-doubt policy decides: `resend` (default; the resent message
has the same Message-ID and the same calendar UID and SEQUENCE, so calendars update instead of
duplicating) or `give_up` (mark it failed and publish `notification-failed`).
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from notifications.adapters.repositories import DeliveryRepository, StoredDelivery
from notifications.adapters.smtp import SendFailed
from notifications.domain.delivery import Delivery, DeliveryStatus, InDoubtPolicy, RetryPolicy
from notifications.service_layer.delivery_events import delivery_records
from rbn_shared.addresses import sendable
from rbn_shared.changes import Clock
from rbn_shared.errors import VersionConflict
from rbn_shared.events.base import EventPayload
from rbn_shared.logging import bound, get_logger
from rbn_shared.metrics import DELIVERIES_FAILED, MAILS
from rbn_shared.mongo import TRANSIENT_DB_ERRORS
from rbn_shared.privacy import is_erased_address
from rbn_shared.retrying import DATABASE_OUTAGE
from rbn_shared.waiting import wait_at_most

log = get_logger(__name__)

SHUTDOWN_GRACE_SECONDS = 10.0
# However many deliveries this process announced itself, the queue is read at least this often,
# so that retries and other instances' deliveries are not held up by a long backlog.
MAX_SCAN_INTERVAL_SECONDS = 10.0
# Queue entries of settled deliveries are deleted together, once this many are waiting or at the
# next read of the queue: one delete for many instead of one per mail. An entry left behind by a
# crash meanwhile is harmless: the dispatcher reads its record, sees it settled, and drops it.
SETTLED_BATCH = 64


class MailSender(Protocol):
    async def send(
        self, sender: str, recipient: str, message: str, *, smtputf8: bool = False
    ) -> str: ...


OnFailed = Callable[[Delivery], Awaitable[None]]


@dataclass(frozen=True)
class Sending:
    """How deliveries are sent: from which envelope sender, how many at once, how often the
    queue is read, and what a failed or interrupted attempt leads to."""

    envelope_sender: str
    concurrency: int
    poll_seconds: float
    retry: RetryPolicy
    lease: timedelta  # after this long, an attempt whose sender vanished is in doubt
    in_doubt: InDoubtPolicy


class Outcome(StrEnum):
    """What became of an attempt; each names the delivery's transition that records it."""

    SENT = "sent"  # the SMTP server accepted the mail
    PERMANENT_FAILURE = "permanent_failure"  # refused for good, or nothing to send
    TRANSIENT_FAILURE = "transient_failure"  # try again later, if attempts are left
    IN_DOUBT = "in_doubt"  # its sender vanished mid-attempt
    CANCELLED = "cancelled"  # its recipient was erased: not attempted


@dataclass(frozen=True)
class AttemptEnded:
    """Attempt `attempt` of a delivery ended with `outcome`, learned at `at`. A value, not a
    change: it is applied to the record as stored, read again if another sender wrote first."""

    outcome: Outcome
    attempt: int
    at: datetime
    reason: str = ""


class Dispatcher:
    def __init__(
        self,
        *,
        deliveries: DeliveryRepository,
        sender: MailSender,
        sending: Sending,
        events_topic: str,
        clock: Clock,
        service: str = "notifications",
        on_failed: OnFailed | None = None,
    ) -> None:
        self._deliveries = deliveries
        self._sender = sender
        self._sending = sending
        self._topic = events_topic
        self._clock = clock
        self._service = service
        self._on_failed = on_failed  # told of each delivery that ended failed here
        self._in_flight: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._busy_elsewhere: dict[str, datetime] = {}  # claimed by another sender: until when
        # Deliveries known to be due without reading the queue: those this process just stored
        # (with the record as stored, version 1, so the attempt need not read it back), and those
        # the last read of the queue found beyond the free slots. In order, no repeats.
        self._ready: dict[str, Delivery | None] = {}
        self._scan_batch = max(64, 4 * sending.concurrency)
        self._settled: list[str] = []  # settled deliveries whose queue entries are to go
        self.instance = uuid.uuid4().hex[:12]
        self.wake = asyncio.Event()

    def announce(self, deliveries: Iterable[Delivery]) -> None:
        """New pending deliveries, just stored and queued: start them without reading them."""
        for delivery in deliveries:
            # A copy: the attempt changes it, and the caller's object stays what it stored.
            self._ready[delivery.delivery_id] = copy.copy(delivery)
        self.wake.set()

    async def run(self) -> None:
        """Keep up to `concurrency` attempts going; a slow one never holds up the others.

        The queue is read when what is known to be ready does not fill the free slots (at most
        once per poll interval), and at least every MAX_SCAN_INTERVAL_SECONDS: on FerretDB every
        read of it is a scan, so it is not read after every single mail.
        """
        loop = asyncio.get_running_loop()
        last_scan = last_forget = float("-inf")
        poll_seconds = self._sending.poll_seconds
        try:
            while True:
                self.wake.clear()
                elapsed = loop.time() - last_scan
                free = self._sending.concurrency - len(self._in_flight)
                scan = (free > len(self._ready) and elapsed >= poll_seconds) or (
                    elapsed >= max(MAX_SCAN_INTERVAL_SECONDS, poll_seconds)
                )
                if scan:
                    last_scan = loop.time()
                elif self._settled and loop.time() - last_forget >= poll_seconds:
                    await self.forget_settled()
                    last_forget = loop.time()
                await self.dispatch_due(scan=scan)
                await wait_at_most(self.wake, poll_seconds)
        finally:
            # On shutdown, let attempts in flight finish and be recorded: an attempt cut off
            # mid-conversation would come back as "in doubt" after the lease.
            if self._tasks:
                await asyncio.wait(set(self._tasks), timeout=SHUTDOWN_GRACE_SECONDS)
            for task in self._tasks:
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
            with contextlib.suppress(*TRANSIENT_DB_ERRORS):
                await self.forget_settled()

    async def requeue_missing(self) -> int:
        """One repair pass (the service runs it at start-up and every QUEUE_REPAIR_SECONDS);
        returns how many pending deliveries had no queue entry."""
        missing = await self._deliveries.requeue_missing()
        if missing:
            log.warning("pending deliveries without a queue entry were queued", count=missing)
            self.wake.set()
        return missing

    async def dispatch_due(self, *, scan: bool = True) -> int:
        """Start attempts for due deliveries while slots are free; returns how many started.

        With `scan`, the queue is read first (what it finds joins the ready ones); without, only
        the deliveries already known to be ready are started.
        """
        free = self._sending.concurrency - len(self._in_flight)
        now = self._clock()
        self._busy_elsewhere = {k: t for k, t in self._busy_elsewhere.items() if t > now}
        skip = self._in_flight | set(self._busy_elsewhere)
        if scan:
            await self.forget_settled()  # so that the read does not find them
            limit = free + len(skip) + len(self._ready) + self._scan_batch
            for entry in await self._deliveries.due(now, limit=limit):
                if entry.delivery_id not in skip:
                    self._ready.setdefault(entry.delivery_id, None)
        started = 0
        while started < free and self._ready:
            # Taken from the front one by one: the ready ones can be thousands (a bulletin).
            delivery_id = next(iter(self._ready))
            stored = self._ready.pop(delivery_id)
            if delivery_id in skip:
                continue
            self._in_flight.add(delivery_id)
            task = asyncio.create_task(self._attempt(delivery_id, stored))
            self._tasks.add(task)
            task.add_done_callback(self._finished)
            started += 1
        return started

    async def drain(self) -> None:
        """Wait until the attempts in flight are done and recorded."""
        while self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        await self.forget_settled()

    async def forget_settled(self) -> None:
        """Delete the queue entries of the deliveries settled since the last time."""
        settled, self._settled = self._settled, []
        try:
            await self._deliveries.forget_all_queued(settled)
        except BaseException:
            self._settled.extend(settled)
            raise

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        self.wake.set()  # a slot is free: look for more at once
        if not task.cancelled() and task.exception() is not None:
            log.error("sending attempt failed unexpectedly", exc_info=task.exception())

    async def _attempt(self, delivery_id: str, announced: Delivery | None = None) -> None:
        try:
            # A delivery this process just stored is at version 1, without events, as it is in
            # memory; should anything have changed it since, the claim or the version guard on
            # the outcome tells.
            found = (
                StoredDelivery(announced, version=1, event_count=0)
                if announced is not None
                else await self._deliveries.get(delivery_id)
            )
            if found is None:
                await self._deliveries.forget_queued(delivery_id)
                return
            delivery = found.delivery
            if not delivery.is_open() or not self._is_due(delivery):
                # Left by a crash between the record's write and the queue's: correct the queue.
                await self._deliveries.sync_queue(delivery)
                return
            if is_erased_address(delivery.recipient):
                # Erased while in flight, then retried: never to the placeholder, never again.
                ended = AttemptEnded(Outcome.CANCELLED, delivery.next_attempt_number, self._clock())
                await self._settle(delivery_id, ended, found)
                return
            with bound(
                delivery_id=delivery.delivery_id,
                correlation_id=delivery.correlation_id,
                cause_event_id=delivery.cause_event_id,
            ):
                if not await self._attempt_claimed(found):
                    # Another sender holds this attempt: look again after a poll interval.
                    pause = timedelta(seconds=self._sending.poll_seconds)
                    self._busy_elsewhere[delivery.delivery_id] = self._clock() + pause
        finally:
            self._in_flight.discard(delivery_id)

    def _is_due(self, delivery: Delivery) -> bool:
        return delivery.next_attempt_at is None or delivery.next_attempt_at <= self._clock()

    async def _attempt_claimed(self, stored: StoredDelivery) -> bool:
        delivery = stored.delivery
        attempt = delivery.next_attempt_number
        now = self._clock()
        # Read before the claim: a read that fails leaves the attempt unclaimed, for later.
        rendered = await self._deliveries.message(delivery.delivery_id)
        if rendered is None:  # never, by the order of the writes: the message comes first
            log.error("no rendered message for a pending delivery", attempt=attempt)
            missing = "the rendered message is missing"
            ended = AttemptEnded(Outcome.PERMANENT_FAILURE, attempt, now, missing)
            await self._settle(delivery.delivery_id, ended, stored)
            return True
        if not await self._deliveries.claim(delivery.delivery_id, attempt, self.instance, now):
            await self._recover_if_abandoned(delivery, attempt, now)
            return False
        try:
            # RCPT in the form SMTP takes: the domain as IDNA, or UTF-8 with SMTPUTF8.
            answer = await self._sender.send(
                self._sending.envelope_sender,
                sendable(delivery.recipient).address,
                rendered.text,
                smtputf8=delivery.needs_smtputf8,
            )
        except SendFailed as failure:
            if failure.permanent:
                log.warning("mail refused for good", attempt=attempt, reason=failure.reason)
                outcome = Outcome.PERMANENT_FAILURE
            else:
                log.info("mail not sent, will retry", attempt=attempt, reason=failure.reason)
                outcome = Outcome.TRANSIENT_FAILURE
            ended = AttemptEnded(outcome, attempt, self._clock(), failure.reason)
            await self._settle(delivery.delivery_id, ended, stored)
            return True
        sent = AttemptEnded(Outcome.SENT, attempt, self._clock())
        await self._settle(delivery.delivery_id, sent, stored)
        log.info("mail sent", attempt=attempt, template=delivery.template, smtp_answer=answer[:200])
        return True

    async def _recover_if_abandoned(self, delivery: Delivery, attempt: int, now: datetime) -> None:
        started = await self._deliveries.claim_started_at(delivery.delivery_id, attempt)
        if started is None or now - started < self._sending.lease:
            return  # another sender is on it
        log.warning(
            "an attempt was interrupted after it began; its outcome is unknown",
            attempt=attempt,
            policy=self._sending.in_doubt.value,
        )
        await self._settle(delivery.delivery_id, AttemptEnded(Outcome.IN_DOUBT, attempt, now))

    def _transition(self, delivery: Delivery, ended: AttemptEnded) -> list[EventPayload]:
        """Apply the delivery's transition for how the attempt ended; the events it caused."""
        match ended.outcome:
            case Outcome.SENT:
                return delivery.sent(ended.attempt, ended.at)
            case Outcome.PERMANENT_FAILURE:
                return delivery.permanent_failure(ended.attempt, ended.reason, ended.at)
            case Outcome.TRANSIENT_FAILURE:
                retry = self._sending.retry
                return delivery.transient_failure(ended.attempt, ended.reason, ended.at, retry)
            case Outcome.IN_DOUBT:
                return delivery.in_doubt(ended.attempt, ended.at, self._sending.in_doubt)
            case Outcome.CANCELLED:
                return delivery.cancel(ended.at)

    async def _settle(
        self, delivery_id: str, ended: AttemptEnded, read: StoredDelivery | None = None
    ) -> None:
        """Record an outcome; if the database is away, keep trying: the outcome must not be lost.

        `read` is the record as read before the attempt, with its version: if nothing changed it
        since, the outcome is written without reading it again (the version guard tells).
        """
        try:
            await self._settle_once(delivery_id, ended, read)
        except TRANSIENT_DB_ERRORS as error:
            log.warning("database unreachable while recording an outcome", error=str(error))
            # Read again once it is back: the record may have moved on meanwhile.
            await DATABASE_OUTAGE.call(self._settle_once, delivery_id, ended, None)

    async def _settle_once(
        self, delivery_id: str, ended: AttemptEnded, read: StoredDelivery | None
    ) -> None:
        """Apply the outcome's transition and store it with its events, in one write."""
        store = self._deliveries.store
        while True:
            async with store.locked(delivery_id):
                stored, read = read or await self._deliveries.get(delivery_id), None
                if stored is None:
                    return
                delivery = stored.delivery
                as_read = copy.copy(delivery)
                events = self._transition(delivery, ended)
                if delivery == as_read:  # settled already, or this attempt was accounted for
                    await self._deliveries.sync_queue(delivery)
                    return
                records = delivery_records(
                    delivery, events, self._topic, event_count=stored.event_count
                )
                try:
                    await self._deliveries.save(stored, records)
                except VersionConflict:
                    continue  # another instance wrote in between: decide again on what is there
                if delivery.status is DeliveryStatus.SENT:
                    MAILS.labels(self._service, "sent").inc()
                elif delivery.status is DeliveryStatus.FAILED:
                    MAILS.labels(self._service, "failed").inc()
                    consumer = delivery.consumer or "unknown"
                    DELIVERIES_FAILED.labels(self._service, consumer, "smtp").inc()
                # Only now the queue: rescheduled, or dropped once settled (with others).
                if delivery.is_open():
                    await self._deliveries.sync_queue(delivery)
                else:
                    self._settled.append(delivery.delivery_id)
                    if len(self._settled) >= SETTLED_BATCH:
                        await self.forget_settled()
            if delivery.status is DeliveryStatus.FAILED and self._on_failed is not None:
                await self._on_failed(delivery)  # outside the lock: it writes elsewhere
            return
