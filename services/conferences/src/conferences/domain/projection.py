"""What this service knows about a network, built only from registry events.

One `NetworkView` per network. `apply` folds one registry event into it; it is a pure function of
the view and the event, so replaying the registry topic from the beginning into empty views gives
the same views again (the rebuild command relies on this).

Idempotency: every registry event names the registry record it describes (`aggregate_id`) and that
record's version after the change (`aggregate_version`). The view remembers the highest version
seen per record and ignores an event whose version is not higher: a repeated or stale event
changes nothing. This holds whether the registry versions a whole network or each member.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from rbn_shared.events.base import EventPayload, NetworkEvent, Person
from rbn_shared.events.registry import (
    AgreementStatus,
    CommitteeMember,
    CommitteeMemberRemoved,
    CooperationAgreementSigned,
    CooperationAgreementTerminated,
    FieldOfAction,
    FieldStatus,
    NetworkSnapshot,
    OfficeStaffAssigned,
    OfficeStaffMember,
    OfficeStaffRemoved,
)

# The registry events this projection folds in; the consumer subscribes to exactly these.
PROJECTED_EVENT_TYPES = (
    "network-registered",
    "network-updated",
    "cooperation-agreement-signed",
    "cooperation-agreement-terminated",
    "committee-member-added",
    "committee-member-updated",
    "committee-member-removed",
    "office-staff-assigned",
    "office-staff-removed",
    "field-of-action-proposed",
    "field-of-action-adopted",
    "field-of-action-updated",
    "field-of-action-closed",
)

# Events after which the invitee lists of planned conferences may need to follow.
ROSTER_EVENT_TYPES = frozenset(
    {
        "network-registered",
        "network-updated",
        "committee-member-added",
        "committee-member-updated",
        "committee-member-removed",
        "office-staff-assigned",
        "office-staff-removed",
    }
)


@dataclass(frozen=True)
class EventFacts:
    """The envelope fields the projection needs (kept apart from the envelope's transport)."""

    type: str
    aggregate_id: str
    aggregate_version: int
    occurred_at: datetime


@dataclass
class NetworkView:
    network_id: str
    name: str = ""
    office_name: str | None = None
    office_email: str | None = None
    agreement_id: str | None = None
    agreement_active: bool = False
    committee: dict[str, dict[str, Any]] = field(default_factory=dict)
    staff: dict[str, dict[str, Any]] = field(default_factory=dict)
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)
    last_event_at: datetime | None = None

    # ------------------------------------------------------------------ queries

    @property
    def known(self) -> bool:
        """Registered: a network-registered (or -updated) event has been seen."""
        return bool(self.name)

    def adopted_field_title(self, field_id: str) -> str | None:
        found = self.fields.get(field_id)
        if found is None or found["status"] != FieldStatus.ADOPTED:
            return None
        return str(found["title"])

    def field_title(self, field_id: str) -> str | None:
        found = self.fields.get(field_id)
        return None if found is None else str(found["title"])

    def committee_people(self) -> dict[str, Person]:
        """Current steering committee members by member id (unusable entries left out)."""
        return _people(self.committee)

    def staff_people(self) -> dict[str, Person]:
        return _people(self.staff)

    # ------------------------------------------------------------------ folding events

    def apply(self, facts: EventFacts, payload: EventPayload) -> bool:
        """Fold one registry event in; False (and no change) if it is stale or repeated."""
        key = f"{facts.type.split('-')[0]}:{facts.aggregate_id}"
        if facts.aggregate_version <= self.versions.get(key, -1):
            return False
        self.versions[key] = facts.aggregate_version
        self.last_event_at = facts.occurred_at
        if isinstance(payload, NetworkEvent) and payload.network.name:
            self.name = payload.network.name
            if payload.network.office_email:
                self.office_email = str(payload.network.office_email)
        match payload:
            case NetworkSnapshot():
                self.name = payload.network.name
                self.office_name = payload.office.name
                self.office_email = str(payload.office.email)
            case CooperationAgreementSigned():
                self.agreement_id = payload.agreement_id
                self.agreement_active = payload.status == AgreementStatus.ACTIVE
            case CooperationAgreementTerminated():
                if self.agreement_id in (None, payload.agreement_id):
                    self.agreement_active = False
            case CommitteeMemberRemoved():
                self.committee.pop(payload.member_id, None)
            case CommitteeMember():
                self.committee[payload.member_id] = {
                    "person": payload.person.model_dump(mode="json"),
                    "side": payload.side.value,
                    "role": payload.role.value,
                }
            case OfficeStaffRemoved():
                self.staff.pop(payload.staff_id, None)
            case OfficeStaffAssigned() | OfficeStaffMember():
                self.staff[payload.staff_id] = {
                    "person": payload.person.model_dump(mode="json"),
                    "employer": payload.employer.value,
                }
            case FieldOfAction():
                self.fields[payload.field_id] = {
                    "title": payload.title,
                    "status": payload.status.value,
                }
            case _:
                pass
        return True


def _people(entries: dict[str, dict[str, Any]]) -> dict[str, Person]:
    """The persons of roster entries. An entry whose person data cannot be used is skipped:
    one bad entry must never stop a network's projection or the invitee lists following it."""
    people: dict[str, Person] = {}
    for key, entry in entries.items():
        try:
            people[key] = Person.model_validate(entry["person"])
        except (KeyError, TypeError, ValueError):  # pydantic's ValidationError is a ValueError
            continue
    return people
