"""A small writer / relay / consumer built only from rbn_shared, run as separate OS processes.

    python -m tests.support.pipeline_app write NETWORK_ID [--crash-before-publish]
    python -m tests.support.pipeline_app relay
    python -m tests.support.pipeline_app consume [--crash-before-effect-once FILE]

Configuration comes from the environment (RBN_TOPIC_PREFIX, RBN_MONGO_DATABASE, ...). The consumer's
effect deliberately is NOT idempotent (`$inc` of a counter per event id), so a second application
of one event would show as a count of 2.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path

from rbn_shared.consumer import EventConsumer
from rbn_shared.events import Envelope, new_event
from rbn_shared.events.base import MunicipalityKind, NetworkRef
from rbn_shared.events.registry import Municipality, NetworkRegistered, OfficeContact
from rbn_shared.kafka import (
    BrokerDeadLetters,
    KafkaPublisher,
    attach_consumer,
    ensure_project_topics,
    make_broker,
)
from rbn_shared.logging import configure_logging
from rbn_shared.mongo import connect, database
from rbn_shared.outbox import AggregateStore, KeyedLocks, OutboxRecord, OutboxRelay
from rbn_shared.settings import ServiceSettings

EFFECTS = "effects"


def die_hard() -> None:
    """As abrupt as a power cut: no cleanup, no flush, no commit."""
    os.kill(os.getpid(), signal.SIGKILL)


async def write(settings: ServiceSettings, network_id: str, crash_before_publish: bool) -> None:
    client = connect(settings)
    store = AggregateStore(database(client, settings)["networks"], KeyedLocks())
    event = new_event(
        NetworkRegistered(
            network=NetworkRef(id=network_id, name=f"Netzwerk {network_id}"),
            municipality=Municipality(name=f"Stadt {network_id}", kind=MunicipalityKind.CITY),
            office=OfficeContact(name="Regionales Bildungsbüro", email="buero@example.org"),
        ),
        key=network_id,
        aggregate_id=network_id,
        aggregate_version=1,
        correlation_id=f"test-{network_id}",
    )
    await store.insert(
        {"_id": network_id, "name": f"Netzwerk {network_id}"},
        [OutboxRecord.of(event, settings.topics.registry)],
    )
    print(f"stored {network_id} event {event.event_id}", flush=True)
    if crash_before_publish:
        die_hard()
    await relay(settings, until_empty=True)


async def relay(settings: ServiceSettings, until_empty: bool = False) -> None:
    client = connect(settings)
    broker = make_broker(settings, "pipeline-relay")
    await broker.connect()
    store = AggregateStore(database(client, settings)["networks"], KeyedLocks())
    relay = OutboxRelay([store], KafkaPublisher(broker), poll_seconds=0.2)
    try:
        if until_empty:
            while await relay.drain():
                pass
            print("outbox empty", flush=True)
        else:
            await relay.run()
    finally:
        await broker.stop()


async def consume(settings: ServiceSettings, crash_marker: Path | None) -> None:
    client = connect(settings)
    db = database(client, settings)
    broker = make_broker(settings, "pipeline-consumer")

    async def on_network_registered(envelope: Envelope, payload: NetworkRegistered) -> None:
        if crash_marker is not None and not crash_marker.exists():
            crash_marker.write_text(str(envelope.event_id))
            print(f"crashing while handling {envelope.event_id}", flush=True)
            die_hard()
        await db[EFFECTS].update_one(
            {"_id": str(envelope.event_id)},
            {"$inc": {"count": 1}, "$set": {"network": payload.network.id}},
            upsert=True,
        )
        print(f"applied {envelope.event_id}", flush=True)

    consumer = EventConsumer(
        name="pipeline-consumer",
        service="pipeline",
        db=db,
        handlers={"network-registered": on_network_registered},
        dead_letters=BrokerDeadLetters(broker),
        max_attempts=2,
        retry_base_seconds=0.05,
    )
    attach_consumer(broker, consumer, [settings.topics.registry], group_id="pipeline-consumer")
    await broker.start()
    print("consumer started", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="role", required=True)
    w = sub.add_parser("write")
    w.add_argument("network_id")
    w.add_argument("--crash-before-publish", action="store_true")
    sub.add_parser("relay")
    c = sub.add_parser("consume")
    c.add_argument("--crash-before-effect-once", type=Path, default=None)
    sub.add_parser("topics")
    args = parser.parse_args()

    settings = ServiceSettings()
    configure_logging("pipeline-" + args.role, "INFO", "json")
    if args.role == "write":
        asyncio.run(write(settings, args.network_id, args.crash_before_publish))
    elif args.role == "relay":
        asyncio.run(relay(settings))
    elif args.role == "consume":
        asyncio.run(consume(settings, args.crash_before_effect_once))
    elif args.role == "topics":
        asyncio.run(ensure_project_topics(settings))
    sys.exit(0)


if __name__ == "__main__":
    main()
