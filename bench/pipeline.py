"""Benchmark: the raw Kafka limit beside the pipeline's throughput, latency and memory.

    uv run python bench/pipeline.py            the full run (several minutes)
    uv run python bench/pipeline.py --quick    smaller numbers, for a first look

Needs the local servers (`./dev infra start`). Runs the services as processes on free ports with
their own topics and databases, prints a table, and writes docs/benchmarks/pipeline.md and
docs/benchmarks/pipeline.png. Kept out of the test suite: figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rbn_shared.events import new_event
from rbn_shared.events.base import NetworkRef, Person, Side
from rbn_shared.events.registry import (
    CommitteeMember,
    CommitteeMemberAdded,
    CommitteeMemberUpdated,
    CommitteeRole,
)
from rbn_shared.kafka import ensure_topics
from rbn_shared.settings import ServiceSettings
from tests.support.env import service_env
from tests.support.services import DISTRICT, NETWORK_IDS, ServiceProcess

console = Console()
KAFKA = "127.0.0.1:9092"
MONGO = "mongodb://127.0.0.1:27017"
MAILPIT = "http://127.0.0.1:8025/api/v1"
OUT = REPO / "docs" / "benchmarks"
NETWORKS = NETWORK_IDS


@dataclass
class Results:
    raw_produce: float = 0.0
    raw_consume: float = 0.0
    message_bytes: int = 0
    projection_rate: float = 0.0
    mail_rate: float = 0.0
    latencies: dict[int, dict[str, float]] = field(default_factory=dict)
    memory_mib: dict[str, float] = field(default_factory=dict)


def progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console,
    )


def member_event(
    network: str,
    n: int,
    run: str,
    version: int,
    model: type[CommitteeMember] = CommitteeMemberAdded,
) -> bytes:
    """A committee member event; `added` makes two mails, `updated` none (projection only)."""
    payload = model(
        network=NetworkRef(
            id=network, name=f"RBN {network}", office_email=f"office.{run}@bench.example"
        ),
        member_id=f"mem-{run}-{n}",
        person=Person(
            name=f"Mitglied {n}", email=f"m{n}.{run}@bench.example", organisation="Schule"
        ),
        side=Side.MUNICIPALITY,
        role=CommitteeRole.MEMBER,
        term_start=date(2027, 1, 1),
    )
    envelope = new_event(
        payload,
        key=network,
        aggregate_id=network,
        aggregate_version=version,
        correlation_id=f"bench-{run}-{n}",
    )
    return envelope.to_wire()


async def raw_limit(results: Results, count: int, prefix: str) -> None:
    topic = prefix + "raw"
    await ensure_topics(KAFKA, [topic], partitions=6)
    value = member_event("hamm", 0, "raw", 1)
    results.message_bytes = len(value)
    producer = AIOKafkaProducer(
        bootstrap_servers=KAFKA,
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        max_batch_size=256 * 1024,
    )
    await producer.start()
    with progress() as bar:
        task = bar.add_task("raw produce (aiokafka)", total=count)
        started = time.perf_counter()
        futures = []
        for i in range(count):
            futures.append(await producer.send(topic, value, key=NETWORKS[i % 12].encode()))
            if len(futures) >= 1000:
                await asyncio.gather(*futures)
                bar.advance(task, len(futures))
                futures = []
        await asyncio.gather(*futures)
        bar.advance(task, len(futures))
        results.raw_produce = count / (time.perf_counter() - started)
    await producer.stop()

    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=KAFKA,
        group_id=f"raw-{uuid.uuid4().hex[:6]}",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    seen = 0
    with progress() as bar:
        task = bar.add_task("raw consume (aiokafka)", total=count)
        started = time.perf_counter()
        while seen < count:
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            got = sum(len(v) for v in batch.values())
            seen += got
            bar.advance(task, got)
        await consumer.commit()
        results.raw_consume = count / (time.perf_counter() - started)
    await consumer.stop()


async def metric_sum(url: str, name: str, **labels: str) -> float:
    async with httpx.AsyncClient(timeout=10) as client:
        text = (await client.get(url + "/metrics")).text
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") and all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


async def publish(topic: str, values: list[tuple[str, bytes]]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=KAFKA, acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    try:
        futures = [await producer.send(topic, v, key=k.encode()) for k, v in values]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def sample_memory(services: list[ServiceProcess], into: dict[str, float]) -> None:
    for service in services:
        popen = service.process._popen if service.process else None
        if popen is None:
            continue
        rss = psutil.Process(popen.pid).memory_info().rss / 2**20
        into[service.name] = max(into.get(service.name, 0.0), rss)


async def projection_throughput(
    results: Results, conferences: ServiceProcess, count: int, prefix: str, run: str
) -> None:
    values = [
        (
            NETWORKS[i % 12],
            member_event(NETWORKS[i % 12], i, run, 1000 + i // 12, CommitteeMemberUpdated),
        )
        for i in range(count)
    ]
    before = await metric_sum(
        conferences.url, "rbn_events_consumed_total", consumer="conferences.registry-projection"
    )
    await publish(prefix + "registry.events", values)
    with progress() as bar:
        task = bar.add_task("conferences projection", total=count)
        started = time.perf_counter()
        done = 0.0
        while done < count:
            done = (
                await metric_sum(
                    conferences.url,
                    "rbn_events_consumed_total",
                    consumer="conferences.registry-projection",
                )
                - before
            )
            bar.update(task, completed=int(done))
            sample_memory([conferences], results.memory_mib)
            await asyncio.sleep(0.25)
        results.projection_rate = count / (time.perf_counter() - started)


async def mailpit_total() -> int:
    async with httpx.AsyncClient(timeout=10) as client:
        return int((await client.get(MAILPIT + "/messages", params={"limit": "1"})).json()["total"])


async def mail_throughput(
    results: Results, notifications: ServiceProcess, events: int, prefix: str, run: str
) -> None:
    values = [
        (NETWORKS[i % 12], member_event(NETWORKS[i % 12], i, run + "m", 5000 + i // 12))
        for i in range(events)
    ]
    expected = 2 * events  # the new member and the office
    before = await mailpit_total()
    await publish(prefix + "registry.events", values)
    with progress() as bar:
        task = bar.add_task("mails into Mailpit", total=expected)
        # The sustained rate: from the first mail Mailpit holds to the last, so the consumer's
        # start (joining its group, first fetch) does not count against it.
        sent, first, last = 0, 0, -1
        first_at = last_change = time.perf_counter()
        while sent < expected and time.perf_counter() - last_change < 60:
            sent = await mailpit_total() - before
            if sent != last:
                last_change, last = time.perf_counter(), sent
                if not first and sent:
                    first, first_at = sent, last_change
            bar.update(task, completed=sent)
            sample_memory([notifications], results.memory_mib)
            await asyncio.sleep(0.25)
        results.mail_rate = (sent - first) / max(last_change - first_at, 1e-9)


async def latency_at(
    results: Results,
    registry: ServiceProcess,
    services: list[ServiceProcess],
    rate: int,
    seconds: float,
    run: str,
    wait: float = 120.0,
) -> None:
    sent_at: dict[str, float] = {}
    failed: list[str] = []
    count = int(rate * seconds)
    async with httpx.AsyncClient(
        base_url=registry.url, timeout=30, limits=httpx.Limits(max_connections=64)
    ) as client:

        async def add(n: int) -> None:
            email = f"lat{rate}.{n}.{run}@bench.example"
            sent_at[email] = time.time()
            network = NETWORKS[n % 12]
            try:
                await client.post(
                    f"/networks/{network}/committee/members",
                    headers=DISTRICT,
                    json={
                        "person": {"name": f"Latenz {n}", "email": email},
                        "side": "municipality",
                        "role": "member",
                        "term_start": "2027-01-01",
                    },
                )
            except httpx.HTTPError:
                failed.append(email)

        with progress() as bar:
            task = bar.add_task(f"latency at {rate}/s", total=count)
            started = time.perf_counter()
            pending = set()
            for n in range(count):
                await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
                t = asyncio.create_task(add(n))
                pending.add(t)
                t.add_done_callback(pending.discard)
                t.add_done_callback(lambda _: bar.advance(task))
                if n % 50 == 0:
                    sample_memory(services, results.memory_mib)
            await asyncio.gather(*pending)
            achieved = count / (time.perf_counter() - started)
    console.print(f"  {rate}/s: {count - len(failed)} accepted by the API, {len(failed)} failed")
    accepted = await accepted_times(set(sent_at) - set(failed), timeout=wait)
    delays = sorted((accepted[e] - sent_at[e]) * 1000 for e in accepted)
    if len(delays) < 2:  # overloaded: (almost) nothing arrived within the wait
        results.latencies[rate] = {"achieved": achieved, "p50": float("nan"),
                                   "p95": float("nan"), "p99": float("nan"),
                                   "delivered": len(delays), "sent": count}  # fmt: skip
        return
    q = statistics.quantiles(delays, n=100)
    results.latencies[rate] = {
        "achieved": achieved,
        "p50": q[49],
        "p95": q[94],
        "p99": q[98],
        "delivered": len(delays),
        "sent": count,
    }


async def accepted_times(addresses: set[str], timeout: float) -> dict[str, float]:
    """When Mailpit accepted the first mail to each address (its Created time)."""
    found: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(timeout=30) as client:
        while time.monotonic() < deadline and len(found) < len(addresses):
            start = 0
            while True:
                page = (
                    await client.get(
                        MAILPIT + "/messages", params={"start": str(start), "limit": "1000"}
                    )
                ).json()
                for message in page["messages"]:
                    for to in message["To"] or []:
                        address = to["Address"]
                        if address in addresses:
                            created = datetime.fromisoformat(
                                message["Created"].replace("Z", "+00:00")
                            )
                            found[address] = min(found.get(address, 1e18), created.timestamp())
                start += len(page["messages"])
                if not page["messages"] or start >= page["total"] or len(found) == len(addresses):
                    break
            await asyncio.sleep(1)
    return found


def report(results: Results, args: argparse.Namespace) -> str:
    ratio = results.mail_rate / results.raw_consume if results.raw_consume else 0
    lines = [
        "# Pipeline benchmark",
        "",
        f"`uv run python bench/pipeline.py{' --quick' if args.quick else ''}` on the 2-core, 24 GiB "
        f"development machine, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; Kafka 4.3.1, FerretDB "
        "v1.24.2 (SQLite), Mailpit as the SMTP server, all on this machine.",
        "",
        "| measure | value |",
        "|---|---|",
        f"| message size (a committee-member-added event) | {results.message_bytes} bytes |",
        f"| raw limit: aiokafka produce (acks=all, idempotent) | {results.raw_produce:,.0f} msg/s |",
        f"| raw limit: aiokafka consume | {results.raw_consume:,.0f} msg/s |",
        f"| conferences projection (registry events applied) | {results.projection_rate:,.1f} events/s |",
        f"| notifications delivered into Mailpit | {results.mail_rate:,.1f} mails/s |",
        f"| ratio: projection / raw consume | {results.projection_rate / results.raw_consume:.4f} |"
        if results.raw_consume
        else "",
        f"| ratio: mails / raw consume | {ratio:.4f} |",
        "",
        "Latency from the registry API call to the SMTP server's acceptance (a new committee "
        "member's welcome mail; two mails per call). `delivered` counts welcome mails that "
        "arrived within the benchmark's wait; fewer than sent means the pipeline was "
        "overloaded at that rate and its latency grows without bound:",
        "",
        "| target rate | achieved | delivered | p50 | p95 | p99 |",
        "|---|---|---|---|---|---|",
    ]

    def ms(value: float) -> str:
        return "—" if value != value else f"{value:,.0f} ms"  # NaN: nothing to measure

    for rate, lat in sorted(results.latencies.items()):
        lines.append(
            f"| {rate}/s | {lat['achieved']:.0f}/s | {lat['delivered']:.0f}/{lat['sent']:.0f} "
            f"| {ms(lat['p50'])} | {ms(lat['p95'])} | {ms(lat['p99'])} |"
        )
    lines += ["", "Peak resident memory under load:", "", "| service | RSS |", "|---|---|"]
    for name, mib in sorted(results.memory_mib.items()):
        lines.append(f"| {name} | {mib:.0f} MiB |")
    return "\n".join(line for line in lines if line is not None) + "\n"


def plot(results: Results) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    names = ["raw produce", "raw consume", "projection", "mails"]
    values = [results.raw_produce, results.raw_consume, results.projection_rate, results.mail_rate]
    left.bar(names, values, color=["#888", "#888", "#2a7", "#27a"])
    left.set_yscale("log")
    left.set_ylabel("per second (log)")
    left.set_title("Throughput: raw Kafka limit vs pipeline")
    rates = sorted(results.latencies)
    for key, color in (("p50", "#2a7"), ("p95", "#e90"), ("p99", "#c33")):
        right.plot(
            [str(r) for r in rates],
            [results.latencies[r][key] for r in rates],
            "o-",
            label=key,
            color=color,
        )
    right.set_xlabel("target rate (requests/s)")
    right.set_ylabel("ms, API call to SMTP acceptance")
    right.set_title("Latency")
    right.legend()
    fig.tight_layout()
    fig.savefig(OUT / "pipeline.png", dpi=110)


async def main(args: argparse.Namespace) -> None:
    run = uuid.uuid4().hex[:6]
    prefix = f"bench.{run}."
    results = Results()
    raw_count, projection_count, mail_events = (
        (5_000, 1_000, 600) if args.quick else (50_000, 5_000, 1_500)
    )
    rates, seconds = ([5, 50, 200], 5.0) if args.quick else ([5, 50, 200, 500], 10.0)
    await ensure_topics(KAFKA, ServiceSettings(topic_prefix=prefix).topics.all(), partitions=6)
    console.print(f"[bold]Benchmark run {run}[/] (topics {prefix}*)")
    await raw_limit(results, raw_count, prefix)

    logs = Path(f"/tmp/rbn-bench-{run}")  # noqa: S108 - scratch logs of this run
    base = {
        "RBN_KAFKA_BOOTSTRAP_SERVERS": KAFKA,
        "RBN_MONGO_URL": MONGO,
        "RBN_TOPIC_PREFIX": prefix,
    }

    def env(name: str) -> dict[str, str]:
        return {**base, "RBN_MONGO_DATABASE": f"bench_{run}_{name}"}

    registry = ServiceProcess(
        "registry", env("registry"), logs, LOG_LEVEL="WARNING", OUTBOX_POLL_SECONDS="0.05"
    )
    conferences = ServiceProcess("conferences", env("conferences"), logs, LOG_LEVEL="WARNING")
    notifications = ServiceProcess(
        "notifications",
        env("notifications"),
        logs,
        LOG_LEVEL="WARNING",
        SMTP_HOST="127.0.0.1",
        SMTP_PORT="1025",
        DISPATCH_POLL_SECONDS="0.05",
        SEND_CONCURRENCY="16",
    )
    services = [registry, conferences, notifications]
    try:
        conferences.start()
        await projection_throughput(results, conferences, projection_count, prefix, run)
        console.print(f"  projection: {results.projection_rate:,.1f} events/s")
        notifications.start()
        await mail_throughput(results, notifications, mail_events, prefix, run)
        console.print(f"  mails: {results.mail_rate:,.1f} mails/s")
        registry.start()
        seed = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "registry.entrypoints.main",
            "seed",
            env={**os.environ, **service_env("REGISTRY_", env("registry"))},
            stdout=asyncio.subprocess.DEVNULL,
        )
        await seed.wait()
        await asyncio.sleep(3)
        for rate in rates:
            await latency_at(
                results, registry, services, rate, seconds, run, wait=60.0 if args.quick else 120.0
            )
    finally:
        for service in services:
            service.stop()

    text = report(results, args)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "pipeline.md").write_text(text + "\n![throughput and latency](pipeline.png)\n")
    plot(results)
    table = Table(title="Results")
    table.add_column("measure")
    table.add_column("value")
    for line in text.splitlines():
        if (
            line.startswith("| ")
            and not line.startswith("| measure")
            and not line.startswith("|---")
        ):
            cells = [c.strip() for c in line.strip("|").split("|")]
            table.add_row(cells[0], " / ".join(cells[1:]))
    console.print(table)
    console.print(f"wrote {OUT / 'pipeline.md'} and {OUT / 'pipeline.png'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    asyncio.run(main(parser.parse_args()))
