"""Erasing a person (Art. 17 DSGVO): the reaction to `person-erased`.

The event names the person by subject only, so the addresses this service holds are matched by
their digest. Then, for those addresses:

- each pending delivery to them, or naming them (an office told of a new member), is
  cancelled, never sent. The erasure takes the claim of its next
  attempt first (the same unique claim a sender takes): once it holds it, no sender can start
  that attempt. If a sender holds it already, the mail is in flight and may well go out; the
  record is anonymised and left to that attempt's outcome, and any later attempt (a retry, an
  in-doubt resend) finds the placeholder address and is cancelled by the dispatcher;
- every delivery to them keeps its status, times and counts (sent stays sent, failed stays
  failed; never sent counts as cancelled), with name and address replaced by the placeholders;
- their rendered messages are deleted, and so is any other message that names them;
- their preferences are deleted; the projection, the district report's developments, the
  recorded answers and the dead letters lose every copy of name and address.

The ledger remembers the erasure first, so that an event read meanwhile already finds it.
Every step finds what is left to do by what is still there: the same event again, or a restart
midway, changes nothing more than is left.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from notifications.adapters.repositories import (
    DELIVERIES,
    Repositories,
    StoredDelivery,
    rewrite_outboxes,
)
from notifications.domain.delivery import Delivery
from notifications.domain.recipients import DISTRICT_ID, Contact, DistrictCoordination
from notifications.domain.report import anonymised, mentions_any
from notifications.service_layer.inbound import INBOUND_MAILS
from rbn_shared.addresses import address_key
from rbn_shared.changes import Clock
from rbn_shared.errors import VersionConflict
from rbn_shared.events import Envelope
from rbn_shared.events.registry import PersonErased
from rbn_shared.logging import get_logger
from rbn_shared.mongo import Document
from rbn_shared.privacy import (
    ERASED_NAME,
    Erasure,
    erased_address,
    forget_dead_letters,
    subject_of,
)

log = get_logger(__name__)

ERASURE_CLAIMANT = "erasure"  # the "instance" of the claims an erasure takes


OUTBOX_COLLECTIONS = (DELIVERIES, INBOUND_MAILS)  # the stores whose events name people


def _anonymised_text(value: Any, *, addresses: set[str], names: list[str], by: str) -> Any:
    """A stored event (wire text, or whatever else) with the addresses replaced by `by` and
    any other needle (a name) by ERASED_NAME."""
    if isinstance(value, dict):
        return {
            k: _anonymised_text(v, addresses=addresses, names=names, by=by)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_anonymised_text(v, addresses=addresses, names=names, by=by) for v in value]
    if not isinstance(value, str):
        return value
    for needle in sorted(names, key=len, reverse=True):
        replacement = by if needle in addresses else ERASED_NAME
        value = re.sub(re.escape(needle), replacement, value, flags=re.IGNORECASE)
    return value


@dataclass(kw_only=True)
class Erasures:
    repositories: Repositories
    db: AsyncDatabase[Document]  # for the dead letters
    clock: Clock

    async def person_erased(self, envelope: Envelope, payload: PersonErased) -> None:
        erasure = Erasure(payload.subject, payload.erasure_id, envelope.occurred_at)
        first_time = await self.repositories.erasures.remember(erasure)
        await self._erase(erasure, envelope.actor, first_time=first_time)

    async def erase_again(self, envelope: Envelope, payload: Any) -> None:
        """After the projection and the report took an event about a person erased after it
        occurred (read late): erase the copies it brought back. One look-up per event."""
        # A seat or post names its person; an answer its invitee's (recorded for the overview).
        person = getattr(payload, "person", None) or getattr(
            getattr(payload, "invitee", None), "person", None
        )
        if person is None:
            return
        address = address_key(str(person.email))
        ledger = self.repositories.erasures
        if not await ledger.erased_after([address], envelope.occurred_at):
            return
        erasure = await ledger.get(subject_of(address))
        if erasure is not None:
            # The event names them where nothing else here does any more (a recorded answer).
            known = ({address}, {str(person.name)})
            await self._erase(erasure, None, first_time=False, known=known)

    async def _erase(
        self,
        erasure: Erasure,
        actor: str | None,
        *,
        first_time: bool,
        known: tuple[set[str], set[str]] = (set(), set()),
    ) -> None:
        subject = erasure.subject
        addresses = await self._addresses_of(subject) | known[0]
        names = await self._names_at(addresses) | {n for n in known[1] if n != ERASED_NAME}
        needles = sorted({*addresses, *names})
        placeholder = erased_address(subject)
        cancelled = await self._erase_deliveries(addresses, needles, placeholder)
        await self._erase_copies(addresses, needles, placeholder)
        if first_time:
            await self.repositories.audit.record("erasure", subject, actor, self.clock())
        # Ids and counts only: the subject is a pseudonym, the address is not logged.
        log.info(
            "person erased",
            erasure_id=erasure.erasure_id,
            repeated=not first_time,
            cancelled=cancelled,
        )

    async def _addresses_of(self, subject: str) -> set[str]:
        """The addresses held here whose digest is `subject` (usually one)."""
        repos = self.repositories
        candidates = {*await repos.deliveries.recipients(), *await repos.preferences.addresses()}
        for network in await repos.directory.networks():
            candidates |= {c.email for c in network.contacts()}
        district, _ = await repos.directory.district()
        if district is not None:
            candidates |= {district.coordinator.email, district.service_unit.email}
        return {address_key(a) for a in candidates if subject_of(a) == subject}

    async def _names_at(self, addresses: set[str]) -> set[str]:
        if not addresses:
            return set()
        names: set[str] = set()
        for network in await self.repositories.directory.networks():
            names |= network.names_at(addresses)
        district, _ = await self.repositories.directory.district()
        if district is not None:
            for contact in (district.coordinator, district.service_unit):
                if address_key(contact.email) in addresses:
                    names.add(contact.name)
        return {n for n in names if n and n != ERASED_NAME}

    # ------------------------------------------------------------------ deliveries

    async def _erase_deliveries(
        self, addresses: set[str], needles: list[str], placeholder: str
    ) -> int:
        """Cancel, anonymise, and delete the messages; returns how many were cancelled."""
        deliveries = self.repositories.deliveries
        own = await deliveries.to_any_of(sorted(addresses)) if addresses else []
        own_ids = {s.delivery.delivery_id for s in own}
        # Mails to others about the person (an office told of a new member) name them too.
        others = [
            s for s in await deliveries.mentioning(needles) if s.delivery.delivery_id not in own_ids
        ]
        cancelled = 0
        for stored in own:
            cancelled += await self._erase_delivery(stored, needles, placeholder, own=True)
        for stored in others:
            await self._erase_delivery(stored, needles, placeholder, own=False)
        doomed = {
            *own_ids,
            *(s.delivery.delivery_id for s in others),
            *await deliveries.messages_mentioning(needles),
        }
        await deliveries.forget_messages(sorted(doomed))
        return cancelled

    async def _erase_delivery(
        self, stored: StoredDelivery, needles: list[str], placeholder: str, *, own: bool
    ) -> int:
        deliveries = self.repositories.deliveries
        delivery_id = stored.delivery.delivery_id
        read: StoredDelivery | None = stored
        while True:
            async with deliveries.store.locked(delivery_id):
                current = read or await deliveries.get(delivery_id)
                read = None
                if current is None:
                    return 0
                delivery = copy.copy(current.delivery)
                cancelled = 0
                if delivery.is_open() and await self._hold_next_attempt(delivery_id, delivery):
                    delivery.cancel(self.clock())
                    cancelled = 1
                delivery.anonymise(placeholder if own else delivery.recipient, ERASED_NAME, needles)
                if delivery == current.delivery:
                    return 0
                changed = StoredDelivery(delivery, current.version, current.event_count)
                try:
                    await deliveries.save(changed)
                except VersionConflict:
                    continue  # a sender wrote meanwhile: decide again on what is there
                await deliveries.sync_queue(delivery)
                return cancelled

    async def _hold_next_attempt(self, delivery_id: str, delivery: Delivery) -> bool:
        """Take the claim of the delivery's next attempt (or find it taken by an erasure before
        a restart); False if a sender holds it: that attempt is in flight."""
        deliveries = self.repositories.deliveries
        attempt = delivery.next_attempt_number
        if await deliveries.claim(delivery_id, attempt, ERASURE_CLAIMANT, self.clock()):
            return True
        return await deliveries.claimed_by(delivery_id, attempt) == ERASURE_CLAIMANT

    # ------------------------------------------------------------------ other copies

    async def _erase_copies(
        self, addresses: set[str], needles: list[str], placeholder: str
    ) -> None:
        repos = self.repositories
        if addresses:
            await repos.preferences.forget(sorted(addresses))
        for development in await repos.developments.all():
            if mentions_any(development, needles):
                changed = anonymised(development, needles, ERASED_NAME)
                await repos.developments.replace(development.event_id, changed)
        for response in await repos.responses.all():
            fields = (response.person_name, response.organisation or "", response.office_email)
            if any(n.casefold() in (f or "").casefold() for f in fields for n in needles if n):
                office = response.office_email
                changed_response = replace(
                    response,
                    person_name=ERASED_NAME,
                    office_email=placeholder
                    if office and address_key(office) in addresses
                    else office,
                )
                await repos.responses.replace(response.event_id, changed_response)
        # Events not yet published name them too: they go out anonymised.
        rewrite = partial(_anonymised_text, addresses=addresses, names=needles, by=placeholder)
        for collection in OUTBOX_COLLECTIONS:
            await rewrite_outboxes(self.db[collection], rewrite)
        if needles:
            await forget_dead_letters(self.db, needles)
        # Last: the projection is where the names are found, should this be cut off and redone.
        await self._erase_projection(addresses, placeholder)

    async def _erase_projection(self, addresses: set[str], placeholder: str) -> None:
        directory = self.repositories.directory
        if not addresses:
            return
        for network in await directory.networks():
            async with directory.store.locked(network.network_id):
                known, version = await directory.network(network.network_id)
                if known is None:
                    continue
                changed = known.anonymised(addresses, placeholder, ERASED_NAME)
                if changed != known:
                    await directory.save_network(changed, version)
        async with directory.store.locked(DISTRICT_ID):
            district, version = await directory.district()
            if district is None:
                return

            def scrub(c: Contact) -> Contact:
                if address_key(c.email) in addresses:
                    return Contact(placeholder, ERASED_NAME)
                return c

            changed_district = DistrictCoordination(
                scrub(district.coordinator), scrub(district.service_unit)
            )
            if changed_district != district:
                await directory.save_district(changed_district, version)
