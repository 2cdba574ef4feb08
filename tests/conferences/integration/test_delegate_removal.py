"""The office takes an external delegate off a published, full conference, through the three
services as processes: the delegate gets one mail whose calendar entry cancels theirs (METHOD
CANCEL, a higher SEQUENCE), and the first on the waiting list moves up to the freed seat."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from icalendar import Calendar

from tests.e2e.conftest import System, started_on_shared_mailpit, wait_until
from tests.support.infra import Infra
from tests.support.services import OLPE

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(scope="module")
async def system(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[System]:
    logs = tmp_path_factory.mktemp("delegate-removal-logs")
    async with started_on_shared_mailpit(infra, logs) as running:
        yield running


def local(moment: datetime) -> str:
    return moment.astimezone(BERLIN).replace(second=0, microsecond=0, tzinfo=None).isoformat()


async def entries(system: System, address: str) -> list[tuple[str, Any]]:
    """(subject, VEVENT with the calendar's METHOD) of every mail to `address` with a calendar
    attachment, oldest first."""
    found = []
    for summary in sorted(await system.mailpit.to(address), key=lambda m: m["Created"]):
        message = await system.mailpit.message(summary["ID"])
        if not any(
            a["FileName"].endswith(".ics") for a in message["Attachments"] + message["Inline"]
        ):
            continue
        calendar = Calendar.from_ical(await system.mailpit.calendar(summary["ID"]))
        [event] = calendar.walk("VEVENT")
        event["X-TEST-METHOD"] = str(calendar["METHOD"])
        found.append((summary["Subject"], event))
    return found


async def changed(response: httpx.Response) -> dict[str, str]:
    assert response.status_code in (200, 201), response.text
    return {**OLPE, "If-Match": response.headers["ETag"]}


async def test_a_delegate_taken_off_gets_a_cancel_and_the_waiting_list_moves_up(
    system: System,
) -> None:
    uid = uuid.uuid4().hex[:8]
    dora = f"d.yilmaz.{uid}@gesamtschule-olpe.example"
    erik = f"e.brandt.{uid}@handwerk-olpe.example"
    # A day of its own: plenary conferences of one network must not overlap.
    start = datetime.now(BERLIN).replace(hour=10) + timedelta(days=60 + int(uid, 16) % 600)

    async with system.conferences.client() as conferences:
        published = await conferences.post(
            "/conferences",
            headers=OLPE,
            json={
                "network_id": "kreis-olpe",
                "title": f"Bildungskonferenz {uid}",
                "starts_at": local(start),
                "ends_at": local(start + timedelta(hours=3)),
                "venue": {"name": "Kreishaus Olpe", "address": "Westfälische Straße 75, Olpe"},
                "capacity": 1,
                "delegates": [
                    {"name": f"Dora Yilmaz {uid}", "email": dora, "group": "school"},
                    {"name": f"Erik Brandt {uid}", "email": erik, "group": "business"},
                ],
            },
        )
        headers = await changed(published)
        url = f"/conferences/{published.json()['id']}"
        ids = {i["email"]: i["invitation_id"] for i in published.json()["invitations"]}
        others = [i for i in published.json()["invitations"] if i["email"] not in (dora, erik)]
        await system.mailpit.wait_for(dora)
        [(_, invited)] = await entries(system, dora)
        assert invited["X-TEST-METHOD"] == "REQUEST"

        # Dora takes the one seat, Erik waits.
        for email in (dora, erik):
            answered = await conferences.put(
                f"{url}/invitations/{ids[email]}/response",
                headers=headers,
                json={"response": "accepted"},
            )
            headers = await changed(answered)
        by_email = {i["email"]: i for i in answered.json()["invitations"]}
        assert by_email[erik]["waitlisted"] is True

        # The registry's people are taken off in the registry; If-Match is required.
        if others:
            refused = await conferences.delete(
                f"{url}/invitations/{others[0]['invitation_id']}", headers=headers
            )
            assert refused.status_code == 409, refused.text
            assert refused.json()["type"].endswith(":managed-in-registry")
        unguarded = await conferences.delete(f"{url}/invitations/{ids[dora]}", headers=OLPE)
        assert unguarded.status_code == 428, unguarded.text

        removed = await conferences.delete(f"{url}/invitations/{ids[dora]}", headers=headers)
        assert removed.status_code == 200, removed.text
        assert removed.headers["ETag"]
        shown = {i["email"]: i for i in removed.json()["invitations"]}
        assert dora not in shown
        assert shown[erik]["waitlisted"] is False, "Erik moved up to the freed seat"
        assert shown[erik]["response"] == "accepted"
        assert removed.json()["counts"]["accepted"] == 1

        again = await conferences.delete(
            f"{url}/invitations/{ids[dora]}", headers=await changed(removed)
        )
        assert again.status_code == 404, again.text

    async def cancelled_for_dora() -> bool:
        return any(e["X-TEST-METHOD"] == "CANCEL" for _, e in await entries(system, dora))

    await wait_until(cancelled_for_dora, what="the removed delegate's CANCEL")
    await asyncio.sleep(2)  # time enough for a second CANCEL, if one were sent
    cancels = [(s, e) for s, e in await entries(system, dora) if e["X-TEST-METHOD"] == "CANCEL"]
    [(subject, cancel)] = cancels
    assert "zurückgenommen" in subject
    [summary] = [m for m in await system.mailpit.to(dora) if m["Subject"] == subject]
    text = (await system.mailpit.message(summary["ID"]))["Text"]
    assert "Grund: Das Regionale Bildungsbüro hat Ihre Einladung zurückgenommen." in text
    assert str(cancel["UID"]) == str(invited["UID"])
    assert int(str(cancel["SEQUENCE"])) > int(str(invited["SEQUENCE"]))
    attendees = cancel.get("ATTENDEE")
    attendees = attendees if isinstance(attendees, list) else [attendees]
    assert [str(a).lower() for a in attendees] == [f"mailto:{dora}"]
    assert not any(e["X-TEST-METHOD"] == "CANCEL" for _, e in await entries(system, erik))
