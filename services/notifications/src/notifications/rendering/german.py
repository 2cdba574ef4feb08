"""German dates and labels, as a school administrator expects to read them."""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from babel.dates import format_date

from rbn_shared.german import CONFERENCE_KIND as CONFERENCE_KIND
from rbn_shared.german import ROLE as ROLE
from rbn_shared.german import SIDE as SIDE
from rbn_shared.german import SUPERVISION as SUPERVISION

BERLIN = ZoneInfo("Europe/Berlin")


@cache
def _known_zones() -> frozenset[str]:
    return frozenset(available_timezones())


def zone_named(name: str) -> ZoneInfo:
    """The time zone a conference names, or Berlin's where the name is none of the IANA zones
    this machine knows (a schema-valid event may carry any text there, and ZoneInfo would take
    it for a path): the moments are absolute, only how they are shown depends on the zone, and
    the mail matters more than the name."""
    if name not in _known_zones():
        return BERLIN
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return BERLIN


# The invitee's own answer as a mail's sentence says it ("Sie haben unter Vorbehalt zugesagt");
# the office's overview and the portal's pages say it shorter, so this table is the mails' own.
RESPONSE = {
    "accepted": "zugesagt",
    "declined": "abgesagt",
    "tentative": "unter Vorbehalt zugesagt",
    "pending": "noch nicht geantwortet",
}

# Why an invitation was taken back, as the person reads it.
WITHDRAWAL = {
    "removed_from_committee": "Sie gehören dem Lenkungskreis nicht mehr an.",
    "removed_from_office": "Sie gehören dem Regionalen Bildungsbüro nicht mehr an.",
    "term_ended": "Ihre Amtszeit im Lenkungskreis endet vor dem Termin der Konferenz.",
    "delegate_removed": "Das Regionale Bildungsbüro hat Ihre Einladung zurückgenommen.",
}


def waiting_list_place(position: int | None) -> str:
    """Where someone stands on a waiting list, e.g. "auf der Warteliste (Platz 2)"; the place
    is left out when the event does not say it."""
    return f"auf der Warteliste (Platz {position})" if position else "auf der Warteliste"


def long_date(moment: date | datetime, timezone: str = "Europe/Berlin") -> str:
    """`Mittwoch, 10. März 2027`."""
    if isinstance(moment, datetime):
        moment = moment.astimezone(zone_named(timezone)).date()
    return format_date(moment, "EEEE, d. MMMM y", locale="de_DE")


def short_date(moment: date | datetime, timezone: str = "Europe/Berlin") -> str:
    """`10. März 2027`."""
    if isinstance(moment, datetime):
        moment = moment.astimezone(zone_named(timezone)).date()
    return format_date(moment, "d. MMMM y", locale="de_DE")


def wall_time(moment: datetime, timezone: str = "Europe/Berlin") -> str:
    """`07:30`: the time of day where the reader is."""
    return f"{moment.astimezone(zone_named(timezone)):%H:%M}"


def time_range(starts_at: datetime, ends_at: datetime, timezone: str = "Europe/Berlin") -> str:
    """`Mittwoch, 10. März 2027, 14:00–17:00 Uhr`, or both full dates across midnight."""
    zone = zone_named(timezone)
    start, end = starts_at.astimezone(zone), ends_at.astimezone(zone)
    if start.date() == end.date():
        return f"{long_date(start, timezone)}, {start:%H:%M}–{end:%H:%M} Uhr"
    first, last = long_date(start, timezone), long_date(end, timezone)
    return f"{first}, {start:%H:%M} Uhr – {last}, {end:%H:%M} Uhr"
