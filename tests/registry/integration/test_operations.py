"""Health, readiness and metrics of a running registry."""

from __future__ import annotations

import asyncio

import pytest

from tests.registry.integration.conftest import RegistryUnderTest, auth

pytestmark = pytest.mark.integration


async def test_health_and_readiness(registry: RegistryUnderTest) -> None:
    assert (await registry.http.get("/health")).json() == {"status": "ok"}
    ready = await registry.http.get("/ready")
    assert ready.status_code == 200, ready.text
    checks = ready.json()["checks"]
    assert checks["database"] is True
    assert checks["kafka"] is True
    assert checks["outbox"]["ok"] is True


async def test_metrics_count_published_events_and_show_the_backlog(
    registry: RegistryUnderTest,
) -> None:
    await registry.http.post(
        "/networks/hamm/fields-of-action",
        headers=auth("district-token"),
        json={"title": "Metriken", "starting_situation": "a", "development_needs": "b"},
    )
    text = ""
    for _ in range(50):  # the relay publishes within moments: wait for the counter
        text = (await registry.http.get("/metrics")).text
        if 'event_type="field-of-action-proposed"' in text:
            break
        await asyncio.sleep(0.1)
    assert (
        'rbn_events_published_total{event_type="field-of-action-proposed",service="registry"}'
        in text
    )
    assert 'rbn_outbox_backlog{service="registry"}' in text
    assert "rbn_handler_seconds" in text
