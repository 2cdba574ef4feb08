"""The audit trail's storage: one small record per change of a network, never its content."""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.collection import AsyncCollection

from rbn_shared.events import Envelope
from rbn_shared.mongo import Document, insert_new


class ChangeLog:
    """`changes`: who changed what of which network when, from the events' envelopes. The
    payload is not kept: the trail names the change, the people in it stay where they belong."""

    def __init__(self, collection: AsyncCollection[Document]) -> None:
        self._changes = collection

    async def create_indexes(self) -> None:
        await self._changes.create_index([("network_id", ASCENDING), ("occurred_at", DESCENDING)])

    async def record(self, envelope: Envelope) -> None:
        # Keyed by the event's id: a repeated delivery of the event records nothing new.
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
            ],
        )

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


def _as_change(doc: Document) -> dict[str, Any]:
    change = dict(doc)
    change["event_id"] = change.pop("_id")
    return change
