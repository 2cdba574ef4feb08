"""The use cases called in this process: a service on a given database, and the commands the
tests send most (a conference in Hamm scheduled, an answer recorded)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pymongo.asynchronous.database import AsyncDatabase

from conferences.adapters.links import ResponseLinks
from conferences.adapters.previews import NotificationsPreviews
from conferences.adapters.repositories import ConferenceRepository, NetworkProjection
from conferences.domain.model import Conference, ConferenceDraft, Delegate
from conferences.domain.projection import NetworkView
from conferences.service_layer import commands
from conferences.service_layer.services import ConferenceService
from rbn_shared.auth import Principal
from rbn_shared.changes import Cause, Clock
from rbn_shared.events.conferences import ConferenceKind, Response
from rbn_shared.mongo import Document
from rbn_shared.outbox import AggregateStore, KeyedLocks
from rbn_shared.writes import Versioned

DISTRICT = Principal("district")
CAUSE = Cause(correlation_id="test")


# The use cases here render no preview; an address where nothing listens says so if one does.
NO_PREVIEWS = NotificationsPreviews("http://127.0.0.1:9")


def links() -> ResponseLinks:
    return ResponseLinks("secret", "https://konferenzen.example.org", timedelta(days=1))


async def service_on(
    db: AsyncDatabase[Document], clock: Clock, *, reminder_offsets: Sequence[int] = ()
) -> ConferenceService:
    """The service on `db`, with the network Hamm known: an agreement and one office member."""
    locks = KeyedLocks()
    networks = NetworkProjection(db["network_projection"], locks)
    await networks.put(
        NetworkView(
            "hamm",
            name="Bildungsnetzwerk Hamm",
            office_email="buero@example.org",
            agreement_active=True,
            staff={"s1": {"person": {"name": "Clara Becker", "email": "clara@example.org"}}},
        )
    )
    return ConferenceService(
        ConferenceRepository(AggregateStore(db["conferences"], locks)),
        networks,
        links(),
        topic="test.conferences.events",
        clock=clock,
        reminder_offsets=reminder_offsets,
        previews=NO_PREVIEWS,
    )


async def schedule_online(
    service: ConferenceService,
    starts_at: datetime,
    *,
    capacity: int | None = None,
    delegates: tuple[Delegate, ...] = (),
) -> Versioned[Conference]:
    """A two-hour online conference in Hamm, scheduled by the district."""
    draft = ConferenceDraft(
        title="Konferenz",
        kind=ConferenceKind.PLENARY,
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=2),
        online_url="https://konferenz.example.org/1",
        capacity=capacity,
        delegates=delegates,
    )
    command = commands.ScheduleConference(
        actor=DISTRICT, cause=CAUSE, network_id="hamm", draft=draft
    )
    return await service.schedule(command)


async def answer(
    service: ConferenceService,
    conference: Versioned[Conference],
    invitation_id: str,
    response: Response,
) -> Versioned[Conference]:
    """The district records an invitee's answer, at the conference's version given."""
    command = commands.ChangeConference(
        actor=DISTRICT,
        cause=CAUSE,
        conference_id=conference.value.conference_id,
        expected_version=conference.version,
        change=commands.RecordResponse(invitation_id=invitation_id, response=response),
    )
    return await service.change(command)
