"""Dead letters visible and fixable, against the real Kafka and FerretDB.

A consumer whose handler fails while a flag is set dead-letters a record; the service's database,
`/ready`, `/metrics` and `rbn status` show it as unresolved; once the cause is fixed,
`rbn dlq replay` sends it back and processing it resolves it. Another one is discarded through the
operator API and `rbn dlq discard`.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI
from pymongo import AsyncMongoClient, monitoring

from rbn_shared.auth import TokenTable
from rbn_shared.consumer import EventConsumer, Incoming, Outcome, Together
from rbn_shared.events import Envelope, new_event
from rbn_shared.events.registry import NetworkRegistered, NetworkUpdated
from rbn_shared.http import PROBLEM_JSON, install_problem_handlers
from rbn_shared.runtime import Runtime
from rbn_shared.settings import ServiceSettings
from tests.integration.test_outbox_pipeline import _network_registered
from tests.support.infra import REPO, Infra
from tests.support.kafka_reader import header, read_topic
from tests.support.services import free_port

pytestmark = pytest.mark.integration

Mongo = AsyncMongoClient[dict[str, object]]
SERVICE = "conferences"  # the runtime stands in for the conferences service
CONSUMER = f"{SERVICE}.flaky"
DISTRICT, OFFICE = "district-token-for-tests", "office-token-for-tests"


@dataclass
class Flaky:
    """A handler that fails while `failing` is set, and notes what it processed."""

    failing: bool = True
    processed: list[str] = field(default_factory=list)

    async def __call__(self, envelope: Envelope, payload: NetworkRegistered) -> None:
        if self.failing:
            raise RuntimeError("the cause is not fixed yet")
        self.processed.append(str(envelope.event_id))


@dataclass
class Served:
    runtime: Runtime
    url: str
    http: httpx.AsyncClient


@pytest.fixture
def flaky() -> Flaky:
    return Flaky()


@pytest.fixture
async def served(isolated: dict[str, str], flaky: Flaky) -> AsyncIterator[Served]:
    """A Runtime with one flaky consumer of the registry topic, its routers served over HTTP."""
    settings = ServiceSettings(
        kafka_bootstrap_servers=isolated["RBN_KAFKA_BOOTSTRAP_SERVERS"],
        mongo_url=isolated["RBN_MONGO_URL"],
        mongo_database=isolated["RBN_MONGO_DATABASE"],
        topic_prefix=isolated["RBN_TOPIC_PREFIX"],
        consumer_max_attempts=2,
    )
    runtime = Runtime(settings, SERVICE)
    runtime.consume("flaky", [settings.topics.registry], {"network-registered": flaky})
    app = FastAPI()
    app.state.authenticator = TokenTable({DISTRICT: "district", OFFICE: "office:hamm"})
    install_problem_handlers(app)
    for router in runtime.routers():
        app.include_router(router)
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    await runtime.start()
    serving = asyncio.create_task(server.serve())
    try:
        while not server.started:
            assert not serving.done(), "the HTTP server did not start"
            await asyncio.sleep(0.05)
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url, timeout=10) as http:
            yield Served(runtime, url, http)
    finally:
        server.should_exit = True
        await serving
        await runtime.stop()


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = 60) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting until {what}")
        await asyncio.sleep(0.2)


async def rbn(env: dict[str, str], *args: str, expect: int = 0) -> str:
    """The operator CLI as its own process (its output must not mix with this one's logs)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "from rbn_ops.cli import app; app()",
        *args,
        cwd=REPO,
        env=_without_rbn_settings(os.environ) | env | {"COLUMNS": "500"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await process.communicate()
    text = output.decode()
    assert process.returncode == expect, text
    return text


def _without_rbn_settings(environ: Mapping[str, str]) -> dict[str, str]:
    """The test's environment without RBN_* settings (and token) the developer may have set."""
    return {k: v for k, v in environ.items() if not k.startswith("RBN_")}


def cli_env(isolated: dict[str, str], **extra: str) -> dict[str, str]:
    return {k: v for k, v in isolated.items() if k != "RBN_MONGO_DATABASE"} | extra


def only(service_url: str) -> list[str]:
    """Service options for the CLI: the runtime as `conferences`, the others unreachable."""
    return [
        "--registry",
        "http://127.0.0.1:9",
        "--conferences",
        service_url,
        "--notifications",
        "http://127.0.0.1:9",
    ]


async def send(infra: Infra, topic: str, value: bytes, key: bytes, headers: dict[str, str]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        encoded = [(k, v.encode()) for k, v in headers.items()]
        await producer.send_and_wait(topic, value, key=key, headers=encoded)
    finally:
        await producer.stop()


async def dead_letters(mongo: Mongo, isolated: dict[str, str]) -> list[dict[str, Any]]:
    collection = mongo[isolated["RBN_MONGO_DATABASE"]]["dead_letters"]
    return [dict(d) async for d in collection.find()]


async def ready(served: Served) -> tuple[int, dict[str, Any]]:
    response = await served.http.get("/ready")
    body: dict[str, Any] = response.json()
    return response.status_code, body


async def test_a_dead_letter_is_visible_until_its_replay_is_processed(
    served: Served, flaky: Flaky, isolated: dict[str, str], infra: Infra, mongo: Mongo
) -> None:
    topic = isolated["RBN_TOPIC_PREFIX"] + "registry.events"
    event = _network_registered("arnsberg")
    await send(infra, topic, event.to_wire(), b"arnsberg", event.kafka_headers())

    async def logged() -> bool:
        return len(await dead_letters(mongo, isolated)) == 1

    await until(logged, "the failing event was logged as a dead letter")
    [dead] = await dead_letters(mongo, isolated)
    assert dead["_id"] == f"{CONSUMER}:{event.event_id}"
    assert {k: dead[k] for k in ("consumer", "topic", "event_id", "event_type", "reason")} == {
        "consumer": CONSUMER,
        "topic": topic,
        "event_id": str(event.event_id),
        "event_type": "network-registered",
        "reason": "handler-failed",
    }
    assert "the cause is not fixed yet" in dead["error"]
    assert dead["resolved_at"] is None
    assert dead["resolution"] is None
    assert isinstance(dead["partition"], int)
    assert isinstance(dead["offset"], int)
    assert dead["dead_lettered_at"] is not None

    in_dlq = await read_topic(
        infra.kafka_bootstrap, topic + ".dlq", until=lambda r: False, timeout=3
    )
    assert len(in_dlq) == 1, "dead-lettered once"
    assert header(in_dlq[0], "dlq-consumer") == CONSUMER

    status, body = await ready(served)
    assert (status, body["status"]) == (200, "degraded"), body
    assert body["checks"]["dead_letters"] == {"unresolved": 1, "by_consumer": {CONSUMER: 1}}
    metrics = (await served.http.get("/metrics")).text
    assert (
        f'rbn_dead_letters_unresolved{{consumer="{CONSUMER}",service="{SERVICE}"}} 1.0' in metrics
    )

    env = cli_env(isolated)
    report = json.loads(await rbn(env, "status", "--json", *only(served.url)))
    assert report["dead_letters_by_consumer"] == {CONSUMER: 1}
    assert report["services"]["conferences"]["status"] == "degraded"
    assert report["dead_letters"]["registry"] == 1, "the record in the registry's DLQ topic"
    assert report["failed_deliveries"] is None, "the notifications service is not running"
    table = await rbn(env, "status", *only(served.url))
    assert CONSUMER in table
    assert "degraded" in table

    flaky.failing = False  # the cause is fixed
    assert "replayed 1 records" in await rbn(env, "dlq", "replay", "--topic", "registry", "--yes")

    async def resolved() -> bool:
        [doc] = await dead_letters(mongo, isolated)
        return doc["resolved_at"] is not None

    await until(resolved, "the replayed event was processed")
    [dead] = await dead_letters(mongo, isolated)
    assert dead["resolution"] == "processed after replay"
    assert flaky.processed == [str(event.event_id)]
    status, body = await ready(served)
    assert (status, body["status"]) == (200, "ready"), body
    assert body["checks"]["dead_letters"] == {"unresolved": 0, "by_consumer": {CONSUMER: 0}}
    metrics = (await served.http.get("/metrics")).text
    assert (
        f'rbn_dead_letters_unresolved{{consumer="{CONSUMER}",service="{SERVICE}"}} 0.0' in metrics
    )
    report = json.loads(await rbn(env, "status", "--json", *only(served.url)))
    assert report["dead_letters_by_consumer"] == {CONSUMER: 0}
    assert report["services"]["conferences"]["status"] == "ready"


async def test_a_dead_letter_is_discarded_through_the_api_and_the_cli(
    served: Served, isolated: dict[str, str], infra: Infra, mongo: Mongo
) -> None:
    topic = isolated["RBN_TOPIC_PREFIX"] + "registry.events"
    for value in (b"{not json", b"{still not json"):  # no event id: named by position
        await send(infra, topic, value, b"hamm", {})

    async def both_logged() -> bool:
        return len(await dead_letters(mongo, isolated)) == 2

    await until(both_logged, "both undecodable records were logged")
    district = {"Authorization": f"Bearer {DISTRICT}"}
    listing = await served.http.get("/dead-letters", headers=district)
    assert listing.status_code == 200, listing.text
    page = listing.json()
    assert (page["total"], page["limit"], page["offset"]) == (2, 50, 0)
    newest, oldest = page["items"]
    assert newest["dead_lettered_at"] >= oldest["dead_lettered_at"], "newest first"
    assert {i["reason"] for i in page["items"]} == {"undecodable"}
    assert {i["event_id"] for i in page["items"]} == {None}
    for item in page["items"]:
        assert item["id"] == f"{CONSUMER}:{topic}:{item['partition']}:{item['offset']}"
    second_page = (await served.http.get("/dead-letters?limit=1&offset=1", headers=district)).json()
    assert [i["id"] for i in second_page["items"]] == [oldest["id"]]

    office = await served.http.get("/dead-letters", headers={"Authorization": f"Bearer {OFFICE}"})
    assert office.status_code == 403
    assert office.headers["content-type"] == PROBLEM_JSON
    assert (await served.http.get("/dead-letters")).status_code == 401

    unknown = await served.http.post(
        f"/dead-letters/{CONSUMER}:nope/discard", json={"reason": "x"}, headers=district
    )
    assert unknown.status_code == 404
    assert unknown.headers["content-type"] == PROBLEM_JSON
    assert unknown.json()["type"] == "urn:rbn-arnsberg:problem:not-found"
    empty = await served.http.post(
        f"/dead-letters/{newest['id']}/discard", json={"reason": "  "}, headers=district
    )
    assert empty.status_code == 422

    discarded = await served.http.post(
        f"/dead-letters/{newest['id']}/discard", json={"reason": "test garbage"}, headers=district
    )
    assert discarded.status_code == 200, discarded.text
    assert discarded.json()["resolution"] == "discarded: test garbage"
    assert discarded.json()["resolved_at"] is not None
    again = await served.http.post(
        f"/dead-letters/{newest['id']}/discard", json={"reason": "twice"}, headers=district
    )
    assert again.status_code == 409
    assert "discarded: test garbage" in again.json()["detail"]
    status, body = await ready(served)
    assert (status, body["status"]) == (200, "degraded"), "one is still unresolved"

    env = cli_env(isolated)
    discard = ["dlq", "discard", oldest["id"], "--service", "conferences", "--reason", "known"]
    refused = await rbn(env, *discard, *only(served.url), expect=2)
    assert "RBN_OPS_TOKEN is not set" in refused
    wrong = await rbn(
        cli_env(isolated, RBN_OPS_TOKEN=OFFICE), *discard, *only(served.url), expect=1
    )
    assert "Only the district coordination may do this." in wrong
    done = await rbn(cli_env(isolated, RBN_OPS_TOKEN=DISTRICT), *discard, *only(served.url))
    assert f"discarded {oldest['id']}: discarded: known" in done

    assert (await served.http.get("/dead-letters", headers=district)).json()["items"] == []
    status, body = await ready(served)
    assert (status, body["status"]) == (200, "ready"), body
    listed = await rbn(env, "dlq", "list", "--topic", "registry")
    assert oldest["id"] in listed, "`rbn dlq list` names the id the service knows it by"


# ------------------------------------------------------------- the consumer without a broker


class RecordingSink:
    def __init__(self) -> None:
        self.sent: list[dict[str, str]] = []

    async def send(
        self, topic: str, key: bytes | None, value: bytes, headers: dict[str, str]
    ) -> None:
        self.sent.append(headers)


async def test_redelivery_logs_one_dead_letter_and_a_processed_replay_resolves_it(
    isolated: dict[str, str], mongo: Mongo
) -> None:
    db = mongo[isolated["RBN_MONGO_DATABASE"]]
    flaky, sink = Flaky(), RecordingSink()
    consumer = EventConsumer(
        name="test.flaky",
        service="test",
        db=db,
        handlers={"network-registered": flaky},
        dead_letters=sink,
        max_attempts=1,
    )
    other = EventConsumer(
        name="test.other",
        service="test",
        db=db,
        handlers={"network-registered": Flaky(failing=False)},
        dead_letters=sink,
    )
    event = _network_registered("siegen")

    def at(offset: int, **headers: str) -> Incoming:
        return Incoming(
            topic="t",
            partition=0,
            offset=offset,
            key=b"siegen",
            value=event.to_wire(),
            headers={**event.kafka_headers(), **headers},
        )

    async def logged() -> Sequence[dict[str, Any]]:
        return [dict(d) async for d in db["dead_letters"].find()]

    assert await consumer.process(at(5)) == Outcome.DEAD_LETTERED
    assert await consumer.process(at(5)) == Outcome.DEAD_LETTERED, "redelivered after a crash"
    assert len(sink.sent) == 1, "sent to the dead-letter topic once"
    [dead] = await logged()
    assert (dead["_id"], dead["offset"], dead["resolved_at"]) == (
        f"test.flaky:{event.event_id}",
        5,
        None,
    )

    # Replayed while still broken: dead-lettered again, the same dead letter, still unresolved.
    replayed = {"dlq-replayed-at": "2026-01-01T00:00:00+00:00"}
    assert await consumer.process(at(9, **replayed)) == Outcome.DEAD_LETTERED
    [dead] = await logged()
    assert (dead["offset"], dead["resolved_at"]) == (9, None)
    assert await consumer.dead_letter_log.unresolved_by_consumer() == {"test.flaky": 1}

    # An ordinary delivery does not resolve it; only a replayed one does.
    flaky.failing = False
    assert await other.process(at(10, **replayed)) == Outcome.PROCESSED
    assert (await logged())[0]["resolved_at"] is None, "another consumer's success is no fix"
    assert await consumer.process(at(11, **replayed)) == Outcome.PROCESSED
    [dead] = await logged()
    assert dead["resolution"] == "processed after replay"
    assert dead["resolved_at"] is not None
    assert await consumer.dead_letter_log.unresolved_by_consumer() == {}
    assert flaky.processed == [str(event.event_id)]


async def test_a_replay_of_an_event_processed_meanwhile_resolves_its_dead_letter(
    isolated: dict[str, str], mongo: Mongo
) -> None:
    db = mongo[isolated["RBN_MONGO_DATABASE"]]
    flaky = Flaky()
    consumer = EventConsumer(
        name="test.flaky",
        service="test",
        db=db,
        handlers={"network-registered": flaky},
        dead_letters=RecordingSink(),
        max_attempts=1,
    )
    event = _network_registered("olpe")
    record = Incoming("t", 1, 3, b"olpe", event.to_wire(), event.kafka_headers())
    assert await consumer.process(record) == Outcome.DEAD_LETTERED
    flaky.failing = False
    # The outbox published the event a second time (a relay crash): that copy was processed.
    assert await consumer.process(Incoming("t", 1, 4, b"olpe", event.to_wire())) == (
        Outcome.PROCESSED
    )
    assert await consumer.dead_letter_log.unresolved_by_consumer() == {"test.flaky": 1}
    replay = Incoming("t", 1, 8, b"olpe", event.to_wire(), {"dlq-replayed-at": "now"})
    assert await consumer.process(replay) == Outcome.DUPLICATE
    assert await consumer.dead_letter_log.unresolved_by_consumer() == {}
    assert flaky.processed == [str(event.event_id)], "processed once, not again on the replay"


# ---------------------------------------------------------------------------- handled together


@dataclass
class Folding:
    """Handlers one by one and together, noting what each got; `together` fails if set."""

    failing: bool = False
    one_by_one: list[str] = field(default_factory=list)
    runs: list[list[str]] = field(default_factory=list)

    async def one(self, envelope: Envelope, payload: NetworkRegistered) -> None:
        self.one_by_one.append(payload.network.id)

    async def together(self, events: list[tuple[Envelope, NetworkRegistered]]) -> None:
        self.runs.append([payload.network.id for _, payload in events])
        if self.failing:
            raise RuntimeError("one of them cannot be folded")


def _consumer_with(db: Any, folding: Folding, name: str) -> EventConsumer:
    return EventConsumer(
        name=name,
        service="test",
        db=db,
        handlers={"network-registered": folding.one},
        dead_letters=RecordingSink(),
        max_attempts=1,
        together=Together(frozenset({"network-registered"}), folding.together),
    )


def _lane(*events: Envelope | bytes) -> list[Incoming]:
    """Records of one lane (one partition and key), at consecutive offsets."""
    return [
        Incoming(
            "t",
            0,
            offset,
            b"lane",
            e if isinstance(e, bytes) else e.to_wire(),
            {} if isinstance(e, bytes) else e.kafka_headers(),
        )
        for offset, e in enumerate(events)
    ]


async def test_runs_of_a_lane_are_handled_together_and_the_rest_one_by_one(
    isolated: dict[str, str], mongo: Mongo
) -> None:
    db = mongo[isolated["RBN_MONGO_DATABASE"]]
    folding = Folding()
    consumer = _consumer_with(db, folding, "test.folding")
    a, b, c, d = (_network_registered(n) for n in ("arnsberg", "brilon", "calle", "dorsten"))

    outcomes = await consumer.process_batch(_lane(a, b, b"not an event", c, d, d))

    # The undecodable record breaks the run; the repeat of d in the same run goes alone.
    assert folding.runs == [["arnsberg", "brilon"], ["calle", "dorsten"]]
    assert folding.one_by_one == []
    assert outcomes == [
        Outcome.PROCESSED,
        Outcome.PROCESSED,
        Outcome.DEAD_LETTERED,
        Outcome.PROCESSED,
        Outcome.PROCESSED,
        Outcome.DUPLICATE,
    ]
    # Each event noted as processed: delivered again, nothing is handled a second time.
    assert await consumer.process_batch(_lane(a, b, c, d)) == [Outcome.DUPLICATE] * 4
    assert len(folding.runs) == 2
    assert folding.one_by_one == []


async def test_a_run_that_fails_together_is_handled_one_by_one(
    isolated: dict[str, str], mongo: Mongo
) -> None:
    db = mongo[isolated["RBN_MONGO_DATABASE"]]
    folding = Folding(failing=True)
    consumer = _consumer_with(db, folding, "test.folding-fails")
    events = [_network_registered(n) for n in ("hagen", "herne", "hamm")]

    outcomes = await consumer.process_batch(_lane(*events))

    assert folding.runs == [["hagen", "herne", "hamm"]]
    assert folding.one_by_one == ["hagen", "herne", "hamm"], "each alone, in order"
    assert outcomes == [Outcome.PROCESSED] * 3


class MarkerLookups(monitoring.CommandListener):
    """The ids each `find` on the processed markers asked for."""

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "find" and event.command["find"] == "processed_events":
            self.asked.append(sorted(event.command["filter"]["_id"]["$in"]))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


async def test_a_batch_asks_for_the_markers_of_the_events_it_handles_only(
    isolated: dict[str, str], infra: Infra
) -> None:
    """Events of types the consumer does not handle (every sent mail, where only the failed
    ones matter) are ignored without a marker looked up for them."""
    lookups = MarkerLookups()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        infra.mongo_url, tz_aware=True, event_listeners=[lookups]
    )
    try:
        folding = Folding()
        consumer = _consumer_with(client[isolated["RBN_MONGO_DATABASE"]], folding, "test.few")
        handled = _network_registered("soest")
        others = [_network_updated(n) for n in ("unna", "werl")]

        outcomes = await consumer.process_batch(_lane(others[0], handled, others[1]))

        assert outcomes == [Outcome.IGNORED, Outcome.PROCESSED, Outcome.IGNORED]
        assert folding.one_by_one == ["soest"]
        assert lookups.asked == [[f"test.few:{handled.event_id}"]]
    finally:
        await client.close()


def _network_updated(network_id: str) -> Envelope:
    registered = _network_registered(network_id)
    payload = NetworkUpdated.model_validate(registered.payload)
    return new_event(
        payload, key=network_id, aggregate_id=network_id, aggregate_version=2, correlation_id="t"
    )
