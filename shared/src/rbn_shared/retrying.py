"""Retries: one named policy per kind of failure, carried out by the stamina library.

    DATABASE_OUTAGE   the database does not answer (`rbn_shared.mongo.TRANSIENT_DB_ERRORS`):
                      retried until it answers again, 0.2 s doubling up to 10 s, with jitter.
                      Work that waits for the database is never given up on (a consumer never
                      dead-letters a record for it).
    HANDLER_FAILURE   any other error of an event handler: a bounded number of attempts
                      (`settings.consumer_max_attempts`, 5 by default), then the last error is
                      raised and the caller gives up (the consumer dead-letters the record).
                      A database outage is not counted: it passes through at once, so run the
                      handler under DATABASE_OUTAGE inside this policy.
    KAFKA_STARTUP     Kafka does not answer yet while a service starts: retried until a timeout.
    RELAY_OUTAGE      Kafka or the database does not answer while the outbox relay publishes:
                      retried until they answer, the waits capped by the relay's poll interval.
    CONCURRENT_WRITE  another instance stored the same aggregate between a change's read and
                      its write (`rbn_shared.errors.ConcurrentWrite`): the whole change runs
                      again on the fresh state, a few times with short waits, then it is 409.

Use one from anywhere in the project:

    found = await DATABASE_OUTAGE.call(collection.find_one, {"_id": doc_id})
    await HANDLER_FAILURE.but(attempts=3).call(send_mail, message)

`but(...)` makes a variant (other attempts, waits, a timeout, or `on_failure`, a function told of
every failed attempt, e.g. to flip a health flag). Every failed attempt is logged with the
policy's name. A policy that gives up raises the last error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import stamina
from aiokafka.errors import KafkaError

from rbn_shared.errors import ConcurrentWrite
from rbn_shared.logging import get_logger
from rbn_shared.mongo import TRANSIENT_DB_ERRORS
from rbn_shared.settings import ServiceSettings

__all__ = [
    "CONCURRENT_WRITE",
    "DATABASE_OUTAGE",
    "HANDLER_FAILURE",
    "KAFKA_STARTUP",
    "RELAY_OUTAGE",
    "RetryPolicy",
]

log = get_logger(__name__)

T = TypeVar("T")

# What a policy retries: error types, or a predicate on the error.
Retried = type[Exception] | tuple[type[Exception], ...] | Callable[[Exception], bool]
FailureHook = Callable[[Exception, int], None]  # (the error, the attempt that failed: 1, 2, ...)

# The policies log every failed attempt themselves. stamina's default hooks would log each
# retry a second time and count it in Prometheus labelled by the retry's number, which grows
# without bound while an outage lasts.
stamina.instrumentation.set_on_retry_hooks(())


@dataclass(frozen=True)
class RetryPolicy:
    """How one kind of failure is retried: which errors, how often, how long to wait between."""

    name: str
    on: Retried
    attempts: int | None = None  # None: until it succeeds (or the timeout runs out)
    timeout: float | None = None  # seconds for all attempts together; None: no limit
    wait_initial: float = 0.2  # the first wait, doubled after every failure ...
    wait_max: float = 10.0  # ... up to this
    wait_jitter: float = 0.2  # plus up to this much at random, so callers do not retry in step
    on_failure: FailureHook | None = None

    def but(self, **changes: Any) -> RetryPolicy:
        """A variant of this policy, e.g. `HANDLER_FAILURE.but(attempts=3)`."""
        return dataclasses.replace(self, **changes)

    async def call(self, fn: Callable[..., Awaitable[T]], *args: Any, **kwargs: Any) -> T:
        """`await fn(*args, **kwargs)`, retried by this policy; raises the last error when the
        policy gives up, and at once any error it does not retry."""
        async for attempt in stamina.retry_context(
            on=self.on,
            attempts=self.attempts,
            timeout=self.timeout,
            wait_initial=self.wait_initial,
            wait_max=self.wait_max,
            wait_jitter=self.wait_jitter,
        ):
            with attempt:
                try:
                    return await fn(*args, **kwargs)
                except Exception as error:
                    if self._retries(error):
                        self._failed(error, attempt.num)
                    raise
        raise AssertionError("unreachable: stamina either returns or raises")

    def _retries(self, error: Exception) -> bool:
        if isinstance(self.on, type | tuple):
            return isinstance(error, self.on)
        return self.on(error)

    def _failed(self, error: Exception, attempt: int) -> None:
        last = self.attempts is not None and attempt >= self.attempts
        log.warning(
            "giving up" if last else "failed, retrying",
            retry_policy=self.name,
            attempt=attempt,
            error_type=type(error).__name__,
            error=_short(error),
        )
        if self.on_failure is not None:
            self.on_failure(error, attempt)


def _not_a_database_outage(error: Exception) -> bool:
    return not isinstance(error, TRANSIENT_DB_ERRORS)


DATABASE_OUTAGE = RetryPolicy(
    "database-outage", TRANSIENT_DB_ERRORS, attempts=None, wait_initial=0.2, wait_max=10.0
)
HANDLER_FAILURE = RetryPolicy(
    "handler-failure",
    _not_a_database_outage,
    attempts=ServiceSettings.model_fields["consumer_max_attempts"].default,
    wait_initial=0.2,
    wait_max=10.0,
)
KAFKA_STARTUP = RetryPolicy(
    "kafka-startup", (KafkaError, OSError), timeout=60.0, wait_initial=0.5, wait_max=2.0
)
CONCURRENT_WRITE = RetryPolicy(
    "concurrent-write", ConcurrentWrite, attempts=5, wait_initial=0.02, wait_max=0.5
)
RELAY_OUTAGE = RetryPolicy(
    "relay-outage", (KafkaError, *TRANSIENT_DB_ERRORS), wait_initial=0.1, wait_max=1.0
)


def _short(error: BaseException) -> str:
    text = str(error).replace("\n", " ")
    return text if len(text) <= 500 else text[:497] + "..."
