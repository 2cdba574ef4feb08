"""Faults while a stream of more than 2,000 events flows through the three services.

Every service is killed (SIGKILL) at a random moment and restarted, Kafka is restarted, FerretDB
is restarted, and poison records are interleaved. Afterwards: every expected mail arrived exactly
once, the conferences' projection holds the final state, and each poison record is in the
dead-letter topic of each consumer that read it, with its reason.
"""

from __future__ import annotations

import asyncio
import json
import random
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaProducer

from tests.conftest import make_isolated
from tests.e2e.conftest import wait_until
from tests.notifications.integration.support import Mailpit
from tests.support.infra import Infra, restart
from tests.support.kafka_reader import header, read_topic
from tests.support.services import DISTRICT, NETWORK_IDS, ServiceProcess, running

pytestmark = [pytest.mark.integration, pytest.mark.faults, pytest.mark.timeout(900)]

NETWORKS = NETWORK_IDS
MEMBERS_PER_NETWORK = 8
UPDATES = 2_000
POISON_EACH = 10


@dataclass
class Member:
    network: str
    email: str
    name: str
    member_id: str = ""
    version: int = 1


@dataclass
class Stream:
    run: str
    members: list[Member] = field(default_factory=list)
    api_errors: int = 0
    events_written: int = 0


@pytest.fixture
async def services(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[dict[str, Any]]:
    isolated = await make_isolated(infra)
    logs: Path = tmp_path_factory.mktemp("fault-logs")
    env = {
        name: {**isolated, "RBN_MONGO_DATABASE": f"{isolated['RBN_MONGO_DATABASE']}_{name}"}
        for name in ("registry", "conferences", "notifications")
    }
    started = {
        "registry": ServiceProcess("registry", env["registry"], logs),
        "conferences": ServiceProcess(
            "conferences", env["conferences"], logs, LINK_SECRET="faults-" + uuid.uuid4().hex
        ),
        "notifications": ServiceProcess(
            "notifications",
            env["notifications"],
            logs,
            SMTP_HOST=infra.smtp_host,
            SMTP_PORT=str(infra.smtp_port),
            UNSUBSCRIBE_SECRET="faults-" + uuid.uuid4().hex,
            DISPATCH_POLL_SECONDS="0.3",
            RETRY_BASE_SECONDS="1",
            RETRY_MAX_SECONDS="5",
            CLAIM_LEASE_SECONDS="20",
        ),
    }
    with running(list(started.values()), env["registry"], logs):
        yield {**started, "isolated": isolated}


async def call(
    service: ServiceProcess,
    method: str,
    path: str,
    stream: Stream,
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> httpx.Response:
    """Retry through outages: connection errors and 5xx mean 'try again'."""
    deadline = time.monotonic() + 180
    while True:
        try:
            async with httpx.AsyncClient(base_url=service.url, timeout=15) as http:
                response = await http.request(
                    method, path, headers={**DISTRICT, **(headers or {})}, **kwargs
                )
            if response.status_code < 500:
                return response
        except httpx.HTTPError:
            pass
        stream.api_errors += 1
        if time.monotonic() > deadline:
            raise AssertionError(f"{method} {path} kept failing")
        await asyncio.sleep(0.5)


async def add_members(registry: ServiceProcess, stream: Stream) -> None:
    for network in NETWORKS:
        for n in range(MEMBERS_PER_NETWORK):
            member = Member(
                network, f"m{n}.{network}.{stream.run}@faults.example", f"Mitglied {n} {stream.run}"
            )
            response = await call(
                registry,
                "POST",
                f"/networks/{network}/committee/members",
                stream,
                json={
                    "person": {"name": member.name, "email": member.email},
                    "side": "municipality",
                    "role": "member",
                    "term_start": "2027-01-01",
                },
            )
            if response.status_code == 409:  # a retry of a call that had succeeded
                listing = await call(
                    registry, "GET", f"/networks/{network}/committee/members?limit=100", stream
                )
                found = next(
                    m for m in listing.json()["items"] if m["person"]["email"] == member.email
                )
                member.member_id, member.version = found["id"], found["version"]
            else:
                assert response.status_code == 201, response.text
                member.member_id = response.json()["id"]
            stream.members.append(member)
            stream.events_written += 1


async def rename(registry: ServiceProcess, stream: Stream, member: Member, name: str) -> None:
    path = f"/networks/{member.network}/committee/members/{member.member_id}"
    while True:
        response = await call(
            registry,
            "PATCH",
            path,
            stream,
            json={"person": {"name": name, "email": member.email}},
            headers={"If-Match": f'"{member.version}"'},
        )
        if response.status_code == 200:
            member.version, member.name = int(response.headers["ETag"].strip('"')), name
            stream.events_written += 1
            return
        assert response.status_code == 409, response.text
        current = (await call(registry, "GET", path, stream)).json()
        member.version = current["version"]
        if current["person"]["name"] == name:  # the earlier try had gone through
            member.name = name
            stream.events_written += 1
            return


async def updates(registry: ServiceProcess, stream: Stream) -> None:
    by_network: dict[str, list[Member]] = {}
    for member in stream.members:
        by_network.setdefault(member.network, []).append(member)
    per_network = UPDATES // len(NETWORKS) + 1

    async def lane(members: list[Member]) -> None:
        for k in range(per_network):
            member = members[k % len(members)]
            await rename(registry, stream, member, f"{member.name.split(' v')[0]} v{k}")

    await asyncio.gather(*(lane(members) for members in by_network.values()))


async def poison(bootstrap: str, topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(POISON_EACH):
            await producer.send_and_wait(
                topic, b"\x00not json at all " + str(i).encode(), key=b"hamm"
            )
            invalid = {
                "event_id": str(uuid.uuid4()),
                "type": "committee-member-added",
                "version": 1,
                "occurred_at": "2027-01-01T00:00:00Z",
                "producer": "registry",
                "correlation_id": "poison",
                "key": "hamm",
                "aggregate_id": "hamm",
                "aggregate_version": 1,
                "payload": {"network": {"id": "hamm"}},
            }
            await producer.send_and_wait(topic, json.dumps(invalid).encode(), key=b"hamm")
            await asyncio.sleep(0.5)
    finally:
        await producer.stop()


async def not_ready_seen(service: ServiceProcess, seconds: float) -> bool:
    """Did the service say 'not ready' at least once within `seconds`?"""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            async with httpx.AsyncClient(timeout=3) as http:
                if (await http.get(service.url + "/ready")).status_code == 503:
                    return True
        except httpx.HTTPError:
            pass
        await asyncio.sleep(0.2)
    return False


async def test_nothing_lost_nothing_twice_through_kills_restarts_and_poison(
    services: dict[str, Any], infra: Infra
) -> None:
    registry: ServiceProcess = services["registry"]
    conferences: ServiceProcess = services["conferences"]
    notifications: ServiceProcess = services["notifications"]
    isolated: dict[str, str] = services["isolated"]
    registry_topic = isolated["RBN_TOPIC_PREFIX"] + "registry.events"
    seed = random.randrange(1_000_000)
    rng = random.Random(seed)
    stream = Stream(run=uuid.uuid4().hex[:6])
    print(f"fault schedule seed: {seed}")

    await add_members(registry, stream)
    load = asyncio.create_task(updates(registry, stream))
    poisoning = asyncio.create_task(poison(infra.kafka_bootstrap, registry_topic))

    loop = asyncio.get_running_loop()
    for service in (conferences, notifications, registry):
        await asyncio.sleep(rng.uniform(1.0, 4.0))
        service.kill()
        await asyncio.sleep(rng.uniform(0.5, 2.0))
        await loop.run_in_executor(None, service.start)
    await asyncio.sleep(rng.uniform(1.0, 3.0))
    await loop.run_in_executor(None, restart, infra, "kafka", 2.0)
    await asyncio.sleep(rng.uniform(1.0, 3.0))
    watcher = asyncio.create_task(not_ready_seen(conferences, 30))
    await loop.run_in_executor(None, restart, infra, "ferretdb", 4.0)
    assert await watcher, "during the database outage the service said it was not ready"
    await load
    await poisoning
    assert stream.events_written >= 2_000 + len(stream.members)

    # Every projection complete: the conferences service knows each member's final name.
    expected = {m.member_id: m.name for m in stream.members}

    async def projection_complete() -> bool:
        known: dict[str, str] = {}
        async with conferences.client() as http:
            for network in NETWORKS:
                response = await http.get(f"/networks/{network}", headers=DISTRICT)
                if response.status_code != 200:
                    return False
                known.update(response.json()["committee"])
        return all(known.get(k) == v for k, v in expected.items())

    await wait_until(projection_complete, timeout=300, what="the conferences' projection")

    # Every expected mail exactly once: one welcome per new member.
    mailpit = Mailpit(infra.mailpit_api)
    for member in stream.members:
        await mailpit.wait_for(member.email, timeout=300)
    await asyncio.sleep(5)  # room for a wrong second mail to arrive before counting
    counts = {m.email: len(await mailpit.to(m.email)) for m in stream.members}
    assert set(counts.values()) == {1}, {k: v for k, v in counts.items() if v != 1}

    # Each poison record dead-lettered once by each consumer of the registry topic, with reason.
    def enough(records: list[Any]) -> bool:
        return len(records) >= 4 * POISON_EACH

    dead = await read_topic(
        infra.kafka_bootstrap, registry_topic + ".dlq", until=enough, timeout=60
    )
    # A record is identified by its original position; a crash between the dead-letter write
    # and its marker may repeat it, which the position shows (and the replay tool tolerates).
    positions = {
        (
            header(r, "dlq-consumer"),
            header(r, "dlq-reason"),
            header(r, "dlq-original-offset"),
            header(r, "dlq-original-partition"),
        )
        for r in dead
    }
    per_consumer = Counter((consumer, reason) for consumer, reason, _, _ in positions)
    for consumer in ("conferences.registry-projection", "notifications.registry"):
        assert per_consumer[(consumer, "undecodable")] == POISON_EACH, per_consumer
        assert per_consumer[(consumer, "invalid-payload")] == POISON_EACH, per_consumer
    print(f"dead letters: {len(dead)} records for {len(positions)} poison deliveries")
    print(f"events written {stream.events_written}, API retries {stream.api_errors}")
