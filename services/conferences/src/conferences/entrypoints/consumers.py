"""The events this service consumes, and what reacts to each: the reaction tables.

`reactions(service)` is the one place to look. Each table is one consumer (its own consumer
group, `<prefix>conferences.<name>`); the topics and event types it subscribes to are derived from
the table by `runtime.react` (see bootstrap.py).

- `registry-projection` (registry events): every one is folded into the network projection
  (guarded by the registry record's version, so a repeat or a stale event changes nothing; the
  folds are in domain/projection.py). Events that change who belongs to a network then bring the
  invitee lists of its planned conferences up to date, with the event as their cause; that runs
  on a repeat as well, since a crash may have come between projection and conferences.
  `person-erased` (also on the registry topic) anonymises every copy of the person here
  (service_layer/privacy.py) and keeps the erasure in the ledger, through which every later
  fold passes: an older event naming the person is folded in anonymised.
- `delivery-feedback` (notification events): a failed mail to an invitee marks the invitation
  undeliverable, so the office sees it and can correct the address.
- `calendar-replies` (notification events): an invitee's calendar answered (iMIP REPLY received
  by the notifications service); applied like a link answer once its token ties it to the
  invitation, else refused, logged with ids only and counted
  (`rbn_calendar_replies_refused_total{reason}`).
"""

from __future__ import annotations

from conferences.domain.projection import NetworkView
from conferences.service_layer.privacy import PrivacyService
from conferences.service_layer.services import (
    ConferenceService,
    project_registry_event,
    project_registry_events,
)
from rbn_shared.changes import Cause
from rbn_shared.events import Envelope, EventPayload
from rbn_shared.events.base import NetworkEvent
from rbn_shared.events.notifications import CalendarReplyReceived, NotificationFailed
from rbn_shared.events.registry import (
    CommitteeMemberAdded,
    CommitteeMemberRemoved,
    CommitteeMemberUpdated,
    CooperationAgreementSigned,
    CooperationAgreementTerminated,
    FieldOfActionAdopted,
    FieldOfActionClosed,
    FieldOfActionProposed,
    FieldOfActionUpdated,
    NetworkRegistered,
    NetworkUpdated,
    OfficeStaffAssigned,
    OfficeStaffRemoved,
    PersonErased,
)
from rbn_shared.logging import get_logger
from rbn_shared.metrics import CALENDAR_REPLIES_REFUSED
from rbn_shared.privacy import Erasure
from rbn_shared.reactions import Reaction, Reactions

log = get_logger(__name__)


def reactions(service: ConferenceService, privacy: PrivacyService) -> dict[str, Reactions]:
    """Consumer name → its reaction table: payload class → the handlers, run in this order."""
    handlers = ConsumerHandlers(service, privacy)
    project, project_and_follow = handlers.project, handlers.project_and_follow_roster
    registry_events: dict[type[EventPayload], list[Reaction]] = {
        NetworkRegistered: [project_and_follow],
        NetworkUpdated: [project_and_follow],
        CooperationAgreementSigned: [project],
        CooperationAgreementTerminated: [project],
        CommitteeMemberAdded: [project_and_follow],
        CommitteeMemberUpdated: [project_and_follow],
        CommitteeMemberRemoved: [project_and_follow],
        OfficeStaffAssigned: [project_and_follow],
        OfficeStaffRemoved: [project_and_follow],
        FieldOfActionProposed: [project],
        FieldOfActionAdopted: [project],
        FieldOfActionUpdated: [project],
        FieldOfActionClosed: [project],
        PersonErased: [handlers.erase_person],
    }
    # A run of one network's registry events is folded at once: one read of the view, one
    # write, the roster followed once if a row of them follows it (what the rows do one by one).
    folded = [p for p, rs in registry_events.items() if rs in ([project], [project_and_follow])]
    handlers.roster_events = {p for p, rs in registry_events.items() if rs == [project_and_follow]}
    return {
        "registry-projection": Reactions(
            registry_events, together=(handlers.project_together, folded)
        ),
        "delivery-feedback": Reactions({NotificationFailed: [handlers.mark_undeliverable]}),
        "calendar-replies": Reactions({CalendarReplyReceived: [handlers.answer_by_calendar]}),
    }


def cause_of(envelope: Envelope) -> Cause:
    """A change caused by an event: its correlation id, and the event as the cause."""
    return Cause(correlation_id=envelope.correlation_id, causation_id=str(envelope.event_id))


class ConsumerHandlers:
    """Thin handlers: from the event to the use case."""

    def __init__(self, service: ConferenceService, privacy: PrivacyService) -> None:
        self.service = service
        self.privacy = privacy
        self.roster_events: set[type[EventPayload]] = set()  # set with the reaction table

    async def _fold(self, envelope: Envelope, payload: NetworkEvent) -> NetworkView | None:
        erasures = self.privacy.erasures
        return await project_registry_event(self.service.networks, envelope, payload, erasures)

    async def project(self, envelope: Envelope, payload: NetworkEvent) -> None:
        """Fold the registry event into the network projection."""
        if await self._fold(envelope, payload) is None:
            log.debug("registry event was stale or repeated; projection unchanged")

    async def project_and_follow_roster(self, envelope: Envelope, payload: NetworkEvent) -> None:
        """Fold the event in, then bring the invitee lists of the network's planned conferences
        up to date with the view just stored (on a repeat too: a crash may have come between)."""
        view = await self._fold(envelope, payload)
        await self._follow_roster(payload.network.id, envelope, view)

    async def project_together(self, events: list[tuple[Envelope, NetworkEvent]]) -> None:
        """A run of registry events (a lane: one network, in order) folded in at once, then
        the roster followed once if any of them concerns it, as their rows do one by one."""
        by_network: dict[str, list[tuple[Envelope, NetworkEvent]]] = {}
        for envelope, payload in events:
            by_network.setdefault(payload.network.id, []).append((envelope, payload))
        erasures = self.privacy.erasures
        for network_id, folded in by_network.items():
            view = await project_registry_events(
                self.service.networks, network_id, folded, erasures
            )
            roster = [e for e, p in folded if type(p) in self.roster_events]
            if roster:
                await self._follow_roster(network_id, roster[-1], view)

    async def _follow_roster(
        self, network_id: str, cause: Envelope, view: NetworkView | None
    ) -> None:
        invited = await self.service.follow_roster(network_id, cause_of(cause), view)
        if invited:
            log.info("invitee lists followed the registry", invited=invited)

    async def erase_person(self, envelope: Envelope, payload: PersonErased) -> None:
        """Anonymise the person's copies; the erasure's time is the event's (the ledger compares
        other events' times with it), its actor the audit's. Logged with counts only."""
        erasure = Erasure(payload.subject, payload.erasure_id, envelope.occurred_at)
        done = await self.privacy.erase(erasure, actor=envelope.actor)
        log.info(
            "person erased",
            erasure_id=payload.erasure_id,
            conferences=done.conferences,
            networks=done.networks,
            dead_letters=done.dead_letters,
        )

    async def mark_undeliverable(self, envelope: Envelope, payload: NotificationFailed) -> None:
        """Mark the invitation a mail failed for (a mail to no invitee: nothing to mark)."""
        if payload.conference_id is None or payload.invitation_id is None:
            return  # the office, a bulletin
        marked = await self.service.mark_undeliverable(
            payload.conference_id,
            payload.invitation_id,
            recipient=payload.recipient,
            reason=payload.reason,
            failed_at=payload.failed_at,
            cause=cause_of(envelope),
        )
        if marked:
            log.info(
                "invitation marked undeliverable",
                conference_id=payload.conference_id,
                invitation_id=payload.invitation_id,
            )

    async def answer_by_calendar(self, envelope: Envelope, payload: CalendarReplyReceived) -> None:
        """Apply a calendar's answer, or refuse it: counted, and logged without personal data."""
        refused = await self.service.answer_by_calendar(payload, cause_of(envelope))
        if refused is None:
            log.info("calendar reply applied", event_id=str(envelope.event_id))
            return
        CALENDAR_REPLIES_REFUSED.labels("conferences", refused).inc()
        log.warning(
            "calendar reply refused: it changes nothing",
            reason=refused,
            event_id=str(envelope.event_id),
        )
