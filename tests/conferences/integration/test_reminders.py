"""Reminders: due times persisted, each sent exactly once per conference and offset, restarts too.

The service's clock is moved forward by a setting (CONFERENCES_CLOCK_SHIFT_SECONDS) instead of
waiting a day: the first process plans the conference, later processes start "a day and a half
later".
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from rbn_shared.events import Envelope, parse_payload
from rbn_shared.events.conferences import ConferenceReminderDue
from tests.conferences.support import (
    ConferencesService,
    RegistryFeed,
    berlin,
    conference_events,
    eventually,
)
from tests.support.infra import Infra

pytestmark = pytest.mark.integration

DAY = 86400


def body(start: datetime) -> dict[str, object]:
    return {
        "network_id": "hamm",
        "title": "Bildungskonferenz mit Erinnerung",
        "starts_at": berlin(start),
        "ends_at": berlin(start + timedelta(hours=2)),
        "online_url": "https://konferenz.example.org/raum/1",
    }


def reminders_of(events: list[Envelope], conference_id: str) -> list[Envelope]:
    return [
        e for e in events if e.type == "conference-reminder-due" and e.aggregate_id == conference_id
    ]


async def test_reminder_is_sent_exactly_once_across_restarts(
    module_isolated: dict[str, str],
    feed: RegistryFeed,
    infra: Infra,
    conferences_topic: str,
    log_dir: Path,
) -> None:
    await feed.network("hamm")
    service = ConferencesService(module_isolated, log_dir, REMINDER_OFFSETS_SECONDS=f"[{DAY}]")
    service.start()
    try:
        async with service.client() as http:

            async def known() -> bool:
                # Fields of action are the last events feed.network() sends.
                response = await http.get("/networks/hamm")
                return response.status_code == 200 and response.json()["fields_of_action"] != {}

            await eventually(known)
            start = datetime.now(UTC).replace(microsecond=0) + timedelta(days=2)
            created = await http.post("/conferences", json=body(start))
            assert created.status_code == 201, created.text
            conference_id = created.json()["id"]
            [reminder] = created.json()["reminders"]
            assert reminder["state"] == "pending"
            assert datetime.fromisoformat(reminder["due_at"]) == start - timedelta(days=1)
        service.stop()

        # A day and a half later: the reminder is due; the restarted service sends it.
        shift = str(1.5 * DAY)
        service.start(CLOCK_SHIFT_SECONDS=shift)
        events = await conference_events(
            infra.kafka_bootstrap,
            conferences_topic,
            until=lambda es: bool(reminders_of(es, conference_id)),
        )
        [sent] = reminders_of(events, conference_id)
        payload = parse_payload(sent)
        assert isinstance(payload, ConferenceReminderDue)
        assert payload.offset == timedelta(days=1)
        assert {i.person.name for i in payload.recipients} == {
            "Anna Schulte",
            "Bernd Krüger",
            "Clara Becker",
        }
        assert all(str(i.response_url).startswith(service.base_url) for i in payload.recipients)

        # Killed without warning and started again: the reminder is not sent a second time.
        service.kill()
        service.start(CLOCK_SHIFT_SECONDS=shift)
        async with service.client() as http:
            shown = (await http.get(f"/conferences/{conference_id}")).json()
            assert [r["state"] for r in shown["reminders"]] == ["sent"]
            # A witness whose reminder falls due seconds from now: once it is on the
            # topic, the restarted reminder job has passed over the first conference as well.
            shifted_now = datetime.now(UTC).replace(microsecond=0) + timedelta(days=1.5)
            witness_start = shifted_now + timedelta(days=1, seconds=8)
            witness = await http.post("/conferences", json=body(witness_start + timedelta(days=2)))
            assert witness.status_code == 201, witness.text
            witness_id = witness.json()["id"]
            moved = await http.post(
                f"/conferences/{witness_id}/reschedule",
                json={
                    "starts_at": berlin(witness_start),
                    "ends_at": berlin(witness_start + timedelta(hours=1)),
                },
                headers={"If-Match": witness.headers["ETag"]},
            )
            assert moved.status_code == 200, moved.text
            assert moved.json()["reminders"][0]["due_at"].startswith(
                (witness_start - timedelta(days=1)).isoformat()[:19]
            ), "rescheduling moved the reminder"

        events = await conference_events(
            infra.kafka_bootstrap,
            conferences_topic,
            until=lambda es: bool(reminders_of(es, witness_id)),
        )
        assert len(reminders_of(events, conference_id)) == 1
        assert len(reminders_of(events, witness_id)) == 1
    finally:
        service.stop()
