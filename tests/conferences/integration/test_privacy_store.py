"""Retention and the erasure of events not yet relayed, in the service's store (real FerretDB,
the use cases in process, the clock moved by the test)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from conferences.service_layer.privacy import PrivacyService
from conferences.service_layer.services import ConferenceService
from rbn_shared.events.conferences import Response
from rbn_shared.mongo import Document
from rbn_shared.privacy import ERASED_NAME, Erasure, ErasureLedger, PrivacyAudit, subject_of
from tests.conferences.use_cases import answer, schedule_online, service_on

pytestmark = pytest.mark.integration

Mongo = AsyncMongoClient[dict[str, object]]
RETENTION = timedelta(days=730)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def privacy_of(service: ConferenceService, db: AsyncDatabase[Document]) -> PrivacyService:
    return PrivacyService(
        service.conferences,
        service.networks,
        ErasureLedger(db),
        PrivacyAudit(db),
        db,
        clock=service.clock,
        retention=RETENTION,
    )


async def test_retention_anonymises_the_invitees_once_the_time_after_the_end_is_over(
    mongo: Mongo, isolated: dict[str, str]
) -> None:
    db = mongo[isolated["RBN_MONGO_DATABASE"]]
    clock = Clock(datetime(2027, 3, 1, 9, 0, tzinfo=UTC))
    service = await service_on(db, clock)
    privacy = privacy_of(service, db)
    start = datetime(2027, 3, 10, 13, 0, tzinfo=UTC)
    scheduled = await schedule_online(service, start)
    [clara] = scheduled.value.invitations
    answered = await answer(service, scheduled, clara.invitation_id, Response.ACCEPTED)
    counts = answered.value.counts()

    clock.now = answered.value.ends_at + RETENTION - timedelta(minutes=1)
    assert await privacy.forget_ended() == 0
    assert (await service.get(answered.value.conference_id)).value.invitations[0].person == (
        clara.person
    )

    clock.now = answered.value.ends_at + RETENTION + timedelta(minutes=1)
    assert await privacy.forget_ended() == 1
    kept = await service.get(answered.value.conference_id)
    [invitation] = kept.value.invitations
    assert invitation.person.name == ERASED_NAME
    assert invitation.response == Response.ACCEPTED
    assert kept.value.counts() == counts
    assert await privacy.forget_ended() == 0  # nothing left; no write
    assert (await service.get(answered.value.conference_id)).version == kept.version


async def test_an_erasure_rewrites_the_events_still_waiting_in_the_outbox(
    mongo: Mongo, isolated: dict[str, str]
) -> None:
    db = mongo[isolated["RBN_MONGO_DATABASE"]]
    clock = Clock(datetime(2027, 3, 1, 9, 0, tzinfo=UTC))
    service = await service_on(db, clock)
    privacy = privacy_of(service, db)
    scheduled = await schedule_online(service, datetime(2027, 3, 10, 13, 0, tzinfo=UTC))
    conference_id = scheduled.value.conference_id
    pending = await db["conferences"].find_one({"_id": conference_id})
    assert pending is not None
    assert "clara@example.org" in str(pending["outbox"])  # no relay runs here

    subject = subject_of("clara@example.org")
    erasure = Erasure(subject, "e1", clock.now)
    done = await privacy.erase(erasure, actor="someone")
    assert (done.conferences, done.networks) == (1, 1)
    stored = await db["conferences"].find_one({"_id": conference_id})
    assert stored is not None
    assert "clara" not in str(stored).casefold()
    assert "Clara Becker" not in str(await db["network_projection"].find_one({"_id": "hamm"}))
    # Again: nothing to change, the version stays; audited once.
    assert await privacy.erase(erasure, actor="someone") == type(done)(0, 0, 0)
    again = await db["conferences"].find_one({"_id": conference_id})
    assert again is not None
    assert again["version"] == stored["version"]
    assert [e["action"] for e in await privacy.audit.entries(subject)] == ["erasure"]
