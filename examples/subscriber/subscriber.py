"""An example subscriber of another team: a plain Kafka client trusting only the published contract.

It reads the RBN topics with aiokafka, validates every message against the JSON Schema published
in `contracts/events/` (nothing of the project's Python code is imported), skips event types it
does not know (tolerant reader), drops repeats by `event_id`, and prints one line per event.

    python examples/subscriber/subscriber.py --bootstrap 127.0.0.1:9092 \
        --topic rbn.registry.events --topic rbn.conferences.events --group my-team

It commits an offset only after it handled the message, so a crash repeats rather than loses.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

import jsonschema
from aiokafka import AIOKafkaConsumer

CONTRACTS = Path(__file__).resolve().parents[2] / "contracts" / "events"


def load_schemas(folder: Path) -> dict[tuple[str, int], dict[str, Any]]:
    schemas = {}
    for path in folder.glob("*.schema.json"):
        name = path.name.removesuffix(".schema.json")
        event_type, _, version = name.rpartition(".v")
        schemas[(event_type, int(version))] = json.loads(path.read_text(encoding="utf-8"))
    return schemas


def describe(message: dict[str, Any]) -> str:
    """A line a person understands; falls back to the type for events without a special text."""
    payload = message["payload"]
    network = payload.get("network", {}).get("name", "")
    match message["type"]:
        case "committee-member-added":
            return f"{network}: {payload['person']['name']} joins the steering committee"
        case "conference-scheduled":
            return f"{network}: conference {payload['title']!r} on {payload['starts_at']}"
        case "network-registered":
            return f"network registered: {network}"
        case other:
            return f"{network or message['key']}: {other}"


class Subscriber:
    def __init__(self, schemas: dict[tuple[str, int], dict[str, Any]]) -> None:
        self.schemas = schemas
        self.seen: set[str] = set()

    def handle(self, raw: bytes) -> str:
        """Returns what happened to the message: a description, or why it was skipped."""
        try:
            message = json.loads(raw)
        except ValueError:
            return "skipped: not JSON"
        schema = self.schemas.get((message.get("type"), message.get("version")))
        if schema is None:
            return f"skipped: unknown event {message.get('type')} v{message.get('version')}"
        try:
            jsonschema.validate(message, schema, format_checker=jsonschema.FormatChecker())
        except jsonschema.ValidationError as error:
            return f"rejected: {message['type']} does not match its schema: {error.message}"
        if message["event_id"] in self.seen:
            return f"duplicate: {message['event_id']}"
        self.seen.add(message["event_id"])
        return "event: " + describe(message)


async def run(args: argparse.Namespace) -> None:
    subscriber = Subscriber(load_schemas(args.contracts))
    consumer = AIOKafkaConsumer(
        *args.topic,
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    handled = 0
    try:
        async for record in consumer:
            print(subscriber.handle(record.value), flush=True)
            await consumer.commit()
            handled += 1
            if args.max_events and handled >= args.max_events:
                break
    finally:
        await consumer.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:9092")
    parser.add_argument("--topic", action="append", required=True)
    parser.add_argument("--group", default="example-subscriber")
    parser.add_argument("--contracts", type=Path, default=CONTRACTS)
    parser.add_argument("--max-events", type=int, default=0, help="stop after this many")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
