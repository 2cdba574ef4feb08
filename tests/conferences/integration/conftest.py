"""One service process per test module: module-wide isolation (own topics, own database)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.conferences.support import ConferencesService, RegistryFeed
from tests.conftest import make_isolated
from tests.support.infra import Infra


@pytest.fixture(scope="module")
async def module_isolated(infra: Infra) -> dict[str, str]:
    """Like the `isolated` fixture, for a whole module."""
    return await make_isolated(infra)


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
