"""What the HTTP API accepts. Unknown fields are refused; every text has a size limit."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints

from rbn_shared.events import Person
from rbn_shared.events.base import MunicipalityKind, Side, Supervision
from rbn_shared.events.registry import (
    CommitteeRole,
    Employer,
    Municipality,
    OfficeContact,
    ServiceUnit,
)

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
LongText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=60)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=20_000)


class PersonIn(Strict):
    name: Name
    email: EmailStr = Field(max_length=254)
    organisation: Name | None = None
    function: Name | None = None

    def to_person(self) -> Person:
        return Person(**self.model_dump())


class MunicipalityIn(Strict):
    name: Name
    kind: MunicipalityKind

    def to_municipality(self) -> Municipality:
        return Municipality(**self.model_dump())


class OfficeIn(Strict):
    name: Name
    email: EmailStr = Field(max_length=254)
    address: Name | None = None
    phone: Name | None = None

    def to_office(self) -> OfficeContact:
        return OfficeContact(**self.model_dump())


class NetworkCreate(Strict):
    id: Slug
    name: Name
    municipality: MunicipalityIn
    office: OfficeIn


class NetworkPatch(Strict):
    name: Name | None = None
    municipality: MunicipalityIn | None = None
    office: OfficeIn | None = None


class AgreementCreate(Strict):
    signed_on: date
    valid_from: date


class AgreementTermination(Strict):
    terminated_on: date
    reason: Reason


class MemberCreate(Strict):
    person: PersonIn
    side: Side
    role: CommitteeRole
    supervision: Supervision | None = None
    term_start: date
    term_end: date | None = None


class MemberPatch(Strict):
    person: PersonIn | None = None
    side: Side | None = None
    role: CommitteeRole | None = None
    supervision: Supervision | None = None
    term_start: date | None = None
    term_end: date | None = None


class MemberRemoval(Strict):
    removed_on: date
    reason: Reason


class StaffCreate(Strict):
    person: PersonIn
    employer: Employer
    released_from_school: Name | None = None
    hours_share: float | None = Field(default=None, gt=0, le=1)
    start_date: date
    end_date: date | None = None


class StaffRemoval(Strict):
    end_date: date
    reason: Reason


class FieldCreate(Strict):
    title: Name
    starting_situation: LongText
    development_needs: LongText


class FieldPatch(Strict):
    title: Name | None = None
    starting_situation: LongText | None = None
    development_needs: LongText | None = None


class FieldAdoption(Strict):
    adopted_on: date


class FieldClosure(Strict):
    closed_on: date


class ServiceUnitIn(Strict):
    name: Name
    email: EmailStr = Field(max_length=254)
    phone: Name | None = None
    address: Name | None = None

    def to_service_unit(self) -> ServiceUnit:
        return ServiceUnit(**self.model_dump())


class DistrictPut(Strict):
    coordinator: PersonIn
    service_unit: ServiceUnitIn


class BulletinCreate(Strict):
    title: Name
    body: LongText
    author: PersonIn


ItemT = TypeVar("ItemT")


class Page(BaseModel, Generic[ItemT]):
    items: list[ItemT]
    total: int
    limit: int
    offset: int
