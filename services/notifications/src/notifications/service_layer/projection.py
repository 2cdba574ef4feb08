"""The recipients projection: one small reaction per registry event that says who is where.

Each reaction applies its event to the network's (or the district's) projection document with
one version-guarded write, and only if the event changed something; the network as this process
wrote it last is not read again (DirectoryRepository.network_to_change). The registry's version of
the record (`aggregate_version`) guards each entry, so a stale or repeated event changes nothing.

The network as a reaction leaves it is kept for the reactions that follow for the same event
(the mail step addresses it without reading it again): `just_projected(event_id)`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from uuid import UUID

from notifications.adapters.repositories import DirectoryRepository
from notifications.domain.recipients import Contact, DistrictCoordination, NetworkDirectory
from rbn_shared.addresses import address_key
from rbn_shared.events import Envelope
from rbn_shared.events.base import NetworkEvent, Person
from rbn_shared.events.registry import (
    CommitteeMemberAdded,
    CommitteeMemberRemoved,
    CommitteeMemberUpdated,
    DistrictCoordinationChanged,
    NetworkRegistered,
    NetworkSnapshot,
    NetworkUpdated,
    OfficeStaffAssigned,
    OfficeStaffRemoved,
)

# How many events' networks are kept for the reactions that follow (a consumer's batch at most
# handles a few hundred at once); one that fell out is read again, nothing else.
KEEP_PROJECTED = 1024


def _contact(person: Person, version: int) -> Contact:
    return Contact(address_key(person.email), person.name, version)


class RecipientsProjection:
    def __init__(self, directory: DirectoryRepository) -> None:
        self._directory = directory
        self._projected: OrderedDict[UUID, NetworkDirectory] = OrderedDict()

    def just_projected(self, event_id: UUID) -> NetworkDirectory | None:
        """The network as this event's projection reaction left it, if it ran here."""
        return self._projected.get(event_id)

    # ------------------------------------------------------------------ reactions

    async def network_registered(self, envelope: Envelope, payload: NetworkRegistered) -> None:
        await self._network_snapshot(envelope, payload)

    async def network_updated(self, envelope: Envelope, payload: NetworkUpdated) -> None:
        await self._network_snapshot(envelope, payload)

    async def committee_member_added(
        self, envelope: Envelope, payload: CommitteeMemberAdded
    ) -> None:
        contact = _contact(payload.person, envelope.aggregate_version)
        await self._change(envelope, payload, lambda n: n.with_member(payload.member_id, contact))

    async def committee_member_updated(
        self, envelope: Envelope, payload: CommitteeMemberUpdated
    ) -> None:
        contact = _contact(payload.person, envelope.aggregate_version)
        await self._change(envelope, payload, lambda n: n.with_member(payload.member_id, contact))

    async def committee_member_removed(
        self, envelope: Envelope, payload: CommitteeMemberRemoved
    ) -> None:
        version = envelope.aggregate_version
        await self._change(
            envelope, payload, lambda n: n.without_member(payload.member_id, version)
        )

    async def office_staff_assigned(self, envelope: Envelope, payload: OfficeStaffAssigned) -> None:
        contact = _contact(payload.person, envelope.aggregate_version)
        await self._change(envelope, payload, lambda n: n.with_staff(payload.staff_id, contact))

    async def office_staff_removed(self, envelope: Envelope, payload: OfficeStaffRemoved) -> None:
        version = envelope.aggregate_version
        await self._change(envelope, payload, lambda n: n.without_staff(payload.staff_id, version))

    async def district_coordination_changed(
        self, _envelope: Envelope, payload: DistrictCoordinationChanged
    ) -> None:
        district = DistrictCoordination(
            Contact(address_key(payload.coordinator.email), payload.coordinator.name),
            Contact(address_key(payload.service_unit.email), payload.service_unit.name),
        )
        async with self._directory.store.locked("district"):
            known, version = await self._directory.district()
            if known != district:
                await self._directory.save_district(district, version)

    # ------------------------------------------------------------------ one write per change

    async def _network_snapshot(self, envelope: Envelope, payload: NetworkSnapshot) -> None:
        version = envelope.aggregate_version
        office = Contact(address_key(payload.office.email), payload.office.name, version)
        await self._change(
            envelope, payload, lambda n: n.with_network(payload.network.name, office, version)
        )

    async def _change(
        self,
        envelope: Envelope,
        payload: NetworkEvent,
        change: Callable[[NetworkDirectory], NetworkDirectory],
    ) -> None:
        network_id = payload.network.id
        async with self._directory.store.locked(network_id):
            known, version, remembered = await self._directory.network_to_change(network_id)
            changed = change(known or NetworkDirectory(network_id, payload.network.name))
            if remembered and changed == known:
                # Nothing to write, so no guard would notice if another instance wrote it
                # meanwhile: what the mails are addressed by is read from the database.
                known, version = await self._directory.network(network_id)
                changed = change(known or NetworkDirectory(network_id, payload.network.name))
            if known is None or changed != known:
                await self._directory.save_network(changed, version)
        self._projected[envelope.event_id] = changed
        while len(self._projected) > KEEP_PROJECTED:
            self._projected.popitem(last=False)
