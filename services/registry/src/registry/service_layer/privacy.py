"""The registry's privacy use cases: erase a person (Art. 17 DSGVO), export what it holds about
them (Art. 15), and anonymise the people who left long ago (retention).

An erasure is restart-safe because every step is idempotent and the record comes last: the
copies that quote the person (dead letters, the change log) go first, while the records still
carry the names to look for; then every record of the address is anonymised in place; then the
erasure is stored with its `person-erased` in its outbox (one write). A crash anywhere before
the last write leaves a repeat to finish the work; the records already anonymised carry the
person's placeholder, so the repeat's event still names them. A repeat that finds nothing left
to anonymise answers with the earlier erasure and publishes nothing.

Logs name the subject, never a name or an address.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any, Literal, TypeVar

from pymongo.asynchronous.database import AsyncDatabase

from rbn_shared.changes import Cause, Clock
from rbn_shared.events.envelope import utc_now
from rbn_shared.logging import get_logger
from rbn_shared.mongo import Document
from rbn_shared.privacy import (
    ERASED_NAME,
    HeldAbout,
    PrivacyAudit,
    forget_dead_letters,
    is_erased_address,
)
from rbn_shared.retrying import CONCURRENT_WRITE
from registry.adapters.changes import ChangeLog
from registry.adapters.repositories import PartRepository, Repositories
from registry.domain.errors import Conflict
from registry.domain.model import Committee, Office, past_their_retention
from registry.domain.privacy import DataSubject, ErasureRecord, Trace, retention_cutoff
from registry.service_layer.services import new_id

log = get_logger(__name__)

ERASURE = "erasure"
ACCESS_EXPORT = "access-export"


@dataclass(frozen=True)
class ByAddress:
    email: str


@dataclass(frozen=True)
class ByRecord:
    """A committee seat (`member`) or an office post (`staff`) whose address is the person's."""

    network_id: str
    kind: Literal["member", "staff"]
    record_id: str


ErasureTarget = ByAddress | ByRecord


@dataclass(frozen=True)
class Erased:
    erasure: ErasureRecord
    new: bool  # False: an earlier erasure, nothing was left to anonymise


@dataclass(frozen=True)
class Retained:
    """What a retention run anonymised."""

    member_ids: list[str]
    staff_ids: list[str]


class PrivacyService:
    def __init__(
        self,
        storage: Repositories,
        changes: ChangeLog,
        db: AsyncDatabase[Document],
        *,
        retention_days: int = 730,
        clock: Clock = utc_now,
    ) -> None:
        self.storage = storage
        self.changes = changes
        self.db = db
        self.audit = PrivacyAudit(db)
        self.retention_days = retention_days
        self.clock = clock

    # ------------------------------------------------------------------ erasure

    async def erase(self, target: ErasureTarget, *, cause: Cause) -> Erased:
        """Erase the person `target` names from the whole registry; audited."""
        resolved = await self._resolve(target)
        if isinstance(resolved, ErasureRecord):  # the record named was erased before
            await self.audit.record(ERASURE, resolved.subject, cause.actor, self.clock())
            return Erased(resolved, new=False)
        person = DataSubject.of(resolved)
        erased = await CONCURRENT_WRITE.call(self._erase_once, person, cause)
        await self.audit.record(ERASURE, person.subject, cause.actor, self.clock())
        log.info(
            "person erased" if erased.new else "person erased before, nothing left",
            subject=person.subject,
            erasure_id=erased.erasure.erasure_id,
        )
        return erased

    async def _resolve(self, target: ErasureTarget) -> str | ErasureRecord:
        """The address the target names, or the erasure that anonymised the record it names."""
        if isinstance(target, ByAddress):
            return target.email
        await self.storage.networks.ref(target.network_id)  # NotFound for no such network
        parts = self.storage.committees if target.kind == "member" else self.storage.offices
        part = (await parts.get(target.network_id, with_former=True)).aggregate
        address = part.member(target.record_id).person.email
        if is_erased_address(address):
            earlier = await self.storage.erasures.with_placeholder(address)
            if earlier is None:  # anonymised by retention: its address is not known any more
                raise Conflict(f"{target.kind} {target.record_id} is anonymised already")
            return earlier
        return address

    async def _erase_once(self, person: DataSubject, cause: Cause) -> Erased:
        erasures = self.storage.erasures
        async with erasures.locked(person.subject):
            earlier = await erasures.get(person.subject)
            needles = [person.key, *await self._names_of(person)]
            await forget_dead_letters(self.db, needles)
            await self.changes.forget(needles)
            anonymised = await self._anonymise(person)
            if earlier is not None and not anonymised:
                return Erased(earlier.aggregate, new=False)
            trace = await self._trace(person)
            erasure, events = ErasureRecord.record(new_id("era"), person, self.clock(), trace)
            await erasures.save(erasure, earlier, events, cause)
            return Erased(erasure, new=True)

    async def _names_of(self, person: DataSubject) -> set[str]:
        """The names the registry's records give the person (other copies may quote them)."""
        names: set[str] = set()
        for committee in await self.storage.committees.every():
            names |= {m.person.name for m in committee.aggregate.seats_of(person)}
        for office in await self.storage.offices.every():
            names |= {s.person.name for s in office.aggregate.posts_of(person)}
        district = await self.storage.district.get()
        if district is not None:
            coordination = district.aggregate
            if person.named(coordination.coordinator.email):
                names.add(coordination.coordinator.name)
            if person.named(coordination.service_unit.email):
                names.add(coordination.service_unit.name)
        bulletins = await self.storage.district.bulletins_by(person.key)
        return (names | {b.aggregate.author.name for b in bulletins}) - {ERASED_NAME}

    async def _anonymise(self, person: DataSubject) -> bool:
        """Anonymise every record of the person, each under its document's lock; whether any
        record still named them."""
        changed = await _anonymise_in(self.storage.committees, person)
        changed = await _anonymise_in(self.storage.offices, person) or changed
        district = self.storage.district
        async with district.locked():
            found = await district.get()
            if found is not None and found.aggregate.erase(person):
                await district.rewrite(found)
                changed = True
        for bulletin in await district.bulletins_by(person.key):
            bulletin.aggregate.erase(person)
            await district.rewrite_bulletin(bulletin)
            changed = True
        return changed

    async def _trace(self, person: DataSubject) -> Trace:
        """The records that are the person's (anonymised now): what `person-erased` names."""
        trace = Trace()
        for committee in await self.storage.committees.every():
            seats = committee.aggregate.seats_of(person)
            if seats:
                network = frozenset({committee.aggregate.network_id})
                trace |= Trace(network, member_ids=frozenset(m.id for m in seats))
        for office in await self.storage.offices.every():
            posts = office.aggregate.posts_of(person)
            if posts:
                network = frozenset({office.aggregate.network_id})
                trace |= Trace(network, staff_ids=frozenset(s.id for s in posts))
        return trace

    # ------------------------------------------------------------------ access

    async def export(self, email: str, *, actor: str | None) -> HeldAbout:
        """Everything the registry holds about the address: its subject, when, the items."""
        person = DataSubject.of(email)
        items: list[dict[str, Any]] = []
        for committee in await self.storage.committees.every():
            for m in committee.aggregate.seats_of(person):
                values = m.model_dump(mode="json", exclude={"id", "version"})
                items.append(_item("committee-seat", m.id, committee.aggregate.network_id, values))
        for office in await self.storage.offices.every():
            for s in office.aggregate.posts_of(person):
                values = s.model_dump(mode="json", exclude={"id", "version"})
                items.append(_item("office-post", s.id, office.aggregate.network_id, values))
        district = await self.storage.district.get()
        if district is not None:
            coordination = district.aggregate.model_dump(mode="json", exclude={"id"})
            for role in district.aggregate.roles_of(person):
                contact = coordination["coordinator" if role == "coordinator" else "service_unit"]
                items.append(_item(f"district-{role}", "district", None, contact))
        for bulletin in await self.storage.district.bulletins_by(person.key):
            b = bulletin.aggregate
            values = {"title": b.title, "published_on": b.published_on.isoformat()}
            items.append(_item("bulletin-author", b.id, None, {**values, "author": dict(b.author)}))
        mentioned = len(await self.changes.mentioning([person.key]))
        if mentioned:
            items.append(_item("change-log", "changes", None, {"entries": mentioned}))
        now = self.clock()
        await self.audit.record(ACCESS_EXPORT, person.subject, actor, now)
        log.info("personal data exported", subject=person.subject, items=len(items))
        return HeldAbout(person.subject, now, items)

    # ------------------------------------------------------------------ retention

    async def anonymise_past_retention(self) -> Retained:
        """Anonymise the seats removed and posts ended more than the retention period ago,
        whose person holds no current seat or post in that network; no `person-erased` (they
        may be active elsewhere)."""
        ended_before = retention_cutoff(self.clock(), self.retention_days)
        retained = Retained([], [])
        for network_id in await self.storage.networks.all_ids():
            # Another instance may write the part meanwhile: this network's run is repeated.
            done = await CONCURRENT_WRITE.call(self._retain_in, network_id, ended_before)
            retained.member_ids.extend(done.member_ids)
            retained.staff_ids.extend(done.staff_ids)
        if retained.member_ids or retained.staff_ids:
            log.info(
                "people past their retention anonymised",
                members=len(retained.member_ids),
                staff=len(retained.staff_ids),
            )
        return retained

    async def _retain_in(self, network_id: str, ended_before: date) -> Retained:
        committees, offices = self.storage.committees, self.storage.offices
        needles: list[str] = []
        async with committees.locked(network_id), offices.locked(network_id):
            committee = await committees.get(network_id, with_former=True)
            office = await offices.get(network_id, with_former=True)
            seats, posts = past_their_retention(committee.aggregate, office.aggregate, ended_before)
            for who in [s.person for s in seats] + [p.person for p in posts]:
                needles += [who.email, who.name]
            member_ids = [
                i
                for seat in seats
                for i in committee.aggregate.erase(DataSubject.of(seat.person.email), {seat.id})
            ]
            staff_ids = [
                i
                for post in posts
                for i in office.aggregate.erase(DataSubject.of(post.person.email), {post.id})
            ]
            if member_ids:
                await committees.rewrite(committee)
            if staff_ids:
                await offices.rewrite(office)
        if needles:  # only this network's trail: the person may still work in another
            await self.changes.forget(needles, network_id=network_id)
        return Retained(member_ids, staff_ids)


PeopleT = TypeVar("PeopleT", Committee, Office)


async def _anonymise_in(parts: PartRepository[PeopleT], person: DataSubject) -> bool:
    """Anonymise the person in every network's part of this kind; whether any named them."""
    changed = False
    for stored in await parts.every():
        network_id = stored.aggregate.network_id
        async with parts.locked(network_id):
            loaded = await parts.get(network_id, with_former=True)  # as it is now, under the lock
            if loaded.aggregate.erase(person):
                await parts.rewrite(loaded)
                changed = True
    return changed


def _item(kind: str, item_id: str, network_id: str | None, values: Any) -> dict[str, Any]:
    return {"kind": kind, "id": item_id, "network_id": network_id, "data": values}
