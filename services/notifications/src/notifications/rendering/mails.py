"""German mails from Jinja2 templates: one text and one HTML template per kind of mail.

Templates live in `templates/<kind>.txt.j2` and `templates/<kind>.html.j2`; the text template's
`subject` block is the subject line. HTML templates are autoescaped, so markup in any field shows
as text; the subject and names pass through `single_line`, so no field can start a mail header,
and text templates print names and titles through `one_line`, so a name from an event with a
line break in it cannot show as a line of its own (say, a forged "Bcc:" in the body).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup, escape

from notifications.domain.preferences import TOPIC_LABELS_DE
from notifications.domain.recipients import Recipient, Role, single_line
from notifications.domain.rules import CalendarMethod, Rule
from notifications.rendering import german
from notifications.rendering.calendar import CalendarEntry, ConferenceCalendar
from notifications.rendering.links import UnsubscribeLinks
from rbn_shared.addresses import address_key
from rbn_shared.settings import LegalSettings

DISTRICT_NAME = "Regionale Bildungsnetzwerke im Regierungsbezirk Arnsberg"
DISTRICT_SHORT = "Bildungsnetzwerke Arnsberg"
DISTRICT_SIGNATURE = (
    "Bezirkskoordination der Regionalen Bildungsnetzwerke, Bezirksregierung Arnsberg"
)
_NAME_PREFIXES = ("Regionales Bildungsnetzwerk ", "Bildungsnetzwerk ", "RBN ")


def network_names(name: str | None) -> dict[str, str]:
    """The network's name in the forms German sentences need (the name may be a bare place)."""
    if not name:
        return {
            "header": DISTRICT_NAME,
            "net": DISTRICT_SHORT,
            "network_nom": "die Bezirkskoordination",
            "network_gen": "der Regionalen Bildungsnetzwerke",
            "signature": DISTRICT_SIGNATURE,
        }
    place = single_line(name)
    for prefix in _NAME_PREFIXES:
        if place.startswith(prefix):
            place = place[len(prefix) :]
    return {
        "header": f"Regionales Bildungsnetzwerk {place}",
        "net": f"Bildungsnetzwerk {place}",
        "network_nom": f"das Regionale Bildungsnetzwerk {place}",
        "network_gen": f"des Regionalen Bildungsnetzwerks {place}",
        "signature": f"Ihr Regionales Bildungsnetzwerk {place}",
    }


SUBJECT_LIMIT = 200
CALENDARS_KEPT = 16  # events whose calendar a renderer keeps (lanes render side by side)


@dataclass(frozen=True)
class RenderedMail:
    subject: str
    text: str
    html: str
    calendar: CalendarEntry | None = None
    unsubscribe_url: str | None = None


def _tidy(text: str) -> str:
    """At most one blank line in a row: templates stay readable, and so does the mail."""
    return re.sub(r"\n{3,}", "\n\n", text)


def _paragraphs(text: str | None) -> Markup:
    """Plain text with blank lines as HTML paragraphs, everything in it escaped."""
    if not text:
        return Markup("")
    blocks = [b.strip() for b in str(text).replace("\r\n", "\n").split("\n\n") if b.strip()]
    return Markup("").join(
        Markup("<p>{}</p>").format(Markup("<br>").join(escape(line) for line in b.split("\n")))
        for b in blocks
    )


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("notifications.rendering", "templates"),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        long_date=german.long_date,
        short_date=german.short_date,
        wall_time=german.wall_time,
        paragraphs=_paragraphs,
        one_line=lambda v: single_line(str(v)),  # names and titles in text mails
        role_de=lambda v: german.ROLE.get(str(v), str(v)),
        side_de=lambda v: german.SIDE.get(str(v), str(v)),
        supervision_de=lambda v: german.SUPERVISION.get(str(v), str(v)),
        kind_de=lambda v: german.CONFERENCE_KIND.get(str(v), str(v)),
        response_de=lambda v: german.RESPONSE.get(str(v), str(v)),
        waitlist_de=german.waiting_list_place,
        withdrawal_de=lambda v: german.WITHDRAWAL.get(str(v), str(v)),
    )
    env.globals["time_range"] = german.time_range
    return env


@dataclass(frozen=True)
class LegalLinks:
    """The operator's Impressum and Datenschutzerklärung, linked from every mail and page
    (settings.legal; in production both are required)."""

    imprint_url: str | None = None
    privacy_notice_url: str | None = None

    @classmethod
    def of(cls, legal: LegalSettings) -> LegalLinks:
        imprint, notice = legal.imprint_url, legal.privacy_notice_url
        return cls(str(imprint) if imprint else None, str(notice) if notice else None)

    def context(self) -> dict[str, str | None]:
        return {"imprint_url": self.imprint_url, "privacy_notice_url": self.privacy_notice_url}


class MailRenderer:
    def __init__(self, links: UnsubscribeLinks, legal: LegalLinks | None = None) -> None:
        self._env = _environment()
        self._links = links
        self._legal = legal or LegalLinks()
        # The calendars of the events rendered lately, by event (each kept with its event, so
        # its id is not taken by another meanwhile): one built per event, not per recipient.
        self._calendars: dict[int, tuple[Any, CalendarMethod, datetime, ConferenceCalendar]] = {}

    def _calendar_of(
        self, payload: Any, method: CalendarMethod, stamp: datetime
    ) -> ConferenceCalendar:
        held = self._calendars.get(id(payload))
        if held is not None and held[0] is payload and held[1] is method and held[2] == stamp:
            return held[3]
        built = ConferenceCalendar.of(payload, method, stamp)
        self._calendars[id(payload)] = (payload, method, stamp, built)
        while len(self._calendars) > CALENDARS_KEPT:
            del self._calendars[next(iter(self._calendars))]  # the oldest
        return built

    def render(
        self,
        rule: Rule,
        recipient: Recipient,
        payload: Any,
        *,
        stamp: datetime,
        extra: Mapping[str, Any] | None = None,
    ) -> RenderedMail:
        topic = rule.category.opt_out_topic
        unsubscribe_url = self._links.url(recipient.email, topic) if topic else None
        network = getattr(payload, "network", None)
        network_name = recipient.network_name or (network.name if network else None)
        contact = _contact_of(payload)
        invitee = _invitee_of(payload, recipient)
        context: dict[str, Any] = {
            **network_names(network_name),
            "p": payload,
            "recipient": recipient,
            "greeting": _greeting(recipient),
            "network_name": network_name,
            "district_name": DISTRICT_NAME,
            "invitee": invitee,
            "calendar_attached": rule.calendar is not None,
            "unsubscribe_url": unsubscribe_url,
            "opt_out_label": TOPIC_LABELS_DE[topic] if topic else None,
            "contact": contact,
            "subject": "",
            **self._legal.context(),
        }
        if contact is not None:
            context["signature"] = single_line(contact.name)
        context.update(extra or {})
        text_template = self._env.get_template(f"{rule.template}.txt.j2")
        html_template = self._env.get_template(f"{rule.template}.html.j2")
        subject_block = text_template.blocks["subject"]
        subject = single_line("".join(subject_block(text_template.new_context(context))))
        context["subject"] = subject
        calendar = None
        if rule.calendar is not None:
            reply_address = getattr(invitee, "reply_address", None)
            common = self._calendar_of(payload, rule.calendar, stamp)
            ics = common.for_attendee(recipient.email, recipient.name, reply_address)
            calendar = CalendarEntry(ics, rule.calendar)
        return RenderedMail(
            subject=subject[:SUBJECT_LIMIT],
            text=_tidy(text_template.render(context)),
            html=html_template.render(context),
            calendar=calendar,
            unsubscribe_url=unsubscribe_url,
        )


def _greeting(recipient: Recipient) -> str:
    if recipient.role is Role.EDUCATION_OFFICE:
        return "Sehr geehrte Damen und Herren,"  # a team's mailbox, not one person
    return f"Guten Tag {recipient.name},"


def _invitee_of(payload: Any, recipient: Recipient) -> Any:
    candidates = list(getattr(payload, "invitees", []) or []) + list(
        getattr(payload, "recipients", []) or []
    )
    single = getattr(payload, "invitee", None)
    if single is not None:
        candidates.append(single)
    for invitee in candidates:
        if recipient.invitation_id is not None:
            if invitee.invitation_id == recipient.invitation_id:
                return invitee
        elif address_key(str(invitee.person.email)) == recipient.email:
            return invitee
    return None


def _contact_of(payload: Any) -> Any:
    """Whom to ask: the conference's organiser, or the network's education office."""
    organizer = getattr(payload, "organizer", None)
    if organizer is not None:
        return organizer
    return None


class PageRenderer:
    """The small German web pages behind the unsubscribe link."""

    def __init__(self, legal: LegalLinks | None = None) -> None:
        self._env = _environment()
        self._legal = legal or LegalLinks()

    def render(self, name: str, **context: Any) -> str:
        return self._env.get_template(f"pages/{name}.html.j2").render(
            district_name=DISTRICT_NAME, **self._legal.context(), **context
        )
