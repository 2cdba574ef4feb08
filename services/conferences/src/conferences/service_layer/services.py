"""Use cases: load under the document's lock, let the domain decide, store state and events at once.

One use case per command. The domain returns the event payloads a change caused; `_save` turns
them into outbox records with `rbn_shared.changes.outbox_records`, at the positions after the
conference's stored `event_count`, and stores them with the new state in one version-guarded
update of the conference's document (see rbn_shared.outbox); the relay publishes them to the
conferences topic.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime

from pydantic import AnyHttpUrl

from conferences.adapters.links import ResponseLinks
from conferences.adapters.repositories import (
    ConferenceRepository,
    NetworkProjection,
    StoredConference,
)
from conferences.domain.errors import InvalidInput, NotFound
from conferences.domain.model import (
    Conference,
    ConferenceDraft,
    Delegate,
    RecommendationDraft,
)
from conferences.domain.projection import EventFacts, NetworkView
from rbn_shared.changes import Aggregate, Cause, Clock, outbox_records
from rbn_shared.errors import VersionConflict
from rbn_shared.events import Envelope, EventPayload
from rbn_shared.events.base import NetworkEvent
from rbn_shared.events.conferences import (
    ConferenceCancelled,
    ConferenceStatus,
    Invitee,
    Response,
    Venue,
)
from rbn_shared.logging import get_logger
from rbn_shared.outbox import OutboxRecord

log = get_logger(__name__)


class ConferenceService:
    def __init__(
        self,
        conferences: ConferenceRepository,
        networks: NetworkProjection,
        links: ResponseLinks,
        *,
        topic: str,
        clock: Clock,
        reminder_offsets: list[int],
    ) -> None:
        self.conferences = conferences
        self.networks = networks
        self.links = links
        self.topic = topic
        self.clock = clock
        self.reminder_offsets = list(reminder_offsets)

    # ------------------------------------------------------------------ reading

    async def get(self, conference_id: str) -> tuple[Conference, int]:
        """The conference and its version (the ETag); NotFound if there is none."""
        stored = await self._load(conference_id)
        return stored.conference, stored.version

    async def network(self, network_id: str) -> NetworkView:
        view = await self.networks.get(network_id)
        if view is None or not view.known:
            raise InvalidInput.one("network_id", f"unknown network {network_id!r}")
        return view

    # ------------------------------------------------------------------ lifecycle

    async def schedule(
        self, network_id: str, draft: ConferenceDraft, cause: Cause
    ) -> tuple[Conference, int]:
        network = await self.network(network_id)
        # The network lock serialises overlap checks of one network within this process.
        async with self.conferences.locked(("network", network_id)):
            others = await self._planned_of(network_id)
            conference, events = Conference.schedule(
                uuid.uuid4().hex[:12],
                draft,
                network,
                others,
                now=self.clock(),
                reminder_offsets=self.reminder_offsets,
            )
            await self.conferences.add(conference, self._records(conference, 0, events, cause))
        log.info(
            "conference scheduled", conference_id=conference.conference_id, network_id=network_id
        )
        return conference, 1

    async def reschedule(
        self,
        conference_id: str,
        expected_version: int,
        starts_at: datetime,
        ends_at: datetime,
        cause: Cause,
        *,
        venue: Venue | None = None,
        online_url: str | None = None,
    ) -> tuple[Conference, int]:
        network_id = (await self._load(conference_id)).conference.network.id
        async with self.conferences.locked(("network", network_id)):
            others = await self._planned_of(network_id)
            async with self.conferences.locked(conference_id):
                stored = await self._load_at(conference_id, expected_version)
                events = stored.conference.reschedule(
                    starts_at, ends_at, others, now=self.clock(), venue=venue, online_url=online_url
                )
                return await self._save(stored, events, cause)

    async def cancel(
        self, conference_id: str, expected_version: int, reason: str, cause: Cause
    ) -> tuple[Conference, int]:
        async with self.conferences.locked(conference_id):
            stored = await self._load_at(conference_id, expected_version)
            events = stored.conference.cancel(reason, now=self.clock())
            return await self._save(stored, events, cause)

    async def conclude(
        self,
        conference_id: str,
        expected_version: int,
        summary: str,
        recommendations: list[RecommendationDraft],
        cause: Cause,
    ) -> tuple[Conference, int]:
        async with self.conferences.locked(conference_id):
            stored = await self._load_at(conference_id, expected_version)
            network = await self.network(stored.conference.network.id)
            events = stored.conference.conclude(summary, recommendations, network, now=self.clock())
            return await self._save(stored, events, cause)

    # ------------------------------------------------------------------ invitations

    async def invite(
        self, conference_id: str, expected_version: int, delegate: Delegate, cause: Cause
    ) -> tuple[Conference, int]:
        async with self.conferences.locked(conference_id):
            stored = await self._load_at(conference_id, expected_version)
            events = stored.conference.invite_delegate(delegate, now=self.clock())
            return await self._save(stored, events, cause)

    async def change_delegate(
        self,
        conference_id: str,
        expected_version: int,
        invitation_id: str,
        edit: Callable[[Delegate], Delegate],
        cause: Cause,
    ) -> tuple[Conference, int]:
        """Correct an external delegate: `edit` turns the delegate as stored into the corrected
        one (the API merges its patch there, on the very state the change is checked against)."""
        async with self.conferences.locked(conference_id):
            stored = await self._load_at(conference_id, expected_version)
            conference = stored.conference
            corrected = edit(conference.delegate_of(invitation_id))
            before = _roster_fingerprint(conference)
            events = conference.change_delegate(invitation_id, corrected, now=self.clock())
            if not events and _roster_fingerprint(conference) == before:
                return conference, stored.version  # nothing to correct: no new version
            return await self._save(stored, events, cause)

    async def mark_undeliverable(
        self,
        conference_id: str,
        invitation_id: str,
        *,
        recipient: str,
        reason: str,
        failed_at: datetime,
        cause: Cause,
    ) -> bool:
        """Note a failed delivery on the invitation (no event of its own). False if there was
        nothing to mark: an unknown conference or invitation, a stale failure, or a repeat."""
        async with self.conferences.locked(conference_id):
            stored = await self.conferences.get(conference_id)
            if stored is None or not stored.conference.mark_undeliverable(
                invitation_id, recipient, reason, failed_at
            ):
                return False
            await self._save(stored, [], cause)
            return True

    async def respond(
        self,
        conference_id: str,
        invitation_id: str,
        response: Response,
        cause: Cause,
        *,
        expected_version: int | None = None,
    ) -> tuple[Conference, int]:
        """An answer from the API (with If-Match) or from the personal link (without)."""
        async with self.conferences.locked(conference_id):
            if expected_version is None:
                stored = await self._load(conference_id)
            else:
                stored = await self._load_at(conference_id, expected_version)
            events = stored.conference.respond(invitation_id, response, now=self.clock())
            if not events:
                return stored.conference, stored.version
            return await self._save(stored, events, cause)

    # ------------------------------------------------------------------ reminders

    async def send_due_reminders(self) -> int:
        """Claim every due reminder; the claim and its event are one write. Returns how many."""
        sent = 0
        for conference_id in await self.conferences.ids_with_reminders_due(self.clock()):
            async with self.conferences.locked(conference_id):
                stored = await self._load(conference_id)
                events = stored.conference.claim_due_reminders(self.clock())
                cause = Cause(correlation_id=f"reminder-{conference_id}-{uuid.uuid4().hex[:8]}")
                await self._save(stored, events, cause)
                sent += len(events)
        if sent:
            log.info("reminders due, events stored", count=sent)
        return sent

    # ------------------------------------------------------------------ following the registry

    async def follow_roster(
        self, network_id: str, cause: Cause, network: NetworkView | None = None
    ) -> int:
        """Bring the invitee lists of the network's planned conferences in line with the
        projection (`network`: the view just stored, which saves reading it again).
        Idempotent: a repeated call finds nothing to change. Returns how many invitations it
        sent."""
        network = network or await self.networks.get(network_id)
        if network is None:
            return 0
        invited = 0
        now = self.clock()
        for planned in await self._planned_of(network_id):
            if not planned.open_for_answers(now):
                continue
            async with self.conferences.locked(planned.conference_id):
                stored = await self._load(planned.conference_id)
                current = stored.conference
                if current.status != ConferenceStatus.SCHEDULED:
                    continue
                before = _roster_fingerprint(current)
                events = current.sync_roster(network)
                if events or _roster_fingerprint(current) != before:
                    await self._save(stored, events, cause)
                invited += sum(1 for e in events if e.event_type == "participant-invited")
        return invited

    # ------------------------------------------------------------------ internals

    async def _load(self, conference_id: str) -> StoredConference:
        stored = await self.conferences.get(conference_id)
        if stored is None:
            raise NotFound(f"conference {conference_id}")
        return stored

    async def _load_at(self, conference_id: str, expected_version: int) -> StoredConference:
        stored = await self._load(conference_id)
        if stored.version != expected_version:
            raise VersionConflict(
                f"conference {conference_id} is at version {stored.version}, not {expected_version}"
            )
        return stored

    async def _planned_of(self, network_id: str) -> list[Conference]:
        return [
            s.conference for s in await self.conferences.of_network(network_id, status="scheduled")
        ]

    async def _save(
        self, stored: StoredConference, events: list[EventPayload], cause: Cause
    ) -> tuple[Conference, int]:
        """Store the change and its events in one write: the conference and its new version."""
        records = self._records(stored.conference, stored.event_count, events, cause)
        return stored.conference, await self.conferences.save(stored, records)

    def _records(
        self, conference: Conference, event_count: int, events: list[EventPayload], cause: Cause
    ) -> list[OutboxRecord]:
        """The events as outbox records, at the positions after the conference's `event_count`."""
        now = self.clock()
        return outbox_records(
            [self._with_links(conference, payload, now) for payload in events],
            Aggregate(conference.conference_id, key=conference.network.id, event_count=event_count),
            cause,
            self.topic,
        )

    def _with_links(
        self, conference: Conference, payload: EventPayload, now: datetime
    ) -> EventPayload:
        """Give every invitee in an event their personal response link (not on cancellations)."""
        if isinstance(payload, ConferenceCancelled):
            return payload

        def linked(invitee: Invitee) -> Invitee:
            url = self.links.url(conference.conference_id, invitee.invitation_id, now=now)
            return invitee.model_copy(update={"response_url": AnyHttpUrl(url)})

        update: dict[str, object] = {}
        for name in ("invitees", "recipients"):
            if name in type(payload).model_fields:
                update[name] = [linked(i) for i in getattr(payload, name)]
        if "invitee" in type(payload).model_fields:
            update["invitee"] = linked(payload.invitee)  # type: ignore[attr-defined]
        return payload.model_copy(update=update) if update else payload


def _roster_fingerprint(conference: Conference) -> list[tuple[str, str, bool]]:
    return [
        (i.invitation_id, i.person.model_dump_json() + i.group.value, i.withdrawn)
        for i in conference.invitations
    ] + [("network", conference.network.model_dump_json(), False)]


async def project_registry_event(
    networks: NetworkProjection, envelope: Envelope, payload: EventPayload
) -> NetworkView | None:
    """Fold one registry event into its network's view (with the domain's fold for its payload
    class, see domain/projection.py); the view as now stored, or None if the event was stale,
    repeated, or none the projection folds. The consumer and the rebuild command both fold
    through here."""
    if not isinstance(payload, NetworkEvent):
        return None
    network_id = payload.network.id
    facts = EventFacts(
        type=envelope.type,
        aggregate_id=envelope.aggregate_id,
        aggregate_version=envelope.aggregate_version,
        occurred_at=envelope.occurred_at,
    )
    async with networks.locked(network_id):
        view = await networks.get(network_id) or NetworkView(network_id)
        if not view.apply(facts, payload):
            return None
        await networks.put(view)
        return view
