"""A conference's whole life through the three services, as its calendar entries tell it: drafted,
previewed, published, edited, one attendee withdrawn (removed from the Lenkungskreis), cancelled.
Every calendar attachment parses, the UID never changes, and each attendee's SEQUENCE rises with
every entry they receive; the withdrawn attendee alone gets a CANCEL for the withdrawal and
nothing after it.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from tests.e2e.conftest import System, wait_until
from tests.support.services import OLPE

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

BERLIN = ZoneInfo("Europe/Berlin")


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


async def test_draft_preview_publish_edit_withdraw_cancel(system: System) -> None:
    uid = uuid.uuid4().hex[:8]
    member = f"m.hartmann.{uid}@kreis-olpe.example"
    delegate = f"d.yilmaz.{uid}@gesamtschule-olpe.example"
    # A day of its own: plenary conferences of one network must not overlap.
    start = datetime.now(BERLIN).replace(hour=14) + timedelta(days=60 + int(uid, 16) % 600)

    async with system.registry.client() as registry:
        added = await registry.post(
            "/networks/kreis-olpe/committee/members",
            headers=OLPE,
            json={
                "person": {
                    "name": f"Maria Hartmann {uid}",
                    "email": member,
                    "organisation": "Kreis Olpe",
                },
                "side": "municipality",
                "role": "member",
                "term_start": "2026-01-01",
            },
        )
    assert added.status_code == 201, added.text
    await system.mailpit.wait_for(member)  # welcomed: the registry's event is out

    async with system.conferences.client() as conferences:
        drafted = await conferences.post(
            "/conferences",
            headers=OLPE,
            json={
                "network_id": "kreis-olpe",
                "title": f"Bildungskonferenz {uid}",
                "starts_at": local(start),
                "ends_at": local(start + timedelta(hours=3)),
                "venue": {"name": "Kreishaus Olpe", "address": "Westfälische Straße 75, Olpe"},
                "agenda": [{"title": "Begrüßung"}],
                "delegates": [{"name": f"Dora Yilmaz {uid}", "email": delegate, "group": "school"}],
                "draft": True,
            },
        )
        assert drafted.status_code == 201, drafted.text
        url = f"/conferences/{drafted.json()['id']}"
        [invitation] = [i for i in drafted.json()["invitations"] if i["email"] == delegate]

        # The preview: the delegate's calendar entry as it will be sent, nothing mailed.
        shown = await conferences.get(
            f"{url}/preview", params={"invitation_id": invitation["invitation_id"]}, headers=OLPE
        )
        assert shown.status_code == 200, shown.text
        preview = Calendar.from_ical(shown.json()["ics"])
        [previewed] = preview.walk("VEVENT")
        assert str(preview["METHOD"]) == "REQUEST"
        assert await system.mailpit.to(delegate) == []

        published = await conferences.post(
            f"{url}/publish", headers={**OLPE, "If-Match": drafted.headers["ETag"]}
        )
        assert published.status_code == 200, published.text
        await system.mailpit.wait_for(delegate)
        await system.mailpit.wait_for(member, count=2)  # welcome, then the invitation

        # An edit the invitees see: an update for each.
        current = await conferences.get(url, headers=OLPE)
        retitled = await conferences.patch(
            url,
            headers={**OLPE, "If-Match": current.headers["ETag"]},
            json={"title": f"Bildungskonferenz {uid} 2027"},
        )
        assert retitled.status_code == 200, retitled.text
        await system.mailpit.wait_for(delegate, count=2)
        await system.mailpit.wait_for(member, count=3)

    # The member leaves the Lenkungskreis: their invitation is withdrawn, with a CANCEL.
    async with system.registry.client() as registry:
        removed = await registry.post(
            f"/networks/kreis-olpe/committee/members/{added.json()['id']}/removal",
            headers={**OLPE, "If-Match": added.headers["ETag"]},
            json={"removed_on": date.today().isoformat(), "reason": "Wechsel in ein anderes Amt"},
        )
    assert removed.status_code == 200, removed.text

    async def cancelled_for_member() -> bool:
        return any(e["X-TEST-METHOD"] == "CANCEL" for _, e in await entries(system, member))

    await wait_until(cancelled_for_member, what="the withdrawn member's CANCEL")
    await asyncio.sleep(2)  # time enough for a mail to the delegate, if one were sent
    assert len(await entries(system, delegate)) == 2, "the withdrawal mails nobody else"

    async with system.conferences.client() as conferences:
        current = await conferences.get(url, headers=OLPE)
        cancelled = await conferences.post(
            f"{url}/cancel",
            headers={**OLPE, "If-Match": current.headers["ETag"]},
            json={"reason": "Der Saal steht nicht zur Verfügung."},
        )
        assert cancelled.status_code == 200, cancelled.text
    await system.mailpit.wait_for(delegate, count=3)
    await asyncio.sleep(2)  # time enough for a cancellation to the withdrawn member, if sent

    for address in (delegate, member):
        life = await entries(system, address)
        methods = [e["X-TEST-METHOD"] for _, e in life]
        assert methods == ["REQUEST", "REQUEST", "CANCEL"], (address, methods)
        assert {str(e["UID"]) for _, e in life} == {str(previewed["UID"])}
        sequences = [int(str(e["SEQUENCE"])) for _, e in life]
        assert sequences == sorted(set(sequences)), (address, sequences)

    [(subject, withdrawal)] = [
        (s, e) for s, e in await entries(system, member) if "CANCEL" in e["X-TEST-METHOD"]
    ]
    assert "zurückgenommen" in subject
    attendees = withdrawal.get("ATTENDEE")
    attendees = attendees if isinstance(attendees, list) else [attendees]
    assert [str(a).lower() for a in attendees] == [f"mailto:{member}"]
