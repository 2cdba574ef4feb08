"""A network and its parts: each part is an aggregate of its own, sized to the rule it keeps.

The network itself (name and contacts), its agreements, its steering committee, its education
office staff and its fields of action are changed and stored apart. A command checks the
aggregate's rules, changes it, and returns the events it caused; a factory returns the new
aggregate with its events. Pure code: no I/O, no storage format.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator

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
    NetworkSnapshot,
    NetworkUpdated,
    OfficeContact,
    OfficeStaffAssigned,
    OfficeStaffRemoved,
)
from rbn_shared.subjects import is_erased_address
from registry.domain.errors import Conflict, NotFound, RuleViolation
from registry.domain.privacy import ERASED_REASON, DataSubject

if TYPE_CHECKING:  # only for the types: commands imports this module for its entities
    from registry.domain import commands


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


def _values(model: BaseModel, of: type[BaseModel]) -> dict[str, object]:
    """`model`'s values of the fields that `of` declares (the values themselves, not copies)."""
    return {name: getattr(model, name) for name in of.model_fields}


def _snapshot(entity: Entity, id_field: str, of: type[BaseModel]) -> dict[str, object]:
    """What an entity's events carry: its id as `id_field` and its values of `of`."""
    return {id_field: entity.id, **_values(entity, of)}


def _same_person(a: Person, b: Person) -> bool:
    return a.email.casefold() == b.email.casefold()


def _check_order(first: date, then: date | None, field: str, what: str) -> None:
    if then is not None and then < first:
        raise RuleViolation(f"{what} must not lie before {first.isoformat()}", field)


def _find(items: list[EntityT], item_id: str, what: str) -> EntityT:
    for item in items:
        if item.id == item_id:
            return item
    raise NotFound(f"no {what} {item_id}")


def _revise(entity: Entity, **values: object) -> None:
    """Set `values` on the entity (each checked as it is assigned) and count it one version on:
    every change of an entity is a new version, its new ETag."""
    for name, value in values.items():
        setattr(entity, name, value)
    entity.version += 1


def _replaced(items: list[EntityT], item: EntityT, values: BaseModel) -> EntityT | None:
    """`item` with `values` in place of its own, one version on, instead of it in `items`; None
    (and nothing replaced) if the values are what it has."""
    candidate = item.model_copy(update=dict(values))
    if candidate == item:
        return None
    candidate.version = item.version + 1
    items[items.index(item)] = candidate
    return candidate


# ---------------------------------------------------------------------------- the network itself


class NetworkDetails(BaseModel):
    """What a network is called and how its office is reached: as registered, and as an update
    replaces it whole."""

    name: str
    municipality: Municipality
    office: OfficeContact


class Network(NetworkDetails):
    """The network itself: what its parts' events name it by."""

    model_config = ConfigDict(validate_assignment=True)

    id: str

    @classmethod
    def register(cls, command: commands.RegisterNetwork) -> tuple[Network, list[EventPayload]]:
        network = cls(id=command.network_id, **dict(command.details))
        return network, [network._event(NetworkRegistered)]

    @property
    def ref(self) -> NetworkRef:
        return NetworkRef(id=self.id, name=self.name, office_email=self.office.email)

    def update(self, command: commands.UpdateNetwork) -> list[EventPayload]:
        """Replace name and contacts; `network-updated` only if something differs."""
        new = command.details
        if dict(new) == _values(self, NetworkDetails):
            return []
        self.name, self.municipality, self.office = new.name, new.municipality, new.office
        return [self._event(NetworkUpdated)]

    def _event(self, kind: type[NetworkSnapshot]) -> NetworkSnapshot:
        return kind(network=self.ref, municipality=self.municipality, office=self.office)


class Part(BaseModel):
    """A part of a network, changed and stored apart from the network itself.

    Its commands take the network's `NetworkRef` (its events name the network as it is now) and
    the command; one that adds an entity takes the new entity's id as well."""

    model_config = ConfigDict(validate_assignment=True)

    network_id: str


class Tenure(Entity):
    """Someone's seat or post: current until it ends."""

    @property
    def active(self) -> bool:
        raise NotImplementedError

    def ended(self) -> NotFound:
        """What a change of it is answered once it ended."""
        raise NotImplementedError


TenureT = TypeVar("TenureT", bound=Tenure)


class People(Part, Generic[TenureT]):
    """A part whose people join and leave: the steering committee, the education office.

    Its own list holds the current ones; those who left are `former`, stored apart, one
    document each, so the part's document (read and rewritten by every change) stays the size
    of the committee or office now, however many have left over the years. A command's load
    leaves the former ones out (no rule of it needs them): `former` then holds only those who
    leave in this change. A history's load (the list with the former, privacy) takes them in.
    """

    what: ClassVar[str]  # what one of them is called: "committee member"
    former: list[TenureT] = Field(default_factory=list, exclude=True)

    @property
    def current(self) -> list[TenureT]:
        raise NotImplementedError

    @model_validator(mode="after")
    def _who_left_is_former(self) -> People[TenureT]:
        """Whoever left is former, not current (a part stored before kept them in its list)."""
        for ended in [t for t in self.current if not t.active]:
            self._leave(ended)
        return self

    def member(self, entity_id: str) -> TenureT:
        """One of them, current or (as far as loaded) former."""
        return _find(self._everyone(), entity_id, self.what)

    def _leave(self, tenure: TenureT) -> None:
        self.current.remove(tenure)
        self.former.append(tenure)

    def _everyone(self) -> list[TenureT]:
        return [*self.current, *self.former]


# ---------------------------------------------------------------------------- agreements


class Agreement(Entity):
    signed_on: date
    valid_from: date
    status: AgreementStatus = AgreementStatus.ACTIVE
    terminated_on: date | None = None
    termination_reason: str | None = None


class Agreements(Part):
    """A network's cooperation agreements: at most one is active."""

    agreements: list[Agreement] = Field(default_factory=list)

    @property
    def active(self) -> Agreement | None:
        return next((a for a in self.agreements if a.status is AgreementStatus.ACTIVE), None)

    def agreement(self, agreement_id: str) -> Agreement:
        return _find(self.agreements, agreement_id, "cooperation agreement")

    def sign(
        self, network: NetworkRef, agreement_id: str, command: commands.SignAgreement
    ) -> list[EventPayload]:
        if self.active is not None:
            raise Conflict(
                f"network {network.id} already has an active cooperation agreement "
                f"({self.active.id}); terminate it first"
            )
        signed_on, valid_from = command.signed_on, command.valid_from
        _check_order(signed_on, valid_from, "valid_from", "the start of validity")
        self.agreements.append(
            Agreement(id=agreement_id, signed_on=signed_on, valid_from=valid_from)
        )
        return [
            CooperationAgreementSigned(
                network=network,
                agreement_id=agreement_id,
                signed_on=signed_on,
                valid_from=valid_from,
            )
        ]

    def terminate(
        self, network: NetworkRef, command: commands.TerminateAgreement
    ) -> list[EventPayload]:
        agreement = self.agreement(command.entity_id)
        agreement.check_version(command.expected_version)
        if agreement.status is not AgreementStatus.ACTIVE:
            raise Conflict(f"cooperation agreement {agreement.id} is already terminated")
        _check_order(agreement.signed_on, command.terminated_on, "terminated_on", "the termination")
        _revise(
            agreement,
            status=AgreementStatus.TERMINATED,
            terminated_on=command.terminated_on,
            termination_reason=command.reason,
        )
        return [
            CooperationAgreementTerminated(
                network=network,
                agreement_id=agreement.id,
                signed_on=agreement.signed_on,
                terminated_on=command.terminated_on,
                reason=command.reason,
            )
        ]


# ---------------------------------------------------------------------------- steering committee


class Membership(BaseModel):
    """What a committee member is: as added, and as an update replaces it whole."""

    person: Person
    side: Side
    role: CommitteeRole
    supervision: Supervision | None = None
    term_start: date
    term_end: date | None = None


class CommitteeMember(Membership, Tenure):
    removed_on: date | None = None
    removal_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.removed_on is None

    def ended(self) -> NotFound:
        return NotFound(f"committee member {self.id} was removed on {self.removed_on}")


class Committee(People[CommitteeMember]):
    """A network's steering committee (Lenkungskreis): a person is an active member once."""

    what = "committee member"
    members: list[CommitteeMember] = Field(default_factory=list)

    @property
    def current(self) -> list[CommitteeMember]:
        return self.members

    def add_member(
        self, network: NetworkRef, member_id: str, command: commands.AddMember
    ) -> list[EventPayload]:
        self._check(network, command.membership)
        member = CommitteeMember(id=member_id, **dict(command.membership))
        self.members.append(member)
        return [CommitteeMemberAdded(network=network, **_snapshot(member, "member_id", Membership))]

    def update_member(
        self, network: NetworkRef, command: commands.UpdateMember
    ) -> list[EventPayload]:
        """Replace what the member is (all of it, so None clears supervision or term end);
        `committee-member-updated` only if something differs."""
        member = self.active_member(command.entity_id)
        member.check_version(command.expected_version)
        self._check(network, command.membership, but=member)
        updated = _replaced(self.members, member, command.membership)
        if updated is None:
            return []
        return [
            CommitteeMemberUpdated(network=network, **_snapshot(updated, "member_id", Membership))
        ]

    def remove_member(
        self, network: NetworkRef, command: commands.RemoveMember
    ) -> list[EventPayload]:
        member = self.active_member(command.entity_id)
        member.check_version(command.expected_version)
        _check_order(member.term_start, command.removed_on, "removed_on", "the removal")
        _revise(member, removed_on=command.removed_on, removal_reason=command.reason)
        self._leave(member)
        return [
            CommitteeMemberRemoved(
                network=network,
                removed_on=command.removed_on,
                reason=command.reason,
                **_snapshot(member, "member_id", Membership),
            )
        ]

    def erase(self, person: DataSubject, only: Collection[str] | None = None) -> list[str]:
        """Anonymise the seats that still name the person (of `only` these, if given), current
        and removed: each stays, held from-to by the placeholder. The ids of those changed."""
        changed = []
        for member in self._everyone():
            if person.named(member.person.email) and (only is None or member.id in only):
                reason = None if member.removal_reason is None else ERASED_REASON
                _revise(member, person=person.placeholder, removal_reason=reason)
                changed.append(member.id)
        return changed

    def seats_of(self, person: DataSubject) -> list[CommitteeMember]:
        """The seats the person holds or held, anonymised or not."""
        return [m for m in self._everyone() if person.holds(m.person.email)]

    def active_member(self, member_id: str) -> CommitteeMember:
        member = self.member(member_id)
        if not member.active:
            raise member.ended()
        return member

    def _check(
        self, network: NetworkRef, membership: Membership, but: CommitteeMember | None = None
    ) -> None:
        """The rules of a membership, and no other active member is the same person (`but`,
        the member being updated, may be)."""
        person = membership.person
        if any(m is not but and _same_person(m.person, person) for m in self.members):
            raise Conflict(
                f"{person.email} is already a member of the steering committee of {network.name}",
                "person.email",
            )
        _check_order(membership.term_start, membership.term_end, "term_end", "the end of the term")
        if membership.supervision is not None and membership.side is not Side.STATE:
            raise RuleViolation(
                "only the Land's regional coordination has a supervision level", "supervision"
            )


# ---------------------------------------------------------------------------- education office


class Employment(BaseModel):
    """What an education office staff member's work is, as assigned."""

    person: Person
    employer: Employer
    released_from_school: str | None = None
    hours_share: float | None = None
    start_date: date
    end_date: date | None = None


class OfficeStaff(Employment, Tenure):
    removal_reason: str | None = None

    @property
    def active(self) -> bool:
        return self.removal_reason is None

    def ended(self) -> NotFound:
        return NotFound(f"office staff member {self.id} has left already")


def _check_state_staff(employment: Employment) -> None:
    released_from_school, hours_share = employment.released_from_school, employment.hours_share
    if employment.employer is Employer.STATE:
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


class Office(People[OfficeStaff]):
    """A network's education office (Bildungsbüro) staff: a person works in it once."""

    what = "office staff member"
    staff: list[OfficeStaff] = Field(default_factory=list)

    @property
    def current(self) -> list[OfficeStaff]:
        return self.staff

    def assign_staff(
        self, network: NetworkRef, staff_id: str, command: commands.AssignStaff
    ) -> list[EventPayload]:
        employment = command.employment
        if any(_same_person(s.person, employment.person) for s in self.staff):
            raise Conflict(
                f"{employment.person.email} already works in the education office of "
                f"{network.name}",
                "person.email",
            )
        _check_order(employment.start_date, employment.end_date, "end_date", "the end date")
        _check_state_staff(employment)
        staff = OfficeStaff(id=staff_id, **dict(employment))
        self.staff.append(staff)
        return [OfficeStaffAssigned(network=network, **_snapshot(staff, "staff_id", Employment))]

    def remove_staff(
        self, network: NetworkRef, command: commands.RemoveStaff
    ) -> list[EventPayload]:
        staff = self.member(command.entity_id)
        if not staff.active:
            raise staff.ended()
        staff.check_version(command.expected_version)
        _check_order(staff.start_date, command.end_date, "end_date", "the end date")
        _revise(staff, end_date=command.end_date, removal_reason=command.reason)
        self._leave(staff)
        return [
            OfficeStaffRemoved(
                network=network, reason=command.reason, **_snapshot(staff, "staff_id", Employment)
            )
        ]

    def erase(self, person: DataSubject, only: Collection[str] | None = None) -> list[str]:
        """Anonymise the posts that still name the person (of `only` these, if given), with
        the school they came from; dates, employer and share stay. The ids of those changed."""
        changed = []
        for staff in self._everyone():
            if person.named(staff.person.email) and (only is None or staff.id in only):
                # A post that ended keeps a reason (it marks the post as ended), not theirs.
                reason = None if staff.removal_reason is None else ERASED_REASON
                _revise(
                    staff,
                    person=person.placeholder,
                    released_from_school=None,
                    removal_reason=reason,
                )
                changed.append(staff.id)
        return changed

    def posts_of(self, person: DataSubject) -> list[OfficeStaff]:
        """The posts the person holds or held, anonymised or not."""
        return [s for s in self._everyone() if person.holds(s.person.email)]


def past_their_retention(
    committee: Committee, office: Office, ended_before: date
) -> tuple[list[CommitteeMember], list[OfficeStaff]]:
    """The removed seats and ended posts of a network (loaded with the former ones) that ended
    before `ended_before` and still name someone who holds no current seat or post in the
    network (whoever still works with it keeps their history there)."""
    current = {m.person.email.casefold() for m in committee.members} | {
        s.person.email.casefold() for s in office.staff
    }

    def due(email: str, ended: date | None) -> bool:
        if is_erased_address(email) or email.casefold() in current:
            return False
        return ended is not None and ended < ended_before

    seats = [m for m in committee.former if due(m.person.email, m.removed_on)]
    posts = [s for s in office.former if due(s.person.email, s.end_date)]
    return seats, posts


# ---------------------------------------------------------------------------- fields of action


class FieldDescription(BaseModel):
    """What a field of action is about: as proposed, and as an update replaces it whole."""

    title: str
    starting_situation: str
    development_needs: str


class FieldOfAction(FieldDescription, Entity):
    status: FieldStatus = FieldStatus.PROPOSED
    adopted_on: date | None = None
    closed_on: date | None = None


class FieldsOfAction(Part):
    """A network's fields of action (Handlungsfelder): open ones do not share a title."""

    fields: list[FieldOfAction] = Field(default_factory=list)

    def propose(
        self, network: NetworkRef, field_id: str, command: commands.ProposeField
    ) -> list[EventPayload]:
        self._check_title_free(network, command.description.title)
        field = FieldOfAction(id=field_id, **dict(command.description))
        self.fields.append(field)
        return [FieldOfActionProposed(network=network, **_field_fields(field))]

    def adopt(self, network: NetworkRef, command: commands.AdoptField) -> list[EventPayload]:
        field = self.field(command.entity_id)
        field.check_version(command.expected_version)
        if field.status is not FieldStatus.PROPOSED:
            raise Conflict(f"field of action {field.id} is {field.status.value}, not proposed")
        _revise(field, status=FieldStatus.ADOPTED, adopted_on=command.adopted_on)
        return [FieldOfActionAdopted(network=network, **_field_fields(field))]

    def update(self, network: NetworkRef, command: commands.UpdateField) -> list[EventPayload]:
        """Replace the texts of an open field; `field-of-action-updated` only if they differ."""
        field = self.field(command.entity_id)
        field.check_version(command.expected_version)
        if field.status is FieldStatus.CLOSED:
            raise Conflict(f"field of action {field.id} is closed")
        self._check_title_free(network, command.description.title, but=field)
        updated = _replaced(self.fields, field, command.description)
        if updated is None:
            return []
        return [FieldOfActionUpdated(network=network, **_field_fields(updated))]

    def close(self, network: NetworkRef, command: commands.CloseField) -> list[EventPayload]:
        field = self.field(command.entity_id)
        field.check_version(command.expected_version)
        if field.status is not FieldStatus.ADOPTED:
            raise Conflict(
                f"field of action {field.id} is {field.status.value}; only adopted ones close"
            )
        assert field.adopted_on is not None  # noqa: S101 - adopted fields have a date
        _check_order(field.adopted_on, command.closed_on, "closed_on", "the closing")
        _revise(field, status=FieldStatus.CLOSED, closed_on=command.closed_on)
        return [FieldOfActionClosed(network=network, **_field_fields(field))]

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
        **_snapshot(field, "field_id", FieldDescription),
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
    committee_size: int = Field(description="Members of the Lenkungskreis now")
    staff_size: int = Field(description="People working in the education office now")
    committee: list[CommitteeMember] | None = Field(
        description="The Lenkungskreis now (former members: `/committee/members"
        "?include_removed=true`); null for those who may not see people (readers, other "
        "networks' offices)"
    )
    staff: list[OfficeStaff] | None = Field(
        description="The education office's staff now (former: `/office/staff"
        "?include_former=true`); null like `committee`"
    )
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
            **dict(network),
            agreements=agreements.agreements,
            committee_size=len(committee.members),
            staff_size=len(office.staff),
            committee=committee.members,
            staff=office.staff,
            fields_of_action=fields.fields,
        )

    def without_people(self) -> WholeNetwork:
        """The network as readers and other networks' offices see it: no one's name or address,
        only how many there are."""
        return self.model_copy(update={"committee": None, "staff": None})
