"""Kafka through FastStream's KafkaBroker: a safe broker configuration and topic creation.

Producers wait for all in-sync replicas and are idempotent. Consumers commit an offset only after
the handler returned (`AckPolicy.NACK_ON_ERROR`: an exception seeks back, nothing is committed
before processing). Topics are created by the project, never auto-created by the broker.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from aiokafka import TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from faststream import AckPolicy
from faststream.kafka import KafkaBroker
from faststream.kafka.annotations import KafkaMessage
from faststream.message import StreamMessage

from rbn_shared.consumer import EventConsumer, Incoming
from rbn_shared.logging import get_logger
from rbn_shared.retrying import KAFKA_STARTUP
from rbn_shared.settings import ServiceSettings

log = get_logger(__name__)

Servers = str | list[str]
"""Where the brokers are: one host:port, or a list of them (as the settings give them)."""


def make_broker(settings: ServiceSettings, client_id: str) -> KafkaBroker:
    return KafkaBroker(
        settings.kafka_bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        allow_auto_create_topics=False,
        ack_policy=AckPolicy.NACK_ON_ERROR,
        linger_ms=2,
        graceful_timeout=15.0,
    )


async def ensure_topics(
    bootstrap_servers: Servers,
    topics: Iterable[str],
    *,
    partitions: int,
    replication_factor: int = 1,
    retention_ms: int | None = None,
    timeout: float = 60.0,
) -> list[str]:
    """Create the topics that do not exist yet; return the names created. With `retention_ms`,
    each topic keeps its events that long, existing ones included (their settings are rewritten
    to the project's: the durability below and the retention).

    Retries until Kafka answers or `timeout` runs out, so a service may start before the broker.
    """
    wanted = sorted(set(topics))
    # A write counts when a majority of the replicas has it (2 of 3), and a replica that missed
    # writes never becomes leader: what was acknowledged survives the loss of a minority.
    durability = {
        "min.insync.replicas": str(replication_factor // 2 + 1),
        "unclean.leader.election.enable": "false",
    }
    if retention_ms is not None:
        durability["retention.ms"] = str(retention_ms)

    async def create_missing() -> list[str]:
        admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers, client_id="rbn-admin")
        try:
            await admin.start()
            existing = set(await admin.list_topics())
            missing = [t for t in wanted if t not in existing]
            if missing:
                # Another service may create one at the same moment.
                with contextlib.suppress(TopicAlreadyExistsError):
                    await admin.create_topics(
                        [
                            NewTopic(t, partitions, replication_factor, topic_configs=durability)
                            for t in missing
                        ]
                    )
                log.info("kafka topics created", topics=missing, partitions=partitions)
            present = [t for t in wanted if t in existing]
            if retention_ms is not None and present:
                await _keep_events_for(admin, present, durability)
            return missing
        finally:
            await admin.close()

    try:
        return await KAFKA_STARTUP.but(timeout=timeout).call(create_missing)
    except (KafkaError, OSError) as error:
        raise RuntimeError(
            f"Kafka at {bootstrap_servers} did not answer within {timeout:.0f}s: {error}"
        ) from error


async def _keep_events_for(
    admin: AIOKafkaAdminClient, topics: list[str], configs: dict[str, str]
) -> None:
    """Set the project's settings on existing topics whose retention differs (the classic
    AlterConfigs replaces a topic's dynamic settings, so all of them are sent)."""
    described = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, t) for t in topics]
    )
    current: dict[str, str] = {}
    for response in described:
        for resource in response.resources:
            name, entries = resource[3], resource[4]
            for entry in entries:
                if entry[0] == "retention.ms":
                    current[name] = entry[1]
    stale = [t for t in topics if current.get(t) != configs["retention.ms"]]
    if stale:
        await admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, t, configs) for t in stale]
        )
        log.info("kafka topic retention set", topics=stale, retention_ms=configs["retention.ms"])


async def ensure_project_topics(settings: ServiceSettings) -> list[str]:
    return await ensure_topics(
        settings.kafka_bootstrap_servers,
        settings.topics.all(),
        partitions=settings.topic_partitions,
        replication_factor=settings.topic_replication_factor,
        retention_ms=round(settings.topic_retention_days * 86_400_000),
    )


class KafkaPublisher:
    """Sends outbox records through the broker, pipelined, and waits for every acknowledgement.

    Records of one key go to one partition; the idempotent producer keeps their order even while
    several are in flight.
    """

    def __init__(self, broker: KafkaBroker) -> None:
        self._broker = broker

    async def publish_all(self, records: Sequence[Mapping[str, Any]]) -> None:
        pending = [
            await self._broker.publish(
                str(record["value"]).encode(),
                str(record["topic"]),
                key=str(record["key"]).encode(),
                headers=dict(record["headers"]),
                correlation_id=record["headers"].get("correlation_id"),
                no_confirm=True,
            )
            for record in records
        ]
        await asyncio.gather(*pending)


class BrokerDeadLetters:
    """Writes dead letters with the same broker (acks from all in-sync replicas)."""

    def __init__(self, broker: KafkaBroker) -> None:
        self._broker = broker

    async def send(
        self, topic: str, key: bytes | None, value: bytes, headers: dict[str, str]
    ) -> None:
        await self._broker.publish(value, topic, key=key, headers=headers)


async def _raw_bodies(message: StreamMessage[Any]) -> Any:
    """Hand the handler the undecoded bytes: the consumer decodes and dead-letters itself."""
    return message.body


def attach_consumer(
    broker: KafkaBroker,
    consumer: EventConsumer,
    topics: Sequence[str],
    *,
    group_id: str,
    max_records: int = 500,
    max_poll_interval_ms: int = 10 * 60 * 1000,
) -> None:
    """Subscribe `consumer` to `topics` in consumer group `group_id`, from the earliest offset.

    Records arrive in batches of up to `max_records`. The handler returns only after every
    record of the batch was processed, dead-lettered or skipped; FastStream then commits the
    batch's offsets. An exception (a shutdown mid-batch) seeks back: nothing is committed early.
    """

    @broker.subscriber(
        *topics,
        group_id=group_id,
        batch=True,
        max_records=max_records,
        batch_timeout_ms=100,
        auto_offset_reset="earliest",
        ack_policy=AckPolicy.NACK_ON_ERROR,
        decoder=_raw_bodies,
        max_poll_interval_ms=max_poll_interval_ms,
        title=f"{group_id}:{'+'.join(topics)}",
    )
    async def on_batch(bodies: Any, message: KafkaMessage) -> None:
        raw = message.raw_message
        records = raw if isinstance(raw, tuple) else (raw,)
        await consumer.process_batch(
            [
                Incoming(
                    topic=record.topic,
                    partition=record.partition,
                    offset=record.offset,
                    key=record.key,
                    value=record.value or b"",
                    headers={k: v.decode(errors="replace") for k, v in (record.headers or ())},
                    highwater=_highwater(message.consumer, record),
                )
                for record in records
            ]
        )


def _highwater(client: Any, record: Any) -> int | None:
    """The partition's end offset as the consumer last saw it (for the lag)."""
    if not hasattr(client, "highwater"):
        return None
    try:
        value = client.highwater(TopicPartition(record.topic, record.partition))
    except (AssertionError, KeyError, ValueError):  # not assigned any more
        return None
    return int(value) if value is not None else None
