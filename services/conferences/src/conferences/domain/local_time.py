"""Times as people enter and read them: Europe/Berlin local time, German wording.

Staff enter local times ("2027-03-10T14:00"); the service stores and publishes UTC. A local time
that does not exist (the hour skipped when summer time starts) is refused rather than guessed.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

BERLIN = ZoneInfo("Europe/Berlin")

_WEEKDAYS = ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag")
_MONTHS = (
    "Januar",
    "Februar",
    "März",
    "April",
    "Mai",
    "Juni",
    "Juli",
    "August",
    "September",
    "Oktober",
    "November",
    "Dezember",
)


class NonexistentLocalTime(ValueError):
    """The wall-clock time is skipped in Europe/Berlin (start of summer time)."""


def berlin_to_utc(moment: datetime) -> datetime:
    """A naive time is read as Europe/Berlin; an aware one keeps its offset. Returns UTC."""
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    local = moment.replace(tzinfo=BERLIN)
    round_trip = local.astimezone(UTC).astimezone(BERLIN).replace(tzinfo=None)
    if round_trip != moment:
        raise NonexistentLocalTime(
            f"{moment.isoformat()} does not exist in Europe/Berlin (clocks skip that hour)"
        )
    return local.astimezone(UTC)


def to_berlin(moment: datetime) -> datetime:
    return moment.astimezone(BERLIN)


def german_span(starts_at: datetime, ends_at: datetime) -> str:
    """'Mittwoch, 10. März 2027, 14:00–17:00 Uhr' (both dates if it spans days)."""
    start, end = to_berlin(starts_at), to_berlin(ends_at)
    if start.date() == end.date():
        return f"{german_date(start)}, {start:%H:%M}–{end:%H:%M} Uhr"
    return f"{german_date(start)}, {start:%H:%M} Uhr – {german_date(end)}, {end:%H:%M} Uhr"


def german_date(moment: datetime) -> str:
    local = to_berlin(moment)
    return f"{_WEEKDAYS[local.weekday()]}, {local.day}. {_MONTHS[local.month - 1]} {local.year}"
