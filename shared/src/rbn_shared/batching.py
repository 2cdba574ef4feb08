"""One database command for what many concurrent tasks ask for at the same moment (the
services' repositories: claims, reads and writes of concurrent requests or consumer lanes)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class Batcher(Generic[Item, Result]):
    """Collects the items that tasks submit in the same turn of the event loop and hands them to
    `write` together (at most `max_size` at a time); each task gets its own item's result, or the
    write's error.

    For example, sixteen senders starting at once claim their attempts with one insert instead of
    sixteen. A task that is cancelled while it waits does not take its item back: the write may
    still happen, just as if the process had stopped right after it.
    """

    def __init__(
        self, write: Callable[[list[Item]], Awaitable[Sequence[Result]]], *, max_size: int = 256
    ) -> None:
        self._write = write
        self._max_size = max_size
        self._waiting: list[tuple[Item, asyncio.Future[Result]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, item: Item) -> Result:
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((item, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._write_waiting())
        return await future

    async def _write_waiting(self) -> None:
        try:
            await asyncio.sleep(0)  # one more turn, for the tasks that started with this one
            while self._waiting:
                batch = self._waiting[: self._max_size]
                del self._waiting[: self._max_size]
                try:
                    results = await self._write([item for item, _ in batch])
                except Exception as error:  # each waiting task gets it, as from its own write
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                except BaseException:
                    for _, future in batch:
                        future.cancel()
                    raise
                for (_, future), result in zip(batch, results, strict=True):
                    if not future.done():
                        future.set_result(result)
        finally:
            self._writer = None
            for _, future in self._waiting:  # only if cancelled: nobody will write these
                future.cancel()
            self._waiting.clear()
