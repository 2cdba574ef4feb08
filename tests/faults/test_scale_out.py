"""Two instances each of conferences and notifications share their consumer groups; rebalances
during the load (an instance leaves gracefully, one is killed, both come back) lose nothing and
send nothing twice."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_isolated
from tests.e2e.conftest import wait_until
from tests.faults.test_faults import NETWORKS, Stream, add_members, updates
from tests.notifications.integration.support import Mailpit
from tests.support.infra import Infra
from tests.support.services import DISTRICT, ServiceProcess, running

pytestmark = [pytest.mark.integration, pytest.mark.faults, pytest.mark.timeout(900)]


@pytest.fixture
async def instances(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[dict[str, ServiceProcess]]:
    isolated = await make_isolated(infra)
    logs: Path = tmp_path_factory.mktemp("scale-logs")
    env = {
        name: {**isolated, "RBN_MONGO_DATABASE": f"{isolated['RBN_MONGO_DATABASE']}_{name}"}
        for name in ("registry", "conferences", "notifications")
    }
    link, unsubscribe = "scale-" + uuid.uuid4().hex, "scale-" + uuid.uuid4().hex
    mail = {
        "SMTP_HOST": infra.smtp_host,
        "SMTP_PORT": str(infra.smtp_port),
        "UNSUBSCRIBE_SECRET": unsubscribe,
        "DISPATCH_POLL_SECONDS": "0.3",
        "RETRY_BASE_SECONDS": "1",
        "CLAIM_LEASE_SECONDS": "20",
    }
    started = {
        "registry": ServiceProcess("registry", env["registry"], logs),
        "conferences-a": ServiceProcess("conferences", env["conferences"], logs, LINK_SECRET=link),
        "conferences-b": ServiceProcess("conferences", env["conferences"], logs, LINK_SECRET=link),
        "notifications-a": ServiceProcess("notifications", env["notifications"], logs, **mail),
        "notifications-b": ServiceProcess("notifications", env["notifications"], logs, **mail),
    }
    with running(list(started.values()), env["registry"], logs):
        yield started


async def test_rebalances_during_load_lose_nothing_and_send_nothing_twice(
    instances: dict[str, ServiceProcess], infra: Infra
) -> None:
    stream = Stream(run=uuid.uuid4().hex[:6])
    await add_members(instances["registry"], stream)
    load = asyncio.create_task(updates(instances["registry"], stream))
    loop = asyncio.get_running_loop()

    await asyncio.sleep(3)
    instances["notifications-b"].stop()  # leaves the group: its partitions move to a
    await asyncio.sleep(3)
    await loop.run_in_executor(None, instances["notifications-b"].start)  # and back again
    instances["conferences-a"].kill()  # vanishes: the group notices after the session timeout
    await asyncio.sleep(4)
    await loop.run_in_executor(None, instances["conferences-a"].start)
    await load
    assert stream.events_written >= 2_000

    expected = {m.member_id: m.name for m in stream.members}
    conferences = instances["conferences-b"]

    async def projection_complete() -> bool:
        known: dict[str, Any] = {}
        async with conferences.client() as http:
            for network in NETWORKS:
                known.update(
                    (await http.get(f"/networks/{network}", headers=DISTRICT)).json()["committee"]
                )
        return all(known.get(k) == v for k, v in expected.items())

    await wait_until(projection_complete, timeout=300, what="the conferences' projection")
    mailpit = Mailpit(infra.mailpit_api)
    for member in stream.members:
        await mailpit.wait_for(member.email, timeout=300)
    await asyncio.sleep(5)  # room for a wrong second mail to arrive before counting
    counts = {m.email: len(await mailpit.to(m.email)) for m in stream.members}
    assert set(counts.values()) == {1}, {k: v for k, v in counts.items() if v != 1}
