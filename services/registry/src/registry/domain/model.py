"""The network aggregate: a Regionales Bildungsnetzwerk with everything that belongs to it.

One network is one consistency boundary: its agreements, its steering committee, its education
office staff and its fields of action change together, in order, and every change records the
event that tells the other services about it. Pure code: no I/O.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from rbn_shared.errors import VersionConflict
from rbn_shared.events import EventPayload, NetworkRef, Person
from rbn_shared.events.base import Side, Supervision
from rbn_shared.events.registry import (
    AgreementStatus,
    CommitteeMemberAdded,
    CommitteeMemberRemoved,
    CommitteeMemberUpdated,
    CommitteeRole,
    CooperationAgreementSigned,
    CooperationAgreementTerminated,
    Employer,
    FieldOfActionAdopted,
    FieldOfActionClosed,
    FieldOfActionProposed,
    FieldOfActionUpdated,
    FieldStatus,
    Municipality,
    NetworkRegistered,
    NetworkUpdated,
    OfficeContact,
    OfficeStaffAssigned,
    OfficeStaffRemoved,
)
from registry.domain.errors import Conflict, NotFound, RuleViolation


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


class Entity(BaseModel):
    """An item of a part (an agreement, a member...) with its own id and version (its ETag)."""

    model_config = ConfigDict(validate_assignment=True)

    id: str
    version: int = 1

    def check_version(self, expected: int | None) -> None:
        if expected is not None and expected != self.version:
            raise VersionConflict(
                f"{type(self).__name__} {self.id} is at version {self.version}, not {expected}"
            )


EntityT = TypeVar("EntityT", bound=Entity)


class Agreement(Entity):
    signed_on: date
    valid_from: date
    status: AgreementStatus = AgreementStatus.ACTIVE
    terminated_on: date | None = None
    termination_reason: str | None = None


class CommitteeMember(Entity):
    person: Person
    side: Side
    role: CommitteeRole
    supervision: Supervision | None = None
    term_start: date
    term_end: date | None = None
    removed_on: date | None = None
    removal_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.removed_on is None


class OfficeStaff(Entity):
    person: Person
    employer: Employer
    released_from_school: str | None = None
    hours_share: float | None = None
    start_date: date
    end_date: date | None = None
    removal_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.removal_reason is None


class FieldOfAction(Entity):
    title: str
    starting_situation: str
    development_needs: str
    status: FieldStatus = FieldStatus.PROPOSED
    adopted_on: date | None = None
    closed_on: date | None = None


def _same_person(a: Person, b: Person) -> bool:
    return a.email.casefold() == b.email.casefold()


def _check_order(first: date, then: date | None, field: str, what: str) -> None:
    if then is not None and then < first:
        raise RuleViolation(f"{what} must not lie before {first.isoformat()}", field)


def _check_supervision(side: Side, supervision: Supervision | None) -> None:
    if supervision is not None and side is not Side.STATE:
        raise RuleViolation(
            "only the Land's regional coordination has a supervision level", "supervision"
        )


def _check_state_staff(
    employer: Employer, released_from_school: str | None, hours_share: float | None
) -> None:
    if employer is Employer.STATE:
        if not released_from_school:
            raise RuleViolation(
                "the Land's staff are teachers: name the school they are released from",
                "released_from_school",
            )
        if hours_share is None:
            raise RuleViolation("give the share of the teaching hours released", "hours_share")
    elif released_from_school is not None or hours_share is not None:
        field = "released_from_school" if released_from_school is not None else "hours_share"
        raise RuleViolation("only the Land's staff are released from a school", field)


def _find(items: list[EntityT], item_id: str, what: str) -> EntityT:
    for item in items:
        if item.id == item_id:
            return item
    raise NotFound(f"no {what} {item_id}")


class Recording(BaseModel):
    """An aggregate: its commands record events in `pending_events` until they are stored."""

    model_config = ConfigDict(validate_assignment=True)

    pending_events: list[EventPayload] = Field(default_factory=list, exclude=True)

    def _record(self, event: EventPayload) -> None:
        self.pending_events.append(event)

    def take_events(self) -> list[EventPayload]:
        events, self.pending_events = self.pending_events, []
        return events


# ---------------------------------------------------------------------------- the network itself


class Network(Recording):
    """The network itself: what its parts' events name it by."""

    id: str
    name: str
    municipality: Municipality
    office: OfficeContact

    @classmethod
    def register(
        cls, network_id: str, name: str, municipality: Municipality, office: OfficeContact
    ) -> Network:
        network = cls(id=network_id, name=name, municipality=municipality, office=office)
        network._record(
            NetworkRegistered(network=network.ref, municipality=municipality, office=office)
        )
        return network

    @property
    def ref(self) -> NetworkRef:
        return NetworkRef(id=self.id, name=self.name, office_email=self.office.email)

    def update(self, *, name: str, municipality: Municipality, office: OfficeContact) -> bool:
        """Replace name and contacts; record `network-updated` only if something differs."""
        if (name, municipality, office) == (self.name, self.municipality, self.office):
            return False
        self.name, self.municipality, self.office = name, municipality, office
        self._record(
            NetworkUpdated(network=self.ref, municipality=self.municipality, office=self.office)
        )
        return True


class Part(Recording):
    """A part of a network, changed and stored apart from the network itself."""

    network_id: str


# ---------------------------------------------------------------------------- agreements


class Agreements(Part):
    """A network's cooperation agreements: at most one is active."""

    agreements: list[Agreement] = Field(default_factory=list)

    @property
    def active(self) -> Agreement | None:
        return next((a for a in self.agreements if a.status is AgreementStatus.ACTIVE), None)

    def sign(self, network: NetworkRef, signed_on: date, valid_from: date) -> Agreement:
        if self.active is not None:
            raise Conflict(
                f"network {network.id} already has an active cooperation agreement "
                f"({self.active.id}); terminate it first"
            )
        _check_order(signed_on, valid_from, "valid_from", "the start of validity")
        agreement = Agreement(id=new_id("agr"), signed_on=signed_on, valid_from=valid_from)
        self.agreements.append(agreement)
        self._record(
            CooperationAgreementSigned(
                network=network,
                agreement_id=agreement.id,
                signed_on=signed_on,
                valid_from=valid_from,
            )
        )
        return agreement

    def terminate(
        self,
        network: NetworkRef,
        agreement_id: str,
        terminated_on: date,
        reason: str,
        expected_version: int | None,
    ) -> Agreement:
        agreement = _find(self.agreements, agreement_id, "cooperation agreement")
        agreement.check_version(expected_version)
        if agreement.status is not AgreementStatus.ACTIVE:
            raise Conflict(f"cooperation agreement {agreement_id} is already terminated")
        _check_order(agreement.signed_on, terminated_on, "terminated_on", "the termination")
        agreement.status = AgreementStatus.TERMINATED
        agreement.terminated_on = terminated_on
        agreement.termination_reason = reason
        agreement.version += 1
        self._record(
            CooperationAgreementTerminated(
                network=network,
                agreement_id=agreement.id,
                signed_on=agreement.signed_on,
                terminated_on=terminated_on,
                reason=reason,
            )
        )
        return agreement


# ---------------------------------------------------------------------------- steering committee


class Committee(Part):
    """A network's steering committee (Lenkungskreis): a person is an active member once."""

    members: list[CommitteeMember] = Field(default_factory=list)

    def add_member(
        self,
        network: NetworkRef,
        person: Person,
        side: Side,
        role: CommitteeRole,
        term_start: date,
        term_end: date | None = None,
        supervision: Supervision | None = None,
    ) -> CommitteeMember:
        if any(m.active and _same_person(m.person, person) for m in self.members):
            raise Conflict(
                f"{person.email} is already a member of the steering committee of {network.name}",
                "person.email",
            )
        _check_order(term_start, term_end, "term_end", "the end of the term")
        _check_supervision(side, supervision)
        member = CommitteeMember(
            id=new_id("mem"),
            person=person,
            side=side,
            role=role,
            supervision=supervision,
            term_start=term_start,
            term_end=term_end,
        )
        self.members.append(member)
        self._record(CommitteeMemberAdded(network=network, **_member_fields(member)))
        return member

    def update_member(
        self,
        network: NetworkRef,
        member_id: str,
        expected_version: int | None,
        *,
        person: Person,
        side: Side,
        role: CommitteeRole,
        supervision: Supervision | None,
        term_start: date,
        term_end: date | None,
    ) -> CommitteeMember:
        """Replace what the member is (all of it, so None clears supervision or term end);
        record `committee-member-updated` only if something differs."""
        member = self.active_member(member_id)
        member.check_version(expected_version)
        if any(
            m.active and m.id != member.id and _same_person(m.person, person) for m in self.members
        ):
            raise Conflict(f"{person.email} is already a member of this committee", "person.email")
        _check_supervision(side, supervision)
        _check_order(term_start, term_end, "term_end", "the end of the term")
        candidate = member.model_copy(
            update={
                "person": person,
                "side": side,
                "role": role,
                "supervision": supervision,
                "term_start": term_start,
                "term_end": term_end,
            }
        )
        if candidate == member:
            return member
        candidate.version = member.version + 1
        self.members[self.members.index(member)] = candidate
        self._record(CommitteeMemberUpdated(network=network, **_member_fields(candidate)))
        return candidate

    def remove_member(
        self,
        network: NetworkRef,
        member_id: str,
        removed_on: date,
        reason: str,
        expected_version: int | None,
    ) -> CommitteeMember:
        member = self.active_member(member_id)
        member.check_version(expected_version)
        _check_order(member.term_start, removed_on, "removed_on", "the removal")
        member.removed_on = removed_on
        member.removal_reason = reason
        member.version += 1
        self._record(
            CommitteeMemberRemoved(
                network=network, removed_on=removed_on, reason=reason, **_member_fields(member)
            )
        )
        return member

    def member(self, member_id: str) -> CommitteeMember:
        return _find(self.members, member_id, "committee member")

    def active_member(self, member_id: str) -> CommitteeMember:
        member = self.member(member_id)
        if not member.active:
            raise NotFound(f"committee member {member_id} was removed on {member.removed_on}")
        return member


def _member_fields(member: CommitteeMember) -> dict[str, object]:
    return {
        "member_id": member.id,
        "person": member.person,
        "side": member.side,
        "role": member.role,
        "supervision": member.supervision,
        "term_start": member.term_start,
        "term_end": member.term_end,
    }


# ---------------------------------------------------------------------------- education office


class Office(Part):
    """A network's education office (Bildungsbüro) staff: a person works in it once."""

    staff: list[OfficeStaff] = Field(default_factory=list)

    def assign_staff(
        self,
        network: NetworkRef,
        person: Person,
        employer: Employer,
        start_date: date,
        end_date: date | None = None,
        released_from_school: str | None = None,
        hours_share: float | None = None,
    ) -> OfficeStaff:
        if any(s.active and _same_person(s.person, person) for s in self.staff):
            raise Conflict(
                f"{person.email} already works in the education office of {network.name}",
                "person.email",
            )
        _check_order(start_date, end_date, "end_date", "the end date")
        _check_state_staff(employer, released_from_school, hours_share)
        staff = OfficeStaff(
            id=new_id("stf"),
            person=person,
            employer=employer,
            released_from_school=released_from_school,
            hours_share=hours_share,
            start_date=start_date,
            end_date=end_date,
        )
        self.staff.append(staff)
        self._record(OfficeStaffAssigned(network=network, **_staff_fields(staff)))
        return staff

    def remove_staff(
        self,
        network: NetworkRef,
        staff_id: str,
        end_date: date,
        reason: str,
        expected_version: int | None,
    ) -> OfficeStaff:
        staff = self.member(staff_id)
        if not staff.active:
            raise NotFound(f"office staff member {staff_id} has left already")
        staff.check_version(expected_version)
        _check_order(staff.start_date, end_date, "end_date", "the end date")
        staff.end_date = end_date
        staff.removal_reason = reason
        staff.version += 1
        self._record(OfficeStaffRemoved(network=network, reason=reason, **_staff_fields(staff)))
        return staff

    def member(self, staff_id: str) -> OfficeStaff:
        return _find(self.staff, staff_id, "office staff member")


def _staff_fields(staff: OfficeStaff) -> dict[str, object]:
    return {
        "staff_id": staff.id,
        "person": staff.person,
        "employer": staff.employer,
        "released_from_school": staff.released_from_school,
        "hours_share": staff.hours_share,
        "start_date": staff.start_date,
        "end_date": staff.end_date,
    }


# ---------------------------------------------------------------------------- fields of action


class FieldsOfAction(Part):
    """A network's fields of action (Handlungsfelder): open ones do not share a title."""

    fields: list[FieldOfAction] = Field(default_factory=list)

    def propose(
        self, network: NetworkRef, title: str, starting_situation: str, development_needs: str
    ) -> FieldOfAction:
        self._check_title_free(network, title)
        field = FieldOfAction(
            id=new_id("hf"),
            title=title,
            starting_situation=starting_situation,
            development_needs=development_needs,
        )
        self.fields.append(field)
        self._record(FieldOfActionProposed(network=network, **_field_fields(field)))
        return field

    def adopt(
        self, network: NetworkRef, field_id: str, adopted_on: date, expected_version: int | None
    ) -> FieldOfAction:
        field = self.field(field_id)
        field.check_version(expected_version)
        if field.status is not FieldStatus.PROPOSED:
            raise Conflict(f"field of action {field_id} is {field.status.value}, not proposed")
        field.status = FieldStatus.ADOPTED
        field.adopted_on = adopted_on
        field.version += 1
        self._record(FieldOfActionAdopted(network=network, **_field_fields(field)))
        return field

    def update(
        self,
        network: NetworkRef,
        field_id: str,
        expected_version: int | None,
        *,
        title: str,
        starting_situation: str,
        development_needs: str,
    ) -> FieldOfAction:
        """Replace the texts of an open field; record `field-of-action-updated` only if they
        differ."""
        field = self.field(field_id)
        field.check_version(expected_version)
        if field.status is FieldStatus.CLOSED:
            raise Conflict(f"field of action {field_id} is closed")
        self._check_title_free(network, title, but=field)
        candidate = field.model_copy(
            update={
                "title": title,
                "starting_situation": starting_situation,
                "development_needs": development_needs,
            }
        )
        if candidate == field:
            return field
        candidate.version = field.version + 1
        self.fields[self.fields.index(field)] = candidate
        self._record(FieldOfActionUpdated(network=network, **_field_fields(candidate)))
        return candidate

    def close(
        self, network: NetworkRef, field_id: str, closed_on: date, expected_version: int | None
    ) -> FieldOfAction:
        field = self.field(field_id)
        field.check_version(expected_version)
        if field.status is not FieldStatus.ADOPTED:
            raise Conflict(
                f"field of action {field_id} is {field.status.value}; only adopted ones close"
            )
        assert field.adopted_on is not None  # noqa: S101 - adopted fields have a date
        _check_order(field.adopted_on, closed_on, "closed_on", "the closing")
        field.status = FieldStatus.CLOSED
        field.closed_on = closed_on
        field.version += 1
        self._record(FieldOfActionClosed(network=network, **_field_fields(field)))
        return field

    def field(self, field_id: str) -> FieldOfAction:
        return _find(self.fields, field_id, "field of action")

    def _check_title_free(
        self, network: NetworkRef, title: str, but: FieldOfAction | None = None
    ) -> None:
        """No other open field has this title (`but` itself may: a field keeps its own)."""
        if any(
            f.title.casefold() == title.casefold()
            and f.status is not FieldStatus.CLOSED
            and f is not but
            for f in self.fields
        ):
            raise Conflict(f"{network.name} already has an open field of action {title!r}", "title")


def _field_fields(field: FieldOfAction) -> dict[str, object]:
    return {
        "field_id": field.id,
        "title": field.title,
        "starting_situation": field.starting_situation,
        "development_needs": field.development_needs,
        "status": field.status,
        "adopted_on": field.adopted_on,
        "closed_on": field.closed_on,
    }


# ---------------------------------------------------------------------------- the whole network


class WholeNetwork(BaseModel):
    """A network with all its parts, as the API shows it: assembled for reading, never changed."""

    id: str
    name: str
    municipality: Municipality
    office: OfficeContact
    agreements: list[Agreement]
    committee: list[CommitteeMember]
    staff: list[OfficeStaff]
    fields_of_action: list[FieldOfAction]

    @classmethod
    def of(
        cls,
        network: Network,
        agreements: Agreements,
        committee: Committee,
        office: Office,
        fields: FieldsOfAction,
    ) -> WholeNetwork:
        return cls(
            id=network.id,
            name=network.name,
            municipality=network.municipality,
            office=network.office,
            agreements=agreements.agreements,
            committee=committee.members,
            staff=office.staff,
            fields_of_action=fields.fields,
        )
