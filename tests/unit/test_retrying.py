"""The retry policies (rbn_shared.retrying) and how the consumer uses them, without servers."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest
from aiokafka.errors import KafkaConnectionError
from pymongo.errors import AutoReconnect

from rbn_shared.consumer import EventConsumer
from rbn_shared.events import Envelope
from rbn_shared.retrying import DATABASE_OUTAGE, HANDLER_FAILURE, KAFKA_STARTUP, RetryPolicy

NO_WAIT: dict[str, Any] = {"wait_initial": 0.0, "wait_max": 0.0, "wait_jitter": 0.0}


class Script:
    """Fails with the given errors, in order, then answers "done"."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self, *_args: Any) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


async def test_a_database_outage_is_waited_out_however_long_it_lasts() -> None:
    failures: list[int] = []
    policy = DATABASE_OUTAGE.but(**NO_WAIT, on_failure=lambda _e, n: failures.append(n))
    script = Script(*(AutoReconnect("down") for _ in range(25)))
    assert await policy.call(script) == "done"
    assert script.calls == 26
    assert failures == list(range(1, 26))


async def test_a_database_policy_does_not_retry_other_errors() -> None:
    script = Script(ValueError("a bug"))
    with pytest.raises(ValueError, match="a bug"):
        await DATABASE_OUTAGE.but(**NO_WAIT).call(script)
    assert script.calls == 1


async def test_a_handler_failure_is_retried_a_bounded_number_of_times() -> None:
    script = Script(*(RuntimeError(f"failure {n}") for n in range(1, 10)))
    with pytest.raises(RuntimeError, match="failure 3"):
        await HANDLER_FAILURE.but(**NO_WAIT, attempts=3).call(script)
    assert script.calls == 3
    assert HANDLER_FAILURE.attempts == 5, "settings.consumer_max_attempts' default"


async def test_a_handler_policy_passes_a_database_outage_through_uncounted() -> None:
    script = Script(AutoReconnect("down"))
    with pytest.raises(AutoReconnect):
        await HANDLER_FAILURE.but(**NO_WAIT).call(script)
    assert script.calls == 1


async def test_kafka_at_startup_is_retried_until_the_timeout() -> None:
    script = Script(*(KafkaConnectionError() for _ in range(1000)))
    policy = KAFKA_STARTUP.but(timeout=0.3, wait_initial=0.05, wait_max=0.05, wait_jitter=0.0)
    with pytest.raises(KafkaConnectionError):
        await policy.call(script)
    assert 2 <= script.calls < 1000


async def test_keyword_arguments_reach_the_function() -> None:
    async def add(a: int, *, b: int) -> int:
        return a + b

    policy = RetryPolicy("test", ValueError, attempts=2, **NO_WAIT)
    assert await policy.call(add, 1, b=2) == 3


class NoDatabase(defaultdict[str, Any]):
    """Stands in for the consumer's database: _run_handler touches no collection."""

    def __init__(self) -> None:
        super().__init__(lambda: None)


def consumer(max_attempts: int = 3) -> EventConsumer:
    return EventConsumer(
        name="test.consumer",
        service="test",
        db=NoDatabase(),  # type: ignore[arg-type]
        handlers={},
        dead_letters=None,  # type: ignore[arg-type]
        max_attempts=max_attempts,
        retry_base_seconds=0.001,
        retry_max_seconds=0.001,
    )


ENVELOPE: Any = None  # the handlers below do not look at it


async def test_the_consumer_waits_out_an_outage_and_is_unhealthy_meanwhile() -> None:
    events = consumer()
    seen: list[bool] = []

    async def handler(_envelope: Envelope, _payload: Any) -> None:
        seen.append(events.healthy)
        if len(seen) <= 7:  # more outages than attempts: they do not count
            raise AutoReconnect("down")

    assert await events._run_handler(handler, ENVELOPE, None) is None
    assert seen == [True] + [False] * 7
    assert events.healthy


async def test_the_consumer_gives_up_on_a_failing_handler_after_its_attempts() -> None:
    events = consumer(max_attempts=3)
    calls = Script(
        AutoReconnect("down"),
        ValueError("1"),
        AutoReconnect("down"),
        ValueError("2"),
        ValueError("3"),
    )

    async def handler(envelope: Envelope, payload: Any) -> None:
        await calls(envelope, payload)

    reason = await events._run_handler(handler, ENVELOPE, None)
    assert reason == "ValueError after 3 attempts: 3"
    assert calls.calls == 5, "three failures counted, the two outages not"
