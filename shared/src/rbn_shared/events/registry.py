"""Events the registry publishes (topic `registry.events`, key: the network id or `district`).

Each payload carries a full snapshot of what changed, so that a consumer can build its own view
from the events alone and never has to ask the registry.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from rbn_shared.events.base import (
    Contact,
    EventPart,
    EventPayload,
    Identifier,
    MunicipalityKind,
    Name,
    NetworkEvent,
    Person,
    Side,
    Supervision,
    Text,
)

DISTRICT_KEY = "district"


# --------------------------------------------------------------------------- networks


class Municipality(EventPart):
    name: Name
    kind: MunicipalityKind


class OfficeContact(Contact):
    """The Regionales Bildungsbüro's contact details."""

    address: Name | None = None
    phone: Name | None = None


class NetworkSnapshot(NetworkEvent):
    municipality: Municipality
    office: OfficeContact


class NetworkRegistered(NetworkSnapshot):
    event_type: ClassVar[str] = "network-registered"


class NetworkUpdated(NetworkSnapshot):
    event_type: ClassVar[str] = "network-updated"


# --------------------------------------------------------------------------- agreements


class AgreementStatus(StrEnum):
    ACTIVE = "active"
    TERMINATED = "terminated"


class CooperationAgreementSigned(NetworkEvent):
    event_type: ClassVar[str] = "cooperation-agreement-signed"

    agreement_id: Identifier
    signed_on: date
    valid_from: date
    status: AgreementStatus = AgreementStatus.ACTIVE


class CooperationAgreementTerminated(NetworkEvent):
    event_type: ClassVar[str] = "cooperation-agreement-terminated"

    agreement_id: Identifier
    signed_on: date
    terminated_on: date
    reason: Text


# --------------------------------------------------------------------------- steering committee


class CommitteeRole(StrEnum):
    CHAIR = "chair"
    DEPUTY = "deputy"
    MEMBER = "member"


class CommitteeMember(NetworkEvent):
    """A member of the network's Lenkungskreis, as it stands after the change."""

    member_id: Identifier
    person: Person
    side: Side
    role: CommitteeRole
    supervision: Supervision | None = Field(
        default=None,
        description="Set for the Land's regional coordination: upper or lower school supervision.",
    )
    term_start: date
    term_end: date | None = None


class CommitteeMemberAdded(CommitteeMember):
    event_type: ClassVar[str] = "committee-member-added"


class CommitteeMemberUpdated(CommitteeMember):
    event_type: ClassVar[str] = "committee-member-updated"


class CommitteeMemberRemoved(CommitteeMember):
    event_type: ClassVar[str] = "committee-member-removed"

    removed_on: date
    reason: Text


# --------------------------------------------------------------------------- education office


class Employer(StrEnum):
    MUNICIPALITY = "municipality"
    STATE = "state"


class OfficeStaffMember(NetworkEvent):
    """A member of the Regionales Bildungsbüro, as it stands after the change."""

    staff_id: Identifier
    person: Person
    employer: Employer
    released_from_school: Name | None = Field(
        default=None, description="For the Land's staff: the school the teacher is released from."
    )
    hours_share: float | None = Field(
        default=None, gt=0, le=1, description="For the Land's staff: share of the teaching hours."
    )
    start_date: date
    end_date: date | None = None


class OfficeStaffAssigned(OfficeStaffMember):
    event_type: ClassVar[str] = "office-staff-assigned"


class OfficeStaffRemoved(OfficeStaffMember):
    event_type: ClassVar[str] = "office-staff-removed"

    reason: Text


# --------------------------------------------------------------------------- fields of action


class FieldStatus(StrEnum):
    PROPOSED = "proposed"
    ADOPTED = "adopted"
    CLOSED = "closed"


class FieldOfAction(NetworkEvent):
    """A Handlungsfeld, as it stands after the change."""

    field_id: Identifier
    title: Name
    starting_situation: Text
    development_needs: Text
    status: FieldStatus
    adopted_on: date | None = None
    closed_on: date | None = None


class FieldOfActionProposed(FieldOfAction):
    event_type: ClassVar[str] = "field-of-action-proposed"


class FieldOfActionAdopted(FieldOfAction):
    event_type: ClassVar[str] = "field-of-action-adopted"


class FieldOfActionUpdated(FieldOfAction):
    event_type: ClassVar[str] = "field-of-action-updated"


class FieldOfActionClosed(FieldOfAction):
    event_type: ClassVar[str] = "field-of-action-closed"


# --------------------------------------------------------------------------- district coordination


class ServiceUnit(Contact):
    """The Servicestelle that supports the district coordination."""

    phone: Name | None = None
    address: Name | None = None


class DistrictCoordinationChanged(EventPayload):
    event_type: ClassVar[str] = "district-coordination-changed"

    coordinator: Person = Field(description="The Obere Schulaufsicht in charge.")
    service_unit: ServiceUnit


class DistrictBulletinPublished(EventPayload):
    """Information from the Schulministerium, prepared by the district coordination for all."""

    event_type: ClassVar[str] = "district-bulletin-published"

    bulletin_id: Identifier
    title: Name
    body: Text
    published_on: date
    author: Person
    network_ids: list[Identifier] = Field(description="The networks it reaches: all twelve.")


REGISTRY_EVENTS: tuple[type[EventPayload], ...] = (
    NetworkRegistered,
    NetworkUpdated,
    CooperationAgreementSigned,
    CooperationAgreementTerminated,
    CommitteeMemberAdded,
    CommitteeMemberUpdated,
    CommitteeMemberRemoved,
    OfficeStaffAssigned,
    OfficeStaffRemoved,
    FieldOfActionProposed,
    FieldOfActionAdopted,
    FieldOfActionUpdated,
    FieldOfActionClosed,
    DistrictCoordinationChanged,
    DistrictBulletinPublished,
)
