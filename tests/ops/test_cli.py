"""The operator CLI against the real Kafka."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer
from typer.testing import CliRunner

from rbn_ops.cli import app
from tests.support.events import validate_against_schema
from tests.support.infra import Infra
from tests.support.kafka_reader import header, read_topic

pytestmark = pytest.mark.integration


def run(env: dict[str, str], *args: str, input: str | None = None, expect: int = 0) -> str:
    result = CliRunner().invoke(app, list(args), env={**env, "COLUMNS": "200"}, input=input)
    assert result.exit_code == expect, result.output
    return result.output


def run_json(env: dict[str, str], *args: str) -> Any:
    """A command's machine-readable answer: its standard output alone (logs go to stderr)."""
    result = CliRunner().invoke(app, list(args), env={**env, "COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


async def _dead_letter(
    infra: Infra, dlq_topic: str, original: str, *extra: tuple[str, bytes]
) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=infra.kafka_bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            dlq_topic,
            b'{"broken": true}',
            key=b"bochum",
            headers=[
                ("dlq-reason", b"invalid-payload"),
                ("dlq-error", b"payload.network: missing"),
                ("dlq-original-topic", original.encode()),
                ("dlq-consumer", b"conferences.registry"),
                ("event_type", b"committee-member-added"),
                *extra,
            ],
        )
    finally:
        await producer.stop()


def test_topics_list_and_replay_dead_letters_and_status(
    isolated: dict[str, str], infra: Infra
) -> None:
    env = {k: v for k, v in isolated.items() if k != "RBN_MONGO_DATABASE"}
    assert "all 6 topics exist" in run(env, "topics")

    prefix = isolated["RBN_TOPIC_PREFIX"]
    original, dead = f"{prefix}registry.events", f"{prefix}registry.events.dlq"
    asyncio.run(_dead_letter(infra, dead, original, ("event_id", b"ev-17")))

    listing = run(env, "dlq", "list", "--topic", "registry")
    assert "invalid-payload" in listing
    assert "committee-member-added" in listing
    assert "conferences.registry" in listing
    assert "conferences.registry:ev-17" in listing, "the id to discard it by"

    assert "replayed 1 records" in run(env, "dlq", "replay", "--topic", "registry", "--yes")
    [replayed] = asyncio.run(
        read_topic(infra.kafka_bootstrap, original, until=lambda r: len(r) >= 1)
    )
    assert replayed.value == b'{"broken": true}'
    assert replayed.key == b"bochum"
    assert header(replayed, "dlq-reason") is None, "dead-letter headers are not sent along"
    assert header(replayed, "event_type") == "committee-member-added"

    report = run_json(
        env,
        "status",
        "--json",
        "--registry",
        "http://127.0.0.1:9",
        "--conferences",
        "http://127.0.0.1:9",
        "--notifications",
        "http://127.0.0.1:9",
    )
    assert report["dead_letters"] == {"registry": 1, "conferences": 0, "notifications": 0}
    assert report["services"]["registry"] is None, "an unreachable service is reported as such"
    assert report["dead_letters_by_consumer"] == {}, "no service answered"
    assert report["failed_deliveries"] is None, "the notifications service did not answer"


def test_replay_asks_before_it_acts(isolated: dict[str, str], infra: Infra) -> None:
    prefix = isolated["RBN_TOPIC_PREFIX"]
    asyncio.run(
        _dead_letter(infra, f"{prefix}conferences.events.dlq", f"{prefix}conferences.events")
    )
    result = CliRunner().invoke(
        app, ["dlq", "replay", "--topic", "conferences"], env=isolated, input="n\n"
    )
    assert result.exit_code == 1
    assert "Replay 1 dead letters" in result.output
    assert (
        asyncio.run(
            read_topic(
                infra.kafka_bootstrap,
                f"{prefix}conferences.events",
                until=lambda r: False,
                timeout=2,
            )
        )
        == []
    )


DISCARD = ["dlq", "discard", "conferences.registry:ev-1", "--reason", "test garbage"]
NOWHERE = ["--conferences", "http://127.0.0.1:9"]


def test_discard_refuses_without_a_token_and_says_so() -> None:
    output = run({}, *DISCARD, "--service", "conferences", *NOWHERE, expect=2)
    assert "RBN_OPS_TOKEN is not set" in output


def test_discard_names_the_services_and_an_unreachable_one() -> None:
    env = {"RBN_OPS_TOKEN": "district-token"}
    assert "choose one of registry, conferences" in run(
        env, *DISCARD, "--service", "mails", expect=2
    )
    output = run(env, *DISCARD, "--service", "conferences", *NOWHERE, expect=1)
    assert "conferences at http://127.0.0.1:9 did not answer" in output


def test_the_operator_cli_keeps_to_the_services_apis() -> None:
    """`rbn` reaches the services through HTTP and Kafka only: it imports none of their code,
    and their maintenance (seed, projection rebuild) and the developers' generator are not
    among its commands."""
    probe = (
        "import sys, rbn_ops.cli; "
        "print(sorted(m for m in sys.modules "
        "if m.split('.')[0] in ('registry', 'conferences', 'notifications', 'rbn_tools')))"
    )
    imported = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert imported.strip() == "[]"
    for command in ("seed", "rebuild-projection", "contract-docs"):
        assert "No such command" in run({}, command, expect=2)


def test_contract_docs_are_up_to_date_and_their_examples_are_valid() -> None:
    from rbn_shared.events.catalogue import CATALOGUE
    from rbn_tools import contract_docs

    assert contract_docs.stale() == [], "run `uv run rbn-contract-docs` and commit the result"
    assert contract_docs.main(["--check"]) == 0
    page = contract_docs.CATALOGUE_PAGE.read_text()
    examples = [json.loads(block.split("```", 1)[0]) for block in page.split("```json\n")[1:]]
    assert len(examples) == len(CATALOGUE), "one example per event type in the catalogue"
    for example in examples:
        validate_against_schema(example)
    asyncapi = json.loads((contract_docs.ASYNCAPI_FOLDER / "registry.json").read_text())
    assert asyncapi["asyncapi"] == "3.0.0"
    assert "rbn.registry.events" in json.dumps(asyncapi["channels"])
