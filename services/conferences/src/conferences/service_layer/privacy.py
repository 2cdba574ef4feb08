"""Use cases of the data subjects' rights here: erasure (Art. 17, on `person-erased`), access
(Art. 15, for the district) and the retention of invitees' data after a conference.

The person is found by the subject of the addresses this service holds: invitations (drafts'
delegates among them) and the network projection's committee seats and office posts. Erasure
anonymises each copy in place (the counts stay) and publishes nothing: an update would mail the
other invitees, and the notifications service erases its own copies on the same event.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass
from datetime import datetime, timedelta
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from conferences.adapters.repositories import ConferenceRepository, NetworkProjection
from conferences.domain.model import EXTERNAL_SOURCE, Conference, ConferenceStatus, Invitation
from conferences.domain.privacy import addresses_in, is_of
from conferences.domain.projection import NetworkView
from rbn_shared.changes import Clock
from rbn_shared.consumer import DEAD_LETTERS_COLLECTION
from rbn_shared.events.base import Person
from rbn_shared.logging import get_logger
from rbn_shared.mongo import Document
from rbn_shared.privacy import (
    Erasure,
    ErasureLedger,
    HeldAbout,
    PrivacyAudit,
    forget_dead_letters,
    subject_of,
)

log = get_logger(__name__)


@dataclass(frozen=True)
class ErasureDone:
    """What one erasure changed here (counts only: nothing that names the person)."""

    conferences: int
    networks: int
    dead_letters: int


@dataclass
class PrivacyService:
    conferences: ConferenceRepository
    networks: NetworkProjection
    erasures: ErasureLedger
    audit: PrivacyAudit
    db: AsyncDatabase[Document]  # where the dead letters are
    _: KW_ONLY
    clock: Clock
    retention: timedelta  # how long invitees' data outlives their conference's end

    # ------------------------------------------------------------------ erasure

    async def erase(self, erasure: Erasure, *, actor: str | None) -> ErasureDone:
        """Anonymise every copy of the subject; idempotent and safe to repeat after a crash at
        any point (each step finds what is left)."""
        subject = erasure.subject
        # First the ledger: from now on an older event naming the person is folded anonymised.
        await self.erasures.remember(erasure)
        # The copies as they are, before they lose what a dead letter may quote.
        quoted = [p for _, _, p in await self._invitations_of(subject)]
        quoted += await self._roster_copies_of(subject)
        dead_letters = await self._forget_dead_letters(subject, quoted)
        conferences = 0
        for conference_id in await self.conferences.ids():
            async with self.conferences.locked(conference_id):
                stored = await self.conferences.get(conference_id)
                if stored is None or not stored.conference.erase(subject):
                    continue
                await self.conferences.save_erased(stored, [subject])
                conferences += 1
        networks = 0
        for view in await self.networks.all():
            async with self.networks.locked(view.network_id):
                current = await self.networks.get(view.network_id)
                if current is not None and current.erase(subject):
                    await self.networks.put(current)
                    networks += 1
        # Audited once per erasure, at the time the ledger keeps (a repeat is a new record of
        # the same erasure, its own time).
        kept = await self.erasures.get(subject) or erasure
        if not await self._audited(subject, kept.erased_at):
            await self.audit.record("erasure", subject, actor, kept.erased_at)
        return ErasureDone(conferences, networks, dead_letters)

    async def _forget_dead_letters(self, subject: str, quoted: list[Person]) -> int:
        """Dead letters quoting the person: by a name or address of a copy, or by an address
        in their text whose subject is the person's (one never folded in holds no copy)."""
        needles = {p.name for p in quoted} | {str(p.email) for p in quoted}
        async for doc in self.db[DEAD_LETTERS_COLLECTION].find():
            needles |= {a for a in addresses_in(repr(doc)) if is_of(a, subject)}
        return await forget_dead_letters(self.db, needles) if needles else 0

    async def _audited(self, subject: str, at: datetime) -> bool:
        """Was this erasure audited before (a repeat after a crash before the marker)?"""
        entries = await self.audit.entries(subject)
        return any(e["action"] == "erasure" and _same_time(e["at"], at) for e in entries)

    # ------------------------------------------------------------------ access

    async def export(self, address: str, *, actor: str | None) -> HeldAbout:
        """Every record of the address here, each once; the export is audited."""
        subject = subject_of(address)
        now = self.clock()
        items: list[dict[str, Any]] = []
        for conference, invitation, person in await self._invitations_of(subject):
            delegate = (
                conference.status == ConferenceStatus.DRAFT and invitation.source == EXTERNAL_SOURCE
            )
            items.append(
                {
                    "kind": "delegate" if delegate else "invitation",
                    "id": f"{conference.conference_id}/{invitation.invitation_id}",
                    "network_id": conference.network.id,
                    "data": {
                        "conference_id": conference.conference_id,
                        "title": conference.title,
                        "starts_at": conference.starts_at.isoformat(),
                        "conference_status": conference.status.value,
                        "response": invitation.response.value,
                        "waitlisted": invitation.waitlisted,
                        "withdrawn": invitation.withdrawn,
                        "person": person.model_dump(mode="json", exclude_none=True),
                    },
                }
            )
        for view, kind, key in await self._roster_keys_of(subject):
            entries = view.committee if kind == "committee-seat" else view.staff
            items.append(
                {"kind": kind, "id": key, "network_id": view.network_id, "data": entries[key]}
            )
        await self.audit.record("access-export", subject, actor, now)
        return HeldAbout(subject, now, items)

    # ------------------------------------------------------------------ retention

    async def forget_ended(self) -> int:
        """The periodic job: anonymise the invitees of every published conference that ended
        longer than the retention ago. Returns how many invitations it anonymised."""
        now = self.clock()
        forgotten = 0
        for conference_id in await self.conferences.ids_ended_before(now - self.retention):
            async with self.conferences.locked(conference_id):
                stored = await self.conferences.get(conference_id)
                if stored is None:
                    continue
                before = {subject_of(str(i.person.email)) for i in stored.conference.invitations}
                count = stored.conference.forget_invitees(now, self.retention)
                if count:
                    await self.conferences.save_erased(stored, sorted(before))
                    forgotten += count
        if forgotten:
            log.info("invitees of ended conferences anonymised", invitations=forgotten)
        return forgotten

    # ------------------------------------------------------------------ finding copies

    async def _invitations_of(self, subject: str) -> list[tuple[Conference, Invitation, Person]]:
        found = []
        for conference_id in await self.conferences.ids():
            stored = await self.conferences.get(conference_id)
            if stored is None:
                continue
            for invitation in stored.conference.invitations:
                if is_of(str(invitation.person.email), subject):
                    found.append((stored.conference, invitation, invitation.person))
        return found

    async def _roster_keys_of(self, subject: str) -> list[tuple[NetworkView, str, str]]:
        found = []
        for view in await self.networks.all():
            for kind, people in (
                ("committee-seat", view.committee_people()),
                ("office-post", view.staff_people()),
            ):
                found += [
                    (view, kind, k) for k, p in people.items() if is_of(str(p.email), subject)
                ]
        return found

    async def _roster_copies_of(self, subject: str) -> list[Person]:
        return [
            (view.committee_people() if kind == "committee-seat" else view.staff_people())[key]
            for view, kind, key in await self._roster_keys_of(subject)
        ]


def _same_time(stored: datetime, at: datetime) -> bool:
    """Mongo keeps milliseconds and no time zone: compare what it keeps."""
    return abs(stored.replace(tzinfo=None) - at.replace(tzinfo=None)) < timedelta(milliseconds=1)
