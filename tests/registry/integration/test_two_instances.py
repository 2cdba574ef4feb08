"""Two registry instances on one database: additions to the same committee at the same moment
all succeed (a lost race runs again on the fresh state), a stale version is still refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from rbn_shared.changes import Cause
from rbn_shared.errors import ConcurrentWrite, VersionConflict
from rbn_shared.events import Person
from rbn_shared.events.base import MunicipalityKind, Side
from rbn_shared.events.registry import CommitteeRole, Municipality, OfficeContact
from rbn_shared.outbox import AggregateStore, KeyedLocks
from registry.adapters.repositories import Repositories
from registry.domain import commands
from registry.domain.model import Committee, Membership, NetworkDetails
from registry.service_layer.services import RegistryService

pytestmark = pytest.mark.integration

CAUSE = Cause("two-instances")
NETWORK = "zwilling"


@pytest.fixture
async def instances(isolated: dict[str, str]) -> AsyncIterator[list[RegistryService]]:
    """Two service layers, each with its own in-process locks (as two processes have), on the
    same database."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(
        isolated["RBN_MONGO_URL"], tz_aware=True
    )
    db = client[isolated["RBN_MONGO_DATABASE"]]

    def instance() -> RegistryService:
        locks = KeyedLocks()
        topic = "rbn.zwilling.events"
        return RegistryService(Repositories.on(lambda name: AggregateStore(db[name], locks), topic))

    services = [instance(), instance()]
    await services[0].storage.create_indexes()
    try:
        yield services
    finally:
        await client.close()


def membership(i: int) -> Membership:
    return Membership(
        person=Person(name=f"Mitglied {i}", email=f"m{i}@zwilling.example"),
        side=Side.MUNICIPALITY,
        role=CommitteeRole.MEMBER,
        term_start=date(2026, 1, 1),
    )


async def test_simultaneous_additions_on_two_instances_all_succeed(
    instances: list[RegistryService],
) -> None:
    first, second = instances
    details = NetworkDetails(
        name="Regionales Bildungsnetzwerk Zwilling",
        municipality=Municipality(name="Zwilling", kind=MunicipalityKind.CITY),
        office=OfficeContact(name="Bildungsbüro Zwilling", email="buero@zwilling.example"),
    )
    await first.register_network(commands.RegisterNetwork(NETWORK, details), cause=CAUSE)

    added = await asyncio.gather(
        *(
            (first, second)[i % 2].handle(commands.AddMember(NETWORK, membership(i)), cause=CAUSE)
            for i in range(16)
        )
    )

    committee = await first.part(Committee, NETWORK)
    assert len({a.value.id for a in added}) == 16
    assert sorted(m.person.name for m in committee.members) == sorted(
        f"Mitglied {i}" for i in range(16)
    ), "every addition stored once, none lost to a race"

    # A change that names a version its caller read is still refused once that is stale.
    member = added[0].value
    newer = membership(0).model_copy(update={"role": CommitteeRole.CHAIR})
    await first.handle(
        commands.UpdateMember(NETWORK, member.id, member.version, newer), cause=CAUSE
    )
    with pytest.raises(VersionConflict) as refused:
        await second.handle(
            commands.UpdateMember(NETWORK, member.id, member.version, newer), cause=CAUSE
        )
    assert not isinstance(refused.value, ConcurrentWrite), "stale, not a lost race"
