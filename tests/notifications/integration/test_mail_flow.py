"""Mails as staff receive them: real Kafka, FerretDB and Mailpit, the service as a process.

One service process serves the module; every test uses its own addresses (with a uuid), its own
conference and network ids, and reads Mailpit's API for exactly those addresses.
"""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from icalendar import Calendar
from pymongo import AsyncMongoClient

from rbn_shared.calendar_addresses import conference_uid
from rbn_shared.events import Envelope
from rbn_tools.mail_examples import Examples
from tests.notifications.integration.support import (
    DISTRICT,
    READER,
    Mailpit,
    Service,
    event,
    publish,
)
from tests.support.infra import Infra
from tests.support.kafka_reader import read_topic

pytestmark = pytest.mark.integration

USED_ADDRESSES: list[str] = []


@pytest.fixture(scope="module")
async def service(
    module_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Service]:
    env = {
        **module_env,
        "NOTIFICATIONS_REPORT_INTERVAL": "PT3S",
        "NOTIFICATIONS_REPORT_CHECK_SECONDS": "0.5",
    }
    running = Service(env, tmp_path_factory.mktemp("notifications")).start()
    yield running
    running.stop()


@pytest.fixture(scope="module")
def mailpit(infra: Infra) -> Mailpit:
    return Mailpit(infra.mailpit_api)


def examples(**kwargs: Any) -> Examples:
    tag = uuid.uuid4().hex[:10]
    return Examples(tag=tag, conference_id=f"k-{tag}", **kwargs)


def topics(env: dict[str, str]) -> tuple[str, str, str]:
    prefix = env["RBN_TOPIC_PREFIX"]
    return (
        f"{prefix}registry.events",
        f"{prefix}conferences.events",
        f"{prefix}notifications.events",
    )


def parsed_event(calendar: bytes) -> tuple[Calendar, Any]:
    parsed = Calendar.from_ical(calendar)
    events = list(parsed.walk("VEVENT"))
    assert len(events) == 1
    return parsed, events[0]


def caused_by(value: bytes, cause: Envelope) -> str | None:
    """The event id of a notification event caused by `cause`, else None."""
    event = json.loads(value)
    return str(event["event_id"]) if event["causation_id"] == str(cause.event_id) else None


async def only_mail(mailpit: Mailpit, address: str, subject_part: str) -> dict[str, Any]:
    mails = [m for m in await mailpit.to(address) if subject_part in m["Subject"]]
    assert len(mails) == 1, [m["Subject"] for m in mails]
    return mails[0]


async def test_conference_lifecycle_moves_and_removes_one_calendar_entry_per_invitee(
    service: Service, mailpit: Mailpit, infra: Infra, module_env: dict[str, str]
) -> None:
    ex = examples()
    invitees = [ex.invitee(n) for n in (1, 2, 3)]
    addresses = [str(i.person.email) for i in invitees]
    USED_ADDRESSES.extend(addresses)
    _, conferences, notifications = topics(module_env)

    scheduled = event(ex.conference_scheduled(invitees), key=ex.network_id)
    await publish(infra.kafka_bootstrap, conferences, [scheduled])
    uid = conference_uid(ex.conference_id)
    for invitee, address in zip(invitees, addresses, strict=True):
        (mail,) = await mailpit.wait_for(address)
        assert "Bochum" in mail["Subject"]
        assert "Einladung" in mail["Subject"]
        message = await mailpit.message(mail["ID"])
        assert "Mittwoch, 10. März 2027, 14:00–17:00 Uhr" in message["Text"]
        assert "Kulturzentrum Bahnhof Langendreer" in message["HTML"]
        calendar, entry = parsed_event(await mailpit.calendar(mail["ID"]))
        assert str(calendar["METHOD"]) == "REQUEST"
        assert str(entry["UID"]) == uid
        assert int(entry["SEQUENCE"]) == 0
        attendee = entry["ATTENDEE"]
        assert str(attendee).lower() == f"mailto:{address}"
        assert attendee.params["RSVP"] == "TRUE"
        assert str(entry["ORGANIZER"]) == f"mailto:{ex.office_email}"
        start = entry.decoded("DTSTART")
        assert start.tzinfo is not None
        assert start.astimezone(ZoneInfo("Europe/Berlin")).hour == 14
        assert "Berlin" in str(start.tzinfo)
        assert list(entry.walk("VALARM")), "the entry carries an alarm"
        assert invitee.person.name in str(attendee.params["CN"])

    settled = await service.wait_settled(scheduled.event_id, expected=3)
    assert {d["status"] for d in settled} == {"sent"}
    sent = await read_topic(
        infra.kafka_bootstrap,
        notifications,
        until=lambda rs: (
            sum(json.loads(r.value)["causation_id"] == str(scheduled.event_id) for r in rs) >= 3
        ),
    )
    # At least once on the wire: a repeat would carry the same event id.
    envelopes = [Envelope.from_wire(r.value) for r in sent]
    unique = {e.event_id: e for e in envelopes if e.causation_id == str(scheduled.event_id)}
    ours = list(unique.values())
    assert len(ours) == 3
    assert {e.type for e in ours} == {"notification-sent"}
    assert {e.correlation_id for e in ours} == {scheduled.correlation_id}
    assert {e.payload["recipient"] for e in ours} == set(addresses)

    moved = event(ex.conference_rescheduled(invitees, sequence=1), key=ex.network_id, version=2)
    await publish(infra.kafka_bootstrap, conferences, [moved])
    for address in addresses:
        await mailpit.wait_for(address, 2)
        mail = await only_mail(mailpit, address, "Neuer Termin")
        calendar, entry = parsed_event(await mailpit.calendar(mail["ID"]))
        assert str(calendar["METHOD"]) == "REQUEST"
        assert str(entry["UID"]) == uid, "the same calendar entry moves"
        assert int(entry["SEQUENCE"]) == 1
        assert entry.decoded("DTSTART").date() == datetime(2027, 3, 17).date()

    cancelled = event(ex.conference_cancelled(invitees, sequence=1), key=ex.network_id, version=3)
    await publish(infra.kafka_bootstrap, conferences, [cancelled])
    for address in addresses:
        await mailpit.wait_for(address, 3)
        mail = await only_mail(mailpit, address, "Abgesagt")
        calendar, entry = parsed_event(await mailpit.calendar(mail["ID"]))
        assert str(calendar["METHOD"]) == "CANCEL"
        assert str(entry["UID"]) == uid
        assert int(entry["SEQUENCE"]) > 1, "a cancellation supersedes the last request"
        assert str(entry["STATUS"]) == "CANCELLED"
    for address in addresses:
        assert len(await mailpit.to(address)) == 3, "one mail per change, none twice"


async def test_the_same_event_delivered_twice_sends_one_mail_per_recipient(
    service: Service, mailpit: Mailpit, infra: Infra, module_env: dict[str, str]
) -> None:
    ex = examples()
    invitees = [ex.invitee(1), ex.invitee(2)]
    USED_ADDRESSES.extend(str(i.person.email) for i in invitees)
    _, conferences, _ = topics(module_env)
    scheduled = event(ex.conference_scheduled(invitees), key=ex.network_id)
    late = ex.invitee(3)
    marker = event(ex.participant_invited(late), key=ex.network_id, version=2)
    # Same key, same partition: once the marker's mail exists, both copies were handled.
    await publish(infra.kafka_bootstrap, conferences, [scheduled, scheduled, marker])

    await mailpit.wait_for(str(late.person.email))
    settled = await service.wait_settled(scheduled.event_id, expected=2)
    assert len(settled) == 2
    for invitee in invitees:
        assert len(await mailpit.to(str(invitee.person.email))) == 1


async def test_opt_out_stops_reminders_but_not_cancellations(
    service: Service, mailpit: Mailpit, infra: Infra, module_env: dict[str, str]
) -> None:
    ex = examples()
    opted_out, other = ex.invitee(1), ex.invitee(2, local="andere")
    a, b = str(opted_out.person.email), str(other.person.email)
    USED_ADDRESSES.extend([a, b])
    _, conferences, _ = topics(module_env)

    assert (await service.put(f"/preferences/{a}", json={"reminders": False})).status_code == 401
    denied = await service.put(f"/preferences/{a}", json={"reminders": False}, headers=READER)
    assert denied.status_code == 403
    changed = await service.put(f"/preferences/{a}", json={"reminders": False}, headers=DISTRICT)
    assert changed.status_code == 200, changed.text
    assert changed.json() == {"email": a, "reminders": False, "reports": True}

    reminder = event(ex.conference_reminder_due([opted_out, other]), key=ex.network_id)
    await publish(infra.kafka_bootstrap, conferences, [reminder])
    settled = {d["recipient"]: d for d in await service.wait_settled(reminder.event_id, 2)}
    assert settled[a]["status"] == "skipped"
    assert settled[b]["status"] == "sent"
    (mail,) = await mailpit.wait_for(b)
    assert "Erinnerung" in mail["Subject"]
    assert await mailpit.to(a) == []

    # The reminder's List-Unsubscribe link opens a page that asks to confirm and changes
    # nothing (a mail gateway's link scanner only GETs); its button switches the mail off.
    headers = await mailpit.headers(mail["ID"])
    assert headers["List-Unsubscribe-Post"] == ["List-Unsubscribe=One-Click"]
    link = re.fullmatch(r"<(.+)>", headers["List-Unsubscribe"][0])
    assert link is not None
    assert link.group(1).startswith(service.url)
    async with httpx.AsyncClient(timeout=10) as client:
        page = await client.get(link.group(1))
        tampered = await client.get(link.group(1)[:-3] + "xyz")
        assert page.status_code == 200
        assert "Möchten Sie an <strong>" in page.text
        assert tampered.status_code == 400
        scanned = await service.get(f"/preferences/{b}", headers=DISTRICT)
        assert scanned.json()["reminders"] is True, "opening the link changed nothing"
        button = re.search(r'<form method="post" action="([^"]+)"', page.text)
        assert button is not None
        confirmed = await client.post(httpx.URL(link.group(1)).join(button.group(1)))
    assert confirmed.status_code == 200
    assert "keine <strong>Erinnerungen an Bildungskonferenzen</strong> mehr" in confirmed.text
    preferences = await service.get(f"/preferences/{b}", headers=DISTRICT)
    assert preferences.json()["reminders"] is False
    assert (await service.get(f"/preferences/{b}", headers=READER)).status_code == 403

    cancelled = event(ex.conference_cancelled([opted_out, other]), key=ex.network_id, version=2)
    await publish(infra.kafka_bootstrap, conferences, [cancelled])
    settled_cancel = await service.wait_settled(cancelled.event_id, 2)
    assert {d["status"] for d in settled_cancel} == {"sent"}
    (only,) = await mailpit.wait_for(a)
    assert "Abgesagt" in only["Subject"], "cancellations reach those who opted out of reminders"


async def test_an_office_changes_preferences_of_its_own_network_only(
    service: Service, mailpit: Mailpit, infra: Infra, module_env: dict[str, str]
) -> None:
    ex = examples()  # network "bochum": the module's office token is office:bochum
    registry, _, _ = topics(module_env)
    member = ex.committee_member_added(member_id=f"m-{ex.tag}")
    address = str(member.person.email)
    stranger = ex.email("fremd")
    USED_ADDRESSES.extend([address, stranger])
    await publish(infra.kafka_bootstrap, registry, [event(member, key=ex.network_id)])
    await mailpit.wait_for(address)  # the welcome mail: the projection knows the member now

    office = {"Authorization": "Bearer office-token"}
    own = await service.put(f"/preferences/{address}", json={"reports": False}, headers=office)
    assert own.status_code == 200, own.text
    assert own.json()["reports"] is False
    other = await service.put(f"/preferences/{stranger}", json={"reports": False}, headers=office)
    assert other.status_code == 403
    assert other.headers["content-type"] == "application/problem+json"
    invalid = await service.put("/preferences/not-an-address", json={}, headers=DISTRICT)
    assert invalid.status_code == 422


async def test_header_and_markup_injection_are_rendered_harmless(
    service: Service, mailpit: Mailpit, infra: Infra, module_env: dict[str, str]
) -> None:
    ex = examples()
    attacker = ex.email("attacker", "evil.example.org")
    victim = ex.invitee(1, name=f"Eve Example\r\nBcc: {attacker}\r\nX-Injected: yes", local="eve")
    address = str(victim.person.email)
    USED_ADDRESSES.extend([address, attacker])
    _, conferences, _ = topics(module_env)
    title = "<script>alert('x')</script> Konferenz\nX-Title-Injected: yes"
    scheduled = event(ex.conference_scheduled([victim], title=title), key=ex.network_id)
    await publish(infra.kafka_bootstrap, conferences, [scheduled])

    (mail,) = await mailpit.wait_for(address)
    await service.wait_settled(scheduled.event_id, 1)
    headers = await mailpit.headers(mail["ID"])
    assert "Bcc" not in headers
    assert "X-Injected" not in headers
    assert "X-Title-Injected" not in headers
    assert "\n" not in mail["Subject"]
    assert "\r" not in mail["Subject"]
    assert [t["Address"] for t in mail["To"]] == [address]
    assert await mailpit.to(attacker) == []
    message = await mailpit.message(mail["ID"])
    assert "<script>" not in message["HTML"]
    assert "&lt;script&gt;alert(" in message["HTML"]
    raw = await mailpit.raw(mail["ID"])
    assert b"\nBcc:" not in raw
    assert b"\nX-Injected:" not in raw


async def test_registry_events_reach_members_offices_committees_and_bulletins(
    service: Service, mailpit: Mailpit, infra: Infra, module_env: dict[str, str]
) -> None:
    ex = examples(network_id=f"hagen-{uuid.uuid4().hex[:6]}", network_name="Hagen")
    registry, _, _ = topics(module_env)
    member = ex.committee_member_added()
    member_address, office = str(member.person.email), ex.office_email
    USED_ADDRESSES.extend([member_address, office])
    await publish(
        infra.kafka_bootstrap,
        registry,
        [
            event(ex.network_registered(), key=ex.network_id),
            event(member, key=ex.network_id),
            event(ex.field_of_action_adopted(), key=ex.network_id, version=2),
        ],
    )
    # A bulletin travels under the district's key, on another partition than the network's
    # events: send it once the network's committee is known.
    await mailpit.wait_for(member_address, 2)
    bulletin = ex.district_bulletin_published([ex.network_id])
    await publish(infra.kafka_bootstrap, registry, [event(bulletin, key="district")])
    member_mails = await mailpit.wait_for(member_address, 3)
    office_mails = await mailpit.wait_for(office, 3)
    member_subjects = sorted(m["Subject"] for m in member_mails)
    office_subjects = sorted(m["Subject"] for m in office_mails)
    assert all("Bildungsnetzwerk Hagen" in s for s in member_subjects + office_subjects)
    assert any("Willkommen im Lenkungskreis" in s for s in member_subjects)
    assert any("Neues Handlungsfeld beschlossen" in s for s in member_subjects)
    assert any("Information der Bezirkskoordination" in s for s in member_subjects)
    assert any("Neues Mitglied im Lenkungskreis: Dr. Anna Schmidt" in s for s in office_subjects)
    assert any("Neues Handlungsfeld beschlossen" in s for s in office_subjects)
    assert any("Information der Bezirkskoordination" in s for s in office_subjects)
    assert len(member_mails) == 3
    assert len(office_mails) == 3


async def test_district_report_summarises_developments_once(
    service: Service,
    mailpit: Mailpit,
    infra: Infra,
    module_env: dict[str, str],
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    ex = examples(network_id=f"soest-{uuid.uuid4().hex[:6]}", network_name="Kreis Soest")
    registry, conferences, _notifications = topics(module_env)
    coordination = ex.district_coordination_changed()
    coordinator = str(coordination.coordinator.email)
    service_unit = str(coordination.service_unit.email)
    USED_ADDRESSES.extend([coordinator, service_unit])
    await publish(infra.kafka_bootstrap, registry, [event(coordination, key="district")])
    # Registry and conference events travel on different topics: let the projection learn the
    # new coordination before the conference results, which go to it as well.
    directory = mongo[module_env["RBN_MONGO_DATABASE"]]["directory"]
    for _ in range(300):
        known = await directory.find_one({"_id": "district"})
        if known is not None and known["coordinator"]["email"] == coordinator:
            break
        await asyncio.sleep(0.2)
    concluded = ex.conference_concluded()
    await publish(infra.kafka_bootstrap, conferences, [event(concluded, key=ex.network_id)])
    await mailpit.wait_for(coordinator)
    field_title = f"Digitale Bildung {ex.tag}"
    await publish(
        infra.kafka_bootstrap,
        registry,
        [event(ex.field_of_action_adopted(title=field_title), key=ex.network_id)],
    )

    def reports(mails: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [m for m in mails if "Bericht über die regionalen Entwicklungen" in m["Subject"]]

    texts: list[str] = []
    for _ in range(20):
        everything = await mailpit.to(coordinator)
        texts = [(await mailpit.message(m["ID"]))["Text"] for m in reports(everything)]
        joined = "\n".join(texts)
        if field_title in joined and concluded.recommendations[0].text in joined:
            break
        await mailpit.wait_for(coordinator, len(everything) + 1, timeout=30)
    joined = "\n".join(texts)
    assert joined.count(field_title) == 1, "each development in exactly one report"
    assert "Kreis Soest" in joined
    assert "Neue Handlungsfelder" in joined
    assert "Durchgeführte Bildungskonferenzen und ihre Empfehlungen" in joined
    assert concluded.recommendations[0].text in joined
    assert reports(await mailpit.to(service_unit)), "the Servicestelle receives it too"


async def test_deliveries_api_filters_and_auth(
    service: Service, mailpit: Mailpit, infra: Infra, module_env: dict[str, str]
) -> None:
    ex = examples()
    first, second = ex.invitee(1), ex.invitee(2)
    USED_ADDRESSES.extend([str(first.person.email), str(second.person.email)])
    _, conferences, _ = topics(module_env)
    scheduled = event(ex.conference_scheduled([first, second]), key=ex.network_id)
    await publish(infra.kafka_bootstrap, conferences, [scheduled])
    await service.wait_settled(scheduled.event_id, 2)

    mine = await service.deliveries(recipient=str(first.person.email))
    assert [d["recipient"] for d in mine] == [str(first.person.email)]
    assert mine[0]["status"] == "sent"
    assert mine[0]["attempts"] == 1
    assert mine[0]["template"] == "conference-invitation"
    assert mine[0]["cause_event_id"] == str(scheduled.event_id)
    sent = await service.deliveries(event_id=str(scheduled.event_id), status="sent")
    assert len(sent) == 2
    assert await service.deliveries(event_id=str(scheduled.event_id), status="failed") == []
    # Pages: the registry's shape, newest first, each delivery on exactly one page.
    pages = [
        (
            await service.get(
                "/deliveries",
                params={"event_id": str(scheduled.event_id), "limit": 1, "offset": offset},
                headers=DISTRICT,
            )
        ).json()
        for offset in (0, 1, 2)
    ]
    assert [(p["total"], p["limit"], p["offset"]) for p in pages] == [
        (2, 1, 0),
        (2, 1, 1),
        (2, 1, 2),
    ]
    assert [len(p["items"]) for p in pages] == [1, 1, 0]
    paged = {p["items"][0]["delivery_id"] for p in pages[:2]}
    assert paged == {d["delivery_id"] for d in sent}
    one = await service.get(f"/deliveries/{mine[0]['delivery_id']}", headers=DISTRICT)
    assert one.status_code == 200
    assert one.json()["subject"] == mine[0]["subject"]
    # Deliveries are personal data: the district's and their network's office's, not a reader's.
    for path in (f"/deliveries/{mine[0]['delivery_id']}", "/deliveries"):
        refused = await service.get(path, headers=READER)
        assert refused.status_code == 403, refused.text
    assert (await service.get("/deliveries/nope", headers=DISTRICT)).status_code == 404
    assert (await service.get("/deliveries")).status_code == 401
    bochum_office = {"Authorization": "Bearer office-token"}
    own = await service.get("/deliveries", headers=bochum_office)
    assert own.status_code == 200
    assert {d["network_id"] for d in own.json()["items"]} <= {"bochum"}, "an office sees its own"
    elsewhere = await service.get("/deliveries?network_id=hamm", headers=bochum_office)
    assert elsewhere.status_code == 403
    bad = await service.get("/deliveries", params={"status": "lost"}, headers=DISTRICT)
    assert bad.status_code == 422
    assert bad.json()["errors"][0]["field"] == "query.status"


async def test_logs_at_info_level_show_no_address_and_no_secret(service: Service) -> None:
    """Runs last in the module: every address used above has passed through the service."""
    output = service.process.output
    assert USED_ADDRESSES, "the tests above used addresses"
    assert "mail sent" in output, "the log has lines about sending"
    for address in USED_ADDRESSES:
        assert address not in output
    assert service.env["NOTIFICATIONS_UNSUBSCRIBE_SECRET"] not in output
    assert "token=" not in output
