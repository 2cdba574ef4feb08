"""What the HTTP API accepts. Unknown fields are refused; every text has a size limit.

Texts and addresses use the shared clean-input types (rbn_shared.text, rbn_shared.addresses): one
line without control characters for names, canonical addresses, ids matched exactly. So what
the registry stores and publishes is already clean; the event payloads do not clean it again.
"""

from __future__ import annotations

from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from rbn_shared.addresses import Address
from rbn_shared.events.base import MunicipalityKind, Side, Supervision
from rbn_shared.events.registry import CommitteeRole, Employer
from rbn_shared.text import Key, Line, LongText, Reason, Slug

DomainT = TypeVar("DomainT", bound=BaseModel)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=20_000)

    def to(self, kind: type[DomainT]) -> DomainT:
        """What was accepted, as the domain's `kind` (`body.person.to(Person)`)."""
        return kind.model_validate(self.model_dump())


def editable(schema: type[Strict], entity: BaseModel) -> dict[str, Any]:
    """`entity` as `schema` would accept it (JSON, empty members left out): the document a
    merge patch of the entity applies to."""
    return entity.model_dump(mode="json", include=set(schema.model_fields), exclude_none=True)


class ContactIn(Strict):
    """A contact (rbn_shared.events.base.Contact) as the API accepts it: a person, an office and
    a service unit are each one, with their own further details."""

    name: Line
    email: Address


class PersonIn(ContactIn):
    organisation: Line | None = None
    function: Line | None = None


class OfficeIn(ContactIn):
    address: Line | None = None
    phone: Line | None = None


class ServiceUnitIn(ContactIn):
    phone: Line | None = None
    address: Line | None = None


class MunicipalityIn(Strict):
    name: Line
    kind: MunicipalityKind


class NetworkChange(Strict):
    """A network's editable part: what PATCH /networks/{id} merges into."""

    name: Line
    municipality: MunicipalityIn
    office: OfficeIn


class NetworkCreate(NetworkChange):
    id: Slug


class AgreementCreate(Strict):
    signed_on: date
    valid_from: date


class AgreementTermination(Strict):
    terminated_on: date
    reason: Reason


class MemberCreate(Strict):
    """A committee member as added, and as a merge patch of one must leave it."""

    person: PersonIn
    side: Side
    role: CommitteeRole
    supervision: Supervision | None = Field(
        default=None, description="Only for the Land's regional coordination (side `state`)."
    )
    term_start: date
    term_end: date | None = None


class MemberRemoval(Strict):
    removed_on: date
    reason: Reason


class StaffCreate(Strict):
    person: PersonIn
    employer: Employer
    released_from_school: Line | None = None
    hours_share: float | None = Field(default=None, gt=0, le=1)
    start_date: date
    end_date: date | None = None


class StaffRemoval(Strict):
    end_date: date
    reason: Reason


class FieldCreate(Strict):
    """A field of action as proposed, and as a merge patch of one must leave it."""

    title: Line
    starting_situation: LongText
    development_needs: LongText


class FieldAdoption(Strict):
    adopted_on: date


class FieldClosure(Strict):
    closed_on: date


class DistrictPut(Strict):
    coordinator: PersonIn
    service_unit: ServiceUnitIn


class BulletinCreate(Strict):
    title: Line
    body: LongText
    author: PersonIn


class ErasureRequest(Strict):
    """Whom to erase: exactly one of an address, a committee seat, an office post."""

    email: Address | None = None
    network_id: Slug | None = None
    member_id: Key | None = Field(default=None, description="With network_id: a committee seat")
    staff_id: Key | None = Field(default=None, description="With network_id: an office post")
