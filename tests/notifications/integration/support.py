"""Helpers of the notifications integration tests: the service as a process, Mailpit, Kafka."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from aiokafka import AIOKafkaProducer

from notifications.adapters.repositories import DELIVERIES, Repositories
from notifications.domain.report_calendar import ReportCalendar
from notifications.rendering.links import UnsubscribeLinks
from notifications.rendering.mails import MailRenderer
from notifications.service_layer.notifier import Notifier, Sender
from notifications.service_layer.periodic import PeriodicMail
from rbn_shared.changes import Clock
from rbn_shared.events import Envelope, EventPayload, new_event
from rbn_shared.outbox import AggregateStore, KeyedLocks
from tests.support.env import service_env
from tests.support.processes import Process

MailT = TypeVar("MailT", bound=PeriodicMail)

TOKENS = {"district-token": "district", "reader-token": "reader", "office-token": "office:bochum"}
DISTRICT = {"Authorization": "Bearer district-token"}
READER = {"Authorization": "Bearer reader-token"}


class MovedClock:
    """A clock the test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def periodic_mail_instance(
    kind: type[MailT],
    db: Any,
    calendar: ReportCalendar,
    clock: Clock,
    *,
    deliveries_clock: Clock | None = None,
) -> tuple[MailT, Repositories]:
    """What one service instance builds of a periodic mail: its own locks, the shared database;
    its periods end by `clock`, its deliveries are stamped by `deliveries_clock` (default the
    same clock)."""
    locks = KeyedLocks()
    repositories = Repositories.over(db, locks, AggregateStore(db[DELIVERIES], locks))
    notifier = Notifier(
        repositories=repositories,
        renderer=MailRenderer(UnsubscribeLinks("secret", "https://x.example.org")),
        sender=Sender("bildungsnetzwerke@example.org", "Bildungsnetzwerke"),
        clock=deliveries_clock or clock,
    )
    mail = kind(repositories=repositories, notifier=notifier, calendar=calendar, clock=clock)
    return mail, repositories


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Service:
    """The notifications service as a real OS process."""

    def __init__(self, env: Mapping[str, str], log_dir: Path, name: str = "notifications"):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        full_env = {
            **service_env(
                "NOTIFICATIONS_",
                {k: v for k, v in env.items() if k.startswith("RBN_")},
                HTTP_PORT=str(self.port),
                PUBLIC_BASE_URL=self.url,
                AUTH_TOKENS=json.dumps(TOKENS),
                UNSUBSCRIBE_SECRET="test-secret-" + uuid.uuid4().hex,
                OUTBOX_POLL_SECONDS="0.5",
                DISPATCH_POLL_SECONDS="0.3",
            ),
            **{k: v for k, v in env.items() if k.startswith("NOTIFICATIONS_")},
        }
        self.env = full_env
        self.process = Process.python_module(
            name, "notifications.entrypoints.main", env=full_env, log_dir=log_dir
        )

    def start(self, timeout: float = 60.0) -> Service:
        self.process.start()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/ready", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"notifications not ready:\n{self.process.output[-3000:]}")

    def stop(self) -> None:
        self.process.stop()

    def kill(self) -> None:
        self.process.kill()

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as client:
            return await client.get(path, **kwargs)

    async def put(self, path: str, **kwargs: Any) -> httpx.Response:
        async with httpx.AsyncClient(base_url=self.url, timeout=10) as client:
            return await client.put(path, **kwargs)

    async def deliveries(self, **query: str) -> list[dict[str, Any]]:
        params = {"limit": "100", **query}
        response = await self.get("/deliveries", params=params, headers=DISTRICT)
        assert response.status_code == 200, response.text
        result: list[dict[str, Any]] = response.json()["items"]
        return result

    async def wait_settled(
        self, event_id: uuid.UUID, expected: int, timeout: float = 60.0
    ) -> list[dict[str, Any]]:
        """The deliveries of one event, once there are `expected` and none is pending."""
        deadline = time.monotonic() + timeout
        found: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            found = await self.deliveries(event_id=str(event_id))
            if len(found) >= expected and all(d["status"] != "pending" for d in found):
                return found
            await asyncio.sleep(0.3)
        raise AssertionError(f"deliveries of {event_id} not settled: {found}")


class Mailpit:
    def __init__(self, api: str) -> None:
        self.api = api.rstrip("/") + "/api/v1"

    async def _get(self, path: str, **params: str) -> httpx.Response:
        async with httpx.AsyncClient(timeout=10) as client:
            response = await client.get(self.api + path, params=params)
        response.raise_for_status()
        return response

    async def to(self, address: str) -> list[dict[str, Any]]:
        """Summaries of every message to exactly this address."""
        found = (await self._get("/search", query=f'to:"{address}"', limit="200")).json()
        return [
            m
            for m in found["messages"]
            if any(t["Address"].lower() == address.lower() for t in m["To"] or [])
        ]

    async def wait_for(
        self, address: str, count: int = 1, timeout: float = 60.0
    ) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        found: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            found = await self.to(address)
            if len(found) >= count:
                return found
            await asyncio.sleep(0.3)
        raise AssertionError(f"{count} mail(s) to {address} expected, found {len(found)}")

    async def message(self, message_id: str) -> dict[str, Any]:
        result: dict[str, Any] = (await self._get(f"/message/{message_id}")).json()
        return result

    async def headers(self, message_id: str) -> dict[str, list[str]]:
        result: dict[str, list[str]] = (await self._get(f"/message/{message_id}/headers")).json()
        return result

    async def raw(self, message_id: str) -> bytes:
        return (await self._get(f"/message/{message_id}/raw")).content

    async def calendar(self, message_id: str) -> bytes:
        """The .ics attachment of a message."""
        message = await self.message(message_id)
        parts = [
            a for a in message["Attachments"] + message["Inline"] if a["FileName"].endswith(".ics")
        ]
        assert parts, f"no calendar attachment in {message['Subject']!r}"
        return (await self._get(f"/message/{message_id}/part/{parts[0]['PartID']}")).content


def event(payload: EventPayload, *, key: str, version: int = 1, correlation: str = "") -> Envelope:
    aggregate = str(getattr(payload, "conference_id", None) or getattr(payload, "member_id", key))
    return new_event(
        payload,
        key=key,
        aggregate_id=aggregate,
        aggregate_version=version,
        correlation_id=correlation or f"test-{uuid.uuid4().hex[:8]}",
    )


async def publish(bootstrap: str, topic: str, envelopes: Iterable[Envelope]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for envelope in envelopes:
            await producer.send_and_wait(topic, envelope.to_wire(), key=envelope.key.encode())
    finally:
        await producer.stop()
