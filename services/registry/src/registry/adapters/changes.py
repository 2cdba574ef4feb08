"""The audit trail's storage: one small record per change of a network, never its content."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from rbn_shared.events import Envelope
from rbn_shared.mongo import Document, insert_new
from rbn_shared.privacy import ERASED_NAME, mentions


class ChangeLog:
    """`changes`: who changed what of which network when, from the events' envelopes. The
    payload is not kept: the trail names the change, the people in it stay where they belong."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._changes = collection

    async def create_indexes(self) -> None:
        await self._changes.create_index([("network_id", ASCENDING), ("occurred_at", DESCENDING)])

    async def record(self, envelopes: Sequence[Envelope]) -> None:
        """One entry per event, in one write. Keyed by the event's id: a repeated delivery of
        an event records nothing new."""
        await insert_new(
            self._changes,
            [
                {
                    "_id": str(envelope.event_id),
                    "network_id": envelope.key,
                    "type": envelope.type,
                    "producer": envelope.producer,
                    "aggregate_id": envelope.aggregate_id,
                    "occurred_at": envelope.occurred_at,
                    "actor": envelope.actor,
                    "correlation_id": envelope.correlation_id,
                }
                for envelope in envelopes
            ],
        )

    async def mentioning(
        self, needles: Sequence[str], *, network_id: str | None = None
    ) -> list[Document]:
        """The entries (of one network, if given) in which any text contains one of the
        needles, ignoring case."""
        query = {} if network_id is None else {"network_id": network_id}
        return [doc async for doc in self._changes.find(query) if mentions(doc, needles)]

    async def forget(self, needles: Sequence[str], *, network_id: str | None = None) -> int:
        """Replace, in the entries that mention the person, every text that does by the
        placeholder name; who, when and which change stay. How many entries it rewrote.

        The trail keeps no payloads, so this finds nothing unless an entry was written
        otherwise; it is the promise that the trail never outlives an erasure."""
        found = await self.mentioning(needles, network_id=network_id)
        for doc in found:
            rest = {k: v for k, v in doc.items() if k not in _WHO_WHEN_WHAT}
            if not rest:
                continue
            await self._changes.update_one({"_id": doc["_id"]}, {"$set": _scrubbed(rest, needles)})
        return len(found)

    async def of_network(
        self, network_id: str, *, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        """The network's changes, newest first, and how many there are."""
        found = (
            self._changes.find({"network_id": network_id})
            .sort([("occurred_at", DESCENDING), ("_id", ASCENDING)])
            .skip(offset)
            .limit(limit)
        )
        total = await self._changes.count_documents({"network_id": network_id})
        return [_as_change(doc) async for doc in found], total


_WHO_WHEN_WHAT = ("_id", "type", "producer", "occurred_at", "actor")


def _scrubbed(value: Any, needles: Sequence[str]) -> Any:
    if isinstance(value, str):
        return ERASED_NAME if mentions(value, needles) else value
    if isinstance(value, dict):
        return {k: _scrubbed(v, needles) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrubbed(v, needles) for v in value]
    return value


def _as_change(doc: Document) -> dict[str, Any]:
    change = dict(doc)
    change["event_id"] = change.pop("_id")
    return change
