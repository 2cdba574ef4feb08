"""Erasure (Art. 17 DSGVO) and access (Art. 15) through the three services, as processes on the
real Kafka, FerretDB and Mailpit.

A person sits in Olpe's Lenkungskreis, is invited to two conferences, answers one through the
link in the mail, and has mails in the delivery log; the second invitation is still queued (the
SMTP server is away) when the district erases them. Afterwards no collection of any of the three
databases holds their name or address, the conferences' counts are as before, the queued mail is
never sent (the mail queued beside it for someone else is), and erasing again changes nothing.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from pymongo import AsyncMongoClient

from rbn_ops import privacy
from rbn_shared.privacy import ERASED_NAME, PRIVACY_AUDIT_COLLECTION, mentions, subject_of
from tests.e2e.conftest import System, started_on_shared_mailpit, wait_until
from tests.support.infra import Infra
from tests.support.services import DISTRICT, OLPE, free_port

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

BERLIN = ZoneInfo("Europe/Berlin")
SERVICES = ("registry", "conferences", "notifications")


@pytest.fixture(scope="module")
async def erasable(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[System]:
    """A system of its own: the test takes its notifications service's SMTP server away."""
    async with started_on_shared_mailpit(infra, tmp_path_factory.mktemp("erasure")) as system:
        yield system


def local(moment: datetime) -> str:
    return moment.astimezone(BERLIN).replace(second=0, microsecond=0, tzinfo=None).isoformat()


async def dump(system: System, infra: Infra) -> dict[str, list[dict[str, Any]]]:
    """Every document of every collection of the three services' databases."""
    client: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(infra.mongo_url)
    try:
        found: dict[str, list[dict[str, Any]]] = {}
        for service in SERVICES:
            db = client[f"{system.isolated['RBN_MONGO_DATABASE']}_{service}"]
            for name in await db.list_collection_names():
                found[f"{service}.{name}"] = [d async for d in db[name].find().sort("_id")]
        return found
    finally:
        await client.close()


async def conference(
    conferences: httpx.AsyncClient, uid: str, days: int, delegates: list[dict[str, str]]
) -> tuple[str, dict[str, Any]]:
    start = datetime.now(BERLIN).replace(hour=10) + timedelta(days=days + int(uid, 16) % 500)
    drafted = await conferences.post(
        "/conferences",
        headers=OLPE,
        json={
            "network_id": "kreis-olpe",
            "title": f"Bildungskonferenz {uid} ({days})",
            "starts_at": local(start),
            "ends_at": local(start + timedelta(hours=3)),
            "venue": {"name": "Kreishaus Olpe", "address": "Westfälische Straße 75, Olpe"},
            "agenda": [{"title": "Begrüßung"}],
            "delegates": delegates,
            "draft": True,
        },
    )
    assert drafted.status_code == 201, drafted.text
    url = f"/conferences/{drafted.json()['id']}"
    published = await conferences.post(
        f"{url}/publish", headers={**OLPE, "If-Match": drafted.headers["ETag"]}
    )
    assert published.status_code == 200, published.text
    return url, published.json()


async def access(system: System, address: str) -> dict[str, Any]:
    """The operator's export (`rbn privacy export`): every service's answer in one document."""
    urls = {service.name: service.url for service in system.services}
    return await asyncio.to_thread(privacy.export, urls, "district-token", address)


async def test_an_erased_person_is_gone_from_every_database_and_their_queued_mail_stays_unsent(
    erasable: System, infra: Infra
) -> None:
    system = erasable
    uid = uuid.uuid4().hex[:8]
    name, address = f"Henrike Vogelsang {uid}", f"h.vogelsang.{uid}@kreis-olpe.example"
    bystander = f"b.lindner.{uid}@gymnasium-olpe.example"

    async with system.registry.client() as registry:
        added = await registry.post(
            "/networks/kreis-olpe/committee/members",
            headers=OLPE,
            json={
                "person": {"name": name, "email": address, "organisation": "Kreis Olpe"},
                "side": "municipality",
                "role": "member",
                "term_start": "2026-01-01",
            },
        )
    assert added.status_code == 201, added.text
    await system.mailpit.wait_for(address)  # the welcome mail

    async with system.conferences.client() as conferences:
        first_url, _ = await conference(conferences, uid, 90, [])
        mails = await system.mailpit.wait_for(address, count=2)  # welcome and invitation
        [invitation] = [m for m in mails if "/respond/" in await text_of(system, m)]
        text = await text_of(system, invitation)
        link = next(word for word in text.split() if "/respond/" in word).strip("<>()")
        async with httpx.AsyncClient(base_url=system.conferences.url) as anonymous:
            answered = await anonymous.put(
                f"/responses/{link.rsplit('/', 1)[-1]}", json={"response": "accepted"}
            )
        assert answered.status_code == 200, answered.text
        await system.mailpit.wait_for(address, count=3)  # the confirmation

        # The SMTP server goes away: the second conference's invitations stay queued.
        system.notifications.restart(SMTP_PORT=str(free_port()))
        second_url, _ = await conference(
            conferences,
            uid,
            120,
            [{"name": f"Bernd Lindner {uid}", "email": bystander, "group": "school"}],
        )

        async def both_queued() -> bool:
            async with system.notifications.client() as notifications:
                for recipient in (address, bystander):
                    listed = await notifications.get(
                        "/deliveries", headers=DISTRICT, params={"recipient": recipient}
                    )
                    assert listed.status_code == 200, listed.text
                    if not any(d["status"] != "sent" for d in listed.json()["items"]):
                        return False
            return True

        await wait_until(both_queued, what="the second conference's invitations, queued")
        counts_before = {
            url: (await conferences.get(url, headers=OLPE)).json()["counts"]
            for url in (first_url, second_url)
        }

    exported = await access(system, address)
    assert set(exported["services"]) == set(SERVICES)
    for service, answer in exported["services"].items():
        assert answer["subject"] == subject_of(address)
        ids = [(item["kind"], item["id"]) for item in answer["items"]]
        assert ids, f"{service} lists nothing it holds"
        assert len(ids) == len(set(ids)), f"{service} lists an item twice: {ids}"

    async def holding() -> list[str]:
        found = await dump(system, infra)
        return [where for where, docs in found.items() if mentions(docs, [address, name])]

    # The scan sees the person in all three databases before the erasure.
    assert {where.split(".")[0] for where in await holding()} == set(SERVICES)

    async with system.registry.client() as registry:
        erased = await registry.post("/privacy/erasures", headers=DISTRICT, json={"email": address})
    assert erased.status_code == 201, erased.text
    assert address not in erased.text
    assert name not in erased.text

    async def erased_everywhere() -> bool:
        return not await holding()

    await wait_until(erased_everywhere, timeout=90, what="the person gone from every database")

    # The SMTP server is back: the bystander's invitation goes out, the erased person's never.
    system.notifications.restart(SMTP_PORT=str(infra.smtp_port))
    await system.mailpit.wait_for(bystander)
    await asyncio.sleep(3)  # time enough for the other queued mail, were it sent
    assert len(await system.mailpit.to(address)) == 3, "the queued invitation was sent"

    async with system.conferences.client() as conferences:
        for url, counts in counts_before.items():
            shown = (await conferences.get(url, headers=OLPE)).json()
            assert shown["counts"] == counts, url
            assert ERASED_NAME in str(shown["invitations"]), url

    # Erasing again changes nothing, wherever (beyond the audit of the request).
    settled = await dump(system, infra)
    async with system.registry.client() as registry:
        again = await registry.post("/privacy/erasures", headers=DISTRICT, json={"email": address})
    assert again.status_code == 200, again.text
    assert again.json()["erasure_id"] == erased.json()["erasure_id"]
    await asyncio.sleep(3)
    after = await dump(system, infra)
    for where in settled.keys() | after.keys():
        if where.endswith(PRIVACY_AUDIT_COLLECTION):
            continue
        assert _stable(after.get(where, [])) == _stable(settled.get(where, [])), where

    # The erasure is audited by subject, never by address.
    async with system.registry.client() as registry:
        audit = await registry.get(
            "/privacy/audit", headers=DISTRICT, params={"subject": subject_of(address)}
        )
    assert audit.status_code == 200, audit.text
    assert "erasure" in audit.text
    assert address not in audit.text


async def text_of(system: System, summary: dict[str, Any]) -> str:
    return str((await system.mailpit.message(summary["ID"]))["Text"])


def _stable(documents: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Documents without what moves by itself (the relay's and the readiness' bookkeeping)."""
    return [
        {k: v for k, v in d.items() if k not in ("heartbeat_at", "checked_at")} for d in documents
    ]
