"""Dead letters without servers: readiness states, ids, and what `rbn status` reads."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, generate_latest

from rbn_ops.cli import _dead_letter_id, failed_deliveries, unresolved_by_consumer
from rbn_shared.consumer import dead_letter_id
from rbn_shared.http import health_router


def ready_answer(checks: Mapping[str, Any]) -> tuple[int, str]:
    async def readiness() -> Mapping[str, Any]:
        return checks

    app = FastAPI()
    app.include_router(health_router(readiness))

    async def get() -> httpx.Response:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/ready")

    response = asyncio.run(get())
    return response.status_code, response.json()["status"]


HEALTHY = {"database": True, "kafka": True, "outbox": {"ok": True, "backlog": 0}}


@pytest.mark.parametrize(
    ("checks", "expected"),
    [
        ({**HEALTHY, "dead_letters": {"unresolved": 0, "by_consumer": {"c.r": 0}}}, (200, "ready")),
        (
            {**HEALTHY, "dead_letters": {"unresolved": 2, "by_consumer": {"c.r": 2}}},
            (200, "degraded"),
        ),
        (
            {**HEALTHY, "database": False, "dead_letters": {"unresolved": 2, "by_consumer": {}}},
            (503, "not ready"),
        ),
        (
            {**HEALTHY, "database": False, "dead_letters": {"unresolved": None, "by_consumer": {}}},
            (503, "not ready"),
        ),
        ({**HEALTHY, "outbox": {"ok": False, "backlog": 20_000}}, (503, "not ready")),
        (HEALTHY, (200, "ready")),  # a readiness without dead letters, as before
    ],
)
def test_ready_is_degraded_only_by_unresolved_dead_letters_and_outages_stay_503(
    checks: Mapping[str, Any], expected: tuple[int, str]
) -> None:
    assert ready_answer(checks) == expected


def test_a_dead_letter_is_named_by_its_event_or_else_its_position() -> None:
    assert dead_letter_id("conferences.registry", "e-1", "t", 3, 7) == "conferences.registry:e-1"
    assert dead_letter_id("conferences.registry", None, "t", 3, 7) == "conferences.registry:t:3:7"


def test_the_cli_names_a_dead_letter_as_its_service_does() -> None:
    position = {
        "dlq-consumer": "notifications.registry",
        "dlq-original-topic": "rbn.registry.events",
        "dlq-original-partition": "2",
        "dlq-original-offset": "41",
    }
    assert _dead_letter_id(position) == "notifications.registry:rbn.registry.events:2:41"
    assert _dead_letter_id({**position, "event_id": "e-9"}) == "notifications.registry:e-9"
    assert _dead_letter_id({"dlq-consumer": "x"}) == "", "nothing to name it by"
    assert _dead_letter_id({"event_id": "e-9"}) == "", "no consumer"


def test_failed_deliveries_are_summed_per_consumer_from_the_metrics_text() -> None:
    registry = CollectorRegistry()
    failed = Counter(
        "rbn_deliveries_failed", "", ["service", "consumer", "stage"], registry=registry
    )
    failed.labels("notifications", "notifications.conferences", "smtp").inc(2)
    failed.labels("notifications", "notifications.conferences", "address").inc()
    failed.labels("notifications", "notifications.registry", "compose").inc(0)
    text = generate_latest(registry).decode()

    assert failed_deliveries(text) == {
        "notifications.conferences": {"total": 3, "by_stage": {"smtp": 2, "address": 1}},
        "notifications.registry": {"total": 0, "by_stage": {"compose": 0}},
    }
    assert failed_deliveries("# nothing here\n") == {}


def test_unresolved_dead_letters_are_collected_from_every_reachable_service() -> None:
    services: dict[str, Mapping[str, Any] | None] = {
        "registry": {"status": "ready", "checks": {"database": True}},  # an older service
        "conferences": {
            "status": "degraded",
            "checks": {"dead_letters": {"unresolved": 2, "by_consumer": {"conferences.r": 2}}},
        },
        "notifications": None,  # unreachable
    }
    assert unresolved_by_consumer(services) == {"conferences.r": 2}
