"""What can be asked of the registry: one command per change, pure data, named as a request.

A route builds a command from its body and, to change something that exists, the version the
caller read (If-Match). The command is handed to the aggregate's method of the same name, which
checks the rules and returns the events it caused. A command on a part of a network is typed with
the entity its use case answers with (`PartCommand[CommitteeMember]`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Generic, TypeVar

from rbn_shared.events import Person
from rbn_shared.events.registry import ServiceUnit
from registry.domain.model import (
    Agreement,
    CommitteeMember,
    Employment,
    Entity,
    FieldDescription,
    FieldOfAction,
    Membership,
    NetworkDetails,
    OfficeStaff,
)

EntityT = TypeVar("EntityT", bound=Entity)


@dataclass(frozen=True)
class NetworkCommand:
    """A command about one network: of the network itself, or of one of its parts."""

    network_id: str


@dataclass(frozen=True)
class RegisterNetwork(NetworkCommand):
    details: NetworkDetails


@dataclass(frozen=True)
class UpdateNetwork(NetworkCommand):
    """Replace name and contacts, at the network's version the caller read."""

    expected_version: int
    details: NetworkDetails


@dataclass(frozen=True)
class PartCommand(NetworkCommand, Generic[EntityT]):
    """A change of one of a network's parts, answered with the entity it adds or changes."""


@dataclass(frozen=True)
class EntityChange(PartCommand[EntityT]):
    """A change of an entity that exists, at its version the caller read."""

    entity_id: str
    expected_version: int


@dataclass(frozen=True)
class SignAgreement(PartCommand[Agreement]):
    signed_on: date
    valid_from: date


@dataclass(frozen=True)
class TerminateAgreement(EntityChange[Agreement]):
    terminated_on: date
    reason: str


@dataclass(frozen=True)
class AddMember(PartCommand[CommitteeMember]):
    membership: Membership


@dataclass(frozen=True)
class UpdateMember(EntityChange[CommitteeMember]):
    membership: Membership


@dataclass(frozen=True)
class RemoveMember(EntityChange[CommitteeMember]):
    removed_on: date
    reason: str


@dataclass(frozen=True)
class AssignStaff(PartCommand[OfficeStaff]):
    employment: Employment


@dataclass(frozen=True)
class RemoveStaff(EntityChange[OfficeStaff]):
    end_date: date
    reason: str


@dataclass(frozen=True)
class ProposeField(PartCommand[FieldOfAction]):
    description: FieldDescription


@dataclass(frozen=True)
class UpdateField(EntityChange[FieldOfAction]):
    description: FieldDescription


@dataclass(frozen=True)
class AdoptField(EntityChange[FieldOfAction]):
    adopted_on: date


@dataclass(frozen=True)
class CloseField(EntityChange[FieldOfAction]):
    closed_on: date


@dataclass(frozen=True)
class SetDistrictCoordination:
    """Who coordinates the district. `expected_version` is None where the caller read none: the
    first setting has no version to read yet."""

    coordinator: Person
    service_unit: ServiceUnit
    expected_version: int | None = None


@dataclass(frozen=True)
class PublishBulletin:
    title: str
    body: str
    author: Person
