"""Benchmark: the raw limits of Kafka and of the SMTP server beside the pipeline's throughput,
latency, CPU and memory.

    uv run python bench/pipeline.py            the full run (several minutes)
    uv run python bench/pipeline.py --quick    smaller numbers, for a first look

Needs the local servers (`./dev infra start`); empties Mailpit first. Runs the services as
processes on free ports with their own topics and databases, prints a table, and writes
docs/benchmarks/pipeline.md, .png and .json (the figures; `--replot` draws the picture again
from them). Kept out of the test suite: figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import dataclasses
import json
import os
import statistics
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import aiosmtplib
import httpx
import psutil
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from pymongo import AsyncMongoClient
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from rbn_shared.events import Envelope
from rbn_shared.events.registry import CommitteeMemberUpdated
from rbn_shared.kafka import ensure_topics
from rbn_shared.settings import ServiceSettings
from tests.support.env import service_env
from tests.support.load import conference_scheduled, member_event, publish, seat_of
from tests.support.measure import (
    clear_mailpit,
    commands_per_mail,
    database_commands,
    mailpit_total,
    metric_sum,
)
from tests.support.services import DISTRICT, NETWORK_IDS, ServiceProcess

console = Console()
KAFKA = "127.0.0.1:9092"
MONGO = "mongodb://127.0.0.1:27017"
MAILPIT = "http://127.0.0.1:8025/api/v1"
SMTP = ("127.0.0.1", 1025)
INVITEES = 80  # a Regionale Bildungskonferenz invites about that many
# The servers, by process name or a word of their command line, for the CPU they use.
SERVERS = {"FerretDB": "ferretdb-rbn", "Mailpit": "mailpit", "Kafka": "kafka.Kafka"}
CPU_PARTS = ["notifications", "conferences", "FerretDB", "Mailpit", "Kafka"]
OUT = REPO / "docs" / "benchmarks"
NETWORKS = NETWORK_IDS


@dataclass
class Results:
    raw_produce: float = 0.0
    raw_consume: float = 0.0
    message_bytes: int = 0
    projection_rate: float = 0.0
    mail_rates: dict[str, float] = field(default_factory=dict)  # by load
    cpu_ms_per_mail: dict[str, dict[str, float]] = field(default_factory=dict)  # load → part
    commands: dict[str, list[str]] = field(default_factory=dict)  # load → lines per service
    mail_bytes: dict[str, int] = field(default_factory=dict)
    smtp_limit: float = 0.0
    smtp_cpu_ms: float = 0.0
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


async def raw_limit(results: Results, count: int, prefix: str) -> None:
    topic = prefix + "raw"
    await ensure_topics(KAFKA, [topic], partitions=6)
    value = member_event("hamm", 0, "raw", 1).to_wire()
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


def cpu_seconds(services: list[ServiceProcess]) -> dict[str, float]:
    """CPU time used so far by each server and service process (user and system)."""
    used: dict[str, float] = {}
    for proc in psutil.process_iter(["name", "cmdline"]):
        command = f"{proc.info['name']} {' '.join(proc.info['cmdline'] or [])}"
        for part, word in SERVERS.items():
            if word in command:
                with contextlib.suppress(psutil.Error):
                    times = proc.cpu_times()
                    used[part] = used.get(part, 0.0) + times.user + times.system
    for service in services:
        popen = service.process._popen if service.process else None
        if popen is not None:
            with contextlib.suppress(psutil.Error):
                times = psutil.Process(popen.pid).cpu_times()
                used[service.name] = times.user + times.system
    return used


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
    envelopes = [
        member_event(
            NETWORKS[i % 12], i, run, 1000 + i // 12, CommitteeMemberUpdated, seat=seat_of(i, 12)
        )
        for i in range(count)
    ]
    before = await metric_sum(
        conferences.url, "rbn_events_consumed_total", consumer="conferences.registry-projection"
    )
    await publish(KAFKA, prefix + "registry.events", envelopes)
    with progress() as bar:
        task = bar.add_task("conferences projection", total=count)
        # Timed from the first event folded to the last: the consumer's first fetch (its group
        # joined, a fetch wait) is a delay, not throughput, and would dominate a short run.
        first: tuple[float, float] | None = None
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
            if first is None and done > 0:
                first = (time.perf_counter(), done)
            bar.update(task, completed=int(done))
            sample_memory([conferences], results.memory_mib)
            await asyncio.sleep(0.05)
        assert first is not None
        started, already = first
        results.projection_rate = (count - already) / (time.perf_counter() - started)


async def caught_up(service: ServiceProcess, consumer: str, count: int) -> None:
    """Wait until a consumer of the service has finished `count` records."""
    with progress() as bar:
        task = bar.add_task(f"{consumer} catching up", total=count)
        done = 0.0
        while done < count:
            done = await metric_sum(service.url, "rbn_events_consumed_total", consumer=consumer)
            bar.update(task, completed=int(done))
            await asyncio.sleep(0.25)


async def mail_throughput(
    results: Results,
    services: list[ServiceProcess],
    load: str,
    envelopes: list[Envelope],
    topic: str,
    expected: int,
) -> None:
    """Mails per second into Mailpit for one kind of load, and per mail the CPU each part spent
    and the database commands each service made (the services that consume the load)."""
    commands_before = {s.name: await database_commands(s.url) for s in services}
    before = await mailpit_total()
    cpu_before = cpu_seconds(services)
    await publish(KAFKA, topic, envelopes)
    with progress() as bar:
        task = bar.add_task(f"mails into Mailpit ({load})", total=expected)
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
            sample_memory(services, results.memory_mib)
            await asyncio.sleep(0.25)
    cpu_after = cpu_seconds(services)
    for service in services:
        after = await database_commands(service.url)
        lines = commands_per_mail(commands_before[service.name], after, sent)
        results.commands.setdefault(load, []).extend(f"{service.name}: {line}" for line in lines)
    results.mail_rates[load] = (sent - first) / max(last_change - first_at, 1e-9)
    results.cpu_ms_per_mail[load] = {
        part: 1000 * (cpu_after[part] - cpu_before.get(part, 0.0)) / max(sent, 1)
        for part in cpu_after
    }
    console.print(f"  mails ({load}): {results.mail_rates[load]:,.1f} mails/s, {sent}/{expected}")


async def smtp_limit(results: Results, database: str, count: int) -> None:
    """The SMTP server's own limit: a stored invitation sent again and again, 16 connections."""
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(MONGO)
    try:
        # The rendered message is stored apart from the delivery's state (delivery_messages).
        delivery = await client[database]["deliveries"].find_one(
            {"template": "conference-invitation"}, {"_id": 1}
        )
        stored = (
            await client[database]["delivery_messages"].find_one({"_id": delivery["_id"]})
            if delivery is not None
            else None
        )
    finally:
        await client.close()
    if stored is None:
        return
    message = str(stored["text"])
    results.mail_bytes["invitations"] = len(message)
    left = iter(range(count))
    cpu_before = cpu_seconds([])

    async def connection(bar: Progress, task: object) -> None:
        smtp = aiosmtplib.SMTP(hostname=SMTP[0], port=SMTP[1])
        await smtp.connect()
        for _ in left:
            await smtp.sendmail("bench@bench.example", ["smtp-limit@bench.example"], message)
            bar.advance(task)  # type: ignore[arg-type]
        await smtp.quit()

    with progress() as bar:
        task = bar.add_task("SMTP server alone (aiosmtplib)", total=count)
        started = time.perf_counter()
        await asyncio.gather(*(connection(bar, task) for _ in range(16)))
        results.smtp_limit = count / (time.perf_counter() - started)
    used = cpu_seconds([])
    results.smtp_cpu_ms = 1000 * (used["Mailpit"] - cpu_before.get("Mailpit", 0.0)) / count
    console.print(f"  SMTP server alone: {results.smtp_limit:,.0f} mails/s")


# The API load: members join and leave, each committee between 15 and 30 members (a Lenkungskreis).
COMMITTEE_START = 22  # members each network's committee gets before the timed rows


@dataclass
class Committees:
    """The benchmark's members of each committee, oldest first, with the ETag a removal sends;
    `size` counts the changes already asked for, so joins and leaves stay in balance while
    calls are still under way."""

    held: dict[str, asyncio.Queue[tuple[str, str]]] = field(
        default_factory=lambda: {network: asyncio.Queue() for network in NETWORKS}
    )
    planned: collections.Counter[str] = field(default_factory=collections.Counter)

    def size(self, network: str) -> int:
        return self.planned[network]

    async def oldest(self, network: str) -> tuple[str, str]:
        """The longest-serving member whose join has been answered (waits for one)."""
        return await self.held[network].get()


async def join(
    client: httpx.AsyncClient, committees: Committees, network: str, email: str, name: str
) -> httpx.Response:
    committees.planned[network] += 1
    answer = await client.post(
        f"/networks/{network}/committee/members",
        headers=DISTRICT,
        json={
            "person": {"name": name, "email": email},
            "side": "municipality",
            "role": "member",
            "term_start": date.today().isoformat(),
        },
    )
    if answer.status_code == 201:
        committees.held[network].put_nowait((answer.json()["id"], answer.headers["ETag"]))
    else:
        committees.planned[network] -= 1
    return answer


async def leave(client: httpx.AsyncClient, committees: Committees, network: str) -> httpx.Response:
    committees.planned[network] -= 1
    member_id, version = await committees.oldest(network)
    return await client.post(
        f"/networks/{network}/committee/members/{member_id}/removal",
        headers={**DISTRICT, "If-Match": version},
        json={"removed_on": date.today().isoformat(), "reason": "Wechsel an eine andere Schule"},
    )


async def seed_registry(isolated: dict[str, str]) -> None:
    """The twelve networks of the seed file, in the registry's isolated database."""
    seed = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "registry.entrypoints.main",
        "seed",
        env={
            **os.environ,
            "RBN_ENVIRONMENT": "development",  # as the services: token tables, no provider
            **service_env("REGISTRY_", isolated),
        },
        stdout=asyncio.subprocess.DEVNULL,
    )
    await seed.wait()


async def fill_committees(
    registry: ServiceProcess, committees: Committees, run: str, *, wait_for_mails: bool = True
) -> None:
    """Bring every committee to COMMITTEE_START members before the timed rows (not measured),
    and wait for their welcome mails, so that the first row does not wait behind them."""
    addresses: set[str] = set()
    async with httpx.AsyncClient(base_url=registry.url, timeout=30) as client:
        with progress() as bar:
            task = bar.add_task("committees filled", total=COMMITTEE_START * len(NETWORKS))
            for n in range(COMMITTEE_START):
                emails = {
                    network: f"start.{n}.{network}.{run}@bench.example" for network in NETWORKS
                }
                answers = await asyncio.gather(
                    *(join(client, committees, network, email, f"Mitglied {n}")
                      for network, email in emails.items())
                )  # fmt: skip
                refused = [a for a in answers if a.status_code != 201]
                if refused:
                    raise RuntimeError(f"filling the committees: {refused[0].text}")
                addresses |= set(emails.values())
                bar.advance(task, len(answers))
    if not wait_for_mails:
        return
    arrived = await accepted_times(addresses, timeout=180)
    console.print(f"  committees filled: {len(arrived)}/{len(addresses)} welcome mails arrived")


async def latency_at(
    results: Results,
    registry: ServiceProcess,
    services: list[ServiceProcess],
    committees: Committees,
    rate: int,
    seconds: float,
    run: str,
    wait: float = 120.0,
) -> None:
    """Committee changes offered at `rate` per second, members joining and leaving in turn in
    each network; the latency is from a join's API call to its welcome mail at the SMTP server."""
    sent_at: dict[str, float] = {}
    failed: list[str] = []
    refused: collections.Counter[int] = collections.Counter()
    count = int(rate * seconds)
    async with httpx.AsyncClient(
        base_url=registry.url, timeout=30, limits=httpx.Limits(max_connections=64)
    ) as client:

        async def change(n: int) -> None:
            network = NETWORKS[n % 12]
            email = f"lat{rate}.{n}.{run}@bench.example"
            try:
                # Alternate per network, so that each committee stays near its size.
                if committees.size(network) > COMMITTEE_START:
                    answer = await leave(client, committees, network)
                else:
                    sent_at[email] = time.time()
                    answer = await join(client, committees, network, email, f"Latenz {n}")
            except httpx.HTTPError:
                failed.append(email)
                return
            if answer.status_code >= 300:
                refused[answer.status_code] += 1
                failed.append(email)

        with progress() as bar:
            task = bar.add_task(f"committee changes at {rate}/s", total=count)
            started = time.perf_counter()
            pending = set()
            for n in range(count):
                await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
                t = asyncio.create_task(change(n))
                pending.add(t)
                t.add_done_callback(pending.discard)
                t.add_done_callback(lambda _: bar.advance(task))
                if n % 50 == 0:
                    sample_memory(services, results.memory_mib)
            await asyncio.gather(*pending)
            achieved = count / (time.perf_counter() - started)
    console.print(
        f"  {rate}/s: {count - len(failed)} accepted by the API, {len(failed)} failed"
        + (f" (answers {dict(refused)})" if refused else "")
    )
    joins = set(sent_at) - set(failed)
    accepted = await accepted_times(joins, timeout=wait)
    delays = sorted((accepted[e] - sent_at[e]) * 1000 for e in accepted)
    sizes = [committees.size(network) for network in NETWORKS]
    measured = {"achieved": achieved, "delivered": len(delays), "sent": len(joins),
                "calls": count, "failed": len(failed),
                "committee_min": min(sizes), "committee_max": max(sizes)}  # fmt: skip
    if len(delays) < 2:  # overloaded: (almost) nothing arrived within the wait
        nan = float("nan")
        results.latencies[rate] = {**measured, "p50": nan, "p95": nan, "p99": nan}
        return
    q = statistics.quantiles(delays, n=100)
    results.latencies[rate] = {**measured, "p50": q[49], "p95": q[94], "p99": q[98]}


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


@dataclass(frozen=True)
class Target:
    name: str
    goal: float
    higher_is_better: bool
    unit: str

    def share(self, measured: float) -> float:
        """How far the measured value is along to the goal: 1 or more is met."""
        if measured != measured or measured <= 0:  # NaN or nothing: nothing reached
            return 0.0
        return measured / self.goal if self.higher_is_better else self.goal / measured


def target_rows(results: Results) -> list[tuple[Target, float]]:
    """Issue 19's targets beside what this run measured."""
    smtp = results.smtp_limit or float("nan")
    at_100 = results.latencies.get(100, {})
    at_200 = results.latencies.get(200, {})
    return [
        (Target("invitations through the pipeline ÷ the SMTP server alone", 0.5, True, "×"),
         results.mail_rates.get("invitations", 0.0) / smtp),
        (Target("committee changes through the API at 200/s offered", 200, True, "/s"),
         at_200.get("achieved", 0.0) * at_200.get("delivered", 0) / max(at_200.get("sent", 1), 1)),
        (Target("p99, API call to SMTP acceptance, at 100/s offered", 250, False, "ms"),
         at_100.get("p99", float("nan"))),
        (Target("conferences projection", 2000, True, "events/s"), results.projection_rate),
        (Target("largest service RSS under load", 150, False, "MB"),
         max(results.memory_mib.values(), default=float("nan")) * 2**20 / 1e6),
    ]  # fmt: skip


def targets(results: Results) -> list[str]:
    lines = [
        "Targets (issue 19) beside this run; `reached` is the measured value as a share of the "
        "target (1.00 or more: met). The API rate counts only calls whose welcome mails all "
        "arrived in time.",
        "",
        "| target | goal | measured | reached |",
        "|---|---|---|---|",
    ]
    for target, measured in target_rows(results):
        sign = "≥" if target.higher_is_better else "≤"
        lines.append(
            f"| {target.name} | {sign} {target.goal:,.4g} {target.unit} | {measured:,.3g} "
            f"{target.unit} | {target.share(measured):.2f} |"
        )
    return [*lines, ""]


def report(results: Results, args: argparse.Namespace) -> str:
    members = results.mail_rates.get("members", 0.0)
    invitations = results.mail_rates.get("invitations", 0.0)
    raw = results.raw_consume or float("nan")
    lines = [
        "# Pipeline benchmark",
        "",
        f"`uv run python bench/pipeline.py{' --quick' if args.quick else ''}` on the 2-core, 24 GiB "
        f"development machine, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; Kafka 4.3.1, FerretDB "
        "v1.24.2 (SQLite, with the project's patches), Mailpit as the SMTP server, all on this "
        "machine.",
        "",
        *targets(results),
        "| measure | value |",
        "|---|---|",
        f"| message size (a committee-member-added event) | {results.message_bytes} bytes |",
        f"| raw limit: aiokafka produce (acks=all, idempotent) | {results.raw_produce:,.0f} msg/s |",
        f"| raw limit: aiokafka consume | {results.raw_consume:,.0f} msg/s |",
        f"| raw limit: the SMTP server alone, an invitation ({results.mail_bytes.get('invitations', 0):,} bytes) sent over 16 connections | {results.smtp_limit:,.0f} mails/s |",
        f"| conferences projection (registry events applied) | {results.projection_rate:,.1f} events/s |",
        f"| mails into Mailpit: committee members added (2 mails per event) | {members:,.1f} mails/s |",
        f"| mails into Mailpit: conferences scheduled ({INVITEES} invitations with calendar per event) | {invitations:,.1f} mails/s |",
        f"| ratio: projection / raw consume | {results.projection_rate / raw:.4f} |",
        f"| ratio: mails (invitations) / raw consume | {invitations / raw:.4f} |",
        f"| ratio: mails (invitations) / the SMTP server alone | {invitations / (results.smtp_limit or float('nan')):.3f} |",
        "",
        "CPU time per mail delivered, by process (from /proc, during each mail run; 2 cores give "
        "2,000 ms per second, so 1,000 mails/s would allow 2 ms per mail for all of them "
        "together):",
        "",
        "| load | " + " | ".join(CPU_PARTS) + " | total |",
        "|---|" + "---|" * (len(CPU_PARTS) + 1),
    ]  # fmt: skip
    for load, parts in sorted(results.cpu_ms_per_mail.items()):
        cells = [f"{parts.get(part, 0.0):.2f} ms" for part in CPU_PARTS]
        lines.append(f"| {load} | " + " | ".join(cells) + f" | {sum(parts.values()):.2f} ms |")
    lines += [
        "",
        "Database commands per mail, by service, command and collection, with the mean time to "
        "the answer (from each service's `rbn_db_command_seconds`):",
    ]
    for load, commands in sorted(results.commands.items()):
        lines += ["", f"{load}:", "", "```", *commands, "```"]
    if results.smtp_cpu_ms:
        lines.append(
            "\nThe SMTP server alone used "
            f"{results.smtp_cpu_ms:.2f} ms of CPU per invitation it accepted."
        )
    lines += [
        "",
        f"Committee changes through the registry API, offered at a fixed rate: members join and "
        f"leave in turn (every committee starts at {COMMITTEE_START} members and stays between "
        "15 and 30). Latency from a join's API call to the SMTP server's acceptance of the new "
        "member's welcome mail. `delivered` counts joins whose welcome mail arrived within the "
        "benchmark's wait; fewer than joined means the pipeline was overloaded at that rate and "
        "its latency grows without bound:",
        "",
        "| offered | achieved | failed calls | committees | delivered | p50 | p95 | p99 |",
        "|---|---|---|---|---|---|---|---|",
    ]

    def ms(value: float) -> str:
        return "—" if value != value else f"{value:,.0f} ms"  # NaN: nothing to measure

    for rate, lat in sorted(results.latencies.items()):
        lines.append(
            f"| {rate}/s | {lat['achieved']:.0f}/s | {lat.get('failed', 0):.0f}/"
            f"{lat.get('calls', lat['sent']):.0f} | {lat.get('committee_min', 0):.0f}–"
            f"{lat.get('committee_max', 0):.0f} | {lat['delivered']:.0f}/{lat['sent']:.0f} "
            f"| {ms(lat['p50'])} | {ms(lat['p95'])} | {ms(lat['p99'])} |"
        )
    lines += ["", "Peak resident memory under load:", "", "| service | RSS |", "|---|---|"]
    for name, mib in sorted(results.memory_mib.items()):
        lines.append(f"| {name} | {mib:.0f} MiB |")
    return "\n".join(line for line in lines if line is not None) + "\n"


def load_results(path: Path) -> Results:
    """The figures of a run as `main` saved them (JSON keys are strings: rates become ints)."""
    saved = json.loads(path.read_text())
    saved["latencies"] = {int(rate): values for rate, values in saved["latencies"].items()}
    return Results(**saved)


def plot(results: Results) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.4))
    names = ["raw\nproduce", "raw\nconsume", "SMTP\nalone", "projection", "mails\nmembers",
             "mails\ninvitations"]  # fmt: skip
    values = [
        results.raw_produce,
        results.raw_consume,
        results.smtp_limit,
        results.projection_rate,
        results.mail_rates.get("members", 0.0),
        results.mail_rates.get("invitations", 0.0),
    ]
    left.bar(names, values, color=["#888", "#888", "#888", "#2a7", "#27a", "#27a"])
    # Issue 19's targets: invitations at half the SMTP server's own limit of this run, and the
    # projection's events per second.
    left.axhline(
        0.5 * results.smtp_limit,
        color="#c33",
        linestyle="--",
        linewidth=1,
        label="invitations: 0.5 × SMTP limit",
    )
    left.axhline(2000, color="#e90", linestyle=":", linewidth=1, label="projection: 2,000/s")
    left.legend(loc="upper right", fontsize=8)
    left.set_yscale("log")
    left.set_ylabel("per second (log)")
    left.set_title("Throughput: raw limits vs pipeline")
    left.tick_params(axis="x", labelsize=8)
    rates = sorted(results.latencies)
    for key, color in (("p50", "#2a7"), ("p95", "#e90"), ("p99", "#c33")):
        right.plot(
            [str(r) for r in rates],
            [results.latencies[r][key] for r in rates],
            "o-",
            label=key,
            color=color,
        )
    right.axhline(250, color="#c33", linestyle="--", linewidth=1, label="target p99: 250 ms")
    right.set_yscale("log")
    right.set_xlabel("target rate (requests/s)")
    right.set_ylabel("ms, API call to SMTP acceptance (log)")
    right.set_title("Latency")
    right.legend()
    fig.tight_layout()
    fig.savefig(OUT / "pipeline.png", dpi=110)


async def main(args: argparse.Namespace) -> None:
    run = uuid.uuid4().hex[:6]
    prefix = f"bench.{run}."
    results = Results()
    raw_count, projection_count, mail_events, conferences_count, smtp_count = (
        (5_000, 5_000, 600, 15, 2_000) if args.quick else (50_000, 20_000, 1_500, 40, 5_000)
    )
    rates, seconds = ([5, 50, 100, 200], 5.0) if args.quick else ([5, 50, 100, 200, 500], 10.0)
    await ensure_topics(KAFKA, ServiceSettings(topic_prefix=prefix).topics.all(), partitions=6)
    console.print(f"[bold]Benchmark run {run}[/] (topics {prefix}*)")
    console.print(f"Mailpit emptied for counting ({await clear_mailpit()} messages deleted)")
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
        # It reads the registry's topic from the start: the projection run's events (no mails)
        # are handled first, so that the mail runs measure mails only.
        await caught_up(notifications, "notifications.registry", projection_count)
        members = [
            member_event(NETWORKS[i % 12], i, run, 5000 + i // 12, seat=seat_of(i, 12))
            for i in range(mail_events)
        ]
        await mail_throughput(
            results,
            [notifications, conferences],
            "members",
            members,
            prefix + "registry.events",
            2 * len(members),
        )
        conferences_scheduled = [
            conference_scheduled(NETWORKS[i % 12], i, run + "c", INVITEES)
            for i in range(conferences_count)
        ]
        await mail_throughput(
            results,
            [notifications, conferences],
            "invitations",
            conferences_scheduled,
            prefix + "conferences.events",
            INVITEES * len(conferences_scheduled),
        )
        await smtp_limit(results, f"bench_{run}_notifications", smtp_count)
        registry.start()
        await seed_registry(env("registry"))
        await asyncio.sleep(3)
        committees = Committees()
        await fill_committees(registry, committees, run)
        for rate in rates:
            await latency_at(
                results,
                registry,
                services,
                committees,
                rate,
                seconds,
                run,
                wait=60.0 if args.quick else 120.0,
            )
    finally:
        for service in services:
            service.stop()

    text = report(results, args)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "pipeline.md").write_text(text + "\n![throughput and latency](pipeline.png)\n")
    (OUT / "pipeline.json").write_text(json.dumps(dataclasses.asdict(results), indent=1) + "\n")
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
    parser.add_argument(
        "--replot", action="store_true", help="draw pipeline.png again from pipeline.json"
    )
    arguments = parser.parse_args()
    if arguments.replot:
        plot(load_results(OUT / "pipeline.json"))
    else:
        asyncio.run(main(arguments))
