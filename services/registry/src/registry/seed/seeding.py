"""Seeding the registry from a data file, idempotently.

A network that does not exist is registered; one that exists is updated only where the file
differs (no event otherwise); an agreement is signed only if the network has no active one; the
district coordination is set only if it differs. So a second run changes nothing and publishes
nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
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


async def seed(
    service: RegistryService, data: SeedFile, progress: Callable[[str], None] = print
) -> dict[str, int]:
    """Bring the registry in line with the file; returns counts of what happened."""
    counts = {"registered": 0, "updated": 0, "unchanged": 0, "agreements": 0}
    for entry in data.networks:
        outcome, signed = await _seed_network(service, entry)
        counts[outcome] += 1
        counts["agreements"] += signed
        progress(f"  {outcome:<10} {entry.name}")
    district = commands.SetDistrictCoordination(
        data.district.coordinator.to(Person), data.district.service_unit.to(ServiceUnit)
    )
    await service.set_district_coordination(district, cause=SEED)
    progress("  district coordination in place")
    return counts


async def _seed_network(service: RegistryService, entry: NetworkSeed) -> tuple[str, int]:
    """Register or update one network; sign its agreement if it has none. Returns what it did."""
    details = entry.to(NetworkDetails)
    try:
        current = await service.network(entry.id)
    except NotFound:
        registration = commands.RegisterNetwork(entry.id, details)
        await service.register_network(registration, cause=SEED)
        outcome = "registered"
    else:
        update = commands.UpdateNetwork(entry.id, current.version, details)
        changed = await service.update_network(update, cause=SEED)
        outcome = "updated" if changed.version != current.version else "unchanged"
    agreement = entry.agreement
    if agreement is None or (await service.part(Agreements, entry.id)).active is not None:
        return outcome, 0
    signing = commands.SignAgreement(entry.id, agreement.signed_on, agreement.valid_from)
    await service.handle(signing, cause=SEED)
    return outcome, 1
