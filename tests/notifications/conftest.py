"""Per-module isolation for the notifications tests: one service process serves a whole module."""

from __future__ import annotations

import uuid

import pytest

from rbn_shared.kafka import ensure_topics
from rbn_shared.settings import ServiceSettings
from tests.conftest import PARTITIONS, RUN_ID
from tests.support.infra import Infra


@pytest.fixture(scope="module")
async def module_env(infra: Infra) -> dict[str, str]:
    """Like `isolated`, for a module: own topics and own database (removed after the run)."""
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
