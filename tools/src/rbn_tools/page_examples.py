"""The conferences service's response page in each state an invitee can meet, as the route shows it.

Each page is rendered by the route's own code (`conferences.entrypoints.page`: `_page` for the
page behind a valid link, `_invalid` for a refused link) from an example conference built with
the domain model (`conferences.domain.model.Conference`), the way the service would have it at
that moment: no server, no database. The conference is the one the example mails are about
(rbn_tools.mail_examples); rbn_tools.render_mails renders these pages into docs/pages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple, cast

from conferences.domain.model import AgendaDraft, Conference, ConferenceDraft, Delegate
from conferences.domain.projection import NetworkView
from conferences.entrypoints import page
from conferences.service_layer.services import ConferenceService
from rbn_shared.events.conferences import ConferenceKind, Response, StakeholderGroup, Venue
from rbn_tools.mail_examples import ENDS, STARTS, Examples

# When the invitee opens the link: weeks before the conference (as the mails' examples).
BEFORE = datetime(2027, 2, 1, 8, 0, tzinfo=UTC)
DURING = STARTS + timedelta(minutes=30)
AFTER = ENDS + timedelta(hours=2)
INVITEE = "Sabine Krüger"


class PageExample(NamedTuple):
    """One state of the page: `name` names its files, `state` and `sees` fill the table."""

    name: str
    state: str
    sees: str
    html: str
    status_code: int


@dataclass(frozen=True)
class _Clock:
    """All of the service `page._page` reads: the time, to tell whether answers are open."""

    now: datetime

    def clock(self) -> datetime:
        return self.now


def _service_at(now: datetime) -> ConferenceService:
    return cast(ConferenceService, _Clock(now))


def network(ex: Examples) -> NetworkView:
    """The network as the service knows it from the registry: its office, one committee member
    and the field of action the agenda names."""
    return NetworkView(
        network_id=ex.network_id,
        name=ex.network_name,
        office_name=f"Regionales Bildungsbüro {ex.network_name}",
        office_email=ex.office_email,
        agreement_id=f"{ex.network_id}-kv",
        agreement_active=True,
        committee={
            "m-1": {
                "person": {"name": "Dr. Anna Schmidt", "email": ex.email("anna.schmidt")},
                "side": "state",
                "role": "member",
            }
        },
        fields={"f-1": {"title": "Übergang Schule – Beruf", "status": "adopted"}},
    )


def draft(ex: Examples, *, capacity: int | None = None) -> ConferenceDraft:
    return ConferenceDraft(
        title="Regionale Bildungskonferenz 2027: Übergänge gestalten",
        kind=ConferenceKind.PLENARY,
        topic="Übergänge von der Kita bis in den Beruf",
        starts_at=STARTS,
        ends_at=ENDS,
        venue=Venue(
            name="Kulturzentrum Bahnhof Langendreer", address="Wallbaumweg 108, 44894 Bochum"
        ),
        agenda=(
            AgendaDraft("Begrüßung und Rückblick auf das Jahr 2026"),
            AgendaDraft(
                "Übergang Schule – Beruf: Ergebnisse der Arbeitsgruppe", field_of_action_id="f-1"
            ),
            AgendaDraft("Empfehlungen an den Lenkungskreis"),
        ),
        capacity=capacity,
        delegates=(
            Delegate(
                "Thomas Wagner",
                ex.email("thomas.wagner"),
                "Realschule am Ruhrpark",
                StakeholderGroup.SCHOOL,
            ),
            Delegate(
                INVITEE,
                ex.email("sabine.krueger"),
                "Grundschule Nr. 1",
                StakeholderGroup.SCHOOL,
            ),
        ),
    )


def _invitation_of(conference: Conference, name: str) -> str:
    [found] = [i.invitation_id for i in conference.invitations if i.person.name == name]
    return found


def conference(
    *, capacity: int | None = None, answers: tuple[tuple[str, Response], ...] = ()
) -> Conference:
    """The example conference, scheduled before BEFORE, with the answers given (name, answer)
    in their order."""
    ex = Examples()
    scheduled, _ = Conference.schedule(
        ex.conference_id,
        draft(ex, capacity=capacity),
        network(ex),
        [],
        now=BEFORE - timedelta(days=14),
        reminder_offsets=[7 * 86400, 86400],
    )
    for name, answer in answers:
        scheduled.respond(_invitation_of(scheduled, name), answer, now=BEFORE - timedelta(days=1))
    return scheduled


def _shown(
    conference: Conference,
    now: datetime,
    *,
    saved: bool = False,
    problem: str | None = None,
    status_code: int = 200,
) -> tuple[str, int]:
    response = page._page(  # the route's own rendering
        _service_at(now),
        conference,
        _invitation_of(conference, INVITEE),
        saved=saved,
        problem=problem,
        status_code=status_code,
    )
    return bytes(response.body).decode(), response.status_code


def _open() -> tuple[str, int]:
    return _shown(conference(), BEFORE)


def _accepted() -> tuple[str, int]:
    return _shown(conference(answers=((INVITEE, Response.ACCEPTED),)), BEFORE, saved=True)


def _waitlisted() -> tuple[str, int]:
    everyone_accepts = tuple(
        (name, Response.ACCEPTED) for name in ("Dr. Anna Schmidt", "Thomas Wagner", INVITEE)
    )
    return _shown(conference(capacity=1, answers=everyone_accepts), BEFORE)


def _draft() -> tuple[str, int]:
    ex = Examples()
    prepared, _ = Conference.prepare(
        ex.conference_id, draft(ex), network(ex), now=BEFORE - timedelta(days=14)
    )
    return _shown(prepared, BEFORE)


def _started_refused() -> tuple[str, int]:
    # What the route answers to a button pressed after the start (page.answer, DomainError).
    return _shown(
        conference(answers=((INVITEE, Response.ACCEPTED),)),
        DURING,
        problem="Ihre Antwort kann nicht mehr geändert werden.",
        status_code=409,
    )


def _concluded() -> tuple[str, int]:
    concluded = conference(answers=((INVITEE, Response.ACCEPTED),))
    ex = Examples()
    concluded.conclude(
        "Die Konferenz hat drei Empfehlungen beschlossen.", [], network(ex), now=AFTER
    )
    return _shown(concluded, AFTER)


def _cancelled() -> tuple[str, int]:
    cancelled = conference(answers=((INVITEE, Response.TENTATIVE),))
    cancelled.cancel("Der Saal steht nicht zur Verfügung.", now=BEFORE)
    return _shown(cancelled, BEFORE)


def _invalid() -> tuple[str, int]:
    response = page._invalid()
    return bytes(response.body).decode(), response.status_code


STATES: list[tuple[str, str, str, Callable[[], tuple[str, int]]]] = [
    (
        "respond-open",
        "open for answers, no answer yet",
        "the conference at a glance, „Ihre aktuelle Antwort: Noch keine Antwort“ and the buttons "
        "Zusage, Absage, Unter Vorbehalt",
        _open,
    ),
    (
        "respond-accepted",
        "answered „Zusage“ (just saved)",
        "„Vielen Dank, Ihre Antwort wurde gespeichert.“, „Ihre aktuelle Antwort: Zusage“, the "
        "Zusage button marked; the answer can still be changed",
        _accepted,
    ),
    (
        "respond-waitlisted",
        "accepted, on the waiting list",
        "„Ihre aktuelle Antwort: Zusage“ and „Sie stehen auf der Warteliste (Platz 2)“; the "
        "buttons stay",
        _waitlisted,
    ),
    (
        "respond-draft",
        "a draft, not yet sent",
        "„Diese Einladung ist noch ein Entwurf …“: answers only once the office has published "
        "it; no buttons",
        _draft,
    ),
    (
        "respond-closed",
        "after the conference (concluded)",
        "the answer given and „Die Konferenz hat bereits begonnen oder ist beendet.“; no buttons",
        _concluded,
    ),
    (
        "respond-started-refused",
        "a button pressed after the start",
        "the refusal „… Ihre Antwort kann nicht mehr geändert werden.“ above the answer given; "
        "no buttons",
        _started_refused,
    ),
    (
        "respond-cancelled",
        "cancelled conference",
        "„Diese Konferenz wurde abgesagt. Eine Antwort ist nicht mehr nötig.“ with the office's "
        "reason; no answer, no buttons",
        _cancelled,
    ),
    (
        "invalid-link",
        "invalid, expired or withdrawn link",
        "„Dieser Link ist ungültig oder abgelaufen“ and whom to ask; nothing about the conference",
        _invalid,
    ),
]


def examples() -> list[PageExample]:
    return [PageExample(name, state, sees, *shown()) for name, state, sees, shown in STATES]
