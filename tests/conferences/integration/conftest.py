"""One service process per test module: module-wide isolation (own topics, own database)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rbn_shared.kafka import ensure_topics
from rbn_shared.settings import ServiceSettings
from tests.conferences.support import ConferencesService, RegistryFeed
from tests.conftest import PARTITIONS, RUN_ID
from tests.support.infra import Infra


@pytest.fixture(scope="module")
async def module_isolated(infra: Infra) -> dict[str, str]:
    """Like the `isolated` fixture, for a whole module (named so the session cleanup finds it)."""
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


@pytest.fixture(scope="module")
def feed(infra: Infra, module_isolated: dict[str, str]) -> RegistryFeed:
    return RegistryFeed(
        infra.kafka_bootstrap, module_isolated["RBN_TOPIC_PREFIX"] + "registry.events"
    )


@pytest.fixture(scope="module")
def conferences_topic(module_isolated: dict[str, str]) -> str:
    return module_isolated["RBN_TOPIC_PREFIX"] + "conferences.events"


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("conferences-logs")


@pytest.fixture(scope="module")
async def service(
    module_isolated: dict[str, str], log_dir: Path
) -> AsyncIterator[ConferencesService]:
    running = ConferencesService(
        module_isolated, log_dir, offices=("hagen", "herne", "hamm", "unna", "soest")
    ).start()
    yield running
    running.stop()
