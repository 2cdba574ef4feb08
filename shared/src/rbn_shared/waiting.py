"""Waiting for a wake-up with a time limit, without losing a cancellation."""

from __future__ import annotations

import asyncio
import contextlib


async def wait_at_most(event: asyncio.Event, seconds: float) -> None:
    """Return when `event` is set or after `seconds`, whichever comes first.

    Not `asyncio.wait_for`: on Python 3.11 it swallows a cancellation that arrives just as the
    event is set, and a background loop built on it then never stops (seen in the relay).
    """
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await event.wait()
