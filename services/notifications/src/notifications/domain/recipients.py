"""The recipients projection: who is in which network, in which role, with which address.

Built from registry events alone (network, committee, office staff, district coordination);
conference events bring their invitees along and need no projection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import StrEnum

from rbn_shared.addresses import AddressRefused, address_key, as_written, canonical_address

DISTRICT_ID = "district"
_LINE_BREAKS = re.compile(r"[\r\n\t\x00-\x1f\x7f\u2028\u2029\x85]+")


def single_line(text: str) -> str:
    """Collapse line breaks and control characters, so a name can never start a new header."""
    return _LINE_BREAKS.sub(" ", text).strip()


class Role(StrEnum):
    """Why someone receives a mail; decides the salutation and what the mail asks of them."""

    COMMITTEE_MEMBER = "committee_member"
    EDUCATION_OFFICE = "education_office"
    OFFICE_STAFF = "office_staff"
    INVITEE = "invitee"
    DISTRICT_COORDINATION = "district_coordination"


@dataclass(frozen=True)
class Recipient:
    email: str  # canonical (rbn_shared.addresses)
    name: str
    role: Role
    network_id: str | None = None
    network_name: str | None = None
    invitation_id: str | None = None  # for an invitee: their invitation

    @classmethod
    def candidate(
        cls,
        email: str,
        name: str,
        role: Role,
        network_id: str | None = None,
        network_name: str | None = None,
        invitation_id: str | None = None,
    ) -> Recipient | Refused:
        """The recipient, or what a failed delivery records of one whose address the policy
        refuses."""
        try:
            address = canonical_address(email)
        except AddressRefused as error:
            return Refused(as_written(email), str(error), network_id, invitation_id)
        return cls(address, single_line(name), role, network_id, network_name, invitation_id)


@dataclass(frozen=True)
class Refused:
    """Someone a mail is meant for whose address the policy refuses: a failed delivery."""

    address: str  # as_written() of what came
    reason: str
    network_id: str | None = None
    invitation_id: str | None = None


@dataclass(frozen=True)
class UnsentWelcome:
    """A committee welcome that failed to `address`: sent again once the address is corrected,
    under the original cause event, so that it is still one delivery per cause and address."""

    cause_event_id: str
    template: str
    address: str


@dataclass(frozen=True)
class Contact:
    """A person or mailbox in the projection, with the version of the registry record behind it."""

    email: str
    name: str
    version: int = 0
    unsent_welcome: UnsentWelcome | None = None


@dataclass(frozen=True)
class NetworkDirectory:
    """One network as the notifications service knows it."""

    network_id: str
    name: str
    office: Contact | None = None
    committee: dict[str, Contact] = field(default_factory=dict)
    staff: dict[str, Contact] = field(default_factory=dict)
    version: int = 0

    def with_network(self, name: str, office: Contact, version: int) -> NetworkDirectory:
        if version < self.version:
            return self  # a stale snapshot: keep what is newer
        return replace(self, name=name, office=office, version=version)

    def with_member(self, member_id: str, contact: Contact) -> NetworkDirectory:
        known = self.committee.get(member_id)
        if known is not None and known.version > contact.version:
            return self
        if known is not None and contact.unsent_welcome is None:
            # A changed record keeps the memory: the change may be the corrected address.
            contact = replace(contact, unsent_welcome=known.unsent_welcome)
        return replace(self, committee={**self.committee, member_id: contact})

    def with_unsent_welcome(
        self, member_id: str, welcome: UnsentWelcome | None
    ) -> NetworkDirectory:
        """Remember (or, with None, forget) a failed welcome of a member."""
        known = self.committee.get(member_id)
        if known is None:
            return self
        changed = replace(known, unsent_welcome=welcome)
        return replace(self, committee={**self.committee, member_id: changed})

    def members_at(self, address: str) -> list[str]:
        """The ids of the committee members with this address."""
        return [k for k, c in self.committee.items() if c.email == address_key(address)]

    def without_member(self, member_id: str, version: int) -> NetworkDirectory:
        known = self.committee.get(member_id)
        if known is None or known.version > version:
            return self
        return replace(self, committee={k: v for k, v in self.committee.items() if k != member_id})

    def with_staff(self, staff_id: str, contact: Contact) -> NetworkDirectory:
        known = self.staff.get(staff_id)
        if known is not None and known.version > contact.version:
            return self
        return replace(self, staff={**self.staff, staff_id: contact})

    def without_staff(self, staff_id: str, version: int) -> NetworkDirectory:
        known = self.staff.get(staff_id)
        if known is None or known.version > version:
            return self
        return replace(self, staff={k: v for k, v in self.staff.items() if k != staff_id})

    def office_recipients(
        self, office_email_fallback: str | None = None
    ) -> list[Recipient | Refused]:
        address = self.office.email if self.office else office_email_fallback
        if not address:
            return []
        name = self.office.name if self.office else f"Regionales Bildungsbüro {self.name}"
        return _usable([(address, name)], Role.EDUCATION_OFFICE, self.network_id, self.name)

    def committee_recipients(self) -> list[Recipient | Refused]:
        contacts = [(c.email, c.name) for c in self.committee.values()]
        return _usable(contacts, Role.COMMITTEE_MEMBER, self.network_id, self.name)

    def names_at(self, addresses: set[str]) -> set[str]:
        """The names the projection holds for any of these (canonical) addresses."""
        return {c.name for c in self.contacts() if address_key(c.email) in addresses}

    def anonymised(self, addresses: set[str], placeholder: str, name: str) -> NetworkDirectory:
        """The person at these addresses replaced by `placeholder` and `name`: seats and posts
        stay (who held one, from when, is the registry's); a failed welcome is forgotten."""

        def scrub(c: Contact) -> Contact:
            if address_key(c.email) not in addresses:
                return c
            return Contact(placeholder, name, c.version)

        return replace(
            self,
            office=scrub(self.office) if self.office else None,
            committee={k: scrub(c) for k, c in self.committee.items()},
            staff={k: scrub(c) for k, c in self.staff.items()},
        )

    def contacts(self) -> list[Contact]:
        office = [self.office] if self.office else []
        return [*office, *self.committee.values(), *self.staff.values()]

    def knows_address(self, email: str) -> bool:
        wanted = address_key(email)
        contacts = [*self.committee.values(), *self.staff.values()]
        if self.office:
            contacts.append(self.office)
        return any(address_key(c.email) == wanted for c in contacts)


@dataclass(frozen=True)
class DistrictCoordination:
    """The Bezirkskoordination and its Servicestelle: the district report's readers."""

    coordinator: Contact
    service_unit: Contact

    def recipients(self) -> list[Recipient | Refused]:
        contacts = [
            (self.coordinator.email, self.coordinator.name),
            (self.service_unit.email, self.service_unit.name),
        ]
        return _usable(contacts, Role.DISTRICT_COORDINATION)


def _usable(
    contacts: list[tuple[str, str]],
    role: Role,
    network_id: str | None = None,
    network_name: str | None = None,
) -> list[Recipient | Refused]:
    """Recipients of the contacts; those with a refused address as Refused."""
    return [Recipient.candidate(e, n, role, network_id, network_name) for e, n in contacts]


def unique_by_address(recipients: list[Recipient]) -> list[Recipient]:
    """The first mention of each address wins: nobody gets one event's mail twice."""
    seen: set[str] = set()
    unique = []
    for recipient in recipients:
        if recipient.email not in seen:
            seen.add(recipient.email)
            unique.append(recipient)
    return unique
