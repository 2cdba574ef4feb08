"""MongoDB access through PyMongo's async API (`AsyncMongoClient`, the successor of Motor)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import (
    AutoReconnect,
    BulkWriteError,
    ConnectionFailure,
    NetworkTimeout,
    ServerSelectionTimeoutError,
)

from rbn_shared.settings import ServiceSettings

Document = dict[str, Any]

DUPLICATE_KEY = 11000  # the server's error code for a unique index refusing a write

# Errors that mean "the database is not reachable right now": retry, never dead-letter.
TRANSIENT_DB_ERRORS: tuple[type[Exception], ...] = (
    AutoReconnect,
    ConnectionFailure,
    NetworkTimeout,
    ServerSelectionTimeoutError,
)


def connect(settings: ServiceSettings) -> AsyncMongoClient[Document]:
    return AsyncMongoClient(
        settings.mongo_url.get_secret_value(),
        tz_aware=True,
        uuidRepresentation="standard",
        serverSelectionTimeoutMS=5_000,
        connectTimeoutMS=5_000,
        appname=settings.model_config.get("env_prefix", "rbn").strip("_").lower(),
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
