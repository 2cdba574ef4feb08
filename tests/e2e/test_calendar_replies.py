"""Answers from the calendar (iMIP REPLY, RFC 6047), end to end: the invitation's ORGANIZER is a
signed reply address, a calendar's REPLY sent there over SMTP is applied like a link answer
(waiting list and confirmation included), a forged one changes nothing and is counted, and a
COUNTER gets the German answer once.

The replies are composed with vobject, not with the icalendar library the service renders and
parses with, as a calendar client of its own would write them.
"""

from __future__ import annotations

import asyncio
import re
import smtplib
import uuid
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import vobject
from dateutil.tz import tzutc
from icalendar import Calendar

from tests.e2e.conftest import REPLY_DOMAIN, System, wait_until
from tests.support.services import DISTRICT, OLPE

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

BERLIN = ZoneInfo("Europe/Berlin")


def local(moment: datetime) -> str:
    return moment.astimezone(BERLIN).replace(second=0, microsecond=0, tzinfo=None).isoformat()


def calendar_mail(
    *,
    method: str,
    uid: str,
    sequence: int,
    organizer: str,
    attendee: str,
    partstat: str,
    sender: str | None = None,
    message_id: str | None = None,
    proposed_start: datetime | None = None,
) -> bytes:
    """A calendar client's answer: a VCALENDAR by vobject in a text/calendar part."""
    calendar = vobject.iCalendar()
    calendar.add("method").value = method
    event = calendar.add("vevent")
    event.add("uid").value = uid
    event.add("sequence").value = str(sequence)
    event.add("dtstamp").value = datetime.now(tzutc())  # vobject wants dateutil's UTC
    if proposed_start is not None:
        start = proposed_start.astimezone(tzutc())
        event.add("dtstart").value = start
        event.add("dtend").value = start + timedelta(hours=2)
    event.add("summary").value = "Bildungskonferenz"
    event.add("organizer").value = organizer
    person = event.add("attendee")
    person.value = f"mailto:{attendee}"
    person.params["PARTSTAT"] = [partstat]
    ics = calendar.serialize()

    mail = EmailMessage()
    mail["From"] = sender or attendee
    mail["To"] = organizer.removeprefix("mailto:")
    mail["Subject"] = f"{'Zugesagt' if partstat == 'ACCEPTED' else 'Antwort'}: Bildungskonferenz"
    mail["Message-ID"] = message_id or make_msgid(domain="client.example")
    mail.set_content("Antwort aus dem Kalender.")
    mail.add_alternative(ics, subtype="calendar", params={"method": method})
    return mail.as_bytes(policy=SMTP)  # CRLF lines: smtplib sends bytes as they are


async def send(
    system: System, raw: bytes, *, to: str, sender: str = "kalender@client.example"
) -> None:
    def deliver() -> None:
        with smtplib.SMTP("127.0.0.1", system.inbound_smtp_port, timeout=30) as smtp:
            smtp.sendmail(sender, [to], raw)

    await asyncio.to_thread(deliver)


async def refused_count(service: Any, reason: str) -> float:
    async with httpx.AsyncClient(base_url=service.url) as client:
        text = (await client.get("/metrics")).text
    pattern = (
        r'^rbn_calendar_replies_refused_total\{(?=[^}]*reason="'
        + re.escape(reason)
        + r'")[^}]*\}\s+([0-9.e+]+)$'
    )
    match = re.search(pattern, text, re.MULTILINE)
    return float(match.group(1)) if match else 0.0


async def invitation_of(system: System, conference_id: str, email: str) -> dict[str, Any]:
    async with system.conferences.client() as conferences:
        conference = (await conferences.get(f"/conferences/{conference_id}", headers=OLPE)).json()
    return next(i for i in conference["invitations"] if i["email"] == email)


async def organizer_of(system: System, mail: dict[str, Any]) -> tuple[str, str, int, str]:
    """The invitation's ORGANIZER (its address and CN), UID and SEQUENCE, from its .ics."""
    [event] = Calendar.from_ical(await system.mailpit.calendar(mail["ID"])).walk("VEVENT")
    organizer = event["ORGANIZER"]
    return (
        str(organizer),
        str(organizer.params["CN"]),
        int(str(event["SEQUENCE"])),
        str(event["UID"]),
    )


async def test_calendar_replies_are_tied_applied_refused_and_answered(system: System) -> None:
    uid = uuid.uuid4().hex[:8]
    first = f"a.becker.{uid}@realschule-olpe.example"
    second = f"b.schulz.{uid}@berufskolleg-olpe.example"
    start = datetime.now(BERLIN) + timedelta(days=3)
    async with system.conferences.client() as conferences:
        scheduled = await conferences.post(
            "/conferences",
            headers=OLPE,
            json={
                "network_id": "kreis-olpe",
                "title": f"Teilkonferenz Ganztag {uid}",
                "kind": "partial",
                "topic": "Ganztag",
                "starts_at": local(start),
                "ends_at": local(start + timedelta(hours=2)),
                "venue": {"name": "Kreishaus Olpe", "address": "Westfälische Straße 75, Olpe"},
                "capacity": 1,
                "delegates": [
                    {"name": f"Anna Becker {uid}", "email": first, "group": "school"},
                    {"name": f"Ben Schulz {uid}", "email": second, "group": "school"},
                ],
            },
        )
    assert scheduled.status_code == 201, scheduled.text
    conference_id = scheduled.json()["id"]

    # The invitation's ORGANIZER: a signed reply address under the office's name.
    [invitation_a] = await system.mailpit.wait_for(first)
    [invitation_b] = await system.mailpit.wait_for(second)
    organizer_a, name, sequence, calendar_uid = await organizer_of(system, invitation_a)
    organizer_b, _, _, _ = await organizer_of(system, invitation_b)
    assert organizer_a.startswith("mailto:antwort+")
    assert organizer_a.endswith("@" + REPLY_DOMAIN)
    assert organizer_a != organizer_b, "one reply address per invitation"
    assert len(organizer_a.removeprefix("mailto:").split("@")[0]) <= 64
    assert "Olpe" in name

    def reply(organizer: str, attendee: str, partstat: str, **more: Any) -> bytes:
        return calendar_mail(
            method="REPLY",
            uid=calendar_uid,
            sequence=sequence,
            organizer=organizer,
            attendee=attendee,
            partstat=partstat,
            **more,
        )

    to_a, to_b = organizer_a.removeprefix("mailto:"), organizer_b.removeprefix("mailto:")

    # The first accepts from the calendar: recorded, and confirmed by mail.
    await send(system, reply(organizer_a, first, "ACCEPTED"), to=to_a)

    async def answered(email: str, response: str, waitlisted: bool) -> bool:
        invitation = await invitation_of(system, conference_id, email)
        return bool(invitation["response"] == response and invitation["waitlisted"] == waitlisted)

    await wait_until(lambda: answered(first, "accepted", False), what="the first's acceptance")
    mails_a = await system.mailpit.wait_for(first, count=2)
    assert any("zugesagt" in m["Subject"] for m in mails_a)

    # The second accepts too: the one seat is taken, so the waiting list.
    await send(system, reply(organizer_b, second, "ACCEPTED"), to=to_b)
    await wait_until(lambda: answered(second, "accepted", True), what="the second waitlisted")
    await system.mailpit.wait_for(second, count=2)

    # Forgeries with the right UID change nothing and are counted.
    before_no_token = await refused_count(system.notifications, "no-token")
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        await send(system, reply(organizer_a, first, "DECLINED"), to=f"antwort@{REPLY_DOMAIN}")
    assert await refused_count(system.notifications, "no-token") == before_no_token + 1

    local_part, domain = to_a.split("@")
    body, _, signature = local_part.rpartition(".")
    forged = f"{body}.{'a' if signature[0] != 'a' else 'b'}{signature[1:]}@{domain}"
    before_bad = await refused_count(system.conferences, "bad-signature")
    await send(system, reply(f"mailto:{forged}", first, "DECLINED"), to=forged)
    await wait_until(
        lambda: _above(system.conferences, "bad-signature", before_bad),
        what="the forged token counted",
    )

    # Someone's own token, but answering for another person (From and ATTENDEE forged).
    before_mismatch = await refused_count(system.conferences, "attendee-mismatch")
    await send(system, reply(organizer_b, first, "DECLINED", sender=first), to=to_b, sender=first)
    await wait_until(
        lambda: _above(system.conferences, "attendee-mismatch", before_mismatch),
        what="the other invitee's token counted",
    )
    assert await answered(first, "accepted", False), "the forgeries changed nothing"
    assert await answered(second, "accepted", True)

    # The first declines from the calendar: the second moves up and is told so.
    await send(system, reply(organizer_a, first, "DECLINED"), to=to_a)
    await wait_until(lambda: answered(second, "accepted", False), what="the second moved up")
    await wait_until(lambda: answered(first, "declined", False), what="the first declined")
    await system.mailpit.wait_for(second, count=3)

    # A COUNTER proposal, delivered twice: one German answer that the date is fixed.
    counter = calendar_mail(
        method="COUNTER",
        uid=calendar_uid,
        sequence=sequence,
        organizer=organizer_b,
        attendee=second,
        partstat="TENTATIVE",
        message_id=f"<counter-{uid}@client.example>",
        proposed_start=datetime.now(UTC) + timedelta(days=10),
    )
    await send(system, counter, to=to_b)
    await send(system, counter, to=to_b)
    mails_b = await system.mailpit.wait_for(second, count=4)
    await asyncio.sleep(2)  # time enough for a second answer to arrive, if there were one
    answers = [m for m in await system.mailpit.to(second) if "Termin steht fest" in m["Subject"]]
    assert len(answers) == 1, [m["Subject"] for m in mails_b]
    text = (await system.mailpit.message(answers[0]["ID"]))["Text"]
    assert "Der Termin steht fest" in text
    assert "Zusagen" in text
    assert "Antwortlink" in text
    async with system.notifications.client() as notifications:
        listed = await notifications.get(
            "/deliveries", params={"recipient": second}, headers=DISTRICT
        )
    assert listed.status_code == 200, listed.text
    body_json = listed.json()
    items = body_json["items"] if isinstance(body_json, dict) else body_json
    assert [d["template"] for d in items].count("calendar-counter-answer") == 1

    # A REPLY delivered twice is one answer: the first declined once, nothing twice.
    assert await answered(first, "declined", False)


async def _above(service: Any, reason: str, before: float) -> bool:
    return await refused_count(service, reason) > before


async def test_the_listener_refuses_what_it_cannot_use_and_relays_nothing(system: System) -> None:
    token_address = f"antwort+aaaaaaaaaaaa.inv-1.zzzz.abcdefghijklmnop@{REPLY_DOMAIN}"
    plain = EmailMessage()
    plain["From"] = "jemand@client.example"
    plain["To"] = token_address
    plain["Subject"] = "Abwesenheitsnotiz"
    plain["Message-ID"] = make_msgid(domain="client.example")
    plain.set_content("Ich bin bis Montag nicht im Haus.")
    before = await refused_count(system.notifications, "unusable")
    with pytest.raises(smtplib.SMTPDataError) as unusable:
        await send(system, plain.as_bytes(policy=SMTP), to=token_address)
    assert unusable.value.smtp_code == 550
    assert await refused_count(system.notifications, "unusable") == before + 1

    huge = EmailMessage()
    huge["From"] = "jemand@client.example"
    huge["To"] = token_address
    huge.set_content("x" * 70 + "\n" * 1 + ("y" * 70 + "\n") * 5000)
    with pytest.raises((smtplib.SMTPDataError, smtplib.SMTPSenderRefused)) as too_large:
        await send(system, huge.as_bytes(policy=SMTP), to=token_address)
    assert too_large.value.smtp_code == 552

    with pytest.raises(smtplib.SMTPRecipientsRefused):
        await send(system, plain.as_bytes(policy=SMTP), to="irgendwer@example.org")
