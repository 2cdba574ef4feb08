"""The foundation's guarantees, shown with real Kafka and FerretDB and separate OS processes."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from pymongo import AsyncMongoClient

from rbn_shared.events import Envelope
from tests.support.infra import Infra
from tests.support.kafka_reader import header, read_topic
from tests.support.processes import Process

pytestmark = pytest.mark.integration

APP = "tests.support.pipeline_app"
Mongo = AsyncMongoClient[dict[str, object]]


def app(name: str, *args: str, env: dict[str, str], log_dir: Path) -> Process:
    return Process.python_module(name, APP, *args, env=env, log_dir=log_dir)


async def effect_counts(mongo: Mongo, env: dict[str, str]) -> dict[str, int]:
    effects = mongo[env["RBN_MONGO_DATABASE"]]["effects"]
    return {str(d["_id"]): int(d["count"]) async for d in effects.find()}  # type: ignore[call-overload]


async def wait_for_effects(
    mongo: Mongo, env: dict[str, str], n: int, timeout: float = 30
) -> dict[str, int]:
    import asyncio

    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    counts: dict[str, int] = {}
    while loop.time() < deadline:
        counts = await effect_counts(mongo, env)
        if len(counts) >= n:
            return counts
        await asyncio.sleep(0.2)
    raise AssertionError(f"expected {n} effects, have {counts}")


async def test_event_written_through_outbox_reaches_consumer_in_another_process(
    isolated: dict[str, str], mongo: Mongo, tmp_path: Path
) -> None:
    consumer = app("consumer", "consume", env=isolated, log_dir=tmp_path).start()
    try:
        consumer.wait_for("consumer started")
        writer = app("writer", "write", "bochum", env=isolated, log_dir=tmp_path).start()
        assert writer.wait() == 0, writer.output
        assert "outbox empty" in writer.output

        counts = await wait_for_effects(mongo, isolated, 1)
        assert list(counts.values()) == [1]
        doc = await mongo[isolated["RBN_MONGO_DATABASE"]]["networks"].find_one({"_id": "bochum"})
        assert doc is not None
        assert doc["outbox"] == [], "published events leave the outbox"
    finally:
        consumer.stop()


async def test_writer_killed_before_publish_loses_nothing(
    isolated: dict[str, str], mongo: Mongo, tmp_path: Path
) -> None:
    writer = app(
        "writer", "write", "hagen", "--crash-before-publish", env=isolated, log_dir=tmp_path
    ).start()
    assert writer.wait() == -9, "the writer dies by SIGKILL right after its state write"
    stored = await mongo[isolated["RBN_MONGO_DATABASE"]]["networks"].find_one({"_id": "hagen"})
    assert stored is not None
    assert len(stored["outbox"]) == 1, "state and event were stored together"  # type: ignore[arg-type]

    consumer = app("consumer", "consume", env=isolated, log_dir=tmp_path).start()
    relay = app("relay", "relay", env=isolated, log_dir=tmp_path).start()
    try:
        counts = await wait_for_effects(mongo, isolated, 1)
        assert list(counts.values()) == [1]
        # A second relay pass and a consumer restart must not apply it again.
        relay.stop()
        consumer.stop()
        consumer = app("consumer", "consume", env=isolated, log_dir=tmp_path).start()
        consumer.wait_for("consumer started", count=2)
        relay = app("relay", "relay", env=isolated, log_dir=tmp_path).start()
        await _settle()
        assert list((await effect_counts(mongo, isolated)).values()) == [1]
    finally:
        relay.stop()
        consumer.stop()


async def test_same_event_delivered_twice_has_one_effect(
    isolated: dict[str, str], infra: Infra, mongo: Mongo, tmp_path: Path
) -> None:
    envelope = _network_registered("herne")
    topic = isolated["RBN_TOPIC_PREFIX"] + "registry.events"
    await _send_raw(infra, topic, envelope.to_wire(), key=b"herne", times=2)
    consumer = app("consumer", "consume", env=isolated, log_dir=tmp_path).start()
    try:
        consumer.wait_for("applied")
        await _settle()
        assert await effect_counts(mongo, isolated) == {str(envelope.event_id): 1}
        records = await read_topic(infra.kafka_bootstrap, topic, until=lambda r: len(r) >= 2)
        assert len(records) == 2, "the broker really holds the event twice"
    finally:
        consumer.stop()


async def test_malformed_message_goes_to_dead_letters_and_the_next_is_processed(
    isolated: dict[str, str], infra: Infra, mongo: Mongo, tmp_path: Path
) -> None:
    topic = isolated["RBN_TOPIC_PREFIX"] + "registry.events"
    good = _network_registered("hamm")
    invalid = json.loads(good.to_wire())
    invalid["event_id"] = str(uuid.uuid4())
    invalid["payload"]["office"]["email"] = "not an address"
    # All on one key, so they share one partition and the good one comes after the bad ones.
    await _send_raw(infra, topic, b"{this is not json", key=b"hamm")
    await _send_raw(infra, topic, json.dumps(invalid).encode(), key=b"hamm")
    await _send_raw(infra, topic, good.to_wire(), key=b"hamm")

    consumer = app("consumer", "consume", env=isolated, log_dir=tmp_path).start()
    try:
        counts = await wait_for_effects(mongo, isolated, 1)
        assert counts == {str(good.event_id): 1}
        dead = await read_topic(infra.kafka_bootstrap, topic + ".dlq", until=lambda r: len(r) >= 2)
        reasons = sorted(header(r, "dlq-reason") or "" for r in dead)
        assert reasons == ["invalid-payload", "undecodable"]
        for record in dead:
            assert header(record, "dlq-original-topic") == topic
            assert header(record, "dlq-error"), "the reason's detail travels along"
        assert {r.value for r in dead} == {b"{this is not json", json.dumps(invalid).encode()}
    finally:
        consumer.stop()


async def test_consumer_killed_before_its_effect_processes_the_event_after_restart(
    isolated: dict[str, str], infra: Infra, mongo: Mongo, tmp_path: Path
) -> None:
    envelope = _network_registered("dortmund")
    topic = isolated["RBN_TOPIC_PREFIX"] + "registry.events"
    await _send_raw(infra, topic, envelope.to_wire(), key=b"dortmund")
    marker = tmp_path / "crashed-once"

    first = app(
        "consumer",
        "consume",
        "--crash-before-effect-once",
        str(marker),
        env=isolated,
        log_dir=tmp_path,
    ).start()
    assert first.wait(60) == -9, first.output
    assert marker.read_text() == str(envelope.event_id), "it died while handling our event"
    assert await effect_counts(mongo, isolated) == {}

    second = app(
        "consumer",
        "consume",
        "--crash-before-effect-once",
        str(marker),
        env=isolated,
        log_dir=tmp_path,
    ).start()
    try:
        counts = await wait_for_effects(mongo, isolated, 1)
        assert counts == {str(envelope.event_id): 1}
    finally:
        second.stop()


# ----------------------------------------------------------------------------- helpers


def _network_registered(network_id: str) -> Envelope:
    from rbn_shared.events import new_event
    from rbn_shared.events.base import MunicipalityKind, NetworkRef
    from rbn_shared.events.registry import (
        Municipality,
        NetworkRegistered,
        OfficeContact,
    )

    return new_event(
        NetworkRegistered(
            network=NetworkRef(id=network_id, name=f"Netzwerk {network_id}"),
            municipality=Municipality(name=network_id.title(), kind=MunicipalityKind.CITY),
            office=OfficeContact(name="Bildungsbüro", email="buero@example.org"),
        ),
        key=network_id,
        aggregate_id=network_id,
        aggregate_version=1,
        correlation_id=f"test-{network_id}",
    )


async def _send_raw(infra: Infra, topic: str, value: bytes, *, key: bytes, times: int = 1) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for _ in range(times):
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def _settle(seconds: float = 3.0) -> None:
    """Give a wrongly repeated effect the time to show up before counting."""
    import asyncio

    await asyncio.sleep(seconds)
