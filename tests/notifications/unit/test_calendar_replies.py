"""Inbound calendar replies: reading untrusted mail, the answers a PARTSTAT maps to, the reply
address in the invitation, and the fixed answer to a COUNTER."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
import vobject
from dateutil.tz import tzutc
from icalendar import Calendar

from notifications.adapters.inbound_mail import read_mail
from notifications.domain.calendar_replies import (
    InboundMail,
    Method,
    ReplyToken,
    Unusable,
)
from notifications.domain.recipients import Recipient, Role
from notifications.domain.rules import CALENDAR_COUNTER_RECEIVED, RULES, Addressing, plan
from notifications.rendering.links import UnsubscribeLinks
from notifications.rendering.mails import MailRenderer
from notifications.service_layer.inbound import CounterAnswerDue
from rbn_shared.calendar_addresses import conference_uid, is_reply_address
from rbn_shared.events.base import Contact
from rbn_shared.events.notifications import CalendarAnswer
from rbn_tools.mail_examples import Examples

EX = Examples()
NOW = datetime(2027, 2, 1, 8, 0, tzinfo=UTC)
TOKEN = "a1b2c3d4e5f6.inv-3.skz9ab.abcdefghijklmnop"
ORGANIZER = f"antwort+{TOKEN}@antworten.example.org"


def reply_mail(
    partstat: str = "ACCEPTED", method: str = "REPLY", message_id: str | None = "<r-1@client>"
) -> bytes:
    calendar = vobject.iCalendar()
    calendar.add("method").value = method
    event = calendar.add("vevent")
    event.add("uid").value = conference_uid("a1b2c3d4e5f6")
    event.add("sequence").value = "2"
    event.add("dtstamp").value = NOW.replace(tzinfo=tzutc())  # vobject wants dateutil's UTC
    event.add("organizer").value = f"mailto:{ORGANIZER}"
    attendee = event.add("attendee")
    attendee.value = "mailto:Schulleitung3@Schule.example.org"
    attendee.params["PARTSTAT"] = [partstat]
    mail = EmailMessage()
    mail["From"] = "schulleitung3@schule.example.org"
    mail["To"] = ORGANIZER
    mail["Subject"] = "Zugesagt: Bildungskonferenz"
    if message_id:
        mail["Message-ID"] = message_id
    mail.set_content("Zugesagt.")
    mail.add_alternative(calendar.serialize(), subtype="calendar", params={"method": method})
    return mail.as_bytes()


def test_a_calendar_reply_is_read_with_its_answer() -> None:
    mail = read_mail(reply_mail(), received_at=NOW)
    calendar = mail.calendar
    assert calendar.method is Method.REPLY
    assert calendar.uid == conference_uid("a1b2c3d4e5f6")
    assert calendar.conference_id == "a1b2c3d4e5f6"
    assert calendar.attendee == "schulleitung3@schule.example.org"
    assert calendar.sequence == 2
    assert calendar.answer() is CalendarAnswer.ACCEPTED
    assert mail.message_id == "<r-1@client>"


@pytest.mark.parametrize(
    ("partstat", "answer"),
    [
        ("ACCEPTED", CalendarAnswer.ACCEPTED),
        ("DECLINED", CalendarAnswer.DECLINED),
        ("TENTATIVE", CalendarAnswer.TENTATIVE),
    ],
)
def test_partstat_maps_to_the_conference_answer(partstat: str, answer: CalendarAnswer) -> None:
    assert read_mail(reply_mail(partstat), received_at=NOW).calendar.answer() is answer


def test_a_partstat_that_answers_nothing_is_unusable() -> None:
    with pytest.raises(Unusable):
        read_mail(reply_mail("DELEGATED"), received_at=NOW).calendar.answer()


def test_the_same_mail_is_the_same_inbound_mail_and_one_without_message_id_too() -> None:
    first = read_mail(reply_mail(), received_at=NOW)
    again = read_mail(reply_mail(), received_at=NOW + timedelta(minutes=5))
    assert first.inbound_id == again.inbound_id
    other = read_mail(reply_mail(message_id="<r-2@client>"), received_at=NOW)
    assert other.inbound_id != first.inbound_id
    anonymous = reply_mail(message_id=None)  # the same bytes again: the same mail
    once = read_mail(anonymous, received_at=NOW)
    assert once.inbound_id == read_mail(anonymous, received_at=NOW).inbound_id


GARBAGE = [
    b"",
    b"\x00\xff" * 100,
    b"Subject: hello\r\n\r\nno calendar here",
    b"Content-Type: text/calendar\r\n\r\nBEGIN:VCALENDAR\r\nthis is not",
    b"Content-Type: text/calendar\r\n\r\nBEGIN:VCALENDAR\r\nMETHOD:REQUEST\r\nEND:VCALENDAR\r\n",
    b"Content-Type: text/calendar\r\n\r\nBEGIN:VCALENDAR\r\nMETHOD:REPLY\r\nEND:VCALENDAR\r\n",
    b"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/calendar\r\n"
    b"Content-Transfer-Encoding: base64\r\n\r\n!!!notbase64\r\n--x--\r\n",
    reply_mail(method="REQUEST"),
    reply_mail().replace(b"SEQUENCE:2", b"SEQUENCE:zwei"),
    reply_mail().replace(b"mailto:Schulleitung3@Schule.example.org", b"mailto:nobody"),
]


@pytest.mark.parametrize("raw", GARBAGE)
def test_unusable_mail_is_refused_and_nothing_else_escapes(raw: bytes) -> None:
    with pytest.raises(Unusable):
        read_mail(raw, received_at=NOW)


def test_a_reply_address_gives_its_token_in_any_case_and_others_none() -> None:
    token = ReplyToken.in_address(ORGANIZER.upper())
    assert token is not None
    assert (token.value, token.conference_id, token.invitation_id) == (
        TOKEN,
        "a1b2c3d4e5f6",
        "inv-3",
    )
    for address in (
        "antwort@antworten.example.org",
        "antwort+@antworten.example.org",
        "antwort+a.b@antworten.example.org",
        "antwort+a.b.c.d;rm@x.example",
        "buero@antworten.example.org",
    ):
        assert ReplyToken.in_address(address) is None, address
    assert is_reply_address("antwort@x.example")
    assert is_reply_address("antwort+junk@x.example")
    assert not is_reply_address("buero@x.example")


def test_the_invitations_organizer_is_the_invitees_reply_address_under_the_offices_name() -> None:
    invitee = EX.invitee(3).model_copy(update={"reply_address": ORGANIZER})
    event = EX.conference_scheduled([invitee, EX.invitee(4)])
    renderer = MailRenderer(UnsubscribeLinks("secret", "https://mail.example.org"))
    organizers = {}
    for planned in plan("conference-scheduled", event, Addressing()):
        mail = renderer.render(planned.rule, planned.recipient, event, stamp=NOW)
        assert mail.calendar is not None
        [entry] = Calendar.from_ical(mail.calendar.ics).walk("VEVENT")
        organizers[planned.recipient.invitation_id] = entry["ORGANIZER"]
    assert str(organizers["inv-3"]) == f"mailto:{ORGANIZER}"
    assert str(organizers["inv-3"].params["CN"]) == event.organizer.name
    assert str(organizers["inv-4"]) == f"mailto:{event.organizer.email}", "none issued: as before"


def test_a_counter_gets_the_fixed_german_answer_to_the_invitee() -> None:
    [rule] = [r for r in RULES if r.event_type == CALENDAR_COUNTER_RECEIVED]
    due = CounterAnswerDue(
        person=Contact(name="x@schule.example.org", email="x@schule.example.org"),
        network=EX.network,
        conference_id="a1b2c3d4e5f6",
        invitation_id="inv-3",
    )
    [planned] = plan(CALENDAR_COUNTER_RECEIVED, due, Addressing())
    assert planned.recipient == Recipient(
        "x@schule.example.org",
        "x@schule.example.org",
        Role.INVITEE,
        EX.network.id,
        EX.network.name,
        "inv-3",
    )
    renderer = MailRenderer(UnsubscribeLinks("secret", "https://mail.example.org"))
    mail = renderer.render(
        rule, planned.recipient, due, stamp=NOW, extra={"greeting": "Guten Tag,"}
    )
    assert "Der Termin steht fest" in mail.subject
    assert "Der Termin steht fest" in mail.text
    assert "Antwortlink" in mail.text
    assert "„Zusagen“" in mail.text
    assert "Guten Tag," in mail.text
    assert mail.calendar is None


def test_inbound_mail_is_a_plain_value() -> None:
    mail = read_mail(reply_mail(), received_at=NOW)
    assert isinstance(mail, InboundMail)
