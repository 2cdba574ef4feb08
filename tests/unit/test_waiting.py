"""A background loop's wait must never swallow the cancellation that stops it."""

from __future__ import annotations

import asyncio

import pytest

from rbn_shared.waiting import wait_at_most


async def test_returns_when_the_event_is_set_or_the_time_is_up() -> None:
    event = asyncio.Event()
    loop = asyncio.get_running_loop()
    started = loop.time()
    await wait_at_most(event, 0.05)
    assert loop.time() - started >= 0.05
    event.set()
    await asyncio.wait_for(wait_at_most(event, 10), 1)


async def test_a_cancellation_arriving_as_the_event_is_set_still_cancels() -> None:
    event = asyncio.Event()
    waiting = asyncio.create_task(wait_at_most(event, 10))
    await asyncio.sleep(0)  # the task now waits for the event
    event.set()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
