"""A person as privacy sees them, and the erasure the registry records (Art. 17 DSGVO).

A person is an address: everyone the registry holds under it is them, in every network. An
anonymised record keeps its structure (a seat held from-to, an office post with its dates) and
carries the person's placeholder (rbn_shared.privacy) instead of name and address, so a repeat
of the erasure, or a restart in the middle of one, finds what it did. Pure code: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pydantic import BaseModel

from rbn_shared.addresses import address_key
from rbn_shared.events import EventPayload, Person
from rbn_shared.events.registry import PersonErased
from rbn_shared.subjects import ERASED_NAME, erased_address, subject_of

ERASED_REASON = "Angabe entfernt"
"""What stands where the reason a person left stood: why someone left is about them."""


@dataclass(frozen=True)
class DataSubject:
    """The person of one address: their canonical address, its subject, their placeholder."""

    key: str
    subject: str

    @classmethod
    def of(cls, address: str) -> DataSubject:
        return cls(address_key(address), subject_of(address))

    @property
    def placeholder_address(self) -> str:
        return erased_address(self.subject)

    @property
    def placeholder(self) -> Person:
        return Person(name=ERASED_NAME, email=self.placeholder_address)

    def named(self, address: str) -> bool:
        """Whether a record still names the person (not yet anonymised)."""
        return address_key(address) == self.key

    def holds(self, address: str) -> bool:
        """Whether a record is the person's: still named, or anonymised for them."""
        return self.named(address) or address_key(address) == self.placeholder_address


@dataclass(frozen=True)
class Trace:
    """Where the registry holds (or held, now anonymised) a person's records."""

    network_ids: frozenset[str] = frozenset()
    member_ids: frozenset[str] = frozenset()
    staff_ids: frozenset[str] = frozenset()

    def __or__(self, other: Trace) -> Trace:
        return Trace(
            self.network_ids | other.network_ids,
            self.member_ids | other.member_ids,
            self.staff_ids | other.staff_ids,
        )


class ErasureRecord(BaseModel):
    """An erasure as the registry keeps it: one per subject (the last one), with the ids of the
    records it anonymised; no name, no address."""

    subject: str
    erasure_id: str
    erased_at: datetime
    network_ids: list[str]
    member_ids: list[str]
    staff_ids: list[str]

    @classmethod
    def record(
        cls, erasure_id: str, person: DataSubject, erased_at: datetime, trace: Trace
    ) -> tuple[ErasureRecord, list[EventPayload]]:
        erasure = cls(
            subject=person.subject,
            erasure_id=erasure_id,
            # To the millisecond, as the database keeps it: a repeat answers the same time.
            erased_at=erased_at.replace(microsecond=erased_at.microsecond // 1000 * 1000),
            network_ids=sorted(trace.network_ids),
            member_ids=sorted(trace.member_ids),
            staff_ids=sorted(trace.staff_ids),
        )
        event = PersonErased(**erasure.model_dump(exclude={"erased_at"}))
        return erasure, [event]


def retention_cutoff(now: datetime, days: int) -> date:
    """Records that ended before this day are older than the retention period."""
    return (now - timedelta(days=days)).date()
