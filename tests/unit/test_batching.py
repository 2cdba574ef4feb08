"""The batcher: concurrent submissions become one write, each caller gets its own answer."""

from __future__ import annotations

import asyncio

import pytest

from rbn_shared.batching import Batcher


async def test_concurrent_submissions_are_written_together_and_answered_each() -> None:
    writes: list[list[int]] = []

    async def write(items: list[int]) -> list[int]:
        writes.append(items)
        await asyncio.sleep(0.01)
        return [10 * i for i in items]

    batcher: Batcher[int, int] = Batcher(write, max_size=4)
    results = await asyncio.gather(*(batcher.submit(i) for i in range(6)))

    assert results == [0, 10, 20, 30, 40, 50]
    assert writes == [[0, 1, 2, 3], [4, 5]]
    assert await batcher.submit(7) == 70  # and it goes on working after a batch
    assert writes[-1] == [7]


async def test_a_failed_write_fails_every_caller_of_that_batch_only() -> None:
    calls = 0

    async def write(items: list[str]) -> list[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("database away")
        return items

    batcher: Batcher[str, str] = Batcher(write)
    first = await asyncio.gather(batcher.submit("a"), batcher.submit("b"), return_exceptions=True)
    assert [type(r) for r in first] == [ConnectionError, ConnectionError]
    assert await batcher.submit("c") == "c"


async def test_a_caller_cancelled_while_waiting_leaves_the_others_their_answers() -> None:
    release = asyncio.Event()

    async def write(items: list[int]) -> list[int]:
        await release.wait()
        return items

    batcher: Batcher[int, int] = Batcher(write)
    impatient = asyncio.create_task(batcher.submit(1))
    patient = asyncio.create_task(batcher.submit(2))
    await asyncio.sleep(0.01)
    impatient.cancel()
    release.set()

    assert await patient == 2
    with pytest.raises(asyncio.CancelledError):
        await impatient
