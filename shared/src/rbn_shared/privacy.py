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

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from rbn_shared.batching import Batcher
from rbn_shared.consumer import DEAD_LETTERS_COLLECTION
from rbn_shared.mongo import Document

# The pure half is rbn_shared.subjects (a domain may import it), re-exported here.
from rbn_shared.subjects import ERASED_DOMAIN as ERASED_DOMAIN
from rbn_shared.subjects import ERASED_NAME as ERASED_NAME
from rbn_shared.subjects import erased_address as erased_address
from rbn_shared.subjects import is_erased_address as is_erased_address
from rbn_shared.subjects import mentions as mentions
from rbn_shared.subjects import subject_of as subject_of

ERASURES_COLLECTION = "erasures"
PRIVACY_AUDIT_COLLECTION = "privacy_audit"


@dataclass(frozen=True)
class HeldAbout:
    """What one service holds about a subject (its access export): each record once, as a
    dict with its `kind` and `id` and what the record holds."""

    subject: str
    generated_at: datetime
    items: list[dict[str, Any]]


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
        # Look-ups at the same moment (the lanes of a consumer's batch) go in one query.
        self._reads: Batcher[list[str], dict[str, datetime]] = Batcher(self._read_together)

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
        erased = await self.erased_at(addresses)
        return {address for address, at in erased.items() if at > occurred_at}

    async def erased_at(self, addresses: Iterable[str]) -> dict[str, datetime]:
        """When the persons of those addresses were erased, for those that were (one query,
        however many addresses, and for every look-up at the same moment)."""
        wanted = list(addresses)
        return await self._reads.submit(wanted) if wanted else {}

    async def _read_together(self, asked: list[list[str]]) -> list[dict[str, datetime]]:
        by_subject: dict[str, set[str]] = {}
        for address in (a for addresses in asked for a in addresses):
            by_subject.setdefault(subject_of(address), set()).add(address)
        found = self._collection.find({"_id": {"$in": list(by_subject)}}, {"erased_at": 1})
        erased = {
            address: doc["erased_at"] async for doc in found for address in by_subject[doc["_id"]]
        }
        return [{a: erased[a] for a in addresses if a in erased} for addresses in asked]


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
