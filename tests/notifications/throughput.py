"""Mail throughput of the notifications service alone (not a test: figures, not pass/fail).

    uv run python -m tests.notifications.throughput --events 300 [--rounds 2]

Needs the local servers (Kafka, FerretDB, Mailpit). Runs the service as a process with its own
topics and database, publishes `committee-member-added` events for fresh member addresses (each
event means two mails: the new member and the network's office) and times until all of them are
in Mailpit. Every round publishes into the same database, so later rounds show how the rate holds
up as the deliveries collection grows.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from datetime import date
from pathlib import Path

import httpx
from aiokafka import AIOKafkaProducer

from rbn_shared.events import Envelope, new_event
from rbn_shared.events.base import NetworkRef, Person, Side
from rbn_shared.events.registry import CommitteeMemberAdded, CommitteeRole
from rbn_shared.kafka import ensure_topics
from rbn_shared.settings import ServiceSettings
from tests.notifications.integration.support import Service

KAFKA = "127.0.0.1:9092"
MONGO = os.environ.get("RBN_BENCH_MONGO_URL", "mongodb://127.0.0.1:27017")
MAILPIT = "http://127.0.0.1:8025/api/v1"
NETWORKS = ["bochum", "dortmund", "hagen", "hamm", "herne", "kreis-soest"]


def member_added(run: str, n: int, version: int) -> Envelope:
    network = NETWORKS[n % len(NETWORKS)]
    payload = CommitteeMemberAdded(
        network=NetworkRef(
            id=network, name=f"RBN {network}", office_email=f"office.{run}@tp.example.org"
        ),
        member_id=f"mem-{run}-{n}",
        person=Person(
            name=f"Mitglied {n}", email=f"m{n}.{run}@tp.example.org", organisation="Schule"
        ),
        side=Side.MUNICIPALITY,
        role=CommitteeRole.MEMBER,
        term_start=date(2027, 1, 1),
    )
    return new_event(
        payload, key=network, aggregate_id=network, aggregate_version=version, correlation_id=run
    )


async def publish(topic: str, envelopes: list[Envelope]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=KAFKA, acks="all", linger_ms=5)
    await producer.start()
    try:
        sends = [await producer.send(topic, e.to_wire(), key=e.key.encode()) for e in envelopes]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()


async def mailpit_total() -> int:
    """All messages Mailpit holds: a cheap count (a search would load Mailpit while it counts)."""
    async with httpx.AsyncClient(timeout=10) as client:
        page = await client.get(MAILPIT + "/messages", params={"limit": "1"})
    return int(page.json()["total"])


async def main(args: argparse.Namespace) -> None:
    run = uuid.uuid4().hex[:8]
    prefix = f"tp.{run}."
    await ensure_topics(KAFKA, ServiceSettings(topic_prefix=prefix).topics.all(), partitions=6)
    env = {
        "RBN_KAFKA_BOOTSTRAP_SERVERS": KAFKA,
        "RBN_MONGO_URL": MONGO,
        "RBN_MONGO_DATABASE": f"tp_{run}",
        "RBN_TOPIC_PREFIX": prefix,
        "NOTIFICATIONS_LOG_LEVEL": "WARNING",
        "NOTIFICATIONS_DISPATCH_POLL_SECONDS": "0.05",
        "NOTIFICATIONS_SEND_CONCURRENCY": str(args.concurrency),
    }
    service = Service(env, Path(f"/tmp/tp-{run}")).start()  # noqa: S108 - scratch logs
    try:
        for round_no in range(args.rounds):
            tag = f"{run}r{round_no}"
            base = round_no * args.events
            envelopes = [member_added(tag, base + n, 1000 + base + n) for n in range(args.events)]
            expected = 2 * args.events
            before = await mailpit_total()
            started = time.perf_counter()
            await publish(prefix + "registry.events", envelopes)
            sent, last_change, last = 0, time.perf_counter(), -1
            while sent < expected and time.perf_counter() - last_change < 60:
                sent = await mailpit_total() - before
                if sent != last:
                    last_change, last = time.perf_counter(), sent
                await asyncio.sleep(0.2)
            elapsed = time.perf_counter() - started
            print(
                f"round {round_no + 1}: {sent}/{expected} mails in {elapsed:.1f}s "
                f"= {sent / elapsed:.1f} mails/s",
                flush=True,
            )
    finally:
        service.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    asyncio.run(main(parser.parse_args()))
