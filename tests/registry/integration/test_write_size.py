"""What one committee change writes to the database: the committee's document, nothing else.

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

from rbn_shared.changes import Cause
from rbn_shared.events import Person
from rbn_shared.events.base import MunicipalityKind, Side
from rbn_shared.events.registry import CommitteeRole, Employer, Municipality, OfficeContact
from rbn_shared.outbox import AggregateStore, KeyedLocks
from registry.adapters.repositories import Repositories
from registry.domain import commands
from registry.domain.model import Employment, FieldDescription, Membership, NetworkDetails
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
