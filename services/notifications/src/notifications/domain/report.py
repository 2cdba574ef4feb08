"""The district report: what happened across the twelve networks in one period.

Every consumed event that matters to the district coordination becomes a `Development`, stored
once under its event id. A report covers the developments *recorded* in its period, so each one
appears in exactly one report, even when its event arrived late.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from notifications.domain.report_calendar import ReportCalendar

REPORT_NAMESPACE = uuid.UUID("1b7f0f8e-9a57-4a40-8d3e-5c2a52f0b6a4")


class DevelopmentKind(StrEnum):
    FIELD_ADOPTED = "field_adopted"
    FIELD_CLOSED = "field_closed"
    CONFERENCE_SCHEDULED = "conference_scheduled"
    CONFERENCE_CANCELLED = "conference_cancelled"
    CONFERENCE_HELD = "conference_held"
    COMMITTEE_JOINED = "committee_joined"
    COMMITTEE_CHANGED = "committee_changed"
    COMMITTEE_LEFT = "committee_left"


@dataclass(frozen=True)
class Development:
    """What the district report mentions of one consumed event, stored under the event's id."""

    event_id: str
    kind: DevelopmentKind
    network_id: str
    network_name: str
    occurred_at: datetime
    recorded_at: datetime
    title: str
    details: dict[str, Any] = field(default_factory=dict)


SECTION_TITLES_DE: dict[DevelopmentKind, str] = {
    DevelopmentKind.FIELD_ADOPTED: "Neue Handlungsfelder",
    DevelopmentKind.FIELD_CLOSED: "Abgeschlossene Handlungsfelder",
    DevelopmentKind.CONFERENCE_SCHEDULED: "Angesetzte Bildungskonferenzen",
    DevelopmentKind.CONFERENCE_CANCELLED: "Abgesagte Bildungskonferenzen",
    DevelopmentKind.CONFERENCE_HELD: "Durchgeführte Bildungskonferenzen und ihre Empfehlungen",
    DevelopmentKind.COMMITTEE_JOINED: "Neue Mitglieder in Lenkungskreisen",
    DevelopmentKind.COMMITTEE_CHANGED: "Geänderte Mitgliedschaften in Lenkungskreisen",
    DevelopmentKind.COMMITTEE_LEFT: "Ausgeschiedene Mitglieder von Lenkungskreisen",
}

_KIND_OF_EVENT = {
    "field-of-action-adopted": DevelopmentKind.FIELD_ADOPTED,
    "field-of-action-closed": DevelopmentKind.FIELD_CLOSED,
    "conference-scheduled": DevelopmentKind.CONFERENCE_SCHEDULED,
    "conference-cancelled": DevelopmentKind.CONFERENCE_CANCELLED,
    "conference-concluded": DevelopmentKind.CONFERENCE_HELD,
    "committee-member-added": DevelopmentKind.COMMITTEE_JOINED,
    "committee-member-updated": DevelopmentKind.COMMITTEE_CHANGED,
    "committee-member-removed": DevelopmentKind.COMMITTEE_LEFT,
}

REPORTED_EVENT_TYPES = frozenset(_KIND_OF_EVENT)


def development_of(
    event_type: str, payload: Any, event_id: str, occurred_at: datetime, recorded_at: datetime
) -> Development | None:
    """The development an event stands for, or None if the report does not mention it."""
    kind = _KIND_OF_EVENT.get(event_type)
    if kind is None:
        return None
    details: dict[str, Any] = {}
    if kind in (DevelopmentKind.FIELD_ADOPTED, DevelopmentKind.FIELD_CLOSED):
        title = payload.title
    elif kind in (
        DevelopmentKind.COMMITTEE_JOINED,
        DevelopmentKind.COMMITTEE_CHANGED,
        DevelopmentKind.COMMITTEE_LEFT,
    ):
        title = payload.person.name
        details = {"role": payload.role.value, "side": payload.side.value}
    else:
        title = payload.title
        details = {"starts_at": payload.starts_at, "ends_at": payload.ends_at}
        if kind is DevelopmentKind.CONFERENCE_HELD:
            details["recommendations"] = [
                {"field": r.field_of_action_title, "text": r.text} for r in payload.recommendations
            ]
            details["summary"] = payload.summary
    return Development(
        event_id=event_id,
        kind=kind,
        network_id=payload.network.id,
        network_name=payload.network.name,
        occurred_at=occurred_at,
        recorded_at=recorded_at,
        title=title,
        details=details,
    )


@dataclass(frozen=True)
class ReportSection:
    kind: DevelopmentKind
    title: str
    items: list[Development]


@dataclass(frozen=True)
class DistrictReport:
    period_start: datetime
    period_end: datetime
    sections: list[ReportSection]

    @property
    def is_empty(self) -> bool:
        return not any(section.items for section in self.sections)

    @property
    def networks_involved(self) -> list[str]:
        return sorted({d.network_name for s in self.sections for d in s.items})

    @property
    def cause_id(self) -> uuid.UUID:
        """Stable per period: the report of one period is one cause, whoever builds it."""
        return uuid.uuid5(REPORT_NAMESPACE, f"district-report:{self.period_start.isoformat()}")


def build_report(
    developments: Iterable[Development], period_start: datetime, period_end: datetime
) -> DistrictReport:
    chosen = [d for d in developments if period_start <= d.recorded_at < period_end]
    sections = []
    for kind in DevelopmentKind:
        items = sorted(
            (d for d in chosen if d.kind is kind), key=lambda d: (d.network_name, d.occurred_at)
        )
        if items:
            sections.append(ReportSection(kind, SECTION_TITLES_DE[kind], items))
    return DistrictReport(period_start, period_end, sections)


@dataclass(frozen=True)
class ReportSchedule:
    """When the next report is due, and where the current period began. Persisted."""

    period_start: datetime
    next_due_at: datetime

    @classmethod
    def first(cls, now: datetime, calendar: ReportCalendar) -> ReportSchedule:
        """The first period: from the last boundary (nothing was recorded before the service
        first ran) to the next."""
        return cls(
            period_start=calendar.last_boundary(now), next_due_at=calendar.next_boundary(now)
        )

    def is_due(self, now: datetime, grace: timedelta = timedelta(0)) -> bool:
        return now >= self.next_due_at + grace

    def period_end(self, now: datetime, calendar: ReportCalendar) -> datetime:
        """The latest boundary not after `now`, so periods missed while the service was down
        merge; never before the due time already promised (a schedule stored by a version
        without the weekday rule ends its period there, then keeps to the weekday)."""
        return max(self.next_due_at, calendar.last_boundary(now))

    def advanced(self, period_end: datetime, calendar: ReportCalendar) -> ReportSchedule:
        return replace(
            self, period_start=period_end, next_due_at=calendar.next_boundary(period_end)
        )


def anonymised(development: Development, needles: list[str], name: str) -> Development:
    """The development with any of `needles` (a person's name and address) in its title and
    details replaced by `name`: the report still counts who joined or left."""
    return replace(
        development,
        title=_replaced(development.title, needles, name),
        details=_replaced(development.details, needles, name),
    )


def mentions_any(development: Development, needles: list[str]) -> bool:
    return anonymised(development, needles, "\0") != development


def _replaced(value: Any, needles: list[str], by: str) -> Any:
    if isinstance(value, str):
        for needle in sorted((n for n in needles if n), key=len, reverse=True):
            value = re.sub(re.escape(needle), by, value, flags=re.IGNORECASE)
        return value
    if isinstance(value, dict):
        return {k: _replaced(v, needles, by) for k, v in value.items()}
    if isinstance(value, list):
        return [_replaced(v, needles, by) for v in value]
    return value
