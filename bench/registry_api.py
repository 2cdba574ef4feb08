"""Benchmark: committee changes through the registry's API alone, as fast as it answers.

    uv run python bench/registry_api.py [--seconds 20] [--clients 16]

Needs the local servers (`./dev infra start`). Starts the registry as a process on a free port
with its own topics and database, fills every committee to 22 members, then lets `--clients`
clients make members join and leave in turn. Prints the rate, the CPU each process spent per
change (the registry, FerretDB, Kafka; from /proc) and the registry's database commands per
change. No notifications service runs: this measures the request path, not the mails.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from pipeline import (  # the benchmark's own load and servers
    COMMITTEE_START,
    KAFKA,
    MONGO,
    NETWORKS,
    Committees,
    cpu_seconds,
    fill_committees,
    join,
    leave,
    seed_registry,
)

from rbn_shared.kafka import ensure_topics
from rbn_shared.settings import ServiceSettings
from tests.support.measure import commands_per_mail, database_commands
from tests.support.services import ServiceProcess


async def main(args: argparse.Namespace) -> None:
    run = uuid.uuid4().hex[:6]
    prefix = f"bench.{run}."
    await ensure_topics(KAFKA, ServiceSettings(topic_prefix=prefix).topics.all(), partitions=6)
    isolated = {
        "RBN_KAFKA_BOOTSTRAP_SERVERS": KAFKA,
        "RBN_MONGO_URL": MONGO,
        "RBN_TOPIC_PREFIX": prefix,
        "RBN_MONGO_DATABASE": f"bench_{run}_registry",
    }
    logs = Path(f"/tmp/rbn-bench-{run}")  # noqa: S108 - scratch logs of this run
    registry = ServiceProcess(
        "registry", isolated, logs, LOG_LEVEL="WARNING", OUTBOX_POLL_SECONDS="0.05"
    )
    registry.start()
    try:
        await seed_registry(isolated)
        committees = Committees()
        await fill_committees(registry, committees, run, wait_for_mails=False)
        changes = refused = 0
        commands_before = await database_commands(registry.url)
        cpu_before = cpu_seconds([registry])
        async with httpx.AsyncClient(base_url=registry.url, timeout=30) as client:
            stop = time.perf_counter() + args.seconds

            async def client_loop(n: int) -> None:
                nonlocal changes, refused
                while time.perf_counter() < stop:
                    network = NETWORKS[n % len(NETWORKS)]
                    if committees.size(network) > COMMITTEE_START:
                        answer = await leave(client, committees, network)
                    else:
                        email = f"api.{n}.{run}@bench.example"
                        answer = await join(client, committees, network, email, f"Mitglied {n}")
                    changes += 1
                    refused += answer.status_code >= 300
                    n += args.clients

            started = time.perf_counter()
            await asyncio.gather(*(client_loop(n) for n in range(args.clients)))
            elapsed = time.perf_counter() - started
        cpu_after = cpu_seconds([registry])
        commands_after = await database_commands(registry.url)
    finally:
        registry.stop()
    print(
        f"{changes} committee changes in {elapsed:.1f} s: {changes / elapsed:.1f}/s, {refused} refused"
    )
    for part in ("registry", "FerretDB", "Kafka"):
        used = cpu_after.get(part, 0.0) - cpu_before.get(part, 0.0)
        print(f"CPU {part}: {1000 * used / max(changes, 1):.2f} ms per change")
    print("database commands per change:")
    print("\n".join(commands_per_mail(commands_before, commands_after, changes)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=16)
    asyncio.run(main(parser.parse_args()))
