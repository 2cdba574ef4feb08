"""The reminder claim and its event are one write of the conference document (real FerretDB)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pymongo import AsyncMongoClient

from rbn_shared.events import Envelope
from tests.conferences.use_cases import schedule_online, service_on

pytestmark = pytest.mark.integration

Mongo = AsyncMongoClient[dict[str, object]]
DAY = 86400


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_claim_and_event_are_stored_together_and_only_once(
    mongo: Mongo, isolated: dict[str, str]
) -> None:
    db = mongo[isolated["RBN_MONGO_DATABASE"]]
    clock = Clock(datetime(2027, 3, 1, 9, 0, tzinfo=UTC))
    service = await service_on(db, clock, reminder_offsets=[7 * DAY, DAY])
    start = datetime(2027, 3, 10, 13, 0, tzinfo=UTC)
    conference = (await schedule_online(service, start)).value
    collection = db["conferences"]
    assert await service.send_due_reminders() == 0

    clock.now = start - timedelta(days=6)
    assert await service.send_due_reminders() == 1
    stored = await collection.find_one({"_id": conference.conference_id})
    assert stored is not None
    states = [r["state"] for r in stored["reminders"]]  # type: ignore[attr-defined]
    outbox = [Envelope.from_wire(r["value"].encode()) for r in stored["outbox"]]  # type: ignore[attr-defined]
    assert states == ["sent", "pending"]
    assert [e.type for e in outbox] == ["conference-scheduled", "conference-reminder-due"]
    assert stored["next_reminder_due_at"] == start - timedelta(days=1)

    # A second pass at the same moment, and one a little later: nothing more.
    assert await service.send_due_reminders() == 0
    clock.now += timedelta(hours=1)
    assert await service.send_due_reminders() == 0
    again = await collection.find_one({"_id": conference.conference_id})
    assert again is not None
    assert len(again["outbox"]) == 2  # type: ignore[arg-type]
