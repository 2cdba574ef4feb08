"""SMTP failures, a restart mid-batch and a second instance: still exactly one mail each.

The service sends through `FaultySmtp` (our own aiosmtpd server, relaying what it accepts to
Mailpit) rather than Mailpit's chaos switch, which would disturb every other SMTP client on the
machine while set.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from notifications.adapters.smtp import SmtpConfig, SmtpSender
from rbn_shared.events import Envelope
from rbn_tools.mail_examples import Examples
from tests.notifications.integration.faulty_smtp import FaultySmtp
from tests.notifications.integration.support import Mailpit, Service, event, publish
from tests.support.infra import Infra
from tests.support.kafka_reader import read_topic

pytestmark = pytest.mark.integration


class Fleet:
    """The service processes of this module; all are stopped at the end."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env = env
        self.log_dir = log_dir
        self.started: list[Service] = []

    def start(self, name: str = "notifications") -> Service:
        service = Service(self.env, self.log_dir, name=f"{name}-{len(self.started)}").start()
        self.started.append(service)
        return service

    def stop_all(self) -> None:
        for service in self.started:
            service.stop()


@pytest.fixture(scope="module")
def faulty(infra: Infra) -> Iterator[FaultySmtp]:
    server = FaultySmtp(infra.smtp_host, infra.smtp_port).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def fleet(
    module_env: dict[str, str], faulty: FaultySmtp, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Fleet]:
    env = {
        **module_env,
        "NOTIFICATIONS_SMTP_HOST": "127.0.0.1",
        "NOTIFICATIONS_SMTP_PORT": str(faulty.port),
        "NOTIFICATIONS_RETRY_BASE_SECONDS": "0.3",
        "NOTIFICATIONS_RETRY_MAX_SECONDS": "1",
        "NOTIFICATIONS_SEND_MAX_ATTEMPTS": "4",
        "NOTIFICATIONS_SEND_CONCURRENCY": "2",
        # A lease well above the longest SMTP conversation, as in production (300 s and 30 s).
        "NOTIFICATIONS_SMTP_TIMEOUT_SECONDS": "2",
        "NOTIFICATIONS_CLAIM_LEASE_SECONDS": "8",
    }
    services = Fleet(env, tmp_path_factory.mktemp("faults"))
    services.start()
    yield services
    services.stop_all()


@pytest.fixture(scope="module")
def mailpit(infra: Infra) -> Mailpit:
    return Mailpit(infra.mailpit_api)


def examples() -> Examples:
    tag = uuid.uuid4().hex[:10]
    return Examples(tag=tag, conference_id=f"k-{tag}")


def conferences_topic(env: dict[str, str]) -> str:
    return env["RBN_TOPIC_PREFIX"] + "conferences.events"


async def notification_events(
    infra: Infra, env: dict[str, str], cause: Envelope, n: int
) -> list[Envelope]:
    """The `n` distinct notification events caused by `cause`.

    The outbox relay publishes at least once (two instances may both publish one record before
    either removes it); a repeat carries the same event id, and subscribers drop it by that id.
    """
    topic = env["RBN_TOPIC_PREFIX"] + "notifications.events"

    def ours(records: list[object]) -> list[Envelope]:
        envelopes = [Envelope.from_wire(r.value) for r in records]  # type: ignore[attr-defined]
        unique = {e.event_id: e for e in envelopes if e.causation_id == str(cause.event_id)}
        return list(unique.values())

    records = await read_topic(infra.kafka_bootstrap, topic, until=lambda rs: len(ours(rs)) >= n)
    return ours(records)


async def test_connections_are_reused_and_limited(infra: Infra, mailpit: Mailpit) -> None:
    server = FaultySmtp(infra.smtp_host, infra.smtp_port).start()
    sender = SmtpSender(
        SmtpConfig("127.0.0.1", server.port, False, None, None, timeout=10, pool_size=2)
    )
    ex = examples()
    try:
        for n in range(3):
            await sender.send(
                "absender@example.org", ex.email(f"seq{n}"), plain_mail(ex.email(f"seq{n}"))
            )
        assert len(server.handler.connections) == 1, "one connection for mails one after another"
        await asyncio.gather(
            *(
                sender.send(
                    "absender@example.org", ex.email(f"par{n}"), plain_mail(ex.email(f"par{n}"))
                )
                for n in range(6)
            )
        )
        assert len(server.handler.connections) <= 2, "never more connections than the limit"
        assert sum(server.handler.accepted.values()) == 9
        assert len(await mailpit.to(ex.email("par5"))) == 1
    finally:
        await sender.close()
        server.stop()


def plain_mail(to: str) -> str:
    return f"Subject: Test\r\nFrom: absender@example.org\r\nTo: {to}\r\n\r\nHallo\r\n"


async def test_a_4xx_answer_is_retried_and_the_mail_arrives_once(
    fleet: Fleet, faulty: FaultySmtp, mailpit: Mailpit, infra: Infra, module_env: dict[str, str]
) -> None:
    service = fleet.started[-1]
    ex = examples()
    invitee = ex.invitee(1, local="tempfail")
    address = str(invitee.person.email)
    scheduled = event(ex.conference_scheduled([invitee]), key=ex.network_id)
    await publish(infra.kafka_bootstrap, conferences_topic(module_env), [scheduled])

    (delivery,) = await service.wait_settled(scheduled.event_id, 1)
    assert delivery["status"] == "sent"
    assert delivery["attempts"] == 2, "the first attempt got 451, the second went through"
    assert faulty.handler.tempfailed[address] == 1
    assert len(await mailpit.to(address)) == 1
    (sent,) = await notification_events(infra, module_env, scheduled, 1)
    assert sent.type == "notification-sent"
    assert sent.payload["attempts"] == 2
    assert sent.correlation_id == scheduled.correlation_id


async def test_a_5xx_answer_marks_the_delivery_failed_and_publishes_it(
    fleet: Fleet, faulty: FaultySmtp, mailpit: Mailpit, infra: Infra, module_env: dict[str, str]
) -> None:
    service = fleet.started[-1]
    ex = examples()
    refused, fine = ex.invitee(1, local="reject"), ex.invitee(2)
    scheduled = event(ex.conference_scheduled([refused, fine]), key=ex.network_id)
    await publish(infra.kafka_bootstrap, conferences_topic(module_env), [scheduled])

    settled = {d["recipient"]: d for d in await service.wait_settled(scheduled.event_id, 2)}
    failed = settled[str(refused.person.email)]
    assert failed["status"] == "failed"
    assert failed["attempts"] == 1, "a refusal is not retried"
    assert "550" in failed["last_error"]
    assert settled[str(fine.person.email)]["status"] == "sent"
    events = {e.type: e for e in await notification_events(infra, module_env, scheduled, 2)}
    assert events["notification-failed"].payload["permanent"] is True
    assert events["notification-failed"].payload["recipient"] == str(refused.person.email)
    assert events["notification-failed"].causation_id == str(scheduled.event_id)
    assert events["notification-sent"].payload["recipient"] == str(fine.person.email)
    assert await mailpit.to(str(refused.person.email)) == []
    assert len(await mailpit.to(str(fine.person.email))) == 1


async def test_retries_run_out_and_the_delivery_fails_as_not_permanent(
    fleet: Fleet, faulty: FaultySmtp, mailpit: Mailpit, infra: Infra, module_env: dict[str, str]
) -> None:
    service = fleet.started[-1]
    ex = examples()
    busy = ex.invitee(1, local="busy")
    reminder = event(ex.conference_reminder_due([busy]), key=ex.network_id)
    await publish(infra.kafka_bootstrap, conferences_topic(module_env), [reminder])

    (delivery,) = await service.wait_settled(reminder.event_id, 1)
    assert delivery["status"] == "failed"
    assert delivery["attempts"] == 4, "NOTIFICATIONS_SEND_MAX_ATTEMPTS"
    assert faulty.handler.tempfailed[str(busy.person.email)] == 4
    (failed,) = await notification_events(infra, module_env, reminder, 1)
    assert failed.type == "notification-failed"
    assert failed.payload["permanent"] is False
    assert "452" in failed.payload["reason"]
    assert await mailpit.to(str(busy.person.email)) == []


async def test_a_restart_mid_batch_sends_each_mail_once(
    fleet: Fleet, faulty: FaultySmtp, mailpit: Mailpit, infra: Infra, module_env: dict[str, str]
) -> None:
    first = fleet.started[-1]
    ex = examples()
    invitees = [ex.invitee(n) for n in range(1, 11)]
    scheduled = event(ex.conference_scheduled(invitees), key=ex.network_id)
    faulty.hold(after_more=4)  # four go through, then the server hangs mid-conversation
    await publish(infra.kafka_bootstrap, conferences_topic(module_env), [scheduled])
    # Wait until both sending slots (NOTIFICATIONS_SEND_CONCURRENCY=2) hang in DATA: then no
    # mail is half accepted, which would be the one window the design cannot close.
    for _ in range(600):
        if faulty.handler.held >= 2 and faulty.handler.relaying == 0:
            break
        await asyncio.sleep(0.05)
    assert faulty.handler.held >= 2, "both slots hang in DATA"
    assert faulty.handler.relaying == 0
    first.kill()  # SIGKILL: no shutdown, the in-flight attempts never learn their outcome
    faulty.release()  # the hung sends end with 451: the server never accepted them

    second = fleet.start("restarted")
    settled = await second.wait_settled(scheduled.event_id, 10)
    assert {d["status"] for d in settled} == {"sent"}
    assert any(d["in_doubt_attempts"] for d in settled), "interrupted attempts were recovered"
    for invitee in invitees:
        assert len(await mailpit.to(str(invitee.person.email))) == 1


async def test_a_second_instance_and_a_repeated_event_send_nothing_twice(
    fleet: Fleet, mailpit: Mailpit, infra: Infra, module_env: dict[str, str]
) -> None:
    one = fleet.started[-1]
    fleet.start("second")
    ex = examples()
    invitees = [ex.invitee(n) for n in range(1, 7)]
    scheduled = event(ex.conference_scheduled(invitees), key=ex.network_id)
    await publish(infra.kafka_bootstrap, conferences_topic(module_env), [scheduled, scheduled])

    settled = await one.wait_settled(scheduled.event_id, 6)
    assert {d["status"] for d in settled} == {"sent"}
    assert len(settled) == 6
    for invitee in invitees:
        assert len(await mailpit.to(str(invitee.person.email))) == 1
    sent = await notification_events(infra, module_env, scheduled, 6)
    assert len({e.payload["delivery_id"] for e in sent}) == 6
    assert {e.type for e in sent} == {"notification-sent"}
