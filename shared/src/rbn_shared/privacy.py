"""Privacy plumbing the services share: who a data subject is without naming them, what an
erased person is replaced by, the ledger of erasures, the audit of erasures and access exports.

A *subject* is the SHA-256 of a person's canonical address (`subject_of`). It identifies the
person's records in every service (each service holds addresses, not one common person id)
without carrying the address: the `person-erased` event and the audit hold only the subject.
It is a pseudonym, not anonymous: whoever knows an address can compute it.

Each consuming service keeps an `ErasureLedger`: the subjects erased and when. An event that
occurred before an erasure but is read after it (another topic, another partition, a replay of
the whole topic) names the person again; a reader asks the ledger and applies such an event
with the person anonymised, and never mails them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from rbn_shared.addresses import address_key
from rbn_shared.consumer import DEAD_LETTERS_COLLECTION
from rbn_shared.mongo import Document

ERASED_NAME = "Entfernte Person"
"""What stands where an erased person's name stood (a committee seat held from-to stays)."""

ERASED_DOMAIN = "entfernt.invalid"
"""The domain of an erased person's placeholder address: reserved, never deliverable."""

ERASURES_COLLECTION = "erasures"
PRIVACY_AUDIT_COLLECTION = "privacy_audit"


def subject_of(address: str) -> str:
    """The pseudonymous subject of an address: SHA-256 (hex) of its canonical form."""
    return hashlib.sha256(address_key(address).encode("utf-8")).hexdigest()


def erased_address(subject: str) -> str:
    """The placeholder address of an erased person: unique per person (so "once per committee"
    still holds), undeliverable, and without the address it replaces."""
    return f"entfernt-{subject[:16]}@{ERASED_DOMAIN}"


def is_erased_address(address: str) -> bool:
    return address_key(address).endswith("@" + ERASED_DOMAIN)


def mentions(value: Any, needles: Iterable[str]) -> bool:
    """Whether any text inside a (nested) document contains one of the needles, ignoring case:
    how erasure finds free-standing copies (dead letters, logs of changes)."""
    wanted = [n.casefold() for n in needles if n]
    if isinstance(value, str):
        folded = value.casefold()
        return any(n in folded for n in wanted)
    if isinstance(value, dict):
        return any(mentions(v, wanted) for v in value.values())
    if isinstance(value, (list, tuple)):
        return any(mentions(v, wanted) for v in value)
    return False


@dataclass(frozen=True)
class Erasure:
    subject: str
    erasure_id: str
    erased_at: datetime


class ErasureLedger:
    """The `erasures` collection: one document per erased subject, the last erasure wins.

    Holds only the subject (a digest), the erasure's id and its time."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._collection: AsyncCollection[Document] = db[ERASURES_COLLECTION]

    async def remember(self, erasure: Erasure) -> bool:
        """Record an erasure; False if this erasure (by id) was recorded before."""
        known = await self._collection.find_one({"_id": erasure.subject})
        if known is not None and known.get("erasure_id") == erasure.erasure_id:
            return False
        if known is not None and known["erased_at"] >= erasure.erased_at:
            return False
        await self._collection.update_one(
            {"_id": erasure.subject},
            {"$set": {"erasure_id": erasure.erasure_id, "erased_at": erasure.erased_at}},
            upsert=True,
        )
        return True

    async def get(self, subject: str) -> Erasure | None:
        doc = await self._collection.find_one({"_id": subject})
        if doc is None:
            return None
        return Erasure(subject, doc["erasure_id"], doc["erased_at"])

    async def erased_after(self, addresses: Iterable[str], occurred_at: datetime) -> set[str]:
        """Those of the addresses whose person was erased after `occurred_at`: an event of that
        time must not bring them back. One query, however many addresses."""
        by_subject = {subject_of(a): a for a in addresses}
        if not by_subject:
            return set()
        found = self._collection.find(
            {"_id": {"$in": list(by_subject)}, "erased_at": {"$gt": occurred_at}}, {"_id": 1}
        )
        return {by_subject[doc["_id"]] async for doc in found}


class PrivacyAudit:
    """The `privacy_audit` collection: who erased or exported whose data, and when.

    `actor` is the pseudonymous actor of the request (as on events), `subject` the digest."""

    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._collection: AsyncCollection[Document] = db[PRIVACY_AUDIT_COLLECTION]

    async def record(self, action: str, subject: str, actor: str | None, at: datetime) -> None:
        await self._collection.insert_one(
            {"action": action, "subject": subject, "actor": actor, "at": at}
        )

    async def entries(self, subject: str | None = None) -> list[Document]:
        query = {} if subject is None else {"subject": subject}
        return [
            {k: v for k, v in doc.items() if k != "_id"}
            async for doc in self._collection.find(query).sort("at", 1)
        ]


async def forget_dead_letters(db: AsyncDatabase[Document], needles: Iterable[str]) -> int:
    """Delete the dead letters whose recorded error quotes the person (a validation error may
    quote the value it refused); returns how many. Their event stays in Kafka, replayable."""
    wanted = list(needles)
    collection: AsyncCollection[Document] = db[DEAD_LETTERS_COLLECTION]
    doomed = [doc["_id"] async for doc in collection.find() if mentions(doc, wanted)]
    if doomed:
        await collection.delete_many({"_id": {"$in": doomed}})
    return len(doomed)
