"""One bad address costs one delivery, visibly, and a corrected address gets the mail once.

The whole system as processes, driven only through its HTTP APIs as an office would; the mails
go to a real Mailpit that refuses one domain with 550, as a real mail server refuses an address
that does not exist. Only Kafka and Mailpit are read besides the APIs.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.conftest import System, started_system, wait_until
from tests.support.infra import Infra
from tests.support.kafka_reader import read_topic
from tests.support.mailpit import strict_mailpit
from tests.support.services import DISTRICT

pytestmark = [pytest.mark.integration, pytest.mark.e2e]

BERLIN = ZoneInfo("Europe/Berlin")
NETWORK = "hamm"
OFFICE = DISTRICT  # the district coordination may act for every network
MERGE_PATCH = "application/merge-patch+json"


@pytest.fixture(scope="module")
async def system(infra: Infra, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[System]:
    work = tmp_path_factory.mktemp("undeliverable")
    # Every address under .example is accepted (IDNA domains arrive as xn--….example); the
    # typo'd domain ….example.org is refused at RCPT TO with 550, for good.
    with strict_mailpit(infra, r"\.example$", work) as sink:
        async with started_system(
            infra,
            work,
            smtp_host=sink.smtp_host,
            smtp_port=sink.smtp_port,
            mailpit_api=sink.api,
        ) as running:
            yield running


def local(moment: datetime) -> str:
    return moment.astimezone(BERLIN).replace(second=0, microsecond=0, tzinfo=None).isoformat()


async def _dead_letters(system: System) -> list[Any]:
    prefix = system.isolated["RBN_TOPIC_PREFIX"]
    found = []
    for producer in ("registry", "conferences", "notifications"):
        topic = f"{prefix}{producer}.events.dlq"
        found += await read_topic(system.bootstrap, topic, until=lambda _: False, timeout=2.0)
    return found


async def _invitations_to(system: System, address: str) -> list[dict[str, Any]]:
    return [m for m in await system.mailpit.to(address) if "Einladung" in m["Subject"]]


async def test_a_bad_address_fails_one_delivery_and_its_correction_gets_the_mail_once(
    system: System,
) -> None:
    uid = uuid.uuid4().hex[:8]
    umlaut = f"lehrer.{uid}@schule-müller.example"
    umlaut_on_the_wire = f"lehrer.{uid}@xn--schule-mller-klb.example"
    typo = f"k.weber.{uid}@gesamtschule-hamm.example.org"
    corrected = f"k.weber.{uid}@gesamtschule-hamm.example"
    delegates = [f"delegierte.{i}.{uid}@schulen-hamm.example" for i in range(10)]

    # The office enters two new members of the steering committee; one address has a typo.
    async with system.registry.client() as registry:
        members = {}
        for name, email in ((f"Jana Müller {uid}", umlaut), (f"Karl Weber {uid}", typo)):
            added = await registry.post(
                f"/networks/{NETWORK}/committee/members",
                headers=OFFICE,
                json={
                    "person": {"name": name, "email": email, "organisation": "Schulen Hamm"},
                    "side": "municipality",
                    "role": "member",
                    "term_start": "2027-01-01",
                },
            )
            assert added.status_code == 201, added.text
            members[email] = added.json()
        # The umlaut domain is kept as people read it.
        assert members[umlaut]["person"]["email"] == umlaut

    # The office plans a conference: the two members and ten delegates, twelve invitees.
    async with system.conferences.client() as conferences:

        async def roster_known() -> bool:
            view = (await conferences.get(f"/networks/{NETWORK}", headers=DISTRICT)).json()
            return len(view.get("committee", {})) >= 2

        await wait_until(roster_known, what="the new members in the conferences' projection")
        start = datetime.now(BERLIN) + timedelta(days=20)
        scheduled = await conferences.post(
            "/conferences",
            headers=OFFICE,
            json={
                "network_id": NETWORK,
                "title": f"Bildungskonferenz Hamm {uid}",
                "kind": "plenary",
                "starts_at": local(start),
                "ends_at": local(start + timedelta(hours=3)),
                "venue": {"name": "Technisches Rathaus", "address": "Gustav-Heinemann-Str. 10"},
                "delegates": [
                    {"name": f"Delegierte {i} {uid}", "email": email, "group": "school"}
                    for i, email in enumerate(delegates)
                ],
            },
        )
        assert scheduled.status_code == 201, scheduled.text
        conference = scheduled.json()
        assert len(conference["invitations"]) == 12
        url = f"/conferences/{conference['id']}"

    # Eleven invitations arrive; the umlaut domain's at its IDNA form.
    for address in [umlaut_on_the_wire, *delegates]:
        await wait_until(
            lambda address=address: _invitations_to(system, address), what=f"mail to {address}"
        )

    # The twelfth fails, for that one person only, and says why: on the conference ...
    async with system.conferences.client() as conferences:

        async def marked() -> dict[str, Any] | None:
            current = (await conferences.get(url, headers=OFFICE)).json()
            for invitation in current["invitations"]:
                if invitation["email"] == typo and invitation["undeliverable"]:
                    return dict(invitation)
            return None

        undeliverable = await wait_until(marked, what="the invitation marked undeliverable")
        assert "550" in undeliverable["delivery_problem"]["reason"]
        current = (await conferences.get(url, headers=OFFICE)).json()
        assert current["counts"]["undeliverable"] == 1
        others = [i for i in current["invitations"] if i["email"] != typo]
        assert len(others) == 11
        assert not any(i["undeliverable"] for i in others)

    # ... and in the delivery log, with no dead letter anywhere and every service still ready.
    async with system.notifications.client() as notifications:
        log = (
            await notifications.get("/deliveries", params={"recipient": typo}, headers=DISTRICT)
        ).json()["items"]
        assert log, "the failed deliveries are in the log"
        assert all(d["status"] == "failed" for d in log)
        assert all("550" in (d["last_error"] or "") for d in log)
        assert any(d["template"] == "conference-invitation" for d in log)
    assert await _dead_letters(system) == []
    for service in system.services:
        async with service.client() as http:
            ready = (await http.get("/ready")).json()
        assert ready["status"] == "ready", (service.name, ready)

    # The office corrects the address in the registry: only what changes is sent (merge patch).
    member = members[typo]
    async with system.registry.client() as registry:
        fixed = await registry.patch(
            f"/networks/{NETWORK}/committee/members/{member['id']}",
            headers={**OFFICE, "If-Match": '"1"', "Content-Type": MERGE_PATCH},
            content=f'{{"person": {{"email": "{corrected}"}}}}',
        )
        assert fixed.status_code == 200, fixed.text
        assert fixed.json()["person"]["name"] == f"Karl Weber {uid}"

    # The invitation (and the welcome that failed before) reach the new address, once each.
    mails = await system.mailpit.wait_for(corrected, count=2)
    subjects = sorted(m["Subject"] for m in mails)
    assert sum("Einladung" in s for s in subjects) == 1, subjects
    assert sum("Willkommen" in s for s in subjects) == 1, subjects
    async with system.conferences.client() as conferences:

        async def cleared() -> bool:
            current = (await conferences.get(url, headers=OFFICE)).json()
            mine = [i for i in current["invitations"] if i["email"] == corrected]
            return len(mine) == 1 and not mine[0]["undeliverable"]

        await wait_until(cleared, what="the mark cleared after the correction")
    await asyncio.sleep(3)  # anything sent twice would have arrived by now
    assert len(await system.mailpit.to(corrected)) == len(mails) == 2
    assert await system.mailpit.to(typo) == []
    assert await _dead_letters(system) == []
