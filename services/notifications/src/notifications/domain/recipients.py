"""The recipients projection: who is in which network, in which role, with which address.

Built from registry events alone (network, committee, office staff, district coordination);
conference events bring their invitees along and need no projection.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import Any

from email_validator import EmailNotValidError, validate_email

DISTRICT_ID = "district"
_LINE_BREAKS = re.compile(r"[\r\n\t\x00-\x1f\x7f\u2028\u2029\x85]+")


class InvalidAddress(ValueError):
    """An address no mail should be sent to."""


def single_line(text: str) -> str:
    """Collapse line breaks and control characters, so a name can never start a new header."""
    return _LINE_BREAKS.sub(" ", text).strip()


def normalised_address(address: str) -> str:
    """The address as it is stored and compared: validated, without display name, lower case."""
    if _LINE_BREAKS.search(address):
        raise InvalidAddress("an address must not contain line breaks or control characters")
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidAddress(str(error)) from error
    return checked.normalized.lower()


class Role(StrEnum):
    """Why someone receives a mail; decides the salutation and what the mail asks of them."""

    COMMITTEE_MEMBER = "committee_member"
    EDUCATION_OFFICE = "education_office"
    OFFICE_STAFF = "office_staff"
    INVITEE = "invitee"
    DISTRICT_COORDINATION = "district_coordination"


@dataclass(frozen=True)
class Recipient:
    email: str
    name: str
    role: Role
    network_id: str | None = None
    network_name: str | None = None

    @classmethod
    def of(
        cls,
        email: str,
        name: str,
        role: Role,
        network_id: str | None = None,
        network_name: str | None = None,
    ) -> Recipient:
        return cls(normalised_address(email), single_line(name), role, network_id, network_name)


@dataclass(frozen=True)
class Contact:
    """A person or mailbox in the projection, with the version of the registry record behind it."""

    email: str
    name: str
    version: int = 0


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
        return replace(self, committee={**self.committee, member_id: contact})

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

    def office_recipients(self, office_email_fallback: str | None = None) -> list[Recipient]:
        address = self.office.email if self.office else office_email_fallback
        if not address:
            return []
        name = self.office.name if self.office else f"Regionales Bildungsbüro {self.name}"
        return _usable([(address, name)], Role.EDUCATION_OFFICE, self.network_id, self.name)

    def committee_recipients(self) -> list[Recipient]:
        contacts = [(c.email, c.name) for c in self.committee.values()]
        return _usable(contacts, Role.COMMITTEE_MEMBER, self.network_id, self.name)

    def to_document(self) -> dict[str, Any]:
        def contact(c: Contact) -> dict[str, Any]:
            return {"email": c.email, "name": c.name, "version": c.version}

        return {
            "_id": self.network_id,
            "name": self.name,
            "office": contact(self.office) if self.office else None,
            "committee": {k: contact(v) for k, v in self.committee.items()},
            "staff": {k: contact(v) for k, v in self.staff.items()},
            "network_version": self.version,
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> NetworkDirectory:
        def contact(d: dict[str, Any]) -> Contact:
            return Contact(d["email"], d["name"], int(d.get("version", 0)))

        return cls(
            network_id=str(doc["_id"]),
            name=str(doc["name"]),
            office=contact(doc["office"]) if doc.get("office") else None,
            committee={k: contact(v) for k, v in (doc.get("committee") or {}).items()},
            staff={k: contact(v) for k, v in (doc.get("staff") or {}).items()},
            version=int(doc.get("network_version", 0)),
        )

    def knows_address(self, email: str) -> bool:
        wanted = email.lower()
        contacts = [*self.committee.values(), *self.staff.values()]
        if self.office:
            contacts.append(self.office)
        return any(c.email.lower() == wanted for c in contacts)


@dataclass(frozen=True)
class DistrictCoordination:
    """The Bezirkskoordination and its Servicestelle: the district report's readers."""

    coordinator: Contact
    service_unit: Contact

    def recipients(self) -> list[Recipient]:
        contacts = [
            (self.coordinator.email, self.coordinator.name),
            (self.service_unit.email, self.service_unit.name),
        ]
        return _usable(contacts, Role.DISTRICT_COORDINATION)

    def to_document(self) -> dict[str, Any]:
        return {
            "_id": DISTRICT_ID,
            "coordinator": {"email": self.coordinator.email, "name": self.coordinator.name},
            "service_unit": {"email": self.service_unit.email, "name": self.service_unit.name},
        }

    @classmethod
    def from_document(cls, doc: dict[str, Any]) -> DistrictCoordination:
        return cls(
            Contact(doc["coordinator"]["email"], doc["coordinator"]["name"]),
            Contact(doc["service_unit"]["email"], doc["service_unit"]["name"]),
        )


def _usable(
    contacts: list[tuple[str, str]],
    role: Role,
    network_id: str | None = None,
    network_name: str | None = None,
) -> list[Recipient]:
    """Recipients of the contacts whose address can be used; the others are left out."""
    usable = []
    for email, name in contacts:
        try:
            usable.append(Recipient.of(email, name, role, network_id, network_name))
        except InvalidAddress:
            continue
    return usable


def unique_by_address(recipients: list[Recipient]) -> list[Recipient]:
    """The first mention of each address wins: nobody gets one event's mail twice."""
    seen: set[str] = set()
    unique = []
    for recipient in recipients:
        if recipient.email not in seen:
            seen.add(recipient.email)
            unique.append(recipient)
    return unique
