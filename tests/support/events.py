"""Reading a service's events back from Kafka and checking them against the published schemas."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema

from tests.support.infra import REPO
from tests.support.kafka_reader import read_topic

SCHEMAS = REPO / "contracts" / "events"


@cache
def schema_for(event_type: str, version: int = 1) -> dict[str, Any]:
    path: Path = SCHEMAS / f"{event_type}.v{version}.schema.json"
    loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return loaded


def validate_against_schema(message: dict[str, Any]) -> None:
    jsonschema.validate(
        message,
        schema_for(message["type"], message["version"]),
        format_checker=jsonschema.FormatChecker(),
    )


async def events_with_correlation(
    bootstrap: str, topic: str, correlation_id: str, *, expected: int, timeout: float = 20.0
) -> list[dict[str, Any]]:
    """The events of one request (by correlation id), once `expected` of them arrived."""

    def ours(records: list[Any]) -> list[dict[str, Any]]:
        messages = [json.loads(r.value) for r in records]
        return [m for m in messages if m.get("correlation_id") == correlation_id]

    records = await read_topic(
        bootstrap, topic, until=lambda rs: len(ours(rs)) >= expected, timeout=timeout
    )
    return ours(records)


async def all_events(bootstrap: str, topic: str, *, settle: float = 3.0) -> list[dict[str, Any]]:
    """Everything on the topic, read until nothing new arrived for `settle` seconds."""
    records = await read_topic(bootstrap, topic, until=lambda _: False, timeout=settle)
    return [json.loads(r.value) for r in records]
