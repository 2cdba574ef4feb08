"""The education office's overview of answers: at most one mail per network and period.

Real Kafka, FerretDB and Mailpit. The service runs as a process: it consumes the answers,
records them and sends every mail (the invitees' confirmations and the overview). The periods
are closed by two schedulers of the test over the service's database, with a clock the test
moves: two instances, and a restart, that must not send anything twice.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from pymongo import AsyncMongoClient

from notifications.adapters.repositories import RESPONSES
from notifications.domain.report_calendar import ReportCalendar
from notifications.service_layer.digests import ResponseDigests
from rbn_shared.events import utc_now
from rbn_shared.events.conferences import Invitee, ParticipantResponded, Response, ResponseCounts
from rbn_tools.mail_examples import Examples
from tests.notifications.integration.support import (
    Mailpit,
    MovedClock,
    Service,
    event,
    periodic_mail_instance,
    publish,
)
from tests.support.infra import Infra

pytestmark = pytest.mark.integration

DAY = timedelta(days=1)
ANSWERS = 50
WAITING = 3  # the last three answers find the conference full


@pytest.fixture(scope="module")
async def service(
    module_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Service]:
    # The service's own digest job only sets up the schedule at start; the test closes periods.
    env = {**module_env, "NOTIFICATIONS_DIGEST_CHECK_SECONDS": "3600"}
    running = Service(env, tmp_path_factory.mktemp("digest")).start()
    yield running
    running.stop()


def instance(db: Any, clock: MovedClock) -> ResponseDigests:
    """One service instance's digest: its periods end by the test's clock, its deliveries are
    written at the real time (the service's dispatcher sends them)."""
    digests, _ = periodic_mail_instance(
        ResponseDigests, db, ReportCalendar(interval=DAY), clock, deliveries_clock=utc_now
    )
    return digests


def answers(ex: Examples) -> list[ParticipantResponded]:
    """Fifty answers to one conference: Zusagen, Absagen, Vorbehalte, the last on the waiting
    list; the counts as the conference service would report them after each."""
    template = ex.participant_responded(ex.invitee(1))
    counts = ResponseCounts(pending=ANSWERS)
    result = []
    for n in range(1, ANSWERS + 1):
        response = (Response.ACCEPTED, Response.DECLINED, Response.TENTATIVE)[n % 3]
        waiting = n > ANSWERS - WAITING
        if waiting:
            response = Response.ACCEPTED
        update: dict[str, int] = {"pending": counts.pending - 1}
        if waiting:
            update["waitlisted"] = counts.waitlisted + 1
        else:
            update[response.value] = getattr(counts, response.value) + 1
        counts = counts.model_copy(update=update)
        invitee: Invitee = ex.invitee(n, name=f"Schulleitung Nr. {n}", local=f"leitung{n}")
        result.append(
            template.model_copy(
                update={
                    "invitee": invitee.model_copy(
                        update={
                            "response": response,
                            "waitlisted": waiting,
                            "waitlist_position": n - (ANSWERS - WAITING) if waiting else None,
                        }
                    ),
                    "counts": counts,
                }
            )
        )
    return result


async def wait_until(
    what: str, check: Callable[[], Awaitable[bool]], timeout: float = 90.0
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


async def test_fifty_answers_make_one_overview_to_the_office_once_across_instances(
    service: Service,
    infra: Infra,
    module_env: dict[str, str],
    mongo: AsyncMongoClient[dict[str, Any]],
) -> None:
    db = mongo[module_env["RBN_MONGO_DATABASE"]]
    tag = uuid.uuid4().hex[:10]
    ex = Examples(tag=tag, network_id=f"net-{tag}", conference_id=f"k-{tag}")
    mailpit = Mailpit(infra.mailpit_api)
    clock = MovedClock(utc_now())
    first, second = instance(db, clock), instance(db, clock)
    await first.tick()  # the schedule exists (the service may have made it already)

    conferences = f"{module_env['RBN_TOPIC_PREFIX']}conferences.events"
    sent = [event(a, key=ex.network_id, version=n + 1) for n, a in enumerate(answers(ex))]
    await publish(infra.kafka_bootstrap, conferences, sent)

    # Each invitee still gets the confirmation of the answer, at once.
    for n in (1, 2):
        (confirmation,) = await mailpit.wait_for(ex.email(f"leitung{n}"))
        assert "Ihre Antwort" in confirmation["Subject"]
    (waiting,) = await mailpit.wait_for(ex.email(f"leitung{ANSWERS}"))
    assert f"Sie stehen auf der Warteliste (Platz {WAITING})" in waiting["Subject"]

    async def all_recorded() -> bool:
        found = await db[RESPONSES].count_documents({"network_id": ex.network_id})
        return bool(found == ANSWERS)

    await wait_until("the answers recorded", all_recorded)
    assert await mailpit.to(ex.office_email) == [], "no mail to the office per answer"

    # The period ends: one overview, whichever instance closes it, however often.
    clock.now = clock.now + DAY + timedelta(minutes=1)
    assert await first.tick() is True
    assert await second.tick() is False, "another instance finds the period closed"
    restarted = instance(db, clock)
    assert await restarted.tick() is False, "a restarted instance too: the schedule is stored"
    assert await first.tick() is False

    (overview,) = await mailpit.wait_for(ex.office_email)
    assert overview["Subject"] == (
        f"[Bildungsnetzwerk Bochum] Rückmeldungen zu Ihren Bildungskonferenzen: "
        f"{ANSWERS} neue Antworten"
    )
    text = (await mailpit.message(overview["ID"]))["Text"]
    for n in range(1, ANSWERS + 1):
        assert text.count(f"Schulleitung Nr. {n} (") == 1, f"answer {n} listed once"
    assert "Schulleitung Nr. 1 (Grundschule Nr. 1): abgesagt (bisher: noch offen)" in text
    assert "Schulleitung Nr. 2 (Grundschule Nr. 2): unter Vorbehalt (bisher: noch offen)" in text
    assert "Schulleitung Nr. 3 (Grundschule Nr. 3): zugesagt (bisher: noch offen)" in text
    assert f"Nr. {ANSWERS}): auf der Warteliste (Platz {WAITING}) (bisher: noch offen)" in text
    last = answers(ex)[-1].counts
    assert (
        f"Aktueller Stand: zugesagt {last.accepted}, unter Vorbehalt {last.tentative}, "
        f"abgesagt {last.declined}, noch offen {last.pending}, auf der Warteliste {WAITING}"
    ) in text
    assert text.index("Schulleitung Nr. 1 (") < text.index("Schulleitung Nr. 50 (")

    # A period without answers: it closes, and nobody gets a mail.
    clock.now = clock.now + DAY
    assert await second.tick() is True
    digests = await service.deliveries(recipient=ex.office_email)
    assert len(digests) == 1
    assert digests[0]["template"] == "response-digest"
    await asyncio.sleep(3)  # a second mail, if any, would have been sent by now
    assert len(await mailpit.to(ex.office_email)) == 1
