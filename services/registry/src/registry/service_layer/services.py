"""The registry's use cases, one per command.

A change of a network's part runs under that part's lock: read the network's `NetworkRef` (its
events name the network as it is now), load the part, apply the domain command, store the part
with its events. Nothing else is written: a new committee member rewrites only the committee.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar

from rbn_shared.changes import Cause
from rbn_shared.errors import VersionConflict
from rbn_shared.events import NetworkRef, Person
from rbn_shared.events.base import Side, Supervision
from rbn_shared.events.registry import (
    CommitteeRole,
    Employer,
    Municipality,
    OfficeContact,
    ServiceUnit,
)
from registry.adapters.repositories import Loaded, PartRepository, Repositories
from registry.domain.district import Bulletin, DistrictCoordination, prepare_bulletin
from registry.domain.errors import NotFound
from registry.domain.model import (
    Agreement,
    Agreements,
    Committee,
    CommitteeMember,
    FieldOfAction,
    FieldsOfAction,
    Network,
    Office,
    OfficeStaff,
    Part,
    WholeNetwork,
)

T = TypeVar("T")
PartT = TypeVar("PartT", bound=Part)


@dataclass(frozen=True)
class Versioned(Generic[T]):
    """A value and the version that is its ETag."""

    value: T
    version: int


class RegistryService:
    def __init__(self, storage: Repositories, today: Callable[[], date] = date.today) -> None:
        self.storage = storage
        self.today = today

    # ------------------------------------------------------------------ the network itself

    async def register_network(
        self,
        network_id: str,
        name: str,
        municipality: Municipality,
        office: OfficeContact,
        *,
        cause: Cause,
    ) -> Versioned[WholeNetwork]:
        network = Network.register(network_id, name, municipality, office)
        await self.storage.networks.add(network, cause)
        return Versioned(
            WholeNetwork.of(
                network,
                Agreements(network_id=network_id),
                Committee(network_id=network_id),
                Office(network_id=network_id),
                FieldsOfAction(network_id=network_id),
            ),
            1,
        )

    async def network(self, network_id: str) -> Versioned[WholeNetwork]:
        """The network with all its parts; the version is the network document's own."""
        loaded = await self.storage.networks.get(network_id)
        [whole] = await self._assembled([loaded.aggregate])
        return Versioned(whole, loaded.version)

    async def search_networks(
        self, *, kind: str | None, name_contains: str | None, limit: int, offset: int
    ) -> tuple[list[WholeNetwork], int]:
        found, total = await self.storage.networks.search(
            kind=kind, name_contains=name_contains, limit=limit, offset=offset
        )
        return await self._assembled([network for network, _ in found]), total

    async def update_network(
        self,
        network_id: str,
        expected_version: int,
        *,
        name: str,
        municipality: Municipality,
        office: OfficeContact,
        cause: Cause,
    ) -> Versioned[WholeNetwork]:
        """Replace name and contacts. The parts keep the name their events carried."""
        async with self.storage.networks.locked(network_id):
            loaded = await self.storage.networks.get(network_id)
            if expected_version != loaded.version:
                raise VersionConflict(
                    f"network {network_id} is at version {loaded.version}, not {expected_version}"
                )
            loaded.aggregate.update(name=name, municipality=municipality, office=office)
            version = await self.storage.networks.save(loaded, cause)
        [whole] = await self._assembled([loaded.aggregate])
        return Versioned(whole, version)

    async def _assembled(self, networks: list[Network]) -> list[WholeNetwork]:
        ids = [n.id for n in networks]
        agreements = await self.storage.agreements.of_networks(ids)
        committees = await self.storage.committees.of_networks(ids)
        offices = await self.storage.offices.of_networks(ids)
        fields = await self.storage.fields.of_networks(ids)
        return [
            WholeNetwork.of(n, agreements[n.id], committees[n.id], offices[n.id], fields[n.id])
            for n in networks
        ]

    # ------------------------------------------------------------------ the parts

    async def _part(self, parts: PartRepository[PartT], network_id: str) -> PartT:
        """A network's part as it is now; NotFound if there is no such network."""
        await self.storage.networks.ref(network_id)
        return (await parts.get(network_id)).aggregate

    async def _change(
        self,
        parts: PartRepository[PartT],
        network_id: str,
        cause: Cause,
        command: Callable[[PartT, NetworkRef], T],
    ) -> T:
        """Run one domain command on a network's part; store the part and its events."""
        async with parts.locked(network_id):
            network = await self.storage.networks.ref(network_id)
            loaded: Loaded[PartT] = await parts.get(network_id)
            result = command(loaded.aggregate, network)
            await parts.save(loaded, cause)
            return result

    # ------------------------------------------------------------------ cooperation agreements

    async def agreements(self, network_id: str) -> Agreements:
        return await self._part(self.storage.agreements, network_id)

    async def sign_agreement(
        self, network_id: str, signed_on: date, valid_from: date, *, cause: Cause
    ) -> Agreement:
        return await self._change(
            self.storage.agreements,
            network_id,
            cause,
            lambda agreements, network: agreements.sign(network, signed_on, valid_from),
        )

    async def terminate_agreement(
        self,
        network_id: str,
        agreement_id: str,
        expected_version: int,
        terminated_on: date,
        reason: str,
        *,
        cause: Cause,
    ) -> Agreement:
        return await self._change(
            self.storage.agreements,
            network_id,
            cause,
            lambda agreements, network: agreements.terminate(
                network, agreement_id, terminated_on, reason, expected_version
            ),
        )

    # ------------------------------------------------------------------ steering committee

    async def committee(self, network_id: str) -> Committee:
        return await self._part(self.storage.committees, network_id)

    async def add_member(
        self,
        network_id: str,
        person: Person,
        side: Side,
        role: CommitteeRole,
        term_start: date,
        term_end: date | None,
        supervision: Supervision | None,
        *,
        cause: Cause,
    ) -> CommitteeMember:
        return await self._change(
            self.storage.committees,
            network_id,
            cause,
            lambda committee, network: committee.add_member(
                network, person, side, role, term_start, term_end, supervision
            ),
        )

    async def update_member(
        self,
        network_id: str,
        member_id: str,
        expected_version: int,
        *,
        person: Person,
        side: Side,
        role: CommitteeRole,
        supervision: Supervision | None,
        term_start: date,
        term_end: date | None,
        cause: Cause,
    ) -> CommitteeMember:
        return await self._change(
            self.storage.committees,
            network_id,
            cause,
            lambda committee, network: committee.update_member(
                network,
                member_id,
                expected_version,
                person=person,
                side=side,
                role=role,
                supervision=supervision,
                term_start=term_start,
                term_end=term_end,
            ),
        )

    async def remove_member(
        self,
        network_id: str,
        member_id: str,
        expected_version: int,
        removed_on: date,
        reason: str,
        *,
        cause: Cause,
    ) -> CommitteeMember:
        return await self._change(
            self.storage.committees,
            network_id,
            cause,
            lambda committee, network: committee.remove_member(
                network, member_id, removed_on, reason, expected_version
            ),
        )

    # ------------------------------------------------------------------ education office

    async def office(self, network_id: str) -> Office:
        return await self._part(self.storage.offices, network_id)

    async def assign_staff(
        self,
        network_id: str,
        person: Person,
        employer: Employer,
        start_date: date,
        end_date: date | None,
        released_from_school: str | None,
        hours_share: float | None,
        *,
        cause: Cause,
    ) -> OfficeStaff:
        return await self._change(
            self.storage.offices,
            network_id,
            cause,
            lambda office, network: office.assign_staff(
                network, person, employer, start_date, end_date, released_from_school, hours_share
            ),
        )

    async def remove_staff(
        self,
        network_id: str,
        staff_id: str,
        expected_version: int,
        end_date: date,
        reason: str,
        *,
        cause: Cause,
    ) -> OfficeStaff:
        return await self._change(
            self.storage.offices,
            network_id,
            cause,
            lambda office, network: office.remove_staff(
                network, staff_id, end_date, reason, expected_version
            ),
        )

    # ------------------------------------------------------------------ fields of action

    async def fields_of_action(self, network_id: str) -> FieldsOfAction:
        return await self._part(self.storage.fields, network_id)

    async def propose_field(
        self,
        network_id: str,
        title: str,
        starting_situation: str,
        development_needs: str,
        *,
        cause: Cause,
    ) -> FieldOfAction:
        return await self._change(
            self.storage.fields,
            network_id,
            cause,
            lambda fields, network: fields.propose(
                network, title, starting_situation, development_needs
            ),
        )

    async def update_field(
        self,
        network_id: str,
        field_id: str,
        expected_version: int,
        *,
        title: str,
        starting_situation: str,
        development_needs: str,
        cause: Cause,
    ) -> FieldOfAction:
        return await self._change(
            self.storage.fields,
            network_id,
            cause,
            lambda fields, network: fields.update(
                network,
                field_id,
                expected_version,
                title=title,
                starting_situation=starting_situation,
                development_needs=development_needs,
            ),
        )

    async def adopt_field(
        self,
        network_id: str,
        field_id: str,
        expected_version: int,
        adopted_on: date,
        *,
        cause: Cause,
    ) -> FieldOfAction:
        return await self._change(
            self.storage.fields,
            network_id,
            cause,
            lambda fields, network: fields.adopt(network, field_id, adopted_on, expected_version),
        )

    async def close_field(
        self,
        network_id: str,
        field_id: str,
        expected_version: int,
        closed_on: date,
        *,
        cause: Cause,
    ) -> FieldOfAction:
        return await self._change(
            self.storage.fields,
            network_id,
            cause,
            lambda fields, network: fields.close(network, field_id, closed_on, expected_version),
        )

    # ------------------------------------------------------------------ district coordination

    async def district_coordination(self) -> Versioned[DistrictCoordination]:
        found = await self.storage.district.get()
        if found is None:
            raise NotFound("the district coordination has not been set up yet")
        return Versioned(found.aggregate, found.version)

    async def set_district_coordination(
        self,
        coordinator: Person,
        service_unit: ServiceUnit,
        *,
        cause: Cause,
        expected_version: int | None = None,
    ) -> Versioned[DistrictCoordination]:
        district = self.storage.district
        async with district.locked():
            found = await district.get()
            if found is None:
                new = Loaded(DistrictCoordination.establish(coordinator, service_unit), 0, 0)
                return Versioned(new.aggregate, await district.put(new, cause))
            if expected_version is not None and expected_version != found.version:
                raise VersionConflict(
                    f"the district coordination is at version {found.version}, "
                    f"not {expected_version}"
                )
            found.aggregate.change(coordinator, service_unit)
            return Versioned(found.aggregate, await district.put(found, cause))

    async def bulletins(self, *, limit: int, offset: int) -> tuple[list[Bulletin], int]:
        return await self.storage.district.bulletins(limit=limit, offset=offset)

    async def publish_bulletin(
        self, title: str, body: str, author: Person, *, cause: Cause
    ) -> Bulletin:
        bulletin = prepare_bulletin(
            f"bul-{uuid.uuid4().hex[:12]}",
            title,
            body,
            self.today(),
            author,
            await self.storage.networks.all_ids(),
        )
        await self.storage.district.add_bulletin(bulletin, cause)
        return bulletin
