"""How the portal says things: German labels for the APIs' values, dates as staff read them, and
the APIs' field errors in German. Pure functions, no I/O."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime

from rbn_shared.german import CONFERENCE_KIND as CONFERENCE_KIND
from rbn_shared.german import ROLE as ROLE
from rbn_shared.german import SIDE as SIDE
from rbn_shared.german import SUPERVISION as SUPERVISION

BERLIN = ZoneInfo("Europe/Berlin")

CONFERENCE_STATUS = {
    "draft": "Entwurf",
    "scheduled": "geplant, Einladungen versandt",
    "cancelled": "abgesagt",
    "concluded": "abgeschlossen",
}
FIELD_STATUS = {"proposed": "vorgeschlagen", "adopted": "beschlossen", "closed": "abgeschlossen"}
AGREEMENT_STATUS = {"active": "in Kraft", "terminated": "beendet"}
MUNICIPALITY_KIND = {"city": "kreisfreie Stadt", "district": "Kreis"}
# Whom an invitee speaks for; a guest (an external delegate) is one of the last seven.
STAKEHOLDER_GROUP = {
    "steering_committee": "Lenkungskreis",
    "education_office": "Bildungsbüro",
    "school": "Schule",
    "school_board": "Schulträger",
    "school_supervision": "Schulaufsicht",
    "youth_welfare": "Jugendhilfe",
    "further_education": "Weiterbildung",
    "business": "Wirtschaft",
    "other": "Sonstige",
}
GUEST_GROUP = {
    k: v
    for k, v in STAKEHOLDER_GROUP.items()
    if k not in ("steering_committee", "education_office")
}


def answer(invitation: dict[str, Any]) -> str:
    """How one invitee stands: offen, zugesagt, abgesagt, unter Vorbehalt, Warteliste, or
    unzustellbar when their last mail could not be delivered."""
    if invitation.get("undeliverable"):
        return "unzustellbar"
    if invitation.get("waitlisted"):
        place = invitation.get("waitlist_position")
        return f"Warteliste (Platz {place})" if place else "Warteliste"
    return {
        "accepted": "zugesagt",
        "declined": "abgesagt",
        "tentative": "unter Vorbehalt",
    }.get(str(invitation.get("response")), "offen")


def day(value: date | str | None) -> str:
    """`10.03.2027`; empty for none."""
    if value is None or value == "":
        return ""
    parsed = date.fromisoformat(value) if isinstance(value, str) else value
    return format_date(parsed, "dd.MM.yyyy", locale="de_DE")


def long_day(value: date | str) -> str:
    """`Mittwoch, 10. März 2027`."""
    parsed = date.fromisoformat(value) if isinstance(value, str) else value
    return format_date(parsed, "EEEE, d. MMMM yyyy", locale="de_DE")


def moment(value: datetime | str | None) -> str:
    """`10.03.2027, 14:00 Uhr` in Europe/Berlin; empty for none."""
    if value is None or value == "":
        return ""
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    return format_datetime(parsed.astimezone(BERLIN), "dd.MM.yyyy, HH:mm 'Uhr'", locale="de_DE")


def berlin_day(value: datetime | str) -> date:
    """The day a moment falls on in Europe/Berlin."""
    parsed = datetime.fromisoformat(value) if isinstance(value, str) else value
    return parsed.astimezone(BERLIN).date()


def week(start: datetime | str, end: datetime | str) -> str:
    """`Woche vom 23.11.2026 bis 29.11.2026`: a report period named by its days. A period that
    ends on Monday at 07:00 is the week before that Monday, so its last day is the one before."""
    first = berlin_day(start)
    last = max(first, berlin_day(end) - timedelta(days=1))
    return f"Woche vom {day(first)} bis {day(last)}"


# The reasons pydantic and the services give, as German sentences. The first match wins; the
# detail of anything unknown is kept, so nothing the service said is hidden.
_REASONS: tuple[tuple[str, str], ...] = (
    # the registry's rules of the Lenkungskreis
    (
        "already a member of the steering committee",
        "Diese Person gehört dem Lenkungskreis schon an.",
    ),
    (
        "only the land's regional coordination has a supervision level",
        "Eine Schulaufsicht gibt es nur auf der Seite des Landes NRW.",
    ),
    ("the end of the term must not lie before", "Die Amtszeit kann nicht vor ihrem Beginn enden."),
    ("field required", "Bitte ausfüllen."),
    ("must not be empty", "Bitte ausfüllen."),
    ("at least 1 character", "Bitte ausfüllen."),
    ("email", "Bitte eine gültige E-Mail-Adresse angeben, z. B. name@schule.de."),
    ("valid date", "Bitte ein Datum angeben."),
    ("valid datetime", "Bitte Datum und Uhrzeit angeben."),
    ("valid url", "Bitte eine vollständige Adresse angeben, die mit https:// beginnt."),
    ("valid integer", "Bitte eine ganze Zahl angeben."),
    ("greater than or equal", "Die Zahl ist zu klein."),
    ("less than or equal", "Die Zahl ist zu groß."),
    ("input should be", "Bitte eine der angebotenen Möglichkeiten wählen."),
    ("at most", "Die Angabe ist zu lang."),
    ("control character", "Bitte keine Steuerzeichen oder Zeilenumbrüche eingeben."),
)


def reason(text: str) -> str:
    lowered = text.lower()
    for marker, german in _REASONS:
        if marker in lowered:
            return german
    return f"Bitte prüfen: {text}"


EMPLOYER = {"municipality": "Kommune", "state": "Land NRW"}
_SHARE_NAMES = {1.0: "volle Stelle", 0.75: "Dreiviertelstelle", 0.5: "halbe Stelle"}


def share(value: float | None) -> str:
    """A share of a teacher's hours as staff say it: `50 % (halbe Stelle)`, `33,3 %`."""
    if value is None:
        return ""
    percent = round(value * 100, 1)
    number = f"{percent:g}".replace(".", ",")
    name = _SHARE_NAMES.get(round(value, 3))
    return f"{number} % ({name})" if name else f"{number} %"


# ---------------------------------------------------------------------------- deliveries

DELIVERY_STATUS = {
    "pending": "wird versandt",
    "sent": "versandt",
    "failed": "nicht zugestellt",
    "skipped": "nicht versandt (abbestellt)",
}
MAIL_KIND = {
    "committee-welcome": "Begrüßung im Lenkungskreis",
    "committee-member-added": "Hinweis: neues Mitglied im Lenkungskreis",
    "committee-member-removed": "Hinweis: Mitglied ausgeschieden",
    "office-staff-welcome": "Begrüßung im Bildungsbüro",
    "field-of-action-adopted": "Handlungsfeld beschlossen",
    "conference-invitation": "Einladung zur Konferenz",
    "conference-rescheduled": "Konferenz verschoben",
    "conference-updated": "Konferenz geändert",
    "conference-cancelled": "Konferenz abgesagt",
    "participant-withdrawn": "Einladung zurückgenommen",
    "conference-reminder": "Erinnerung an die Konferenz",
    "response-confirmation": "Bestätigung der Rückmeldung",
    "conference-results": "Ergebnisse der Konferenz",
    "district-bulletin": "Mitteilung der Bezirkskoordination",
    "district-report": "Bericht der Bezirkskoordination",
    "response-digest": "Übersicht der Rückmeldungen",
    "calendar-counter-answer": "Antwort auf einen Terminvorschlag",
}

_ADDRESS_HINT = (
    " Meist ist es ein Tippfehler: Bitte prüfen Sie die Adresse und korrigieren Sie sie."
)
# What the notifications service records as the reason (`last_error`), in words: the first
# match wins; the raw answer is shown beside it, so nothing the mail server said is hidden.
_DELIVERY_REASONS: tuple[tuple[tuple[str, ...], str], ...] = (
    (
        ("address refused",),
        "Die Adresse ist so nicht gültig, die Mail wurde gar nicht erst abgeschickt."
        + _ADDRESS_HINT,
    ),
    (
        ("smtputf8",),
        "Die Adresse enthält vor dem @ Umlaute oder andere Sonderzeichen, die der Mailserver "
        "nicht annimmt. Bitte fragen Sie nach einer Adresse ohne Sonderzeichen.",
    ),
    (
        ("could not compose",),
        "Die Mail konnte nicht erstellt werden. Das liegt nicht an der Adresse, sondern am "
        "System: Bitte melden Sie es der Bezirkskoordination.",
    ),
    (
        ("interrupted after it started",),
        "Der Versand wurde unterbrochen; ob die Mail angekommen ist, ist nicht sicher.",
    ),
    (
        ("gave up after",),
        "Der Mailserver der Empfängerin oder des Empfängers war länger nicht erreichbar; nach "
        "mehreren Versuchen wurde der Versand aufgegeben.",
    ),
    (
        ("552", "mailbox full", "quota", "over quota"),
        "Das Postfach ist voll. Die Person sollte Platz schaffen; danach kann die Mail noch "
        "einmal gesendet werden.",
    ),
    (
        ("spam", "blocked", "blacklist", "policy"),
        "Der Mailserver der Empfängerin oder des Empfängers hat die Mail abgewiesen (zum "
        "Beispiel als unerwünscht eingestuft). Bitte klären Sie das mit der Person.",
    ),
    (
        ("550", "551", "553", "user unknown", "no such user", "does not exist", "not found"),
        "Diese Adresse gibt es nicht: Der Mailserver der Empfängerin oder des Empfängers kennt "
        "sie nicht." + _ADDRESS_HINT,
    ),
    (
        ("opted out",),
        "Die Person hat diese Art von Mail abbestellt.",
    ),
)


def delivery_reason(last_error: str | None) -> str:
    """Why a mail did not arrive, as a school administrator would say it."""
    if not last_error:
        return "Der Mailserver hat keinen Grund genannt."
    lowered = last_error.lower()
    for markers, text in _DELIVERY_REASONS:
        if any(marker in lowered for marker in markers):
            return text
    return "Die Mail konnte nicht zugestellt werden."
