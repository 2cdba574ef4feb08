"""Use cases: the conference under its lock, the domain decides, state and events in one write.

Every change of an existing conference a caller asks for is one `ChangeConference` command and
goes one way (`ConferenceService.change`): the conference under its lock, the caller's role on its
network, the version they read, the domain's decision for that kind of change (`_decide`, one case
per use case), one write. The reactions and the reminder job change conferences the same way,
without a caller.

The domain returns the event payloads a change caused; `_save` turns them into outbox records with
`rbn_shared.changes.outbox_records`, at the positions after the conference's stored
`event_count`, and the repository stores them with the new state in one version-guarded update of
the conference's document (a change that changed nothing writes nothing); the relay publishes them
to the conferences topic.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, nullcontext
from dataclasses import KW_ONLY, dataclass
from datetime import datetime
from typing import TypeVar, assert_never

from pydantic import AnyHttpUrl

from conferences.adapters.links import InvalidReply, ReplyAddresses, ResponseLinks
from conferences.adapters.previews import NotificationsPreviews
from conferences.adapters.repositories import (
    ConferenceRepository,
    NetworkProjection,
    StoredConference,
)
from conferences.domain.errors import InvalidInput, NotFound
from conferences.domain.model import Conference, ConferenceDraft, ConferenceStatus, Delegate
from conferences.domain.privacy import contact_addresses, scrubbed
from conferences.domain.projection import EventFacts, NetworkView
from conferences.service_layer import commands
from rbn_shared.addresses import same_address
from rbn_shared.auth import Principal
from rbn_shared.calendar_addresses import conference_of_uid
from rbn_shared.changes import Aggregate, Cause, Clock, outbox_records
from rbn_shared.errors import VersionConflict
from rbn_shared.events import Envelope, EventPayload
from rbn_shared.events.base import NetworkEvent
from rbn_shared.events.conferences import (
    ConferenceCancelled,
    Invitee,
    ParticipantInvited,
    ParticipantWithdrawn,
    Response,
)
from rbn_shared.events.notifications import CalendarReplyReceived
from rbn_shared.logging import get_logger
from rbn_shared.outbox import OutboxRecord
from rbn_shared.privacy import ErasureLedger, subject_of
from rbn_shared.retrying import CONCURRENT_WRITE
from rbn_shared.writes import Versioned

log = get_logger(__name__)


@dataclass
class ConferenceService:
    conferences: ConferenceRepository
    networks: NetworkProjection
    links: ResponseLinks
    _: KW_ONLY
    topic: str  # where the conferences' events go
    clock: Clock
    reminder_offsets: Sequence[int]  # seconds before the start
    previews: NotificationsPreviews  # where invitations are rendered for a preview
    replies: ReplyAddresses | None = None  # the ORGANIZER addresses calendar replies go to

    # ------------------------------------------------------------------ reading

    async def get(self, conference_id: str) -> Versioned[Conference]:
        """The conference at its version (the ETag); NotFound if there is none."""
        stored = await self._load(conference_id)
        return Versioned(stored.conference, stored.version)

    async def network(self, network_id: str) -> NetworkView:
        view = await self.networks.get(network_id)
        if view is None or not view.known:
            raise InvalidInput.one("network_id", f"unknown network {network_id!r}")
        return view

    async def delegate_to_correct(
        self, conference_id: str, invitation_id: str, *, actor: Principal, expected_version: int
    ) -> Delegate:
        """The external delegate behind an invitation as the caller read it, checked as a change
        is checked: what a correction starts from."""
        stored = await self._load(conference_id)
        _admit(stored, actor, expected_version)
        return stored.conference.delegate_of(invitation_id)

    async def draft_to_edit(
        self, conference_id: str, *, actor: Principal, expected_version: int
    ) -> ConferenceDraft:
        """The conference as the caller read it, in the terms it was asked for, checked as a
        change is checked: what an edit's merge patch applies to."""
        stored = await self._load(conference_id)
        _admit(stored, actor, expected_version)
        return stored.conference.as_draft()

    async def invitation_preview(
        self, conference_id: str, invitation_id: str, *, actor: Principal
    ) -> EventPayload:
        """The event the invitation to `invitation_id` is written from, as publishing would
        store it now (with the invitee's personal link): for the network's writers only."""
        conference = (await self._load(conference_id)).conference
        actor.require_write(conference.network.id)
        invitee = conference.invitation(invitation_id)  # NotFound for a withdrawn one
        event = conference.invitation_event()
        only_them = event.model_copy(
            update={
                "invitees": [i for i in event.invitees if i.invitation_id == invitee.invitation_id]
            }
        )
        return self._with_links(conference, only_them)

    # ------------------------------------------------------------------ callers' changes

    async def schedule(self, command: commands.ScheduleConference) -> Versioned[Conference]:
        network_id = command.network_id
        command.actor.require_write(network_id)
        network = await self.network(network_id)
        # The network lock serialises overlap checks of one network within this process.
        conference_id = uuid.uuid4().hex[:12]
        if not command.publish:  # a draft takes no time slot: no overlap check, no lock
            conference, _ = Conference.prepare(
                conference_id, command.draft, network, now=self.clock()
            )
            await self.conferences.add(conference, [])
            log.info("conference drafted", conference_id=conference_id, network_id=network_id)
            return Versioned(conference, 1)
        async with self.conferences.locked(("network", network_id)):
            others = await self._planned_of(network_id)
            conference, events = Conference.schedule(
                conference_id,
                command.draft,
                network,
                others,
                now=self.clock(),
                reminder_offsets=self.reminder_offsets,
            )
            records = self._records(conference, 0, events, command.cause)
            await self.conferences.add(conference, records)
        log.info("conference scheduled", conference_id=conference_id, network_id=network_id)
        return await self._roster_caught_up(conference_id, Versioned(conference, 1), command.cause)

    async def discard(self, conference_id: str, *, actor: Principal, expected_version: int) -> None:
        """Throw a draft away (a published conference is cancelled instead)."""
        async with self._held(conference_id) as stored:
            _admit(stored, actor, expected_version)
            stored.conference.discard()
            await self.conferences.delete(stored)
        log.info("draft discarded", conference_id=conference_id)

    async def change(self, command: commands.ChangeConference) -> Versioned[Conference]:
        """The one way a caller changes a conference: may they change its network (403), did
        they read the version it is at (409), then what the domain decides, in one write."""
        async with self._held(command.conference_id) as stored:
            _admit(stored, command.actor, command.expected_version)
            async with self._overlap_lock(command.change, stored.conference.network.id):
                events = await self._decide(stored.conference, command.change)
                saved = await self._save(stored, events, command.cause)
        if isinstance(command.change, commands.Publish):
            return await self._roster_caught_up(command.conference_id, saved, command.cause)
        return saved

    async def answer_by_link(
        self, conference_id: str, answer: commands.RecordResponse, cause: Cause
    ) -> Versioned[Conference]:
        """An answer through the invitee's personal link: the link is the authority, so neither a
        role nor a version is asked for."""
        async with self._held(conference_id) as stored:
            events = await self._decide(stored.conference, answer)
            return await self._save(stored, events, cause)

    async def _decide(self, conference: Conference, change: commands.Change) -> list[EventPayload]:
        """What the domain makes of each kind of change: the events it caused."""
        now = self.clock()
        match change:
            case commands.Publish():
                network = await self.network(conference.network.id)
                others = await self._planned_of(conference.network.id)
                return conference.publish(
                    network, others, now=now, reminder_offsets=self.reminder_offsets
                )
            case commands.Edit():
                network = await self.network(conference.network.id)
                return conference.edit(change.draft, network, now=now)
            case commands.Reschedule():
                others = await self._planned_of(conference.network.id)
                return conference.reschedule(
                    change.starts_at,
                    change.ends_at,
                    others,
                    now=now,
                    venue=change.venue,
                    online_url=change.online_url,
                )
            case commands.Cancel():
                return conference.cancel(change.reason, now=now)
            case commands.Conclude():
                network = await self.network(conference.network.id)
                return conference.conclude(change.summary, change.recommendations, network, now=now)
            case commands.InviteDelegate():
                return conference.invite_delegate(change.delegate, now=now)
            case commands.CorrectDelegate():
                return conference.change_delegate(change.invitation_id, change.delegate, now=now)
            case commands.WithdrawDelegate():
                return conference.withdraw_delegate(change.invitation_id, now=now)
            case commands.RecordResponse():
                return conference.respond(change.invitation_id, change.response, now=now)
            case _:
                assert_never(change)

    def _overlap_lock(
        self, change: commands.Change, network_id: str
    ) -> AbstractAsyncContextManager[None]:
        """A new time, or a draft taking its time, is checked against the network's other
        conferences: like scheduling, it holds the network's lock from that check to the
        write."""
        if isinstance(change, commands.Reschedule | commands.Publish):
            return self.conferences.locked(("network", network_id))
        return nullcontext()

    # ------------------------------------------------------------------ reactions and jobs

    async def answer_by_calendar(self, reply: CalendarReplyReceived, cause: Cause) -> str | None:
        """An answer from the invitee's calendar (iMIP REPLY), applied like a link answer once
        it is tied to its invitation: the token's signature and expiry, its conference the
        entry's UID names, its invitation current and answering for its own invitee, its entry
        (SEQUENCE) not older than the conference's last change of time. Returns
        why it was refused (the metric's reason), or None if applied (a repeat changes
        nothing)."""
        if self.replies is None:
            return "replies-off"
        try:
            claims = self.replies.verify(reply.reply_token, now=self.clock())
        except InvalidReply as refused:
            return refused.reason
        if conference_of_uid(reply.uid) != claims.conference_id:
            return "other-conference"
        async with self.conferences.locked(claims.conference_id):
            stored = await self.conferences.get(claims.conference_id)
            if stored is None:
                return "unknown-conference"
            conference = stored.conference
            try:
                invitation = conference.invitation(claims.invitation_id)
            except NotFound:
                return "unknown-invitation"  # withdrawn, or never there
            # The token is the tie; an ATTENDEE of another person (a forged From and
            # ATTENDEE with someone's own token) answers for nobody.
            if not same_address(invitation.person.email, reply.attendee):
                return "attendee-mismatch"
            if conference.status == ConferenceStatus.CANCELLED:
                return "cancelled"
            if not conference.open_for_answers(self.clock()):
                return "closed"
            if not conference.answers_current_time(reply.sequence):
                return "outdated-time"  # it accepted a time since moved; the update asked again
            answer = commands.RecordResponse(
                invitation_id=invitation.invitation_id, response=Response(reply.response.value)
            )
            events = await self._decide(conference, answer)
            await self._save(stored, events, cause)
        return None

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
        """Note a failed delivery on the invitation (no event of its own). False if that changed
        nothing: an unknown conference or invitation, a stale failure, or a repeat."""
        async with self.conferences.locked(conference_id):
            stored = await self.conferences.get(conference_id)
            if stored is None:
                return False
            events = stored.conference.mark_undeliverable(
                invitation_id, recipient, reason, failed_at
            )
            saved = await self._save(stored, events, cause)
            return saved.version != stored.version

    async def send_due_reminders(self) -> int:
        """Claim every due reminder; the claim and its event are one write. Returns how many."""
        sent = 0
        for conference_id in await self.conferences.ids_with_reminders_due(self.clock()):
            cause = Cause(correlation_id=f"reminder-{conference_id}-{uuid.uuid4().hex[:8]}")
            async with self._held(conference_id) as stored:
                events = stored.conference.claim_due_reminders(self.clock())
                await self._save(stored, events, cause)
            sent += len(events)
        if sent:
            log.info("reminders due, events stored", count=sent)
        return sent

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
            if planned.open_for_answers(now):
                events, _ = await self._sync_roster(planned.conference_id, network, cause)
                invited += sum(isinstance(e, ParticipantInvited) for e in events)
        return invited

    # ------------------------------------------------------------------ internals

    async def _sync_roster(
        self, conference_id: str, network: NetworkView, cause: Cause
    ) -> tuple[list[EventPayload], Versioned[Conference] | None]:
        """One conference's invitee list brought in line with `network` if it is still open
        for answers: the events that caused and the conference as stored (None if closed)."""
        async with self._held(conference_id) as stored:
            if not stored.conference.open_for_answers(self.clock()):
                return [], None
            events = stored.conference.sync_roster(network)
            return events, await self._save(stored, events, cause)

    async def _roster_caught_up(
        self, conference_id: str, published: Versioned[Conference], cause: Cause
    ) -> Versioned[Conference]:
        """A just published conference, its invitees brought in line with its network's view
        as it is now. The registry may have changed the committee between this change's read of
        the view and its write, and the projection's `follow_roster`, looking for planned
        conferences before the write, did not find this one: one more look after the write
        closes that gap (in every instance: it does not rest on a lock)."""
        network = await self.networks.get(published.value.network.id)
        if network is None:
            return published
        _, synced = await CONCURRENT_WRITE.call(self._sync_roster, conference_id, network, cause)
        return synced or published

    async def _load(self, conference_id: str) -> StoredConference:
        stored = await self.conferences.get(conference_id)
        if stored is None:
            raise NotFound(f"conference {conference_id}")
        return stored

    @asynccontextmanager
    async def _held(self, conference_id: str) -> AsyncIterator[StoredConference]:
        """The conference under its lock, from loading it to storing what the domain decided."""
        async with self.conferences.locked(conference_id):
            yield await self._load(conference_id)

    async def _planned_of(self, network_id: str) -> list[Conference]:
        return [
            s.conference for s in await self.conferences.of_network(network_id, status="scheduled")
        ]

    async def _save(
        self, stored: StoredConference, events: list[EventPayload], cause: Cause
    ) -> Versioned[Conference]:
        """Store the change and its events in one write: the conference at its new version."""
        records = self._records(stored.conference, stored.event_count, events, cause)
        return Versioned(stored.conference, await self.conferences.save(stored, records))

    def _records(
        self, conference: Conference, event_count: int, events: list[EventPayload], cause: Cause
    ) -> list[OutboxRecord]:
        """The events as outbox records, at the positions after the conference's `event_count`."""
        return outbox_records(
            [self._with_links(conference, payload) for payload in events],
            Aggregate(conference.conference_id, key=conference.network.id, event_count=event_count),
            cause,
            self.topic,
        )

    def _with_links(self, conference: Conference, payload: EventPayload) -> EventPayload:
        """Give every invitee in an event their personal response link (not on cancellations
        and withdrawals: the link is revoked with the invitation) and their calendar's reply
        address (on those too: a calendar matches the CANCEL to its entry by UID and
        ORGANIZER)."""
        revoked = isinstance(payload, ConferenceCancelled | ParticipantWithdrawn)

        def linked(invitee: Invitee) -> Invitee:
            ends_at = conference.ends_at
            update: dict[str, object] = {}
            if not revoked:
                url = self.links.url(
                    conference.conference_id, invitee.invitation_id, conference_ends_at=ends_at
                )
                update["response_url"] = AnyHttpUrl(url)
            if self.replies is not None and self.replies.issues_addresses:
                update["reply_address"] = self.replies.address(
                    conference.conference_id, invitee.invitation_id, conference_ends_at=ends_at
                )
            return invitee.model_copy(update=update) if update else invitee

        update: dict[str, object] = {}
        for name in ("invitees", "recipients"):
            if name in type(payload).model_fields:
                update[name] = [linked(i) for i in getattr(payload, name)]
        if "invitee" in type(payload).model_fields:
            update["invitee"] = linked(payload.invitee)  # type: ignore[attr-defined]
        return payload.model_copy(update=update) if update else payload


def _admit(stored: StoredConference, actor: Principal, expected_version: int) -> None:
    """A caller's change: they may change the conference's network, and read it as it is."""
    actor.require_write(stored.conference.network.id)
    if stored.version != expected_version:
        raise VersionConflict(
            f"conference {stored.conference.conference_id} is at version {stored.version}, "
            f"not {expected_version}"
        )


async def project_registry_event(
    networks: NetworkProjection,
    envelope: Envelope,
    payload: EventPayload,
    erasures: ErasureLedger | None = None,
) -> NetworkView | None:
    """Fold one registry event into its network's view (see `project_registry_events`); the
    view as now stored, or None if the event was stale, repeated, or none the projection
    folds. The rebuild command folds through here."""
    if not isinstance(payload, NetworkEvent):
        return None
    one = [(envelope, payload)]
    return await project_registry_events(networks, payload.network.id, one, erasures)


async def project_registry_events(
    networks: NetworkProjection,
    network_id: str,
    events: Sequence[tuple[Envelope, NetworkEvent]],
    erasures: ErasureLedger | None = None,
) -> NetworkView | None:
    """Fold registry events of one network, in their order, into its view (with the domain's
    fold for each payload class, see domain/projection.py): one read of the view, one look at
    the erasure ledger and one write for all of them. The view as now stored, or None if every
    event was stale, repeated, or none the projection folds. A person an event names who was
    erased after it occurred is folded in anonymised (`erasures`: the ledger), so a late or
    replayed event never brings them back."""
    async with networks.locked(network_id):
        # Asked under the lock the erasure anonymises the view under: either it finds this
        # fold's result, or this fold finds the erasure in the ledger.
        if erasures is not None:
            events = await as_erased(erasures, events)
        view = await networks.get(network_id) or NetworkView(network_id)
        folded = [view.apply(_facts(envelope), payload) for envelope, payload in events]
        if not any(folded):
            return None
        await networks.put(view)
        return view


def _facts(envelope: Envelope) -> EventFacts:
    return EventFacts(
        type=envelope.type,
        aggregate_id=envelope.aggregate_id,
        aggregate_version=envelope.aggregate_version,
        occurred_at=envelope.occurred_at,
    )


E = TypeVar("E", bound=NetworkEvent)


async def as_erased(
    erasures: ErasureLedger, events: Sequence[tuple[Envelope, E]]
) -> list[tuple[Envelope, E]]:
    """The events with every person erased after the event occurred anonymised (one look at
    the ledger for all the addresses they name); each event as it is if it names none."""
    dumped = [payload.model_dump(mode="json") for _, payload in events]
    erased_at = await erasures.erased_at({a for d in dumped for a in contact_addresses(d)})
    scrubbed_events = []
    for (envelope, payload), fields in zip(events, dumped, strict=True):
        erased = [
            subject_of(a)
            for a in contact_addresses(fields)
            if a in erased_at and erased_at[a] > envelope.occurred_at
        ]
        if erased:
            payload = type(payload).model_validate(scrubbed(fields, erased))
        scrubbed_events.append((envelope, payload))
    return scrubbed_events
