"""Reading an inbound mail (untrusted bytes) into an `InboundMail`, or `Unusable`.

Whatever arrives (broken MIME, a calendar that does not parse, a hundred VEVENTs) ends in one
of the two: nothing here may raise anything else, since the listener answers 550 for Unusable
and must never crash on a stranger's mail. The size is bounded before (the listener's limit).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from email import message_from_bytes, policy
from email.message import Message

from icalendar import Calendar

from notifications.domain.calendar_replies import CalendarMessage, InboundMail, Method, Unusable
from rbn_shared.addresses import AddressRefused, canonical_address

MAX_CALENDAR_PARTS = 5  # a reply has one (and maybe the same as an attachment)
MAX_HEADER_VALUE = 200


def read_mail(raw: bytes, *, received_at: datetime) -> InboundMail:
    """The mail's Message-ID and its iMIP REPLY or COUNTER; Unusable for anything else."""
    try:
        message = message_from_bytes(raw, policy=policy.compat32)
        message_id = _message_id(message, raw)
        calendar = _calendar_of(message)
    except Unusable:
        raise
    except Exception as error:  # a stranger's bytes: any failure means "cannot use it"
        raise Unusable(f"unreadable mail: {type(error).__name__}") from error
    return InboundMail(message_id, calendar, received_at)


def _message_id(message: Message, raw: bytes) -> str:
    value = " ".join(str(message.get("Message-ID", "")).split())
    if value and len(value) <= MAX_HEADER_VALUE and value.isascii():
        return value
    # No usable Message-ID: the content itself, so that the same mail again is still the same.
    return f"<sha256-{hashlib.sha256(raw).hexdigest()}@inbound>"


def _calendar_of(message: Message) -> CalendarMessage:
    parts = [p for p in message.walk() if p.get_content_type() == "text/calendar"]
    if not parts:
        parts = [
            p
            for p in message.walk()
            if p.get_content_type() == "application/ics"
            or str(p.get_filename() or "").lower().endswith(".ics")
        ]
    if not parts:
        raise Unusable("no calendar part")
    problems = []
    for part in parts[:MAX_CALENDAR_PARTS]:
        try:
            return _calendar_message(part)
        except Unusable as problem:
            problems.append(str(problem))
    raise Unusable(problems[0])


def _calendar_message(part: Message) -> CalendarMessage:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        raise Unusable("empty calendar part")
    try:
        calendar = Calendar.from_ical(payload)
    except Exception as error:
        raise Unusable(f"calendar does not parse: {type(error).__name__}") from error
    if not isinstance(calendar, Calendar):
        raise Unusable("not one VCALENDAR")
    method = str(calendar.get("METHOD", "")).strip().upper()
    if method not in Method.__members__:
        raise Unusable(f"METHOD {method[:20]!r} is neither REPLY nor COUNTER")
    events = [c for c in calendar.subcomponents if c.name == "VEVENT"]
    if len(events) != 1:
        raise Unusable(f"{len(events)} VEVENTs, not one")
    [event] = events
    uid = " ".join(str(event.get("UID", "")).split())
    if not uid or len(uid) > MAX_HEADER_VALUE:
        raise Unusable("no usable UID")
    attendees = event.get("ATTENDEE")
    if isinstance(attendees, list):
        if len(attendees) != 1:
            raise Unusable("a reply answers for exactly one ATTENDEE")
        [attendees] = attendees
    if attendees is None:
        raise Unusable("no ATTENDEE")
    address = str(attendees)
    if address.lower().startswith("mailto:"):
        address = address[len("mailto:") :]
    try:
        attendee = canonical_address(address)
    except AddressRefused as error:
        raise Unusable("ATTENDEE is no usable address") from error
    params = getattr(attendees, "params", {})
    partstat = params.get("PARTSTAT")
    try:
        sequence = int(str(event.get("SEQUENCE", 0)))
    except ValueError as error:
        raise Unusable("SEQUENCE is no number") from error
    return CalendarMessage(
        method=Method(method),
        uid=uid,
        attendee=attendee,
        partstat=str(partstat).upper() if partstat is not None else None,
        sequence=max(0, sequence),
    )
