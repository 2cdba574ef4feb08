"""The services' own maintenance commands, as an operator runs them (the `rbn` CLI has none:
it talks to the services only through their APIs and Kafka).

    rbn-registry seed                      the twelve networks, what exists left as it is
    rbn-conferences rebuild-projection     the projection, replayed from the registry topic
"""

from __future__ import annotations

import asyncio
import sys
from datetime import date
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from pymongo import MongoClient

from rbn_shared.events import new_event
from rbn_shared.events.base import MunicipalityKind
from rbn_shared.events.registry import (
    CooperationAgreementSigned,
    Municipality,
    NetworkRegistered,
    OfficeContact,
)
from tests.examples.test_subscriber import NETWORK
from tests.support.env import service_env
from tests.support.infra import Infra
from tests.support.processes import Process

pytestmark = pytest.mark.integration

SCRIPTS = Path(sys.executable).parent  # the workspace's console scripts


def run_script(name: str, *args: str, env: dict[str, str], log_dir: Path) -> str:
    command = Process(name, [str(SCRIPTS / name), *args], env, log_dir).start()
    assert command.wait(120) == 0, command.output
    return command.output


def test_seed_registers_the_twelve_networks_once(isolated: dict[str, str], tmp_path: Path) -> None:
    env = service_env("REGISTRY_", isolated)
    first = run_script("rbn-registry", "seed", env=env, log_dir=tmp_path / "first")
    assert "Done: created 12, left 0 as they were" in first
    again = run_script("rbn-registry", "seed", env=env, log_dir=tmp_path / "again")
    assert "Done: created 0, left 12 as they were" in again


def test_rebuild_projection_replays_the_registry_topic(
    isolated: dict[str, str], infra: Infra, tmp_path: Path
) -> None:
    from conferences.adapters.documents import view_from_document
    from conferences.adapters.repositories import NETWORKS

    registered = NetworkRegistered(
        network=NETWORK,
        municipality=Municipality(name="Soest", kind=MunicipalityKind.DISTRICT),
        office=OfficeContact(name="Büro", email="rbn@soest.example"),
    )
    signed = CooperationAgreementSigned(
        network=NETWORK,
        agreement_id="agr-1",
        signed_on=date(2009, 6, 1),
        valid_from=date(2009, 6, 1),
    )
    values = [
        new_event(
            p,
            key="kreis-soest",
            aggregate_id="kreis-soest",
            aggregate_version=v,
            correlation_id="c",
        ).to_wire()
        for v, p in ((1, registered), (2, signed))
    ]

    async def publish() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, acks="all")
        await producer.start()
        try:
            for value in values:
                await producer.send_and_wait(
                    isolated["RBN_TOPIC_PREFIX"] + "registry.events", value, key=b"kreis-soest"
                )
        finally:
            await producer.stop()

    asyncio.run(publish())
    env = service_env("CONFERENCES_", isolated)
    output = run_script("rbn-conferences", "rebuild-projection", env=env, log_dir=tmp_path)
    assert "2 events replayed, 2 applied, 1 networks" in output
    client: MongoClient[dict[str, object]] = MongoClient(infra.mongo_url)
    try:
        doc = client[isolated["RBN_MONGO_DATABASE"]][NETWORKS].find_one({"_id": "kreis-soest"})
    finally:
        client.close()
    assert doc is not None
    view = view_from_document(doc)
    assert view.agreement_active
    assert view.name == NETWORK.name
