"""The staff's flows from HTTP call to mailbox, with all three services as separate processes.

Only the services' HTTP APIs are driven; only Kafka and Mailpit are read.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from icalendar import Calendar

from tests.e2e.conftest import System, wait_until
from tests.support.events import events_with_correlation
from tests.support.services import DISTRICT, OLPE

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

BERLIN = ZoneInfo("Europe/Berlin")
DAY = 24 * 3600


def local(moment: datetime) -> str:
    return moment.astimezone(BERLIN).replace(second=0, microsecond=0, tzinfo=None).isoformat()


async def calendar_of(system: System, message_id: str) -> Calendar:
    return Calendar.from_ical(await system.mailpit.calendar(message_id))


async def test_a_new_committee_member_is_welcomed(system: System) -> None:
    uid = uuid.uuid4().hex[:8]
    email = f"lena.krueger.{uid}@olpe.example"
    async with system.registry.client() as registry:
        response = await registry.post(
            "/networks/kreis-olpe/committee/members",
            headers=OLPE,
            json={
                "person": {
                    "name": f"Lena Krüger {uid}",
                    "email": email,
                    "organisation": "Kreis Olpe",
                },
                "side": "municipality",
                "role": "member",
                "term_start": "2027-01-01",
            },
        )
    assert response.status_code == 201, response.text
    [mail] = await system.mailpit.wait_for(email)
    assert "Kreis Olpe" in mail["Subject"]
    office = await wait_until(
        lambda: _mails_mentioning(system, "bildungsbuero@kreis-olpe.example", uid),
        what="the office's information mail",
    )
    assert len(office) == 1


async def _mails_mentioning(system: System, address: str, text: str) -> list[dict[str, Any]]:
    found = []
    for summary in await system.mailpit.to(address):
        message = await system.mailpit.message(summary["ID"])
        if text in message["Text"]:
            found.append(summary)
    return found


async def test_conference_from_invitation_to_results(system: System) -> None:
    uid = uuid.uuid4().hex[:8]
    delegate = f"d.yilmaz.{uid}@gesamtschule-olpe.example"
    colleague = f"e.hoffmann.{uid}@jugendamt-olpe.example"
    district = "bezirkskoordination@bezreg-arnsberg.example"

    # The office proposes a field of action and the steering committee adopts it (registry).
    async with system.registry.client() as registry:
        field = await registry.post(
            "/networks/kreis-olpe/fields-of-action",
            headers=OLPE,
            json={
                "title": f"Übergang Schule–Beruf {uid}",
                "starting_situation": "Viele Abbrüche",
                "development_needs": "Mehr Praxisphasen",
            },
        )
        assert field.status_code == 201, field.text
        field_id = field.json()["id"]
        adopted = await registry.post(
            f"/networks/kreis-olpe/fields-of-action/{field_id}/adoption",
            headers={**OLPE, "If-Match": '"1"'},
            json={"adopted_on": "2026-11-01"},
        )
        assert adopted.status_code == 200, adopted.text

    async with system.conferences.client() as conferences:

        async def field_known() -> bool:
            network = (await conferences.get("/networks/kreis-olpe", headers=DISTRICT)).json()
            return bool(network["fields_of_action"].get(field_id) == "adopted")

        await wait_until(field_known, what="the adopted field in the conferences' projection")

        # Scheduled: two days and an hour from now, so the one-day reminder is still ahead.
        start = datetime.now(BERLIN) + timedelta(days=2, hours=1)
        correlation = f"e2e-{uid}"
        scheduled = await conferences.post(
            "/conferences",
            headers={**OLPE, "X-Correlation-ID": correlation},
            json={
                "network_id": "kreis-olpe",
                "title": f"Bildungskonferenz {uid}",
                "kind": "plenary",
                "starts_at": local(start),
                "ends_at": local(start + timedelta(hours=3)),
                "venue": {
                    "name": "Kreishaus Olpe",
                    "address": "Westfälische Straße 75, 57462 Olpe",
                },
                "agenda": [
                    {"title": "Begrüßung"},
                    {"title": "Übergang Schule–Beruf", "field_of_action_id": field_id},
                ],
                "delegates": [
                    {
                        "name": f"Dora Yilmaz {uid}",
                        "email": delegate,
                        "group": "school",
                        "institution": "Gesamtschule Olpe",
                    },
                    {"name": f"Emil Hoffmann {uid}", "email": colleague, "group": "youth_welfare"},
                ],
            },
        )
        assert scheduled.status_code == 201, scheduled.text
        conference = scheduled.json()
        url = f"/conferences/{conference['id']}"

        # Invitations arrive, with a calendar entry that asks for an answer.
        [invitation] = await system.mailpit.wait_for(delegate)
        assert "Kreis Olpe" in invitation["Subject"]
        ics = await calendar_of(system, invitation["ID"])
        assert str(ics["METHOD"]) == "REQUEST"
        [event] = ics.walk("VEVENT")
        uid_of_conference, first_sequence = str(event["UID"]), int(str(event["SEQUENCE"]))
        assert delegate in str(event["ATTENDEE"]).lower()

        # The delegate answers through the personal link from the invitation mail.
        text = (await system.mailpit.message(invitation["ID"]))["Text"]
        link = next(word for word in text.split() if "/respond/" in word).strip("<>()")
        token = link.rsplit("/", 1)[-1]
        async with httpx.AsyncClient(base_url=system.conferences.url) as anonymous:
            answered = await anonymous.put(f"/responses/{token}", json={"response": "accepted"})
        assert answered.status_code == 200, answered.text
        mails = await system.mailpit.wait_for(delegate, count=2)
        confirmation = next(m for m in mails if m["ID"] != invitation["ID"])
        assert "zugesagt" in confirmation["Subject"]

        # Rescheduled by a day: the same calendar entry moves (same UID, higher SEQUENCE).
        current = await conferences.get(url, headers=OLPE)
        moved_start = start + timedelta(days=1)
        moved = await conferences.post(
            f"{url}/reschedule",
            headers={**OLPE, "If-Match": current.headers["ETag"]},
            json={
                "starts_at": local(moved_start),
                "ends_at": local(moved_start + timedelta(hours=3)),
            },
        )
        assert moved.status_code == 200, moved.text
        mails = await system.mailpit.wait_for(delegate, count=3)
        update = next(m for m in mails if m["ID"] not in (invitation["ID"], confirmation["ID"]))
        [moved_event] = (await calendar_of(system, update["ID"])).walk("VEVENT")
        assert str(moved_event["UID"]) == uid_of_conference
        assert int(str(moved_event["SEQUENCE"])) > first_sequence

    # A day before the new start the reminder goes out: the service's clock is moved forward.
    system.conferences.restart(CLOCK_SHIFT_SECONDS=str(2 * DAY + 2 * 3600))
    mails = await system.mailpit.wait_for(delegate, count=4)
    assert len(mails) == 4, "invitation, confirmation, update and one reminder: nothing twice"

    # After the end, the results: to the steering committee and the district coordination.
    system.conferences.restart(CLOCK_SHIFT_SECONDS=str(4 * DAY))
    async with system.conferences.client() as conferences:
        current = await conferences.get(url, headers=OLPE)
        concluded = await conferences.post(
            f"{url}/conclude",
            headers={**OLPE, "If-Match": current.headers["ETag"]},
            json={
                "summary": f"Ergebnis {uid}: Berufsorientierung stärken.",
                "recommendations": [
                    {
                        "field_of_action_id": field_id,
                        "text": "Praxistage ab Klasse 8 in allen Schulformen.",
                    }
                ],
            },
        )
        assert concluded.status_code == 200, concluded.text
    results = await wait_until(
        lambda: _mails_mentioning(system, district, f"Ergebnis {uid}"),
        what="the results at the district coordination",
    )
    assert len(results) == 1

    # The whole flow carried the first request's correlation id through the conference events.
    events = await events_with_correlation(
        system.bootstrap,
        system.isolated["RBN_TOPIC_PREFIX"] + "conferences.events",
        correlation,
        expected=1,
    )
    assert events[0]["type"] == "conference-scheduled"
    system.conferences.restart(CLOCK_SHIFT_SECONDS="0")


async def test_a_bulletin_reaches_all_twelve_networks(system: System) -> None:
    uid = uuid.uuid4().hex[:8]
    async with system.registry.client() as registry:
        response = await registry.post(
            "/district/bulletins",
            headers=DISTRICT,
            json={
                "title": f"Hinweise zum Ganztag {uid}",
                "body": f"Bulletin {uid}: Das Ministerium ...",
                "author": {"name": "Bezirkskoordination", "email": "bk@bezreg-arnsberg.example"},
            },
        )
    assert response.status_code == 201, response.text
    async with system.registry.client() as registry:
        networks = (await registry.get("/networks?limit=100", headers=DISTRICT)).json()["items"]
    assert len(networks) == 12
    for network in networks:
        office = network["office"]["email"]
        found = await wait_until(
            lambda office=office: _mails_mentioning(system, office, f"Bulletin {uid}"),
            what=f"the bulletin at {office}",
        )
        assert len(found) == 1


async def test_one_correlation_id_is_found_in_all_three_services_logs(system: System) -> None:
    uid = uuid.uuid4().hex[:8]
    correlation = f"trace-{uid}"
    async with system.registry.client() as registry:
        response = await registry.post(
            "/networks/kreis-olpe/office/staff",
            headers={**OLPE, "X-Correlation-ID": correlation},
            json={
                "person": {"name": f"Jonas Weber {uid}", "email": f"j.weber.{uid}@olpe.example"},
                "employer": "municipality",
                "start_date": "2027-01-01",
            },
        )
    assert response.status_code == 201, response.text
    assert response.headers["X-Correlation-ID"] == correlation
    await system.mailpit.wait_for(f"j.weber.{uid}@olpe.example")

    for service in system.services:

        async def logged(service: Any = service) -> bool:
            return any(line.get("correlation_id") == correlation for line in service.log_lines())

        assert await wait_until(logged, what=f"the correlation id in {service.name}'s log")
