"""Events the registry publishes (topic `registry.events`, key: the network id or `district`).

Each payload carries a full snapshot of what changed, so that a consumer can build its own view
from the events alone and never has to ask the registry.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import Field, StringConstraints

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


# --------------------------------------------------------------------------- privacy

SubjectDigest = Annotated[
    str,
    StringConstraints(pattern=r"^[0-9a-f]{64}$"),
    Field(
        description="SHA-256 (hex) of the person's canonical address (rbn_shared.privacy."
        "subject_of): identifies their records without carrying the address."
    ),
]


class PersonErased(EventPayload):
    """The district coordination erased a person from the whole system (Art. 17 DSGVO).

    Carries no personal data. Every reader finds its copies by the addresses it holds (their
    subject equals `subject`) and replaces name and address by `rbn_shared.privacy.ERASED_NAME`
    and `erased_address(subject)`, keeping structure and counts; mail not yet sent to the person
    is not sent. Events about the person that occurred before this one but are read after it
    are applied anonymised (the reader keeps the erased subjects). Published under the key
    `district`; an erasure of someone the registry never held is published too (they may be a
    conference's delegate or have preferences)."""

    event_type: ClassVar[str] = "person-erased"

    erasure_id: Identifier
    subject: SubjectDigest
    network_ids: list[Identifier] = Field(
        default_factory=list, description="The networks whose records of the person were erased."
    )
    member_ids: list[Identifier] = Field(
        default_factory=list,
        description="The committee seats anonymised (each stays, held from-to).",
    )
    staff_ids: list[Identifier] = Field(
        default_factory=list, description="The office posts anonymised."
    )


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
    PersonErased,
)
