"""Helpers for the conferences tests: registry events on the real topic, the service running."""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from aiokafka import AIOKafkaProducer, ConsumerRecord

from rbn_shared.events import Envelope, EventPayload, new_event
from rbn_shared.events.base import MunicipalityKind, NetworkRef, Person, Side
from rbn_shared.events.registry import (
    CommitteeMemberAdded,
    CommitteeMemberRemoved,
    CommitteeRole,
    CooperationAgreementSigned,
    Employer,
    FieldOfActionAdopted,
    FieldOfActionProposed,
    FieldStatus,
    Municipality,
    NetworkRegistered,
    OfficeContact,
    OfficeStaffAssigned,
)
from tests.support.env import service_env
from tests.support.kafka_reader import read_topic
from tests.support.processes import Process

BERLIN = ZoneInfo("Europe/Berlin")
DISTRICT_TOKEN = "district-token-for-tests-0123456789"
READER_TOKEN = "reader-token-for-tests-0123456789"
LINK_SECRET = "link-secret-for-tests-0123456789"


def office_token(network_id: str) -> str:
    return f"office-token-{network_id}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def berlin(moment: datetime) -> str:
    """An aware moment as the local Europe/Berlin time a person would type."""
    return moment.astimezone(BERLIN).replace(tzinfo=None).isoformat(timespec="seconds")


# ---------------------------------------------------------------------------- registry events


@dataclass
class RegistryFeed:
    """Publishes registry events to the real registry topic, versioned per registry record."""

    bootstrap: str
    topic: str
    versions: dict[str, int] = field(default_factory=dict)
    sent: list[Envelope] = field(default_factory=list)

    async def publish(
        self,
        payload: EventPayload,
        *,
        network_id: str,
        aggregate_id: str,
        version: int | None = None,
    ) -> Envelope:
        if version is None:
            version = self.versions.get(aggregate_id, 0) + 1
        self.versions[aggregate_id] = max(version, self.versions.get(aggregate_id, 0))
        envelope = new_event(
            payload,
            key=network_id,
            aggregate_id=aggregate_id,
            aggregate_version=version,
            correlation_id=f"registry-{uuid.uuid4().hex[:8]}",
        )
        await self.send(envelope)
        return envelope

    async def send(self, envelope: Envelope) -> None:
        producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(self.topic, envelope.to_wire(), key=envelope.key.encode())
        finally:
            await producer.stop()
        self.sent.append(envelope)

    async def network(
        self, network_id: str, *, agreement: bool = True, fields: Mapping[str, str] | None = None
    ) -> NetworkRef:
        """A registered network with an office, two committee members, one staff member and
        the given fields of action (id to status), with or without an active agreement."""
        ref = NetworkRef(
            id=network_id,
            name=f"Bildungsnetzwerk {network_id}",
            office_email=f"buero@{network_id}.example.org",
        )
        await self.publish(
            NetworkRegistered(
                network=ref,
                municipality=Municipality(name=network_id.title(), kind=MunicipalityKind.CITY),
                office=OfficeContact(
                    name=f"Regionales Bildungsbüro {network_id}",
                    email=f"buero@{network_id}.example.org",
                ),
            ),
            network_id=network_id,
            aggregate_id=network_id,
        )
        if agreement:
            await self.publish(
                CooperationAgreementSigned(
                    network=ref,
                    agreement_id=f"{network_id}-kv",
                    signed_on=date(2024, 1, 15),
                    valid_from=date(2024, 2, 1),
                ),
                network_id=network_id,
                aggregate_id=f"{network_id}-kv",
            )
        for member_id, name in (("m1", "Anna Schulte"), ("m2", "Bernd Krüger")):
            await self.member_added(ref, member_id, name)
        await self.publish(
            OfficeStaffAssigned(
                network=ref,
                staff_id="s1",
                person=Person(name="Clara Becker", email=f"clara.becker@{network_id}.example.org"),
                employer=Employer.STATE,
                start_date=date(2024, 8, 1),
            ),
            network_id=network_id,
            aggregate_id=f"{network_id}-s1",
        )
        for field_id, status in (fields or {"f1": "adopted"}).items():
            model = FieldOfActionAdopted if status == "adopted" else FieldOfActionProposed
            await self.publish(
                model(
                    network=ref,
                    field_id=field_id,
                    title=f"Handlungsfeld {field_id}",
                    starting_situation="Ausgangslage",
                    development_needs="Entwicklungsbedarfe",
                    status=FieldStatus(status),
                ),
                network_id=network_id,
                aggregate_id=f"{network_id}-{field_id}",
            )
        return ref

    async def member_added(self, ref: NetworkRef, member_id: str, name: str) -> Envelope:
        return await self.publish(
            CommitteeMemberAdded(
                network=ref,
                member_id=member_id,
                person=_person(name, ref.id),
                side=Side.STATE,
                role=CommitteeRole.MEMBER,
                term_start=date(2024, 1, 1),
            ),
            network_id=ref.id,
            aggregate_id=f"{ref.id}-{member_id}",
        )

    async def member_removed(self, ref: NetworkRef, member_id: str, name: str) -> Envelope:
        return await self.publish(
            CommitteeMemberRemoved(
                network=ref,
                member_id=member_id,
                person=_person(name, ref.id),
                side=Side.STATE,
                role=CommitteeRole.MEMBER,
                term_start=date(2024, 1, 1),
                removed_on=date(2026, 1, 1),
                reason="Wechsel der Dienststelle",
            ),
            network_id=ref.id,
            aggregate_id=f"{ref.id}-{member_id}",
        )


def _person(name: str, network_id: str) -> Person:
    local = name.lower().replace(" ", ".").replace("ü", "ue").replace("ö", "oe")
    return Person(name=name, email=f"{local}@{network_id}.example.org")


# ---------------------------------------------------------------------------- the service


class ConferencesService:
    """`rbn-conferences` as a separate OS process, plus an HTTP client for it."""

    def __init__(
        self,
        isolated: Mapping[str, str],
        log_dir: Path,
        *,
        offices: tuple[str, ...] = (),
        **settings: str,
    ) -> None:
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        tokens = {DISTRICT_TOKEN: "district", READER_TOKEN: "reader"}
        tokens |= {office_token(n): f"office:{n}" for n in offices}
        self.env = service_env(
            "CONFERENCES_",
            isolated,
            HTTP_PORT=str(self.port),
            AUTH_TOKENS=json.dumps(tokens),
            LINK_SECRET=LINK_SECRET,
            PUBLIC_BASE_URL=self.base_url,
            OUTBOX_POLL_SECONDS="0.2",
            REMINDER_POLL_SECONDS="0.3",
            LOG_FORMAT="json",
            **settings,
        )
        self.log_dir = log_dir
        self.process: Process | None = None
        self.starts = 0

    def start(self, **overrides: str) -> ConferencesService:
        self.env.update({"CONFERENCES_" + k: v for k, v in overrides.items()})
        self.process = Process.python_module(
            "conferences", "conferences.entrypoints.main", env=self.env, log_dir=self.log_dir
        ).start()
        self.starts += 1
        self.wait_ready()
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base_url + "/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert self.process is not None
            if self.process._popen is not None and self.process._popen.poll() is not None:
                raise AssertionError("conferences exited:\n" + self.process.output[-3000:])
            time.sleep(0.2)
        raise AssertionError(
            "conferences not ready:\n" + (self.process.output[-3000:] if self.process else "")
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.stop()

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()

    def client(self, token: str | None = DISTRICT_TOKEN) -> httpx.AsyncClient:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.AsyncClient(base_url=self.base_url, headers=headers, timeout=30)

    def run_command(self, *args: str) -> Process:
        command = Process.python_module(
            "rebuild", "conferences.entrypoints.main", *args, env=self.env, log_dir=self.log_dir
        ).start()
        assert command.wait(120) == 0, command.output
        return command


async def eventually(
    probe: Callable[[], Any], *, timeout: float = 30.0, interval: float = 0.2
) -> Any:
    """Call `probe` (sync or async) until it returns something truthy; that value."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if asyncio.iscoroutine(last):
            last = await last
        if last:
            return last
        await asyncio.sleep(interval)
    raise AssertionError(f"condition not reached within {timeout}s; last value {last!r}")


async def conference_events(
    bootstrap: str,
    topic: str,
    until: Callable[[list[Envelope]], bool],
    *,
    timeout: float = 30.0,
) -> list[Envelope]:
    """The conference events on the real topic, decoded, once `until` holds for them."""

    def decoded(records: list[ConsumerRecord[bytes, bytes]]) -> list[Envelope]:
        return [Envelope.from_wire(r.value) for r in records if r.value is not None]

    records = await read_topic(
        bootstrap, topic, until=lambda rs: until(decoded(rs)), timeout=timeout
    )
    return decoded(records)


def of_conference(
    events: list[Envelope], conference_id: str, type_: str | None = None
) -> list[Envelope]:
    return [
        e for e in events if e.aggregate_id == conference_id and (type_ is None or e.type == type_)
    ]


def future(days: float = 30, hour: int = 14) -> datetime:
    """A moment some days ahead, at a round local hour."""
    local = (datetime.now(BERLIN) + timedelta(days=days)).replace(
        hour=hour, minute=0, second=0, microsecond=0
    )
    return local
