"""Session-wide real servers and per-test isolation (own topic prefix, own database).

Unit tests request none of these fixtures and need no server.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Generator, Iterator

import pytest
from aiokafka.admin import AIOKafkaAdminClient
from pymongo import AsyncMongoClient

from rbn_shared.kafka import ensure_topics
from rbn_shared.settings import ServiceSettings
from tests.support.infra import Infra, real_infra

# The services under test sign callers in with static token tables, which only development
# accepts (production refuses them: tests/auth/test_configuration.py); child processes inherit it.
os.environ.setdefault("RBN_ENVIRONMENT", "development")

PARTITIONS = 6
RUN_ID = uuid.uuid4().hex[:8]  # names this run's topics and databases


async def _remove_run_data(infra: Infra) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=infra.kafka_bootstrap)
    await admin.start()
    try:
        ours = [t for t in await admin.list_topics() if t.startswith(f"test.{RUN_ID}.")]
        if ours:
            await admin.delete_topics(ours)
    finally:
        await admin.close()
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(infra.mongo_url)
    try:
        for name in await client.list_database_names():
            if name.startswith(f"test_{RUN_ID}"):
                await client.drop_database(name)
    finally:
        await client.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A failed test that ran the services as processes shows the end of their logs: a mail
    that never came is explained there, and CI keeps nothing else."""
    report = yield
    if call.when == "call" and report.failed:
        system = getattr(item, "funcargs", {}).get("system")
        for service in getattr(system, "services", []):
            report.sections.append((f"{service.name} log (end)", service.log[-8000:]))
    return report


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    with real_infra() as servers:
        yield servers
        asyncio.run(_remove_run_data(servers))


async def make_isolated(infra: Infra) -> dict[str, str]:
    """Environment for programs under test: own topics (created here) and own database."""
    suffix = uuid.uuid4().hex[:6]
    prefix = f"test.{RUN_ID}.{suffix}."
    await ensure_topics(
        infra.kafka_bootstrap,
        ServiceSettings(topic_prefix=prefix).topics.all(),
        partitions=PARTITIONS,
    )
    return {
        "RBN_KAFKA_BOOTSTRAP_SERVERS": infra.kafka_bootstrap,
        "RBN_MONGO_URL": infra.mongo_url,
        "RBN_MONGO_DATABASE": f"test_{RUN_ID}_{suffix}",
        "RBN_TOPIC_PREFIX": prefix,
    }


@pytest.fixture
async def isolated(infra: Infra) -> dict[str, str]:
    """Own topics and database for one test."""
    return await make_isolated(infra)


@pytest.fixture(scope="module")
async def isolated_module(infra: Infra) -> dict[str, str]:
    """Own topics and database shared by the tests of one module."""
    return await make_isolated(infra)


@pytest.fixture
async def mongo(infra: Infra) -> AsyncIterator[AsyncMongoClient[dict[str, object]]]:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(infra.mongo_url, tz_aware=True)
    yield client
    await client.close()
