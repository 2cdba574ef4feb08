"""Calendar entries as iMIP (RFC 5545 objects, RFC 5546 methods) with the icalendar library.

One conference has one UID for its whole life; every reschedule raises SEQUENCE, so a calendar
moves the entry instead of adding a second one; a cancellation removes it (METHOD:CANCEL).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Self

from icalendar import (
    Alarm,
    Calendar,
    Event,
    Timezone,
    TimezoneDaylight,
    TimezoneStandard,
    vCalAddress,
    vText,
)

from notifications.domain.recipients import single_line
from notifications.domain.rules import CalendarMethod
from notifications.rendering.german import zone_named
from rbn_shared.addresses import AddressRefused, sendable
from rbn_shared.calendar_addresses import conference_uid
from rbn_shared.events import Person
from rbn_shared.events.conferences import Conference, ParticipantWithdrawn

PRODUCT_ID = "-//Bezirksregierung Arnsberg//Regionale Bildungsnetzwerke//DE"
REMINDER_BEFORE = timedelta(days=1)


@dataclass(frozen=True)
class CalendarEntry:
    """A mail's calendar part: the .ics and its iMIP method (a request, or a cancellation)."""

    ics: bytes
    method: CalendarMethod


# Europe/Berlin's yearly switches: (part, name, first switch, UTC offset before, after, month).
_BERLIN_SWITCHES = (
    (TimezoneDaylight, "CEST", datetime(1981, 3, 29, 2, 0), 1, 2, 3),
    (TimezoneStandard, "CET", datetime(1996, 10, 27, 3, 0), 2, 1, 10),
)


def berlin_timezone() -> Timezone:
    """Europe/Berlin as a compact VTIMEZONE with yearly rules, as common mail clients send it."""
    zone = Timezone()
    zone.add("tzid", "Europe/Berlin")
    for part, name, first, before, after, month in _BERLIN_SWITCHES:
        switch = part()
        switch.add("tzname", name)
        switch.add("dtstart", first)
        switch.add("tzoffsetfrom", timedelta(hours=before))
        switch.add("tzoffsetto", timedelta(hours=after))
        switch.add("rrule", {"freq": "yearly", "bymonth": month, "byday": "-1su"})
        zone.add_component(switch)
    return zone


def _mailto(email: str) -> str:
    """The address as SMTP takes it (IDNA domain), as calendars answer to it by mail; an
    organiser's address the policy refuses stays as it came rather than fail every invitee."""
    try:
        return sendable(email).address
    except AddressRefused:
        return email


def _address(email: str, name: str) -> vCalAddress:
    address = vCalAddress(f"mailto:{_mailto(email)}")
    address.params["CN"] = vText(single_line(name))
    return address


# Where the one attendee's ORGANIZER and ATTENDEE lines go in a conference's serialised .ics.
_ORGANIZER_SLOT = vCalAddress("mailto:organizer@slot.invalid")
_ATTENDEE_SLOT = vCalAddress("mailto:attendee@slot.invalid")


def _line(name: str, value: vCalAddress) -> bytes:
    """One property as its (folded) content line, between the line breaks around it."""
    return b"\r\n" + bytes(Event().content_line(name, value).to_ical()) + b"\r\n"


_ORGANIZER_LINE = _line("ORGANIZER", _ORGANIZER_SLOT)
_ATTENDEE_LINE = _line("ATTENDEE", _ATTENDEE_SLOT)


@dataclass(frozen=True)
class ConferenceCalendar:
    """A conference's .ics as one event describes it, serialised once for all its attendees:
    what differs between them is only the ORGANIZER (the invitee's reply address) and the
    ATTENDEE line, which `for_attendee` puts in. An invitation to 80 people builds one
    calendar, not 80."""

    ics: bytes  # with the two slots' lines
    organizer: Person

    @classmethod
    def of(cls, conference: Conference, method: CalendarMethod, stamp: datetime) -> Self:
        calendar = _calendar(conference, method, stamp, _ORGANIZER_SLOT, _ATTENDEE_SLOT)
        ics = bytes(calendar.to_ical())
        for name, slot in (("ORGANIZER", _ORGANIZER_LINE), ("ATTENDEE", _ATTENDEE_LINE)):
            if ics.count(slot) != 1:  # never a calendar without its attendee
                raise ValueError(f"the calendar's {name} line is not where it was put")
        return cls(ics, conference.organizer)

    def for_attendee(self, email: str, name: str, reply_address: str | None = None) -> bytes:
        """The .ics for one attendee. `reply_address` (the invitee's signed `antwort+…`
        address, if the conferences service issues them) is the ORGANIZER, under the office's
        name: the calendar's Accept/Decline then reaches the inbound listener. Without it the
        ORGANIZER is the office's own address."""
        organizer = _address(reply_address or self.organizer.email, self.organizer.name)
        ics = self.ics.replace(_ORGANIZER_LINE, _line("ORGANIZER", organizer), 1)
        return ics.replace(_ATTENDEE_LINE, _line("ATTENDEE", attendee_address(email, name)), 1)


def attendee_address(email: str, name: str) -> vCalAddress:
    """The invitee as their calendar expects them: a person asked to answer."""
    attendee = _address(email, name)
    attendee.params["ROLE"] = vText("REQ-PARTICIPANT")
    attendee.params["PARTSTAT"] = vText("NEEDS-ACTION")
    attendee.params["RSVP"] = vText("TRUE")
    attendee.params["CUTYPE"] = vText("INDIVIDUAL")
    return attendee


def _calendar(
    conference: Conference,
    method: CalendarMethod,
    stamp: datetime,
    organizer: vCalAddress,
    attendee: vCalAddress,
) -> Calendar:
    """The whole calendar for one organizer and attendee line (see `ConferenceCalendar`)."""
    c = conference
    zone = zone_named(c.timezone)
    cancelled = method is CalendarMethod.CANCEL
    # A cancellation must supersede the latest request. A conference's cancellation leaves
    # its SEQUENCE as it was, so that CANCEL goes one higher; a withdrawal has already raised
    # it (and a later invitation raises it again), so its CANCEL carries it as it is.
    raised = isinstance(c, ParticipantWithdrawn)
    sequence = c.sequence + (1 if cancelled and not raised else 0)

    calendar = Calendar()
    calendar.add("prodid", PRODUCT_ID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", method.value)

    event = Event()
    event.add("uid", conference_uid(c.conference_id))
    event.add("sequence", sequence)
    event.add("dtstamp", stamp)
    event.add("dtstart", c.starts_at.astimezone(zone))
    event.add("dtend", c.ends_at.astimezone(zone))
    event.add("summary", single_line(c.title))
    venue = c.venue
    online = c.online_url
    if venue is not None:
        event.add("location", single_line(f"{venue.name}, {venue.address}"))
    elif online is not None:
        event.add("location", str(online))
    if online is not None:
        event.add("url", str(online))
    agenda = c.agenda
    description = "Tagesordnung:\n" + "\n".join(
        f"{n}. {item.title}" for n, item in enumerate(agenda, 1)
    )
    event.add("description", description if agenda else c.title)
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    event.add("transp", "OPAQUE")
    event.add("organizer", organizer)
    event.add("attendee", attendee)
    if not cancelled:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("description", single_line(f"Erinnerung: {c.title}"))
        alarm.add("trigger", -REMINDER_BEFORE)
        event.add_component(alarm)
    if zone.key == "Europe/Berlin":
        calendar.add_component(berlin_timezone())
    calendar.add_component(event)
    calendar.add_missing_timezones()  # any other zone a conference may name
    return calendar
