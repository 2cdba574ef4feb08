"""What the service consumes (its reaction tables), and where its events stand in a conference's
history (consecutive positions, also for several events of one change), without any server."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from datetime import timedelta
from typing import cast

from conferences.adapters.repositories import (
    ConferenceRepository,
    NetworkProjection,
    StoredConference,
)
from conferences.bootstrap import build
from conferences.domain.model import Conference
from conferences.domain.projection import FOLDS, NetworkView
from conferences.entrypoints.consumers import reactions
from conferences.service_layer.commands import ScheduleConference
from conferences.service_layer.services import (
    ConferenceService,
    project_registry_event,
    project_registry_events,
)
from conferences.settings import ConferencesSettings
from rbn_shared.errors import VersionConflict
from rbn_shared.events import Envelope, parse_payload
from rbn_shared.events.base import NetworkEvent
from rbn_shared.events.conferences import Response
from rbn_shared.events.notifications import NotificationFailed
from rbn_shared.events.registry import CommitteeMemberAdded, CommitteeMemberUpdated, PersonErased
from rbn_shared.outbox import KeyedLocks, OutboxRecord
from tests.conferences.unit.test_conference import NOW, START, draft, network
from tests.conferences.use_cases import CAUSE, DISTRICT, NO_PREVIEWS, answer, links
from tests.support.load import member_event

# What the service consumes, spelled out once more: a row lost from a table fails here.
CONSUMED = {
    "registry-projection": {
        "network-registered",
        "network-updated",
        "cooperation-agreement-signed",
        "cooperation-agreement-terminated",
        "committee-member-added",
        "committee-member-updated",
        "committee-member-removed",
        "office-staff-assigned",
        "office-staff-removed",
        "field-of-action-proposed",
        "field-of-action-adopted",
        "field-of-action-updated",
        "field-of-action-closed",
        "person-erased",
    },
    "delivery-feedback": {"notification-failed"},
    "calendar-replies": {"calendar-reply-received"},
}
# Who belongs to a network: after these, the invitee lists follow the registry.
ROSTER = {
    "network-registered",
    "network-updated",
    "committee-member-added",
    "committee-member-updated",
    "committee-member-removed",
    "office-staff-assigned",
    "office-staff-removed",
}


def test_the_reaction_tables_cover_exactly_what_the_service_consumes_and_subscribe_to_it() -> None:
    settings = ConferencesSettings()
    wiring = build(settings)
    tables = reactions(wiring.service, wiring.privacy)

    assert {name: set(t.event_types) for name, t in tables.items()} == CONSUMED
    # The projection folds every registry event the consumer reacts to but the erasure (which
    # anonymises, folding nothing), and nothing more: the rebuild replays the same types.
    assert set(tables["registry-projection"].table) == set(FOLDS) | {PersonErased}
    assert set(tables["delivery-feedback"].table) == {NotificationFailed}
    rows = dict(tables["registry-projection"].describe())
    assert rows.pop("person-erased") == ["ConsumerHandlers.erase_person"]
    # Every row folds the event in first (alone, or together with following the roster).
    assert {t for t, hs in rows.items() if hs[0].rsplit(".", 1)[-1].startswith("project")} == set(
        rows
    )
    assert {t for t, handlers in rows.items() if any("follow_roster" in h for h in handlers)} == (
        ROSTER
    )

    # Every row that only folds (or folds and follows the roster) is folded together in runs.
    together = tables["registry-projection"].together
    assert together is not None
    assert together.types == CONSUMED["registry-projection"] - {"person-erased"}

    # The consumers bootstrap started subscribe to exactly the tables' types and topics.
    consumers = {c.name: c for c in wiring.runtime.consumers}
    assert {name: sorted(c.handled_types) for name, c in consumers.items()} == {
        f"conferences.{name}": t.event_types for name, t in tables.items()
    }
    assert tables["registry-projection"].topics(settings.topics) == [settings.topics.registry]
    assert tables["delivery-feedback"].topics(settings.topics) == [settings.topics.notifications]


# ---------------------------------------------------------------------------- event positions


class MemoryConferences(ConferenceRepository):
    """The repository's contract in memory: version and event count per conference."""

    def __init__(self) -> None:
        self.rows: dict[str, StoredConference] = {}
        self.records: list[OutboxRecord] = []
        self._locks = KeyedLocks()

    def locked(self, key: object) -> AbstractAsyncContextManager[None]:
        return self._locks.hold(key)

    async def get(self, conference_id: str) -> StoredConference | None:
        return copy.deepcopy(self.rows.get(conference_id))

    async def add(self, conference: Conference, events: Sequence[OutboxRecord]) -> None:
        self.rows[conference.conference_id] = StoredConference(conference, 1, len(events))
        self.records += events

    async def save(self, stored: StoredConference, events: Sequence[OutboxRecord]) -> int:
        held = self.rows[stored.conference.conference_id]
        if held.version != stored.version:
            raise VersionConflict("changed meanwhile")
        if not events and stored.conference == held.conference:
            return stored.version  # nothing changed: no write
        version = stored.version + 1
        count = stored.event_count + len(events)
        self.rows[stored.conference.conference_id] = StoredConference(
            stored.conference, version, count
        )
        self.records += events
        return version

    async def of_network(
        self, network_id: str, *, status: str | None = None, limit: int = 0
    ) -> list[StoredConference]:
        return [
            copy.deepcopy(s)
            for s in self.rows.values()
            if s.conference.network.id == network_id
            and (status is None or s.conference.status == status)
        ]


class OneNetwork(NetworkProjection):
    def __init__(self, view: NetworkView) -> None:
        self.view = view

    async def get(self, network_id: str) -> NetworkView | None:
        return self.view if network_id == self.view.network_id else None


async def test_two_events_of_one_change_get_consecutive_aggregate_versions() -> None:
    conferences = MemoryConferences()
    service = ConferenceService(
        conferences,
        OneNetwork(network()),
        links(),
        topic="test.conferences.events",
        clock=lambda: NOW,
        reminder_offsets=[],
        previews=NO_PREVIEWS,
    )
    # Anna (committee), Clara (office) and Dora (delegate) are invited; one seat.
    command = ScheduleConference(
        actor=DISTRICT, cause=CAUSE, network_id="hamm", draft=draft(capacity=1)
    )
    current = await service.schedule(command)
    first, second = (i.invitation_id for i in current.value.invitations[:2])
    current = await answer(service, current, first, Response.ACCEPTED)
    current = await answer(service, current, second, Response.ACCEPTED)
    assert current.value.invitation(second).waitlisted
    # The seat's holder declines: their answer and the promotion of the next, one change.
    current = await answer(service, current, first, Response.DECLINED)
    conference, version = current.value, current.version

    envelopes = [Envelope.from_wire(r["value"].encode()) for r in conferences.records]
    assert [(e.type, e.aggregate_version) for e in envelopes] == [
        ("conference-scheduled", 1),
        ("participant-responded", 2),
        ("participant-responded", 3),
        ("participant-responded", 4),  # the decline ...
        ("participant-responded", 5),  # ... and the promotion, in the same write
    ]
    assert {e.aggregate_id for e in envelopes} == {conference.conference_id}
    assert {e.key for e in envelopes} == {"hamm"}
    assert version == 4  # the document's version (the ETag) counts writes, not events
    assert conferences.rows[conference.conference_id].event_count == 5


# ---------------------------------------------------------------------------- a member joining


class ChangingNetwork(NetworkProjection):
    """The network's view as the registry changes it: `join` is called after the first read,
    as if the projection stored a new member between a scheduling's read and its write."""

    def __init__(self, view: NetworkView, join: NetworkView) -> None:
        self.views = [view, join]

    async def get(self, network_id: str) -> NetworkView | None:
        return self.views.pop(0) if len(self.views) > 1 else self.views[0]


async def test_a_member_who_joins_while_a_conference_is_scheduled_is_invited() -> None:
    """The projection's roster follow-up looked for planned conferences before this one was
    stored, and the scheduling read the view before the member was in it: the scheduling's
    second look after its write invites them (a race once seen in CI)."""
    before = network()
    after = network()
    erik = {"name": "Erik Brandt", "email": "erik@example.org"}
    after.committee["m2"] = {"person": erik, "side": "municipality", "role": "member"}
    conferences = MemoryConferences()
    service = ConferenceService(
        conferences,
        ChangingNetwork(before, after),
        links(),
        topic="test.conferences.events",
        clock=lambda: NOW,
        reminder_offsets=[],
        previews=NO_PREVIEWS,
    )
    command = ScheduleConference(actor=DISTRICT, cause=CAUSE, network_id="hamm", draft=draft())

    scheduled = await service.schedule(command)

    invited = {str(i.person.email) for i in scheduled.value.invitations}
    assert {"erik@example.org", "anna@example.org"} <= invited
    assert scheduled.version == 2  # the scheduling's write and the catch-up's
    envelopes = [Envelope.from_wire(r["value"].encode()) for r in conferences.records]
    assert [e.type for e in envelopes] == ["conference-scheduled", "participant-invited"]
    assert [e.aggregate_version for e in envelopes] == [1, 2]

    # Nothing moved since: a second look changes nothing.
    later = draft(starts_at=START + timedelta(days=7), ends_at=START + timedelta(days=7, hours=3))
    again = await service.schedule(
        ScheduleConference(actor=DISTRICT, cause=CAUSE, network_id="hamm", draft=later)
    )
    assert again.version == 1


# ---------------------------------------------------------------------------- folded together


class MemoryNetworks(NetworkProjection):
    """The projection's contract in memory, counting its reads and writes."""

    def __init__(self) -> None:
        self.views: dict[str, NetworkView] = {}
        self.reads = self.writes = 0
        self._locks = KeyedLocks()

    def locked(self, network_id: str) -> AbstractAsyncContextManager[None]:
        return self._locks.hold(network_id)

    async def get(self, network_id: str) -> NetworkView | None:
        self.reads += 1
        return copy.deepcopy(self.views.get(network_id))

    async def put(self, view: NetworkView) -> None:
        self.writes += 1
        self.views[view.network_id] = copy.deepcopy(view)


async def test_events_folded_together_give_the_view_they_give_one_by_one() -> None:
    events = [
        member_event("hamm", n, "fold", version, model, seat=n % 4)
        for n, (version, model) in enumerate(
            [(v, CommitteeMemberAdded if v < 5 else CommitteeMemberUpdated) for v in range(1, 11)]
        )
    ]
    events.append(events[3])  # a repeat, and a stale one
    pairs = [(e, cast(NetworkEvent, parse_payload(e))) for e in events]
    one_by_one, together = MemoryNetworks(), MemoryNetworks()
    for envelope, payload in pairs:
        await project_registry_event(one_by_one, envelope, payload)

    stored = await project_registry_events(together, "hamm", pairs)

    assert stored == one_by_one.views["hamm"] == together.views["hamm"]
    assert len(together.views["hamm"].committee) == 4
    assert (together.reads, together.writes) == (1, 1)
    assert (one_by_one.reads, one_by_one.writes) == (11, 10)
    # All of them seen before: nothing written, nothing returned.
    assert await project_registry_events(together, "hamm", pairs) is None
    assert together.writes == 1
