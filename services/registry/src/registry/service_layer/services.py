"""The registry's use cases: one per command (registry.domain.commands).

A command on a part of a network runs through `RegistryService.handle`, the same steps for every
one: under the part's lock, read the network's `NetworkRef` (its events name the network as it is
now), load the part, let the part's method for the command decide, store the part with the events
it returned (version-guarded). `COMMAND_HANDLERS` says, per command, which part and which of its
methods; nothing else is written (a new committee member rewrites only the committee).

The commands of the network itself and of the district load no part: each has its own use case.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any, Final, Generic, TypeVar, cast

from rbn_shared.changes import Cause
from rbn_shared.errors import VersionConflict
from rbn_shared.events import EventPayload, NetworkRef
from rbn_shared.retrying import CONCURRENT_WRITE
from rbn_shared.writes import Versioned
from registry.adapters.repositories import Loaded, PartRepository, Repositories
from registry.domain import commands
from registry.domain.district import Bulletin, DistrictCoordination
from registry.domain.errors import NotFound
from registry.domain.model import (
    Agreements,
    Committee,
    Entity,
    FieldsOfAction,
    Network,
    Office,
    Part,
    People,
    Tenure,
    WholeNetwork,
)

EntityT = TypeVar("EntityT", bound=Entity)
TenureT = TypeVar("TenureT", bound=Tenure)
PartT = TypeVar("PartT", bound=Part)
AddT = TypeVar("AddT", bound=commands.PartCommand[Any])
ChangeT = TypeVar("ChangeT", bound=commands.EntityChange[Any])

Outcome = tuple[EntityT, list[EventPayload]]
"""The entity a command added or changed (what the caller is answered with), and its events."""


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True)
class Adds(Generic[PartT, AddT, EntityT]):
    """A command that adds an entity to a part, under a new id `<prefix>-…`."""

    part: type[PartT]
    prefix: str
    decide: Callable[[PartT, NetworkRef, str, AddT], list[EventPayload]]
    entity: Callable[[PartT, str], EntityT]

    def run(self, part: PartT, network: NetworkRef, command: AddT) -> Outcome[EntityT]:
        entity_id = new_id(self.prefix)
        events = self.decide(part, network, entity_id, command)
        return self.entity(part, entity_id), events


@dataclass(frozen=True)
class Changes(Generic[PartT, ChangeT, EntityT]):
    """A command that changes the entity of a part that `command.entity_id` names."""

    part: type[PartT]
    decide: Callable[[PartT, NetworkRef, ChangeT], list[EventPayload]]
    entity: Callable[[PartT, str], EntityT]

    def run(self, part: PartT, network: NetworkRef, command: ChangeT) -> Outcome[EntityT]:
        events = self.decide(part, network, command)
        return self.entity(part, command.entity_id), events


COMMAND_HANDLERS: Final[
    Mapping[type[commands.PartCommand[Any]], Adds[Any, Any, Any] | Changes[Any, Any, Any]]
] = {
    commands.SignAgreement: Adds(Agreements, "agr", Agreements.sign, Agreements.agreement),
    commands.TerminateAgreement: Changes(Agreements, Agreements.terminate, Agreements.agreement),
    commands.AddMember: Adds(Committee, "mem", Committee.add_member, Committee.member),
    commands.UpdateMember: Changes(Committee, Committee.update_member, Committee.member),
    commands.RemoveMember: Changes(Committee, Committee.remove_member, Committee.member),
    commands.AssignStaff: Adds(Office, "stf", Office.assign_staff, Office.member),
    commands.RemoveStaff: Changes(Office, Office.remove_staff, Office.member),
    commands.ProposeField: Adds(FieldsOfAction, "hf", FieldsOfAction.propose, FieldsOfAction.field),
    commands.UpdateField: Changes(FieldsOfAction, FieldsOfAction.update, FieldsOfAction.field),
    commands.AdoptField: Changes(FieldsOfAction, FieldsOfAction.adopt, FieldsOfAction.field),
    commands.CloseField: Changes(FieldsOfAction, FieldsOfAction.close, FieldsOfAction.field),
}


class RegistryService:
    def __init__(self, storage: Repositories, today: Callable[[], date] = date.today) -> None:
        self.storage = storage
        self.today = today

    # ------------------------------------------------------------------ the parts

    async def handle(
        self, command: commands.PartCommand[EntityT], *, cause: Cause
    ) -> Versioned[EntityT]:
        """Run a command on its part of the network (COMMAND_HANDLERS); the entity it added or
        changed, at the entity's version.

        A command names the entity version its caller read, not the part's: when another
        instance stored the part in between, the command runs again on the fresh part (where a
        change of that very entity is refused as stale by the domain's own check)."""
        return await CONCURRENT_WRITE.call(self._handle_once, command, cause)

    async def _handle_once(
        self, command: commands.PartCommand[EntityT], cause: Cause
    ) -> Versioned[EntityT]:
        use_case = COMMAND_HANDLERS[type(command)]
        parts = self.storage.parts(use_case.part)
        async with parts.locked(command.network_id):
            network = await self.storage.networks.ref(command.network_id)
            loaded = await parts.get(command.network_id)
            try:
                entity, events = use_case.run(loaded.aggregate, network, command)
            except NotFound:
                await self._if_ended(parts, command)
                raise
            await parts.save(loaded, events, cause)
        return Versioned(entity, entity.version)

    @staticmethod
    async def _if_ended(parts: PartRepository[Any], command: commands.PartCommand[Any]) -> None:
        """A change of someone who left (not loaded with the part) is answered as such."""
        if isinstance(command, commands.EntityChange):
            gone = await parts.one_former(command.network_id, command.entity_id)
            if gone is not None:
                raise gone.ended()

    async def part(self, kind: type[PartT], network_id: str, *, with_former: bool = False) -> PartT:
        """A network's part as it is now (`with_former`: with those who left it, a history);
        NotFound if there is no such network."""
        await self.storage.networks.ref(network_id)
        return (await self.storage.parts(kind).get(network_id, with_former=with_former)).aggregate

    async def person(self, kind: type[People[TenureT]], network_id: str, entity_id: str) -> TenureT:
        """Someone of a network's committee or office, current or former (looked up by id)."""
        part = await self.part(kind, network_id)
        try:
            return part.member(entity_id)
        except NotFound:
            gone = await self.storage.parts(kind).one_former(network_id, entity_id)
            if gone is None:
                raise
            return cast(TenureT, gone)

    # ------------------------------------------------------------------ the network itself

    async def register_network(
        self, command: commands.RegisterNetwork, *, cause: Cause
    ) -> Versioned[WholeNetwork]:
        network, events = Network.register(command)
        version = await self.storage.networks.save(Loaded(network, 0, 0), events, cause)
        network_id = network.id
        empty = WholeNetwork.of(
            network,
            Agreements(network_id=network_id),
            Committee(network_id=network_id),
            Office(network_id=network_id),
            FieldsOfAction(network_id=network_id),
        )
        return Versioned(empty, version)

    async def update_network(
        self, command: commands.UpdateNetwork, *, cause: Cause
    ) -> Versioned[WholeNetwork]:
        """Replace name and contacts. The parts keep the name their events carried."""
        networks = self.storage.networks
        async with networks.locked(command.network_id):
            loaded = await networks.get(command.network_id)
            _check_version(f"network {command.network_id}", loaded, command.expected_version)
            version = await networks.save(loaded, loaded.aggregate.update(command), cause)
        [whole] = await self._assembled([loaded.aggregate])
        return Versioned(whole, version)

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

    # ------------------------------------------------------------------ district coordination

    async def district_coordination(self) -> Versioned[DistrictCoordination]:
        found = await self.storage.district.get()
        if found is None:
            raise NotFound("the district coordination has not been set up yet")
        return Versioned(found.aggregate, found.version)

    async def set_district_coordination(
        self, command: commands.SetDistrictCoordination, *, cause: Cause
    ) -> Versioned[DistrictCoordination]:
        district = self.storage.district
        async with district.locked():
            found = await district.get()
            if found is None:
                established, events = DistrictCoordination.establish(command)
                found = Loaded(established, 0, 0)
            else:
                _check_version("the district coordination", found, command.expected_version)
                events = found.aggregate.change(command)
            return Versioned(found.aggregate, await district.put(found, events, cause))

    async def bulletins(self, *, limit: int, offset: int) -> tuple[list[Bulletin], int]:
        return await self.storage.district.bulletins(limit=limit, offset=offset)

    async def publish_bulletin(
        self, command: commands.PublishBulletin, *, cause: Cause
    ) -> Bulletin:
        network_ids = await self.storage.networks.all_ids()
        bulletin, events = Bulletin.prepare(new_id("bul"), self.today(), network_ids, command)
        await self.storage.district.add_bulletin(bulletin, events, cause)
        return bulletin


def _check_version(what: str, loaded: Loaded[Any], expected: int | None) -> None:
    """The document is at the version the caller read (None: the caller read none)."""
    if expected is not None and expected != loaded.version:
        raise VersionConflict(f"{what} is at version {loaded.version}, not {expected}")
