"""The education office's daily overview of the answers to its network's conferences.

Every consumed `participant-responded` becomes a `RecordedResponse`, stored once under its event
id. At the end of each period (daily by default, see `ReportCalendar`) every network with answers
recorded in it gets one `ResponseDigest`: per conference, who answered what, and the counts as
the latest answer left them. As with the district report, an answer belongs to the period it was
*recorded* in, so it appears in exactly one overview even when its event arrived late.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from rbn_shared.events.base import NetworkRef
from rbn_shared.events.conferences import ParticipantResponded, Response

DIGEST_NAMESPACE = uuid.UUID("6f4d2c1e-8b3a-4e5f-9a7d-2c6b1e0f3d58")

RESPONSE_DE: dict[str, str] = {
    Response.ACCEPTED: "zugesagt",
    Response.DECLINED: "abgesagt",
    Response.TENTATIVE: "unter Vorbehalt",
    Response.PENDING: "noch offen",
}


@dataclass(frozen=True)
class RecordedResponse:
    """One answer as the overview needs it, stored under its event's id."""

    event_id: str
    network_id: str
    network_name: str
    office_email: str | None
    conference_id: str
    conference_title: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    person_name: str
    organisation: str | None
    response: str
    previous_response: str
    waitlisted: bool
    # The place the conference gives; events from before it said so fall back to the waiting
    # list's length right after the answer (new places are appended at its end).
    waitlist_position: int | None
    promoted_from_waitlist: bool
    counts: dict[str, int]
    # The answer's position in the conference's history: orders answers and says which counts
    # are the newest.
    conference_version: int
    occurred_at: datetime
    recorded_at: datetime

    @classmethod
    def of(
        cls,
        payload: ParticipantResponded,
        *,
        event_id: str,
        conference_version: int,
        occurred_at: datetime,
        recorded_at: datetime,
    ) -> RecordedResponse:
        invitee = payload.invitee
        return cls(
            event_id=event_id,
            network_id=payload.network.id,
            network_name=payload.network.name,
            office_email=str(payload.network.office_email)
            if payload.network.office_email
            else None,
            conference_id=payload.conference_id,
            conference_title=payload.title,
            starts_at=payload.starts_at,
            ends_at=payload.ends_at,
            timezone=payload.timezone,
            person_name=invitee.person.name,
            organisation=invitee.person.organisation,
            response=invitee.response.value,
            previous_response=payload.previous_response.value,
            waitlisted=invitee.waitlisted,
            waitlist_position=(invitee.waitlist_position or payload.counts.waitlisted)
            if invitee.waitlisted
            else None,
            promoted_from_waitlist=payload.promoted_from_waitlist,
            counts=payload.counts.model_dump(),
            conference_version=conference_version,
            occurred_at=occurred_at,
            recorded_at=recorded_at,
        )

    @property
    def answer_de(self) -> str:
        """What the person answered, in the overview's words."""
        if self.promoted_from_waitlist:
            return "Es ist ein Platz frei geworden: dabei"
        if self.waitlisted:
            place = f" (Platz {self.waitlist_position})" if self.waitlist_position else ""
            return f"auf der Warteliste{place}"
        return RESPONSE_DE.get(self.response, self.response)

    @property
    def shows_previous(self) -> bool:
        """A move up from the waiting list is no new answer: "bisher: zugesagt" would only
        confuse."""
        return not self.promoted_from_waitlist

    @property
    def previous_de(self) -> str:
        return RESPONSE_DE.get(self.previous_response, self.previous_response)


@dataclass(frozen=True)
class ConferenceAnswers:
    """The answers to one conference in one period, oldest first, and the counts now."""

    conference_id: str
    title: str
    starts_at: datetime
    ends_at: datetime
    timezone: str
    answers: list[RecordedResponse]
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class ResponseDigest:
    """One network's overview for one period; `network` lets the rules find its office."""

    network: NetworkRef
    period_start: datetime
    period_end: datetime
    conferences: list[ConferenceAnswers]

    @property
    def answer_count(self) -> int:
        return sum(len(c.answers) for c in self.conferences)

    @property
    def cause_id(self) -> uuid.UUID:
        """Stable per (network, period): whoever builds the overview, it is one cause."""
        key = f"response-digest:{self.network.id}:{self.period_start.isoformat()}"
        return uuid.uuid5(DIGEST_NAMESPACE, key)


def build_digests(
    responses: Iterable[RecordedResponse], period_start: datetime, period_end: datetime
) -> list[ResponseDigest]:
    """One overview per network with answers recorded in [period_start, period_end)."""
    by_network: dict[str, list[RecordedResponse]] = {}
    for response in responses:
        if period_start <= response.recorded_at < period_end:
            by_network.setdefault(response.network_id, []).append(response)
    digests = []
    for network_id, answers in sorted(by_network.items()):
        newest = max(answers, key=_order)
        network = NetworkRef(
            id=network_id, name=newest.network_name, office_email=newest.office_email
        )
        digests.append(ResponseDigest(network, period_start, period_end, _by_conference(answers)))
    return digests


def _order(response: RecordedResponse) -> tuple[int, datetime, str]:
    return (response.conference_version, response.occurred_at, response.event_id)


def _by_conference(answers: list[RecordedResponse]) -> list[ConferenceAnswers]:
    grouped: dict[str, list[RecordedResponse]] = {}
    for answer in answers:
        grouped.setdefault(answer.conference_id, []).append(answer)
    conferences = []
    for conference_id, items in grouped.items():
        items.sort(key=_order)
        latest = items[-1]  # title and times as the newest answer describes the conference
        conferences.append(
            ConferenceAnswers(
                conference_id=conference_id,
                title=latest.conference_title,
                starts_at=latest.starts_at,
                ends_at=latest.ends_at,
                timezone=latest.timezone,
                answers=items,
                counts=dict(latest.counts),
            )
        )
    conferences.sort(key=lambda c: (c.starts_at, c.title, c.conference_id))
    return conferences
