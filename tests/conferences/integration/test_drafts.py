"""Drafts, preview, publish and edits after publication, from HTTP call to mailbox.

The three services run as processes on real Kafka, FerretDB and Mailpit; only their HTTP APIs
are driven, only Mailpit is read. The conferences service asks the notifications service for
the preview, as in production.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from tests.e2e.conftest import System, started_on_shared_mailpit
from tests.support.infra import Infra
from tests.support.services import DISTRICT, OLPE

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

BERLIN = ZoneInfo("Europe/Berlin")


def local(moment: datetime) -> str:
    return moment.astimezone(BERLIN).replace(second=0, microsecond=0, tzinfo=None).isoformat()


@pytest.fixture(scope="module")
async def system(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[System]:
    # Previews are rendered by this system's notifications service (NOTIFICATIONS_URL).
    async with started_on_shared_mailpit(infra, tmp_path_factory.mktemp("drafts-logs")) as running:
        yield running


def conference_body(uid: str, start: datetime, delegate: str, **changes: Any) -> dict[str, Any]:
    return {
        "network_id": "kreis-olpe",
        "title": f"Bildungskonferenz {uid}",
        "starts_at": local(start),
        "ends_at": local(start + timedelta(hours=3)),
        "venue": {"name": "Kreishaus Olpe", "address": "Westfälische Straße 75, 57462 Olpe"},
        "agenda": [{"title": "Begrüßung"}],
        "delegates": [
            {"name": f"Dora Yilmaz {uid}", "email": delegate, "group": "school"},
        ],
        **changes,
    }


async def calendar_event(system: System, message_id: str) -> Any:
    [event] = Calendar.from_ical(await system.mailpit.calendar(message_id)).walk("VEVENT")
    return event


async def test_draft_preview_publish_and_edits(system: System) -> None:
    uid = uuid.uuid4().hex[:8]
    delegate = f"dora.{uid}@gesamtschule-olpe.example"
    witness = f"witness.{uid}@realschule-olpe.example"
    start = datetime.now(BERLIN) + timedelta(days=20)

    async with system.conferences.client() as conferences:
        drafted = await conferences.post(
            "/conferences", headers=OLPE, json=conference_body(uid, start, delegate, draft=True)
        )
        assert drafted.status_code == 201, drafted.text
        conference = drafted.json()
        url = f"/conferences/{conference['id']}"
        assert conference["status"] == "draft"
        assert conference["reminders"] == []
        [invitation] = [i for i in conference["invitations"] if i["email"] == delegate]
        # A draft is its network's own business: readers neither find nor list it.
        reader_token = {"Authorization": "Bearer reader-token"}
        assert (await conferences.get(url, headers=reader_token)).status_code == 404
        listed = await conferences.get(
            "/conferences",
            params={"network_id": "kreis-olpe", "limit": "100"},
            headers=reader_token,
        )
        assert conference["id"] not in [c["id"] for c in listed.json()["items"]]
        own = await conferences.get(
            "/conferences", params={"status": "draft", "limit": "100"}, headers=OLPE
        )
        assert conference["id"] in [c["id"] for c in own.json()["items"]]

        # The draft is edited (and moved) silently; its time blocks nothing: a conference
        # published at once over the same time is accepted.
        edited = await conferences.patch(
            url,
            headers={**OLPE, "If-Match": drafted.headers["ETag"]},
            json={"title": f"Bildungskonferenz {uid} (Entwurf 2)", "capacity": 40},
        )
        assert edited.status_code == 200, edited.text
        assert edited.json()["title"].endswith("(Entwurf 2)")
        assert edited.headers["ETag"] != drafted.headers["ETag"]
        over_it = await conferences.post(
            "/conferences",
            headers=OLPE,
            json=conference_body(f"{uid}-w", start, witness),
        )
        assert over_it.status_code == 201, over_it.text

        # Once the other conference's invitation has arrived, the draft has mailed no one.
        await system.mailpit.wait_for(witness)
        assert await system.mailpit.to(delegate) == []

        # The preview: the delegate's invitation as the notifications service writes it.
        shown = await conferences.get(
            f"{url}/preview", params={"invitation_id": invitation["invitation_id"]}, headers=OLPE
        )
        assert shown.status_code == 200, shown.text
        preview = shown.json()
        assert preview["recipient"] == delegate
        assert f"Einladung: Bildungskonferenz {uid} (Entwurf 2)" in preview["subject"]
        assert f"Guten Tag Dora Yilmaz {uid}," in preview["text"]
        assert "Kreishaus Olpe" in preview["html"]
        assert "<html" in preview["html"].lower()
        assert invitation["response_url"] in preview["text"]
        # Its link already works, but a draft takes no answers: the page says so, no form.
        page = await conferences.get(urlsplit(invitation["response_url"]).path)
        assert page.status_code == 200, page.text
        assert "noch ein Entwurf" in page.text
        assert "<form" not in page.text
        ics = Calendar.from_ical(preview["ics"])
        assert str(ics["METHOD"]) == "REQUEST"
        [previewed] = ics.walk("VEVENT")
        assert delegate in str(previewed["ATTENDEE"]).lower()
        # Readers and other networks' offices see no preview; an unknown invitee has none.
        reader = await conferences.get(
            f"{url}/preview",
            params={"invitation_id": invitation["invitation_id"]},
            headers=reader_token,
        )
        assert reader.status_code == 403, reader.text
        unknown = await conferences.get(
            f"{url}/preview", params={"invitation_id": "inv-999"}, headers=DISTRICT
        )
        assert unknown.status_code == 404, unknown.text

        # Published over the other conference's time: refused, as scheduling would be.
        clash = await conferences.post(
            f"{url}/publish", headers={**OLPE, "If-Match": edited.headers["ETag"]}
        )
        assert clash.status_code == 409, clash.text
        assert clash.json()["type"].endswith(":overlap")
        later = start + timedelta(days=1)
        moved = await conferences.patch(
            url,
            headers={**OLPE, "If-Match": edited.headers["ETag"]},
            json={"starts_at": local(later), "ends_at": local(later + timedelta(hours=3))},
        )
        assert moved.status_code == 200, moved.text
        published = await conferences.post(
            f"{url}/publish", headers={**OLPE, "If-Match": moved.headers["ETag"]}
        )
        assert published.status_code == 200, published.text
        assert published.json()["status"] == "scheduled"
        assert published.json()["reminders"] != []

        # The invitation arrives: as previewed (the time moved since, so the subject's date
        # follows), with the calendar entry at SEQUENCE 0.
        [invited] = await system.mailpit.wait_for(delegate)
        assert f"Einladung: Bildungskonferenz {uid} (Entwurf 2)" in invited["Subject"]
        first = await calendar_event(system, invited["ID"])
        again = await conferences.get(
            f"{url}/preview", params={"invitation_id": invitation["invitation_id"]}, headers=OLPE
        )
        assert again.status_code == 200, again.text
        assert again.json()["subject"] == invited["Subject"]
        sent_text = (await system.mailpit.message(invited["ID"]))["Text"]
        assert again.json()["text"].split() == sent_text.split()  # the same words, in order
        assert str(first["UID"]) == str(previewed["UID"])
        sequence = int(str(first["SEQUENCE"]))

        # A new title: every invitee gets an update, same UID, higher SEQUENCE.
        retitled = await conferences.patch(
            url,
            headers={**OLPE, "If-Match": published.headers["ETag"]},
            json={"title": f"Bildungskonferenz {uid} 2027"},
        )
        assert retitled.status_code == 200, retitled.text
        assert retitled.json()["sequence"] == sequence + 1
        mails = await system.mailpit.wait_for(delegate, count=2)
        [update] = [m for m in mails if m["ID"] != invited["ID"]]
        assert "Geänderte Angaben" in update["Subject"]
        assert f"Bildungskonferenz {uid} 2027" in update["Subject"]
        updated = await calendar_event(system, update["ID"])
        assert str(updated["UID"]) == str(first["UID"])
        assert int(str(updated["SEQUENCE"])) > sequence
        text = (await system.mailpit.message(update["ID"]))["Text"]
        assert "Titel" in text

        # A patch that changes nothing stores nothing (same ETag); a larger capacity changes
        # nothing an invitee sees: neither sends a mail.
        same = await conferences.patch(
            url,
            headers={**OLPE, "If-Match": retitled.headers["ETag"]},
            json={"title": f"Bildungskonferenz {uid} 2027"},
        )
        assert same.status_code == 200, same.text
        assert same.headers["ETag"] == retitled.headers["ETag"]
        roomier = await conferences.patch(
            url, headers={**OLPE, "If-Match": same.headers["ETag"]}, json={"capacity": 80}
        )
        assert roomier.status_code == 200, roomier.text
        assert roomier.json()["sequence"] == sequence + 1

        # Times are not edited after publication: refused, naming the field.
        refused = await conferences.patch(
            url,
            headers={**OLPE, "If-Match": roomier.headers["ETag"]},
            json={"starts_at": local(later + timedelta(days=1))},
        )
        assert refused.status_code == 422, refused.text
        assert "starts_at" in [e["field"] for e in refused.json()["errors"]]

        # A new venue is seen: the third mail, and the last one.
        relocated = await conferences.patch(
            url,
            headers={**OLPE, "If-Match": roomier.headers["ETag"]},
            json={
                "venue": {"name": "Stadthalle Olpe", "address": "Franziskanerstraße 6, 57462 Olpe"}
            },
        )
        assert relocated.status_code == 200, relocated.text
        mails = await system.mailpit.wait_for(delegate, count=3)
        await asyncio.sleep(3)  # anything the no-op or the capacity had caused would be here
        mails = await system.mailpit.to(delegate)
        assert len(mails) == 3, [m["Subject"] for m in mails]


async def test_a_draft_can_be_discarded_and_is_gone(system: System) -> None:
    uid = uuid.uuid4().hex[:8]
    start = datetime.now(BERLIN) + timedelta(days=30)
    delegate = f"gone.{uid}@schule-olpe.example"
    async with system.conferences.client() as conferences:
        drafted = await conferences.post(
            "/conferences", headers=OLPE, json=conference_body(uid, start, delegate, draft=True)
        )
        assert drafted.status_code == 201, drafted.text
        url = f"/conferences/{drafted.json()['id']}"
        stale = await conferences.delete(url, headers={**OLPE, "If-Match": '"99"'})
        assert stale.status_code == 409, stale.text
        gone = await conferences.delete(url, headers={**OLPE, "If-Match": drafted.headers["ETag"]})
        assert gone.status_code == 204, gone.text
        assert (await conferences.get(url, headers=OLPE)).status_code == 404
        # A published conference is cancelled, not discarded.
        published = await conferences.post(
            "/conferences", headers=OLPE, json=conference_body(uid, start, delegate)
        )
        assert published.status_code == 201, published.text
        kept = await conferences.delete(
            f"/conferences/{published.json()['id']}",
            headers={**OLPE, "If-Match": published.headers["ETag"]},
        )
        assert kept.status_code == 409, kept.text
        assert kept.json()["type"].endswith(":not-a-draft")
