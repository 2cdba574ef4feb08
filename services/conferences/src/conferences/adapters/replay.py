"""Reading a topic from its beginning to its current end, for rebuilding the projection."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

from aiokafka import AIOKafkaConsumer, TopicPartition

from rbn_shared.kafka import Servers


async def replay_topic(bootstrap_servers: Servers, topic: str) -> AsyncIterator[bytes]:
    """Every record value of `topic`, partition by partition in offset order, up to the end
    offsets as they were when the replay began. Joins no consumer group, commits nothing."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap_servers,
        client_id=f"conferences-replay-{uuid.uuid4().hex[:6]}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(await _partitions(consumer, topic))]
        consumer.assign(partitions)
        await consumer.seek_to_beginning(*partitions)
        ends = await consumer.end_offsets(partitions)
        for partition in partitions:
            end = ends[partition]
            position = await consumer.position(partition)
            while position < end:
                batch = await consumer.getmany(partition, timeout_ms=1000)
                for record in batch.get(partition, []):
                    if record.offset >= end:
                        break
                    if record.value is not None:
                        yield record.value
                position = await consumer.position(partition)
    finally:
        await consumer.stop()


async def _partitions(consumer: AIOKafkaConsumer, topic: str) -> set[int]:
    found = consumer.partitions_for_topic(topic)
    if not found:
        # A consumer that subscribes nothing knows no topic yet; aiokafka's public `topics()`
        # fetches metadata without keeping it, so refresh the client's own view.
        await consumer._client.force_metadata_update()
        found = consumer.partitions_for_topic(topic)
    if not found:
        raise RuntimeError(f"topic {topic} does not exist")
    return set(found)
