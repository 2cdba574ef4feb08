"""`rbn`: the operator's tool. Run `rbn --help`.

It talks to the services only through their HTTP APIs and Kafka, never through their code. Their
own maintenance lives with them: `rbn-registry seed`, `rbn-conferences rebuild-projection`.

Reads the common settings with the `RBN_` prefix (RBN_KAFKA_BOOTSTRAP_SERVERS, RBN_TOPIC_PREFIX,
RBN_MONGO_URL, ...), the same defaults as the services. Commands that change a service through
its API (`rbn dlq discard`) sign in as the operators' machine client: with RBN_OPS_CLIENT_ID and
RBN_OPS_CLIENT_SECRET it fetches an access token from the provider in RBN_OIDC_ISSUER (client
credentials grant, docs/sign-in.md); RBN_OPS_TOKEN, a bearer token got elsewhere, goes first.
`rbn privacy ...` (erase a person, export what the services hold about them, read the privacy
audit: docs/privacy.md) signs in the same way.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import httpx
import typer
from aiokafka import AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families
from rich.console import Console
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from rbn_ops import privacy
from rbn_ops.kafka_admin import consumer_lag, count_records, read_all
from rbn_shared.consumer import dead_letter_id
from rbn_shared.events.topics import PRODUCERS, Topics
from rbn_shared.kafka import ensure_project_topics
from rbn_shared.privacy import subject_of
from rbn_shared.settings import ServiceSettings

app = typer.Typer(
    help="Operate the RBN platform: topics, status, dead letters, privacy.", no_args_is_help=True
)
dlq = typer.Typer(help="Dead letters: list, replay and discard.", no_args_is_help=True)
app.add_typer(dlq, name="dlq")
privacy_cli = typer.Typer(
    help="Data subjects' rights (docs/privacy.md): erase a person, export what the services "
    "hold about them, the privacy audit.",
    no_args_is_help=True,
)
app.add_typer(privacy_cli, name="privacy")
console = Console()
errors = Console(stderr=True)

DEFAULT_SERVICES = {
    "registry": "http://127.0.0.1:8001",
    "conferences": "http://127.0.0.1:8002",
    "notifications": "http://127.0.0.1:8003",
}
OPS_AUTH_VARIABLE = "RBN_OPS_TOKEN"
OPS_CLIENT_VARIABLES = ("RBN_OPS_CLIENT_ID", "RBN_OPS_CLIENT_SECRET")
FAILED_DELIVERIES = "rbn_deliveries_failed_total"  # the notifications service's counter

# Service URLs, as options of every command that talks to the services.
RegistryUrl = Annotated[str, typer.Option("--registry", help="the registry's URL")]
ConferencesUrl = Annotated[str, typer.Option("--conferences", help="the conferences' URL")]
NotificationsUrl = Annotated[str, typer.Option("--notifications", help="the notifications' URL")]


def settings() -> ServiceSettings:
    return ServiceSettings()


@app.command()
def topics() -> None:
    """Create the project's topics (and their dead-letter topics) if they do not exist."""
    s = settings()
    created = asyncio.run(ensure_project_topics(s))
    if created:
        console.print(f"created {len(created)} topics with {s.topic_partitions} partitions:")
        for name in created:
            console.print(f"  {name}")
    else:
        console.print(f"all {len(s.topics.all())} topics exist")


async def _readiness(url: str) -> dict[str, Any] | None:
    try:
        async with httpx.AsyncClient(timeout=3.0) as client:
            response = await client.get(f"{url}/ready")
            body: dict[str, Any] = response.json()
            return body
    except (httpx.HTTPError, ValueError):
        return None


async def _metrics_text(url: str) -> str | None:
    try:
        async with httpx.AsyncClient(timeout=3.0) as client:
            response = await client.get(f"{url}/metrics")
            response.raise_for_status()
            return response.text
    except httpx.HTTPError:
        return None


def failed_deliveries(metrics_text: str) -> dict[str, dict[str, Any]]:
    """Per consumer: deliveries given up in all and by stage, from Prometheus' text format."""
    failed: dict[str, dict[str, Any]] = {}
    for family in text_string_to_metric_families(metrics_text):
        for sample in family.samples:
            if sample.name != FAILED_DELIVERIES:  # not its `_created` timestamps
                continue
            entry = failed.setdefault(sample.labels["consumer"], {"total": 0, "by_stage": {}})
            count = int(sample.value)
            entry["total"] += count
            stage = sample.labels.get("stage", "")
            entry["by_stage"][stage] = entry["by_stage"].get(stage, 0) + count
    return failed


def unresolved_by_consumer(services: Mapping[str, Mapping[str, Any] | None]) -> dict[str, int]:
    """The unresolved dead letters each reachable service reports for its consumers."""
    unresolved: dict[str, int] = {}
    for ready in services.values():
        dead_letters = ((ready or {}).get("checks") or {}).get("dead_letters") or {}
        unresolved.update(dead_letters.get("by_consumer") or {})
    return dict(sorted(unresolved.items()))


STATUS_STYLES = {"ready": "green", "degraded": "yellow"}


@app.command()
def status(
    registry: RegistryUrl = DEFAULT_SERVICES["registry"],
    conferences: ConferencesUrl = DEFAULT_SERVICES["conferences"],
    notifications: NotificationsUrl = DEFAULT_SERVICES["notifications"],
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Readiness, outbox backlog, consumer lag and dead letters of every service.

    Unresolved dead letters and failed deliveries are shown per consumer (the one that gave up);
    `dead_letters` in the JSON counts the records in each producer's dead-letter topic,
    resolved ones included.
    """
    s = settings()
    urls = {"registry": registry, "conferences": conferences, "notifications": notifications}

    async def gather() -> dict[str, Any]:
        ready = {name: await _readiness(url) for name, url in urls.items()}
        dead = {
            producer: await count_records(
                s.kafka_bootstrap_servers, Topics.dead_letters_of(s.topics.events_of(producer))
            )
            for producer in PRODUCERS
        }
        metrics = await _metrics_text(notifications)
        lag = await consumer_lag(s.kafka_bootstrap_servers, s.topic_prefix)
        return {
            "services": ready,
            "dead_letters": dead,
            "dead_letters_by_consumer": unresolved_by_consumer(ready),
            # None: the notifications service did not answer
            "failed_deliveries": failed_deliveries(metrics) if metrics is not None else None,
            "lag": [lg.__dict__ for lg in lag],
        }

    report = asyncio.run(gather())
    if as_json:
        typer.echo(json.dumps(report, indent=2))  # plain: for machines, no markup
        return
    table = Table(title="Services")
    for column in ("service", "status", "database", "kafka", "outbox backlog"):
        table.add_column(column)
    for name, ready in report["services"].items():
        if ready is None:
            table.add_row(name, "[red]unreachable[/]", "", "", "")
            continue
        checks = ready.get("checks", {})
        state = str(ready.get("status"))
        table.add_row(
            name,
            f"[{STATUS_STYLES.get(state, 'red')}]{state}[/]",
            "ok" if checks.get("database") else "[red]down[/]",
            "ok" if checks.get("kafka") else "[red]down[/]",
            str(checks.get("outbox", {}).get("backlog")),
        )
    console.print(table)
    _print_consumers(report)
    topics_table = Table(title="Dead-letter topics (records, resolved ones included)")
    for column in ("topic", "records"):
        topics_table.add_column(column)
    for producer, count in report["dead_letters"].items():
        topics_table.add_row(Topics.dead_letters_of(s.topics.events_of(producer)), str(count))
    console.print(topics_table)
    lag_table = Table(title="Consumer lag")
    for column in ("group", "topic", "lag"):
        lag_table.add_column(column)
    for row in report["lag"]:
        lag_table.add_row(row["group"], row["topic"], str(row["lag"]))
    console.print(lag_table)


def _print_consumers(report: Mapping[str, Any]) -> None:
    unresolved: dict[str, int] = report["dead_letters_by_consumer"]
    failed: dict[str, dict[str, Any]] | None = report["failed_deliveries"]
    table = Table(title="Consumers")
    table.add_column("consumer", no_wrap=True)  # names are what an operator greps for: whole
    for column in ("unresolved dead letters", "failed deliveries"):
        table.add_column(column, justify="right")
    for consumer in sorted({*unresolved, *(failed or {})}):
        count = unresolved.get(consumer)
        shown = "?" if count is None else f"[yellow]{count}[/]" if count else "0"
        table.add_row(consumer, shown, _failed_text(failed, consumer))
    console.print(table)


def _failed_text(failed: Mapping[str, Mapping[str, Any]] | None, consumer: str) -> str:
    if failed is None:
        return "?"  # the notifications service did not answer
    entry = failed.get(consumer)
    if not entry or not entry["total"]:
        return "0"
    stages = ", ".join(f"{stage} {n}" for stage, n in sorted(entry["by_stage"].items()) if n)
    return f"{entry['total']} ({stages})"


def _dlq_topic(s: ServiceSettings, producer: str) -> str:
    if producer not in PRODUCERS:
        raise typer.BadParameter(f"choose one of {', '.join(PRODUCERS)}")
    return Topics.dead_letters_of(s.topics.events_of(producer))


def _headers(record: Any) -> dict[str, str]:
    return {k: bytes(v).decode(errors="replace") for k, v in (record.headers or ())}


@dlq.command("list")
def dlq_list(
    topic: Annotated[str, typer.Option(help="whose events: " + ", ".join(PRODUCERS))] = "registry",
    limit: int = 50,
) -> None:
    """Show the dead letters of one topic with their reason."""
    s = settings()
    records = asyncio.run(read_all(s.kafka_bootstrap_servers, _dlq_topic(s, topic), limit))
    table = Table(title=f"Dead letters of {s.topics.events_of(topic)} ({len(records)})")
    columns = ("partition:offset", "failed at", "consumer", "reason", "error", "type", "id")
    for column in columns:
        table.add_column(column, overflow="fold")
    for record in records:
        h = _headers(record)
        table.add_row(
            f"{record.partition}:{record.offset}",
            h.get("dlq-failed-at", "")[:19],
            h.get("dlq-consumer", ""),
            h.get("dlq-reason", ""),
            h.get("dlq-error", "")[:200],
            h.get("event_type", "?"),
            _dead_letter_id(h),
        )
    console.print(table)


def _dead_letter_id(h: Mapping[str, str]) -> str:
    """The id the consumer's service knows the dead letter by (for `rbn dlq discard`); empty
    when the headers name neither the event nor the original position."""
    consumer, event_id = h.get("dlq-consumer"), h.get("event_id")
    topic = h.get("dlq-original-topic", "")
    partition, offset = h.get("dlq-original-partition", ""), h.get("dlq-original-offset", "")
    has_position = bool(topic) and partition.isdigit() and offset.isdigit()
    if not consumer or not (event_id or has_position):
        return ""
    if event_id:
        return dead_letter_id(consumer, event_id, topic, 0, 0)
    return dead_letter_id(consumer, None, topic, int(partition), int(offset))


@dlq.command("replay")
def dlq_replay(
    topic: Annotated[str, typer.Option(help="whose events: " + ", ".join(PRODUCERS))] = "registry",
    reason: Annotated[str | None, typer.Option(help="only dead letters with this reason")] = None,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask")] = False,
) -> None:
    """Send dead letters back to their original topic, after the cause was fixed.

    Consumers drop events they already processed, so replaying twice does no harm; a record that
    still fails lands in the dead-letter topic again.
    """
    s = settings()
    source = _dlq_topic(s, topic)
    records = asyncio.run(read_all(s.kafka_bootstrap_servers, source, 1_000_000))
    chosen = [r for r in records if reason is None or _headers(r).get("dlq-reason") == reason]
    if not chosen:
        console.print("nothing to replay")
        return
    if not yes and not typer.confirm(f"Replay {len(chosen)} dead letters of {source}?"):
        raise typer.Exit(1)

    async def replay() -> int:
        producer = AIOKafkaProducer(
            bootstrap_servers=s.kafka_bootstrap_servers, acks="all", enable_idempotence=True
        )
        await producer.start()
        try:
            with Progress(console=console) as progress:
                task = progress.add_task("replaying", total=len(chosen))
                for record in chosen:
                    h = _headers(record)
                    original = h.get("dlq-original-topic") or s.topics.events_of(topic)
                    headers = [(k, v.encode()) for k, v in h.items() if not k.startswith("dlq-")]
                    headers.append(
                        ("dlq-replayed-at", datetime.now().astimezone().isoformat().encode())
                    )
                    await producer.send_and_wait(
                        original, record.value, key=record.key, headers=headers
                    )
                    progress.advance(task)
        finally:
            await producer.stop()
        return len(chosen)

    count = asyncio.run(replay())
    console.print(f"replayed {count} records to their original topic")


@dlq.command("discard")
def dlq_discard(
    dead_letter: Annotated[str, typer.Argument(metavar="ID", help="as `rbn dlq list` shows it")],
    service: Annotated[str, typer.Option(help="the service whose consumer dead-lettered it")],
    reason: Annotated[str, typer.Option(help="why it needs no processing")],
    registry: RegistryUrl = DEFAULT_SERVICES["registry"],
    conferences: ConferencesUrl = DEFAULT_SERVICES["conferences"],
    notifications: NotificationsUrl = DEFAULT_SERVICES["notifications"],
) -> None:
    """Mark a dead letter resolved without processing it (it stays in the dead-letter topic).

    Signs in as the operators' machine client (RBN_OPS_CLIENT_ID, RBN_OPS_CLIENT_SECRET), or
    sends the district token in RBN_OPS_TOKEN.
    """
    urls = {"registry": registry, "conferences": conferences, "notifications": notifications}
    if service not in urls:
        raise typer.BadParameter(f"choose one of {', '.join(urls)}", param_hint="--service")
    token = _operator_token()
    try:
        response = httpx.post(
            f"{urls[service]}/dead-letters/{dead_letter}/discard",
            json={"reason": reason},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10.0,
        )
    except httpx.HTTPError as error:
        console.print(f"[red]{service} at {urls[service]} did not answer:[/] {error}")
        raise typer.Exit(1) from error
    if response.status_code != 200:
        console.print(f"[red]not discarded ({response.status_code}):[/] {_problem_text(response)}")
        raise typer.Exit(1)
    console.print(f"discarded {dead_letter}: {response.json()['resolution']}")


def _operator_token() -> str:
    """The bearer token the operator's commands send: RBN_OPS_TOKEN as given, else one fetched
    for the machine client with the client credentials grant (RFC 6749 §4.4)."""
    token = os.environ.get(OPS_AUTH_VARIABLE, "").strip()
    if token:
        return token
    client_id, client_secret = (os.environ.get(v, "").strip() for v in OPS_CLIENT_VARIABLES)
    issuer = settings().auth.oidc_issuer
    if not (client_id and client_secret and issuer):
        console.print(
            f"[red]{OPS_AUTH_VARIABLE} is not set, and no machine client is configured.[/] Set "
            f"{' and '.join(OPS_CLIENT_VARIABLES)} (the operators' client at the sign-in "
            "provider, RBN_OIDC_ISSUER) or export a bearer token with the district role."
        )
        raise typer.Exit(2)
    try:
        discovery = httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=10.0)
        discovery.raise_for_status()
        answer = httpx.post(
            discovery.json()["token_endpoint"],
            data={"grant_type": "client_credentials"},
            auth=(client_id, client_secret),  # client_secret_basic
            timeout=10.0,
        )
        answer.raise_for_status()
        fetched = answer.json()
    except (httpx.HTTPError, KeyError, ValueError) as error:
        console.print(f"[red]could not sign in at {issuer} as {client_id}:[/] {error}")
        raise typer.Exit(1) from error
    return str(fetched["access_token"])


def _problem_text(response: httpx.Response) -> str:
    """The problem document's detail (or title), else the body as it came."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or body)
    return str(body)


# --------------------------------------------------------------------------- privacy

Address = Annotated[
    str,
    typer.Option(
        "--email",
        metavar="ADDRESS",
        help="the person's address (sent in the request body only, never printed)",
    ),
]


def _urls(registry: str, conferences: str, notifications: str) -> dict[str, str]:
    return {"registry": registry, "conferences": conferences, "notifications": notifications}


def _say(text: str) -> None:
    """One line as it is: ids and subjects are copied from it, so never wrapped or cut, and
    what the services answered is never taken for markup."""
    console.print(text, soft_wrap=True, markup=False, highlight=False)


def _services_failed(what: str, failed: privacy.ServicesFailed) -> typer.Exit:
    errors.print(f"[red]{what}: {', '.join(failed.services)} gave no answer.[/]", soft_wrap=True)
    for failure in failed.failures:
        errors.print(f"  {escape(str(failure))}", soft_wrap=True)
    return typer.Exit(1)


@privacy_cli.command("erase")
def privacy_erase(
    email: Address,
    yes: Annotated[bool, typer.Option("--yes", help="do not ask")] = False,
    registry: RegistryUrl = DEFAULT_SERVICES["registry"],
) -> None:
    """Erase a person from the whole system (Art. 17 DSGVO), by their address.

    The registry anonymises them in every network (a committee seat stays, held from-to by
    "Entfernte Person"), redacts its change log and publishes `person-erased`, on which the
    conferences and notifications services erase theirs. Prints the erasure's id and the
    person's subject (SHA-256 of the address), never the address. Asks first.
    """
    if not yes and not typer.confirm(
        "Erase this person from every network and service? This cannot be undone."
    ):
        raise typer.Exit(1)
    token = _operator_token()
    try:
        erased = privacy.erase(registry, token, email)
    except privacy.ServiceFailed as failure:
        errors.print(f"[red]not erased:[/] {escape(str(failure))}", soft_wrap=True)
        raise typer.Exit(1) from failure
    if erased.new:
        _say(f"erased: erasure {erased.erasure_id} at {erased.erased_at}")
    else:
        _say(
            f"nothing new to erase: erasure {erased.erasure_id} at {erased.erased_at} "
            "already covered this address"
        )
    _say(f"subject {erased.subject}")
    _say(
        f"networks: {', '.join(erased.network_ids) or 'none'}; committee seats anonymised: "
        f"{len(erased.member_ids)}; office posts anonymised: {len(erased.staff_ids)}"
    )
    _say(
        "The conferences and notifications services erase theirs on the person-erased event: "
        f"check with `rbn privacy audit --subject {erased.subject}`."
    )


@privacy_cli.command("export")
def privacy_export(
    email: Address,
    out: Annotated[
        Path | None,
        typer.Option("--out", metavar="FILE", help="write the JSON here (else standard output)"),
    ] = None,
    registry: RegistryUrl = DEFAULT_SERVICES["registry"],
    conferences: ConferencesUrl = DEFAULT_SERVICES["conferences"],
    notifications: NotificationsUrl = DEFAULT_SERVICES["notifications"],
) -> None:
    """Everything the three services hold about a person (Art. 15 DSGVO), as one JSON document.

    {"subject", "generated_at", "services": {"registry": {...}, "conferences": {...},
    "notifications": {...}}}. A service that does not answer fails the export (nothing is
    written), named. The document holds personal data: a file is created readable by its owner
    only.
    """
    token = _operator_token()
    try:
        document = privacy.export(_urls(registry, conferences, notifications), token, email)
    except privacy.ServicesFailed as failed:
        raise _services_failed("no export", failed) from failed
    text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    if out is None:
        typer.echo(text, nl=False)  # plain: for the file it is redirected to, no markup
        return
    descriptor = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)
    counts = ", ".join(
        f"{name} {len(answer['items'])}" for name, answer in document["services"].items()
    )
    _say(f"wrote {out}: subject {document['subject']}; items: {counts}")
    _say("It holds personal data: hand it over securely, then delete it.")


@privacy_cli.command("audit")
def privacy_audit(
    subject: Annotated[
        str | None, typer.Option("--subject", help="only this subject's (64 hex digits)")
    ] = None,
    email: Annotated[
        str | None,
        typer.Option(
            "--email",
            metavar="ADDRESS",
            help="only this address's: its subject is computed here, the address is not sent",
        ),
    ] = None,
    registry: RegistryUrl = DEFAULT_SERVICES["registry"],
    conferences: ConferencesUrl = DEFAULT_SERVICES["conferences"],
    notifications: NotificationsUrl = DEFAULT_SERVICES["notifications"],
    as_json: Annotated[bool, typer.Option("--json", help="machine-readable output")] = False,
) -> None:
    """Who erased or exported whose data, and when, in all three services (oldest first).

    Actors are pseudonymous (the token's `sub`); subjects are SHA-256 digests of addresses.
    """
    if subject is not None and email is not None:
        raise typer.BadParameter("give --subject or --email, not both", param_hint="--subject")
    if email is not None:
        subject = subject_of(email)
    if subject is not None:
        subject = subject.strip().lower()
        if len(subject) != 64 or any(c not in "0123456789abcdef" for c in subject):
            raise typer.BadParameter("a subject is 64 hexadecimal digits", param_hint="--subject")
    token = _operator_token()
    try:
        entries = privacy.audit(_urls(registry, conferences, notifications), token, subject)
    except privacy.ServicesFailed as failed:
        raise _services_failed("no audit", failed) from failed
    if as_json:
        typer.echo(json.dumps(entries, indent=2))
        return
    table = Table(title=f"Privacy audit ({len(entries)})")
    for column in ("at", "service", "action", "subject", "actor"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        table.add_row(
            str(entry.get("at", ""))[:19],
            entry["service"],
            str(entry.get("action", "")),
            str(entry.get("subject", "")),
            str(entry.get("actor") or "(the system)"),
        )
    console.print(table)
