"""GET /district/report: the district reads the report period's developments, grouped as the
mailed report groups them. The service runs as a process on the real Kafka and FerretDB; the
developments come from events published as the registry publishes them."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from rbn_tools.mail_examples import Examples
from tests.notifications.integration.support import DISTRICT, READER, Service, event, publish
from tests.support.infra import Infra

pytestmark = pytest.mark.integration

OFFICE = {"Authorization": "Bearer office-token"}


@pytest.fixture(scope="module")
async def service(
    module_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Service]:
    running = Service(module_env, tmp_path_factory.mktemp("district-report")).start()
    yield running
    running.stop()


async def report_with(service: Service, titles: set[str], timeout: float = 60.0) -> Any:
    """The current period's report, once it names every one of `titles`."""
    deadline = time.monotonic() + timeout
    body: Any = None
    while time.monotonic() < deadline:
        response = await service.get("/district/report", headers=DISTRICT)
        assert response.status_code == 200, response.text
        body = response.json()
        named = {item["title"] for s in body["sections"] for item in s["items"]}
        if titles <= named:
            return body
        await asyncio.sleep(0.3)
    raise AssertionError(f"report without {titles}: {body}")


async def test_the_district_reads_the_week_as_the_report_groups_it(
    service: Service, infra: Infra, module_env: dict[str, str]
) -> None:
    ex = Examples(tag=uuid.uuid4().hex[:8])
    field = f"Übergang Schule – Beruf {ex.tag}"
    member = ex.committee_member_added(member_id=f"m-{ex.tag}", name=f"Anna Schmidt {ex.tag}")
    registry = f"{module_env['RBN_TOPIC_PREFIX']}registry.events"
    await publish(
        infra.kafka_bootstrap,
        registry,
        [
            event(member, key=ex.network_id),
            event(ex.field_of_action_adopted(field), key=ex.network_id),
        ],
    )

    body = await report_with(service, {field, member.person.name})

    start = datetime.fromisoformat(body["period_start"])
    end = datetime.fromisoformat(body["period_end"])
    assert start.utcoffset() in (timedelta(hours=1), timedelta(hours=2))  # Europe/Berlin
    assert (start.weekday(), start.hour) == (0, 7)  # Mondays 07:00, the default calendar
    assert end - start == timedelta(days=7)
    assert body["next_period_start"] is None, "the current period: nothing after it yet"
    assert datetime.fromisoformat(body["previous_period_start"]) == start - timedelta(days=7)
    kinds = [s["kind"] for s in body["sections"]]
    assert kinds == ["field_adopted", "committee_joined"], "the mailed report's order"
    assert body["sections"][0]["title"] == "Neue Handlungsfelder"
    adopted = body["sections"][0]["items"][0]
    assert (adopted["network_id"], adopted["network_name"]) == ("bochum", "Bochum")
    joined = body["sections"][1]["items"][0]
    assert set(joined["details"]) == {"role", "side"}

    # The week before, named by any of its days: not the same period, and nothing of this test.
    before = (start - timedelta(days=3)).date().isoformat()
    earlier = await service.get("/district/report", params={"week": before}, headers=DISTRICT)
    assert earlier.status_code == 200, earlier.text
    assert earlier.json()["period_start"] == body["previous_period_start"]
    assert datetime.fromisoformat(earlier.json()["next_period_start"]) == start
    assert field not in earlier.text


@pytest.mark.parametrize("headers", [OFFICE, READER], ids=["office", "reader"])
async def test_offices_and_readers_are_refused(service: Service, headers: dict[str, str]) -> None:
    response = await service.get("/district/report", headers=headers)
    assert response.status_code == 403, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].endswith(":forbidden")


@pytest.mark.parametrize("week", ["2026-13-40", "next week"])
async def test_a_week_that_is_no_date_names_the_field(service: Service, week: str) -> None:
    response = await service.get("/district/report", params={"week": week}, headers=DISTRICT)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["query.week"]


async def test_a_week_not_yet_begun_is_refused(service: Service) -> None:
    later = (date.today() + timedelta(days=30)).isoformat()
    response = await service.get("/district/report", params={"week": later}, headers=DISTRICT)
    assert response.status_code == 422, response.text
    assert [e["field"] for e in response.json()["errors"]] == ["query.week"]
