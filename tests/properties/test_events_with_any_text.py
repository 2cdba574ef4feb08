"""Property: any schema-valid event, whatever its text holds, costs no dead letter and reaches
every recipient with a usable address (and fails, visibly, only the ones without).

Hypothesis draws payloads from the published JSON Schemas (tests/support/schema_strategies.py)
for every event type of the catalogue: control characters, line breaks, emoji, right-to-left
text, markup and the longest strings allowed, addresses ordinary, internationalised and refused.
Each is published to the real Kafka; the notifications and conferences services run as
processes against the real FerretDB and Mailpit.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
from aiokafka import AIOKafkaProducer
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from rbn_shared.addresses import AddressRefused, address_key, canonical_address
from rbn_shared.events import CATALOGUE, Envelope, utc_now
from rbn_shared.events.topics import Topics
from tests.conftest import make_isolated
from tests.support.infra import Infra
from tests.support.kafka_reader import read_topic
from tests.support.schema_strategies import from_schema, payload_schema
from tests.support.services import DISTRICT, ServiceProcess

pytestmark = [pytest.mark.integration]

# Where an event names its recipients itself, every one of them must get a delivery.
PERSONS_IN_PAYLOAD = {
    "conference-scheduled": ("invitees",),
    "conference-rescheduled": ("invitees",),
    "conference-updated": ("invitees",),
    "conference-cancelled": ("invitees",),
    "conference-reminder-due": ("recipients",),
    "participant-invited": ("invitee",),
    "participant-responded": ("invitee",),
    "committee-member-added": ("person",),
    "office-staff-assigned": ("person",),
}
EXAMPLES = 40


class Stack:
    def __init__(self, isolated: dict[str, str], logs: Path) -> None:
        self.isolated = isolated
        self.topics = Topics(isolated["RBN_TOPIC_PREFIX"])
        self.notifications = ServiceProcess(
            "notifications",
            {**isolated, "RBN_MONGO_DATABASE": isolated["RBN_MONGO_DATABASE"] + "_n"},
            logs,
            DISPATCH_POLL_SECONDS="0.2",
            RETRY_BASE_SECONDS="1",
            UNSUBSCRIBE_SECRET="property-" + uuid.uuid4().hex,
        )
        self.conferences = ServiceProcess(
            "conferences",
            {**isolated, "RBN_MONGO_DATABASE": isolated["RBN_MONGO_DATABASE"] + "_c"},
            logs,
            LINK_SECRET="property-" + uuid.uuid4().hex,
        )
        self.producer: AIOKafkaProducer | None = None


@pytest.fixture(scope="module")
async def stack(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    isolated = await make_isolated(infra)
    running = Stack(isolated, tmp_path_factory.mktemp("property-logs"))
    running.notifications.start(SMTP_HOST=infra.smtp_host, SMTP_PORT=str(infra.smtp_port))
    running.conferences.start()
    running.producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, acks="all")
    await running.producer.start()
    try:
        yield running
    finally:
        await running.producer.stop()
        running.notifications.stop()
        running.conferences.stop()


def _addresses(event_type: str, payload: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    for field in PERSONS_IN_PAYLOAD.get(event_type, ()):
        value = payload[field]
        people = value if isinstance(value, list) else [value]
        for item in people:
            person = item.get("person", item)
            found.add(str(person["email"]))
    return found


def _deliverable(address: str) -> bool:
    try:
        canonical_address(address)
    except AddressRefused:
        return False
    return True


async def _deliveries(stack: Stack, event_id: uuid.UUID, expected: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    async with stack.notifications.client() as http:
        for _ in range(150):
            response = await http.get(
                "/deliveries", params={"event_id": str(event_id)}, headers=DISTRICT
            )
            assert response.status_code == 200, response.text
            found = response.json()["items"]
            if len(found) >= expected and all(d["status"] != "pending" for d in found):
                return found
            await asyncio.sleep(0.2)
    raise AssertionError(f"deliveries of {event_id} did not settle: {found}")


events = st.sampled_from(sorted(CATALOGUE)).flatmap(
    lambda t: st.tuples(st.just(t), from_schema(payload_schema(t)))
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,  # the same examples on every run: CI is reproducible
    suppress_health_check=list(HealthCheck),
    database=None,
    # Each example is a real round trip through Kafka, the database and SMTP: report the first
    # failing one as drawn instead of shrinking it for minutes.
    phases=[Phase.explicit, Phase.generate],
)
@given(drawn=events)
async def test_any_schema_valid_event_reaches_every_usable_address_and_never_dead_letters(
    stack: Stack, drawn: tuple[str, dict[str, Any]]
) -> None:
    event_type, payload = drawn
    spec = CATALOGUE[event_type]
    network = payload.get("network", {}).get("id", "district")
    envelope = Envelope(
        event_id=uuid.uuid4(),
        type=event_type,
        version=spec.version,
        occurred_at=utc_now(),
        producer=spec.producer,
        correlation_id=f"property-{uuid.uuid4().hex[:8]}",
        key=network,
        aggregate_id=str(payload.get("conference_id") or payload.get("member_id") or network),
        aggregate_version=1,
        payload=payload,
    )
    jsonschema.validate(payload, payload_schema(event_type))  # schema-valid, as promised
    assert stack.producer is not None
    await stack.producer.send_and_wait(
        stack.topics.events_of(spec.producer),
        envelope.to_wire(),
        key=network.encode(),
        headers=[(k, v.encode()) for k, v in envelope.kafka_headers().items()],
    )

    addresses = _addresses(event_type, payload)
    if not addresses:
        return  # recipients from the projection only; dead letters are checked below
    deliveries = await _deliveries(
        stack, envelope.event_id, len({address_key(a) for a in addresses})
    )
    by_recipient = {d["recipient"]: d for d in deliveries}
    for address in addresses:
        delivery = by_recipient.get(address_key(address))
        assert delivery is not None, (address, deliveries)
        if _deliverable(address):
            assert delivery["status"] in ("sent", "skipped"), (address, delivery["last_error"])
        else:
            assert delivery["status"] == "failed", delivery
            assert delivery["last_error"], delivery


async def test_no_consumer_dead_lettered_any_of_them(stack: Stack, infra: Infra) -> None:
    """Runs after the property (file order): once both services have read everything, the
    dead-letter topics of every consumer are empty and the services are ready, not degraded."""
    await asyncio.sleep(2)  # the last events, published a moment ago, are fetched by now
    async with httpx.AsyncClient(timeout=5) as http:
        for service in (stack.notifications, stack.conferences):
            ready: dict[str, Any] = {}
            for _ in range(300):
                ready = (await http.get(service.url + "/ready")).json()
                lag = ready["checks"]["consumers"]["lag"]
                if lag and all(v == 0 for v in lag.values()):
                    break
                await asyncio.sleep(0.2)
            assert ready["status"] == "ready", ready
    for producer in ("registry", "conferences", "notifications"):
        topic = Topics.dead_letters_of(stack.topics.events_of(producer))
        records = await read_topic(infra.kafka_bootstrap, topic, until=lambda _: False, timeout=3)
        assert records == [], [dict(r.headers or ()) for r in records]
