"""The example subscriber reads real events from Kafka, validated by the published schemas only."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer

from rbn_shared.events import new_event
from rbn_shared.events.base import MunicipalityKind, NetworkRef, Person, Side
from rbn_shared.events.registry import (
    CommitteeMemberAdded,
    CommitteeRole,
    Municipality,
    NetworkRegistered,
    OfficeContact,
)
from tests.support.infra import REPO, Infra
from tests.support.processes import Process

pytestmark = pytest.mark.integration

NETWORK = NetworkRef(id="kreis-soest", name="RBN Kreis Soest", office_email="rbn@soest.example")


async def test_subscriber_validates_skips_and_deduplicates(
    isolated: dict[str, str], infra: Infra, tmp_path: Path
) -> None:
    topic = isolated["RBN_TOPIC_PREFIX"] + "registry.events"
    registered = new_event(
        NetworkRegistered(
            network=NETWORK,
            municipality=Municipality(name="Soest", kind=MunicipalityKind.DISTRICT),
            office=OfficeContact(name="Büro", email="rbn@soest.example"),
        ),
        key="kreis-soest",
        aggregate_id="kreis-soest",
        aggregate_version=1,
        correlation_id="c",
    )
    member = new_event(
        CommitteeMemberAdded(
            network=NETWORK,
            member_id="m1",
            person=Person(name="Petra Lange", email="p.lange@soest.example"),
            side=Side.MUNICIPALITY,
            role=CommitteeRole.CHAIR,
            term_start=date(2027, 1, 1),
        ),
        key="kreis-soest",
        aggregate_id="kreis-soest",
        aggregate_version=2,
        correlation_id="c",
    )
    broken = json.loads(member.to_wire())
    broken["event_id"] = "00000000-0000-4000-8000-000000000001"
    del broken["payload"]["person"]
    future = {**json.loads(member.to_wire()), "type": "network-merged"}
    messages = [
        registered.to_wire(),
        member.to_wire(),
        member.to_wire(),
        json.dumps(broken).encode(),
        json.dumps(future).encode(),
    ]

    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for value in messages:
            await producer.send_and_wait(topic, value, key=b"kreis-soest")
    finally:
        await producer.stop()

    subscriber = Process(
        "subscriber",
        [
            sys.executable,
            str(REPO / "examples" / "subscriber" / "subscriber.py"),
            "--bootstrap",
            infra.kafka_bootstrap,
            "--topic",
            topic,
            "--group",
            "example-test",
            "--max-events",
            str(len(messages)),
        ],
        env={},
        log_dir=tmp_path,
    ).start()
    assert subscriber.wait(60) == 0, subscriber.output
    lines = [line for line in subscriber.output.splitlines() if not line.startswith("---")]
    assert lines == [
        "event: network registered: RBN Kreis Soest",
        "event: RBN Kreis Soest: Petra Lange joins the steering committee",
        f"duplicate: {member.event_id}",
        "rejected: committee-member-added does not match its schema: 'person' is a required "
        "property",
        "skipped: unknown event network-merged v1",
    ]
