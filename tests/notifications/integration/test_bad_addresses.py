"""One bad value fails one delivery, never an event: real Kafka, FerretDB and Mailpit.

The service runs as a process; events are published as the other services would. Every test
uses its own addresses (with a uuid) and reads Mailpit's API for exactly those.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest

from notifications.adapters.smtp import SendFailed, SmtpConfig, SmtpSender
from notifications.domain.recipients import Recipient, Role
from notifications.domain.rules import Addressing, plan
from notifications.rendering.links import UnsubscribeLinks
from notifications.rendering.mails import MailRenderer
from notifications.rendering.message import compose
from rbn_shared.events import Envelope
from rbn_shared.events.base import Person
from rbn_shared.events.registry import CommitteeMemberUpdated
from rbn_tools.mail_examples import Examples
from tests.notifications.integration.faulty_smtp import FaultySmtp
from tests.notifications.integration.support import Mailpit, Service, event, publish
from tests.support.infra import Infra
from tests.support.kafka_reader import read_topic

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
async def service(
    module_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Service]:
    running = Service(module_env, tmp_path_factory.mktemp("bad-addresses")).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def mailpit(infra: Infra) -> Mailpit:
    return Mailpit(infra.mailpit_api)


def examples() -> Examples:
    tag = uuid.uuid4().hex[:10]
    return Examples(tag=tag, conference_id=f"k-{tag}")


def topic(env: dict[str, str], name: str) -> str:
    return f"{env['RBN_TOPIC_PREFIX']}{name}"


async def caused_events(
    infra: Infra, env: dict[str, str], cause: Envelope, n: int
) -> list[Envelope]:
    """The distinct notification events caused by `cause`, once there are `n`."""

    def ours(records: list[object]) -> list[Envelope]:
        envelopes = [Envelope.from_wire(r.value) for r in records]  # type: ignore[attr-defined]
        unique = {e.event_id: e for e in envelopes if e.causation_id == str(cause.event_id)}
        return list(unique.values())

    notifications = topic(env, "notifications.events")
    records = await read_topic(
        infra.kafka_bootstrap, notifications, until=lambda r: len(ours(r)) >= n
    )
    return ours(records)


async def test_a_bad_invitee_address_fails_one_delivery_and_eleven_mails_arrive(
    service: Service, mailpit: Mailpit, infra: Infra, module_env: dict[str, str]
) -> None:
    ex = examples()
    invitees = [ex.invitee(n) for n in range(1, 11)]
    umlaut = f"info.{ex.tag}@schule-müller.example"
    refused = f"kaputt.{ex.tag}@ohne-punkt"  # an event may carry it; the policy refuses it
    for n, address in ((11, umlaut), (12, refused)):
        base = ex.invitee(n)
        invitees.append(
            base.model_copy(update={"person": base.person.model_copy(update={"email": address})})
        )
    scheduled = event(ex.conference_scheduled(invitees), key=ex.network_id)
    await publish(infra.kafka_bootstrap, topic(module_env, "conferences.events"), [scheduled])

    for invitee in invitees[:10]:
        await mailpit.wait_for(str(invitee.person.email))
    punycode = f"info.{ex.tag}@xn--schule-mller-klb.example"
    (received,) = await mailpit.wait_for(punycode)
    assert "Einladung" in received["Subject"]

    settled = await service.wait_settled(scheduled.event_id, expected=12)
    assert len(settled) == 12
    assert sum(d["status"] == "sent" for d in settled) == 11
    (failed,) = [d for d in settled if d["status"] == "failed"]
    assert failed["recipient"] == refused
    assert failed["last_error"].startswith("address refused: ")
    assert (failed["conference_id"], failed["invitation_id"]) == (ex.conference_id, "inv-12")
    assert failed["failed_at"] is not None
    umlaut_delivery = next(d for d in settled if d["invitation_id"] == "inv-11")
    assert umlaut_delivery["recipient"] == umlaut, "stored in the canonical (Unicode) form"

    events = await caused_events(infra, module_env, scheduled, 12)
    (notice,) = [e for e in events if e.type == "notification-failed"]
    assert notice.payload["invitation_id"] == "inv-12"
    assert notice.payload["conference_id"] == ex.conference_id
    assert notice.payload["reason"] == failed["last_error"]
    assert notice.payload["permanent"] is True
    assert sum(e.type == "notification-sent" for e in events) == 11
    sent_ids = {e.payload["invitation_id"] for e in events if e.type == "notification-sent"}
    assert sent_ids == {f"inv-{n}" for n in range(1, 12)}

    for dead_letters in ("conferences.events.dlq", "registry.events.dlq"):
        records = await read_topic(
            infra.kafka_bootstrap, topic(module_env, dead_letters), until=bool, timeout=3
        )
        assert records == [], f"nothing dead-lettered on {dead_letters}"


async def test_a_failed_welcome_goes_to_the_corrected_address_exactly_once(
    service: Service, mailpit: Mailpit, infra: Infra, module_env: dict[str, str]
) -> None:
    ex = examples()
    registry = topic(module_env, "registry.events")
    wrong = f"anna.{ex.tag}@schule-ohne-punkt"
    added_payload = ex.committee_member_added()
    added_payload = added_payload.model_copy(
        update={"person": added_payload.person.model_copy(update={"email": wrong})}
    )
    added = event(added_payload, key=ex.network_id, version=1)
    await publish(infra.kafka_bootstrap, registry, [added])
    first = await service.wait_settled(added.event_id, expected=2)
    (welcome,) = [d for d in first if d["template"] == "committee-welcome"]
    assert welcome["status"] == "failed"

    corrected = ex.email("anna.schmidt")
    updated_payload = CommitteeMemberUpdated(
        **added_payload.model_dump(exclude={"person"}),
        person=Person(name=added_payload.person.name, email=corrected),
    )
    updated = event(updated_payload, key=ex.network_id, version=2)
    # The same event twice, as a redelivery would bring it: still one welcome.
    await publish(infra.kafka_bootstrap, registry, [updated, updated])

    (mail,) = await mailpit.wait_for(corrected)
    assert "Willkommen im Lenkungskreis" in mail["Subject"]
    after = await service.wait_settled(added.event_id, expected=3)
    resent = [d for d in after if d["recipient"] == corrected]
    assert [d["status"] for d in resent] == ["sent"]
    assert resent[0]["cause_event_id"] == str(added.event_id)
    await asyncio.sleep(2)  # time for a second mail, should there be one
    assert len(await mailpit.to(corrected)) == 1
    assert await mailpit.to(wrong) == []
    assert len(await service.deliveries(event_id=str(added.event_id))) == 3


def utf8_mail(ex: Examples, address: str) -> str:
    payload = ex.conference_scheduled([ex.invitee(1)])
    planned = plan("conference-scheduled", payload, Addressing())[0]
    recipient = Recipient.candidate(address, "Jürgen Müller", Role.INVITEE)
    assert isinstance(recipient, Recipient), "a UTF-8 address the policy takes"
    renderer = MailRenderer(UnsubscribeLinks("secret", "https://mail.example.org"))
    mail = renderer.render(planned.rule, recipient, payload, stamp=datetime.now(UTC))
    return compose(
        mail,
        recipient=recipient,
        sender_email="bildungsnetzwerke@bezreg.example.org",
        sender_name="Regionales Bildungsnetzwerk Bochum",
        reply_to=None,
        message_id=f"<{uuid.uuid4()}@rbn-arnsberg.nrw.de>",
        date=datetime.now(UTC),
    )


@pytest.mark.parametrize("offered", [True, False], ids=["offered", "not-offered"])
async def test_a_utf8_local_part_goes_with_smtputf8_only_where_the_server_offers_it(
    infra: Infra, mailpit: Mailpit, offered: bool
) -> None:
    ex = examples()
    address = f"jürgen.{ex.tag}@schule.example.org"
    server = FaultySmtp(infra.smtp_host, infra.smtp_port, smtputf8=offered).start()
    sender = SmtpSender(
        SmtpConfig("127.0.0.1", server.port, False, None, None, timeout=10, pool_size=1)
    )
    try:
        if offered:
            await sender.send(
                "absender@example.org", address, utf8_mail(ex, address), smtputf8=True
            )
            (received,) = await mailpit.wait_for(address)
            assert received["To"][0]["Name"] == "Jürgen Müller"
            assert server.handler.accepted[address] == 1
        else:
            with pytest.raises(SendFailed) as failure:
                await sender.send(
                    "absender@example.org", address, utf8_mail(ex, address), smtputf8=True
                )
            assert failure.value.permanent is True
            assert "does not support SMTPUTF8" in failure.value.reason
            assert sum(server.handler.accepted.values()) == 0
            # The connection stays usable for an ASCII address.
            plain = ex.email("ascii")
            await sender.send("absender@example.org", plain, utf8_mail(ex, plain))
            await mailpit.wait_for(plain)
            await asyncio.sleep(1)
            assert await mailpit.to(address) == []
    finally:
        await sender.close()
        server.stop()
