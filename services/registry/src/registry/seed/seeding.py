"""Seeding the registry from a data file, without ever overwriting an operator's data.

By default the seed creates what is missing and leaves what exists as it is: a network that does
not exist is registered and its agreement signed; one that exists is left untouched, whatever the
file says (its office address may have been corrected since); the district coordination is set
only if there is none. So a second run changes nothing and publishes nothing, and `./dev up` and
compose's `registry-seed` may run it at every start.

Applying the file over existing data (`over_existing`, the CLI's confirmed
`--apply-over-existing`) also brings existing networks and the district coordination in line with
the file (an event only where they differ) and signs a file's agreement where a network has no
active one. `differences` says beforehand what that would change.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from rbn_shared.changes import Cause
from rbn_shared.events import Person
from rbn_shared.events.registry import ServiceUnit
from registry.domain import commands
from registry.domain.errors import NotFound
from registry.domain.model import Agreements, NetworkDetails
from registry.entrypoints.schemas import AgreementCreate, DistrictPut, NetworkCreate
from registry.service_layer.services import RegistryService

SEED_CORRELATION_ID = "registry-seed"
SEED = Cause(SEED_CORRELATION_ID)


class NetworkSeed(NetworkCreate):
    """A network as the API registers it, with its active agreement if it has one."""

    agreement: AgreementCreate | None = None


class SeedFile(BaseModel):
    model_config = ConfigDict(extra="ignore")
    networks: list[NetworkSeed]
    district: DistrictPut


def default_seed_file() -> Path:
    return Path(str(resources.files("registry.seed").joinpath("networks.json")))


def load_seed(path: Path) -> SeedFile:
    data: Any = json.loads(path.read_text(encoding="utf-8"))
    return SeedFile.model_validate(data)


@dataclass
class SeedReport:
    """What a seed run did, per network and for the district coordination."""

    created: int = 0
    left: int = 0
    """Existing networks left as they were (the default)."""
    updated: int = 0
    """Existing networks brought in line with the file (over existing data only)."""
    unchanged: int = 0
    """Existing networks already as in the file (over existing data only)."""
    agreements: int = 0
    district: str = "left as it was"
    over_existing: bool = False

    def summary(self) -> str:
        signed = f"{self.agreements} agreements signed, district coordination {self.district}"
        if self.over_existing:
            return (
                f"applied over existing data: created {self.created}, updated {self.updated}, "
                f"{self.unchanged} already as in the file ({signed})"
            )
        return f"created {self.created}, left {self.left} as they were ({signed})"


async def seed(
    service: RegistryService,
    data: SeedFile,
    progress: Callable[[str], None] = print,
    *,
    over_existing: bool = False,
) -> SeedReport:
    """Create what is missing; with `over_existing` also bring what exists in line with the file."""
    report = SeedReport(over_existing=over_existing)
    for entry in data.networks:
        outcome = await _seed_network(service, entry, report, over_existing=over_existing)
        progress(f"  {outcome:<16} {entry.name}")
    report.district = await _seed_district(service, data.district, over_existing=over_existing)
    progress(f"  district coordination {report.district}")
    return report


async def differences(service: RegistryService, data: SeedFile) -> list[str]:
    """What applying the file over existing data would change: the ids of the existing networks
    that differ from it, and `district` if the district coordination does. Changes nothing."""
    changed = []
    for entry in data.networks:
        try:
            current = (await service.network(entry.id)).value
        except NotFound:
            continue
        as_now = NetworkDetails(
            name=current.name, municipality=current.municipality, office=current.office
        )
        if as_now != entry.to(NetworkDetails):
            changed.append(entry.id)
    try:
        district = (await service.district_coordination()).value
    except NotFound:
        return changed
    if (district.coordinator, district.service_unit) != _district_values(data.district):
        changed.append("district")
    return changed


async def _seed_network(
    service: RegistryService, entry: NetworkSeed, report: SeedReport, *, over_existing: bool
) -> str:
    """Register a missing network (and sign its agreement); leave or update an existing one."""
    details = entry.to(NetworkDetails)
    try:
        current = await service.network(entry.id)
    except NotFound:
        registration = commands.RegisterNetwork(entry.id, details)
        await service.register_network(registration, cause=SEED)
        report.created += 1
        outcome = "created"
    else:
        if not over_existing:
            report.left += 1
            return "left as it was"
        update = commands.UpdateNetwork(entry.id, current.version, details)
        changed = await service.update_network(update, cause=SEED)
        if changed.version != current.version:
            report.updated += 1
            outcome = "updated"
        else:
            report.unchanged += 1
            outcome = "as in the file"
    agreement = entry.agreement
    if agreement is None or (await service.part(Agreements, entry.id)).active is not None:
        return outcome
    signing = commands.SignAgreement(entry.id, agreement.signed_on, agreement.valid_from)
    await service.handle(signing, cause=SEED)
    report.agreements += 1
    return outcome


async def _seed_district(
    service: RegistryService, district: DistrictPut, *, over_existing: bool
) -> str:
    values = _district_values(district)
    try:
        current = await service.district_coordination()
    except NotFound:
        await service.set_district_coordination(
            commands.SetDistrictCoordination(*values), cause=SEED
        )
        return "created"
    if not over_existing:
        return "left as it was"
    if (current.value.coordinator, current.value.service_unit) == values:
        return "as in the file"
    change = commands.SetDistrictCoordination(*values, expected_version=current.version)
    await service.set_district_coordination(change, cause=SEED)
    return "updated"


def _district_values(district: DistrictPut) -> tuple[Person, ServiceUnit]:
    return district.coordinator.to(Person), district.service_unit.to(ServiceUnit)
