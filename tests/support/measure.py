"""Reading figures off the running parts, for the throughput script and the benchmark."""

from __future__ import annotations

from collections import Counter

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample
from pymongo import monitoring

MAILPIT_API = "http://127.0.0.1:8025/api/v1"

Commands = dict[str, tuple[int, float]]  # "command collection" → (how many, seconds in total)


async def mailpit_total(api: str = MAILPIT_API) -> int:
    """All messages Mailpit holds: a cheap count (a search would load Mailpit while it counts)."""
    async with httpx.AsyncClient(timeout=10) as client:
        page = await client.get(api + "/messages", params={"limit": "1"})
    return int(page.json()["total"])


async def clear_mailpit(api: str = MAILPIT_API) -> int:
    """Delete every message Mailpit holds; returns how many. Counting by Mailpit's total is only
    right below its limit (`--max`, then it drops the oldest), so a measurement starts empty."""
    held = await mailpit_total(api)
    async with httpx.AsyncClient(timeout=60) as client:
        (await client.delete(api + "/messages")).raise_for_status()
    return held


async def metric_samples(service_url: str, family: str) -> list[Sample]:
    """The samples of one metric family from a service's `/metrics`."""
    async with httpx.AsyncClient(timeout=10) as client:
        text = (await client.get(service_url + "/metrics")).text
    return [
        sample
        for found in text_string_to_metric_families(text)
        if found.name == family
        for sample in found.samples
    ]


async def metric_sum(service_url: str, counter: str, **labels: str) -> float:
    """A counter's total over the series whose labels include `labels`."""
    return sum(
        sample.value
        for sample in await metric_samples(service_url, counter.removesuffix("_total"))
        if sample.name == counter and labels.items() <= sample.labels.items()
    )


async def database_commands(service_url: str) -> Commands:
    """A service's database commands so far, from its `rbn_db_command_seconds` metric."""
    totals: dict[str, list[float]] = {}
    fields = {"rbn_db_command_seconds_count": 0, "rbn_db_command_seconds_sum": 1}
    for sample in await metric_samples(service_url, "rbn_db_command_seconds"):
        if sample.name in fields:
            name = f"{sample.labels['command']} {sample.labels['collection']}"
            totals.setdefault(name, [0, 0.0])[fields[sample.name]] += sample.value
    return {name: (int(n), seconds) for name, (n, seconds) in totals.items()}


def commands_per_mail(before: Commands, after: Commands, mails: int) -> list[str]:
    """Lines for a report: each kind of command between two readings, per mail, mean wait."""
    lines = []
    for name in sorted(after, key=lambda k: after[k][0] - before.get(k, (0, 0.0))[0], reverse=True):
        count = after[name][0] - before.get(name, (0, 0.0))[0]
        seconds = after[name][1] - before.get(name, (0, 0.0))[1]
        if count:
            lines.append(
                f"{name:<32} {count:>7} commands  {count / max(mails, 1):6.2f} per mail  "
                f"{1000 * seconds / count:6.2f} ms each"
            )
    return lines


class CommandCounter(monitoring.CommandListener):
    """Counts the database commands a client sends, by (command, collection): give it to an
    `AsyncMongoClient(..., event_listeners=[counter])`."""

    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        self.counts[(event.command_name, str(event.command.get(event.command_name)))] += 1

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass
