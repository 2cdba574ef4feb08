"""The registry's use cases: load under the network's lock, apply the domain, save with events."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar

from rbn_shared.events import Person
from rbn_shared.events.registry import Municipality, OfficeContact, ServiceUnit
from registry.adapters.repository import DistrictRepository, NetworkRepository
from registry.domain.district import Bulletin, DistrictCoordination, prepare_bulletin
from registry.domain.errors import NotFound, StaleVersion
from registry.domain.model import Network

T = TypeVar("T")


@dataclass(frozen=True)
class Changed(Generic[T]):
    """What a command returned, and the network as it is now stored."""

    result: T
    network: Network
    version: int


class RegistryService:
    def __init__(
        self,
        networks: NetworkRepository,
        district: DistrictRepository,
        today: Callable[[], date] = date.today,
    ) -> None:
        self.networks = networks
        self.district = district
        self.today = today

    async def register_network(
        self,
        network_id: str,
        name: str,
        municipality: Municipality,
        office: OfficeContact,
        *,
        correlation_id: str,
    ) -> Network:
        network = Network.register(network_id, name, municipality, office)
        await self.networks.add(network, correlation_id=correlation_id)
        return network

    async def network(self, network_id: str) -> tuple[Network, int]:
        network, version, _ = await self.networks.get(network_id)
        return network, version

    async def change(
        self,
        network_id: str,
        action: Callable[[Network], T],
        *,
        correlation_id: str,
        expected_network_version: int | None = None,
    ) -> Changed[T]:
        """Run one domain command on a network and store its result and events atomically."""
        async with self.networks.locked(network_id):
            network, version, event_count = await self.networks.get(network_id)
            if expected_network_version is not None and expected_network_version != version:
                raise StaleVersion(
                    f"network {network_id} is at version {version}, not {expected_network_version}"
                )
            result = action(network)
            version = await self.networks.save(
                network, version, event_count, correlation_id=correlation_id
            )
            return Changed(result, network, version)

    # ------------------------------------------------------------------ district coordination

    async def district_coordination(self) -> tuple[DistrictCoordination, int]:
        found = await self.district.get()
        if found is None:
            raise NotFound("the district coordination has not been set up yet")
        district, version, _ = found
        return district, version

    async def set_district_coordination(
        self,
        coordinator: Person,
        service_unit: ServiceUnit,
        *,
        correlation_id: str,
        expected_version: int | None = None,
    ) -> tuple[DistrictCoordination, int]:
        async with self.district.locked():
            found = await self.district.get()
            if found is None:
                district = DistrictCoordination.establish(coordinator, service_unit)
                version = await self.district.put(district, None, 0, correlation_id=correlation_id)
                return district, version
            district, version, event_count = found
            if expected_version is not None and expected_version != version:
                raise StaleVersion(
                    f"the district coordination is at version {version}, not {expected_version}"
                )
            district.change(coordinator, service_unit)
            version = await self.district.put(
                district, version, event_count, correlation_id=correlation_id
            )
            return district, version

    async def publish_bulletin(
        self, title: str, body: str, author: Person, *, correlation_id: str
    ) -> Bulletin:
        bulletin = prepare_bulletin(
            f"bul-{uuid.uuid4().hex[:12]}",
            title,
            body,
            self.today(),
            author,
            await self.networks.all_ids(),
        )
        await self.district.add_bulletin(bulletin, correlation_id=correlation_id)
        return bulletin
