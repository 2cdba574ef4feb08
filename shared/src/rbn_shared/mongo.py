"""MongoDB access through PyMongo's async API (`AsyncMongoClient`, the successor of Motor)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import (
    AutoReconnect,
    BulkWriteError,
    ConnectionFailure,
    NetworkTimeout,
    OperationFailure,
    ServerSelectionTimeoutError,
)

from rbn_shared.metrics import DB_COMMAND_SECONDS
from rbn_shared.settings import ServiceSettings

Document = dict[str, Any]

DUPLICATE_KEY = 11000  # the server's error code for a unique index refusing a write


def refused_as_duplicate(error: OperationFailure) -> bool:
    """A unique index refused the write. MongoDB says so with its code; FerretDB on SQLite
    answers an *update* that breaks a unique index with an internal error naming SQLite's
    constraint instead (its inserts carry the code)."""
    return error.code == DUPLICATE_KEY or "UNIQUE constraint failed" in str(error)


# Errors that mean "the database is not reachable right now": retry, never dead-letter.
TRANSIENT_DB_ERRORS: tuple[type[Exception], ...] = (
    AutoReconnect,
    ConnectionFailure,
    NetworkTimeout,
    ServerSelectionTimeoutError,
)


class CommandTimer(monitoring.CommandListener):
    """Counts and times every database command, by its name and collection, for `/metrics`."""

    def __init__(self, service: str) -> None:
        self._service = service
        self._collections: dict[int, str] = {}  # request id → collection, until the answer

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        target = event.command.get(event.command_name)
        self._collections[event.request_id] = target if isinstance(target, str) else ""

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        self._observe(event, "ok")

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._observe(event, "error")

    def _observe(
        self, event: monitoring.CommandSucceededEvent | monitoring.CommandFailedEvent, outcome: str
    ) -> None:
        collection = self._collections.pop(event.request_id, "")
        DB_COMMAND_SECONDS.labels(self._service, event.command_name, collection, outcome).observe(
            event.duration_micros / 1e6
        )


def connect(settings: ServiceSettings) -> AsyncMongoClient[Document]:
    service = settings.model_config.get("env_prefix", "rbn").strip("_").lower()
    return AsyncMongoClient(
        settings.mongo_url.get_secret_value(),
        tz_aware=True,
        uuidRepresentation="standard",
        serverSelectionTimeoutMS=5_000,
        connectTimeoutMS=5_000,
        appname=service,
        event_listeners=[CommandTimer(service)],
    )


def database(
    client: AsyncMongoClient[Document], settings: ServiceSettings
) -> AsyncDatabase[Document]:
    return client[settings.mongo_database]


async def ping(db: AsyncDatabase[Document]) -> bool:
    try:
        await db.command("ping")
    except TRANSIENT_DB_ERRORS:
        return False
    return True


async def find_by_ids(
    collection: AsyncCollection[Document],
    ids: Sequence[object],
    projection: Mapping[str, int] | None = None,
) -> list[Document | None]:
    """The documents with these ids in one query (`$in`, which FerretDB finds by index), in
    the order asked, None for a missing one; an id asked twice is read once."""
    cursor = collection.find({"_id": {"$in": list(dict.fromkeys(ids))}}, projection)
    found = {doc["_id"]: doc async for doc in cursor}
    return [found.get(doc_id) for doc_id in ids]


async def insert_new(collection: AsyncCollection[Document], docs: Sequence[Document]) -> set[int]:
    """Insert documents in one write, leaving out those whose id or unique key exists already;
    returns the positions of the ones left out. Any other refusal is raised."""
    if not docs:
        return set()
    try:
        await collection.insert_many(list(docs), ordered=False)
    except BulkWriteError as error:
        errors = error.details.get("writeErrors", [])
        if any(e.get("code") != DUPLICATE_KEY for e in errors):
            raise
        return {int(e["index"]) for e in errors}
    return set()
