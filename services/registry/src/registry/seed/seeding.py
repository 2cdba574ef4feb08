"""Seeding the registry from a data file, idempotently.

A network that does not exist is registered; one that exists is updated only where the file
differs (no event otherwise); an agreement is signed only if the network has no active one; the
district coordination is set only if it differs. So a second run changes nothing and publishes
nothing.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from rbn_shared.changes import Cause
from rbn_shared.text import Line, Slug
from registry.domain.errors import NotFound
from registry.entrypoints.schemas import MunicipalityIn, OfficeIn, PersonIn, ServiceUnitIn
from registry.service_layer.services import RegistryService

SEED_CORRELATION_ID = "registry-seed"
SEED = Cause(SEED_CORRELATION_ID)


class AgreementSeed(BaseModel):
    model_config = ConfigDict(extra="forbid")
    signed_on: date
    valid_from: date


class NetworkSeed(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Slug
    name: Line
    municipality: MunicipalityIn
    office: OfficeIn
    agreement: AgreementSeed | None = None


class DistrictSeed(BaseModel):
    model_config = ConfigDict(extra="forbid")
    coordinator: PersonIn
    service_unit: ServiceUnitIn


class SeedFile(BaseModel):
    model_config = ConfigDict(extra="ignore")
    networks: list[NetworkSeed]
    district: DistrictSeed


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
    await service.set_district_coordination(
        data.district.coordinator.to_person(),
        data.district.service_unit.to_service_unit(),
        cause=SEED,
    )
    progress("  district coordination in place")
    return counts


async def _seed_network(service: RegistryService, entry: NetworkSeed) -> tuple[str, int]:
    """Register or update one network; sign its agreement if it has none. Returns what it did."""
    municipality, office = entry.municipality.to_municipality(), entry.office.to_office()
    try:
        current = await service.network(entry.id)
    except NotFound:
        await service.register_network(entry.id, entry.name, municipality, office, cause=SEED)
        outcome = "registered"
    else:
        changed = await service.update_network(
            entry.id,
            current.version,
            name=entry.name,
            municipality=municipality,
            office=office,
            cause=SEED,
        )
        outcome = "updated" if changed.version != current.version else "unchanged"
    agreement = entry.agreement
    if agreement is None or (await service.agreements(entry.id)).active is not None:
        return outcome, 0
    await service.sign_agreement(entry.id, agreement.signed_on, agreement.valid_from, cause=SEED)
    return outcome, 1
