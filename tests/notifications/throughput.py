"""Mail throughput of the notifications service alone (not a test: figures, not pass/fail).

    uv run python -m tests.notifications.throughput --events 300 [--rounds 2]
    uv run python -m tests.notifications.throughput --load invitations --events 25 --invitees 80

Needs the local servers (Kafka, FerretDB, Mailpit); empties Mailpit first. Runs the service as a
process with its own topics and database, publishes events (see tests.support.load: `members`,
two mails per event; `invitations`, one per invitee) and times until all mails are in Mailpit;
then prints the service's database commands per mail. Every round publishes into the same
database, so later rounds show how the rate holds up as the deliveries collection grows.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import time
import uuid
from pathlib import Path

from rbn_shared.kafka import ensure_topics
from rbn_shared.settings import ServiceSettings
from tests.notifications.integration.support import Service
from tests.support.load import conference_scheduled, member_event, publish, seat_of
from tests.support.measure import (
    clear_mailpit,
    commands_per_mail,
    database_commands,
    mailpit_total,
)

KAFKA = "127.0.0.1:9092"
MONGO = os.environ.get("RBN_BENCH_MONGO_URL", "mongodb://127.0.0.1:27017")
NETWORKS = ["bochum", "dortmund", "hagen", "hamm", "herne", "kreis-soest"]


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
    print(f"Mailpit emptied for counting ({await clear_mailpit()} messages deleted)", flush=True)
    service = Service(env, Path(f"/tmp/tp-{run}")).start()  # noqa: S108 - scratch logs
    try:
        for round_no in range(args.rounds):
            tag = f"{run}r{round_no}"
            base = round_no * args.events
            if args.load == "members":
                envelopes = [
                    member_event(
                        NETWORKS[n % len(NETWORKS)],
                        base + n,
                        tag,
                        1000 + base + n,
                        seat=seat_of(base + n, len(NETWORKS)),
                    )
                    for n in range(args.events)
                ]
                expected, topic = 2 * args.events, "registry.events"
            else:
                envelopes = [
                    conference_scheduled(NETWORKS[n % len(NETWORKS)], base + n, tag, args.invitees)
                    for n in range(args.events)
                ]
                expected, topic = args.invitees * args.events, "conferences.events"
            before = await mailpit_total()
            commands_before = await database_commands(service.url)
            started = time.perf_counter()
            await publish(KAFKA, prefix + topic, envelopes)
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
            commands = await database_commands(service.url)
            for line in commands_per_mail(commands_before, commands, sent):
                print("  " + line)
    finally:
        service.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--load", choices=["members", "invitations"], default="members")
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--invitees", type=int, default=80, help="per conference (invitations)")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=16)
    asyncio.run(main(parser.parse_args()))
