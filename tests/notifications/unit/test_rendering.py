"""What staff read: German text and HTML, safe headers, calendar entries that parse back."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import pytest
from icalendar import Calendar

from notifications.domain.digest import RecordedResponse, ResponseDigest, build_digests
from notifications.domain.preferences import Topic
from notifications.domain.recipients import (
    Contact,
    DistrictCoordination,
    NetworkDirectory,
    Recipient,
    Role,
)
from notifications.domain.report import build_report, development_of
from notifications.domain.rules import RESPONSE_DIGEST_DUE, RULES, Addressing, CalendarMethod, plan
from notifications.rendering import calendar as calendar_module
from notifications.rendering.calendar import ConferenceCalendar
from notifications.rendering.german import time_range
from notifications.rendering.links import InvalidLink, UnsubscribeLinks
from notifications.rendering.mails import LegalLinks, MailRenderer, PageRenderer, RenderedMail
from notifications.rendering.message import compose
from notifications.service_layer.inbound import CounterAnswerDue
from rbn_shared.calendar_addresses import conference_uid
from rbn_shared.events.base import Contact as EventContact
from rbn_shared.events.conferences import WithdrawalReason
from rbn_tools.mail_examples import ENDS, STARTS, Examples

EX = Examples()
STAMP = datetime(2027, 2, 1, 8, 0, tzinfo=UTC)
LINKS = UnsubscribeLinks("secret", "https://mail.example.org")
RENDERER = MailRenderer(LINKS)
DIRECTORY = (
    NetworkDirectory("bochum", "Bochum")
    .with_network("Bochum", Contact(EX.office_email, "Regionales Bildungsbüro Bochum"), 1)
    .with_member("m-1", Contact("anna.schmidt@schule.example.org", "Dr. Anna Schmidt", 1))
)
DISTRICT = DistrictCoordination(
    Contact("petra@bezreg.example.org", "Petra Hoffmann"),
    Contact("servicestelle@bezreg.example.org", "Servicestelle"),
)


def report() -> Any:
    developments = [
        development_of("field-of-action-adopted", EX.field_of_action_adopted(), "a", STAMP, STAMP),
        development_of("conference-concluded", EX.conference_concluded(), "b", STAMP, STAMP),
    ]
    return build_report([d for d in developments if d], STAMP, STAMP.replace(day=8))


def digest() -> ResponseDigest:
    recorded = [
        RecordedResponse.of(
            answer, event_id=f"r-{n}", conference_version=n, occurred_at=STAMP, recorded_at=STAMP
        )
        for n, answer in enumerate(EX.answers(), start=1)
    ]
    [the_digest] = build_digests(recorded, STAMP, STAMP.replace(day=2))
    return the_digest


def one_of_each() -> list[tuple[str, Any, dict[str, Any]]]:
    invitees = [EX.invitee(1), EX.invitee(2, name="Max Mustermann", local="max")]
    the_report = report()
    the_digest = digest()
    return [
        ("committee-member-added", EX.committee_member_added(), {}),
        ("committee-member-removed", EX.committee_member_removed(), {}),
        ("office-staff-assigned", EX.office_staff_assigned(), {}),
        ("field-of-action-adopted", EX.field_of_action_adopted(), {}),
        ("conference-scheduled", EX.conference_scheduled(invitees), {}),
        ("participant-invited", EX.participant_invited(invitees[0]), {}),
        ("conference-rescheduled", EX.conference_rescheduled(invitees), {}),
        ("conference-updated", EX.conference_updated(invitees), {}),
        ("conference-cancelled", EX.conference_cancelled(invitees), {}),
        ("participant-withdrawn", EX.participant_withdrawn(invitees[1]), {}),
        ("conference-reminder-due", EX.conference_reminder_due(invitees), {}),
        ("participant-responded", EX.participant_responded(invitees[0]), {}),
        ("conference-concluded", EX.conference_concluded(), {}),
        ("district-bulletin-published", EX.district_bulletin_published(["bochum"]), {}),
        (
            "district-report-due",
            the_report,
            {"report": the_report, "report_last_day": STAMP.replace(day=7)},
        ),
        ("response-digest-due", the_digest, {"digest": the_digest}),
        ("calendar-counter-received", counter_answer_due(), {"greeting": "Guten Tag,"}),
    ]


def counter_answer_due() -> CounterAnswerDue:
    return CounterAnswerDue(
        person=EventContact(name="max@schule.example.org", email="max@schule.example.org"),
        network=EX.network,
        conference_id=EX.conference_id,
        invitation_id="inv-2",
    )


def rendered_all() -> list[tuple[str, str, RenderedMail]]:
    mails = []
    addressing = Addressing(DIRECTORY, [DIRECTORY], DISTRICT)
    for event_type, payload, extra in one_of_each():
        for planned in plan(event_type, payload, addressing):
            mail = RENDERER.render(
                planned.rule, planned.recipient, payload, stamp=STAMP, extra=extra
            )
            mails.append((event_type, planned.rule.template, mail))
    return mails


def parse(raw: str) -> EmailMessage:
    message = email.message_from_string(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_german_date_and_time_as_people_write_them() -> None:
    assert time_range(STARTS, ENDS) == "Mittwoch, 10. März 2027, 14:00–17:00 Uhr"
    overnight = time_range(STARTS, ENDS.replace(day=11))
    assert overnight == "Mittwoch, 10. März 2027, 14:00 Uhr – Donnerstag, 11. März 2027, 17:00 Uhr"


def test_every_kind_of_mail_renders_with_the_network_in_its_subject() -> None:
    mails = rendered_all()
    assert {template for _, template, _ in mails} == {rule.template for rule in RULES}
    for _, template, mail in mails:
        assert "Bildungsnetzwerk" in mail.subject, template
        assert "Was ist zu tun?" in mail.html, template
        assert mail.text.count(">> ") == 1, f"{template}: the ask stands at the top"
        assert "Mit freundlichen Grüßen" in mail.text
        assert "{{" not in mail.text + mail.html


def test_the_invitation_says_when_where_and_what_is_asked() -> None:
    mail = next(m for _, t, m in rendered_all() if t == "conference-invitation")
    assert mail.subject == (
        "[Bildungsnetzwerk Bochum] Einladung: Regionale Bildungskonferenz 2027: "
        "Übergänge gestalten am 10. März 2027"
    )
    for text in (mail.text, mail.html):
        assert "Mittwoch, 10. März 2027, 14:00–17:00 Uhr" in text
        assert "Kulturzentrum Bahnhof Langendreer" in text
        assert "Übergang Schule – Beruf: Ergebnisse der Arbeitsgruppe" in text
        assert "https://konferenzen.example.org/antwort/inv-1" in text
    assert "Bitte sagen Sie" in mail.text


def test_only_reminders_and_reports_carry_an_unsubscribe_link() -> None:
    for _, template, mail in rendered_all():
        switchable = template in {"conference-reminder", "district-report"}
        assert (mail.unsubscribe_url is not None) == switchable, template
        if mail.unsubscribe_url is not None:
            assert mail.unsubscribe_url in mail.html
            assert "abbestellen" in mail.text


def test_calendar_request_and_cancel_parse_back() -> None:
    invitee = EX.invitee(1)
    calendars = {t: m.calendar for _, t, m in rendered_all() if m.calendar is not None}
    request = Calendar.from_ical(calendars["conference-invitation"].ics)
    cancel = Calendar.from_ical(calendars["conference-cancelled"].ics)
    moved = Calendar.from_ical(calendars["conference-rescheduled"].ics)
    assert str(request["METHOD"]) == "REQUEST"
    assert str(cancel["METHOD"]) == "CANCEL"
    assert all(str(Calendar.from_ical(c.ics)["METHOD"]) == c.method for c in calendars.values())
    entries = [next(iter(c.walk("VEVENT"))) for c in (request, moved, cancel)]
    assert {str(e["UID"]) for e in entries} == {conference_uid(EX.conference_id)}
    assert [int(str(e["SEQUENCE"])) for e in entries] == [0, 1, 2]
    first = entries[0]
    assert str(first["ATTENDEE"]) == f"mailto:{invitee.person.email}"
    assert first["ATTENDEE"].params["RSVP"] == "TRUE"
    assert str(first["ORGANIZER"]) == f"mailto:{EX.office_email}"
    assert first["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert first.decoded("DTSTART").hour == 14
    assert list(first.walk("VALARM"))
    assert [str(c["TZID"]) for c in request.walk("VTIMEZONE")] == ["Europe/Berlin"]


@pytest.mark.parametrize("method", list(CalendarMethod))
def test_one_calendar_per_event_gives_each_attendee_the_calendar_built_for_them_alone(
    method: CalendarMethod,
) -> None:
    """The .ics is built once per event and each attendee's lines are put in: byte for byte
    what building the whole calendar for that attendee gives, for names long enough to fold,
    with umlauts, and with and without a reply address as ORGANIZER."""
    payload = EX.conference_scheduled([EX.invitee(1)])
    common = ConferenceCalendar.of(payload, method, STAMP)
    attendees = [
        ("anna.schmidt@schule.example.org", "Dr. Anna Schmidt", None),
        ("jürgen@bücher.example.org", "Jürgen Müller-Lüdenscheidt " * 4, None),
        ("max@schule.example.org", "Max", "antwort+eyJhbGciOi.x-" + "y" * 90 + "@antwort.example"),
    ]
    for email_address, name, reply in attendees:
        organizer = payload.organizer
        whole = calendar_module._calendar(
            payload,
            method,
            STAMP,
            calendar_module._address(reply or organizer.email, organizer.name),
            calendar_module.attendee_address(email_address, name),
        )
        assert common.for_attendee(email_address, name, reply) == whole.to_ical()
    entry = Calendar.from_ical(common.for_attendee(*attendees[1]))
    event = next(iter(entry.walk("VEVENT")))
    assert event["ATTENDEE"].params["CN"] == attendees[1][1].strip()
    assert "slot.invalid" not in entry.to_ical().decode()


def test_a_renderer_builds_one_calendar_for_all_of_an_events_invitees(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    invitees = [EX.invitee(n, local=f"p{n}") for n in range(1, 6)]
    payload = EX.conference_scheduled(invitees)
    renderer = MailRenderer(LINKS)
    planned = [p for p in plan("conference-scheduled", payload, Addressing()) if p.rule.calendar]
    built: list[object] = []
    original = ConferenceCalendar.of

    def counting(*args: Any) -> ConferenceCalendar:
        built.append(args)
        return original(*args)

    monkeypatch.setattr(ConferenceCalendar, "of", counting)
    mails = [renderer.render(p.rule, p.recipient, payload, stamp=STAMP) for p in planned]
    assert len(planned) == 5
    assert len(built) == 1
    attendees = [
        str(next(iter(Calendar.from_ical(m.calendar.ics).walk("VEVENT")))["ATTENDEE"])
        for m in mails
        if m.calendar
    ]
    assert attendees == [f"mailto:{i.person.email}" for i in invitees]


def compose_for(payload: Any, event_type: str = "conference-scheduled") -> tuple[str, EmailMessage]:
    planned = plan(event_type, payload, Addressing())[0]
    mail = RENDERER.render(planned.rule, planned.recipient, payload, stamp=STAMP)
    raw = compose(
        mail,
        recipient=planned.recipient,
        sender_email="bildungsnetzwerke@bezreg.example.org",
        sender_name="Regionales Bildungsnetzwerk Bochum",
        reply_to=EX.office_email,
        message_id="<d-1@rbn-arnsberg.nrw.de>",
        date=STAMP,
    )
    return raw, parse(raw)


def test_line_breaks_in_names_and_titles_cannot_add_headers() -> None:
    evil = EX.invitee(1, name="Eve\r\nBcc: attacker@evil.example.org", local="eve")
    payload = EX.conference_scheduled([evil], title="Konferenz\r\nX-Injected: ja")
    raw, message = compose_for(payload)
    assert message["Bcc"] is None
    assert message["X-Injected"] is None
    assert "\nBcc:" not in raw
    assert message["To"].addresses[0].addr_spec == str(evil.person.email)
    assert "\n" not in str(message["Subject"])


@pytest.mark.parametrize(
    ("event_type", "template", "mail"),
    rendered_all(),
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_every_mail_is_well_formed_mime_that_reads_back_as_written(
    event_type: str, template: str, mail: RenderedMail
) -> None:
    """Parsed with the strict modern parser: no defects, each header once, the text unchanged."""
    recipient = Recipient("sabine.krueger@schule.example.org", "Sabine Krüger", Role.INVITEE)
    raw = compose(
        mail,
        recipient=recipient,
        sender_email="bildungsnetzwerke@bezreg.example.org",
        sender_name="Regionales Bildungsnetzwerk Bochum",
        reply_to=EX.office_email,
        message_id="<d-1@rbn-arnsberg.nrw.de>",
        date=STAMP,
    )
    assert raw.isascii()
    assert "\n" not in raw.replace("\r\n", "")  # CRLF only, as SMTP wants
    assert all(len(line) <= 998 for line in raw.split("\r\n"))
    message = parse(raw)
    for part in message.walk():
        assert not part.defects, (template, part.get_content_type(), part.defects)
    head = raw.split("\r\n\r\n", 1)[0]
    for name in ("Subject", "From", "To", "Reply-To", "Date", "Message-ID", "MIME-Version"):
        assert sum(1 for line in head.split("\r\n") if line.startswith(name + ":")) == 1, name
    assert raw.count("MIME-Version:") == 1  # once, at the top
    assert str(message["Subject"]) == mail.subject
    assert message["To"].addresses[0].display_name == "Sabine Krüger"
    assert message["From"].addresses[0].display_name == "Regionales Bildungsnetzwerk Bochum"
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None
    assert html is not None
    assert text.get_content().replace("\r\n", "\n").strip() == mail.text.strip()
    assert html.get_content().replace("\r\n", "\n").strip() == mail.html.strip()
    calendars = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    assert len(calendars) == (1 if mail.calendar is not None else 0)


def test_markup_in_any_field_is_escaped_in_html() -> None:
    sneaky = EX.invitee(1, name="<b>Bold</b>", local="bold")
    payload = EX.conference_scheduled([sneaky], title="<script>alert(1)</script>")
    _, message = compose_for(payload)
    html = message.get_body(("html",))
    assert html is not None
    content = html.get_content()
    assert "<script>" not in content
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in content
    assert "&lt;b&gt;Bold&lt;/b&gt;" in content


def test_the_message_has_text_html_and_the_calendar_in_one() -> None:
    _, message = compose_for(EX.conference_scheduled([EX.invitee(1)]))
    types = [part.get_content_type() for part in message.walk()]
    assert types[0] == "multipart/mixed"
    assert {"text/plain", "text/html", "text/calendar", "application/ics"} <= set(types)
    calendar_part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    assert calendar_part.get_param("method") == "REQUEST"
    assert message["Message-ID"] == "<d-1@rbn-arnsberg.nrw.de>"
    assert message["List-Unsubscribe"] is None


def test_a_reminder_has_a_one_click_unsubscribe_header() -> None:
    _, message = compose_for(EX.conference_reminder_due([EX.invitee(1)]), "conference-reminder-due")
    header = str(message["List-Unsubscribe"])
    assert header.startswith("<https://mail.example.org/unsubscribe?token=")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = header.split("token=", 1)[1].rstrip(">")
    link = LINKS.read(token)
    assert link.email == str(EX.invitee(1).person.email)
    assert link.topic is Topic.REMINDERS


def test_unsubscribe_links_cannot_be_forged() -> None:
    token = LINKS.token("anna@schule.example.org", Topic.REPORTS)
    with pytest.raises(InvalidLink):
        LINKS.read(token[:-2] + "xx")
    with pytest.raises(InvalidLink):
        UnsubscribeLinks("another secret", "https://x").read(token)


@pytest.mark.parametrize(
    "zone", ["Nirgendwo/Stadt", "Europe/\x00Berlin", "../../etc/passwd", "", "Ä" * 300]
)
def test_a_time_zone_nobody_knows_is_shown_as_berlin_time(zone: str) -> None:
    # A schema-valid event may name any text as its zone: the invitation still goes out, its
    # times (absolute moments) shown as Berlin's, and its calendar names the zone it defines.
    payload = EX.conference_scheduled([EX.invitee(1)]).model_copy(update={"timezone": zone})
    _, message = compose_for(payload)
    assert "14:00–17:00 Uhr" in message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    [ics] = [part for part in message.walk() if part.get_content_type() == "text/calendar"]
    calendar = Calendar.from_ical(ics.get_content())
    entry = next(iter(calendar.walk("VEVENT")))
    assert entry["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert entry.decoded("DTSTART").hour == 14
    assert [str(c["TZID"]) for c in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]


def mails_to_invitees(event_type: str, payload: Any) -> list[RenderedMail]:
    addressing = Addressing(DIRECTORY, [DIRECTORY], DISTRICT)
    return [
        RENDERER.render(planned.rule, planned.recipient, payload, stamp=STAMP)
        for planned in plan(event_type, payload, addressing)
        if planned.rule.template != "response-digest"
    ]


WAITING = EX.invitee(1).model_copy(
    update={"response": "accepted", "waitlisted": True, "waitlist_position": 2}
)


def test_a_waitlisted_acceptance_is_confirmed_with_its_place() -> None:
    answer = EX.participant_responded(WAITING).model_copy(update={"invitee": WAITING})
    [mail] = mails_to_invitees("participant-responded", answer)
    assert "Sie stehen auf der Warteliste (Platz 2)." in mail.text
    assert "Sie stehen auf der Warteliste (Platz 2).</strong>" in mail.html
    assert "Warteliste (Platz 2)" in mail.subject
    assert "Sie sind dabei" not in mail.text + mail.html


def test_a_move_up_from_the_waiting_list_says_the_person_is_in() -> None:
    seated = WAITING.model_copy(update={"waitlisted": False, "waitlist_position": None})
    answer = EX.participant_responded(seated).model_copy(update={"promoted_from_waitlist": True})
    [mail] = mails_to_invitees("participant-responded", answer)
    for text in (mail.text, mail.html):
        assert "Es ist ein Platz frei geworden: Sie sind dabei." in text
        assert "nachgerückt" not in text
        assert "Warteliste (Platz" not in text
    assert "Es ist ein Platz frei geworden" in mail.subject


@pytest.mark.parametrize(
    ("event_type", "payload"),
    [
        ("conference-rescheduled", EX.conference_rescheduled([WAITING])),
        ("conference-updated", EX.conference_updated([WAITING])),
        ("conference-reminder-due", EX.conference_reminder_due([WAITING])),
    ],
)
def test_a_person_on_the_waiting_list_reads_their_place_not_their_answer(
    event_type: str, payload: Any
) -> None:
    [mail] = mails_to_invitees(event_type, payload)
    for text in (mail.text, mail.html):
        assert "Sie stehen auf der Warteliste (Platz 2)." in text
        assert "zugesagt" not in text
    [place] = [line for line in mail.text.splitlines() if "Platz 2" in line]
    assert "https://" not in place, "the response link keeps a line of its own"


def test_the_office_overview_says_a_place_came_free_for_someone_moved_up() -> None:
    answer = EX.answers()[0].model_copy(update={"promoted_from_waitlist": True})
    moved = RecordedResponse.of(
        answer, event_id="r-1", conference_version=1, occurred_at=STAMP, recorded_at=STAMP
    )
    [overview] = build_digests([moved], STAMP.replace(hour=0), STAMP.replace(hour=23))
    [planned] = plan(RESPONSE_DIGEST_DUE, overview, Addressing(DIRECTORY, [DIRECTORY], DISTRICT))
    mail = RENDERER.render(
        planned.rule, planned.recipient, overview, stamp=STAMP, extra={"digest": overview}
    )
    assert "Sabine Krüger (Grundschule Nr. 1): Es ist ein Platz frei geworden: dabei\n" in mail.text
    assert "</strong> (Grundschule Nr. 1): Es ist ein Platz frei geworden: dabei</li>" in mail.html
    assert "bisher" not in mail.text + mail.html


@pytest.mark.parametrize(
    ("reason", "words"),
    [
        ("removed_from_committee", "Sie gehören dem Lenkungskreis nicht mehr an."),
        ("removed_from_office", "Sie gehören dem Regionalen Bildungsbüro nicht mehr an."),
        ("term_ended", "Ihre Amtszeit im Lenkungskreis endet vor dem Termin der Konferenz."),
        ("delegate_removed", "Das Regionale Bildungsbüro hat Ihre Einladung zurückgenommen."),
    ],
)
def test_a_withdrawal_cancels_the_entry_of_that_invitee_only(reason: str, words: str) -> None:
    withdrawn = EX.participant_withdrawn(
        EX.invitee(2, name="Max Mustermann", local="max"), WithdrawalReason(reason), sequence=3
    )
    [mail] = mails_to_invitees("participant-withdrawn", withdrawn)
    assert mail.subject.startswith("[Bildungsnetzwerk Bochum] Einladung zurückgenommen: ")
    for text in (mail.text, mail.html):
        assert "Ihre Einladung zur Konferenz „Regionale Bildungskonferenz 2027" in text
        assert "wurde zurückgenommen" in text
        assert f"Grund: {words}" in text
        assert "/antwort/" not in text, "no response link"
    assert mail.calendar is not None
    calendar = Calendar.from_ical(mail.calendar.ics)
    assert str(calendar["METHOD"]) == "CANCEL"
    [entry] = list(calendar.walk("VEVENT"))
    assert str(entry["UID"]) == conference_uid(EX.conference_id)
    assert int(str(entry["SEQUENCE"])) == 3, "the withdrawal raised it already"
    attendees = entry["ATTENDEE"]
    assert not isinstance(attendees, list), "only that attendee"
    assert str(attendees) == "mailto:max@schule.example.org"
    assert str(entry["STATUS"]) == "CANCELLED"


def test_every_mail_and_page_links_the_legal_notices_when_they_are_set() -> None:
    legal = LegalLinks("https://rbn.example/impressum?a=1&b=2", "https://rbn.example/datenschutz")
    renderer = MailRenderer(LINKS, legal)
    addressing = Addressing(DIRECTORY, [DIRECTORY], DISTRICT)
    for event_type, payload, extra in one_of_each():
        for planned in plan(event_type, payload, addressing):
            mail = renderer.render(
                planned.rule, planned.recipient, payload, stamp=STAMP, extra=extra
            )
            assert "Impressum: https://rbn.example/impressum?a=1&b=2" in mail.text, event_type
            assert "Datenschutz: https://rbn.example/datenschutz" in mail.text, event_type
            # Escaped in HTML like every other value: the autoescape stays on.
            assert 'href="https://rbn.example/impressum?a=1&amp;b=2">Impressum</a>' in (
                mail.html.replace(' style="color:#0b4f82;"', "")
            ), event_type
            assert ">Datenschutz</a>" in mail.html, event_type
    page = PageRenderer(legal).render("invalid-link")
    assert ">Impressum</a>" in page
    assert ">Datenschutz</a>" in page
    assert "Impressum" not in PageRenderer().render("invalid-link"), "none set: no link"
    unset = next(iter(rendered_all()))[2]
    assert "Impressum" not in unset.text
    assert "Impressum" not in unset.html
