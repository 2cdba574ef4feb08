"""What this service knows about a network, built only from registry events.

One `NetworkView` per network. `apply` folds one registry event into it with the event's fold
from `FOLDS` (one small function per payload class); it is a pure function of the view and the
event, so replaying the registry topic from the beginning into empty views gives
the same views again (the rebuild command relies on this).

Idempotency: every registry event names the registry record it describes (`aggregate_id`) and that
record's version after the change (`aggregate_version`). The view remembers the highest version
seen per record and ignores an event whose version is not higher: a repeated or stale event
changes nothing. This holds whether the registry versions a whole network or each member.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, TypeVar

from rbn_shared.events.base import EventPayload, NetworkEvent, Person
from rbn_shared.events.registry import (
    AgreementStatus,
    CommitteeMember,
    CommitteeMemberAdded,
    CommitteeMemberRemoved,
    CommitteeMemberUpdated,
    CooperationAgreementSigned,
    CooperationAgreementTerminated,
    FieldOfAction,
    FieldOfActionAdopted,
    FieldOfActionClosed,
    FieldOfActionProposed,
    FieldOfActionUpdated,
    FieldStatus,
    NetworkRegistered,
    NetworkSnapshot,
    NetworkUpdated,
    OfficeStaffAssigned,
    OfficeStaffRemoved,
)
from rbn_shared.subjects import ERASED_NAME, erased_address, subject_of


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

    def committee_people(self, on: date | None = None) -> dict[str, Person]:
        """Steering committee members by member id (unusable entries left out); with `on`, only
        those whose term has not ended before that day. Members whose term begins later are
        kept: they are the committee's incoming members and the conference is theirs too."""
        seated = {k: e for k, e in self.committee.items() if on is None or _seated_on(e, on)}
        return _people(seated)

    def staff_people(self) -> dict[str, Person]:
        return _people(self.staff)

    # ------------------------------------------------------------------ privacy

    def erase(self, subject: str) -> list[Person]:
        """Anonymise the subject's committee seats and office posts (each stays, with its term
        or employer); the persons as they were, none if the view held no copy."""
        erased: list[Person] = []
        for entries in (self.committee, self.staff):
            for key, person in _people(entries).items():
                if subject_of(str(person.email)) == subject:
                    entries[key] = entries[key] | {
                        "person": Person(
                            name=ERASED_NAME, email=erased_address(subject)
                        ).model_dump(mode="json")
                    }
                    erased.append(person)
        return erased

    # ------------------------------------------------------------------ folding events

    def apply(self, facts: EventFacts, payload: EventPayload) -> bool:
        """Fold one registry event in with its fold from `FOLDS`; False (and no change) if it is
        stale or repeated, or no event this projection folds."""
        fold = FOLDS.get(type(payload))
        if fold is None or not isinstance(payload, NetworkEvent):
            return False
        key = f"{facts.type.split('-')[0]}:{facts.aggregate_id}"
        if facts.aggregate_version <= self.versions.get(key, -1):
            return False
        self.versions[key] = facts.aggregate_version
        self.last_event_at = facts.occurred_at
        if payload.network.name:  # every registry event names the network as it stands
            self.name = payload.network.name
            if payload.network.office_email:
                self.office_email = str(payload.network.office_email)
        fold(self, payload)
        return True


# ---------------------------------------------------------------------------- the folds
# One small pure function per kind of registry event, typed on its payload class.


def fold_network(view: NetworkView, event: NetworkSnapshot) -> None:
    """network-registered, network-updated: the network and its office as they stand."""
    view.name = event.network.name
    view.office_name = event.office.name
    view.office_email = str(event.office.email)


def fold_agreement_signed(view: NetworkView, event: CooperationAgreementSigned) -> None:
    view.agreement_id = event.agreement_id
    view.agreement_active = event.status == AgreementStatus.ACTIVE


def fold_agreement_terminated(view: NetworkView, event: CooperationAgreementTerminated) -> None:
    if view.agreement_id in (None, event.agreement_id):
        view.agreement_active = False


def fold_member(view: NetworkView, event: CommitteeMember) -> None:
    """committee-member-added, committee-member-updated: the member as they stand."""
    view.committee[event.member_id] = {
        "person": event.person.model_dump(mode="json"),
        "side": event.side.value,
        "role": event.role.value,
        "term_start": event.term_start.isoformat(),
        "term_end": None if event.term_end is None else event.term_end.isoformat(),
    }


def fold_member_removed(view: NetworkView, event: CommitteeMemberRemoved) -> None:
    view.committee.pop(event.member_id, None)


def fold_staff_assigned(view: NetworkView, event: OfficeStaffAssigned) -> None:
    view.staff[event.staff_id] = {
        "person": event.person.model_dump(mode="json"),
        "employer": event.employer.value,
    }


def fold_staff_removed(view: NetworkView, event: OfficeStaffRemoved) -> None:
    view.staff.pop(event.staff_id, None)


def fold_field(view: NetworkView, event: FieldOfAction) -> None:
    """field-of-action-proposed, -adopted, -updated, -closed: the field as it stands."""
    view.fields[event.field_id] = {"title": event.title, "status": event.status.value}


Fold = Callable[[NetworkView, Any], None]
E = TypeVar("E", bound=NetworkEvent)


def _fold(
    payload: type[E], fold: Callable[[NetworkView, E], None]
) -> tuple[type[EventPayload], Fold]:
    """One row of `FOLDS`; the type checker sees that `fold` takes this payload class."""
    return payload, fold


FOLDS: Mapping[type[EventPayload], Fold] = dict(
    [
        _fold(NetworkRegistered, fold_network),
        _fold(NetworkUpdated, fold_network),
        _fold(CooperationAgreementSigned, fold_agreement_signed),
        _fold(CooperationAgreementTerminated, fold_agreement_terminated),
        _fold(CommitteeMemberAdded, fold_member),
        _fold(CommitteeMemberUpdated, fold_member),
        _fold(CommitteeMemberRemoved, fold_member_removed),
        _fold(OfficeStaffAssigned, fold_staff_assigned),
        _fold(OfficeStaffRemoved, fold_staff_removed),
        _fold(FieldOfActionProposed, fold_field),
        _fold(FieldOfActionAdopted, fold_field),
        _fold(FieldOfActionUpdated, fold_field),
        _fold(FieldOfActionClosed, fold_field),
    ]
)
"""The registry events this projection folds in, each with its fold. The rebuild replays
exactly these; the consumer's reaction table (entrypoints/consumers.py) reacts to them."""


def _seated_on(entry: dict[str, Any], day: date) -> bool:
    """Whether a committee entry's term has not ended before `day`; entries stored before terms
    were kept (no term fields) count as seated until their member's next event brings one."""
    end = entry.get("term_end")
    return end is None or date.fromisoformat(end) >= day


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
