"""What one committee change writes to the database: the committee's document as it is now,
nothing else (not the network's other parts, not those who left).

A network of 20 members, 5 office staff and 5 fields of action gets one member more. A command
listener sees every update sent and sizes it as BSON; the figure for the old shape (the whole
network in one document, rewritten by every change) is the same update computed over the whole
network. Both are printed (`pytest -s`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import bson
import pytest
from pymongo import AsyncMongoClient, monitoring
from pymongo.asynchronous.database import AsyncDatabase

from rbn_shared.changes import Cause
from rbn_shared.events import Person
from rbn_shared.events.base import MunicipalityKind, Side
from rbn_shared.events.registry import CommitteeRole, Employer, Municipality, OfficeContact
from rbn_shared.outbox import AggregateStore, KeyedLocks
from rbn_shared.privacy import ERASED_NAME
from registry.adapters.repositories import Repositories
from registry.domain import commands
from registry.domain.model import (
    Committee,
    CommitteeMember,
    Employment,
    FieldDescription,
    Membership,
    NetworkDetails,
)
from registry.domain.privacy import DataSubject
from registry.service_layer.services import RegistryService

pytestmark = pytest.mark.integration

CAUSE = Cause("write-size-probe")
NETWORK = "probe"


class Updates(monitoring.CommandListener):
    """The update documents sent, with their collection."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        if event.command_name == "update":
            for statement in event.command["updates"]:
                self.sent.append((event.command["update"], statement["u"]))

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


@pytest.fixture
async def probed(isolated: dict[str, str]) -> AsyncIterator[tuple[RegistryService, Updates]]:
    """The registry's service layer on a client whose updates are recorded (no relay: the
    events stay in the outboxes of this test's own database)."""
    updates = Updates()
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        isolated["RBN_MONGO_URL"], tz_aware=True, event_listeners=[updates]
    )
    db = client[isolated["RBN_MONGO_DATABASE"]]
    locks = KeyedLocks()
    storage = Repositories.on(lambda name: AggregateStore(db[name], locks), "rbn.probe.events")
    await storage.create_indexes()
    try:
        yield RegistryService(storage), updates
    finally:
        await client.close()


def person(i: int, kind: str = "p") -> Person:
    return Person(
        name=f"Person {kind}{i}",
        email=f"{kind}{i}@schule-probe.example",
        organisation="Gesamtschule Probe",
        function="Lehrkraft",
    )


async def add_member(service: RegistryService, i: int) -> None:
    membership = Membership(
        person=person(i),
        side=Side.MUNICIPALITY,
        role=CommitteeRole.MEMBER,
        term_start=date(2026, 1, 1),
    )
    await service.handle(commands.AddMember(NETWORK, membership), cause=CAUSE)


async def test_a_committee_change_writes_only_the_committee(
    probed: tuple[RegistryService, Updates],
) -> None:
    service, updates = probed
    details = NetworkDetails(
        name="Regionales Bildungsnetzwerk Probe",
        municipality=Municipality(name="Probe", kind=MunicipalityKind.CITY),
        office=OfficeContact(name="Bildungsbüro Probe", email="buero@probe.example"),
    )
    registration = commands.RegisterNetwork(NETWORK, details)
    await service.register_network(registration, cause=CAUSE)
    signing = commands.SignAgreement(NETWORK, date(2020, 1, 1), date(2020, 1, 1))
    await service.handle(signing, cause=CAUSE)
    for i in range(20):
        await add_member(service, i)
    for i in range(5):
        employment = Employment(
            person=person(i, "s"), employer=Employer.MUNICIPALITY, start_date=date(2026, 1, 1)
        )
        await service.handle(commands.AssignStaff(NETWORK, employment), cause=CAUSE)
        description = FieldDescription(
            title=f"Handlungsfeld {i}",
            starting_situation="Ausgangslage " * 20,
            development_needs="Entwicklungsbedarf " * 20,
        )
        await service.handle(commands.ProposeField(NETWORK, description), cause=CAUSE)
    updates.sent.clear()

    await add_member(service, 20)

    [(collection, update)] = updates.sent
    assert collection == "committees"
    written = set(update["$set"])
    assert {"staff", "fields", "agreements", "name", "office"}.isdisjoint(written), written
    after = len(bson.encode(update))

    # The old shape: the whole network in one document, all of it in the update's $set.
    whole = (await service.network(NETWORK)).value.model_dump(mode="json", exclude={"id"})
    old_state = {**whole, "event_count": 33, "version": 33}
    before = len(bson.encode({"$set": old_state, "$push": update["$push"]}))
    print(f"\nbytes written per committee-member change: before {before}, after {after}")
    assert after < before


async def register(service: RegistryService) -> None:
    details = NetworkDetails(
        name="Regionales Bildungsnetzwerk Probe",
        municipality=Municipality(name="Probe", kind=MunicipalityKind.CITY),
        office=OfficeContact(name="Bildungsbüro Probe", email="buero@probe.example"),
    )
    await service.register_network(commands.RegisterNetwork(NETWORK, details), cause=CAUSE)


async def remove_member(service: RegistryService, member_id: str, version: int) -> None:
    removal = commands.RemoveMember(NETWORK, member_id, version, date(2026, 6, 30), "Wechsel")
    await service.handle(removal, cause=CAUSE)


async def test_those_who_left_do_not_grow_what_a_change_writes(
    probed: tuple[RegistryService, Updates],
) -> None:
    """Forty members come and go: a change still writes the committee as it is now, and those
    who left are kept, one document each, listed with the former ones."""
    service, updates = probed
    await register(service)
    for i in range(5):
        await add_member(service, i)
    updates.sent.clear()
    await add_member(service, 5)
    [(_, first)] = updates.sent
    for i in range(6, 46):
        await add_member(service, i)
        [newest] = (await service.part(Committee, NETWORK)).members[-1:]
        await remove_member(service, newest.id, newest.version)
    updates.sent.clear()

    await add_member(service, 46)

    [(collection, update)] = updates.sent
    assert collection == "committees"
    assert len(update["$set"]["members"]) == 7
    print(f"\nbytes written per change, 6 members: {len(bson.encode(first))}, "
          f"7 members after 40 left: {len(bson.encode(update))}")  # fmt: skip
    assert len(bson.encode(update)) < 2 * len(bson.encode(first))
    committee = await service.part(Committee, NETWORK, with_former=True)
    assert len(committee.members) == 7
    assert len(committee.former) == 40
    assert {m.removed_on for m in committee.former} == {date(2026, 6, 30)}
    gone = committee.former[0]
    assert await service.person(Committee, NETWORK, gone.id) == gone  # found by id, as it left
    assert (await service.network(NETWORK)).value.committee_size == 7


@pytest.fixture
async def raw(isolated: dict[str, str]) -> AsyncIterator[AsyncDatabase[dict[str, Any]]]:
    """The test's database as it is stored, to write documents of an older shape."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(isolated["RBN_MONGO_URL"])
    try:
        yield client[isolated["RBN_MONGO_DATABASE"]]
    finally:
        await client.close()


async def store_the_old_shape(
    db: AsyncDatabase[dict[str, Any]], current: list[CommitteeMember], left: CommitteeMember
) -> dict[str, Any]:
    """The committee's document as written before those who left were kept apart: `left`
    listed inside, removed on 2025-12-31. Returns that entry."""
    removed = {**left.model_dump(mode="json"), "removed_on": "2025-12-31", "version": 2}
    members = [*(m.model_dump(mode="json") for m in current), removed]
    await db["committees"].update_one(
        {"_id": f"{NETWORK}:committee"}, {"$set": {"members": members}}
    )
    return removed


async def test_a_committee_stored_with_removed_members_moves_them_out_on_its_next_change(
    probed: tuple[RegistryService, Updates], raw: AsyncDatabase[dict[str, Any]]
) -> None:
    """A committee document written before former members were kept apart lists them inside;
    its next change stores them apart, and a seat both current and former reads as current
    (a crash between the two writes of a removal)."""
    service, _ = probed
    await register(service)
    await add_member(service, 0)
    await add_member(service, 1)
    [kept, left] = (await service.part(Committee, NETWORK)).members
    await store_the_old_shape(raw, [kept], left)
    current = {**kept.model_dump(mode="json"), "_id": kept.id, "network_id": NETWORK}
    await raw["former_members"].insert_one({**current, "removed_on": "2026-01-31"})
    before = await service.part(Committee, NETWORK, with_former=True)
    assert [m.id for m in before.members] == [kept.id]  # current wins over the stray copy
    assert [(m.id, m.removed_on) for m in before.former] == [(left.id, date(2025, 12, 31))]

    await add_member(service, 2)

    stored = await raw["committees"].find_one({"_id": f"{NETWORK}:committee"})
    assert stored is not None
    assert [m["id"] for m in stored["members"]] == [kept.id, stored["members"][1]["id"]]
    assert all(m.get("removed_on") is None for m in stored["members"])
    moved = await raw["former_members"].find_one({"_id": left.id})
    assert moved is not None
    assert (moved["network_id"], moved["removed_on"]) == (NETWORK, "2025-12-31")
    after = await service.part(Committee, NETWORK, with_former=True)
    assert [m.id for m in after.former] == [left.id]


async def test_a_rewrite_of_a_committee_stored_before_keeps_its_removed_members(
    probed: tuple[RegistryService, Updates], raw: AsyncDatabase[dict[str, Any]]
) -> None:
    """An erasure or the retention rewrites a committee whose document still lists removed
    members (stored before they were kept apart): they move out, none is lost."""
    service, _ = probed
    await register(service)
    for i in range(3):
        await add_member(service, i)
    [erased, kept, left] = (await service.part(Committee, NETWORK)).members
    await store_the_old_shape(raw, [erased, kept], left)
    committees = service.storage.committees
    loaded = await committees.get(NETWORK, with_former=True)
    assert loaded.aggregate.erase(DataSubject.of(erased.person.email)) == [erased.id]

    await committees.rewrite(loaded)

    after = await service.part(Committee, NETWORK, with_former=True)
    assert [m.id for m in after.members] == [erased.id, kept.id]
    assert [(m.id, m.removed_on) for m in after.former] == [(left.id, date(2025, 12, 31))]
    assert after.members[0].person.name == ERASED_NAME


async def test_an_unchanged_copy_never_overwrites_one_stored_apart(
    probed: tuple[RegistryService, Updates], raw: AsyncDatabase[dict[str, Any]]
) -> None:
    """Another instance stored a removed member apart, anonymised, while this one still read
    the old document listing them: this one's rewrite leaves the anonymised copy as it is."""
    service, _ = probed
    await register(service)
    await add_member(service, 0)
    await add_member(service, 1)
    [erased, left] = (await service.part(Committee, NETWORK)).members
    removed = await store_the_old_shape(raw, [erased], left)
    committees = service.storage.committees
    loaded = await committees.get(NETWORK)  # the old document: `left` listed inside
    anonymised = {
        **removed,
        "_id": left.id,
        "network_id": NETWORK,
        "person": {"name": ERASED_NAME, "email": "entfernt-0123456789abcdef@rbn.invalid"},
        "version": 3,
    }
    await raw["former_members"].insert_one(anonymised)  # the other instance, meanwhile
    loaded.aggregate.erase(DataSubject.of(erased.person.email))

    await committees.rewrite(loaded)

    stored = await raw["former_members"].find_one({"_id": left.id})
    assert stored is not None
    assert (stored["person"]["name"], stored["version"]) == (ERASED_NAME, 3)
