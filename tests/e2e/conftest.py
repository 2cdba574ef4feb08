"""The whole system: registry, conferences and notifications as OS processes, seeded."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import make_isolated
from tests.notifications.integration.support import Mailpit
from tests.support.env import service_env
from tests.support.infra import Infra
from tests.support.processes import Process
from tests.support.services import DISTRICT, ServiceProcess, free_port

REPLY_DOMAIN = "antworten.rbn-arnsberg.example"


@dataclass
class System:
    registry: ServiceProcess
    conferences: ServiceProcess
    notifications: ServiceProcess
    mailpit: Mailpit
    isolated: dict[str, str]
    bootstrap: str

    @property
    def inbound_smtp_port(self) -> int:
        return int(self.notifications.settings["INBOUND_SMTP_PORT"])

    @property
    def services(self) -> list[ServiceProcess]:
        return [self.registry, self.conferences, self.notifications]


async def wait_until(check, timeout: float = 60.0, what: str = "condition"):  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last = None
    while loop.time() < deadline:
        last = await check()
        if last:
            return last
        await asyncio.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}; last: {last!r}")


@contextlib.asynccontextmanager
async def started_system(
    infra: Infra, logs: Path, *, smtp_host: str, smtp_port: int, mailpit_api: str
) -> AsyncIterator[System]:
    """The three services as processes on their own topics and databases, seeded, sending to
    the given SMTP server; stopped afterwards."""
    isolated = await make_isolated(infra)
    per_service = {
        name: {**isolated, "RBN_MONGO_DATABASE": f"{isolated['RBN_MONGO_DATABASE']}_{name}"}
        for name in ("registry", "conferences", "notifications")
    }
    # The seed command writes from its own process; the running registry publishes what it
    # wrote at its next sweep (every 10 s by default: each module's set-up would wait for it).
    registry = ServiceProcess("registry", per_service["registry"], logs, OUTBOX_SWEEP_SECONDS="1")
    notifications = ServiceProcess(
        "notifications",
        per_service["notifications"],
        logs,
        SMTP_HOST=smtp_host,
        SMTP_PORT=str(smtp_port),
        UNSUBSCRIBE_SECRET="e2e-" + uuid.uuid4().hex,
        DISPATCH_POLL_SECONDS="0.3",
        RETRY_BASE_SECONDS="1",
        INBOUND_SMTP_PORT=str(free_port()),  # calendar replies (tests/e2e/test_calendar_replies)
    )
    conferences = ServiceProcess(
        "conferences",
        per_service["conferences"],
        logs,
        LINK_SECRET="e2e-" + uuid.uuid4().hex,
        REMINDER_POLL_SECONDS="0.5",
        NOTIFICATIONS_URL=notifications.url,  # invitation previews are rendered there
        REPLY_DOMAIN=REPLY_DOMAIN,  # invitations' ORGANIZER: antwort+<token>@REPLY_DOMAIN
    )
    started: list[ServiceProcess] = []
    try:
        # Side by side: each start is mostly Python importing, and the seed needs only the
        # registry; the others catch up on its events from Kafka.
        for service in (registry, conferences, notifications):
            started.append(service.launch())
        registry.wait_ready()
        seed = Process.python_module(
            "seed",
            "registry.entrypoints.main",
            "seed",
            env=service_env("REGISTRY_", per_service["registry"]),
            log_dir=logs,
        ).start()
        conferences.wait_ready()
        notifications.wait_ready()
        assert seed.wait(120) == 0, seed.output
        system = System(
            registry,
            conferences,
            notifications,
            Mailpit(mailpit_api),
            isolated,
            infra.kafka_bootstrap,
        )

        async def projection_ready() -> bool:
            async with conferences.client() as http:
                response = await http.get("/networks/kreis-olpe", headers=DISTRICT)
                return response.status_code == 200 and response.json()["agreement_active"]

        await wait_until(projection_ready, what="the conferences' projection of the registry")
        yield system
    finally:
        for service in started:
            service.stop()


def started_on_shared_mailpit(
    infra: Infra, logs: Path
) -> contextlib.AbstractAsyncContextManager[System]:
    """`started_system` sending to the session's Mailpit."""
    return started_system(
        infra,
        logs,
        smtp_host=infra.smtp_host,
        smtp_port=infra.smtp_port,
        mailpit_api=infra.mailpit_api,
    )


@pytest.fixture(scope="module")
async def system(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[System]:
    async with started_on_shared_mailpit(infra, tmp_path_factory.mktemp("e2e-logs")) as running:
        yield running
