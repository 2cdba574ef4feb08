"""What operators ask Kafka: dead letters, consumer lag."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from rbn_shared.kafka import Servers


@dataclass(frozen=True)
class GroupLag:
    group: str
    topic: str
    lag: int


async def partitions_of(bootstrap: Servers, topic: str) -> list[TopicPartition]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        described = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return [
        TopicPartition(topic, p["partition"])
        for t in described
        if t.get("error_code", 0) == 0
        for p in t.get("partitions", [])
    ]


async def end_offsets(bootstrap: Servers, topic: str) -> dict[TopicPartition, int]:
    partitions = await partitions_of(bootstrap, topic)
    if not partitions:
        return {}
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        return dict(await consumer.end_offsets(partitions))
    finally:
        await consumer.stop()


async def count_records(bootstrap: Servers, topic: str) -> int:
    """Records in a topic (end minus beginning offsets, over all partitions)."""
    partitions = await partitions_of(bootstrap, topic)
    if not partitions:
        return 0
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.beginning_offsets(partitions)
        return sum(ends[p] - starts[p] for p in partitions)
    finally:
        await consumer.stop()


async def read_all(
    bootstrap: Servers, topic: str, limit: int
) -> list[ConsumerRecord[bytes, bytes]]:
    """Up to `limit` records of a topic from the beginning, without committing anything."""
    expected = await count_records(bootstrap, topic)
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=f"rbn-ops-{uuid.uuid4().hex[:8]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    try:
        idle = 0
        while len(records) < min(limit, expected) and idle < 10:
            batch = await consumer.getmany(timeout_ms=300)
            idle = 0 if batch else idle + 1
            for partition_records in batch.values():
                records.extend(partition_records)
    finally:
        await consumer.stop()
    return records[:limit]


async def consumer_lag(bootstrap: Servers, topic_prefix: str) -> list[GroupLag]:
    """For every consumer group reading the project's topics: how far behind it is."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        groups = [g[0] for g in await admin.list_consumer_groups()]
        lags: list[GroupLag] = []
        ends_cache: dict[str, dict[TopicPartition, int]] = {}
        for group in sorted(groups):
            committed = await admin.list_consumer_group_offsets(group)
            per_topic: dict[str, int] = {}
            for tp, meta in committed.items():
                if not tp.topic.startswith(topic_prefix):
                    continue
                if tp.topic not in ends_cache:
                    ends_cache[tp.topic] = await end_offsets(bootstrap, tp.topic)
                end = ends_cache[tp.topic].get(tp, meta.offset)
                per_topic[tp.topic] = per_topic.get(tp.topic, 0) + max(0, end - meta.offset)
            lags.extend(GroupLag(group, topic, lag) for topic, lag in sorted(per_topic.items()))
        return lags
    finally:
        await admin.close()
